import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { InboundQueue, createInboundWorker } from '../../src/jobs/inbound-queue.js';
import { TEST_REDIS_URL, isolatedName, dropRedisPrefixes, zaloTextJob } from '../helpers/services.js';

const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
const prefixes: string[] = [];
afterAll(async () => {
  await dropRedisPrefixes(redis, prefixes);
  redis.disconnect();
});

const job = zaloTextJob;

const waitFor = async (cond: () => boolean, ms = 15_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('inbound queue', () => {
  it('handles one citizen in order, one at a time, and different citizens in parallel', async () => {
    const prefix = isolatedName('inb');
    prefixes.push(prefix);
    const queue = new InboundQueue({ redis, prefix });
    const seen = new Map<string, number[]>();
    const active = new Map<string, number>();
    let maxSameUser = 0;
    let maxOverall = 0;
    let current = 0;
    const worker = createInboundWorker({
      redis,
      prefix,
      concurrency: 6,
      handle: async (j) => {
        if (j.event.type !== 'inbound') return;
        const u = j.event.userId;
        active.set(u, (active.get(u) ?? 0) + 1);
        current++;
        maxSameUser = Math.max(maxSameUser, active.get(u) ?? 0);
        maxOverall = Math.max(maxOverall, current);
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 10));
        seen.set(u, [...(seen.get(u) ?? []), Number(j.event.text)]);
        active.set(u, (active.get(u) ?? 1) - 1);
        current--;
      },
    });
    const users = ['u1', 'u2', 'u3'];
    const adds: Promise<void>[] = [];
    for (let n = 0; n < 15; n++) for (const u of users) adds.push(queue.enqueue(job(u, n)));
    await Promise.all(adds);
    await waitFor(() => users.every((u) => (seen.get(u)?.length ?? 0) === 15));
    for (const u of users) expect(seen.get(u)).toEqual([...Array(15).keys()]);
    expect(maxSameUser).toBe(1);
    expect(maxOverall).toBeGreaterThan(1);
    await worker.close();
    await queue.close();
  });

  it('handles first the event a dead worker left half-done, then the inbox, once each', async () => {
    const prefix = isolatedName('inb');
    prefixes.push(prefix);
    const queue = new InboundQueue({ redis, prefix });
    // Simulate a crash: event 0 was moved to processing and never finished; event 1 waits.
    await queue.enqueue(job('u9', 0));
    await queue.enqueue(job('u9', 1));
    const keys = await redis.keys(`${prefix}:inbox:*`);
    const inbox = keys.find((k) => !k.endsWith(':processing'));
    expect(inbox).toBeDefined();
    await redis.lmove(inbox ?? '', `${inbox}:processing`, 'LEFT', 'RIGHT');
    const order: string[] = [];
    const worker = createInboundWorker({
      redis,
      prefix,
      handle: async (j) => {
        if (j.event.type === 'inbound') order.push(j.event.text ?? '');
      },
    });
    await waitFor(() => order.length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(order).toEqual(['0', '1']);
    await worker.close();
    await queue.close();
  });

  it('retries a failing event and keeps the citizen\'s later messages behind it', async () => {
    const prefix = isolatedName('inb');
    prefixes.push(prefix);
    const queue = new InboundQueue({ redis, prefix });
    const order: string[] = [];
    let failures = 0;
    const worker = createInboundWorker({
      redis,
      prefix,
      handle: async (j) => {
        if (j.event.type !== 'inbound') return;
        if (j.event.text === '0' && failures < 1) {
          failures++;
          throw new Error('database blip');
        }
        order.push(j.event.text ?? '');
      },
    });
    await queue.enqueue(job('u7', 0));
    await queue.enqueue(job('u7', 1));
    await waitFor(() => order.length >= 2);
    expect(order).toEqual(['0', '1']);
    expect(failures).toBe(1);
    await worker.close();
    await queue.close();
  });
});
