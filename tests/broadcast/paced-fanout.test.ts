// A paced fan-out: it queues send jobs only so far ahead of the account's rate, pauses, and
// resumes at its cursor with the same schedule; the broadcast worker puts the paused job back,
// delayed, with its horizon. In-memory ports for the runtime (a moved clock), real Redis for the
// worker.
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createBroadcastRuntime, type AudienceMember, type FanoutHorizon, type RuntimeStore } from '../../src/broadcast/runtime.js';
import type { BroadcastSendJob } from '../../src/broadcast/sender.js';
import type { Announcement } from '../../src/broadcast/types.js';
import { BroadcastQueue, createBroadcastWorker } from '../../src/jobs/broadcast-queue.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const T0 = Date.parse('2026-03-10T03:00:00Z');

function world(recipients: number) {
  let clock = T0;
  const announcement: Announcement = {
    id: 7,
    unitId: 'xa-a',
    title: 'Lịch tiếp công dân',
    body: 'Thứ Năm hằng tuần.',
    linkUrl: null,
    imageUrl: null,
    survey: null,
    groupIds: [1],
    channels: ['messenger'],
    status: 'fanning_out',
    scheduledAt: null,
    holdDays: 7,
    fanoutCursor: 0,
    fanoutDone: false,
    createdBy: null,
    createdAt: new Date(T0),
    startedAt: new Date(T0),
    finishedAt: null,
    cancelledAt: null,
  };
  const members: AudienceMember[] = Array.from({ length: recipients }, (_, i) => ({
    contactId: i + 1,
    accountId: 3,
    platform: 'messenger',
    platformUserId: `73${String(i + 1).padStart(7, '0')}`,
    lastInteractionAt: new Date(T0 - 3_600_000),
    following: null,
    reachable: true,
  }));
  const deliveries = new Set<number>();
  const queued: Array<BroadcastSendJob & { delayMs?: number; at: number }> = [];
  const unused = (): never => {
    throw new Error('not used by the fan-out');
  };
  const store: RuntimeStore = {
    get: async () => ({ ...announcement }),
    start: async () => ({ ...announcement }),
    addDeliveries: async (_id, targets) => {
      for (const t of targets) deliveries.add(t.contactId);
      return targets.length;
    },
    advanceCursor: async (_id, cursor) => {
      announcement.fanoutCursor = cursor;
    },
    finishFanout: async () => {
      announcement.fanoutDone = true;
      announcement.status = 'sending';
    },
    finishMany: async () => 0,
    completeIfSettled: async () => false,
    due: unused,
    active: unused,
    redriveCandidates: unused,
    heldFor: unused,
    settleHeld: unused,
    expireHeld: unused,
  };
  const runtime = (lookaheadMs?: number) =>
    createBroadcastRuntime({
      store,
      audiencePage: async (q) => members.filter((m) => m.contactId > q.afterContactId).slice(0, q.limit),
      jobs: {
        enqueueSends: async (jobs) => void queued.push(...jobs.map((j) => ({ ...j, at: clock }))),
        redriveSends: unused,
        scheduleFanout: unused,
      },
      rules: { zaloMonthlyCap: 4 },
      pageSize: 1000,
      sendRate: () => 100,
      ...(lookaheadMs === undefined ? {} : { lookaheadMs }),
      leaseMs: 60_000,
      idleMs: 120_000,
      now: () => new Date(clock),
    });
  return {
    announcement,
    deliveries,
    queued,
    runtime,
    advance: (ms: number) => {
      clock += ms;
    },
    /** When each queued job becomes available (epoch ms). */
    availableAt: () => queued.map((j) => j.at + (j.delayMs ?? 0)),
  };
}

describe('paced fan-out', () => {
  it('queues only ten seconds of sending ahead, pauses, and resumes at its cursor on the same schedule', async () => {
    const w = world(2500);
    const runtime = w.runtime(10_000);
    const first = await runtime.fanout(7);
    // Page 1 is 10 s of sending at 100/s (not more than the look-ahead), page 2 makes it 20 s.
    expect(first).toMatchObject({ kind: 'paused', pages: 2, recipients: 2000 });
    if (first.kind !== 'paused') throw new Error('not paused');
    expect(first.resumeInMs).toBe(10_000);
    expect(w.queued).toHaveLength(2000);
    expect(w.deliveries.size).toBe(2000);
    expect(w.announcement).toMatchObject({ status: 'fanning_out', fanoutCursor: 2000 });
    // The sends ahead are spread at the rate: the 2,000th about 20 s from now.
    expect(Math.max(...w.availableAt()) - T0).toBeGreaterThan(19_000);

    w.advance(first.resumeInMs);
    const horizon: FanoutHorizon = JSON.parse(JSON.stringify(first.horizon));
    const second = await runtime.fanout(7, horizon);
    expect(second).toEqual({ kind: 'done', pages: 1, recipients: 500 });
    expect(w.queued).toHaveLength(2500);
    expect(new Set(w.queued.map((j) => j.contactId)).size).toBe(2500);
    expect(w.announcement.status).toBe('sending');
    // The resumed page continues the schedule (20 s after the start), it does not restart it.
    const resumed = w.availableAt().slice(2000);
    expect(Math.min(...resumed) - T0).toBeGreaterThanOrEqual(19_000);
    expect(Math.max(...resumed) - T0).toBeLessThan(25_500);
  });

  it('never pauses without a look-ahead (the limits off, or the runtime of the bench)', async () => {
    const w = world(2500);
    expect(await w.runtime().fanout(7)).toEqual({ kind: 'done', pages: 3, recipients: 2500 });
    expect(w.queued).toHaveLength(2500);
  });
});

describe('the broadcast worker', () => {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const prefix = isolatedName('paced');
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('puts a paused fan-out back, delayed, with its horizon, and runs it again then', async () => {
    const calls: Array<{ at: number; horizon: FanoutHorizon | undefined }> = [];
    const queue = new BroadcastQueue(redis, prefix);
    const worker = createBroadcastWorker({
      redis,
      prefix,
      fanout: async (_id, horizon) => {
        calls.push({ at: Date.now(), horizon });
        return calls.length === 1 ? { kind: 'paused', pages: 2, recipients: 2000, resumeInMs: 300, horizon: { '3': T0 + 20_000 } } : { kind: 'done', pages: 1, recipients: 500 };
      },
      tick: async () => undefined,
    });
    await queue.scheduleFanout(7);
    const waitFor = async (cond: () => Promise<boolean> | boolean): Promise<void> => {
      const end = Date.now() + 10_000;
      while (!(await cond())) {
        if (Date.now() > end) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await waitFor(async () => (await queue.queue.getJobState('fanout-7')) === 'delayed');
    // While it waits, the tick's "queue it again" leaves the paused job (same id) as it is.
    await queue.scheduleFanout(7);
    expect(await queue.queue.getJobState('fanout-7')).toBe('delayed');
    expect((await queue.queue.getJob('fanout-7'))?.data).toEqual({ announcementId: 7, horizon: { '3': T0 + 20_000 } });
    await waitFor(() => calls.length === 2);
    expect(calls[0]?.horizon).toBeUndefined();
    expect(calls[1]?.horizon).toEqual({ '3': T0 + 20_000 });
    expect((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(250);
    await new Promise((r) => setTimeout(r, 200));
    expect(calls).toHaveLength(2);
    await worker.close();
    await queue.close();
  });
});
