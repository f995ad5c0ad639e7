// The dossier notifier end to end (issue #7): status events → notices → outbound jobs → the fake
// platforms, on real PostgreSQL and Redis. Each test seeds its own citizens and dossiers; ticks
// are run by hand (the scheduled tick is the same call).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNotifierEnv, waitFor, type NotifierEnv } from './notifier-setup.js';
import { createInboundHandler } from '../../src/channels/inbound-handler.js';
import { surveyStartPayload, parseSurveyStart } from '../../src/surveys/chat-payload.js';
import { createDossierNotifier } from '../../src/dossiers/notifier.js';
import { createNoticeGateway } from '../../src/dossiers/notice-gateway.js';
import { createNoticeJobs } from '../../src/jobs/dossier-notify-queue.js';
import type { SentRecord } from '../fakes/zalo-server.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

let env: NotifierEnv;

beforeAll(async () => {
  env = await startNotifierEnv('notifier');
}, 30_000);

afterAll(async () => {
  await env?.stop();
});

const transactionsTo = (userId: string): SentRecord[] => env.zalo.sent.filter((s) => s.endpoint === 'transaction' && s.userId === userId);
const graphTo = (psid: string) => env.graph.sent().filter((m) => m.recipientId === psid);
type TxPayload = { template_type: string; elements: Array<{ type: string; content: unknown }>; buttons?: Array<{ title: string; type: string; payload: unknown }> };
const payloadOf = (s: SentRecord): TxPayload => (s.body as { message: { attachment: { payload: TxPayload } } }).message.attachment.payload;
const textOf = (p: TxPayload): string => p.elements.filter((e) => e.type === 'text').map((e) => String(e.content)).join('\n');

async function settled(dossierId: number, contactId: number, kind: 'result_ready' | 'evaluation', status: string) {
  return waitFor(async () => {
    const n = await env.notice(dossierId, contactId, kind);
    return n && n.status === status ? n : undefined;
  }, `${kind} notice ${status}`);
}

