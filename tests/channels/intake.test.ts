import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { intakeEvents, type IntakeDeps } from '../../src/channels/intake.js';
import type { ParsedEvent } from '../../src/channels/platform-event.js';
import { claimOnce } from '../../src/store/redis-primitives.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const redis = new Redis(TEST_REDIS_URL);
const prefix = isolatedName('intake');
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const event = (id: string, account = '106000000000001'): ParsedEvent => ({
  type: 'inbound',
  platform: 'messenger',
  kind: 'text',
  accountId: account,
  userId: '7000000000000001',
  dedupeKey: `fb:${id}`,
  messageId: id,
  text: 'xin chào',
  timestamp: 1_700_000_000_000,
});

function deps(enqueued: unknown[], failEnqueue = false): IntakeDeps {
  return {
    findAccount: async (_p, ext) => (ext === '106000000000001' ? { id: 1, unitId: 'xa-a' } : undefined),
    claim: (key) => claimOnce(redis, `${prefix}:dedupe:${key}`, 3600),
    unclaim: async (key) => void (await redis.del(`${prefix}:dedupe:${key}`)),
    enqueue: async (job) => {
      if (failEnqueue) throw new Error('redis down');
      enqueued.push(job);
    },
  };
}

describe('intakeEvents', () => {
  it('enqueues exactly one of ten concurrent copies of an event', async () => {
    const enqueued: unknown[] = [];
    const d = deps(enqueued);
    const reports = await Promise.all(Array.from({ length: 10 }, () => intakeEvents('messenger', [event('m_dup')], d)));
    expect(enqueued).toHaveLength(1);
    expect(reports.reduce((n, r) => n + r.duplicate, 0)).toBe(9);
  });

  it('drops events for unknown accounts and ignored events without enqueuing', async () => {
    const enqueued: unknown[] = [];
    const r = await intakeEvents('messenger', [event('m_x', '999'), { type: 'ignored', platform: 'messenger', reason: 'delivery' }], deps(enqueued));
    expect(r).toEqual({ enqueued: 0, duplicate: 0, unknownAccount: 1, ignored: 1 });
    expect(enqueued).toHaveLength(0);
  });

  it('releases the claim when the event cannot be enqueued, so the platform retry gets through', async () => {
    await expect(intakeEvents('messenger', [event('m_retry')], deps([], true))).rejects.toThrow('redis down');
    const enqueued: unknown[] = [];
    const r = await intakeEvents('messenger', [event('m_retry')], deps(enqueued));
    expect(r.enqueued).toBe(1);
  });
});
