// The inbound queue: webhook events, one citizen at a time and in order, different citizens in
// parallel. BullMQ's open-source edition has no per-group ordering, so each citizen has an
// inbox list in Redis and a BullMQ "drain" job per arrival: whichever drain job holds the
// citizen's lock empties the inbox in order; the others see the lock and finish. An event is
// moved to a processing list while it is handled (LMOVE) and removed only after, so a worker
// that dies mid-event leaves it to be handled again when the stalled job is retried.
import { createHash } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ParsedEvent } from '../channels/platform-event.js';
import { tryLock } from '../store/redis-primitives.js';
import { microBatch } from './micro-batch.js';

export const INBOUND_QUEUE = 'inbound';

/** A parsed event routed to its account and unit. */
export const InboundJob = z.object({
  accountId: z.number().int().positive(),
  unitId: z.string().min(1),
  event: ParsedEvent,
  receivedAt: z.number().int().nonnegative(),
});
export type InboundJob = z.infer<typeof InboundJob>;

/** A drain job names one or more citizens' inboxes (a burst is drained by few jobs). */
const DrainData = z.union([
  z.object({ conv: z.string().min(1) }).transform((d) => ({ convs: [d.conv] })),
  z.object({ convs: z.array(z.string().min(1)).min(1) }),
]);
const CONVS_PER_JOB = 16;

export interface InboundQueueOptions {
  redis: Redis;
  prefix: string;
}

function conversationId(job: InboundJob): string {
  const user = job.event.type === 'ignored' ? (job.event.userId ?? '-') : job.event.userId;
  // Hashed: the key and the job id carry no platform user id.
  return createHash('sha256').update(`${job.accountId}\u0000${user}`).digest('base64url').slice(0, 24);
}

// Claim the platform event id and append to the citizen's inbox in one atomic step.
const CLAIM_AND_PUSH = `if redis.call('set', KEYS[1], '1', 'EX', ARGV[1], 'NX') then redis.call('rpush', KEYS[2], ARGV[2]) return 1 else return 0 end`;

interface Submission {
  claimKey: string;
  claimTtlSeconds: number;
  job: InboundJob;
}

const DRAIN_OPTIONS = { attempts: 5, backoff: { type: 'exponential', delay: 500 }, removeOnComplete: 1000, removeOnFail: 5000 } as const;

export class InboundQueue {
  readonly queue: Queue;
  private readonly submitBatched: (s: Submission) => Promise<boolean>;

  constructor(private readonly options: InboundQueueOptions) {
    this.queue = new Queue(INBOUND_QUEUE, { connection: options.redis, prefix: options.prefix });
    this.submitBatched = microBatch((items: Submission[]) => this.submitMany(items), { maxItems: 256, maxDelayMs: 1 });
  }

  /**
   * Takes a webhook event exactly once: true when it was claimed and queued, false when its id
   * was already claimed (a duplicate). Throws, leaving no claim behind, when Redis fails, so the
   * platform's retry is not mistaken for a duplicate. Calls within ~1 ms share one round trip.
   */
  submit(claimKey: string, claimTtlSeconds: number, job: InboundJob): Promise<boolean> {
    return this.submitBatched({ claimKey, claimTtlSeconds, job: InboundJob.parse(job) });
  }

