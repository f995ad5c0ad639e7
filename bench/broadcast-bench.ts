// Broadcasts, measured (npm run bench:broadcast), on the real PostgreSQL (a fresh database) and
// Redis, with the fake Graph and Zalo servers in a child process of their own:
// 1. fan-out of 100,000 recipients into deliveries and send jobs, beside raw BullMQ addBulk of
//    as many jobs in the same run; peak memory of this process;
// 2. dispatch with the rate limits off, beside a raw BullMQ no-op worker draining as many jobs;
// 3. dispatch with a limit of N/s per account: achieved rate and the busiest second;
// 4. p95 latency of citizens' replies while a 10,000-recipient broadcast runs, against idle.
// Settings: BENCH_RECIPIENTS (100000), BENCH_CONCURRENCY (64, dispatch), BENCH_RATE_FB (200),
// BENCH_RATE_ZALO (50), BENCH_RATE_BURST (N/10), BENCH_ONLY (a comma list of
// fanout,dispatch,rate,replies; default all), BENCH_CHAT_AFTER_FANOUT (measure the replies after
// the broadcast's fan-out rather than from its first sends).
// Prints a table; asserts nothing.
import { fork, type ChildProcess } from 'node:child_process';
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
import type { RateSpec } from '../src/store/token-bucket.js';
import { freshDatabase } from '../tests/broadcast/harness.js';

