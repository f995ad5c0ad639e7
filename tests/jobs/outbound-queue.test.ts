import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { OutboundQueue, createOutboundWorker, type OutboundHandlers, type OutboundJob, type OutboundResult } from '../../src/jobs/outbound-queue.js';
import type { SendOutcome } from '../../src/channels/platform-event.js';
import type { RateSpec } from '../../src/store/rate-limiter.js';
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
    await new Promise((r) => setTimeout(r, 20));
  }
};

function harness(script: (body: string, n: number) => SendOutcome, extra: Partial<OutboundHandlers> = {}, rates?: RateSpec) {
  const prefix = isolatedName('out');
  prefixes.push(prefix);
  const sent: string[] = [];
  const results: Array<[OutboundJob, OutboundResult]> = [];
  const calls = { refresh: 0, unreachable: [] as string[], paused: [] as string[] };
  let n = 0;
  const handlers: OutboundHandlers = {
    send: async (_job, body) => {
      const outcome = script(String(body), n++);
      if (outcome.kind === 'sent') sent.push(String(body));
      return outcome;
    },
    refreshToken: async () => {
      calls.refresh++;
    },
    markUnreachable: async (_j, reason) => {
      calls.unreachable.push(reason);
    },
    pauseAccount: async (_j, code) => {
      calls.paused.push(code);
    },
    accountBlocked: async () => null,
    onResult: (job, result) => results.push([job, result]),
    ...extra,
  };
  const queue = new OutboundQueue(redis, prefix);
  const start = () => createOutboundWorker({ redis, prefix, handlers, concurrency: 1, ...(rates ? { rates: { zalo: rates, messenger: rates } } : {}) });
  return { queue, start, sent, results, calls, prefix, handlers };
}

const job = (bodies: string[], kind: 'reply' | 'broadcast' = 'reply', userId = 'u1'): OutboundJob => ({ kind, platform: 'zalo', accountId: 1, userId, bodies, sent: 0, refreshed: false });
const ok: SendOutcome = { kind: 'sent', messageId: 'm' };

describe('outbound queue', () => {
  it('sends a turn in order and, after a transient failure, resumes without resending', async () => {
    const h = harness((body, n) => (body === 'b' && n === 1 ? { kind: 'retry', code: '-32' } : ok));
    const worker = h.start();
    await h.queue.add(job(['a', 'b', 'c']));
    await waitFor(() => h.results.length === 1);
    expect(h.sent).toEqual(['a', 'b', 'c']);
    expect(h.results[0]?.[1]).toEqual({ status: 'sent', messageIds: ['m', 'm'] });
    await worker.close();
    await h.queue.close();
  });

  it('sends a reply while bulk sends hold every bulk worker slot: replies have a queue and slots of their own', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const started: string[] = [];
    const h = harness(() => ok, {
      send: async (_job, body) => {
        started.push(String(body));
        if (String(body).startsWith('bulk')) await gate;
        h.sent.push(String(body));
        return ok;
      },
    });
    for (let i = 0; i < 3; i++) await h.queue.add(job([`bulk${i}`], 'broadcast', `b${i}`));
    const worker = h.start();
    await waitFor(() => started.includes('bulk0'));
    await h.queue.add(job(['reply'], 'reply'));
    // The only bulk slot is still taken (the platform has not answered bulk0).
    await waitFor(() => h.sent.includes('reply'));
    expect(h.sent).toEqual(['reply']);
    open();
    await waitFor(() => h.sent.length === 4);
    await worker.close();
    await h.queue.close();
  });

  it('splits the work between processes: one doing only replies, another only bulk sends (WORKER_TASKS)', async () => {
    const bySide: Record<string, string[]> = { replies: [], bulk: [] };
    const h = harness(() => ok);
    const side = (name: 'replies' | 'bulk') =>
      createOutboundWorker({
        redis,
        prefix: h.prefix,
        handlers: { ...h.handlers, send: async (_job, body) => (bySide[name]?.push(String(body)), ok) },
        concurrency: 2,
        queues: name,
      });
    const replies = side('replies');
    const bulk = side('bulk');
    await h.queue.add(job(['bulk1'], 'broadcast', 'b1'));
    await h.queue.add(job(['reply1'], 'reply'));
    await h.queue.add(job(['bulk2'], 'broadcast', 'b2'));
    await h.queue.add(job(['reply2'], 'reply', 'u2'));
    await waitFor(() => (bySide.replies?.length ?? 0) + (bySide.bulk?.length ?? 0) === 4);
    expect(bySide.replies?.sort()).toEqual(['reply1', 'reply2']);
    expect(bySide.bulk?.sort()).toEqual(['bulk1', 'bulk2']);
    await replies.close();
    await bulk.close();
    await h.queue.close();
  });

  it('drops and marks a blocked citizen, pauses the account on a token error, refreshes once', async () => {
    const h = harness((body) => {
      if (body === 'blocked') return { kind: 'drop', code: '-201', reason: 'user_unfollowed', markUnreachable: true };
      if (body === 'badtoken') return { kind: 'pause', code: '190', reason: 'token_invalid' };
      return { kind: 'refresh', code: '-216' };
    });
    const worker = h.start();
    await h.queue.add(job(['blocked']));
    await h.queue.add(job(['badtoken']));
    await h.queue.add(job(['expired']));
    await waitFor(() => h.results.length === 3);
    expect(h.calls.unreachable).toEqual(['user_unfollowed']);
    expect(h.calls.refresh).toBe(1);
    expect(h.calls.paused).toEqual(['190', '-216']);
    expect(h.results.map(([, r]) => r.status)).toEqual(['dropped', 'paused', 'paused']);
    await worker.close();
    await h.queue.close();
  });

  it('sends nothing for a paused account', async () => {
    const h = harness(() => ok, { accountBlocked: async () => 'reconnect_required' });
    const worker = h.start();
    await h.queue.add(job(['x']));
    await waitFor(() => h.results.length === 1);
    expect(h.sent).toEqual([]);
    expect(h.results[0]?.[1].status).toBe('paused');
    await worker.close();
    await h.queue.close();
  });

  it('holds an account to its rate: never more than N sends in a second', async () => {
    const times: number[] = [];
    const h = harness(() => ok, { send: async () => (times.push(Date.now()), ok) }, { perSecond: 4 });
    const worker = h.start();
    await h.queue.add(job(['1', '2', '3', '4', '5']));
    await waitFor(() => times.length === 5);
    // Four at once, the fifth when the first has left the window (a second and the guard).
    expect((times[3] ?? 0) - (times[0] ?? 0)).toBeLessThan(500);
    expect((times[4] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(1000);
    await worker.close();
    await h.queue.close();
  });
});
