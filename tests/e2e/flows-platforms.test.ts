// The conversation flows through the real service and the fake platforms (issues #6 and #7):
// a Zalo citizen looks up a dossier (code in a sentence, verification digits, "Nhận thông báo"
// linking the dossier to their contact), and a Messenger citizen scans the desk's QR code
// (m.me ref carrying the dossier evaluation of that dossier) and answers it with quick replies
// to the end — the response stored once, under the dossier code, with no platform id in it.
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatformServer, type PlatformServer } from '../helpers/platform-server.js';
import { surveyStartPayload } from '../../src/surveys/chat-payload.js';
import { dossierLinkPayload } from '../../src/dossiers/chat-payload.js';

const FB_APP_SECRET = 'fb-app-secret-flows';
const FB_PAGE_ID = '106000000000021';
const ZALO_APP_ID = '360846524940903968';
const ZALO_OA_SECRET = 'zalo-oa-secret-flows';
const ZALO_OA_ID = '388613280900000021';
const CODE = '000.00.21.H56-241101-0007';

let p: PlatformServer;
let unitId: string;

beforeAll(async () => {
  p = await startPlatformServer({
    fbAppSecret: FB_APP_SECRET,
    fbPageId: FB_PAGE_ID,
    fbToken: 'EAAG-flows-token',
    fbVerifyToken: 'verify-flows',
    zaloAppId: ZALO_APP_ID,
    zaloAppSecret: 'zalo-app-secret-flows',
    zaloOaSecret: ZALO_OA_SECRET,
    zaloOaId: ZALO_OA_ID,
  });
  const services = p.srv.running.services;
  unitId = services.defaultUnitId;
  const at = new Date('2026-11-02T02:00:00Z');
  await services.dossiers.upsert(
    {
      unitId,
      code: CODE,
      procedureCode: '1.001193',
      procedureName: 'Thủ tục đăng ký khai sinh',
      receivedAt: at,
      dueAt: new Date('2026-11-05T10:00:00Z'),
      status: 'processing',
      verification: services.dossiers.digest(unitId, CODE, '6789'),
    },
    { source: 'api', actor: null, at },
  );
}, 90_000);

