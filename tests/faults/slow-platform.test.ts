// Fault: one platform is slow (5 s per call) or failing (HTTP 5xx, then rate-limit errors) for a
// while, and the accounts on the other platform must not notice: their replies keep their normal
// latency (webhook acknowledged → message accepted by the platform), while the troubled
// platform's replies arrive once each when it recovers. "A minute" is compressed to a few
// seconds: the slow and failing periods here last 4 s; a rate-limited reply waits for the time
// the platform asks (60 s for Graph's 613 and Zalo's -32), which the test stands in for by
// promoting the waiting jobs once the limit is lifted. The service runs in-process with its
// workers (OUTBOUND_CONCURRENCY 16) and reaches the Graph fake through a delaying proxy.
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../helpers/services.js';
import { createDatabase, SECRETS, startFaultService, type FaultService } from './service.js';
import { deliver, newDeliveryLog, paced, percentile, repliesByRecipient, waitUntil, type CitizenEvent } from './traffic.js';
import { replyTitles, TOPICS } from './replies.js';
import { REPLY_QUEUE } from '../../src/jobs/outbound-queue.js';

let db: { url: string; drop(): Promise<void> };
let svc: FaultService;
let n = 0;

beforeAll(async () => {
  db = await createDatabase(TEST_DATABASE_URL, 'fault_slow');
  svc = await startFaultService({ databaseUrl: db.url, redisUrl: TEST_REDIS_URL, runWorkers: true, graphProxy: true, env: { OUTBOUND_CONCURRENCY: '16' } });
}, 60_000);

afterAll(async () => {
  await svc?.stop();
  await db?.drop();
}, 30_000);

/** `count` citizens of a platform, one question each. */
function citizens(platform: 'messenger' | 'zalo', count: number): CitizenEvent[] {
  return Array.from({ length: count }, () => {
    const i = n++;
    const user = platform === 'messenger' ? `7700000000${String(i).padStart(6, '0')}` : `2468458835293${String(i).padStart(5, '0')}`;
    const topic = TOPICS[i % TOPICS.length];
    if (!topic) throw new Error('no topic');
    return svc.citizen(platform, user, `slow-${i}`, topic.question);
  });
}

/** Posts the events over `spreadMs` and resolves with each one's acknowledgement time. */
async function send(events: readonly CitizenEvent[], spreadMs: number): Promise<Map<string, number>> {
  const log = newDeliveryLog();
  await paced(events, spreadMs, 16, async (e) => {
    await deliver(svc.url, SECRETS, e, log);
  });
  return new Map([...log.acknowledged.values()].map((a) => [a.event.userId, a.at]));
}

/** When the platform accepted the reply to each citizen's question (first copy). */
function replyTimes(): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of svc.graph.sent()) if (!out.has(s.recipientId)) out.set(s.recipientId, s.at);
  for (const s of svc.zalo.sent) if (!out.has(s.userId)) out.set(s.userId, s.at);
  return out;
}

async function answered(events: readonly CitizenEvent[], ms: number): Promise<void> {
  await waitUntil(() => events.every((e) => replyTimes().has(e.userId)), ms, `${events.length} replies`);
}

/** Latencies (ms) from acknowledgement to the platform accepting the reply. */
function latencies(acks: Map<string, number>): number[] {
  const replies = replyTimes();
  return [...acks].map(([user, at]) => (replies.get(user) ?? Infinity) - at);
}

/** Each citizen got exactly one reply, the one to their question. */
function exactlyOnce(events: readonly CitizenEvent[]): { lost: number; doubled: number } {
  const by = repliesByRecipient(svc.graph, svc.zalo);
  let lost = 0;
  let doubled = 0;
  for (const e of events) {
    const topic = TOPICS.find((t) => t.question === e.text);
    const titles = replyTitles(by.get(e.userId) ?? []);
    if (!titles.some((t) => topic?.title.test(t))) lost++;
    doubled += Math.max(0, titles.length - 1);
  }
  return { lost, doubled };
}

/** Replies waiting for a rate limit's end are started now (standing in for the 60 s wait). */
async function promoteWaitingReplies(): Promise<number> {
  const queue = new Queue(REPLY_QUEUE, { connection: svc.web.services.redis.client, prefix: `${svc.prefix}:bull` });
  const delayed = await queue.getDelayed();
  for (const j of delayed) await j.promote();
  await queue.close();
  return delayed.length;
}

const summary = (o: object): void => void process.stdout.write(`slow platform fault test: ${JSON.stringify(o)}\n`);
const p95 = (xs: number[]): number => Math.round(percentile(xs, 95));

