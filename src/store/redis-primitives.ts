// Small Redis building blocks the intake and the workers share: an atomic once-only claim
// (webhook dedupe), a lock with an owner token (Zalo token refresh, per-citizen draining),
// and a per-citizen inbox list that keeps one citizen's messages in order.
import { randomBytes } from 'node:crypto';
import type { RedisClient } from './redis.js';

/** True exactly once per key within `ttlSeconds`, however many concurrent callers. */
export async function claimOnce(redis: RedisClient, key: string, ttlSeconds: number): Promise<boolean> {
  return (await redis.set(key, '1', 'EX', ttlSeconds, 'NX')) === 'OK';
}

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface Lock {
  release(): Promise<void>;
}

/** Tries once to take the lock; undefined when someone else holds it. */
export async function tryLock(redis: RedisClient, key: string, ttlMs: number): Promise<Lock | undefined> {
  const token = randomBytes(12).toString('hex');
  const ok = await redis.set(key, token, 'PX', ttlMs, 'NX');
  if (ok !== 'OK') return undefined;
  return {
    release: async () => {
      await redis.eval(RELEASE, 1, key, token);
    },
  };
}

/** Waits (polling) up to `waitMs` for the lock, runs fn, releases. Throws when it cannot get it. */
export async function withLock<T>(redis: RedisClient, key: string, fn: () => Promise<T>, options: { ttlMs?: number; waitMs?: number } = {}): Promise<T> {
  const ttl = options.ttlMs ?? 30_000;
  const deadline = Date.now() + (options.waitMs ?? 15_000);
  for (;;) {
    const lock = await tryLock(redis, key, ttl);
    if (lock) {
      try {
        return await fn();
      } finally {
        await lock.release();
      }
    }
    if (Date.now() > deadline) throw new Error(`lock busy: ${key}`);
    await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 50)));
  }
}
