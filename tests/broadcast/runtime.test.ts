// The broadcast runtime on the real PostgreSQL and Redis against the fake platforms: fan-out in
// pages that resumes at its cursor, eligibility applied per recipient (held, skipped by reason),
// cancel, a scheduled start, Zalo's night hours, held announcements given on the next visit.
import { afterEach, describe, expect, it } from 'vitest';
import { createBroadcastRuntime } from '../../src/broadcast/runtime.js';
import { BroadcastQueue, createBroadcastJobs } from '../../src/jobs/broadcast-queue.js';
import { SubscriptionRepository } from '../../src/store/subscription-repository.js';
import { countsOf, startHarness, waitFor, type Harness } from './harness.js';

const HOUR = 3_600_000;
let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const perRecipient = (ids: string[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
};

const statusOf = async (hh: Harness, id: number) => (await hh.services.broadcasts.get(id))?.status;

describe('broadcast runtime', () => {
  it('fans out page by page, resumes at the cursor after a crash, and sends each recipient one message', async () => {
    h = await startHarness({ label: 'bc_fanout' });
    const now = h.clock.now();
    const psids = await h.addSubscribers({ platform: 'messenger', count: 20, prefix: '71', lastInteractionAt: new Date(now.getTime() - HOUR) });
    const zaloIds = await h.addSubscribers({ platform: 'zalo', count: 13, prefix: '82', lastInteractionAt: new Date(now.getTime() - 3 * 24 * HOUR), following: true });
    const a = await h.announce({ channels: ['messenger', 'zalo'] });

    const subscriptions = new SubscriptionRepository(h.services.db);
    const broadcastQueue = new BroadcastQueue(h.redis, `${h.prefix}:bull`);
    let calls = 0;
    let crash = true;
    const runtime = createBroadcastRuntime({
      store: h.services.broadcasts,
      audiencePage: async (q) => {
        calls++;
        if (crash && calls === 3) throw new Error('worker died');
        return subscriptions.audiencePage(q);
      },
      jobs: createBroadcastJobs({ outbound: h.outbound, broadcastQueue, redis: h.redis, prefix: `${h.prefix}:bull` }),
      rules: { zaloMonthlyCap: 4 },
      pageSize: 7,
      leaseMs: 2000,
      idleMs: 2000,
    });
    await expect(runtime.fanout(a.id)).rejects.toThrow('worker died');
    const halfway = await h.services.broadcasts.get(a.id);
    expect(halfway?.status).toBe('fanning_out');
    const firstPages = await h.services.broadcasts.page(a.id, 0, 100);
    expect(firstPages).toHaveLength(14);
    expect(halfway?.fanoutCursor).toBe(firstPages[13]?.contactId);
    const countJobs = async () => {
      const c = await h!.outbound.queue.getJobCounts('prioritized', 'waiting', 'delayed', 'active', 'completed');
      return Object.values(c).reduce((x, y) => x + y, 0);
    };
    expect(await countJobs()).toBe(14);

    crash = false;
    const done = await runtime.fanout(a.id);
    expect(done).toMatchObject({ kind: 'done', recipients: 19 });
    expect(await h.services.broadcasts.page(a.id, 0, 100)).toHaveLength(33);
    expect(await countJobs()).toBe(33);
    // Doing the fan-out once more (a duplicated job) adds nothing.
    await h.services.broadcasts.advanceCursor(a.id, 0);
    expect(await statusOf(h, a.id)).toBe('sending');
    await broadcastQueue.close();

    await h.startWorkers();
    await waitFor(async () => (await statusOf(h!, a.id)) === 'done', 20_000, 'done');
    const fb = perRecipient(h.graph.sent().map((s) => s.recipientId));
    expect([...fb.keys()].sort()).toEqual([...psids].sort());
    expect([...fb.values()].every((n) => n === 1)).toBe(true);
    const zl = perRecipient(h.zalo.sent.map((s) => s.userId));
    expect([...zl.keys()].sort()).toEqual([...zaloIds].sort());
    expect([...zl.values()].every((n) => n === 1)).toBe(true);
    expect(h.zalo.sent.every((s) => s.endpoint === 'promotion')).toBe(true);
    expect(JSON.stringify(h.graph.sent()[0]?.body)).toContain('"messaging_type":"UPDATE"');
    expect(await countsOf(h, a.id)).toEqual({ sent: 33 });
  });

  it('applies eligibility per recipient: held and skipped are counted by reason, nothing forbidden is sent', async () => {
    // 10:00 in Vietnam on 15 March: Zalo's sending hours.
    const start = Date.parse('2026-03-15T03:00:00Z');
    h = await startHarness({ label: 'bc_elig', clockStart: start, env: { ZALO_PROMOTION_MONTHLY_CAP: '1' } });
    const recent = new Date(start - 2 * HOUR);
    const inWindow = await h.addSubscribers({ platform: 'messenger', count: 6, prefix: '710', lastInteractionAt: recent });
    await h.addSubscribers({ platform: 'messenger', count: 10, prefix: '711', lastInteractionAt: new Date(start - 30 * HOUR) });
    await h.addSubscribers({ platform: 'messenger', count: 3, prefix: '712', lastInteractionAt: recent, reachable: false });
    const followers = await h.addSubscribers({ platform: 'zalo', count: 5, prefix: '820', lastInteractionAt: recent, following: true });
    await h.addSubscribers({ platform: 'zalo', count: 4, prefix: '821', lastInteractionAt: recent, following: false });
    const capped = await h.addSubscribers({ platform: 'zalo', count: 2, prefix: '822', lastInteractionAt: recent, following: true });
    await h.addSubscribers({ platform: 'web', count: 5, prefix: 'web-', lastInteractionAt: recent });
    // The two "capped" followers already had this month's promotion (cap 1), five days ago.
    const earlier = await h.announce({ channels: ['zalo'] });
    const cappedContacts = await h.services.db.query<{ id: string; account_id: string }>(`SELECT id, account_id FROM contacts WHERE platform_user_id = ANY($1::text[])`, [capped]);
    await h.services.broadcasts.addDeliveries(earlier.id, cappedContacts.map((c) => ({ contactId: Number(c.id), accountId: Number(c.account_id), platform: 'zalo' as const })));
    for (const c of cappedContacts) await h.services.broadcasts.finish(earlier.id, Number(c.id), { status: 'sent', messageId: 'old' }, new Date(start - 5 * 24 * HOUR));
    await h.services.broadcasts.cancel(earlier.id, h.unitId, new Date(start));

    const a = await h.announce({ linkUrl: 'https://dichvucong.gov.vn/p/home/dvc-trang-chu.html', imageUrl: 'https://example.gov.vn/anh/tiep-dan.jpg' });
    await h.startWorkers();
    await h.workers()?.broadcastQueue.scheduleFanout(a.id);
    await waitFor(async () => (await statusOf(h!, a.id)) === 'done', 20_000, 'done');

    expect(await countsOf(h, a.id)).toEqual({
      sent: 11,
      'held:outside_window': 10,
      'held:web_next_visit': 5,
      'skipped:unreachable': 3,
      'skipped:not_following': 4,
      'skipped:zalo_monthly_limit': 2,
    });
    // Messenger: image, then the text with the link button, each recipient in the window only.
    const fb = h.graph.sent();
    expect(new Set(fb.map((s) => s.recipientId))).toEqual(new Set(inWindow));
    expect(fb).toHaveLength(6 * 2);
    const first = fb.filter((s) => s.recipientId === inWindow[0]).map((s) => JSON.stringify(s.body));
    expect(first[0]).toContain('"type":"image"');
    expect(first[1]).toContain('"template_type":"button"');
    expect(first[1]).toContain('"type":"web_url"');
    // Zalo: one promotion per follower, none to the others.
    expect(h.zalo.sent.map((s) => s.userId).sort()).toEqual([...followers].sort());
    const promo = JSON.stringify(h.zalo.sent[0]?.body);
    expect(promo).toContain('"template_type":"promotion"');
    expect(promo).toContain('"type":"banner"');
    expect(promo).toContain('"type":"oa.open.url"');
  });

  it('stops sending when the announcement is cancelled', async () => {
    h = await startHarness({ label: 'bc_cancel', env: { MESSENGER_SEND_RATE: '8', MESSENGER_SEND_BURST: '1' } });
    await h.addSubscribers({ platform: 'messenger', count: 40, prefix: '73', lastInteractionAt: new Date(h.clock.ms() - HOUR) });
    const a = await h.announce({ channels: ['messenger'] });
    await h.startWorkers();
    await h.workers()?.broadcastQueue.scheduleFanout(a.id);
    await waitFor(() => h!.graph.sentCount() >= 3, 20_000, 'first sends');
    const cancelled = await h.services.broadcasts.cancel(a.id, h.unitId, h.clock.now());
    expect(cancelled?.status).toBe('cancelled');
    const atCancel = h.graph.sentCount();
    await new Promise((r) => setTimeout(r, 2000));
    const after = h.graph.sentCount();
    // At most the send already between its claim and the platform goes out.
    expect(after - atCancel).toBeLessThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.graph.sentCount()).toBe(after);
    const counts = await countsOf(h, a.id);
    expect(counts['sent']).toBe(after);
    expect(counts['cancelled']).toBe(40 - after);
    expect(await statusOf(h, a.id)).toBe('cancelled');
  });

  it('starts a scheduled announcement at its time, not before', async () => {
    h = await startHarness({ label: 'bc_sched' });
    await h.addSubscribers({ platform: 'messenger', count: 5, prefix: '74', lastInteractionAt: new Date(h.clock.ms() - HOUR) });
    const at = new Date(h.clock.ms() + 2500);
    const a = await h.announce({ channels: ['messenger'], scheduledAt: at });
    expect(a.status).toBe('scheduled');
    await h.startWorkers();
    // No fan-out job is queued: the tick finds it due through due().
    await new Promise((r) => setTimeout(r, 1500));
    expect(h.graph.sentCount()).toBe(0);
    expect(await statusOf(h, a.id)).toBe('scheduled');
    await waitFor(async () => (await statusOf(h!, a.id)) === 'done', 20_000, 'done');
    expect(h.graph.sentCount()).toBe(5);
    expect(Math.min(...h.graph.sent().map((s) => s.at))).toBeGreaterThanOrEqual(at.getTime());
  });

  it('defers Zalo promotions at night to 06:00 Vietnam time and sends them then', async () => {
    // 23:30 in Vietnam.
    const start = Date.parse('2026-03-15T16:30:00Z');
    h = await startHarness({ label: 'bc_night', clockStart: start });
    const followers = await h.addSubscribers({ platform: 'zalo', count: 3, prefix: '85', lastInteractionAt: new Date(start - HOUR), following: true });
    const a = await h.announce({ channels: ['zalo'] });
    await h.startWorkers();
    await h.workers()?.broadcastQueue.scheduleFanout(a.id);
    const morning = Date.parse('2026-03-15T23:00:00Z'); // 06:00 on the 16th in Vietnam
    await waitFor(async () => {
      const rows = await h!.services.broadcasts.page(a.id, 0, 10);
      return rows.length === 3 && rows.every((d) => d.status === 'pending' && d.attemptAt?.getTime() === morning);
    }, 20_000, 'deferred');
    expect(h.zalo.sent).toHaveLength(0);
    const delayed = await h.outbound.queue.getDelayed();
    expect(delayed).toHaveLength(3);
    // The jobs wait until the morning (real time of the queue: about 6.5 hours from now).
    for (const j of delayed) expect(j.delay).toBeGreaterThan(6 * HOUR);
    expect(await statusOf(h, a.id)).toBe('sending');

    h.clock.set(morning + 60_000);
    h.zalo.setNow(morning + 60_000);
    for (const j of delayed) await j.promote();
    await waitFor(async () => (await statusOf(h!, a.id)) === 'done', 20_000, 'done');
    expect(h.zalo.sent.map((s) => s.userId).sort()).toEqual([...followers].sort());
  });

  it('gives a held announcement once, with the reply to the citizen’s next message, until it expires', async () => {
    h = await startHarness({ label: 'bc_held' });
    const t0 = h.clock.ms();
    const [psid] = await h.addSubscribers({ platform: 'messenger', count: 1, prefix: '75', lastInteractionAt: new Date(t0 - 48 * HOUR) });
    await h.addSubscribers({ platform: 'web', count: 1, prefix: 'visitor-', lastInteractionAt: new Date(t0 - 48 * HOUR) });
    const a = await h.announce({ holdDays: 2, linkUrl: 'https://xa-mau.gov.vn/thong-bao/1' });
    const workers = await h.startWorkers();
    await workers.broadcastQueue.scheduleFanout(a.id);
    await waitFor(async () => (await statusOf(h!, a.id)) === 'done', 20_000, 'done');
    expect(await countsOf(h, a.id)).toEqual({ 'held:outside_window': 1, 'held:web_next_visit': 1 });
    expect(h.graph.sentCount()).toBe(0);

    const contact = await h.services.contacts.find(h.messengerAccountId, psid ?? '');
    if (!contact) throw new Error('no contact');
    // The citizen writes again: two events at once, one hand-over.
    const [r1, r2] = await Promise.all([
      workers.runtime.deliverHeld(contact.id, h.messengerAccountId, 'messenger', psid ?? '', h.clock.now()),
      workers.runtime.deliverHeld(contact.id, h.messengerAccountId, 'messenger', psid ?? '', h.clock.now()),
    ]);
    const replies = [...(r1 ?? []), ...(r2 ?? [])];
    expect(replies).toHaveLength(1);
    expect(replies[0]?.text).toContain('Lịch tiếp công dân tháng 3');
    expect(replies[0]?.links).toEqual([{ title: 'Xem chi tiết', url: 'https://xa-mau.gov.vn/thong-bao/1' }]);
    expect(await workers.runtime.deliverHeld(contact.id, h.messengerAccountId, 'messenger', psid ?? '', h.clock.now())).toEqual([]);
    expect((await h.services.broadcasts.getDelivery(a.id, contact.id))?.status).toBe('sent');

    // The website visitor does not come back within the two days: the tick expires it.
    h.clock.set(t0 + 3 * 24 * HOUR);
    await workers.runtime.tick();
    // The reason stays on the row: "sent, after being held outside the window" in the report.
    expect(await countsOf(h, a.id)).toEqual({ 'sent:outside_window': 1, 'expired:web_next_visit': 1 });
  });
});
