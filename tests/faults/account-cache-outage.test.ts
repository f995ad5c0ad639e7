// Webhook intake while PostgreSQL is unreachable: the account of a Page / OA already seen is
// still found (its cache entry, even expired, is used when the database fails), so the event is
// queued instead of refused — Zalo does not retry a refused event. An account never seen still
// fails (the webhook answers 503).
import { describe, expect, it } from 'vitest';
import { cachedAccountLookup } from '../../src/channels/account-cache.js';

describe('account lookup during a database outage', () => {
  it('serves a known account from an expired entry when the database fails, and fails for an unknown one', async () => {
    let t = 0;
    let down = false;
    let calls = 0;
    const lookup = cachedAccountLookup(
      async (_platform, externalId) => {
        calls++;
        if (down) throw new Error('connect ECONNREFUSED');
        return externalId === '388613280900000901' ? { id: 7, unitId: 'xa-mau' } : undefined;
      },
      { ttlMs: 1000, now: () => t },
    );
    expect(await lookup('zalo', '388613280900000901')).toEqual({ id: 7, unitId: 'xa-mau' });
    t = 5000;
    down = true;
    expect(await lookup('zalo', '388613280900000901')).toEqual({ id: 7, unitId: 'xa-mau' });
    await expect(lookup('zalo', '388613280900000999')).rejects.toThrow('ECONNREFUSED');
    expect(calls).toBe(3);
    // Back up: the entry is refreshed from the database again.
    down = false;
    expect(await lookup('zalo', '388613280900000901')).toEqual({ id: 7, unitId: 'xa-mau' });
    expect(calls).toBe(4);
  });
});
