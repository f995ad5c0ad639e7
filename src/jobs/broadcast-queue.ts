// The broadcast queue and the Redis side of broadcasting: one 'fanout' job per announcement
// (id fanout-<announcement>, delayed to its scheduled time), a 'tick' job scheduler (starts,
// re-drives, completion, expiry of held announcements), and the per-account controls the
// sender uses: the account's send schedule and its sliding-window limiter shared with replies
// (src/store/rate-limiter.ts, leaving the replies' share), the cool-down after the platform
// throttled an account, and Zalo's OA promotion quota block. Send jobs themselves go on
// the outbound queue, kind 'broadcast', one per delivery: bc-<announcement>-<contact>-<gen>,
// where the generation grows only when the tick finds a delivery's job gone.
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import { duplicateClient, type RedisClient } from '../store/redis.js';
import { z } from 'zod';
import type { PlatformName } from '../channels/platform-event.js';
import { ADMIT_LUA, acquireSend, limiterKeys, limiterShape, type RateSpec } from '../store/rate-limiter.js';
import { createBroadcastRuntime, type AudiencePage, type BroadcastJobs, type BroadcastRuntime, type FanoutHorizon } from '../broadcast/runtime.js';
import { createBroadcastSender, type BroadcastGateway, type BroadcastSendJob, type SenderControls, type SenderStore } from '../broadcast/sender.js';
import type { BroadcastRepository, DeliveryKey, DeliveryOutcome } from '../store/broadcast-repository.js';
import { broadcastJobId, evalCached, rateKey, type OutboundHandlers, type OutboundJob, type OutboundQueue } from './outbound-queue.js';
import type { SchedulerSpec } from './upkeep.js';
import { tryLock } from '../store/redis-primitives.js';

export const BROADCAST_QUEUE = 'broadcast';

const jobSchemas = {
  fanout: z.object({
    announcementId: z.number().int().positive(),
    /** Kept across a pause of a paced fan-out (runtime.ts: FanoutHorizon). */
    horizon: z.record(z.string(), z.number()).optional(),
  }),
  tick: z.object({}).passthrough(),
} as const;

export class BroadcastQueue {
  readonly queue: Queue;
  constructor(redis: RedisClient, prefix: string) {
    this.queue = new Queue(BROADCAST_QUEUE, { connection: redis, prefix });
  }

  /**
   * Queues the fan-out of an announcement, delayed to `at` when that is in the future. One job
   * per announcement at a time (its id); a finished one is removed so a later call can queue
   * it again (the fan-out itself resumes at its cursor and does nothing twice).
   */
  async scheduleFanout(announcementId: number, at?: Date | null): Promise<void> {
    const delay = at ? Math.max(0, at.getTime() - Date.now()) : 0;
    await this.queue.add(
      'fanout',
      { announcementId },
      { jobId: `fanout-${announcementId}`, delay, attempts: 5, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: true, removeOnFail: true },
    );
  }

