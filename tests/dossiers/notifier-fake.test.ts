// The fake Zalo transaction endpoint the notifier tests rely on must behave as PLATFORMS.md §7–§8
// and the public examples describe it, and our rendering must pass it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startZaloFake, type ZaloFake } from '../fakes/zalo-server.js';
import { renderZaloTransaction, renderMessengerNotice, noticeReply, type NoticeContent } from '../../src/dossiers/notice-render.js';
import { decideNotice } from '../../src/dossiers/notifier.js';

const APP_ID = '1163843031413526907';
const APP_SECRET = 'app-secret-notices';
const OA = '2197174064623873907';
const USER = '4339761418830368907';
const DAY = 24 * 3_600_000;
const T0 = Date.UTC(2026, 2, 10, 15, 30, 0); // 22:30 in Vietnam: transaction messages go at night too

const Answer = z.object({ error: z.number(), message: z.string().optional(), data: z.record(z.string(), z.unknown()).optional() }).passthrough();

let fake: ZaloFake;
beforeEach(async () => {
  fake = await startZaloFake({ appId: APP_ID, appSecret: APP_SECRET, now: T0 });
});
afterEach(async () => {
  await fake.close();
});

async function send(accessToken: string, body: unknown) {
  const res = await fetch(`${fake.url}/v3.0/oa/message/transaction`, { method: 'POST', headers: { 'content-type': 'application/json', access_token: accessToken }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return Answer.parse(await res.json());
}

const content = (over: Partial<NoticeContent> = {}): NoticeContent => ({
  kind: 'result_ready',
  code: '000.00.01.H56-240101-0001',
  procedureName: 'Đăng ký khai sinh',
  pickupPlace: null,
  unit: { name: 'UBND xã Tân Lập', address: 'Thôn 2, xã Tân Lập', hours: 'Thứ Hai – Thứ Sáu, 7:30–17:00' },
  surveyPayload: null,
  ...over,
});

describe('fake Zalo OpenAPI: message/transaction', () => {
  it('accepts our result notice within a year, at night too, and lists it by its header', async () => {
    const { accessToken } = fake.grant(OA);
    fake.setUser(USER, { lastInteractionAt: T0 - 300 * DAY });
    const answer = await send(accessToken, renderZaloTransaction(content(), USER));
    expect(answer.error).toBe(0);
    expect(answer.data?.message_id).toEqual(expect.any(String));
    expect(fake.sent).toHaveLength(1);
    expect(fake.sent[0]).toMatchObject({ endpoint: 'transaction', oaId: OA, userId: USER, billed: false });
    const res = await fetch(`${fake.url}/v2.0/oa/conversation?data=${encodeURIComponent(JSON.stringify({ user_id: USER, offset: 0, count: 5 }))}`, { headers: { access_token: accessToken } });
    const list = z.object({ error: z.literal(0), data: z.array(z.object({ src: z.number(), message: z.string(), type: z.string() })) }).parse(await res.json());
    expect(list.data).toEqual([expect.objectContaining({ src: 0, type: 'template', message: 'Hồ sơ 000.00.01.H56-240101-0001 đã có kết quả' })]);
  });

  it('refuses beyond a year (-232), unfollowed users (-213), bad bodies (-201) and over-long parts (-210)', async () => {
    const { accessToken } = fake.grant(OA);
    fake.setUser(USER, { lastInteractionAt: T0 - 366 * DAY });
    expect((await send(accessToken, renderZaloTransaction(content(), USER))).error).toBe(-232);
    fake.setUser(USER, { lastInteractionAt: T0 - DAY, following: false });
    expect((await send(accessToken, renderZaloTransaction(content(), USER))).error).toBe(-213);
    fake.setUser(USER, { lastInteractionAt: T0 - DAY });
    const body = renderZaloTransaction(content(), USER);
    const promo = structuredClone(body) as unknown as { message: { attachment: { payload: { template_type: string } } } };
    promo.message.attachment.payload.template_type = 'promotion';
    expect((await send(accessToken, promo)).error).toBe(-201);
    const long = structuredClone(body);
    long.message.attachment.payload.elements[0] = { type: 'header', content: 'x'.repeat(101), align: 'left' };
    expect((await send(accessToken, long)).error).toBe(-210);
    const buttons = renderZaloTransaction(content({ kind: 'evaluation', surveyPayload: 'mc:sv:dossier-evaluation:d:X' }), USER);
    buttons.message.attachment.payload.buttons = Array.from({ length: 6 }, () => ({ title: 'Đánh giá', type: 'oa.query.hide' as const, payload: 'mc:sv:x' }));
    expect((await send(accessToken, buttons)).error).toBe(-210);
    expect(fake.sent).toHaveLength(0);
    fake.failNext('transaction', -32);
    expect((await send(accessToken, renderZaloTransaction(content(), USER))).error).toBe(-32);
    expect((await send(accessToken, renderZaloTransaction(content(), USER))).error).toBe(0);
  });
});

describe('notice rendering and decisions', () => {
  it('says where to collect: the pickup place, else the unit’s desk with its address and hours', () => {
    expect(noticeReply(content()).text).toBe(
      'Hồ sơ 000.00.01.H56-240101-0001 (Đăng ký khai sinh) của bạn đã có kết quả. Mời bạn đến nhận kết quả tại Bộ phận Một cửa, UBND xã Tân Lập, Thôn 2, xã Tân Lập. Giờ làm việc: Thứ Hai – Thứ Sáu, 7:30–17:00. Khi đến, bạn mang theo Giấy tiếp nhận hồ sơ và hẹn trả kết quả.',
    );
    expect(noticeReply(content({ pickupPlace: 'Quầy 2' })).text).toContain('tại Quầy 2. Khi đến');
    const offer = noticeReply(content({ kind: 'evaluation', surveyPayload: 'mc:sv:dossier-evaluation:d:000.00.01.H56-240101-0001' }));
    expect(offer.buttons).toEqual([{ title: 'Đánh giá', payload: 'mc:sv:dossier-evaluation:d:000.00.01.H56-240101-0001' }]);
  });

  it('keeps a Messenger offer within the button template’s 640 characters', () => {
    const body = renderMessengerNotice(content({ kind: 'evaluation', procedureName: 'Thủ tục '.repeat(80), surveyPayload: 'mc:sv:dossier-evaluation' }), '123') as {
      message: { attachment: { payload: { text: string } } };
    };
    expect(body.message.attachment.payload.text.length).toBeLessThanOrEqual(640);
    expect(body.message.attachment.payload.text).toContain('000.00.01.H56-240101-0001');
  });

  it('decides by platform window: Messenger 24 h (else held), Zalo a year (else skipped), website held', () => {
    const now = new Date(T0);
    const base = { linked: true, alreadyDone: false, dossierStatus: 'result_ready' as const, reachable: true, following: true };
    const notice = (platform: 'messenger' | 'zalo' | 'web') => ({ kind: 'result_ready' as const, platform }) as Parameters<typeof decideNotice>[0]['notice'];
    const at = (ms: number) => new Date(T0 - ms);
    expect(decideNotice({ ...base, notice: notice('messenger'), lastInteractionAt: at(23 * 3_600_000) }, now)).toEqual({ kind: 'send' });
    expect(decideNotice({ ...base, notice: notice('messenger'), lastInteractionAt: at(25 * 3_600_000) }, now)).toEqual({ kind: 'hold', reason: 'outside_window' });
    expect(decideNotice({ ...base, notice: notice('zalo'), lastInteractionAt: at(364 * DAY) }, now)).toEqual({ kind: 'send' });
    expect(decideNotice({ ...base, notice: notice('zalo'), lastInteractionAt: at(366 * DAY) }, now)).toEqual({ kind: 'skip', reason: 'window' });
    expect(decideNotice({ ...base, following: false, notice: notice('zalo'), lastInteractionAt: at(DAY) }, now)).toEqual({ kind: 'skip', reason: 'not_following' });
    expect(decideNotice({ ...base, notice: notice('web'), lastInteractionAt: at(30 * DAY) }, now)).toEqual({ kind: 'hold', reason: 'web_next_visit' });
    expect(decideNotice({ ...base, dossierStatus: 'returned', notice: notice('messenger'), lastInteractionAt: at(1000) }, now)).toEqual({ kind: 'skip', reason: 'outdated' });
  });
});
