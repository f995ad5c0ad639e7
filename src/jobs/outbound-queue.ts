// The outbound queue: every message to a platform goes through it. Replies go ahead of bulk
// sends (BullMQ priority), each account is throttled by a Redis token bucket below the
// platform's limit, and each send's classified outcome decides: retry with backoff and jitter,
// drop (and maybe mark the contact unreachable), pause the account, or refresh the Zalo token
// and retry once. A job holds one turn's messages in order and remembers how many were sent,
// so a retry never sends a message twice. A broadcast job names one delivery of an announcement
// instead of carrying bodies: the broadcast sender (src/broadcast/sender.ts) decides, claims,
// sends and records its outcome, and may ask for the job to come back later (rate, cool-down,
// 06:00 for Zalo). Broadcasts take their tokens from the same bucket as replies but leave a
// reserve in it, so a citizen's reply finds a token at once.
import { createHash } from 'node:crypto';
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { PlatformName, type SendOutcome } from '../channels/platform-event.js';
import { takeToken, type RateSpec } from '../store/token-bucket.js';
import type { SendStep } from '../broadcast/sender.js';

export const OUTBOUND_QUEUE = 'outbound';

export const OutboundJob = z.object({
  kind: z.enum(['reply', 'broadcast']),
  platform: PlatformName,
  accountId: z.number().int().positive(),
  /** PSID / Zalo user id. */
  userId: z.string().min(1),
  /** Platform bodies, rendered by the adapter, sent in order (none for a delivery job). */
  bodies: z.array(z.unknown()).default([]),
  /** How many bodies were already sent (kept across retries). */
  sent: z.number().int().nonnegative().default(0),
  /** A Zalo token refresh was already tried for this job. */
  refreshed: z.boolean().default(false),
  /** For broadcasts: the delivery row to record the outcome on. */
  deliveryId: z.number().int().positive().optional(),
  /** A broadcast delivery (announcement, contact): rendered and recorded by the broadcast sender. */
  delivery: z.object({ announcementId: z.number().int().positive(), contactId: z.number().int().positive() }).optional(),
  /** Broadcast: the send slot reserved in the account's schedule while the job waits for it. */
  slotAt: z.number().optional(),
}).refine((j) => j.bodies.length > 0 || (j.kind === 'broadcast' && j.delivery !== undefined), { message: 'a job needs bodies or a delivery' });
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
  /** Runs one step of a broadcast delivery job (kind 'broadcast' with `delivery`). */
  broadcast?(job: OutboundJob & { delivery: { announcementId: number; contactId: number } }): Promise<SendStep>;
}

export const RATE_LIMITS: Record<PlatformName, RateSpec> = {
  // Meta allows 300 text sends per second per Page: stay at a third of it.
  messenger: { perSecond: 100, burst: 50 },
  // Zalo allows 4,000 requests per minute per app, shared by every OA of the app; the per-OA
  // limit is not published. 10/s per OA keeps a province of OAs well inside the app budget.
  zalo: { perSecond: 10, burst: 10 },
};

/** The per-account rates from the settings (MESSENGER_SEND_RATE / _BURST, ZALO_SEND_RATE / _BURST). */
export function sendRates(settings: { MESSENGER_SEND_RATE: number; MESSENGER_SEND_BURST: number; ZALO_SEND_RATE: number; ZALO_SEND_BURST: number }): Record<PlatformName, RateSpec> {
  return {
    messenger: { perSecond: settings.MESSENGER_SEND_RATE, burst: settings.MESSENGER_SEND_BURST },
    zalo: { perSecond: settings.ZALO_SEND_RATE, burst: settings.ZALO_SEND_BURST },
  };
}

const PRIORITY = { reply: 1, broadcastDue: 5, broadcast: 10 } as const;

