// A platform that throttles (Messenger 613, Zalo -32) for a while: the broadcast backs off and
// completes, one message per recipient. A token error (Messenger 190; Zalo -216 again after a
// refresh) pauses the account: nothing more is sent; once an officer sets the account active
// again, the announcement resumes and completes without a duplicate.
import { afterEach, describe, expect, it } from 'vitest';
import { FB_TOKEN, countsOf, startHarness, waitFor, type Harness } from './harness.js';

const HOUR = 3_600_000;
let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const once = (ids: string[]): boolean => new Set(ids).size === ids.length;
const statusOf = async (hh: Harness, id: number) => (await hh.services.broadcasts.get(id))?.status;

describe('broadcast under platform limits', () => {
  it('slows down while the platforms throttle, then completes with one message per recipient', async () => {
    h = await startHarness({ label: 'bc_throttle' });
    const psids = await h.addSubscribers({ platform: 'messenger', count: 30, prefix: '76', lastInteractionAt: new Date(h.clock.ms() - HOUR) });
    const uids = await h.addSubscribers({ platform: 'zalo', count: 30, prefix: '86', lastInteractionAt: new Date(h.clock.ms() - HOUR), following: true });
    const throttledUntil = h.clock.ms() + 3000;
    h.graph.failUntil({ kind: 'rate_limit', code: 613 }, throttledUntil);
    h.zalo.failUntil('promotion', -32, throttledUntil);
    const a = await h.announce({ channels: ['messenger', 'zalo'] });
    const t0 = Date.now();
    await h.startWorkers();
    await h.workers()?.broadcastQueue.scheduleFanout(a.id);
    await waitFor(async () => (await statusOf(h!, a.id)) === 'done', 40_000, 'done');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2500);

    const fbSent = h.graph.sent().map((s) => s.recipientId);
    expect(fbSent.sort()).toEqual([...psids].sort());
    expect(once(fbSent)).toBe(true);
    const zSent = h.zalo.sent.map((s) => s.userId);
    expect(zSent.sort()).toEqual([...uids].sort());
    expect(once(zSent)).toBe(true);
    expect(await countsOf(h, a.id)).toEqual({ sent: 60 });

    // Backing off: far fewer refused calls during the 3 s than recipients (not a retry storm).
    const fbRefused = h.graph.requests().filter((r) => r.method === 'POST').length - fbSent.length;
    const zRefused = h.zalo.requests.filter((r) => r.path === '/v3.0/oa/message/promotion' && r.error === -32).length;
    expect(fbRefused).toBeGreaterThan(0);
    expect(zRefused).toBeGreaterThan(0);
    expect(fbRefused).toBeLessThan(30);
    expect(zRefused).toBeLessThan(30);
  });

  it('pauses the Page on a token error, sends nothing more, and completes without duplicates once reconnected', async () => {
    h = await startHarness({ label: 'bc_pause_fb', env: { MESSENGER_SEND_RATE: '20', MESSENGER_SEND_BURST: '1' } });
    const psids = await h.addSubscribers({ platform: 'messenger', count: 40, prefix: '77', lastInteractionAt: new Date(h.clock.ms() - HOUR) });
    const a = await h.announce({ channels: ['messenger'] });
    await h.startWorkers();
    await h.workers()?.broadcastQueue.scheduleFanout(a.id);
    await waitFor(() => h!.graph.sentCount() >= 5, 20_000, 'first sends');
    // The Page token is revoked (password change, removed permission): Graph answers 190.
    h.graph.tokens.delete(FB_TOKEN);
    await waitFor(async () => (await h!.services.accounts.get(h!.messengerAccountId))?.status === 'paused', 20_000, 'paused');
    const atPause = h.graph.sentCount();
    await new Promise((r) => setTimeout(r, 2500));
    expect(h.graph.sentCount()).toBe(atPause);
    expect(await statusOf(h, a.id)).toBe('sending');
    const waiting = await countsOf(h, a.id);
    expect(waiting['pending']).toBe(40 - atPause);

    // An officer reconnects the Page.
    h.graph.tokens.set(FB_TOKEN, '106000000000777');
    await h.services.accounts.setStatus(h.messengerAccountId, 'active', null);
    await waitFor(async () => (await statusOf(h!, a.id)) === 'done', 30_000, 'done');
    const sent = h.graph.sent().map((s) => s.recipientId);
    expect(sent.sort()).toEqual([...psids].sort());
    expect(once(sent)).toBe(true);
    expect(await countsOf(h, a.id)).toEqual({ sent: 40 });
  });

  it('pauses the OA when Zalo still refuses the token after a refresh, then completes once it is active again', async () => {
    h = await startHarness({ label: 'bc_pause_zalo' });
    const uids = await h.addSubscribers({ platform: 'zalo', count: 12, prefix: '87', lastInteractionAt: new Date(h.clock.ms() - HOUR), following: true });
    h.zalo.failNext('promotion', -216, 2);
    const a = await h.announce({ channels: ['zalo'] });
    await h.startWorkers({ concurrency: 1 });
    await h.workers()?.broadcastQueue.scheduleFanout(a.id);
    await waitFor(async () => (await h!.services.accounts.get(h!.zaloAccountId))?.status === 'reconnect_required', 20_000, 'reconnect_required');
    expect(h.zalo.refreshCount).toBe(1);
    await new Promise((r) => setTimeout(r, 1500));
    expect(h.zalo.sent).toHaveLength(0);
    expect((await countsOf(h, a.id))['pending']).toBe(12);

    await h.services.accounts.setStatus(h.zaloAccountId, 'active', null);
    await waitFor(async () => (await statusOf(h!, a.id)) === 'done', 30_000, 'done');
    const sent = h.zalo.sent.map((s) => s.userId);
    expect(sent.sort()).toEqual([...uids].sort());
    expect(once(sent)).toBe(true);
  });
});