  /** The tick every `everyMs` (one scheduler whatever the number of workers calling this). */
  async scheduleTick(everyMs: number): Promise<void> {
    await this.queue.upsertJobScheduler('broadcast-tick', { every: everyMs }, { name: 'tick', data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

export interface BroadcastWorkerOptions {
  redis: RedisClient;
  prefix: string;
  /** A result `{ kind: 'paused', resumeInMs, horizon }` puts the job back, delayed, with that horizon. */
  fanout(announcementId: number, horizon?: FanoutHorizon): Promise<unknown>;
  tick(): Promise<unknown>;
  lockDurationMs?: number;
  onError?(name: string, err: unknown): void;
}

export function createBroadcastWorker(options: BroadcastWorkerOptions): Worker {
  const { redis, prefix } = options;
  const handle = async (job: Job, token?: string): Promise<unknown> => {
    if (job.name === 'fanout') {
      const data = jobSchemas.fanout.parse(job.data);
      const result = await options.fanout(data.announcementId, data.horizon);
      const paused = PausedFanout.safeParse(result);
      if (!paused.success) return result;
      // Paced: enough is queued; the same job resumes at the cursor when it is nearly sent.
      await job.updateData({ announcementId: data.announcementId, horizon: paused.data.horizon });
      await job.moveToDelayed(Date.now() + paused.data.resumeInMs, token);
      throw new DelayedError();
    }
    if (job.name === 'tick') {
      // One tick at a time across workers; a late one is simply skipped.
      const lock = await tryLock(redis, `${prefix}:lock:broadcast-tick`, 10 * 60_000);
      if (!lock) return { skipped: 'another tick runs' };
      try {
        return await options.tick();
      } finally {
        await lock.release();
      }
    }
    return { skipped: `unknown job ${job.name}` };
  };
  const connection = duplicateClient(redis, { blocking: true });
  const worker = new Worker(BROADCAST_QUEUE, handle, {
    connection,
    prefix,
    concurrency: 4,
    ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs, stalledInterval: options.lockDurationMs } : {}),
  });
  worker.on('failed', (job, err) => options.onError?.(job?.name ?? 'unknown', err));
  // BullMQ leaves a connection it was given open: ours is closed with the worker.
  worker.on('closed', () => connection.disconnect());
  return worker;
}

const PausedFanout = z.object({ kind: z.literal('paused'), resumeInMs: z.number(), horizon: z.record(z.string(), z.number()) });

// KEYS: cool-down, streak, probe. A refusal during a cool-down does not lengthen it; a new one
// doubles the previous (up to the cap) and ends the probe that was let through.
const THROTTLE = `
local left = redis.call('pttl', KEYS[1])
if left > 0 then return left end
redis.call('del', KEYS[3])
local streak = redis.call('incr', KEYS[2])
local ms = tonumber(ARGV[1]) * (2 ^ math.min(20, streak - 1))
ms = math.floor(math.min(tonumber(ARGV[2]), ms))
redis.call('set', KEYS[1], '1', 'PX', ms)
redis.call('pexpire', KEYS[2], 2 * ms + 5000)
return ms
`;

// The sender's pace, one round trip. KEYS: cool-down, streak, probe, schedule, and the account's
// limiter (log, replies, reply-waiting). ARGV: now (the sender's clock), probe ms, reserved slot
// (-1: none), interval ms, limit, window ms, replies' share, real time (the limiter's clock).
// Replies {kind, value}: 1 cooling down (ms), 2 slot in the future (epoch ms, as text),
// 3 the window is full (ms), 4 go (1 when this send is the probe).
// The schedule spaces broadcasts evenly at the limiter's interval; the limiter (shared with
// replies) only looks here, before the delivery is claimed: the send is counted right before
// the call to the platform (limitedGateway), so the delay between counting and arrival varies
// little. A send that comes back late to its slot goes as soon as the window has room: lateness
// costs no throughput, and no window ever holds more than the limit.
const PACE = `${ADMIT_LUA}
local now = tonumber(ARGV[1])
local left = redis.call('pttl', KEYS[1])
if left > 0 then return {1, left} end
local probe = 0
if redis.call('exists', KEYS[2]) == 1 then
  if redis.call('set', KEYS[3], '1', 'PX', tonumber(ARGV[2]), 'NX') then
    probe = 1
  else
    local p = redis.call('pttl', KEYS[3])
    if p > 0 then return {1, p} end
  end
end
local slot = tonumber(ARGV[3])
if slot < 0 then
  local interval = tonumber(ARGV[4])
  local tat = tonumber(redis.call('get', KEYS[4])) or now
  if tat < now then tat = now end
  redis.call('set', KEYS[4], tostring(tat + interval), 'PX', math.ceil(tat + interval - now) + 60000)
  slot = tat
end
if slot > now then
  if probe == 1 then redis.call('del', KEYS[3]) end
  return {2, tostring(slot)}
end
local wait = admit(KEYS[5], KEYS[6], KEYS[7], tonumber(ARGV[8]), tonumber(ARGV[5]), tonumber(ARGV[6]), false, tonumber(ARGV[7]), false)
if wait > 0 then
  if probe == 1 then redis.call('del', KEYS[3]) end
  return {3, wait}
end
return {4, probe}
`;
/**
 * A fan-out queues send jobs up to this far ahead of each account's sending, then pauses until
 * they are nearly sent: a 10,000-recipient broadcast at 100/s is queued 1,000 at a time every
 * ten seconds rather than all in its first second (docs/benchmarks.md: replies during a
 * broadcast). With the limits off, or for a small audience, it never pauses.
 */
export const FANOUT_LOOKAHEAD_MS = 10_000;

/** How long the others wait for a probe that never comes back (its worker died). */
const PROBE_MS = 3000;

const LIVE_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/** Send jobs on the outbound queue for the runtime (fan-out and re-drive). */
export function createBroadcastJobs(options: { outbound: OutboundQueue; broadcastQueue: BroadcastQueue; redis: RedisClient; prefix: string }): BroadcastJobs {
  const { outbound, redis, prefix } = options;
  const genKey = (announcementId: number): string => `${prefix}:bcgen:${announcementId}`;
  const toJob = (j: BroadcastSendJob): OutboundJob => ({
    kind: 'broadcast',
    platform: j.platform,
    accountId: j.accountId,
    userId: j.userId,
    bodies: [],
    sent: 0,
    refreshed: false,
    delivery: { announcementId: j.announcementId, contactId: j.contactId },
  });
  return {
    async enqueueSends(jobs) {
      // In slices, letting other work of the process (a citizen's reply) run in between.
      for (let i = 0; i < jobs.length; i += 200) {
        await outbound.addBulk(jobs.slice(i, i + 200).map((j) => ({ job: toJob(j), jobId: broadcastJobId(j.announcementId, j.contactId, 0), delayMs: j.delayMs })));
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    },
    async redriveSends(jobs) {
      const fresh: Array<{ job: OutboundJob; jobId: string }> = [];
      // In chunks, each chunk's look-ups in parallel (one round trip per chunk, in effect).
      for (let i = 0; i < jobs.length; i += 100) {
        const chunk = jobs.slice(i, i + 100);
        const found = await Promise.all(
          chunk.map(async (j) => {
            const gen = Number((await redis.hget(genKey(j.announcementId), String(j.contactId))) ?? 0);
            return { j, live: LIVE_STATES.has(await outbound.jobState(broadcastJobId(j.announcementId, j.contactId, gen))) };
          }),
        );
        for (const { j, live } of found) {
          if (live) continue;
          const next = await redis.hincrby(genKey(j.announcementId), String(j.contactId), 1);
          fresh.push({ job: toJob(j), jobId: broadcastJobId(j.announcementId, j.contactId, next) });
        }
      }
      if (fresh.length) {
        for (const id of new Set(jobs.map((j) => j.announcementId))) await redis.expire(genKey(id), 90 * 24 * 3600);
      }
      await outbound.addBulk(fresh);
      return fresh.length;
    },
    scheduleFanout: (announcementId, at) => options.broadcastQueue.scheduleFanout(announcementId, at),
  };
}

/**
 * The platforms' gateway with every send counted by the account's limiter (as a bulk send)
 * right before the call. The pace let the delivery through when the window had room; if
 * replies or other workers took it meanwhile, the send waits here for the next place (a few
 * ms: the window frees one place per interval).
 */
export function limitedGateway(gateway: BroadcastGateway, redis: RedisClient, prefix: string, rates: Record<PlatformName, RateSpec>): BroadcastGateway {
  return {
    ...gateway,
    async send(accountId, platform, body) {
      const base = rateKey(prefix, platform, accountId);
      for (;;) {
        const wait = await acquireSend(redis, base, rates[platform], 'bulk');
        if (wait === 0) break;
        await new Promise((r) => setTimeout(r, wait));
      }
      return gateway.send(accountId, platform, body);
    },
  };
}

/** The Redis-kept part of the sender's controls. */
export function createRedisSendControls(options: {
  redis: RedisClient;
  prefix: string;
  rates: Record<PlatformName, RateSpec>;
  throttleBaseMs: number;
  /** The longest cool-down when the platform gives no longer hint. */
  throttleMaxMs?: number;
}): Pick<SenderControls, 'pace' | 'recovered' | 'throttled' | 'promotionsBlockedUntil' | 'blockPromotions'> {
  const { redis, prefix, rates } = options;
  const maxMs = options.throttleMaxMs ?? 60_000;
  const coolKey = (id: number): string => `${prefix}:cool:${id}`;
  const streakKey = (id: number): string => `${prefix}:throttle-streak:${id}`;
  const probeKey = (id: number): string => `${prefix}:throttle-probe:${id}`;
  const promoKey = (id: number): string => `${prefix}:promo-block:${id}`;
  const promoBlocks = new Map<number, { at: number; until: number }>();
  return {
    async pace(accountId, platform, nowMs, slotAt) {
      const shape = limiterShape(rates[platform]);
      const base = rateKey(prefix, platform, accountId);
      const r = await evalCached(
        redis,
        PACE,
        [coolKey(accountId), streakKey(accountId), probeKey(accountId), `${base}:slots`, ...limiterKeys(base)],
        [nowMs, PROBE_MS, slotAt ?? -1, shape.intervalMs, shape.limit, shape.windowMs, shape.replyShare, Date.now()],
      );
      const [kind, value] = Array.isArray(r) ? r.map(Number) : [4, 0];
      if (kind === 1) return { kind: 'cooldown', waitMs: value ?? 0 };
      if (kind === 2) return { kind: 'slot', slotAt: value ?? nowMs };
      if (kind === 3) return { kind: 'token', waitMs: value ?? 0 };
      return { kind: 'go', probe: value === 1 };
    },
    async recovered(accountId) {
      await redis.del(streakKey(accountId), probeKey(accountId));
    },
    async throttled(accountId, hintMs) {
      // Exponential backoff while the throttling lasts: base, 2×, 4× … up to the platform's hint
      // (or a minute). Refusals of calls already in flight during a cool-down do not lengthen it;
      // the streak is forgotten after a quiet spell.
      const cap = Math.max(options.throttleBaseMs, hintMs ?? maxMs);
      const ms = await evalCached(redis, THROTTLE, [coolKey(accountId), streakKey(accountId), probeKey(accountId)], [options.throttleBaseMs, cap]);
      return typeof ms === 'number' ? ms : Number(ms);
    },
    async promotionsBlockedUntil(accountId) {
      // Read at most once a second per account: a block (-211) is rare and lasts the day.
      const hit = promoBlocks.get(accountId);
      if (hit && Date.now() - hit.at < 1000) return hit.until;
      const v = await redis.get(promoKey(accountId));
      const until = v ? Number(v) : 0;
      promoBlocks.set(accountId, { at: Date.now(), until });
      return until;
    },
    async blockPromotions(accountId, untilMs) {
      const ttl = untilMs - Date.now();
      promoBlocks.set(accountId, { at: Date.now(), until: untilMs });
      if (ttl > 0) await redis.set(promoKey(accountId), String(untilMs), 'PX', ttl);
    },
  };
}

/**
 * Adaptive batching: a call goes at once when the database is idle; while `maxInFlight` batches
 * are running, the calls that arrive meanwhile wait and go together as the next batch. Under
 * load batches grow with the database's latency, with no fixed delay when there is none.
 */
function adaptiveBatch<T, R>(run: (items: T[]) => Promise<R[]>, maxItems = 250, maxInFlight = 2): (item: T) => Promise<R> {
  let pending: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  let inFlight = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    while (pending.length > 0 && inFlight < maxInFlight) {
      const part = pending.slice(0, maxItems);
      pending = pending.slice(part.length);
      inFlight++;
      run(part.map((b) => b.item))
        .then(
          (results) => part.forEach((b, k) => (k < results.length ? b.resolve(results[k] as R) : b.reject(new Error('batch returned too few results')))),
          (err: unknown) => part.forEach((b) => b.reject(err)),
        )
        .finally(() => {
          inFlight--;
          flush();
        });
    }
  };
  return (item) =>
    new Promise<R>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      if (!scheduled && inFlight < maxInFlight) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}

/**
 * The sender's store with its three per-send statements (read, claim, outcome) gathered across
 * the jobs running at the same moment into one statement each: a commit per batch instead of
 * per send. The rarer writes go straight to the repository.
 */
export function batchedSenderStore(repo: BroadcastRepository): SenderStore {
  const read = adaptiveBatch((items: Array<DeliveryKey & { dayStart: Date; monthStart: Date }>) => repo.sendContexts(items));
  const claim = adaptiveBatch((items: Array<DeliveryKey & { now: Date; leaseMs: number }>) => repo.claimMany(items));
  const finish = adaptiveBatch((items: Array<DeliveryKey & { outcome: DeliveryOutcome; now: Date }>) => repo.finishEach(items));
  return {
    sendContext: (announcementId, contactId, dayStart, monthStart) => read({ announcementId, contactId, dayStart, monthStart }),
    claim: (announcementId, contactId, now, leaseMs) => claim({ announcementId, contactId, now, leaseMs }),
    finish: (announcementId, contactId, outcome, now) => finish({ announcementId, contactId, outcome, now }),
    release: (a, c, now) => repo.release(a, c, now),
    defer: (a, c, until, now) => repo.defer(a, c, until, now),
    recordProgress: (a, c, ids, now) => repo.recordProgress(a, c, ids, now),
    cancelClaimed: (a, c, now) => repo.cancelClaimed(a, c, now),
  };
}

// --- composition for the worker role ---------------------------------------------------------

export interface BroadcastWorkersDeps {
  redis: RedisClient;
  /** The BullMQ prefix (REDIS_KEY_PREFIX:bull). */
  prefix: string;
  outbound: OutboundQueue;
  store: BroadcastRepository;
  audiencePage: AudiencePage;
  platform: {
    gateway: BroadcastGateway;
    accountBlocked(accountId: number): Promise<string | null>;
    markUnreachable(accountId: number, userId: string, reason: string): Promise<void>;
    pauseAccount(accountId: number, platform: PlatformName, code: string, reason: string): Promise<void>;
  };
  rates: Record<PlatformName, RateSpec>;
  settings: {
    leaseMs: number;
    tickMs: number;
    lockDurationMs: number;
    throttleBaseMs: number;
    zaloMonthlyCap: number;
    /** Audience page size of the fan-out (1,000). */
    pageSize?: number;
    /** Sending a paced fan-out keeps queued ahead of each account's rate (FANOUT_LOOKAHEAD_MS). */
    fanoutLookaheadMs?: number;
  };
  /** The clock (tests move it; production leaves it). */
  now?: () => Date;
  log(level: 'info' | 'warn' | 'error', event: string, fields: Record<string, string | number | boolean>): void;
}

export interface BroadcastWorkers {
  runtime: BroadcastRuntime;
  broadcastQueue: BroadcastQueue;
  /** The fan-out and tick worker (its 'error' events are the caller's to report). */
  worker: Worker;
  /** The tick's job scheduler, checked by the upkeep (src/jobs/upkeep.ts). */
  scheduler: SchedulerSpec;
  /** OutboundHandlers.broadcast: one step of a delivery job. */
  step: NonNullable<OutboundHandlers['broadcast']>;
  close(): Promise<void>;
}

/** Starts the broadcast worker (fan-out, tick) and returns the step the outbound worker runs. */
export async function startBroadcastWorkers(deps: BroadcastWorkersDeps): Promise<BroadcastWorkers> {
  const { redis, prefix, store, settings } = deps;
  const broadcastQueue = new BroadcastQueue(redis, prefix);
  const rules = { zaloMonthlyCap: settings.zaloMonthlyCap };
  const runtime = createBroadcastRuntime({
    store,
    audiencePage: deps.audiencePage,
    jobs: createBroadcastJobs({ outbound: deps.outbound, broadcastQueue, redis, prefix }),
    rules,
    leaseMs: settings.leaseMs,
    idleMs: Math.max(2 * settings.tickMs, settings.leaseMs, settings.lockDurationMs),
    ...(settings.pageSize ? { pageSize: settings.pageSize } : {}),
    sendRate: (platform) => 1000 / limiterShape(deps.rates[platform]).intervalMs,
    lookaheadMs: settings.fanoutLookaheadMs ?? FANOUT_LOOKAHEAD_MS,
    ...(deps.now ? { now: deps.now } : {}),
    log: (event, fields) => deps.log('info', event, fields),
  });
  // An announcement's text never changes once it is sent: keep the last few in memory.
  const contents = new Map<number, { title: string; body: string; linkUrl: string | null; imageUrl: string | null; survey: string | null }>();
  const sender = createBroadcastSender({
    store: batchedSenderStore(store),
    gateway: limitedGateway(deps.platform.gateway, redis, prefix, deps.rates),
    controls: {
      ...createRedisSendControls({ redis, prefix, rates: deps.rates, throttleBaseMs: settings.throttleBaseMs }),
      accountBlocked: (id) => deps.platform.accountBlocked(id),
      markUnreachable: (id, userId, reason) => deps.platform.markUnreachable(id, userId, reason),
      pauseAccount: (id, platform, code, reason) => deps.platform.pauseAccount(id, platform, code, reason),
      alert: (code, fields) => deps.log('error', 'broadcast alert', { code, ...fields }),
    },
    content: async (id) => {
      const hit = contents.get(id);
      if (hit) return hit;
      const a = await store.get(id);
      if (!a) return undefined;
      const content = { title: a.title, body: a.body, linkUrl: a.linkUrl, imageUrl: a.imageUrl, survey: a.survey };
      if (contents.size >= 100) contents.delete(contents.keys().next().value ?? id);
      contents.set(id, content);
      return content;
    },
    rules,
    leaseMs: settings.leaseMs,
    ...(deps.now ? { now: deps.now } : {}),
    onOutcome: (job, result) => {
      if (result !== 'settled' && result !== 'released') runtime.noteSettled(job.announcementId);
      if (result === 'failed_in_doubt') deps.log('warn', 'broadcast send in doubt', { platform: job.platform, accountId: job.accountId });
    },
  });
  const worker = createBroadcastWorker({
    redis,
    prefix,
    fanout: (id, horizon) => runtime.fanout(id, horizon),
    tick: () => runtime.tick(),
    lockDurationMs: settings.lockDurationMs,
    onError: (name, err) => deps.log('error', 'broadcast job failed', { job: name, err: err instanceof Error ? err.message : 'unknown' }),
  });
  const scheduler: SchedulerSpec = {
    name: 'broadcast-tick',
    exists: async () => (await broadcastQueue.queue.getJobScheduler('broadcast-tick')) !== undefined,
    ensure: () => broadcastQueue.scheduleTick(settings.tickMs),
  };
  await scheduler.ensure();
  return {
    runtime,
    broadcastQueue,
    worker,
    scheduler,
    step: (job) =>
      sender.step({ announcementId: job.delivery.announcementId, contactId: job.delivery.contactId, accountId: job.accountId, platform: job.platform, userId: job.userId, slotAt: job.slotAt }),
    close: async () => {
      runtime.close();
      await worker.close();
      await broadcastQueue.close();
    },
  };
}
