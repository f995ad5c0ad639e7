// The outbound queue: every message to a platform goes through it. Replies go ahead of bulk
// sends (BullMQ priority), each account is throttled by a Redis token bucket below the
// platform's limit, and each send's classified outcome decides: retry with backoff and jitter,
// drop (and maybe mark the contact unreachable), pause the account, or refresh the Zalo token
// and retry once. A job holds one turn's messages in order and remembers how many were sent,
// so a retry never sends a message twice.
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { PlatformName, type SendOutcome } from '../channels/platform-event.js';
import { takeToken, type RateSpec } from '../store/token-bucket.js';

export const OUTBOUND_QUEUE = 'outbound';

export const OutboundJob = z.object({
  kind: z.enum(['reply', 'broadcast']),
  platform: PlatformName,
  accountId: z.number().int().positive(),
  /** PSID / Zalo user id. */
  userId: z.string().min(1),
  /** Platform bodies, rendered by the adapter, sent in order. */
  bodies: z.array(z.unknown()).min(1),
  /** How many bodies were already sent (kept across retries). */
  sent: z.number().int().nonnegative().default(0),
  /** A Zalo token refresh was already tried for this job. */
  refreshed: z.boolean().default(false),
  /** For broadcasts: the delivery row to record the outcome on. */
  deliveryId: z.number().int().positive().optional(),
});
export type OutboundJob = z.infer<typeof OutboundJob>;

export type OutboundResult =
  | { status: 'sent'; messageIds: Array<string | null> }
  | { status: 'dropped'; code: string; reason: string }
  | { status: 'paused'; code: string; reason: string }
  | { status: 'failed'; code: string; reason: string };

export interface OutboundHandlers {
  /** Sends one rendered body; never throws for platform errors (they come back classified). */
  send(job: OutboundJob, body: unknown): Promise<SendOutcome>;
  refreshToken(job: OutboundJob): Promise<void>;
  markUnreachable(job: OutboundJob, reason: string): Promise<void>;
  pauseAccount(job: OutboundJob, code: string, reason: string): Promise<void>;
  /** Is the account paused or awaiting reconnection? Then nothing is sent. */
  accountBlocked(job: OutboundJob): Promise<string | null>;
  onResult?(job: OutboundJob, result: OutboundResult): void;
}

export const RATE_LIMITS: Record<PlatformName, RateSpec> = {
  // Meta allows 300 text sends per second per Page: stay at a third of it.
  messenger: { perSecond: 100, burst: 50 },
  // Zalo allows 4,000 requests per minute per app, shared by every OA of the app; the per-OA
  // limit is not published. 10/s per OA keeps a province of OAs well inside the app budget.
  zalo: { perSecond: 10, burst: 10 },
};

const PRIORITY = { reply: 1, broadcast: 10 } as const;

export class OutboundQueue {
  readonly queue: Queue;
  constructor(redis: Redis, prefix: string) {
    this.queue = new Queue(OUTBOUND_QUEUE, { connection: redis, prefix });
  }

  async add(job: OutboundJob, jobId?: string): Promise<void> {
    const data = OutboundJob.parse(job);
    await this.queue.add(data.kind, data, {
      priority: PRIORITY[data.kind],
      attempts: 8,
      backoff: { type: 'jittered' },
      removeOnComplete: 5000,
      removeOnFail: 20000,
      ...(jobId ? { jobId } : {}),
    });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

class TransientSendError extends Error {
  constructor(readonly code: string) {
    super(`transient send failure ${code}`);
    this.name = 'TransientSendError';
  }
}

export interface OutboundWorkerOptions {
  redis: Redis;
  prefix: string;
  handlers: OutboundHandlers;
  concurrency?: number;
  rates?: Partial<Record<PlatformName, RateSpec>>;
}

export function createOutboundWorker(options: OutboundWorkerOptions): Worker {
  const { redis, prefix, handlers } = options;
  const rates = { ...RATE_LIMITS, ...options.rates };

  const process = async (job: Job, token?: string): Promise<OutboundResult> => {
    let data = OutboundJob.parse(job.data);
    const blocked = await handlers.accountBlocked(data);
    if (blocked) {
      const result: OutboundResult = { status: 'paused', code: 'account_blocked', reason: blocked };
      handlers.onResult?.(data, result);
      return result;
    }
    const messageIds: Array<string | null> = [];
    while (data.sent < data.bodies.length) {
      const wait = await takeToken(redis, `${prefix}:rate:${data.platform}:${data.accountId}`, rates[data.platform]);
      if (wait > 0) {
        await job.moveToDelayed(Date.now() + wait, token);
        throw new DelayedError();
      }
      const outcome = await handlers.send(data, data.bodies[data.sent]);
      if (outcome.kind === 'sent') {
        messageIds.push(outcome.messageId);
        data = { ...data, sent: data.sent + 1 };
        await job.updateData(data);
        continue;
      }
      if (outcome.kind === 'refresh' && !data.refreshed) {
        await handlers.refreshToken(data);
        data = { ...data, refreshed: true };
        await job.updateData(data);
        continue;
      }
      if (outcome.kind === 'retry') {
        if (outcome.retryAfterMs && outcome.retryAfterMs > 0) {
          await job.moveToDelayed(Date.now() + outcome.retryAfterMs, token);
          throw new DelayedError();
        }
        throw new TransientSendError(outcome.code);
      }
      let result: OutboundResult;
      if (outcome.kind === 'drop') {
        if (outcome.markUnreachable) await handlers.markUnreachable(data, outcome.reason);
        result = { status: 'dropped', code: outcome.code, reason: outcome.reason };
      } else if (outcome.kind === 'pause') {
        await handlers.pauseAccount(data, outcome.code, outcome.reason);
        result = { status: 'paused', code: outcome.code, reason: outcome.reason };
      } else {
        // A second 'refresh' after refreshing: the new token is refused too.
        await handlers.pauseAccount(data, outcome.code, 'token_invalid');
        result = { status: 'paused', code: outcome.code, reason: 'token_invalid' };
      }
      handlers.onResult?.(data, result);
      return result;
    }
    const result: OutboundResult = { status: 'sent', messageIds };
    handlers.onResult?.(data, result);
    return result;
  };

  const worker = new Worker(OUTBOUND_QUEUE, process, {
    connection: redis.duplicate({ maxRetriesPerRequest: null }),
    prefix,
    concurrency: options.concurrency ?? 16,
    settings: {
      // Exponential backoff with full jitter: 0.5 s, 1 s, 2 s … capped at 60 s.
      backoffStrategy: (attemptsMade: number) => Math.floor(Math.random() * Math.min(60_000, 500 * 2 ** Math.max(0, attemptsMade - 1))) + 100,
    },
  });
  worker.on('failed', (job, err) => {
    // Only the final failure is an outcome; earlier ones are retried.
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) return;
    const parsed = OutboundJob.safeParse(job.data);
    if (!parsed.success) return;
    const code = err instanceof TransientSendError ? err.code : 'error';
    handlers.onResult?.(parsed.data, { status: 'failed', code, reason: 'retries_exhausted' });
  });
  return worker;
}
