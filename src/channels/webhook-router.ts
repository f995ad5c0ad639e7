// The platforms' webhook endpoints. Transport only: raw body → signature over the exact bytes
// (fail closed) → JSON → the adapter's parser → intake (route, dedupe, enqueue — or, while Redis
// cannot take it, keep it in the PostgreSQL spool) → 200. 401 bad or missing signature, 400
// malformed body, 413 over 1 MB, 503 when the event could be neither enqueued nor spooled (Redis
// and the database both failing: Meta retries, Zalo does not). Nothing here logs a body, a text
// or a user id.
import express, { type Request, type Response, type Router } from 'express';
import { errorBody, type ErrorCode } from '../errors.js';
import { intakeEvents, type IntakeDeps } from './intake.js';
import type { ParsedEvent } from './platform-event.js';

export interface MessengerWebhookDeps {
  verifyToken: string | undefined;
  verifySignature(rawBody: Buffer, header: string | undefined): boolean;
  /** Parses the raw JSON body (throws on malformed JSON or an unknown shape → 400). */
  parse(rawBody: Buffer): ParsedEvent[];
}

export interface ZaloWebhookDeps {
  verifySignature(rawBody: Buffer, headers: Record<string, string | string[] | undefined>): boolean;
  isProbe(rawBody: Buffer): boolean;
  /** Parses the raw JSON body keeping 64-bit ids exact (throws when malformed → 400). */
  parse(rawBody: Buffer): ParsedEvent[];
}

export interface WebhookRouterDeps {
  messenger?: MessengerWebhookDeps;
  zalo?: ZaloWebhookDeps;
  intake: IntakeDeps;
  logger?: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}

export class WebhookPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookPayloadError';
  }
}

const send = (res: Response, status: number, code: ErrorCode): void => {
  res.status(status).json(errorBody(code));
};

export function createWebhookRouter(deps: WebhookRouterDeps): Router {
  const router = express.Router();
  const raw = express.raw({ type: () => true, limit: '1mb' });

  const handle = async (
    platform: 'messenger' | 'zalo',
    req: Request,
    res: Response,
    verify: (body: Buffer) => boolean,
    parse: (body: Buffer) => ParsedEvent[],
  ): Promise<void> => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!verify(body)) {
      deps.logger?.warn({ platform, code: 'BAD_SIGNATURE' }, 'webhook refused: bad or missing signature');
      res.status(401).json({ error: { code: 'BAD_SIGNATURE', message: 'Chữ ký không hợp lệ.' } });
      return;
    }
    let events: ParsedEvent[];
    try {
      events = parse(body);
    } catch {
      send(res, 400, 'BAD_REQUEST');
      return;
    }
    try {
      const report = await intakeEvents(platform, events, deps.intake);
      res.status(200).json({ ok: true, ...report });
    } catch (err) {
      deps.logger?.error({ platform, err: err instanceof Error ? err.message : 'unknown' }, 'webhook: could not enqueue nor spool');
      send(res, 503, 'REDIS_UNAVAILABLE');
    }
  };

  const messenger = deps.messenger;
  if (messenger) {
    router.get('/webhooks/messenger', (req, res) => {
      const q = req.query;
      const mode = typeof q['hub.mode'] === 'string' ? q['hub.mode'] : undefined;
      const token = typeof q['hub.verify_token'] === 'string' ? q['hub.verify_token'] : undefined;
      const challenge = typeof q['hub.challenge'] === 'string' ? q['hub.challenge'] : undefined;
      if (mode === 'subscribe' && messenger.verifyToken && token === messenger.verifyToken && challenge !== undefined) {
        res.status(200).type('text/plain').send(challenge);
        return;
      }
      res.status(403).type('text/plain').send('Forbidden');
    });
    router.post('/webhooks/messenger', raw, (req, res) =>
      handle(
        'messenger',
        req,
        res,
        (b) => messenger.verifySignature(b, req.get('x-hub-signature-256')),
        (body) => messenger.parse(body),
      ),
    );
  }

  const zalo = deps.zalo;
  if (zalo) {
    router.post('/webhooks/zalo', raw, async (req, res) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      // Zalo sends an unsigned "{}" when an officer saves the webhook URL: answer it, do nothing.
      if (zalo.isProbe(body)) {
        res.status(200).json({ ok: true });
        return;
      }
      await handle(
        'zalo',
        req,
        res,
        (b) => zalo.verifySignature(b, req.headers),
        (b) => zalo.parse(b),
      );
    });
  }
  return router;
}
