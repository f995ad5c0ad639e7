// Two workers (two token managers, as in two processes) sharing the stored tokens and the
// Redis lock race to refresh an expiring Zalo token: exactly one refresh reaches Zalo.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createMemoryZaloTokenStore, createZaloTokenManager } from '../../src/channels/zalo/index.js';
import { withLock } from '../../src/store/redis-primitives.js';
import { startZaloFake, type ZaloFake } from '../fakes/zalo-server.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const APP_ID = '360846524940903967';
const APP_SECRET = 'zalo-app-secret-race';
const OA = '388613280900000002';
let fake: ZaloFake;
const redis = new Redis(TEST_REDIS_URL);
const prefix = isolatedName('zlock');

beforeAll(async () => {
  fake = await startZaloFake({ appId: APP_ID, appSecret: APP_SECRET });
});
afterAll(async () => {
  await fake.close();
  redis.disconnect();
});

describe('Zalo token refresh across workers', () => {
  it('refreshes exactly once when several workers find the token expiring', async () => {
    const grant = fake.grant(OA, { accessExpiresAt: fake.now() + 60_000 });
    const store = createMemoryZaloTokenStore({ [OA]: grant });
    fake.setTokenDelay(150); // make the refreshes overlap
    const worker = () =>
      createZaloTokenManager({
        oauthUrl: fake.url,
        appId: APP_ID,
        appSecret: APP_SECRET,
        store,
        lock: { withLock: (oaId, fn) => withLock(redis, `${prefix}:lock:${oaId}`, fn, { ttlMs: 10_000, waitMs: 10_000 }) },
      });
    const workers = [worker(), worker(), worker()];
    const tokens = await Promise.all(workers.flatMap((w) => [w.getAccessToken(OA), w.getAccessToken(OA)]));
    expect(fake.refreshCount).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(grant.accessToken);
    expect(store.reconnectRequired.size).toBe(0);
  });
});
