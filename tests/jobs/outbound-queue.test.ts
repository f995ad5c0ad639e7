import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { OutboundQueue, createOutboundWorker, type OutboundHandlers, type OutboundJob, type OutboundResult } from '../../src/jobs/outbound-queue.js';
import type { SendOutcome } from '../../src/channels/platform-event.js';
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
    await new Promise((r) => setTimeout(r, 20));
  }
};

function harness(script: (body: string, n: number) => SendOutcome, extra: Partial<OutboundHandlers> = {}, rates?: { perSecond: number; burst: number }) {
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
  return { queue, start, sent, results, calls };
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

  it('puts replies ahead of broadcasts waiting on the same queue', async () => {
    const h = harness(() => ok);
    for (let i = 0; i < 5; i++) await h.queue.add(job([`bulk${i}`], 'broadcast', `b${i}`));
    await h.queue.add(job(['reply'], 'reply'));
    const worker = h.start();
    await waitFor(() => h.sent.length === 6);
    expect(h.sent[0]).toBe('reply');
    await worker.close();
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

  it('throttles an account to its rate', async () => {
    const h = harness(() => ok, {}, { perSecond: 20, burst: 2 });
    const worker = h.start();
    const t0 = Date.now();
    await h.queue.add(job(['1', '2', '3', '4', '5', '6']));
    await waitFor(() => h.sent.length === 6);
    // 2 at once, then 4 more at 20/s: at least ~200 ms.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    await worker.close();
    await h.queue.close();
  });
});