afterAll(async () => {
  await p?.stop();
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

let zseq = 0;
async function zaloSays(user: string, text: string): Promise<string> {
  const before = p.zalo.sent.filter((s) => s.userId === user).length;
  const ts = String(Date.now() + ++zseq);
  const raw = `{"app_id":"${ZALO_APP_ID}","sender":{"id":"${user}"},"user_id_by_app":"552177279717587731","recipient":{"id":"${ZALO_OA_ID}"},"event_name":"user_send_text","message":{"text":${JSON.stringify(text)},"msg_id":"zflow-${zseq}"},"timestamp":"${ts}"}`;
  const mac = createHash('sha256').update(`${ZALO_APP_ID}${raw}${ts}${ZALO_OA_SECRET}`).digest('hex');
  const res = await fetch(`${p.srv.url}/webhooks/zalo`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-zevent-signature': `mac=${mac}` }, body: raw });
  expect(res.status).toBe(200);
  const sent = await waitFor(() => {
    const mine = p.zalo.sent.filter((s) => s.userId === user);
    return mine.length > before && mine.slice(before);
  });
  await new Promise((r) => setTimeout(r, 150)); // a turn may send more than one message
  return p.zalo.sent.filter((s) => s.userId === user).slice(before).map((s) => JSON.stringify(s.body)).join('\n');
}

let mseq = 0;
async function messengerEvent(psid: string, event: Record<string, unknown>): Promise<Array<Record<string, unknown>>> {
  const before = p.graph.sent().filter((s) => s.recipientId === psid).length;
  const t = Date.now() + ++mseq;
  const raw = JSON.stringify({ object: 'page', entry: [{ id: FB_PAGE_ID, time: t, messaging: [{ sender: { id: psid }, recipient: { id: FB_PAGE_ID }, timestamp: t, ...event }] }] });
  const sig = `sha256=${createHmac('sha256', FB_APP_SECRET).update(raw).digest('hex')}`;
  const res = await fetch(`${p.srv.url}/webhooks/messenger`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sig }, body: raw });
  expect(res.status).toBe(200);
  await waitFor(() => p.graph.sent().filter((s) => s.recipientId === psid).length > before);
  await new Promise((r) => setTimeout(r, 150));
  return p.graph.sent().filter((s) => s.recipientId === psid).slice(before).map((s) => s.body as Record<string, unknown>);
}

interface Choice {
  title: string;
  payload: string;
}
/** The choices of the last message: its postback buttons, else its quick replies. */
function choices(bodies: Array<Record<string, unknown>>): Choice[] {
  const message = bodies.at(-1)?.['message'] as
    | { quick_replies?: Choice[]; attachment?: { payload?: { buttons?: Array<Choice & { type: string }> } } }
    | undefined;
  const buttons = (message?.attachment?.payload?.buttons ?? []).filter((b) => b.type === 'postback');
  return buttons.length > 0 ? buttons : (message?.quick_replies ?? []);
}

describe('dossier look-up on Zalo', () => {
  it('asks for the digits, refuses wrong ones like an unknown code, answers the status, links the dossier', async () => {
    const user = '246845883529190001';
    p.zalo.setUser(user, { lastInteractionAt: p.zalo.now(), following: true });
    const asked = await zaloSays(user, `cho em tra cứu hồ sơ ${CODE} với ạ`);
    expect(asked).toMatch(/4 (chữ )?số cuối/);
    const wrong = await zaloSays(user, '1111');
    const unknown = await zaloSays(user, 'tra cứu hồ sơ 000.00.21.H56-241101-9999');
    expect(unknown).toMatch(/4 (chữ )?số cuối/);
    const wrongUnknown = await zaloSays(user, '1111');
    // The refusal reads the same whether the code exists or not (no enumeration).
    expect(wrongUnknown).toBe(wrong);
    await zaloSays(user, `tra cứu hồ sơ ${CODE}`);
    const answered = await zaloSays(user, '6789');
    expect(answered).toContain('Đang xử lý');
    expect(answered).toContain('05/11/2026');
    expect(answered).not.toContain('6789');
    // A Zalo tap arrives as the payload's text.
    const linked = await zaloSays(user, dossierLinkPayload(CODE, true));
    expect(linked).toMatch(/thông báo/i);
    const services = p.srv.running.services;
    const dossier = await services.dossiers.getByCode(unitId, CODE);
    const links = await services.dossiers.linksOf(dossier!.id);
    expect(links).toHaveLength(1);
    // No digit typed by the citizen is kept in the query log.
    const logged = await services.db.query<{ text: string }>('SELECT text FROM queries WHERE unit_id = $1', [unitId]);
    expect(logged.map((r) => r.text).join(' ')).not.toMatch(/6789|1111/);
  });
});

describe('survey by QR code on Messenger', () => {
  it('opens the dossier evaluation from an m.me ref, taps its buttons to the end, stores one response', async () => {
    const psid = '7100000000000901';
    p.graph.lastInteraction.set(psid, Date.now());
    const ref = surveyStartPayload({ definitionId: 'dossier-evaluation', procedureCode: '1.001193', dossierCode: CODE });
    let bodies = await messengerEvent(psid, { referral: { ref, source: 'SHORTLINK', type: 'OPEN_THREAD' } });
    let guard = 0;
    for (;;) {
      const options = choices(bodies).filter((q) => !/bỏ qua|dừng/i.test(q.title));
      const choice = options[0];
      if (!choice) break;
      bodies = await messengerEvent(psid, { postback: { mid: `m_sv_${++guard}`, title: choice.title, payload: choice.payload } });
      if (guard > 12) throw new Error('the survey never ended');
    }
    // The last question is the free comment: answered in words, with a phone number in it.
    if (!JSON.stringify(bodies).includes('Cảm ơn')) {
      bodies = await messengerEvent(psid, { message: { mid: 'm_sv_comment', text: 'Cán bộ nhiệt tình, gọi em số 0912345678 nhé' } });
    }
    expect(JSON.stringify(bodies)).toContain('Cảm ơn');
    const services = p.srv.running.services;
    const rows = await services.db.query<{ status: string; occasion: string; procedure_code: string; channel: string; respondent: string }>(
      `SELECT status, occasion, procedure_code, channel, respondent FROM survey_responses WHERE unit_id = $1`,
      [unitId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'completed', occasion: CODE, procedure_code: '1.001193', channel: 'messenger' });
    expect(rows[0]?.respondent).not.toContain(psid);
    const comments = await services.db.query<{ comment: string | null }>(`SELECT comment FROM survey_answers WHERE comment IS NOT NULL`);
    expect(comments.map((r) => r.comment).join(' ')).not.toMatch(/\d{3}/);
    // Scanning the same QR code again does not make a second response.
    const again = await messengerEvent(psid, { referral: { ref, source: 'SHORTLINK', type: 'OPEN_THREAD' } });
    expect(JSON.stringify(again)).toMatch(/đã gửi phiếu/);
    const count = await services.db.query<{ n: string }>(`SELECT count(*) AS n FROM survey_responses WHERE unit_id = $1`, [unitId]);
    expect(Number(count[0]?.n)).toBe(1);
  });
});
