// Broadcasts, measured (npm run bench:broadcast), on the real PostgreSQL (a fresh database) and
// Redis, with the fake Graph and Zalo servers in a child process of their own:
// 1. dispatch with a limit of N/s per account: achieved rate and the busiest second;
// 2. p95 latency of citizens' replies while a 10,000-recipient broadcast runs, against idle, with
//    the broadcast in the same process and in a process of its own (WORKER_TASKS);
// 3. fan-out of 100,000 recipients into deliveries and send jobs, beside raw BullMQ addBulk of
//    as many jobs in the same run; peak memory of this process;
// 4. dispatch with the rate limits off, beside a raw BullMQ no-op worker draining as many jobs.
// The timing-sensitive measures (1, 2) run first, before the 100,000-recipient ones.
// Settings: BENCH_RECIPIENTS (100000), BENCH_CONCURRENCY (64, dispatch), BENCH_RATE_FB (200),
// BENCH_RATE_ZALO (50), BENCH_RATE_SECONDS (30), BENCH_RATE_GUARD_MS (the limiter's default guard), BENCH_ONLY (a comma list of
// fanout,dispatch,rate,replies; default all), BENCH_CHAT_AFTER_FANOUT (measure the replies after
// the broadcast's fan-out rather than from its first sends).
// Prints a table; asserts nothing.
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { buildServices, type Services } from '../src/services.js';
import { createPlatforms } from '../src/platforms.js';
import { OutboundQueue, createOutboundWorker, sendRates } from '../src/jobs/outbound-queue.js';
import { BroadcastQueue, createBroadcastJobs, startBroadcastWorkers, type BroadcastWorkers } from '../src/jobs/broadcast-queue.js';
import { createBroadcastRuntime } from '../src/broadcast/runtime.js';
import { SubscriptionRepository } from '../src/store/subscription-repository.js';
import { AnnouncementInput } from '../src/broadcast/types.js';
import { limiterShape, type RateSpec } from '../src/store/rate-limiter.js';
import { freshDatabase } from '../tests/broadcast/harness.js';

const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 100_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const RATE_FB = Number(process.env.BENCH_RATE_FB ?? 200);
const RATE_ZALO = Number(process.env.BENCH_RATE_ZALO ?? 50);
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 30);
const RATE_MODE = (process.env.BENCH_RATE_MODE ?? 'one') as 'one' | 'split';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const HOUR = 3_600_000;
const PAGE_ID = '106000000000888';
const PAGE_TOKEN = 'EAAG-bench-broadcast-token';
const APP_ID = '360846524940900088';
const APP_SECRET = 'zalo-app-secret-bench';
const OA_ID = '388613280900000088';
const MODES = (process.env.BENCH_REPLY_MODES ?? 'one,split').split(',') as Array<'one' | 'split'>;
const CYCLES = Number(process.env.BENCH_CYCLES ?? 3);
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 5);
const BUSY_S = Number(process.env.BENCH_BUSY_S ?? 10);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'fanout,dispatch,rate,replies').split(','));
const OFF: Record<'messenger' | 'zalo', RateSpec> = { messenger: { perSecond: 1e6 }, zalo: { perSecond: 1e6 } };

// --- the fakes' process ------------------------------------------------------------------------
let fakes: ChildProcess;
let nextId = 1;
const pending = new Map<number, (m: Record<string, unknown>) => void>();
function ask<T>(message: Record<string, unknown>): Promise<T> {
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, (m) => resolve(m as T));
    fakes.send({ ...message, id });
  });
}

// --- memory --------------------------------------------------------------------------------------
function sampler(): { stop(): { rssMb: number; heapMb: number } } {
  let rss = 0;
  let heap = 0;
  const take = (): void => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed);
  };
  take();
  const timer = setInterval(take, 20);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return { rssMb: rss / 2 ** 20, heapMb: heap / 2 ** 20 };
    },
  };
}

/** Wall-clock time to a fraction of a millisecond (the fakes' process stamps arrivals the same way). */
const clock = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

