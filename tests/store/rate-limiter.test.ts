// The per-account sliding-window limiter, on the real Redis with a moved clock: no window of
// a second (at any offset) above the rate, the long-run rate within 5 % of it, replies' share
// ahead of bulk sends, atomic under concurrent callers.
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { acquireSend, limiterShape, type RateSpec, type SendKind } from '../../src/store/rate-limiter.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const redis = new Redis(TEST_REDIS_URL);
const prefix = isolatedName('limiter');
let n = 0;
const base = (): string => `${prefix}:acct${++n}`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

/** The most admissions in any half-open window [t, t + ms) (the maximum is at a window starting at an admission). */
function busiest(times: number[], ms: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  let j = 0;
  for (let i = 0; i < t.length; i++) {
    while ((t[i] ?? 0) - (t[j] ?? 0) >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/**
 * Sends on a simulated clock as the broadcast sender makes them: bulk send i is due at
 * t0 + i × interval and asks late by 0–`lateMs` ms (the queue, the database, the event loop);
 * when refused it asks again when told, 0–2 ms late (a timer). Replies ask at the given times.
 * Returns the admission times.
 */
async function simulate(key: string, spec: RateSpec, count: number, t0: number, lateMs: number, replies: number[] = [], intervalMs = limiterShape(spec).intervalMs): Promise<Array<{ at: number; kind: SendKind }>> {
  let seed = 7;
  const random = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const pending: Array<{ at: number; kind: SendKind }> = [
    ...Array.from({ length: count }, (_, i) => ({ at: Math.floor(t0 + i * intervalMs + random() * lateMs), kind: 'bulk' as const })),
    ...replies.map((at) => ({ at, kind: 'reply' as const })),
  ];
  const admitted: Array<{ at: number; kind: SendKind }> = [];
  while (pending.length > 0) {
    pending.sort((a, b) => a.at - b.at);
    const next = pending.shift();
    if (!next) break;
    const wait = await acquireSend(redis, key, spec, next.kind, next.at);
    if (wait === 0) admitted.push(next);
    else pending.push({ at: next.at + wait + Math.floor(random() * 3), kind: next.kind });
  }
  return admitted;
}

describe('limiterShape', () => {
  it('counts a send for a second plus the guard, spaces sends evenly and keeps a fifth for replies', () => {
    expect(limiterShape({ perSecond: 200 })).toEqual({ limit: 200, windowMs: 1025, intervalMs: 1025 / 200, replyShare: 40 });
    expect(limiterShape({ perSecond: 10, guardMs: 0 })).toEqual({ limit: 10, windowMs: 1000, intervalMs: 100, replyShare: 2 });
    // Under one a second: one send per 1/rate seconds.
    expect(limiterShape({ perSecond: 0.5, guardMs: 0 })).toMatchObject({ limit: 1, windowMs: 2000, replyShare: 0 });
    // A fraction above one is never exceeded: 2.5/s admits 2 in a second.
    expect(limiterShape({ perSecond: 2.5, guardMs: 0 })).toMatchObject({ limit: 2, windowMs: 1000 });
    expect(() => limiterShape({ perSecond: 0 })).toThrow();
  });
});

describe('acquireSend', () => {
  it('never admits more than N in any second, at any offset, and holds the long-run rate within 5 % of N', async () => {
    const spec = { perSecond: 50 };
    const t0 = 1_700_000_000_000;
    // 300 bulk sends up to 100 ms late, and a few replies among them.
    const admitted = await simulate(base(), spec, 300, t0, 100, [t0 + 500, t0 + 501, t0 + 2200, t0 + 4100]);
    expect(admitted).toHaveLength(304);
    const times = admitted.map((a) => a.at).sort((a, b) => a - b);
    expect(busiest(times, 1000)).toBeLessThanOrEqual(50);
    // Even counted over the guard's longer window.
    expect(busiest(times, limiterShape(spec).windowMs)).toBeLessThanOrEqual(50);
    const rate = ((times.length - 1) * 1000) / ((times.at(-1) ?? 0) - (times[0] ?? 0));
    expect(rate).toBeLessThanOrEqual(50);
    expect(rate).toBeGreaterThanOrEqual(50 * 0.95);
    expect(busiest(times, 1000)).toBeGreaterThanOrEqual(45);
    // The same sends unlimited: lateness bunches them above N in some second.
    const unlimited = await simulate(base(), { perSecond: 1e6 }, 300, t0, 100, [], limiterShape(spec).intervalMs);
    expect(busiest(unlimited.map((a) => a.at), 1000)).toBeGreaterThan(50);
  });

  it('answers with the wait until the oldest send leaves the window', async () => {
    const key = base();
    const spec = { perSecond: 4, guardMs: 0 };
    const t0 = 1_700_000_100_000;
    for (const dt of [0, 100, 200, 300]) expect(await acquireSend(redis, key, spec, 'bulk', t0 + dt)).toBe(0);
    expect(await acquireSend(redis, key, spec, 'bulk', t0 + 400)).toBe(600);
    expect(await acquireSend(redis, key, spec, 'bulk', t0 + 999)).toBe(1);
    expect(await acquireSend(redis, key, spec, 'bulk', t0 + 1000)).toBe(0);
    // The next place is the one of t0 + 100.
    expect(await acquireSend(redis, key, spec, 'bulk', t0 + 1000)).toBe(100);
  });

  it('counts a caller whose clock is behind at the newest time: a late clock frees nothing', async () => {
    const key = base();
    const spec = { perSecond: 2, guardMs: 0 };
    const t0 = 1_700_000_200_000;
    expect(await acquireSend(redis, key, spec, 'bulk', t0 + 5000)).toBe(0);
    expect(await acquireSend(redis, key, spec, 'bulk', t0 + 5000)).toBe(0);
    // Another worker's clock, 5 s behind: still the same window.
    expect(await acquireSend(redis, key, spec, 'bulk', t0)).toBe(1000);
  });

  it('admits exactly N of many concurrent callers (one atomic call each)', async () => {
    const key = base();
    const t0 = 1_700_000_300_000;
    const waits = await Promise.all(Array.from({ length: 60 }, (_, i) => acquireSend(redis, key, { perSecond: 20 }, i % 3 === 0 ? 'reply' : 'bulk', t0)));
    expect(waits.filter((w) => w === 0)).toHaveLength(20);
    expect(Math.min(...waits.filter((w) => w > 0))).toBeGreaterThan(0);
  });

  it('leaves room to replies as many as were sent in the last window, up to a fifth of N, at no cost while nobody chats', async () => {
    const spec = { perSecond: 10, guardMs: 0 };
    const t0 = 1_700_000_400_000;
    // Nobody chats: bulk sends may fill the whole window.
    const quiet = base();
    let taken = 0;
    while ((await acquireSend(redis, quiet, spec, 'bulk', t0)) === 0) taken++;
    expect(taken).toBe(10);

    // A reply was sent: bulk sends stop one short, and the next reply goes at once.
    const chatting = base();
    expect(await acquireSend(redis, chatting, spec, 'reply', t0)).toBe(0);
    taken = 0;
    while ((await acquireSend(redis, chatting, spec, 'bulk', t0 + 1)) === 0) taken++;
    expect(taken).toBe(8);
    expect(await acquireSend(redis, chatting, spec, 'reply', t0 + 2)).toBe(0);
    // Two replies in the window: two places kept, and never more than a fifth of N.
    expect(await acquireSend(redis, chatting, spec, 'bulk', t0 + 3)).toBeGreaterThan(0);
    const many = base();
    for (let i = 0; i < 5; i++) expect(await acquireSend(redis, many, spec, 'reply', t0)).toBe(0);
    taken = 0;
    while ((await acquireSend(redis, many, spec, 'bulk', t0 + 1)) === 0) taken++;
    expect(taken).toBe(3); // 10 − 5 replies − a share of 2
  });

  it('gives the next free place to a reply that found the window full, ahead of bulk sends', async () => {
    const key = base();
    const spec = { perSecond: 10, guardMs: 0 };
    const t0 = 1_700_000_500_000;
    for (let i = 0; i < 10; i++) expect(await acquireSend(redis, key, spec, 'bulk', t0 + i * 100)).toBe(0);
    // The reply waits for the place of t0 (one interval at most).
    const wait = await acquireSend(redis, key, spec, 'reply', t0 + 950);
    expect(wait).toBe(50);
    // When it frees, a bulk send asking first does not get it …
    expect(await acquireSend(redis, key, spec, 'bulk', t0 + 1000)).toBeGreaterThan(0);
    // … the reply does.
    expect(await acquireSend(redis, key, spec, 'reply', t0 + 1000)).toBe(0);
  });
});
