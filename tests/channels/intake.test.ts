import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { intakeEvents, type IntakeDeps } from '../../src/channels/intake.js';
import type { ParsedEvent } from '../../src/channels/platform-event.js';
import { InboundQueue } from '../../src/jobs/inbound-queue.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
const prefix = isolatedName('intake');
const queue = new InboundQueue({ redis, prefix });
afterAll(async () => {
  await queue.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const event = (id: string, account = '106000000000001'): ParsedEvent => ({
  type: 'inbound',
  platform: 'messenger',
  kind: 'text',
  accountId: account,
  userId: `7000000000${id.length}`,
  dedupeKey: `fb:${id}`,
  messageId: id,
  text: 'xin chào',
  timestamp: 1_700_000_000_000,
});

const deps: IntakeDeps = {
  findAccount: async (_p, ext) => (ext === '106000000000001' ? { id: 1, unitId: 'xa-a' } : undefined),
  submit: (key, job) => queue.submit(`${prefix}:seen:${key}`, 3600, job),
};

const inboxLength = async (): Promise<number> => {
  const keys = (await redis.keys(`${prefix}:inbox:*`)).filter((k) => !k.includes(':processing') && !k.endsWith(':lock'));
  let n = 0;
  for (const k of keys) n += await redis.llen(k);
  return n;
};

describe('intakeEvents with the inbound queue', () => {
  it('takes exactly one of ten concurrent copies of an event', async () => {
    const reports = await Promise.all(Array.from({ length: 10 }, () => intakeEvents('messenger', [event('m_dup')], deps)));
    expect(reports.reduce((n, r) => n + r.enqueued, 0)).toBe(1);
    expect(reports.reduce((n, r) => n + r.duplicate, 0)).toBe(9);
    expect(await inboxLength()).toBe(1);
    expect(await queue.queue.count()).toBe(1);
  });

  it('drops events for unknown accounts and ignored events without enqueuing', async () => {
    const before = await inboxLength();
    const r = await intakeEvents('messenger', [event('m_x', '999'), { type: 'ignored', platform: 'messenger', reason: 'delivery' }], deps);
    expect(r).toEqual({ enqueued: 0, duplicate: 0, unknownAccount: 1, ignored: 1 });
    expect(await inboxLength()).toBe(before);
  });

  it('leaves nothing claimed or queued when enqueuing fails, so the platform retry gets through', async () => {
    const before = await inboxLength();
    const original = queue.queue.addBulk.bind(queue.queue);
    queue.queue.addBulk = async () => {
      throw new Error('redis down');
    };
    await expect(intakeEvents('messenger', [event('m_retry_once')], deps)).rejects.toThrow('redis down');
    expect(await inboxLength()).toBe(before);
    queue.queue.addBulk = original;
    const r = await intakeEvents('messenger', [event('m_retry_once')], deps);
    expect(r.enqueued).toBe(1);
  });
});