const shas = new Map<string, string>();
/** EVALSHA of a script, loading it on first use (or after a Redis restart flushed it). */
export async function evalCached(redis: Redis, script: string, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
  let sha = shas.get(script);
  if (!sha) {
    sha = createHash('sha1').update(script).digest('hex');
    shas.set(script, sha);
  }
  try {
    return await redis.evalsha(sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
    return redis.eval(script, keys.length, ...keys, ...args);
  }
}

/** The token-bucket key of an account: one bucket per account, shared by replies and broadcasts. */
export function rateKey(prefix: string, platform: PlatformName, accountId: number): string {
  return `${prefix}:rate:${platform}:${accountId}`;
}

// The bucket of token-bucket.ts (same key and fields), taking a token only while more than
// `reserve` remain: bulk sends never take the last tokens, which stay for replies.
const TAKE_ABOVE = `
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local reserve = tonumber(ARGV[4])
local state = redis.call('hmget', key, 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
if now < at then now = at end
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local wait = 0
if tokens >= 1 + reserve then
  tokens = tokens - 1
else
  wait = math.ceil((1 + reserve - tokens) * 1000 / rate)
end
redis.call('hset', key, 'tokens', tokens, 'at', now)
redis.call('pexpire', key, math.ceil(burst * 1000 / rate) + 1000)
return wait
`;

/** The part of the burst broadcasts leave for replies (none when the burst is a single token). */
export function replyReserve(spec: RateSpec): number {
  return Math.max(0, Math.min(spec.burst - 1, Math.ceil(spec.burst * 0.2)));
}

/** A broadcast's token: 0 when taken, else ms until one may be (leaving the replies' reserve). */
export async function takeBroadcastToken(redis: Redis, key: string, spec: RateSpec, now = Date.now()): Promise<number> {
  const wait = await evalCached(redis, TAKE_ABOVE, [key], [spec.perSecond, spec.burst, now, replyReserve(spec)]);
  return typeof wait === 'number' ? wait : Number(wait);
}

const JOB_OPTIONS = { attempts: 8, backoff: { type: 'jittered' }, removeOnComplete: 5000, removeOnFail: 20000 } as const;

/** BullMQ job ids may not contain ':'; a delivery's send job is bc-<announcement>-<contact>-<generation>. */
export function broadcastJobId(announcementId: number, contactId: number, generation: number): string {
  return `bc-${announcementId}-${contactId}-${generation}`;
}

export class OutboundQueue {
  readonly queue: Queue;
  constructor(redis: Redis, prefix: string) {
    this.queue = new Queue(OUTBOUND_QUEUE, { connection: redis, prefix });
  }

  async add(job: OutboundJob, jobId?: string): Promise<void> {
    const data = OutboundJob.parse(job);
    await this.queue.add(data.kind, data, {
      priority: PRIORITY[data.kind],
      ...JOB_OPTIONS,
      ...(jobId ? { jobId } : {}),
    });
  }

  /** Many jobs in one round trip; a job whose id already exists is left as it is. */
  async addBulk(jobs: ReadonlyArray<{ job: OutboundJob; jobId: string; delayMs?: number | undefined }>): Promise<void> {
    if (jobs.length === 0) return;
    await this.queue.addBulk(
      jobs.map(({ job, jobId, delayMs }) => {
        const data = OutboundJob.parse(job);
        return { name: data.kind, data, opts: { priority: PRIORITY[data.kind], ...JOB_OPTIONS, jobId, ...(delayMs && delayMs > 0 ? { delay: delayMs } : {}) } };
      }),
    );
  }

  /** The state of a job ('unknown' when there is none). */
  async jobState(jobId: string): Promise<string> {
    return this.queue.getJobState(jobId);
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
  /** BullMQ lock (and stalled-check interval): a dead worker's jobs come back after this. */
  lockDurationMs?: number;
}

export function createOutboundWorker(options: OutboundWorkerOptions): Worker {
  const { redis, prefix, handlers } = options;
  const rates = { ...RATE_LIMITS, ...options.rates };

  const process = async (job: Job, token?: string): Promise<OutboundResult | { status: 'broadcast'; result: string }> => {
    let data = OutboundJob.parse(job.data);
    if (data.kind === 'broadcast' && data.delivery && handlers.broadcast) {
      const step = await handlers.broadcast({ ...data, delivery: data.delivery });
      if (step.kind === 'delay') {
        if (step.slotAt !== data.slotAt) {
          const { slotAt: _old, ...rest } = data;
          await job.updateData(step.slotAt === undefined ? rest : { ...rest, slotAt: step.slotAt });
        }
        // A job coming back at its time goes ahead of broadcast jobs never looked at (but still
        // behind replies): otherwise a long queue would make every scheduled send late.
        if (job.priority !== PRIORITY.broadcastDue) await job.changePriority({ priority: PRIORITY.broadcastDue });
        await job.moveToDelayed(Date.now() + Math.max(1, Math.ceil(step.ms)), token);
        throw new DelayedError();
      }
      return { status: 'broadcast', result: step.result };
    }
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

  const connection = redis.duplicate({ maxRetriesPerRequest: null });
  const worker = new Worker(OUTBOUND_QUEUE, process, {
    connection,
    prefix,
    concurrency: options.concurrency ?? 16,
    ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs, stalledInterval: options.lockDurationMs } : {}),
    settings: {
      // Exponential backoff with full jitter: 0.5 s, 1 s, 2 s … capped at 60 s.
      backoffStrategy: (attemptsMade: number) => Math.floor(Math.random() * Math.min(60_000, 500 * 2 ** Math.max(0, attemptsMade - 1))) + 100,
    },
  });
  // BullMQ leaves a connection it was given open: ours is closed with the worker.
  worker.on('closed', () => connection.disconnect());
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
