// The inbound queue's recovery from the faults the end-to-end tests provoke, one at a time and
// in-process: a citizen's lock left by a worker that died, an event whose drain job was lost,
// and a database outage longer than the per-event attempts. Each time the event is handled
// once, without the citizen having to write again.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { InboundQueue, createInboundWorker, type InboundJob } from '../../src/jobs/inbound-queue.js';
import { TEST_REDIS_URL, isolatedName, dropRedisPrefixes, zaloTextJob } from '../helpers/services.js';
import { waitUntil } from './traffic.js';

const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
const prefixes: string[] = [];
afterAll(async () => {
  await dropRedisPrefixes(redis, prefixes);
  redis.disconnect();
});

const job = zaloTextJob;

const idOf = (j: InboundJob): string => (j.event.type === 'inbound' ? j.event.messageId : '');

function setup(): { prefix: string; queue: InboundQueue } {
  const prefix = isolatedName('inbrec');
  prefixes.push(prefix);
  return { prefix, queue: new InboundQueue({ redis, prefix }) };
}

describe('inbound queue recovery', () => {
  it("drains a citizen whose lock a dead worker left behind, once the lock lapses, with no new message", async () => {
    const { prefix, queue } = setup();
    const handled: string[] = [];
    await queue.submit(`${prefix}:seen:a`, 60, job('u1', 0));
    const [inbox] = (await redis.keys(`${prefix}:inbox:*`)).filter((k) => !k.includes(':processing'));
    if (!inbox) throw new Error('no inbox');
    // A worker took the citizen's lock and died: nobody renews it.
    await redis.set(`${inbox}:lock`, 'dead-worker', 'PX', 600);
    const worker = createInboundWorker({ redis, prefix, lockDurationMs: 600, sweepMs: 200, handle: async (j) => void handled.push(idOf(j)) });
    await waitUntil(() => handled.length === 1, 10_000, 'the event handled');
    await new Promise((r) => setTimeout(r, 500));
    expect(handled).toEqual(['u1-0']);
    await worker.close();
    await queue.close();
  });

  it('drains an inbox whose drain job was lost', async () => {
    const { prefix, queue } = setup();
    const handled: string[] = [];
    await queue.submit(`${prefix}:seen:b`, 60, job('u2', 0));
    // The drain job is gone (a Redis failover lost it, or it failed for good).
    await queue.queue.obliterate({ force: true });
    const worker = createInboundWorker({ redis, prefix, lockDurationMs: 600, sweepMs: 200, handle: async (j) => void handled.push(idOf(j)) });
    await waitUntil(() => handled.length === 1, 10_000, 'the event handled');
    await new Promise((r) => setTimeout(r, 500));
    expect(handled).toEqual(['u2-0']);
    expect(await redis.zcard(`${prefix}:inbox-pending`)).toBe(0);
    await worker.close();
    await queue.close();
  });

  it('keeps an event while the database is unreachable, however many times it fails, then handles it once', async () => {
    const { prefix, queue } = setup();
    let databaseUp = false;
    let failures = 0;
    const handled: string[] = [];
    const worker = createInboundWorker({
      redis,
      prefix,
      lockDurationMs: 600,
      sweepMs: 200,
      maxAttempts: 2,
      available: async () => databaseUp,
      handle: async (j) => {
        if (!databaseUp) {
          failures++;
          throw new Error('connect ECONNREFUSED');
        }
        handled.push(idOf(j));
      },
    });
    await queue.submit(`${prefix}:seen:c1`, 60, job('u3', 0));
    await queue.submit(`${prefix}:seen:c2`, 60, job('u3', 1));
    await waitUntil(() => failures >= 4, 15_000, 'failures beyond maxAttempts');
    databaseUp = true;
    await waitUntil(() => handled.length === 2, 20_000, 'both events handled');
    await new Promise((r) => setTimeout(r, 500));
    expect(handled).toEqual(['u3-0', 'u3-1']);
    await worker.close();
    await queue.close();
  }, 40_000);
});