describe('result ready', () => {
  it('Zalo within a year: one transaction message with the code, procedure and where to collect', async () => {
    const uid = '8100000000000000001';
    const contactId = await env.contact('zalo', uid, new Date(Date.now() - 200 * DAY), true);
    const d = await env.dossier('000.00.01.H56-240101-0001', { pickupPlace: 'Quầy số 3, Bộ phận Một cửa UBND xã' });
    await env.services.dossiers.link(d.id, contactId);
    await env.status(d, 'result_ready');
    const tick = await env.notices.notifier.tick();
    expect(tick.queued).toBe(1);
    const n = await settled(d.id, contactId, 'result_ready', 'sent');
    expect(n.reason).toBeNull();
    const sent = transactionsTo(uid);
    expect(sent).toHaveLength(1);
    const p = payloadOf(sent[0]!);
    expect(p.template_type).toBe('transaction_order');
    expect(p.elements.find((e) => e.type === 'header')?.content).toBe('Hồ sơ 000.00.01.H56-240101-0001 đã có kết quả');
    expect(textOf(p)).toContain('Đăng ký khai sinh');
    expect(textOf(p)).toContain('Quầy số 3, Bộ phận Một cửa UBND xã');
    expect(p.buttons).toBeUndefined();
    expect((await env.services.dossiers.getLink(d.id, contactId))?.resultNotifiedAt).toBeInstanceOf(Date);
    // Nothing went through the consultation lane.
    expect(env.zalo.sent.filter((s) => s.userId === uid && s.endpoint !== 'transaction')).toHaveLength(0);
    // A later tick finds nothing new and sends nothing again.
    const again = await env.notices.notifier.tick();
    expect(again.queued).toBe(0);
    expect(transactionsTo(uid)).toHaveLength(1);
  });

  it('Zalo beyond a year: skipped (window), nothing sent', async () => {
    const uid = '8100000000000000002';
    const contactId = await env.contact('zalo', uid, new Date(Date.now() - 400 * DAY), true);
    const d = await env.dossier('000.00.01.H56-240101-0002');
    await env.services.dossiers.link(d.id, contactId);
    await env.status(d, 'result_ready');
    await env.notices.notifier.tick();
    const n = await settled(d.id, contactId, 'result_ready', 'skipped');
    expect(n.reason).toBe('window');
    expect(transactionsTo(uid)).toHaveLength(0);
    expect(env.zalo.requests.filter((r) => r.rawBody.includes(uid))).toHaveLength(0);
    expect((await env.services.dossiers.getLink(d.id, contactId))?.resultNotifiedAt).toBeNull();
  });

  it('Messenger inside 24 hours: sent as an UPDATE; the unit’s desk when the dossier names no place', async () => {
    const psid = '7100000000000001';
    const contactId = await env.contact('messenger', psid, new Date(Date.now() - 2 * HOUR));
    const d = await env.dossier('000.00.01.H56-240101-0003');
    await env.services.dossiers.link(d.id, contactId);
    await env.status(d, 'result_ready');
    await env.notices.notifier.tick();
    await settled(d.id, contactId, 'result_ready', 'sent');
    const msgs = graphTo(psid);
    expect(msgs).toHaveLength(1);
    const body = msgs[0]!.body as { messaging_type: string; message: { text: string } };
    expect(body.messaging_type).toBe('UPDATE');
    expect(body.message.text).toContain('000.00.01.H56-240101-0003');
    expect(body.message.text).toContain('Bộ phận Một cửa');
    expect(body.message.text).toBe(body.message.text.normalize('NFC'));
  });

  it('Messenger outside 24 hours: held, then delivered once with the next answers', async () => {
    const psid = '7100000000000002';
    const contactId = await env.contact('messenger', psid, new Date(Date.now() - 3 * DAY));
    const d = await env.dossier('000.00.01.H56-240101-0004');
    await env.services.dossiers.link(d.id, contactId);
    await env.status(d, 'result_ready');
    await env.notices.notifier.tick();
    const held = await settled(d.id, contactId, 'result_ready', 'held');
    expect(held.reason).toBe('outside_window');
    expect(graphTo(psid)).toHaveLength(0);

    // The citizen writes twice: the inbound path (as main.ts composes it) appends the notice to
    // the first answer only.
    const { services, platforms, outbound } = env;
    const handle = createInboundHandler({
      engine: { handle: async () => [{ text: 'Chào bạn, tôi có thể giúp gì?', buttons: [], quickReplies: [], links: [] }] },
      state: services.state,
      touchContact: async (accountId, userId, at, following) => void (await services.contacts.touch(accountId, userId, at, following)),
      deliverHeld: async (accountId, platform, userId, at) => {
        const c = await services.contacts.find(accountId, userId);
        return c ? env.notices.notifier.deliverHeld(c.id, platform, at) : [];
      },
      queueReplies: (input) => platforms.queueReplies(outbound, input),
      handoffTimeoutSeconds: 3600,
    });
    const write = async (n: number) => {
      env.graph.lastInteraction.set(psid, Date.now());
      await handle({
        accountId: env.accounts.messenger,
        unitId: env.unitId,
        event: { type: 'inbound', platform: 'messenger', kind: 'text', accountId: '106000000000907', userId: psid, dedupeKey: `m-${psid}-${n}`, messageId: `m-${psid}-${n}`, text: 'xin chào', timestamp: Date.now() },
      });
    };
    await Promise.all([write(1), write(2)]);
    await waitFor(() => graphTo(psid).length >= 3, 'answers and the notice');
    await new Promise((r) => setTimeout(r, 200));
    const msgs = graphTo(psid).map((m) => m.body as { messaging_type: string; message: { text?: string } });
    expect(msgs).toHaveLength(3);
    const notices = msgs.filter((m) => m.message.text?.includes('000.00.01.H56-240101-0004'));
    expect(notices).toHaveLength(1);
    expect(notices[0]!.messaging_type).toBe('RESPONSE');
    const n = await env.notice(d.id, contactId, 'result_ready');
    expect(n).toMatchObject({ status: 'sent', reason: 'with_answer' });
    expect((await env.services.dossiers.getLink(d.id, contactId))?.resultNotifiedAt).toBeInstanceOf(Date);
  });

  it('website: held for the next visit, shown once', async () => {
    const session = 'web-session-notices-0001';
    const contactId = await env.contact('web', session, new Date(Date.now() - DAY));
    const d = await env.dossier('000.00.01.H56-240101-0005');
    await env.services.dossiers.link(d.id, contactId);
    await env.status(d, 'result_ready');
    const tick = await env.notices.notifier.tick();
    expect(tick.held).toBe(1);
    expect(tick.queued).toBe(0);
    expect(await env.notice(d.id, contactId, 'result_ready')).toMatchObject({ status: 'held', reason: 'web_next_visit' });
    const [first, second] = await Promise.all([env.notices.notifier.deliverHeld(contactId, 'web'), env.notices.notifier.deliverHeld(contactId, 'web')]);
    const replies = [...first!, ...second!];
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain('000.00.01.H56-240101-0005');
    expect(replies[0]!.buttons).toEqual([]);
    expect(await env.notices.notifier.deliverHeld(contactId, 'web')).toEqual([]);
  });

  it('an unlinked citizen gets nothing; one who unlinks while it is held neither', async () => {
    const uid = '8100000000000000006';
    const zaloContact = await env.contact('zalo', uid, new Date(Date.now() - DAY), true);
    const session = 'web-session-notices-0006';
    const webContact = await env.contact('web', session, new Date(Date.now() - DAY));
    const d = await env.dossier('000.00.01.H56-240101-0006');
    await env.services.dossiers.link(d.id, zaloContact);
    await env.services.dossiers.unlink(d.id, zaloContact);
    await env.services.dossiers.link(d.id, webContact);
    await env.status(d, 'result_ready');
    await env.notices.notifier.tick();
    expect(await env.notice(d.id, zaloContact, 'result_ready')).toBeUndefined();
    expect(await env.notice(d.id, webContact, 'result_ready')).toMatchObject({ status: 'held' });
    await env.services.dossiers.unlink(d.id, webContact);
    expect(await env.notices.notifier.deliverHeld(webContact, 'web')).toEqual([]);
    expect(await env.notice(d.id, webContact, 'result_ready')).toMatchObject({ status: 'skipped', reason: 'unlinked' });
    await new Promise((r) => setTimeout(r, 200));
    expect(transactionsTo(uid)).toHaveLength(0);
  });
});

