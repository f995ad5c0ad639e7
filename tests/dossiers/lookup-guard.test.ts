// The look-up guard, in memory and in the real Redis alike: 5 failures per citizen (whatever the
// codes) or per code (whoever tries) within an hour start a cool-down that lifts as the window
// slides; a success gives its place back; concurrent checks never pass the limit; key names
// carry no user id and no code.
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { MemoryLookupGuard, type LookupGuard, type LookupSubject } from '../../src/dossiers/lookup-guard.js';
import { RedisLookupGuard } from '../../src/store/redis-lookup-guard.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const prefix = isolatedName('hsguard');
const redis = new Redis(TEST_REDIS_URL);

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const T0 = Date.UTC(2024, 0, 3, 3);
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const HOUR = 60;

describe.each([
  ['memory', () => new MemoryLookupGuard()],
  ['redis', () => new RedisLookupGuard(redis, `${prefix}:${Math.random().toString(36).slice(2)}`, 's'.repeat(32))],
] as const)('lookup guard (%s)', (_name, make: () => LookupGuard) => {
  const who = (userId: string, unitId = 'xa-a'): LookupSubject => ({ unitId, channel: 'zalo', userId });

  it('cools a citizen down after 5 failures across different codes, until the oldest leaves the hour', async () => {
    const guard = make();
    for (let i = 0; i < 5; i++) {
      const a = await guard.attempt(who('u1'), `CODE-${i}`, at(i));
      expect(a).toMatchObject({ allowed: true, remaining: 4 - i });
    }
    const refused = await guard.attempt(who('u1'), 'CODE-NEW', at(10));
    expect(refused).toEqual({ allowed: false, retryAt: at(HOUR) });
    expect(await guard.blockedUntil(who('u1'), 'CODE-NEW', at(59))).toEqual(at(HOUR));
    // Another citizen, and the same citizen in another unit, are not affected.
    expect(await guard.blockedUntil(who('u2'), 'CODE-NEW', at(10))).toBeNull();
    expect(await guard.blockedUntil(who('u1', 'xa-b'), 'CODE-NEW', at(10))).toBeNull();
    // The window slides: one failure has left it at 60 minutes, so one more check is allowed.
    expect(await guard.blockedUntil(who('u1'), 'CODE-NEW', at(HOUR))).toBeNull();
    expect(await guard.attempt(who('u1'), 'CODE-NEW', at(HOUR))).toMatchObject({ allowed: true, remaining: 0 });
    expect(await guard.blockedUntil(who('u1'), 'CODE-NEW', at(HOUR))).toEqual(at(HOUR + 1));
  });

  it('cools a code down after 5 failures by different citizens', async () => {
    const guard = make();
    for (let i = 0; i < 5; i++) expect((await guard.attempt(who(`c${i}`), 'H56.22-240101-0001', at(i))).allowed).toBe(true);
    expect(await guard.attempt(who('owner'), 'H56.22-240101-0001', at(30))).toEqual({ allowed: false, retryAt: at(HOUR) });
    expect(await guard.blockedUntil(who('owner'), 'H56.22-240101-0002', at(30))).toBeNull();
    expect(await guard.blockedUntil(who('owner'), 'H56.22-240101-0001', at(HOUR + 5))).toBeNull();
  });

  it('does not count checks that succeeded', async () => {
    const guard = make();
    for (let i = 0; i < 12; i++) {
      const a = await guard.attempt(who('ok'), 'CODE', at(i));
      if (!a.allowed) throw new Error('refused a citizen whose checks all succeeded');
      await guard.succeeded(who('ok'), 'CODE', a.id);
    }
    expect(await guard.blockedUntil(who('ok'), 'CODE', at(12))).toBeNull();
  });

  it('lets at most 5 of many concurrent checks through', async () => {
    const guard = make();
    const results = await Promise.all(Array.from({ length: 12 }, () => guard.attempt(who('rush'), 'CODE', at(0))));
    expect(results.filter((r) => r.allowed)).toHaveLength(5);
  });
});

describe('lookup guard keys in Redis', () => {
  it('hold neither the platform user id nor the code', async () => {
    const p = `${prefix}:names`;
    const guard = new RedisLookupGuard(redis, p, 's'.repeat(32));
    await guard.attempt({ unitId: 'xa-a', channel: 'messenger', userId: '7311122233344455' }, '000.00.01.H56-240101-0001', at(0));
    const keys = await redis.keys(`${p}:*`);
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      expect(key).not.toContain('7311122233344455');
      expect(key).not.toContain('H56');
      expect(await redis.pttl(key)).toBeGreaterThan(59 * 60_000);
    }
  });
});
