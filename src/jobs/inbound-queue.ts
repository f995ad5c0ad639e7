// The inbound queue: webhook events, one citizen at a time and in order, different citizens in
// parallel. BullMQ's open-source edition has no per-group ordering, so each citizen has an
// inbox list in Redis and a BullMQ "drain" job per arrival: whichever drain job holds the
// citizen's lock empties the inbox in order; the others see the lock and finish. An event is
// moved to a processing list while it is handled (LMOVE) and removed only after, so a worker
// that dies mid-event leaves it to be handled again when the stalled job is retried.
// Nothing acknowledged may wait for ever: every inbox with events is also noted in a pending
// set, and each worker sweeps it, scheduling a drain for an inbox left behind (its drain job was
// lost, or held the citizen's lock in a worker that died: the lock is short and kept alive by
// its holder, so it lapses soon after a crash). A failure while PostgreSQL is unreachable is not
// held against the event: it waits for the database rather than being dropped as a poison event.
import { createHash, randomBytes } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import { duplicateClient, type RedisClient } from '../store/redis.js';
import { z } from 'zod';
import { ParsedEvent } from '../channels/platform-event.js';
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
  redis: RedisClient;
  prefix: string;
  /** A webhook's claim not done within this long is answered "retry later" (default 1.5 s: Zalo wants an answer within 2 s). */
  submitTimeoutMs?: number;
}

function conversationId(job: InboundJob): string {
  const user = job.event.type === 'ignored' ? (job.event.userId ?? '-') : job.event.userId;
  // Hashed: the key and the job id carry no platform user id.
  return createHash('sha256').update(`${job.accountId}\u0000${user}`).digest('base64url').slice(0, 24);
}

