// Queue upkeep (src/jobs/upkeep.ts): BullMQ's error storm during a Redis outage becomes a few
// log lines, and periodic jobs come back after Redis loses its data — real Redis for the latter.
import { EventEmitter } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Worker } from 'bullmq';
import { BroadcastQueue } from '../../src/jobs/broadcast-queue.js';
import { createMaintenanceQueue, maintenanceScheduler } from '../../src/jobs/maintenance-queue.js';
import { errorReporter, keepSchedulers, type UpkeepLog } from '../../src/jobs/upkeep.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

function recorder(): { log: UpkeepLog; lines: Array<{ level: string; event: string; fields: Record<string, string | number> }> } {
  const lines: Array<{ level: string; event: string; fields: Record<string, string | number> }> = [];
  return { lines, log: (level, event, fields) => void lines.push({ level, event, fields }) };
}

describe('errorReporter', () => {
  it('logs the first error of a storm, then a count per interval, then that it stopped', () => {
    let clock = 0;
    const { log, lines } = recorder();
    const reporter = errorReporter(log, { intervalMs: 60_000, now: () => clock });
    const worker = new EventEmitter();
    const queue = new EventEmitter();
    reporter.watch('outbound', worker, queue, undefined);
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379\n    at TCPConnectWrap'), { code: 'ECONNREFUSED' });
    for (let i = 0; i < 150; i++) (i % 2 ? worker : queue).emit('error', refused);
    expect(lines).toEqual([{ level: 'error', event: 'queue error', fields: { queue: 'outbound', err: 'ECONNREFUSED' } }]);
    clock += 60_000;
    reporter.flush();
    expect(lines[1]).toEqual({ level: 'warn', event: 'queue errors continue', fields: { queue: 'outbound', errors: 149, err: 'ECONNREFUSED' } });
    // Quiet for a whole interval: one line says so, and the next storm is reported afresh.
    clock += 60_000;
    reporter.flush();
    expect(lines[2]).toEqual({ level: 'info', event: 'queue errors stopped', fields: { queue: 'outbound' } });
    reporter.flush();
    expect(lines).toHaveLength(3);
    reporter.report('outbound', new Error('READONLY You can\'t write against a read only replica.\nmore'));
    expect(lines[3]).toEqual({ level: 'error', event: 'queue error', fields: { queue: 'outbound', err: "READONLY You can't write against a read only replica." } });
    reporter.stop();
  });

  it('keeps the emitters from throwing: an emitted error with a listener is not an uncaught exception', () => {
    const reporter = errorReporter(() => undefined);
    const emitter = new EventEmitter();
    expect(() => emitter.emit('error', new Error('x'))).toThrow();
    reporter.watch('q', emitter);
    expect(() => emitter.emit('error', new Error('x'))).not.toThrow();
    reporter.stop();
  });
});

describe('keepSchedulers', () => {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const prefix = isolatedName('upkeep');
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('re-creates the periodic jobs Redis lost, and they run again', async () => {
    const broadcastQueue = new BroadcastQueue(redis, prefix);
    const maintenance = createMaintenanceQueue(redis, prefix);
    const tick = { name: 'broadcast-tick', exists: async () => (await broadcastQueue.queue.getJobScheduler('broadcast-tick')) !== undefined, ensure: () => broadcastQueue.scheduleTick(150) };
    const purge = maintenanceScheduler(maintenance, 30);
    await tick.ensure();
    await purge.ensure();
    let ticks = 0;
    const worker = new Worker('broadcast', async () => void ticks++, { connection: redis.duplicate({ maxRetriesPerRequest: null }), prefix });
    const { log, lines } = recorder();
    const keeper = keepSchedulers([tick, purge], log, { intervalMs: 3_600_000 });
    const waitFor = async (cond: () => boolean | Promise<boolean>): Promise<void> => {
      const end = Date.now() + 10_000;
      while (!(await cond())) {
        if (Date.now() > end) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      await waitFor(() => ticks >= 2);
      expect(await keeper.check()).toEqual([]);
      expect(lines).toEqual([]);

      // Redis comes back empty (no persistence, failover to an empty replica).
      const keys = await redis.keys(`${prefix}:*`);
      await redis.del(...keys);
      expect(await tick.exists()).toBe(false);
      expect(await purge.exists()).toBe(false);
      const before = ticks;
      await new Promise((r) => setTimeout(r, 600));
      // Nothing periodic runs any more (at most one tick that was already taken).
      expect(ticks - before).toBeLessThanOrEqual(1);

      expect(await keeper.check()).toEqual(['broadcast-tick', 'purge-queries-daily']);
      expect(lines.map((l) => l.fields.scheduler)).toEqual(['broadcast-tick', 'purge-queries-daily']);
      expect(await purge.exists()).toBe(true);
      const after = ticks;
      await waitFor(() => ticks >= after + 2);
      // Idempotent: a second pass finds both and changes nothing.
      expect(await keeper.check()).toEqual([]);
      expect(await maintenance.getJobSchedulersCount()).toBe(1);
      expect(await broadcastQueue.queue.getJobSchedulersCount()).toBe(1);
    } finally {
      keeper.stop();
      await worker.close();
      await broadcastQueue.close();
      await maintenance.close();
    }
  });

  it('skips a pass while Redis cannot be reached and restores on the next one', async () => {
    let reachable = false;
    let created = 0;
    const { log, lines } = recorder();
    const keeper = keepSchedulers(
      [
        {
          name: 'broadcast-tick',
          exists: async () => {
            if (!reachable) throw new Error('Connection is closed.');
            return created > 0;
          },
          ensure: async () => void created++,
        },
      ],
      log,
      { intervalMs: 3_600_000 },
    );
    expect(await keeper.check()).toEqual([]);
    expect(created).toBe(0);
    reachable = true;
    expect(await keeper.check()).toEqual(['broadcast-tick']);
    expect(await keeper.check()).toEqual([]);
    expect(created).toBe(1);
    expect(lines).toHaveLength(1);
    keeper.stop();
  });
});