describe('a platform slow or failing for a while', () => {
  let baseline = 0;

  it('measures the normal reply latency of both platforms', async () => {
    // Warm-up first (connections, the first searches), then the measure.
    const warm = [...citizens('zalo', 10), ...citizens('messenger', 10)];
    await send(warm, 500);
    await answered(warm, 15_000);
    // The same mix and pace as the phases below.
    const zalo = citizens('zalo', 30);
    const fb = citizens('messenger', 30);
    const [za, fa] = await Promise.all([send(zalo, 3000), send(fb, 3000)]);
    await answered([...zalo, ...fb], 15_000);
    const l = [...latencies(za), ...latencies(fa)];
    baseline = p95(l);
    summary({ phase: 'baseline', p50: Math.round(percentile(l, 50)), p95: baseline, max: Math.max(...l) });
    expect(exactlyOnce([...zalo, ...fb])).toEqual({ lost: 0, doubled: 0 });
  }, 30_000);

  it('keeps Zalo replies at their normal latency while every Graph call takes 5 s', async () => {
    const proxy = svc.graphProxy;
    if (!proxy) throw new Error('no proxy');
    proxy.setDelay(5000, (req) => req.method === 'POST');
    const t0 = Date.now();
    // More Messenger replies in flight than the worker has reply slots (16), and Zalo beside.
    const fb = citizens('messenger', 40);
    const zalo = citizens('zalo', 30);
    const [, za] = await Promise.all([send(fb, 1500), (async () => {
      await new Promise((r) => setTimeout(r, 500));
      return send(zalo, 3000);
    })()]);
    await answered(zalo, 15_000).catch(() => undefined);
    const l = latencies(za);
    // The slow period ends (4 s compressed from a minute); Messenger's backlog drains.
    await new Promise((r) => setTimeout(r, Math.max(0, 4000 - (Date.now() - t0))));
    proxy.setDelay(0);
    await answered(fb, 30_000);
    const fbDelay = latencies(new Map(fb.map((e) => [e.userId, t0])));
    summary({ phase: 'graph slow 5 s', zaloP50: Math.round(percentile(l, 50)), zaloP95: p95(l), zaloMax: Math.max(...l), baselineP95: baseline, messengerMaxMs: Math.max(...fbDelay), heldCalls: proxy.counts.delayed });
    expect(p95(l)).toBeLessThanOrEqual(Math.max(1500, 2 * baseline));
    expect(exactlyOnce([...fb, ...zalo])).toEqual({ lost: 0, doubled: 0 });
  }, 60_000);

  it('keeps Zalo replies at their normal latency while Graph answers 5xx then rate-limit errors; Messenger replies arrive once after', async () => {
    const t0 = Date.now();
    svc.graph.failUntil({ kind: 'server_error', status: 503 }, t0 + 2000);
    const toRateLimit = setTimeout(() => svc.graph.failUntil({ kind: 'rate_limit', code: 613 }, t0 + 4000), 2000);
    const fb = citizens('messenger', 30);
    const zalo = citizens('zalo', 30);
    const [, za] = await Promise.all([send(fb, 3500), send(zalo, 3500)]);
    await answered(zalo, 15_000).catch(() => undefined);
    const l = latencies(za);
    await new Promise((r) => setTimeout(r, Math.max(0, 4200 - (Date.now() - t0))));
    clearTimeout(toRateLimit);
    const promoted = await promoteWaitingReplies();
    await answered(fb, 30_000);
    summary({ phase: 'graph 5xx then 613', zaloP95: p95(l), zaloMax: Math.max(...l), baselineP95: baseline, promotedAfterRateLimit: promoted });
    expect(p95(l)).toBeLessThanOrEqual(Math.max(1500, 2 * baseline));
    expect(exactlyOnce([...fb, ...zalo])).toEqual({ lost: 0, doubled: 0 });
  }, 60_000);

  it('keeps Messenger replies at their normal latency while Zalo answers its rate-limit error; Zalo replies arrive once after', async () => {
    const t0 = Date.now();
    svc.zalo.failUntil('cs', -32, svc.zalo.now() + 3000);
    const fb = citizens('messenger', 30);
    const zalo = citizens('zalo', 30);
    const [fa] = await Promise.all([send(fb, 2500), send(zalo, 2500)]);
    await answered(fb, 15_000).catch(() => undefined);
    const l = latencies(fa);
    await new Promise((r) => setTimeout(r, Math.max(0, 3200 - (Date.now() - t0))));
    const promoted = await promoteWaitingReplies();
    await answered(zalo, 30_000);
    summary({ phase: 'zalo -32', messengerP95: p95(l), messengerMax: Math.max(...l), baselineP95: baseline, promotedAfterRateLimit: promoted });
    expect(p95(l)).toBeLessThanOrEqual(Math.max(1500, 2 * baseline));
    expect(promoted).toBeGreaterThan(0);
    expect(exactlyOnce([...fb, ...zalo])).toEqual({ lost: 0, doubled: 0 });
  }, 60_000);
});