describe('evaluation offer', () => {
  it('is offered once: returned → processing → returned, two notifiers at once, a restart', async () => {
    const uid = '8100000000000000010';
    const contactId = await env.contact('zalo', uid, new Date(Date.now() - 30 * DAY), true);
    const d = await env.dossier('000.00.01.H56-240101-0010', { procedureCode: '1.001193' });
    await env.services.dossiers.link(d.id, contactId);
    await env.status(d, 'result_ready', 'returned', 'processing', 'returned');
    const other = env.newNotices();
    const [a, b] = await Promise.all([env.notices.notifier.tick(), other.notifier.tick()]);
    // The result notice is outdated (the dossier was handed over meanwhile); one offer is queued.
    expect(a.queued + b.queued).toBe(2);
    await settled(d.id, contactId, 'evaluation', 'sent');
    expect(await env.notice(d.id, contactId, 'result_ready')).toMatchObject({ status: 'skipped', reason: 'outdated' });
    // Handed over again later, and a restarted notifier reads on: still one offer.
    await env.status(d, 'processing', 'returned');
    const restarted = env.newNotices();
    await restarted.notifier.tick();
    await Promise.all([restarted.notifier.tick(), other.notifier.tick()]);
    await new Promise((r) => setTimeout(r, 300));
    const sent = transactionsTo(uid);
    expect(sent).toHaveLength(1);
    const p = payloadOf(sent[0]!);
    expect(p.elements.find((e) => e.type === 'header')?.content).toBe('Hồ sơ 000.00.01.H56-240101-0010 đã trả kết quả');
    const expected = surveyStartPayload({ definitionId: 'dossier-evaluation', procedureCode: '1.001193', dossierCode: '000.00.01.H56-240101-0010' });
    expect(p.buttons).toEqual([{ title: 'Đánh giá', type: 'oa.query.hide', payload: expected }]);
    expect(parseSurveyStart(expected)).toEqual({ definitionId: 'dossier-evaluation', procedureCode: '1.001193', dossierCode: '000.00.01.H56-240101-0010' });
    const rows = await env.services.db.query('SELECT 1 FROM dossier_notices WHERE dossier_id = $1 AND kind = $2', [d.id, 'evaluation']);
    expect(rows).toHaveLength(1);
    expect((await env.services.dossiers.getLink(d.id, contactId))?.evaluationOfferedAt).toBeInstanceOf(Date);
  });

  it('sent back before the offer went out: skipped, then offered once when returned again', async () => {
    const psid = '7100000000000011';
    const contactId = await env.contact('messenger', psid, new Date(Date.now() - HOUR));
    const d = await env.dossier('000.00.01.H56-240101-0011', { procedureCode: null, procedureName: 'Chứng thực chữ ký' });
    await env.services.dossiers.link(d.id, contactId);
    await env.status(d, 'returned', 'processing');
    await env.notices.notifier.tick();
    expect(await settled(d.id, contactId, 'evaluation', 'skipped')).toMatchObject({ reason: 'outdated' });
    await env.status(d, 'returned');
    await env.notices.notifier.tick();
    await settled(d.id, contactId, 'evaluation', 'sent');
    await env.notices.notifier.tick();
    await new Promise((r) => setTimeout(r, 200));
    const msgs = graphTo(psid);
    expect(msgs).toHaveLength(1);
    const body = msgs[0]!.body as { messaging_type: string; message: { attachment: { payload: { template_type: string; text: string; buttons: Array<{ type: string; title: string; payload: string }> } } } };
    expect(body.messaging_type).toBe('UPDATE');
    expect(body.message.attachment.payload.template_type).toBe('button');
    expect(body.message.attachment.payload.text).toContain('Chứng thực chữ ký');
    expect(body.message.attachment.payload.buttons).toEqual([
      { type: 'postback', title: 'Đánh giá', payload: surveyStartPayload({ definitionId: 'dossier-evaluation', dossierCode: '000.00.01.H56-240101-0011' }) },
    ]);
  });
});

