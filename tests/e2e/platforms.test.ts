// Messenger and Zalo end to end: signed webhooks into the real server, the real queues and
// engine, replies arriving at local fakes of the Graph Send API and the Zalo OpenAPI/OAuth.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, createHmac } from 'node:crypto';
import type { TestServer } from '../helpers/start-server.js';
import { type FakeGraphServer } from '../fakes/graph-server.js';
import { type ZaloFake } from '../fakes/zalo-server.js';
import { startPlatformServer } from '../helpers/platform-server.js';
import { signConnectToken } from '../../src/channels/connect/connect-link.js';
import { devSecret } from '../../src/services.js';

const FB_APP_SECRET = 'fb-app-secret-for-tests';
const FB_PAGE_ID = '106000000000001';
const FB_TOKEN = 'EAAG-test-page-token';
const ZALO_APP_ID = '360846524940903967';
const ZALO_APP_SECRET = 'zalo-app-secret-for-tests';
const ZALO_OA_SECRET = 'zalo-oa-secret-key-for-tests';
const ZALO_OA_ID = '388613280900000001';
const IDS = (fbVerifyToken: string) => ({
  fbAppSecret: FB_APP_SECRET,
  fbPageId: FB_PAGE_ID,
  fbToken: FB_TOKEN,
  fbVerifyToken,
  zaloAppId: ZALO_APP_ID,
  zaloAppSecret: ZALO_APP_SECRET,
  zaloOaSecret: ZALO_OA_SECRET,
  zaloOaId: ZALO_OA_ID,
});

let graph: FakeGraphServer;
let zalo: ZaloFake;
let srv: TestServer;

beforeAll(async () => {
  ({ graph, zalo, srv } = await startPlatformServer(IDS('verify-token-for-tests'), {
    grant: (z) => z.grant(ZALO_OA_ID, { accessExpiresAt: z.now() + 5 * 60_000 }), // expiring: refreshed on first use
    env: { ZALO_SITE_VERIFICATION: 'Abc123VerifyCode' },
  }));
}, 90_000);

afterAll(async () => {
  await srv?.stop();
  await graph?.close();
  await zalo?.close();
});

const waitFor = async <T>(fn: () => T | undefined | false, ms = 15_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
};

function messengerBody(psid: string, mid: string, text: string, ts = Date.now()): string {
  return JSON.stringify({
    object: 'page',
    entry: [{ id: FB_PAGE_ID, time: ts, messaging: [{ sender: { id: psid }, recipient: { id: FB_PAGE_ID }, timestamp: ts, message: { mid, text } }] }],
  });
}

async function postMessenger(raw: string, signature?: string): Promise<Response> {
  const sig = signature ?? `sha256=${createHmac('sha256', FB_APP_SECRET).update(raw).digest('hex')}`;
  return fetch(`${srv.url}/webhooks/messenger`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sig }, body: raw });
}

function zaloBody(userId: string, msgId: string, text: string, ts = Date.now()): string {
  return `{"app_id":"${ZALO_APP_ID}","sender":{"id":"${userId}"},"user_id_by_app":"552177279717587730","recipient":{"id":"${ZALO_OA_ID}"},"event_name":"user_send_text","message":{"text":${JSON.stringify(text)},"msg_id":"${msgId}"},"timestamp":"${ts}"}`;
}

async function postZalo(raw: string, sign = true): Promise<Response> {
  const ts = /"timestamp":"(\d+)"/.exec(raw)?.[1] ?? '';
  const mac = createHash('sha256').update(`${ZALO_APP_ID}${raw}${ts}${ZALO_OA_SECRET}`).digest('hex');
  return fetch(`${srv.url}/webhooks/zalo`, { method: 'POST', headers: { 'content-type': 'application/json', ...(sign ? { 'x-zevent-signature': `mac=${mac}` } : {}) }, body: raw });
}

const textOf = (body: unknown): string => JSON.stringify(body);