const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 100_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const RATE_FB = Number(process.env.BENCH_RATE_FB ?? 200);
const RATE_ZALO = Number(process.env.BENCH_RATE_ZALO ?? 50);
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const HOUR = 3_600_000;
const PAGE_ID = '106000000000888';
const PAGE_TOKEN = 'EAAG-bench-broadcast-token';
const APP_ID = '360846524940900088';
const APP_SECRET = 'zalo-app-secret-bench';
const OA_ID = '388613280900000088';
const ONLY = new Set((process.env.BENCH_ONLY ?? 'fanout,dispatch,rate,replies').split(','));
const OFF: Record<'messenger' | 'zalo', RateSpec> = { messenger: { perSecond: 1e6, burst: 1e6 }, zalo: { perSecond: 1e6, burst: 1e6 } };

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

  let running: { workers: BroadcastWorkers; worker: Worker } | undefined;
  const startWorkers = async (rates: Record<'messenger' | 'zalo', RateSpec>, concurrency: number): Promise<void> => {
    const workers = await startBroadcastWorkers({
      redis,
      prefix: bull,
      outbound,
      store: services.broadcasts,
      audiencePage: (q) => subscriptions.audiencePage(q),
      platform: platforms.broadcast,
      rates,
      settings: { leaseMs: 60_000, tickMs: 5_000, lockDurationMs: 30_000, throttleBaseMs: 2000, zaloMonthlyCap: 4 },
      now,
      log: () => undefined,
    });
    const worker = createOutboundWorker({ redis, prefix: bull, handlers: { ...platforms.outboundHandlers, broadcast: workers.step }, concurrency, rates });
    running = { workers, worker };
  };
  const stopWorkers = async (): Promise<void> => {
    if (!running) return;
    await running.worker.close();
    await running.workers.close();
    running = undefined;
  };

  const rows: string[][] = [];
  const note = (...r: string[]): void => {
    rows.push(r);
    process.stdout.write(`  ${r.join(' | ')}\n`);
  };

  const broadcastQueue = new BroadcastQueue(redis, bull);
  let busy: number[] = [];
  let idle: number[] = [];
  let busyOff: number[] = [];
  let idleOff: number[] = [];
  if (ONLY.has('fanout') || ONLY.has('dispatch')) {
    // --- 1. fan-out -------------------------------------------------------------------------------
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

    // --- 2. dispatch, limits off ----------------------------------------------------------------------
    mem = sampler();
    t0 = performance.now();
    await startWorkers(OFF, CONCURRENCY);
    await waitDone(big);
    const dispatchMs = performance.now() - t0;
    const dispatchMem = mem.stop();
    await stopWorkers();
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

  // --- 3. limit N/s ---------------------------------------------------------------------------------
  if (ONLY.has('rate')) {
    const gRate = await group('Đo tốc độ');
    await subscribers(gRate, 'messenger', '72', RATE_FB * 12);
    await subscribers(gRate, 'zalo', '82', RATE_ZALO * 12);
    // The account's schedule paces broadcasts at N/s; the shared bucket's burst (a tenth of a
    // second by default, BENCH_RATE_BURST to change) lets a send that came back a little late catch
    // up; with a burst of 1 no second exceeds N but late sends lose their turn.
    const burstOf = (n: number): number => Number(process.env.BENCH_RATE_BURST ?? Math.max(1, Math.round(n / 10)));
    const limited = { messenger: { perSecond: RATE_FB, burst: burstOf(RATE_FB) }, zalo: { perSecond: RATE_ZALO, burst: burstOf(RATE_ZALO) } };
    const rateAnn = await announce(gRate, ['messenger', 'zalo']);
    await startWorkers(limited, 16);
    await broadcastQueue.scheduleFanout(rateAnn);
    await waitDone(rateAnn);
    await stopWorkers();
    for (const [platform, pfx, n] of [['messenger', '72', RATE_FB], ['zalo', '82', RATE_ZALO]] as const) {
      const r = rateOf((await ask<{ times: number[] }>({ cmd: 'times', platform, prefix: pfx })).times);
      note(`dispatch, ${platform}, limit ${n}/s (bucket burst ${burstOf(n)})`, `${fmt(r.n)} sent`, `${fmt(r.rate, 1)} /s achieved (${fmt(((r.rate - n) / n) * 100, 1)}%)`, `busiest second: ${r.busiest}`, '');
    }
  }

  // --- 4. replies during a broadcast ----------------------------------------------------------------
  if (ONLY.has('replies')) {
    const gChat = await group('Đo độ trễ');
    await subscribers(gChat, 'messenger', '73', 10_000);
    await ask({ cmd: 'users', platform: 'messenger', prefix: '79', count: 1000, at: Date.now() });
    let replySeq = 0;
    const chat = async (label: string, seconds: number, perSecond: number): Promise<number[]> => {
      const marker = `R${label}`;
      const sent: Array<Promise<void>> = [];
      for (let i = 0; i < seconds * perSecond; i++) {
        const n = replySeq++;
        const psid = `79${String((n % 1000) + 1).padStart(7, '0')}`;
        sent.push(platforms.queueReplies(outbound, { platform: 'messenger', accountId: fbAccount.id, userId: psid, replies: [{ text: `${marker} ${n} ${Date.now()}`, buttons: [], quickReplies: [], links: [] }], turnId: `${marker}-${n}` }));
        await sleep(1000 / perSecond);
      }
      await Promise.all(sent);
      await sleep(2000);
      const got = (await ask<{ replies: Array<{ text: string; at: number }> }>({ cmd: 'replies', marker })).replies;
      return got.flatMap((r) => {
        const m = new RegExp(`${marker} (\\d+) (\\d+)`).exec(r.text);
        return m ? [r.at - Number(m[2])] : [];
      });
    };
    const latencyRow = (name: string, l: number[]): void => note(name, `${l.length} replies`, `p50 ${fmt(pct(l, 50), 1)} ms`, `p95 ${fmt(pct(l, 95), 1)} ms`, `max ${fmt(Math.max(...l), 1)} ms`);

    const defaults = sendRates(loadConfig({}));
    await startWorkers(defaults, 16);
    idle = await chat('idle', 10, 20);
    latencyRow('replies, idle (default limits, concurrency 16)', idle);
    const chatAnn = await announce(gChat, ['messenger']);
    const start1 = (await ask<{ messenger: number }>({ cmd: 'count' })).messenger;
    await broadcastQueue.scheduleFanout(chatAnn);
    while ((await ask<{ messenger: number }>({ cmd: 'count' })).messenger < start1 + 50) await sleep(50);
    if (process.env.BENCH_CHAT_AFTER_FANOUT) await sleep(3000);
    busy = await chat('busy', 10, 20);
    latencyRow('replies during a 10,000 broadcast (default limits)', busy);
    await services.broadcasts.cancel(chatAnn, unitId, now());
    await stopWorkers();
    await outbound.queue.drain(true);

    await startWorkers(OFF, 16);
    idleOff = await chat('idleoff', 10, 20);
    latencyRow('replies, idle (limits off, concurrency 16)', idleOff);
    const chatAnn2 = await announce(gChat, ['messenger']);
    const before = (await ask<{ messenger: number }>({ cmd: 'count' })).messenger;
    await broadcastQueue.scheduleFanout(chatAnn2);
    while ((await ask<{ messenger: number }>({ cmd: 'count' })).messenger < before + 200) await sleep(20);
    busyOff = await chat('busyoff', 5, 20);
    latencyRow('replies during a 10,000 broadcast (limits off)', busyOff);
    await stopWorkers();
  }

  process.stdout.write(`\n| measure | volume | time / rate | rate / latency | memory / notes |\n|---|---|---|---|---|\n`);
  for (const r of rows) process.stdout.write(`| ${r.join(' | ')} |\n`);
  if (idle.length) {
    process.stdout.write(`\nreply p95 during/idle: default limits ${fmt(pct(busy, 95) / pct(idle, 95), 2)}×, limits off ${fmt(pct(busyOff, 95) / pct(idleOff, 95), 2)}×\n`);
  }

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
