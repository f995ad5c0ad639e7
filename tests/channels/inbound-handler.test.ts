// The inbound handler and a citizen's reachability: a Zalo `unfollow` marks the contact
// unreachable (reason 'unfollow'), a Messenger 551 or a Zalo -213 on a send does so through the
// outbound queue, and the citizen's next message or follow makes them reachable again. Real
// samples, the real contact repository (PGlite), and end to end against the platform fakes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { InboundEvent, Reply } from '../../src/channels/channel.js';
import { createInboundHandler } from '../../src/channels/inbound-handler.js';
import type { ParsedEvent } from '../../src/channels/platform-event.js';
import { parseZaloWebhook } from '../../src/channels/zalo/parse-webhook.js';
import { parseZaloJson } from '../../src/channels/zalo/parse-zalo-json.js';
import { MemoryStateStore } from '../../src/conversation/memory-ports.js';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { AccountRepository } from '../../src/store/account-repository.js';
import { ContactRepository } from '../../src/store/contact-repository.js';
import { SecretBox } from '../../src/store/secret-box.js';
import type { TestServer } from '../helpers/start-server.js';
import { type FakeGraphServer } from '../fakes/graph-server.js';
import { type ZaloFake } from '../fakes/zalo-server.js';
import { startPlatformServer } from '../helpers/platform-server.js';
import { WEBHOOKS_DIR } from './zalo/load-zalo-fixtures.js';

const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });

/** A real Zalo webhook sample, parsed as the intake does. */
function zaloSample(name: string): ParsedEvent {
  const sample = z.object({ body: z.unknown() }).parse(JSON.parse(readFileSync(path.join(WEBHOOKS_DIR, `${name}.json`), 'utf8')));
  const raw = typeof sample.body === 'string' ? sample.body : JSON.stringify(sample.body);
  const [event] = parseZaloWebhook(parseZaloJson(raw));
  if (!event) throw new Error(`no event in ${name}`);
  return event;
}