describe('Messenger', () => {
  it('answers the verify-token handshake and refuses a wrong token', async () => {
    const ok = await fetch(`${srv.url}/webhooks/messenger?hub.mode=subscribe&hub.verify_token=verify-token-for-tests&hub.challenge=1158201444`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('1158201444');
    const bad = await fetch(`${srv.url}/webhooks/messenger?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1`);
    expect(bad.status).toBe(403);
  });

  it('answers a citizen through the Send API with the right procedure', async () => {
    const psid = '7100000000000001';
    graph.lastInteraction.set(psid, Date.now());
    const res = await postMessenger(messengerBody(psid, 'm_e2e_1', 'cho em hỏi làm giấy khai sinh cần gì ạ'));
    expect(res.status).toBe(200);
    const sent = await waitFor(() => graph.sent().filter((s) => s.recipientId === psid).length > 0 && graph.sent().filter((s) => s.recipientId === psid));
    expect(sent.map((s) => textOf(s.body)).join(' ')).toMatch(/khai sinh/i);
    expect(textOf(sent[0]?.body)).toMatch(/"messaging_type":"RESPONSE"/);
  });

  it('refuses bad signatures (401), malformed bodies (400) and huge bodies (413) without processing', async () => {
    const psid = '7100000000000002';
    graph.lastInteraction.set(psid, Date.now());
    const raw = messengerBody(psid, 'm_e2e_bad', 'xin chào');
    expect((await postMessenger(raw, 'sha256=' + '0'.repeat(64))).status).toBe(401);
    expect((await postMessenger(raw, '')).status).toBe(401);
    expect((await postMessenger('{"object":"page","entry":')).status).toBe(400);
    expect((await postMessenger(`{"x":"${'a'.repeat(1_100_000)}"}`)).status).toBe(413);
    await new Promise((r) => setTimeout(r, 500));
    expect(graph.sent().filter((s) => s.recipientId === psid)).toHaveLength(0);
  });

  it('sends exactly one reply for ten concurrent copies of one event', async () => {
    const psid = '7100000000000003';
    graph.lastInteraction.set(psid, Date.now());
    const raw = messengerBody(psid, 'm_e2e_dup', 'đăng ký kết hôn');
    const statuses = await Promise.all(Array.from({ length: 10 }, () => postMessenger(raw).then((r) => r.status)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    // The same question asked once by someone else gives the size of one turn.
    const control = '7100000000000013';
    graph.lastInteraction.set(control, Date.now());
    await postMessenger(messengerBody(control, 'm_e2e_control', 'đăng ký kết hôn'));
    await waitFor(() => graph.sent().some((s) => s.recipientId === psid) && graph.sent().some((s) => s.recipientId === control));
    await new Promise((r) => setTimeout(r, 1000));
    const oneTurn = graph.sent().filter((s) => s.recipientId === control).length;
    expect(oneTurn).toBeGreaterThan(0);
    expect(graph.sent().filter((s) => s.recipientId === psid)).toHaveLength(oneTurn);
  });

  it('answers one citizen\'s quick messages in order', async () => {
    const psid = '7100000000000004';
    graph.lastInteraction.set(psid, Date.now());
    const t = Date.now();
    await postMessenger(messengerBody(psid, 'm_ord_1', 'đăng ký khai tử', t));
    await postMessenger(messengerBody(psid, 'm_ord_2', 'đăng ký tạm trú', t + 1));
    const sent = await waitFor(() => {
      const mine = graph.sent().filter((s) => s.recipientId === psid).map((s) => textOf(s.body));
      return mine.some((b) => /tạm trú/i.test(b)) && mine;
    });
    const first = sent.findIndex((b) => /khai tử/i.test(b));
    const second = sent.findIndex((b) => /tạm trú/i.test(b));
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).toBeLessThan(second);
  });

  it('never sends outside the 24-hour window: a message delivered late gets no reply', async () => {
    const psid = '7100000000000007';
    const old = Date.now() - 25 * 3600_000;
    graph.lastInteraction.set(psid, old);
    expect((await postMessenger(messengerBody(psid, 'm_late_1', 'đăng ký khai sinh', old))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    expect(graph.requests().filter((q) => JSON.stringify(q.body).includes(psid))).toHaveLength(0);
  });

  it('answers a photo politely, asking for a typed question', async () => {
    const psid = '7100000000000006';
    graph.lastInteraction.set(psid, Date.now());
    const t = Date.now();
    const raw = JSON.stringify({
      object: 'page',
      entry: [{ id: FB_PAGE_ID, time: t, messaging: [{ sender: { id: psid }, recipient: { id: FB_PAGE_ID }, timestamp: t, message: { mid: 'm_photo_1', attachments: [{ type: 'image', payload: { url: 'https://scontent.example/photo.jpg' } }] } }] }],
    });
    expect((await postMessenger(raw)).status).toBe(200);
    const sent = await waitFor(() => graph.sent().filter((s) => s.recipientId === psid).length > 0 && graph.sent().filter((s) => s.recipientId === psid));
    expect(sent.map((s) => textOf(s.body)).join(' ')).toMatch(/chưa xem được ảnh/);
  });

  it('stays quiet after an officer replies from the Page inbox', async () => {
    const psid = '7100000000000005';
    graph.lastInteraction.set(psid, Date.now());
    const t = Date.now();
    const echo = JSON.stringify({
      object: 'page',
      entry: [{ id: FB_PAGE_ID, time: t, messaging: [{ sender: { id: FB_PAGE_ID }, recipient: { id: psid }, timestamp: t, message: { mid: 'm_staff_1', is_echo: true, app_id: 263902037430900, text: 'Chào anh, cán bộ xã đây.' } }] }],
    });
    expect((await postMessenger(echo)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    await postMessenger(messengerBody(psid, 'm_after_staff', 'đăng ký khai sinh', t + 10));
    await new Promise((r) => setTimeout(r, 1200));
    expect(graph.sent().filter((s) => s.recipientId === psid)).toHaveLength(0);
  });
});

describe('Zalo OA', () => {
  it('answers the unsigned probe sent when the webhook URL is saved, and refuses unsigned events', async () => {
    const probe = await fetch(`${srv.url}/webhooks/zalo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(probe.status).toBe(200);
    expect((await postZalo(zaloBody('246845883529197001', 'zmsg-unsigned', 'xin chào'), false)).status).toBe(401);
  });

  it('answers a citizen through message/cs, refreshing the expiring token once, ids kept exact', async () => {
    const user = '246845883529197922';
    zalo.setUser(user, { lastInteractionAt: zalo.now(), following: true });
    const res = await postZalo(zaloBody(user, 'zmsg-e2e-1', 'dk ket hon'));
    expect(res.status).toBe(200);
    const sent = await waitFor(() => zalo.sent.filter((s) => s.userId === user).length > 0 && zalo.sent.filter((s) => s.userId === user));
    expect(sent.map((s) => textOf(s.body)).join(' ')).toMatch(/kết hôn/i);
    expect(sent[0]?.oaId).toBe(ZALO_OA_ID);
    expect(zalo.refreshCount).toBe(1);
  });

  it('takes a button tap that arrives as text with our payload', async () => {
    const user = '246845883529197923';
    zalo.setUser(user, { lastInteractionAt: zalo.now(), following: true });
    await postZalo(zaloBody(user, 'zmsg-tap-1', 'mc:docs:1.000894'));
    const sent = await waitFor(() => zalo.sent.filter((s) => s.userId === user).length > 0 && zalo.sent.filter((s) => s.userId === user));
    expect(sent.map((s) => textOf(s.body)).join(' ')).toMatch(/Giấy tờ/i);
  });
});

describe('Zalo OA connection (OAuth v4 with PKCE)', () => {
  it('serves the domain verification file', async () => {
    const res = await fetch(`${srv.url}/zalo_verifierAbc123VerifyCode.html`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<meta name="zalo-platform-site-verification" content="Abc123VerifyCode"');
  });

  it('connects an OA to a unit from a signed link, once, and refuses a forged link', async () => {
    const newOa = '388613280900000777';
    const link = signConnectToken(devSecret, srv.running.services.defaultUnitId, 3600);
    const start = await fetch(`${srv.url}/oauth/zalo/start?t=${link}`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const location = new URL(start.headers.get('location') ?? '');
    expect(location.pathname).toBe('/v4/oa/permission');
    expect(location.searchParams.get('app_id')).toBe(ZALO_APP_ID);
    const state = location.searchParams.get('state') ?? '';
    const challenge = location.searchParams.get('code_challenge') ?? '';
    const code = zalo.createAuthCode({ oaId: newOa, codeChallenge: challenge });
    const cb = await fetch(`${srv.url}/oauth/zalo/callback?code=${encodeURIComponent(code)}&oa_id=${newOa}&state=${state}`);
    expect(cb.status).toBe(200);
    expect(await cb.text()).toContain('Đã kết nối Zalo OA');
    const account = await srv.running.services.accounts.find('zalo', newOa);
    expect(account?.unitId).toBe(srv.running.services.defaultUnitId);
    expect(account?.secrets.refreshToken).toBeTruthy();
    const replay = await fetch(`${srv.url}/oauth/zalo/callback?code=${encodeURIComponent(code)}&oa_id=${newOa}&state=${state}`);
    expect(replay.status).toBe(400);
    const forged = await fetch(`${srv.url}/oauth/zalo/start?t=${link.slice(0, -2)}xx`, { redirect: 'manual' });
    expect(forged.status).toBe(403);
  });
});