  private async submitMany(items: Submission[]): Promise<boolean[]> {
    const redis = this.options.redis;
    const rows = items.map((it) => {
      const conv = conversationId(it.job);
      return { ...it, conv, inbox: this.inboxKey(conv), payload: JSON.stringify(it.job) };
    });
    const pipe = redis.pipeline();
    for (const r of rows) pipe.eval(CLAIM_AND_PUSH, 2, r.claimKey, r.inbox, String(r.claimTtlSeconds), r.payload);
    const replies = (await pipe.exec()) ?? [];
    const claimed = rows.map((_, i) => {
      const [err, value] = replies[i] ?? [new Error('no reply'), null];
      return !err && Number(value) === 1;
    });
    const failed = replies.some(([err]) => err);
    const fresh = rows.filter((_, i) => claimed[i]);
    try {
      if (failed) throw new Error('Redis refused part of an intake batch');
      const convs = [...new Set(fresh.map((r) => r.conv))];
      const jobs = [];
      for (let i = 0; i < convs.length; i += CONVS_PER_JOB) jobs.push({ name: 'drain', data: { convs: convs.slice(i, i + CONVS_PER_JOB) }, opts: DRAIN_OPTIONS });
      if (jobs.length) await this.queue.addBulk(jobs);
    } catch (err) {
      // Undo: nothing half-taken may stay behind.
      const undo = redis.pipeline();
      for (const r of fresh) undo.lrem(r.inbox, 1, r.payload).del(r.claimKey);
      await undo.exec().catch(() => undefined);
      throw err;
    }
    return claimed;
  }

  inboxKey(conv: string): string {
    return `${this.options.prefix}:inbox:${conv}`;
  }

  /** Appends the event to its citizen's inbox and schedules a drain. Throws if Redis fails. */
  async enqueue(job: InboundJob): Promise<void> {
    const conv = conversationId(job);
    await this.options.redis.rpush(this.inboxKey(conv), JSON.stringify(InboundJob.parse(job)));
    await this.queue.add('drain', { conv }, DRAIN_OPTIONS);
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

export interface InboundWorkerOptions extends InboundQueueOptions {
  concurrency?: number;
  handle(job: InboundJob): Promise<void>;
  /** A handler failure on one event: logged, and the event is dropped after `maxAttempts`. */
  onEventError?(error: unknown, job: InboundJob): void;
  maxAttempts?: number;
}

export function createInboundWorker(options: InboundWorkerOptions): Worker {
  const { redis, prefix } = options;
  const maxAttempts = options.maxAttempts ?? 3;
  const drain = async (job: Job): Promise<number> => {
    const { convs } = DrainData.parse(job.data);
    // Citizens of one job are drained side by side; a failure retries the job, and the
    // inboxes already emptied simply have nothing left.
    const counts = await Promise.all(convs.map((conv) => drainOne(conv)));
    return counts.reduce((a, b) => a + b, 0);
  };
  const drainOne = async (conv: string): Promise<number> => {
    const inbox = `${prefix}:inbox:${conv}`;
    const processing = `${inbox}:processing`;
    let handled = 0;
    for (;;) {
      const lock = await tryLock(redis, `${inbox}:lock`, 60_000);
      if (!lock) return handled; // another drain holds this citizen; it will take our event too
      try {
        for (;;) {
          // Leftovers of a worker that died mid-event come first, then the inbox in order.
          const raw = (await redis.lindex(processing, 0)) ?? (await redis.lmove(inbox, processing, 'LEFT', 'RIGHT'));
          if (raw === null) break;
          const attemptsKey = `${processing}:attempts`;
          const attempts = await redis.incr(attemptsKey);
          await redis.expire(attemptsKey, 3600);
          let parsed: InboundJob | undefined;
          try {
            parsed = InboundJob.parse(JSON.parse(raw));
            await options.handle(parsed);
          } catch (err) {
            if (parsed) options.onEventError?.(err, parsed);
            // Retry the same event a few times (the drain job's own retry), then give up on it.
            if (parsed && attempts < maxAttempts) throw err;
          }
          await redis.lpop(processing);
          await redis.del(attemptsKey);
          handled++;
        }
      } finally {
        await lock.release();
      }
      // An event may have arrived between our last empty read and the release.
      if ((await redis.llen(inbox)) === 0) return handled;
    }
  };
  return new Worker(INBOUND_QUEUE, drain, {
    connection: redis.duplicate({ maxRetriesPerRequest: null }),
    prefix,
    concurrency: options.concurrency ?? 8,
  });
}