// Claim the platform event id, append to the citizen's inbox and note the inbox as pending, in
// one atomic step.
const CLAIM_AND_PUSH = `if redis.call('set', KEYS[1], '1', 'EX', ARGV[1], 'NX') then redis.call('rpush', KEYS[2], ARGV[2]) redis.call('zadd', KEYS[3], ARGV[3], ARGV[4]) return 1 else return 0 end`;
// An inbox whose lists are both empty is no longer pending.
const SETTLE = `if redis.call('llen', KEYS[1]) == 0 and redis.call('llen', KEYS[2]) == 0 then return redis.call('zrem', KEYS[3], ARGV[1]) end return 0`;
// Inboxes pending since before ARGV[1]: returned (at most ARGV[3]) and stamped ARGV[2], so that
// the next sweep leaves them to the drain it schedules now.
const SWEEP = `local convs = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, c in ipairs(convs) do redis.call('zadd', KEYS[1], 'XX', ARGV[2], c) end
return convs`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** Redis is known to be unreachable (the connection was lost and not yet re-established). */
export class RedisUnavailableNow extends Error {
  constructor() {
    super('Redis is not connected');
    this.name = 'RedisUnavailableNow';
  }
}
const DISCONNECTED = new Set(['reconnecting', 'close', 'end']);

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
   * While the connection to Redis is down it throws at once (the webhook answers 503 and the
   * platform retries) instead of queueing the claim until Redis comes back.
   */
  submit(claimKey: string, claimTtlSeconds: number, job: InboundJob): Promise<boolean> {
    if (DISCONNECTED.has(this.options.redis.status)) return Promise.reject(new RedisUnavailableNow());
    const submitted = this.submitBatched({ claimKey, claimTtlSeconds, job: InboundJob.parse(job) });
    // A call caught by the connection's loss waits for Redis to come back: the platform is told
    // to retry instead. Should the claim land later, the retry is a duplicate of a queued event.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisUnavailableNow()), this.options.submitTimeoutMs ?? 1500);
    });
    submitted.catch(() => undefined);
    return Promise.race([submitted, timeout]).finally(() => clearTimeout(timer));
  }

  private async submitMany(items: Submission[]): Promise<boolean[]> {
    const redis = this.options.redis;
    const rows = items.map((it) => {
      const conv = conversationId(it.job);
      return { ...it, conv, inbox: this.inboxKey(conv), payload: JSON.stringify(it.job) };
    });
    const pipe = redis.pipeline();
    const now = String(Date.now());
    for (const r of rows) pipe.eval(CLAIM_AND_PUSH, 3, r.claimKey, r.inbox, pendingKey(this.options.prefix), String(r.claimTtlSeconds), r.payload, now, r.conv);
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
    await this.options.redis.multi().rpush(this.inboxKey(conv), JSON.stringify(InboundJob.parse(job))).zadd(pendingKey(this.options.prefix), Date.now(), conv).exec();
    await this.queue.add('drain', { conv }, DRAIN_OPTIONS);
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

/** The sorted set of inboxes holding events (member: conversation id, score: last noted). */
function pendingKey(prefix: string): string {
  return `${prefix}:inbox-pending`;
}

export interface InboundWorkerOptions extends InboundQueueOptions {
  concurrency?: number;
  handle(job: InboundJob): Promise<void>;
  /** A handler failure on one event: logged, and the event is dropped after `maxAttempts`. */
  onEventError?(error: unknown, job: InboundJob): void;
  maxAttempts?: number;
  /**
   * Are the handler's dependencies reachable (PostgreSQL)? Asked after a failure: while they are
   * not, the failure is not counted against the event, which waits instead of being dropped.
   */
  available?(): Promise<boolean>;
  /**
   * BullMQ lock of a drain job and lifetime of a citizen's lock (kept alive while held): a dead
   * worker's drain comes back, and its citizens are drained again, after about this long.
   */
  lockDurationMs?: number;
  /** How often pending inboxes are looked for (default: the lock duration). */
  sweepMs?: number;
  /** Inboxes a sweep found left behind and scheduled a drain for. */
  onRecovered?(count: number): void;
  /** The worker's own errors (Redis unreachable…); without it BullMQ writes them to stderr. */
  onError?(error: Error): void;
}

export function createInboundWorker(options: InboundWorkerOptions): Worker {
  const { redis, prefix } = options;
  const maxAttempts = options.maxAttempts ?? 3;
  const lockMs = options.lockDurationMs ?? 30_000;
  const sweepMs = options.sweepMs ?? lockMs;
  const pending = pendingKey(prefix);
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
    const lockKey = `${inbox}:lock`;
    let handled = 0;
    for (;;) {
      const token = randomBytes(12).toString('hex');
      // Another drain holds this citizen: it takes our event too (or, if its worker died, the
      // lock lapses and a sweep drains the inbox again).
      if ((await redis.set(lockKey, token, 'PX', lockMs, 'NX')) !== 'OK') return handled;
      let lost = false;
      const keepAlive = setInterval(() => {
        redis.eval(RENEW, 1, lockKey, token, String(lockMs)).then(
          (ok) => {
            if (Number(ok) !== 1) lost = true;
          },
          () => undefined,
        );
      }, Math.max(100, Math.floor(lockMs / 3)));
      try {
        for (;;) {
          if (lost) throw new Error('citizen lock lost while draining');
          // Leftovers of a worker that died mid-event come first, then the inbox in order. The
          // head of the processing list is read back rather than taken from LMOVE's answer, and
          // the event removed by value: a command Redis ran but whose answer was lost (and that
          // the client sent again after reconnecting) can neither skip nor repeat an event.
          let raw = await redis.lindex(processing, 0);
          if (raw === null && (await redis.lmove(inbox, processing, 'LEFT', 'RIGHT')) !== null) raw = await redis.lindex(processing, 0);
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
            if (parsed && options.available && !(await options.available().catch(() => false))) {
              // The database is unreachable: not this event's fault. It stays first in line,
              // uncounted, and the drain job's retry (or a later sweep) takes it up again.
              await redis.decr(attemptsKey);
              throw err;
            }
            // Retry the same event a few times (the drain job's own retry), then give up on it.
            if (parsed && attempts < maxAttempts) throw err;
          }
          await redis.lrem(processing, 1, raw);
          await redis.del(attemptsKey);
          handled++;
        }
        await redis.eval(SETTLE, 3, inbox, processing, pending, conv);
      } finally {
        clearInterval(keepAlive);
        await redis.eval(RELEASE, 1, lockKey, token);
      }
      // An event may have arrived between our last empty read and the release.
      if ((await redis.llen(inbox)) === 0) return handled;
    }
  };
  // BullMQ leaves a connection it was given open: ours is closed with the worker (else the worker
  // role never exits after SIGTERM).
  const connection = duplicateClient(redis, { blocking: true });
  const worker = new Worker(INBOUND_QUEUE, drain, {
    connection,
    prefix,
    concurrency: options.concurrency ?? 8,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    // Each worker crash stalls the drains it held; they come back rather than fail (and a sweep
    // would find their citizens anyway).
    maxStalledCount: 10,
  });
  // The sweep: inboxes pending longer than a sweep interval get a drain (a spare one is harmless:
  // it finds the citizen locked or the inbox empty).
  const sweeper = new Queue(INBOUND_QUEUE, { connection: redis, prefix });
  if (options.onError) {
    worker.on('error', options.onError);
    sweeper.on('error', options.onError);
  }
  let sweeping = false;
  const sweep = async (): Promise<void> => {
    if (sweeping || DISCONNECTED.has(redis.status)) return;
    sweeping = true;
    try {
      const now = Date.now();
      const convs = (await redis.eval(SWEEP, 1, pending, String(now - sweepMs), String(now), '1000')) as string[];
      if (convs.length === 0) return;
      const jobs = [];
      for (let i = 0; i < convs.length; i += CONVS_PER_JOB) jobs.push({ name: 'drain', data: { convs: convs.slice(i, i + CONVS_PER_JOB) }, opts: DRAIN_OPTIONS });
      await sweeper.addBulk(jobs);
      options.onRecovered?.(convs.length);
    } catch {
      // Redis is away: the next sweep tries again.
    } finally {
      sweeping = false;
    }
  };
  const timer = setInterval(() => void sweep(), sweepMs);
  timer.unref();
  worker.on('closing', () => clearInterval(timer));
  worker.on('closed', () => {
    clearInterval(timer);
    sweeper.close().catch(() => undefined);
    connection.disconnect();
  });
  return worker;
}
