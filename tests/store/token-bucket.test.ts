import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { takeToken } from '../../src/store/token-bucket.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const redis = new Redis(TEST_REDIS_URL);
const key = `${isolatedName('bucket')}:acct`;
afterAll(async () => {
  await redis.del(key);
  redis.disconnect();
});

describe('takeToken', () => {
  it('allows a burst, then spaces calls at the rate, across concurrent callers', async () => {
    const t0 = 1_000_000;
    const waits = await Promise.all(Array.from({ length: 8 }, () => takeToken(redis, key, { perSecond: 10, burst: 5 }, t0)));
    expect(waits.filter((w) => w === 0)).toHaveLength(5);
    expect(Math.min(...waits.filter((w) => w > 0))).toBeGreaterThan(0);
    // 300 ms later three tokens have come back.
    const later = await Promise.all(Array.from({ length: 4 }, () => takeToken(redis, key, { perSecond: 10, burst: 5 }, t0 + 300)));
    expect(later.filter((w) => w === 0)).toHaveLength(3);
  });
});
