// Where the integration tests find the real services (CI starts them; see .ci/run).
import { randomBytes } from 'node:crypto';
import type { InboundJob } from '../../src/jobs/inbound-queue.js';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A schema or key-prefix name of its own for each test file, so files never share state. */
export function isolatedName(label: string): string {
  return `t_${label}_${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under each prefix (`<prefix>:*`): a test file's clean-up of its Redis state. */
export async function dropRedisPrefixes(redis: { keys(pattern: string): Promise<string[]>; del(...keys: string[]): Promise<number> }, prefixes: readonly string[]): Promise<void> {
  for (const p of prefixes) {
    const keys = await redis.keys(`${p}:*`);
    if (keys.length) await redis.del(...keys);
  }
}

/** The n-th Zalo text of a citizen (the text is n), as the webhook intake queues it for unit xa-a. */
export function zaloTextJob(user: string, n: number): InboundJob {
  return {
    accountId: 1,
    unitId: 'xa-a',
    receivedAt: Date.now(),
    event: { type: 'inbound', platform: 'zalo', kind: 'text', accountId: '579745863508352884', userId: user, dedupeKey: `zl:${user}:${n}`, messageId: `${user}-${n}`, text: String(n), timestamp: Date.now() },
  };
}
