import { describe, expect, it } from 'vitest';
import { cachedAccountLookup } from '../../src/channels/account-cache.js';

describe('cachedAccountLookup', () => {
  it('asks the database once per account within the TTL, again after it, and caches misses briefly', async () => {
    let t = 0;
    const calls: string[] = [];
    const lookup = cachedAccountLookup(
      async (_p, id) => {
        calls.push(id);
        return id === '1' ? { id: 7, unitId: 'xa-a' } : undefined;
      },
      { ttlMs: 1000, negativeTtlMs: 100, now: () => t },
    );
    expect(await lookup('zalo', '1')).toEqual({ id: 7, unitId: 'xa-a' });
    expect(await lookup('zalo', '1')).toEqual({ id: 7, unitId: 'xa-a' });
    expect(await lookup('messenger', '1')).toEqual({ id: 7, unitId: 'xa-a' }); // another platform is another key
    expect(await lookup('zalo', '2')).toBeUndefined();
    t = 50;
    expect(await lookup('zalo', '2')).toBeUndefined();
    t = 200;
    await lookup('zalo', '2');
    t = 1500;
    await lookup('zalo', '1');
    expect(calls).toEqual(['1', '1', '2', '2', '1']);
  });
});