describe('inbound handler', () => {
  let db: Database;
  let contacts: ContactRepository;
  let accountId = 0;
  const seen: InboundEvent[] = [];
  const queued: Array<{ userId: string; replies: Reply[] }> = [];
  let handle: ReturnType<typeof createInboundHandler>;

  beforeAll(async () => {
    db = await openDatabase({ dataDir: 'memory://' });
    await migrate(db);
    await new UnitRepository(db).upsert([unit('xa-a')]);
    contacts = new ContactRepository(db);
    accountId = (await new AccountRepository(db, new SecretBox('s'.repeat(40))).upsert({ unitId: 'xa-a', platform: 'zalo', externalId: '579745863508352884' })).id;
    // Wired as src/main.ts wires it.
    handle = createInboundHandler({
      engine: {
        handle: async (event) => {
          seen.push(event);
          return event.kind === 'unfollow' ? [] : [{ text: 'ok', buttons: [], quickReplies: [], links: [] }];
        },
      },
      state: new MemoryStateStore(),
      touchContact: async (account, userId, at, following) => void (await contacts.touch(account, userId, at, following)),
      markUnreachable: (account, userId, reason) => contacts.markUnreachable(account, userId, reason),
      queueReplies: async (input) => void queued.push({ userId: input.userId, replies: input.replies }),
      // A held announcement for one citizen, given once (the runtime marks it sent).
      deliverHeld: async (_account, _platform, userId) => {
        if (userId !== 'held-citizen' || heldGiven) return [];
        heldGiven = true;
        return [{ text: 'Thông báo: lịch tiếp dân', buttons: [], quickReplies: [], links: [] }];
      },
      handoffTimeoutSeconds: 60,
    });
  });
  let heldGiven = false;

  it('appends an announcement held for a citizen to the answer when they write again, once', async () => {
    const message = (id: string): ParsedEvent => ({
      type: 'inbound',
      platform: 'zalo',
      kind: 'text',
      accountId: '579745863508352884',
      userId: 'held-citizen',
      dedupeKey: `zl:${id}`,
      messageId: id,
      text: 'xin chào',
      timestamp: 1631000200000,
    });
    queued.length = 0;
    await handle({ accountId, unitId: 'xa-a', event: message('held-1') });
    expect(queued.at(-1)?.replies.map((r) => r.text)).toEqual(['ok', 'Thông báo: lịch tiếp dân']);
    await handle({ accountId, unitId: 'xa-a', event: message('held-2') });
    expect(queued.at(-1)?.replies.map((r) => r.text)).toEqual(['ok']);
  });
  afterAll(() => db.close());

  it('marks a citizen who unfollows the OA unreachable (reason "unfollow") and sends nothing', async () => {
    const follow = zaloSample('zalo-follow-2');
    const unfollow = zaloSample('zalo-unfollow-1');
    expect(unfollow).toMatchObject({ kind: 'unfollow', userId: '8381381219617247797' });
    await handle({ accountId, unitId: 'xa-a', event: follow });
    expect(await contacts.find(accountId, '8381381219617247797')).toMatchObject({ following: true, reachable: true });
    queued.length = 0;
    await handle({ accountId, unitId: 'xa-a', event: unfollow });
    expect(await contacts.find(accountId, '8381381219617247797')).toMatchObject({ following: false, reachable: false, unreachableReason: 'unfollow' });
    expect(seen.at(-1)?.kind).toBe('unfollow');
    expect(queued).toEqual([]);
  });

  it('makes them reachable again when they write or follow again', async () => {
    const userId = '8381381219617247797';
    const message: ParsedEvent = {
      type: 'inbound',
      platform: 'zalo',
      kind: 'text',
      accountId: '579745863508352884',
      userId,
      dedupeKey: 'zl:msg-after-unfollow',
      messageId: 'msg-after-unfollow',
      text: 'xin chào',
      timestamp: 1631000300000,
    };
    await handle({ accountId, unitId: 'xa-a', event: message });
    expect(await contacts.find(accountId, userId)).toMatchObject({ reachable: true, unreachableReason: null });
    await handle({ accountId, unitId: 'xa-a', event: zaloSample('zalo-unfollow-1') });
    expect((await contacts.find(accountId, userId))?.reachable).toBe(false);
    await handle({ accountId, unitId: 'xa-a', event: { ...zaloSample('zalo-follow-2'), timestamp: 1631000400000 } });
    expect(await contacts.find(accountId, userId)).toMatchObject({ following: true, reachable: true });
  });

  it('opens the group list, not a subscription, for a link carrying a subscription payload', async () => {
    const base = { type: 'inbound' as const, platform: 'messenger' as const, accountId: '106000000000001', userId: '7000000000000999', timestamp: 1631000500000 };
    await handle({ accountId, unitId: 'xa-a', event: { ...base, kind: 'referral', ref: 'mc:sub:12', dedupeKey: 'fb:r1', messageId: 'r1' } });
    expect(seen.at(-1)).toMatchObject({ kind: 'postback', payload: 'mc:sub' });
    await handle({ accountId, unitId: 'xa-a', event: { ...base, kind: 'postback', payload: 'GET_STARTED', ref: 'mc:unsub:all', dedupeKey: 'fb:r2', messageId: 'r2' } });
    expect(seen.at(-1)).toMatchObject({ kind: 'postback', payload: 'mc:unsub' });
    await handle({ accountId, unitId: 'xa-a', event: { ...base, kind: 'referral', ref: 'mc:pick:1.001193', dedupeKey: 'fb:r3', messageId: 'r3' } });
    expect(seen.at(-1)).toMatchObject({ kind: 'postback', payload: 'mc:pick:1.001193' });
    // A tap in the chat itself subscribes as it is.
    await handle({ accountId, unitId: 'xa-a', event: { ...base, kind: 'postback', payload: 'mc:sub:12', dedupeKey: 'fb:r4', messageId: 'r4' } });
    expect(seen.at(-1)).toMatchObject({ kind: 'postback', payload: 'mc:sub:12' });
  });
});

// ---- end to end: a send refused because the person cannot be reached -------------------------

const FB_APP_SECRET = 'fb-app-secret-for-reach';
const FB_PAGE_ID = '106000000000077';
const FB_TOKEN = 'EAAG-reach-page-token';
const ZALO_APP_ID = '360846524940903977';
const ZALO_APP_SECRET = 'zalo-app-secret-for-reach';
const ZALO_OA_SECRET = 'zalo-oa-secret-key-for-reach';
const ZALO_OA_ID = '388613280900000077';

