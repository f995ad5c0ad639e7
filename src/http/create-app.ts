// The HTTP application: health and readiness, metrics, the channels' routers, and one error
// handler that answers with a coded JSON error and never a stack trace.
import express, { type ErrorRequestHandler, type Router } from 'express';
import { pinoHttp } from 'pino-http';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { AppError, errorBody } from '../errors.js';
import type { Logger } from '../logger.js';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export interface AppDeps {
  logger: Logger;
  readiness: ReadinessCheck[];
  /** Routers mounted at '/', in order (the web widget channel, later the webhooks and admin). */
  routers: Router[];
  metrics?: Registry;
  /** Figures read at each scrape of /metrics (a failed read keeps the last value). */
  gauges?: Array<{ name: string; help: string; read(): Promise<number> }>;
}

/** The default policy of /admin responses (see the header middleware below). */
export const ADMIN_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  const metrics = deps.metrics ?? new Registry();
  if (!deps.metrics) collectDefaultMetrics({ register: metrics });
  for (const g of deps.gauges ?? []) {
    new Gauge({
      name: g.name,
      help: g.help,
      registers: [metrics],
      async collect() {
        try {
          this.set(await withTimeout(g.read(), 1000));
        } catch {
          // The source is away or slow (a database outage): the last value stays; /readyz says why.
        }
      },
    });
  }

  const httpLogger = pinoHttp({
    logger: deps.logger,
    // Log method, route and status only: no query strings, bodies or client addresses.
    serializers: {
      req: (req: { method?: string; url?: string }) => ({ method: req.method, path: (req.url ?? '').split('?')[0] }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
  });
  // Platform webhooks come in bursts of thousands a second: no request logger on them (the
  // intake logs refusals and failures itself), which is also a good part of their speed.
  app.use((req, res, next) => {
    if (req.url.startsWith('/webhooks/')) next();
    else httpLogger(req, res, next);
  });
  app.use((req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    // The admin pages are server-rendered without script: one that sets no policy of its own
    // still gets one, so an escaping slip can never run a stored script (a page may set its own).
    if (req.path.startsWith('/admin')) res.setHeader('Content-Security-Policy', ADMIN_CSP);
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      deps.readiness.map(async (r) => {
        try {
          await withTimeout(r.check(), 2000);
          return [r.name, 'ok'] as const;
        } catch {
          return [r.name, 'unavailable'] as const;
        }
      }),
    );
    const ok = results.every(([, s]) => s === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', checks: Object.fromEntries(results) });
  });

  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', metrics.contentType);
    res.send(await metrics.metrics());
  });

  for (const router of deps.routers) app.use(router);

  app.use((_req, res) => {
    res.status(404).json(errorBody('NOT_FOUND'));
  });

  const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    if (err instanceof AppError) {
      res.status(err.status).json(errorBody(err.code));
      return;
    }
    // body-parser errors carry a status and a type.
    const status = typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : 500;
    if (status === 413) {
      res.status(413).json(errorBody('PAYLOAD_TOO_LARGE'));
    } else if (status >= 400 && status < 500) {
      res.status(400).json(errorBody('BAD_REQUEST'));
    } else {
      deps.logger.error({ err: err instanceof Error ? { name: err.name, message: err.message } : 'unknown' }, 'request failed');
      res.status(500).json(errorBody('INTERNAL'));
    }
  };
  app.use(onError);
  return app;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
