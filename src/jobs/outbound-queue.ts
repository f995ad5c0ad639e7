// The outbound queue: every message to a platform goes through it. Citizens' replies have a
// BullMQ queue and worker slots of their own ('outbound-replies'), so a reply is never queued
// behind bulk work nor waits for a worker busy with a broadcast; broadcast deliveries go on
// 'outbound'. Each account is held to its send rate by the sliding-window limiter of
// src/store/rate-limiter.ts (no second above the rate), shared by replies and broadcasts, where
// replies keep a share of the window ahead of broadcasts. Each send's classified outcome
// decides: retry with backoff and jitter, drop (and maybe mark the contact unreachable), pause
// the account, or refresh the Zalo token and retry once. A job holds one turn's messages in
// order and remembers how many were sent, so a retry never sends a message twice. A broadcast
// job names one delivery of an announcement instead of carrying bodies: the broadcast sender
// (src/broadcast/sender.ts) decides, claims, sends and records its outcome, and may ask for the
// job to come back later (rate, cool-down, 06:00 for Zalo).
import { DelayedError, Queue, Worker, type Job, type Processor, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { PlatformName, type SendOutcome } from '../channels/platform-event.js';
import { acquireSend, evalScript, type RateSpec } from '../store/rate-limiter.js';
import type { SendStep } from '../broadcast/sender.js';

/** Broadcast deliveries (and any bulk send). */
export const OUTBOUND_QUEUE = 'outbound';
/** Citizens' replies: a queue and worker slots of their own. */
export const REPLY_QUEUE = 'outbound-replies';

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
  messenger: { perSecond: 100 },
  // Zalo allows 4,000 requests per minute per app, shared by every OA of the app; the per-OA
  // limit is not published. 10/s per OA keeps a province of OAs well inside the app budget.
  zalo: { perSecond: 10 },
};

/** The per-account rates from the settings (MESSENGER_SEND_RATE, ZALO_SEND_RATE). */
export function sendRates(settings: { MESSENGER_SEND_RATE: number; ZALO_SEND_RATE: number }): Record<PlatformName, RateSpec> {
  return {
    messenger: { perSecond: settings.MESSENGER_SEND_RATE },
    zalo: { perSecond: settings.ZALO_SEND_RATE },
  };
}

const PRIORITY = { broadcastDue: 5, broadcast: 10 } as const;

export { evalScript as evalCached };

/** The base key of an account's limiter: one per account, shared by replies and broadcasts. */
export function rateKey(prefix: string, platform: PlatformName, accountId: number): string {
  return `${prefix}:rate:${platform}:${accountId}`;
}

const JOB_OPTIONS = { attempts: 8, backoff: { type: 'jittered' }, removeOnComplete: 5000, removeOnFail: 20000 } as const;

/** BullMQ job ids may not contain ':'; a delivery's send job is bc-<announcement>-<contact>-<generation>. */
export function broadcastJobId(announcementId: number, contactId: number, generation: number): string {
  return `bc-${announcementId}-${contactId}-${generation}`;
}

export class OutboundQueue {
  /** Broadcast deliveries (bulk sends), by priority: due ones ahead of those never looked at. */
  readonly queue: Queue;
  /** Citizens' replies, in order of arrival. */
  readonly replies: Queue;
  constructor(redis: Redis, prefix: string) {
    this.queue = new Queue(OUTBOUND_QUEUE, { connection: redis, prefix });
    this.replies = new Queue(REPLY_QUEUE, { connection: redis, prefix });
  }

  async add(job: OutboundJob, jobId?: string): Promise<void> {
    const data = OutboundJob.parse(job);
    const opts = { ...JOB_OPTIONS, ...(jobId ? { jobId } : {}) };
    if (data.kind === 'reply') await this.replies.add(data.kind, data, opts);
    else await this.queue.add(data.kind, data, { priority: PRIORITY.broadcast, ...opts });
  }

  /** Many bulk jobs in one round trip; a job whose id already exists is left as it is. */
  async addBulk(jobs: ReadonlyArray<{ job: OutboundJob; jobId: string; delayMs?: number | undefined }>): Promise<void> {
    if (jobs.length === 0) return;
    await this.queue.addBulk(
      jobs.map(({ job, jobId, delayMs }) => {
        const data = OutboundJob.parse(job);
        if (data.kind === 'reply') throw new Error('replies are queued one turn at a time (add)');
        return { name: data.kind, data, opts: { priority: PRIORITY.broadcast, ...JOB_OPTIONS, jobId, ...(delayMs && delayMs > 0 ? { delay: delayMs } : {}) } };
      }),
    );
  }

  /** The state of a bulk job ('unknown' when there is none). */
  async jobState(jobId: string): Promise<string> {
    return this.queue.getJobState(jobId);
  }

