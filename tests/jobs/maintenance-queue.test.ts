import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createMaintenanceQueue, createMaintenanceWorker, scheduleMaintenance } from '../../src/jobs/maintenance-queue.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
const prefix = isolatedName('jobs');

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('maintenance queue', () => {
  it('runs purge-queries with the retention days and completes unknown jobs without retrying', async () => {
    const queue = createMaintenanceQueue(redis, prefix);
    const calls: number[] = [];
    const results: Array<[string, unknown]> = [];
    const done = new Promise<void>((resolve) => {
      const worker = createMaintenanceWorker({
        connection: redis,
        prefix,
        retentionDays: 30,
        handlers: {
          purgeQueries: async (days) => {
            calls.push(days);
            return 7;
          },
        },
        onResult: (name, result) => {
          results.push([name, result]);
          if (results.length === 2) void worker.close().then(resolve);
        },
      });
    });
    await queue.add('purge-queries', { days: 30 });
    await queue.add('no-such-job', {});
    await done;
    expect(calls).toEqual([30]);
    expect(results).toEqual(
      expect.arrayContaining([
        ['purge-queries', 7],
        ['no-such-job', { skipped: 'unknown job no-such-job' }],
      ]),
    );
    await queue.close();
  });

  it('schedules the daily purge once however many processes start', async () => {
    const queue = createMaintenanceQueue(redis, prefix);
    await scheduleMaintenance(queue, 365);
    await scheduleMaintenance(queue, 365);
    const schedulers = await queue.getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]?.pattern).toBe('0 3 * * *');
    await queue.close();
  });
});
