// Broadcast delivery jobs on the outbound queue: a citizen's reply queued behind hundreds of
// broadcast sends of the same account is taken next, and broadcasts leave the last tokens of
// the account's bucket to replies.
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { OutboundQueue, broadcastJobId, createOutboundWorker, rateKey, replyReserve, takeBroadcastToken, type OutboundHandlers, type OutboundJob } from '../../src/jobs/outbound-queue.js';
import { takeToken } from '../../src/store/token-bucket.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) {
    const keys = await redis.keys(`${p}:*`);
    if (keys.length) await redis.del(...keys);
  }
  redis.disconnect();
});

const waitFor = async (cond: () => boolean, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

const delivery = (contactId: number): OutboundJob => ({
  kind: 'broadcast',
  platform: 'zalo',
  accountId: 1,
  userId: String(8000 + contactId),
  bodies: [],
  sent: 0,
  refreshed: false,
  delivery: { announcementId: 1, contactId },
});

describe('broadcast jobs on the outbound queue', () => {
  it('takes a citizen’s reply before the queued broadcast sends of the same account', async () => {
    const prefix = isolatedName('outbc');
    prefixes.push(prefix);
    const order: string[] = [];
    const handlers: OutboundHandlers = {
      send: async (_job, body) => {
        order.push(`reply:${String(body)}`);
        return { kind: 'sent', messageId: 'm' };
      },
      refreshToken: async () => undefined,
      markUnreachable: async () => undefined,
      pauseAccount: async () => undefined,
      accountBlocked: async () => null,
      broadcast: async (job) => {
        await new Promise((r) => setTimeout(r, 15));
        order.push(`bc:${job.delivery.contactId}`);
        return { kind: 'done', result: 'sent' };
      },
    };
    const queue = new OutboundQueue(redis, prefix);
    await queue.addBulk(Array.from({ length: 200 }, (_, i) => ({ job: delivery(i + 1), jobId: broadcastJobId(1, i + 1, 0) })));
    const worker = createOutboundWorker({ redis, prefix, handlers, concurrency: 1 });
    await waitFor(() => order.length >= 5);
    const before = order.length;
    await queue.add({ kind: 'reply', platform: 'zalo', accountId: 1, userId: '8001', bodies: ['Dạ, giấy khai sinh cần…'], sent: 0, refreshed: false });
    await waitFor(() => order.includes('reply:Dạ, giấy khai sinh cần…'));
    // At most the broadcast job already running finishes first.
    expect(order.indexOf('reply:Dạ, giấy khai sinh cần…')).toBeLessThanOrEqual(before + 1);
    expect(order.filter((o) => o.startsWith('bc:')).length).toBeLessThan(200);
    await worker.close();
    await queue.close();
  });

  it('a broadcast job id names the delivery and its generation, without ":"', () => {
    expect(broadcastJobId(12, 345, 0)).toBe('bc-12-345-0');
    expect(broadcastJobId(12, 345, 3)).not.toContain(':');
  });

  it('broadcasts leave the last tokens of the shared bucket to replies', async () => {
    const key = rateKey(isolatedName('bucket'), 'zalo', 1);
    prefixes.push(key.split(':')[0] ?? key);
    const spec = { perSecond: 10, burst: 10 };
    expect(replyReserve(spec)).toBe(2);
    const t = Date.now();
    let taken = 0;
    while ((await takeBroadcastToken(redis, key, spec, t)) === 0) taken++;
    expect(taken).toBe(8);
    // The bucket looks empty to a broadcast, yet a reply gets a token at once.
    expect(await takeToken(redis, key, spec, t)).toBe(0);
    expect(await takeToken(redis, key, spec, t)).toBe(0);
    expect(await takeToken(redis, key, spec, t)).toBeGreaterThan(0);
    // With a single-token burst there is no reserve: a broadcast may use it.
    const single = rateKey(isolatedName('bucket1'), 'zalo', 1);
    prefixes.push(single.split(':')[0] ?? single);
    expect(await takeBroadcastToken(redis, single, { perSecond: 5, burst: 1 }, t)).toBe(0);
    expect(await takeBroadcastToken(redis, single, { perSecond: 5, burst: 1 }, t)).toBe(200);
  });
});
