// The maintenance queue: housekeeping jobs the worker role runs on a schedule.
// A registry of job name → zod schema → handler; an unknown job is completed, not retried.
// This folder is the only importer of bullmq.
import { Queue, Worker, type Job } from 'bullmq';
import { duplicateClient, type RedisClient } from '../store/redis.js';
import type { SchedulerSpec } from './upkeep.js';
import { z } from 'zod';

export const MAINTENANCE_QUEUE = 'maintenance';

const jobSchemas = {
  'purge-queries': z.object({ days: z.number().int().min(1) }),
} as const;

export type MaintenanceJobName = keyof typeof jobSchemas;

export interface MaintenanceHandlers {
  purgeQueries(days: number): Promise<number>;
}

export interface MaintenanceOptions {
  connection: RedisClient;
  prefix: string;
  retentionDays: number;
  handlers: MaintenanceHandlers;
  onResult?: (name: string, result: unknown) => void;
}

export async function scheduleMaintenance(queue: Queue, retentionDays: number): Promise<void> {
  // One scheduler per id: every worker may call this on start without piling up duplicates.
  await queue.upsertJobScheduler(
    'purge-queries-daily',
    { pattern: '0 3 * * *', tz: 'Asia/Ho_Chi_Minh' },
    { name: 'purge-queries', data: { days: retentionDays } },
  );
}

/** The nightly purge's scheduler, for the upkeep (src/jobs/upkeep.ts). */
export function maintenanceScheduler(queue: Queue, retentionDays: number): SchedulerSpec {
  return {
    name: 'purge-queries-daily',
    exists: async () => (await queue.getJobScheduler('purge-queries-daily')) !== undefined,
    ensure: () => scheduleMaintenance(queue, retentionDays),
  };
}

export function createMaintenanceQueue(connection: RedisClient, prefix: string): Queue {
  return new Queue(MAINTENANCE_QUEUE, { connection, prefix });
}

export function createMaintenanceWorker(options: MaintenanceOptions): Worker {
  const handle = async (job: Job): Promise<unknown> => {
    if (job.name === 'purge-queries') {
      const data = jobSchemas['purge-queries'].parse(job.data);
      return options.handlers.purgeQueries(data.days);
    }
    return { skipped: `unknown job ${job.name}` };
  };
  const connection = duplicateClient(options.connection, { blocking: true });
  const worker = new Worker(MAINTENANCE_QUEUE, handle, {
    connection,
    prefix: options.prefix,
    concurrency: 1,
  });
  worker.on('completed', (job, result) => options.onResult?.(job.name, result));
  // BullMQ leaves a connection it was given open: ours is closed with the worker (else the
  // worker role never exits after SIGTERM).
  worker.on('closed', () => connection.disconnect());
  return worker;
}
