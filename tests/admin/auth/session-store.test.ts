import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { SessionStore } from '../../../src/admin/auth/session-store.js';
import { LoginLimiter } from '../../../src/admin/auth/login-limiter.js';
import { TEST_REDIS_URL, isolatedName } from '../../helpers/services.js';

const prefix = isolatedName('sess') + ':';
let redis: Redis;
beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  const keys = await redis.keys(prefix + '*');
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('SessionStore', () => {
  it('creates, reads, renews and destroys sessions with an idle TTL', async () => {
    const store = new SessionStore(redis, { prefix: prefix + 's:', idleSeconds: 600 });
    const { id, data } = await store.create(7);
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await store.get(id)).toEqual(data);
    expect(data.csrfToken).not.toBe(id);
    await redis.expire(prefix + 's:' + id, 5);
    await store.touch(id);
    expect(await redis.ttl(prefix + 's:' + id)).toBeGreaterThan(500);
    await store.destroy(id);
    expect(await store.get(id)).toBeUndefined();
  });

  it('refuses malformed ids, corrupt data and sessions past their maximum age', async () => {
    const store = new SessionStore(redis, { prefix: prefix + 's:', maxAgeSeconds: 3600 });
    expect(await store.get('../../etc')).toBeUndefined();
    const fake = 'A'.repeat(43);
    await redis.set(prefix + 's:' + fake, '{"userId":"1"}');
    expect(await store.get(fake)).toBeUndefined();
    const t0 = Date.parse('2026-11-22T00:00:00Z');
    const { id } = await store.create(3, t0);
    expect(await store.get(id, t0 + 3599_000)).toBeDefined();
    expect(await store.get(id, t0 + 3601_000)).toBeUndefined();
    expect(await redis.exists(prefix + 's:' + id)).toBe(0);
  });
});

describe('LoginLimiter', () => {
  it('blocks an account after its failures and clears it on success; counts per address too', async () => {
    const limiter = new LoginLimiter(redis, { prefix: prefix + 'l:', maxPerAccount: 3, maxPerIp: 5 });
    for (let i = 0; i < 3; i++) await limiter.recordFailure('a', '10.0.0.1');
    const blocked = await limiter.check('a', '10.0.0.2');
    expect(blocked.allowed).toBe(false);
    expect(blocked.retryAfterSeconds).toBeGreaterThan(800);
    expect((await limiter.check('b', '10.0.0.1')).allowed).toBe(true);
    await limiter.reset('a');
    expect((await limiter.check('a', '10.0.0.2')).allowed).toBe(true);
    // Spraying many accounts from one address trips the address limit.
    await limiter.recordFailure('c', '10.0.0.1');
    await limiter.recordFailure('d', '10.0.0.1');
    expect((await limiter.check('e', '10.0.0.1')).allowed).toBe(false);
    expect((await limiter.check('e', '10.0.0.9')).allowed).toBe(true);
  });
});