describe('reading the events', () => {
  it('waits for a transaction still writing an earlier event; passes a rolled-back one after the grace', async () => {
    const psid = '7100000000000040';
    const contactId = await env.contact('messenger', psid, new Date(Date.now() - HOUR));
    const [d1, d2, d3, d4] = await Promise.all(['000.00.01.H56-240101-0041', '000.00.01.H56-240101-0042', '000.00.01.H56-240101-0043', '000.00.01.H56-240101-0044'].map((c) => env.dossier(c)));
    for (const d of [d1!, d2!, d3!, d4!]) await env.services.dossiers.link(d.id, contactId);
    await env.notices.notifier.tick();
    // A long write (an import) takes an event id, then a short one commits a later id.
    let commit!: () => void;
    const gate = new Promise<void>((r) => (commit = r));
    let written!: () => void;
    const hasWritten = new Promise<void>((r) => (written = r));
    const long = env.services.dossiers.transaction(async (w) => {
      await w.changeStatus(env.unitId, d1!.id, { status: 'result_ready' }, { source: 'import', actor: null, at: env.nextAt() });
      written();
      await gate;
    });
    await hasWritten;
    await env.status(d2!, 'result_ready');
    const waiting = await env.notices.notifier.tick();
    expect(waiting.queued).toBe(0);
    expect(await env.notice(d2!.id, contactId, 'result_ready')).toBeUndefined();
    commit();
    await long;
    expect((await env.notices.notifier.tick()).queued).toBe(2);
    await settled(d1!.id, contactId, 'result_ready', 'sent');
    await settled(d2!.id, contactId, 'result_ready', 'sent');

    // A write that rolls back leaves a hole for good: passed once the grace is over.
    await expect(
      env.services.dossiers.transaction(async (w) => {
        await w.changeStatus(env.unitId, d3!.id, { status: 'result_ready' }, { source: 'import', actor: null, at: env.nextAt() });
        throw new Error('import refused');
      }),
    ).rejects.toThrow('import refused');
    await env.status(d4!, 'result_ready');
    const impatient = env.newNotices({ gapGraceSeconds: 0 });
    expect((await impatient.notifier.tick()).queued).toBe(1);
    await settled(d4!.id, contactId, 'result_ready', 'sent');
    expect(await env.notice(d3!.id, contactId, 'result_ready')).toBeUndefined();
    expect(graphTo(psid)).toHaveLength(3);
  });
});