describe('reachability through the outbound queue (Messenger 551, Zalo -213)', () => {
  let graph: FakeGraphServer;
  let zalo: ZaloFake;
  let srv: TestServer;

  beforeAll(async () => {
    ({ graph, zalo, srv } = await startPlatformServer({
      fbAppSecret: FB_APP_SECRET,
      fbPageId: FB_PAGE_ID,
      fbToken: FB_TOKEN,
      fbVerifyToken: 'verify-token-for-reach',
      zaloAppId: ZALO_APP_ID,
      zaloAppSecret: ZALO_APP_SECRET,
      zaloOaSecret: ZALO_OA_SECRET,
      zaloOaId: ZALO_OA_ID,
    }));
  }, 90_000);

  afterAll(async () => {
    await srv?.stop();
    await graph?.close();
    await zalo?.close();
  });

  const waitFor = async <T>(fn: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  async function postMessenger(psid: string, mid: string, text: string): Promise<void> {
    const ts = Date.now();
    const raw = JSON.stringify({
      object: 'page',
      entry: [{ id: FB_PAGE_ID, time: ts, messaging: [{ sender: { id: psid }, recipient: { id: FB_PAGE_ID }, timestamp: ts, message: { mid, text } }] }],
    });
    const res = await fetch(`${srv.url}/webhooks/messenger`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', FB_APP_SECRET).update(raw).digest('hex')}` },
      body: raw,
    });
    expect(res.status).toBe(200);
  }

  async function postZalo(userId: string, msgId: string, text: string): Promise<void> {
    const ts = Date.now();
    const raw = `{"app_id":"${ZALO_APP_ID}","sender":{"id":"${userId}"},"user_id_by_app":"552177279717587731","recipient":{"id":"${ZALO_OA_ID}"},"event_name":"user_send_text","message":{"text":${JSON.stringify(text)},"msg_id":"${msgId}"},"timestamp":"${ts}"}`;
    const mac = createHash('sha256').update(`${ZALO_APP_ID}${raw}${ts}${ZALO_OA_SECRET}`).digest('hex');
    const res = await fetch(`${srv.url}/webhooks/zalo`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-zevent-signature': `mac=${mac}` }, body: raw });
    expect(res.status).toBe(200);
  }

  async function contactOf(platform: 'messenger' | 'zalo', externalId: string, userId: string) {
    const s = srv.running.services;
    const account = await s.accounts.find(platform, externalId);
    return account ? s.contacts.find(account.id, userId) : undefined;
  }

  it('Messenger 551 (the person blocked the Page) marks the contact unreachable; their next message makes them reachable', async () => {
    const psid = '7100000000000551';
    graph.lastInteraction.set(psid, Date.now());
    graph.blocked.add(psid);
    await postMessenger(psid, 'm_reach_1', 'đăng ký khai sinh');
    const blocked = await waitFor(async () => {
      const c = await contactOf('messenger', FB_PAGE_ID, psid);
      return c && !c.reachable && c;
    });
    expect(blocked.unreachableReason).toBe('user_blocked');
    expect(graph.sent().filter((s) => s.recipientId === psid)).toHaveLength(0);

    graph.blocked.delete(psid);
    await postMessenger(psid, 'm_reach_2', 'đăng ký kết hôn');
    await waitFor(async () => graph.sent().some((s) => s.recipientId === psid));
    expect(await contactOf('messenger', FB_PAGE_ID, psid)).toMatchObject({ reachable: true, unreachableReason: null });
  });

  it('Zalo -213 (not following the OA) marks the contact unreachable; their next message makes them reachable', async () => {
    const user = '246845883529190213';
    zalo.setUser(user, { lastInteractionAt: zalo.now(), following: false });
    await postZalo(user, 'zmsg-reach-1', 'dk ket hon');
    const gone = await waitFor(async () => {
      const c = await contactOf('zalo', ZALO_OA_ID, user);
      return c && !c.reachable && c;
    });
    expect(gone.unreachableReason).toBe('user_unfollowed');
    expect(zalo.requests.some((r) => r.error === -213)).toBe(true);

    zalo.setUser(user, { lastInteractionAt: zalo.now(), following: true });
    await postZalo(user, 'zmsg-reach-2', 'dk khai sinh');
    await waitFor(async () => zalo.sent.some((s) => s.userId === user));
    expect(await contactOf('zalo', ZALO_OA_ID, user)).toMatchObject({ reachable: true, unreachableReason: null });
  });
});
