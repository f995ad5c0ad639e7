// Broadcast delivery jobs on the outbound queue: a citizen's reply is sent while hundreds of
// broadcast sends of the same account are queued and every bulk worker slot is busy; the
// sender's pace spaces broadcasts at the account's limiter interval and only looks at the
// window, and the gateway counts each send right before the call.
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { OutboundQueue, broadcastJobId, createOutboundWorker, rateKey, type OutboundHandlers, type OutboundJob } from '../../src/jobs/outbound-queue.js';
import { createRedisSendControls, limitedGateway } from '../../src/jobs/broadcast-queue.js';
import { acquireSend, limiterKeys } from '../../src/store/rate-limiter.js';
import type { BroadcastGateway } from '../../src/broadcast/sender.js';
import { TEST_REDIS_URL, isolatedName, dropRedisPrefixes } from '../helpers/services.js';

const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
const prefixes: string[] = [];
afterAll(async () => {
  await dropRedisPrefixes(redis, prefixes);
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
  it('sends a citizen’s reply while broadcast sends of the same account fill the queue and every bulk slot', async () => {
    const prefix = isolatedName('outbc');
    prefixes.push(prefix);
    const order: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
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
        order.push(`bc:${job.delivery.contactId}`);
        // The platform is slow to answer: the only bulk slot stays busy.
        if (job.delivery.contactId === 3) await gate;
        return { kind: 'done', result: 'sent' };
      },
    };
    const queue = new OutboundQueue(redis, prefix);
    await queue.addBulk(Array.from({ length: 200 }, (_, i) => ({ job: delivery(i + 1), jobId: broadcastJobId(1, i + 1, 0) })));
    const worker = createOutboundWorker({ redis, prefix, handlers, concurrency: 1 });
    await waitFor(() => order.includes('bc:3'));
    await queue.add({ kind: 'reply', platform: 'zalo', accountId: 1, userId: '8001', bodies: ['Dạ, giấy khai sinh cần…'], sent: 0, refreshed: false });
    await waitFor(() => order.includes('reply:Dạ, giấy khai sinh cần…'));
    expect(order).toEqual(['bc:1', 'bc:2', 'bc:3', 'reply:Dạ, giấy khai sinh cần…']);
    open();
    await waitFor(() => order.length === 201);
    await worker.close();
    await queue.close();
  });

  it('a broadcast job id names the delivery and its generation, without ":"', () => {
    expect(broadcastJobId(12, 345, 0)).toBe('bc-12-345-0');
    expect(broadcastJobId(12, 345, 3)).not.toContain(':');
  });

  it('paces broadcasts at the limiter’s interval and only looks at the window; the gateway counts each send', async () => {
    const prefix = isolatedName('pace');
    prefixes.push(prefix);
    const rates = { zalo: { perSecond: 10, guardMs: 0 }, messenger: { perSecond: 10, guardMs: 0 } };
    const controls = createRedisSendControls({ redis, prefix, rates, throttleBaseMs: 100 });
    const t = Date.now();
    // Slots 100 ms apart (the sender's clock); the first is due at once.
    expect(await controls.pace(1, 'zalo', t, undefined)).toEqual({ kind: 'go', probe: false });
    expect(await controls.pace(1, 'zalo', t, undefined)).toEqual({ kind: 'slot', slotAt: t + 100 });
    expect(await controls.pace(1, 'zalo', t, undefined)).toEqual({ kind: 'slot', slotAt: t + 200 });
    // Looking is not counting: a due slot may be asked about again and again.
    for (let i = 0; i < 20; i++) expect(await controls.pace(1, 'zalo', t, t)).toMatchObject({ kind: 'go' });
    const [log] = limiterKeys(rateKey(prefix, 'zalo', 1));
    expect(await redis.llen(log)).toBe(0);

    // The gateway counts each send; a full window makes the send wait for the next place.
    const sentAt: number[] = [];
    const inner: BroadcastGateway = {
      send: async () => (sentAt.push(Date.now()), { kind: 'sent', messageId: 'm' }),
      recentMessages: async () => ({ kind: 'ok', messages: [] }),
      refreshToken: async () => undefined,
    };
    const gateway = limitedGateway(inner, redis, prefix, rates);
    // Nine sends counted 700 ms ago (a moved clock), one now: the window is then full for ~300 ms.
    const base = rateKey(prefix, 'zalo', 1);
    for (let i = 0; i < 9; i++) expect(await acquireSend(redis, base, rates.zalo, 'bulk', Date.now() - 700)).toBe(0);
    const before = Date.now();
    await gateway.send(1, 'zalo', {});
    expect(sentAt).toHaveLength(1);
    const full = await controls.pace(1, 'zalo', Date.now(), Date.now());
    expect(full.kind).toBe('token');
    const start = Date.now();
    await gateway.send(1, 'zalo', {});
    expect((sentAt[1] ?? 0) - start).toBeGreaterThanOrEqual(150);
    expect((sentAt[0] ?? 0) - before).toBeLessThan(100);
    expect(await redis.llen(log)).toBeLessThanOrEqual(10);
  });
});