describe('platform errors and crashes', () => {
  it('Zalo permission refused (-223): the account is paused, nothing lost; sent once it is active again', async () => {
    const uid = '8100000000000000020';
    const contactId = await env.contact('zalo', uid, new Date(Date.now() - DAY), true);
    const d = await env.dossier('000.00.01.H56-240101-0020');
    await env.services.dossiers.link(d.id, contactId);
    await env.status(d, 'result_ready');
    env.zalo.failNext('transaction', -223, 1, 'OA has not granted this API');
    await env.notices.notifier.tick();
    await waitFor(async () => (await env.services.accounts.get(env.accounts.zalo))?.status === 'paused', 'account paused');
    expect((await env.services.accounts.get(env.accounts.zalo))?.statusReason).toContain('-223');
    await new Promise((r) => setTimeout(r, 400));
    // Not re-queued while the account is paused.
    expect((await env.notices.notifier.tick()).redriven).toBe(0);
    expect(await env.notice(d.id, contactId, 'result_ready')).toMatchObject({ status: 'pending' });
    expect(transactionsTo(uid)).toHaveLength(0);
    await env.services.accounts.setStatus(env.accounts.zalo, 'active', null);
    await new Promise((r) => setTimeout(r, 1100)); // the platforms' account cache (1 s)
    expect((await env.notices.notifier.tick()).redriven).toBe(1);
    await settled(d.id, contactId, 'result_ready', 'sent');
    expect(transactionsTo(uid)).toHaveLength(1);
  });

  it('Zalo token refused (-216): refreshed once and sent; refused again: the OA must be reconnected', async () => {
    const uid = '8100000000000000021';
    const contactId = await env.contact('zalo', uid, new Date(Date.now() - DAY), true);
    const d1 = await env.dossier('000.00.01.H56-240101-0021');
    await env.services.dossiers.link(d1.id, contactId);
    await env.status(d1, 'result_ready');
    const refreshes = env.zalo.refreshCount;
    env.zalo.failNext('transaction', -216, 1, 'Access token is invalid');
    await env.notices.notifier.tick();
    await settled(d1.id, contactId, 'result_ready', 'sent');
    expect(env.zalo.refreshCount).toBe(refreshes + 1);
    expect(transactionsTo(uid)).toHaveLength(1);

    const d2 = await env.dossier('000.00.01.H56-240101-0022');
    await env.services.dossiers.link(d2.id, contactId);
    await env.status(d2, 'result_ready');
    env.zalo.failNext('transaction', -216, 2, 'Access token is invalid');
    await env.notices.notifier.tick();
    await waitFor(async () => (await env.services.accounts.get(env.accounts.zalo))?.status === 'reconnect_required', 'reconnect required');
    expect(await env.notice(d2.id, contactId, 'result_ready')).toMatchObject({ status: 'pending' });
    expect(transactionsTo(uid)).toHaveLength(1);
    await env.services.accounts.setStatus(env.accounts.zalo, 'active', null);
  });

  it('a worker that dies after Zalo accepted the message: found in the history, not sent again', async () => {
    const uid = '8100000000000000030';
    const contactId = await env.contact('zalo', uid, new Date(Date.now() - DAY), true);
    const d = await env.dossier('000.00.01.H56-240101-0030');
    await env.services.dossiers.link(d.id, contactId);
    await env.status(d, 'result_ready');
    const { services, platforms, outbound, config } = env;
    const real = createNoticeGateway({
      broadcast: platforms.broadcast.gateway,
      zaloOaId: async () => '388613280900000907',
      zaloTokens: platforms.zaloTokens,
      zaloOpenapiUrl: config.ZALO_OPENAPI_URL,
    });
    let crashes = 0;
    const crashing = createDossierNotifier({
      store: env.notices.store,
      gateway: {
        recentMessages: real.recentMessages,
        send: async (target, body) => {
          const outcome = await real.send(target, body);
          if (crashes++ === 0) throw new Error('worker killed after the platform accepted');
          return outcome;
        },
      },
      jobs: createNoticeJobs(outbound),
      marks: { resultNotified: (a, b, at) => services.dossiers.markResultNotified(a, b, at), evaluationOffered: (a, b, at) => services.dossiers.markEvaluationOffered(a, b, at) },
      unit: async () => ({ name: 'UBND xã Thử Nghiệm', address: null, hours: null }),
      evaluationSurvey: 'dossier-evaluation',
      heldDays: 7,
      leaseMs: 1000,
      idleMs: 300,
    });
    env.use(crashing);
    try {
      await crashing.tick();
      await settled(d.id, contactId, 'result_ready', 'sent');
    } finally {
      env.use(env.notices.notifier);
    }
    expect(crashes).toBe(1);
    expect(transactionsTo(uid)).toHaveLength(1);
    expect((await env.services.dossiers.getLink(d.id, contactId))?.resultNotifiedAt).toBeInstanceOf(Date);
  });
});