  async close(): Promise<void> {
    await Promise.all([this.queue.close(), this.replies.close()]);
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
  /** Bulk (broadcast) jobs in progress at once. */
  concurrency?: number;
  /** Replies in progress at once (default: as many as `concurrency`). */
  replyConcurrency?: number;
  /**
   * 'all' (default): replies and bulk sends, each with slots of its own; 'replies' / 'bulk' for
   * a process that does only one (bulk work kept out of the process that answers citizens).
   */
  queues?: OutboundQueues;
  rates?: Partial<Record<PlatformName, RateSpec>>;
  /** BullMQ lock (and stalled-check interval): a dead worker's jobs come back after this. */
  lockDurationMs?: number;
}

/** A wait for the account's limiter up to this long is spent inside the job, beyond it the job is delayed. */
const INLINE_WAIT_MS = 250;

/** Which of the two outbound queues a process works on. */
export type OutboundQueues = 'all' | 'replies' | 'bulk';

/**
 * The worker of one outbound queue, with the worker of the other inside it when a process
 * works on both: closing it closes both (callers hold one BullMQ Worker).
 */
export class OutboundWorker extends Worker {
  readonly companion: Worker | undefined;
  constructor(first: { queue: string; options: WorkerOptions }, processor: Processor, second?: { queue: string; options: WorkerOptions }) {
    super(first.queue, processor, first.options);
    this.companion = second ? new Worker(second.queue, processor, second.options) : undefined;
  }

  override async close(force?: boolean): Promise<void> {
    await Promise.all([super.close(force), this.companion?.close(force)]);
  }
}

export function createOutboundWorker(options: OutboundWorkerOptions): OutboundWorker {
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
        // A job coming back at its time goes ahead of broadcast jobs never looked at: otherwise a
        // long queue would make every scheduled send late.
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
    const limiter = rateKey(prefix, data.platform, data.accountId);
    while (data.sent < data.bodies.length) {
      const wait = await acquireSend(redis, limiter, rates[data.platform], data.kind === 'reply' ? 'reply' : 'bulk');
      if (wait > 0) {
        // A reply finds the window full at most for one send interval: wait here, in its slot.
        if (wait <= INLINE_WAIT_MS) {
          await new Promise((r) => setTimeout(r, wait));
          continue;
        }
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

  const concurrency = options.concurrency ?? 16;
  const workerOptions = (connection: Redis, slots: number): WorkerOptions => ({
    connection,
    prefix,
    concurrency: slots,
    ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs, stalledInterval: options.lockDurationMs } : {}),
    // A send whose worker was killed comes back (BullMQ's default fails it after one stall, and a
    // citizen's reply would be lost when workers die twice; tests/faults/worker-kill.test.ts).
    maxStalledCount: 10,
    settings: {
      // Exponential backoff with full jitter: 0.5 s, 1 s, 2 s … capped at 60 s.
      backoffStrategy: (attemptsMade: number) => Math.floor(Math.random() * Math.min(60_000, 500 * 2 ** Math.max(0, attemptsMade - 1))) + 100,
    },
  });
  const queues = options.queues ?? 'all';
  const connections: Redis[] = [];
  const part = (queue: string, slots: number): { queue: string; options: WorkerOptions } => {
    const connection = redis.duplicate({ maxRetriesPerRequest: null });
    connections.push(connection);
    return { queue, options: workerOptions(connection, slots) };
  };
  const replies = (): { queue: string; options: WorkerOptions } => part(REPLY_QUEUE, options.replyConcurrency ?? concurrency);
  const bulk = (): { queue: string; options: WorkerOptions } => part(OUTBOUND_QUEUE, concurrency);
  const worker = queues === 'replies' ? new OutboundWorker(replies(), process) : queues === 'bulk' ? new OutboundWorker(bulk(), process) : new OutboundWorker(bulk(), process, replies());
  const onFailed = (job: Job | undefined, err: Error): void => {
    // Only the final failure is an outcome; earlier ones are retried.
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) return;
    const parsed = OutboundJob.safeParse(job.data);
    if (!parsed.success) return;
    const code = err instanceof TransientSendError ? err.code : 'error';
    handlers.onResult?.(parsed.data, { status: 'failed', code, reason: 'retries_exhausted' });
  };
  worker.on('failed', onFailed);
  worker.companion?.on('failed', onFailed);
  // BullMQ leaves a connection it was given open: ours are closed with the worker(s).
  let open = worker.companion ? 2 : 1;
  const closed = (): void => {
    if (--open === 0) for (const c of connections) c.disconnect();
  };
  worker.on('closed', closed);
  worker.companion?.on('closed', closed);
  return worker;
}