/** Achieved rate over the run (first to last send) and the most sends in any one second. */
function rateOf(times: number[]): { rate: number; busiest: number; n: number } {
  const t = [...times].sort((a, b) => a - b);
  const first = t[0] ?? 0;
  const last = t[t.length - 1] ?? 0;
  let busiest = 0;
  let j = 0;
  for (let i = 0; i < t.length; i++) {
    while ((t[i] ?? 0) - (t[j] ?? 0) >= 1000) j++;
    busiest = Math.max(busiest, i - j + 1);
  }
  return { rate: t.length > 1 ? ((t.length - 1) * 1000) / (last - first) : 0, busiest, n: t.length };
}

async function main(): Promise<void> {
  // Zalo promotions go out 06:00–21:59 in Vietnam: at night the bench runs on a day-time clock.
  const vnHour = new Date(Date.now() + 7 * HOUR).getUTCHours();
  const offset = vnHour >= 6 && vnHour < 21 ? 0 : (((10 - vnHour + 24) % 24) * HOUR);
  const now = (): Date => new Date(Date.now() + offset);

  fakes = fork(new URL('./broadcast-fakes.ts', import.meta.url), [APP_ID, APP_SECRET, OA_ID, PAGE_ID, PAGE_TOKEN, ...(offset ? [String(Date.now() + offset)] : [])], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<{ graphUrl: string; zaloUrl: string; accessToken: string; refreshToken: string; accessExpiresAt: number }>((resolve) => {
    fakes.on('message', (m: Record<string, unknown>) => {
      if (m['ready']) resolve(m as never);
      else if (typeof m['id'] === 'number') pending.get(m['id'])?.(m);
    });
  });

  const db = await freshDatabase('bench_bc');
  const prefix = `bench_bc_${process.pid}`;
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_AUTOSTART: 'false',
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    FB_PAGE_ID: PAGE_ID,
    FB_PAGE_ACCESS_TOKEN: PAGE_TOKEN,
    FB_GRAPH_URL: ready.graphUrl,
    ZALO_APP_ID: APP_ID,
    ZALO_APP_SECRET: APP_SECRET,
    ZALO_OA_ID: OA_ID,
    ZALO_ACCESS_TOKEN: ready.accessToken,
    ZALO_REFRESH_TOKEN: ready.refreshToken,
    ZALO_OPENAPI_URL: ready.zaloUrl,
    ZALO_OAUTH_URL: ready.zaloUrl,
  };
  const config = loadConfig(env);
  const logger = createLogger('silent');
  const services: Services = await buildServices(config, logger);
  const zaloAccount = await services.accounts.find('zalo', OA_ID);
  const fbAccount = await services.accounts.find('messenger', PAGE_ID);
  if (!zaloAccount || !fbAccount) throw new Error('accounts not seeded');
  await services.accounts.setSecrets(zaloAccount.id, { ...zaloAccount.secrets, accessExpiresAt: new Date(ready.accessExpiresAt).toISOString() });
  const platforms = createPlatforms(services, config, logger);
  const unitId = services.defaultUnitId;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const bull = `${prefix}:bull`;
  const outbound = new OutboundQueue(redis, bull);
  const subscriptions = new SubscriptionRepository(services.db);

  const group = async (name: string): Promise<number> =>
    Number((await services.db.query<{ id: string }>(`INSERT INTO subscriber_groups (unit_id, kind, name) VALUES ($1, 'topic', $2) RETURNING id`, [unitId, name]))[0]?.id);
  const subscribers = async (groupId: number, platform: 'messenger' | 'zalo', idPrefix: string, count: number): Promise<void> => {
    const accountId = platform === 'messenger' ? fbAccount.id : zaloAccount.id;
    const at = new Date(now().getTime() - HOUR);
    await services.db.query(
      `WITH c AS (
         INSERT INTO contacts (account_id, platform_user_id, first_seen_at, last_interaction_at, following)
         SELECT $1, $2 || lpad(g::text, 7, '0'), $3, $3, $4 FROM generate_series(1, $5::int) g RETURNING id)
       INSERT INTO subscriptions (contact_id, group_id, consented_at) SELECT id, $6, $3 FROM c`,
      [accountId, idPrefix, at, platform === 'zalo' ? true : null, count, groupId],
    );
    await ask({ cmd: 'users', platform, prefix: idPrefix, count, at: Date.now() - HOUR });
  };
  const announce = async (groupId: number, channels: Array<'messenger' | 'zalo'>): Promise<number> => {
    const a = await services.broadcasts.create(unitId, AnnouncementInput.parse({ title: 'Thông báo lịch tiếp công dân', body: 'Chủ tịch UBND xã tiếp công dân sáng thứ Năm hằng tuần tại Bộ phận Một cửa.', groupIds: [groupId], channels }), null);
    await services.broadcasts.submit(a.id, now());
    return a.id;
  };
  const statusOf = async (id: number) => (await services.broadcasts.get(id))?.status;
  const waitDone = async (id: number): Promise<void> => {
    while ((await statusOf(id)) !== 'done') await sleep(200);
  };

  // When each broadcast send was handed to the platform client (right after the limiter counted
  // it): set while the rate is measured, to see how far apart counting and arrival are.
  let callTimes: Map<string, number> | undefined;
  const recipientOf = (body: unknown): string | undefined => {
    const r = (body as { recipient?: { id?: string; user_id?: string } }).recipient;
    return r?.id ?? r?.user_id;
  };
  const broadcastAccess = {
    ...platforms.broadcast,
    gateway: {
      ...platforms.broadcast.gateway,
      send: (accountId: number, platform: 'messenger' | 'zalo', body: unknown) => {
        const id = callTimes ? recipientOf(body) : undefined;
        if (id) callTimes?.set(id, clock());
        return platforms.broadcast.gateway.send(accountId, platform, body);
      },
    },
  };
  /** Outcomes of the runs of broadcast jobs in this process ('done:sent', 'delay:rate', …). */
  const stepCounts = new Map<string, number>();
  let running: { workers?: BroadcastWorkers; worker: Worker; child?: ChildProcess } | undefined;
  /**
   * 'one': the broadcast work (fan-out, tick, bulk sends) and the replies in this process, as
   * `motcua serve` runs them by default; 'split': the replies here, the broadcast work in a
   * process of its own (bench/broadcast-worker.ts: `motcua worker` with WORKER_TASKS=broadcasts).
   */
  const startWorkers = async (rates: Record<'messenger' | 'zalo', RateSpec>, concurrency: number, mode: 'one' | 'split' = 'one'): Promise<void> => {
    if (mode === 'split') {
      const worker = createOutboundWorker({ redis, prefix: bull, handlers: platforms.outboundHandlers, concurrency, rates, queues: 'replies' });
      // The worker role with WORKER_TASKS=broadcasts, at the rates given here.
      const child = fork(new URL('./broadcast-worker.ts', import.meta.url), [JSON.stringify({ ...env, MESSENGER_SEND_RATE: String(rates.messenger.perSecond), ZALO_SEND_RATE: String(rates.zalo.perSecond) })], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`broadcast worker exited (${code})`)));
      });
      running = { worker, child };
      return;
    }
    const workers = await startBroadcastWorkers({
      redis,
      prefix: bull,
      outbound,
      store: services.broadcasts,
      audiencePage: (q) => subscriptions.audiencePage(q),
      platform: broadcastAccess,
      rates,
      settings: { leaseMs: 60_000, tickMs: 5_000, lockDurationMs: 30_000, throttleBaseMs: 2000, zaloMonthlyCap: 4 },
      now,
      log: () => undefined,
    });
    const step: typeof workers.step = async (job) => {
      const r = await workers.step(job);
      const why = r.kind === 'delay' ? `delay:${r.why}` : `done:${r.result}`;
      stepCounts.set(why, (stepCounts.get(why) ?? 0) + 1);
      return r;
    };
    const worker = createOutboundWorker({ redis, prefix: bull, handlers: { ...platforms.outboundHandlers, broadcast: step }, concurrency, rates });
    running = { workers, worker };
  };
  const stopWorkers = async (): Promise<void> => {
    if (!running) return;
    const { child } = running;
    if (child) {
      child.removeAllListeners('exit');
      const stopped = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ stop: true });
      await stopped;
    }
    await running.worker.close();
    await running.workers?.close();
    running = undefined;
  };

  const rows: string[][] = [];
  const note = (...r: string[]): void => {
    rows.push(r);
    process.stdout.write(`  ${r.join(' | ')}\n`);
  };

  const broadcastQueue = new BroadcastQueue(redis, bull);
  const ratios: string[] = [];
  // --- 1. limit N/s ---------------------------------------------------------------------------------
  if (ONLY.has('rate')) {
    const gRate = await group('Đo tốc độ');
    // RATE_SECONDS of sending per account: the rate is a long-run figure, and a few hundred ms
    // at either end of a short run (the first send, the last one's lateness) would weigh on it.
    await subscribers(gRate, 'messenger', '72', RATE_FB * RATE_SECONDS);
    await subscribers(gRate, 'zalo', '82', RATE_ZALO * RATE_SECONDS);
    // The account's schedule spaces broadcasts evenly; its sliding-window limiter admits at most
    // N sends in any 1 s (+ guard) window. The busiest second is counted at the fake platform, on
    // arrival, over windows starting at every send (any offset).
    const guard = process.env.BENCH_RATE_GUARD_MS === undefined ? undefined : Number(process.env.BENCH_RATE_GUARD_MS);
    const spec = (n: number): RateSpec => (guard === undefined ? { perSecond: n } : { perSecond: n, guardMs: guard });
    const limited = { messenger: spec(RATE_FB), zalo: spec(RATE_ZALO) };
    const rateAnn = await announce(gRate, ['messenger', 'zalo']);
    callTimes = new Map();
    // How much work a send costs: delivery reads (one per run of its job) and this process's CPU.
    let reads = 0;
    const sendContexts = services.broadcasts.sendContexts.bind(services.broadcasts);
    services.broadcasts.sendContexts = (items) => ((reads += items.length), sendContexts(items));
    const cpu0 = process.cpuUsage();
    stepCounts.clear();
    await startWorkers(limited, 16, RATE_MODE);
    await broadcastQueue.scheduleFanout(rateAnn);
    await waitDone(rateAnn);
    await stopWorkers();
    const cpu = process.cpuUsage(cpu0);
    services.broadcasts.sendContexts = sendContexts;
    const sends = (RATE_FB + RATE_ZALO) * RATE_SECONDS;
    process.stdout.write(`    per send: ${fmt(reads / sends, 2)} runs of its job (${[...stepCounts].map(([k, v]) => `${k} ${v}`).join(', ')}), ${fmt((cpu.user + cpu.system) / sends, 0)} µs of CPU in this process\n`);
    const calls = callTimes;
    callTimes = undefined;
    const spread: number[] = [];
    for (const [platform, pfx] of [['messenger', '72'], ['zalo', '82']] as const) {
      for (const [id, at] of (await ask<{ arrivals: Array<[string, number]> }>({ cmd: 'arrivals', platform, prefix: pfx })).arrivals) {
        const called = calls.get(id);
        if (called !== undefined) spread.push(at - called);
      }
    }
    process.stdout.write(`    counted → arrival at the fake: p50 ${fmt(pct(spread, 50), 1)} ms, p99 ${fmt(pct(spread, 99), 1)} ms, max ${fmt(Math.max(...spread), 1)} ms (the limiter's guard covers its spread)\n`);
    for (const [platform, pfx, n] of [['messenger', '72', RATE_FB], ['zalo', '82', RATE_ZALO]] as const) {
      const r = rateOf((await ask<{ times: number[] }>({ cmd: 'times', platform, prefix: pfx })).times);
      note(`dispatch, ${platform}, limit N = ${n}/s (sliding window, guard ${limiterShape(limited[platform]).windowMs - 1000} ms)`, `${fmt(r.n)} sent`, `${fmt(r.rate, 1)} /s achieved (${fmt(((r.rate - n) / n) * 100, 1)}%)`, `busiest second: ${r.busiest} (N = ${n})${r.busiest > n ? ' ABOVE N' : ''}`, '');
    }
  }

  // --- 2. replies during a broadcast ----------------------------------------------------------------
  if (ONLY.has('replies')) {
    const gChat = await group('Đo độ trễ');
    await subscribers(gChat, 'messenger', '73', 10_000);
    await ask({ cmd: 'users', platform: 'messenger', prefix: '79', count: 1000, at: Date.now() });
    let replySeq = 0;
    const trace = new Map<string, { started?: number; sendAt?: number }>();
    const markerOf = (body: unknown): string | undefined => /R[a-z]+ \d+ [\d.]+/.exec(JSON.stringify(body))?.[0];
    const base = platforms.outboundHandlers;
    platforms.outboundHandlers = {
      ...base,
      accountBlocked: async (job) => {
        if (job.kind === 'reply') {
          const m = markerOf(job.bodies[0]);
          if (m) trace.set(m, { ...trace.get(m), started: clock() });
        }
        return base.accountBlocked(job);
      },
      send: async (job, body) => {
        if (job.kind === 'reply') {
          const m = markerOf(body);
          if (m) trace.set(m, { ...trace.get(m), sendAt: clock() });
        }
        return base.send(job, body);
      },
    };
    /** Where a reply's time went: queued → its job starts, → handed to the client, → at the fake. */
    interface Sample {
      /** When each reply was queued (parallel to `total`). */
      queuedAt: number[];
      total: number[];
      queue: number[];
      job: number[];
      http: number[];
      loopP99: number[];
    }
    const empty = (): Sample => ({ queuedAt: [], total: [], queue: [], job: [], http: [], loopP99: [] });
    const merge = (into: Sample, s: Sample): void => {
      for (const k of ['queuedAt', 'total', 'queue', 'job', 'http', 'loopP99'] as const) into[k].push(...s[k]);
    };
    /** Latencies of the replies queued before / after the given times (one per sample run). */
    const during: number[] = [];
    const after: number[] = [];
    const chat = async (label: string, seconds: number, perSecond: number): Promise<Sample> => {
      const marker = `R${label}`;
      const eld = monitorEventLoopDelay({ resolution: 1 });
      eld.enable();
      const sent: Array<Promise<void>> = [];
      for (let i = 0; i < seconds * perSecond; i++) {
        const n = replySeq++;
        const psid = `79${String((n % 1000) + 1).padStart(7, '0')}`;
        sent.push(platforms.queueReplies(outbound, { platform: 'messenger', accountId: fbAccount.id, userId: psid, replies: [{ text: `${marker} ${n} ${clock().toFixed(2)}`, buttons: [], quickReplies: [], links: [] }], turnId: `${marker}-${n}` }));
        await sleep(1000 / perSecond);
      }
      await Promise.all(sent);
      eld.disable();
      await sleep(1500);
      const got = (await ask<{ replies: Array<{ text: string; at: number }> }>({ cmd: 'replies', marker })).replies;
      const out: Sample = { ...empty(), loopP99: [eld.percentile(99) / 1e6] };
      for (const r of got) {
        const m = new RegExp(`${marker} (\\d+) ([\\d.]+)`).exec(r.text);
        if (!m) continue;
        const queued = Number(m[2]);
        out.queuedAt.push(queued);
        out.total.push(r.at - queued);
        const t = trace.get(m[0]);
        if (!t?.started || !t.sendAt) continue;
        out.queue.push(t.started - queued);
        out.job.push(t.sendAt - t.started);
        out.http.push(r.at - t.sendAt);
      }
      return out;
    };
    const latencyRow = (name: string, s: Sample): void =>
      note(
        name,
        `${s.total.length} replies`,
        `p50 ${fmt(pct(s.total, 50), 1)} ms`,
        `p95 ${fmt(pct(s.total, 95), 1)} ms`,
        `max ${fmt(Math.max(...s.total), 1)} ms; p95 queued→job ${fmt(pct(s.queue, 95), 1)}, job→client ${fmt(pct(s.job, 95), 1)}, client→platform ${fmt(pct(s.http, 95), 1)} ms; event-loop p99 ≤ ${fmt(Math.max(...s.loopP99), 0)} ms`,
      );

    // Each arrangement in turn: a warm-up, then CYCLES times: IDLE_S s of chat with nothing else
    // running, then BUSY_S s of chat from the first sends of a new 10,000-recipient broadcast (its
    // fan-out included), cancelled afterwards. Idle and busy samples are pooled over the cycles,
    // so that a change of the machine's load from other programs weighs on both alike.
    const defaults = sendRates(loadConfig({}));
    const count = async (): Promise<number> => (await ask<{ messenger: number }>({ cmd: 'count' })).messenger;
    for (const mode of MODES) {
      const where = mode === 'one' ? 'broadcast in the same process' : 'broadcast in its own process';
      await startWorkers(defaults, 16, mode);
      await chat(`warm${mode}`, 2, 20);
      const idle = empty();
      const busy = empty();
      for (let c = 0; c < CYCLES; c++) {
        const letter = String.fromCharCode(97 + c);
        merge(idle, await chat(`idle${mode}${letter}`, IDLE_S, 20));
        const ann = await announce(gChat, ['messenger']);
        const start = await count();
        await broadcastQueue.scheduleFanout(ann);
        while ((await count()) < start + 50) await sleep(20);
        if (process.env.BENCH_CHAT_AFTER_FANOUT) {
          while ((await services.broadcasts.get(ann))?.status === 'fanning_out') await sleep(50);
        }
        // When the fan-out ends (its status leaves fanning_out), watched while the citizens chat.
        let fanoutEnd = Infinity;
        let chatting = true;
        const watching = (async () => {
          while (chatting && (await services.broadcasts.get(ann))?.status === 'fanning_out') await sleep(25);
          if (chatting) fanoutEnd = clock();
        })();
        const sample = await chat(`busy${mode}${letter}`, BUSY_S, 20);
        chatting = false;
        await watching;
        sample.total.forEach((l, k) => ((sample.queuedAt[k] ?? 0) < fanoutEnd ? during : after).push(l));
        merge(busy, sample);
        await services.broadcasts.cancel(ann, unitId, now());
        await sleep(500);
        await outbound.queue.drain(true);
      }
      await stopWorkers();
      await outbound.queue.drain(true);
      latencyRow(`replies, idle (default limits; ${mode === 'one' ? 'one process' : 'replies apart'}; ${CYCLES} × ${IDLE_S} s)`, idle);
      latencyRow(`replies during a 10,000 broadcast (default limits; ${where}; ${CYCLES} × ${BUSY_S} s from its first sends)`, busy);
      ratios.push(
        `${where}: p95 ${fmt(pct(busy.total, 95) / pct(idle.total, 95), 2)}× idle (${fmt(pct(busy.total, 95), 1)} / ${fmt(pct(idle.total, 95), 1)} ms); ` +
          `while it fans out ${during.length ? `${fmt(pct(during, 95), 1)} ms` : '—'} (${during.length} replies), after ${after.length ? `${fmt(pct(after, 95), 1)} ms` : '—'} (${after.length})`,
      );
      during.length = 0;
      after.length = 0;
    }

    if (process.env.BENCH_LIMITS_OFF_CHAT) {
      // Stress: the broadcast sent as fast as the machine allows, in the same process.
      await startWorkers(OFF, 16);
      const idleOff = await chat('idleoff', 10, 20);
      latencyRow('replies, idle (limits off, concurrency 16)', idleOff);
      const chatAnn2 = await announce(gChat, ['messenger']);
      const before = await count();
      await broadcastQueue.scheduleFanout(chatAnn2);
      while ((await count()) < before + 200) await sleep(20);
      const busyOff = await chat('busyoff', 5, 20);
      latencyRow('replies during a 10,000 broadcast (limits off, same process)', busyOff);
      ratios.push(`limits off, same process: p95 ${fmt(pct(busyOff.total, 95) / pct(idleOff.total, 95), 2)}× idle`);
      await stopWorkers();
    }
  }

  // The 100,000-recipient measures last: their leftovers (large heaps here and in the fakes'
  // process, 100,000 rows) must not weigh on the timing-sensitive ones above.
  if (ONLY.has('fanout') || ONLY.has('dispatch')) {
    // --- 3. fan-out -------------------------------------------------------------------------------
    process.stdout.write(`seeding ${fmt(RECIPIENTS)} subscribers…\n`);
    const gBig = await group('Toàn xã');
    await subscribers(gBig, 'messenger', '71', RECIPIENTS / 2);
    await subscribers(gBig, 'zalo', '81', RECIPIENTS / 2);
    const big = await announce(gBig, ['messenger', 'zalo']);
    const runtime = createBroadcastRuntime({
      store: services.broadcasts,
      audiencePage: (q) => subscriptions.audiencePage(q),
      jobs: createBroadcastJobs({ outbound, broadcastQueue, redis, prefix: bull }),
      rules: { zaloMonthlyCap: 4 },
      leaseMs: 60_000,
      idleMs: 120_000,
      now,
    });
    let mem = sampler();
    let t0 = performance.now();
    const fan = await runtime.fanout(big);
    const fanMs = performance.now() - t0;
    const fanMem = mem.stop();
    if (fan.kind !== 'done') throw new Error(`fan-out: ${fan.kind}`);
    note('fan-out, motcua (audience pages → deliveries → send jobs)', `${fmt(RECIPIENTS)} recipients`, `${fmt(fanMs / 1000, 2)} s`, `${fmt((RECIPIENTS * 1000) / fanMs)} /s`, `peak RSS ${fmt(fanMem.rssMb)} MiB, heap ${fmt(fanMem.heapMb)} MiB`);

    const raw = new Queue('raw-bench', { connection: redis, prefix: bull });
    mem = sampler();
    t0 = performance.now();
    for (let i = 0; i < RECIPIENTS; i += 1000) {
      await raw.addBulk(
        Array.from({ length: Math.min(1000, RECIPIENTS - i) }, (_, k) => ({
          name: 'broadcast',
          data: { kind: 'broadcast', platform: 'zalo', accountId: 1, userId: String(8_000_000 + i + k), bodies: [], sent: 0, refreshed: false, delivery: { announcementId: 1, contactId: i + k + 1 } },
          opts: { jobId: `raw-${i + k}`, priority: 10, attempts: 8, removeOnComplete: 5000, removeOnFail: 20000 },
        })),
      );
    }
    const rawAddMs = performance.now() - t0;
    const rawMem = mem.stop();
    note('raw BullMQ addBulk (same jobs, batches of 1,000)', `${fmt(RECIPIENTS)} jobs`, `${fmt(rawAddMs / 1000, 2)} s`, `${fmt((RECIPIENTS * 1000) / rawAddMs)} /s`, `peak RSS ${fmt(rawMem.rssMb)} MiB, heap ${fmt(rawMem.heapMb)} MiB`);

    // --- 4. dispatch, limits off ----------------------------------------------------------------------
    mem = sampler();
    t0 = performance.now();
    await startWorkers(OFF, CONCURRENCY);
    await waitDone(big);
    const dispatchMs = performance.now() - t0;
    const dispatchMem = mem.stop();
    await stopWorkers();
    // Jobs still queued once every delivery is settled (re-driven copies): each would only find
    // its delivery done, but they must not run in the next measure.
    const left = await outbound.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
    process.stdout.write(`    left in the queue after the broadcast was done: ${JSON.stringify(left)}\n`);
    await outbound.queue.drain(true);
    const fbTimes = (await ask<{ times: number[] }>({ cmd: 'times', platform: 'messenger', prefix: '71' })).times;
    const zTimes = (await ask<{ times: number[] }>({ cmd: 'times', platform: 'zalo', prefix: '81' })).times;
    const all = rateOf([...fbTimes, ...zTimes]);
    note(`dispatch, motcua, limits off (concurrency ${CONCURRENCY})`, `${fmt(all.n)} sent`, `${fmt(dispatchMs / 1000, 1)} s`, `${fmt(all.rate)} sends/s`, `peak RSS ${fmt(dispatchMem.rssMb)} MiB, heap ${fmt(dispatchMem.heapMb)} MiB`);

    let drained = 0;
    mem = sampler();
    t0 = performance.now();
    const noop = new Worker('raw-bench', async () => {
      drained++;
    }, { connection: redis.duplicate({ maxRetriesPerRequest: null }), prefix: bull, concurrency: CONCURRENCY });
    while (drained < RECIPIENTS) await sleep(50);
    const rawDrainMs = performance.now() - t0;
    const noopMem = mem.stop();
    await noop.close();
    note(`raw BullMQ no-op worker (concurrency ${CONCURRENCY})`, `${fmt(RECIPIENTS)} jobs`, `${fmt(rawDrainMs / 1000, 1)} s`, `${fmt((RECIPIENTS * 1000) / rawDrainMs)} jobs/s`, `peak RSS ${fmt(noopMem.rssMb)} MiB, heap ${fmt(noopMem.heapMb)} MiB`);
    await raw.obliterate({ force: true });
    await raw.close();
  }

  process.stdout.write(`\n| measure | volume | time / rate | rate / latency | memory / notes |\n|---|---|---|---|---|\n`);
  for (const r of rows) process.stdout.write(`| ${r.join(' | ')} |\n`);
  if (ratios.length) process.stdout.write(`\nreply p95 during a broadcast / idle, same run:\n${ratios.map((r) => `  ${r}`).join('\n')}\n`);

  await broadcastQueue.close();
  await outbound.queue.obliterate({ force: true });
  await outbound.close();
  await services.close();
  const keys = await redis.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  redis.disconnect();
  await db.drop();
  fakes.kill();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`broadcast bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    fakes?.kill();
    process.exit(1);
  },
);
