// The dossier look-up in chat, through the real engine (memory conversation ports) with the real
// DossierRepository and contacts on PostgreSQL and the Redis guard: a code in a sentence, "tra
// cứu hồ sơ" then the code then the digits, wrong digits and an unknown code reading the same,
// the cool-down per citizen and per code (lifting an hour later), "Nhận thông báo" only after a
// check, a linked citizen skipping the digits, "Hủy nhận thông báo", what is missing, where to
// collect the result, deep links, and text that must not be taken for a dossier code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Redis } from 'ioredis';
import type { InboundEvent, Reply } from '../../src/channels/channel.js';
import { deepLinkPayload } from '../../src/channels/web/deep-link.js';
import { createEngine, type Engine } from '../../src/conversation/engine.js';
import { defaultIntentsDir, loadIntents } from '../../src/conversation/intents.js';
import { MemoryHandoffQueue, MemoryQueryLog, MemoryStateStore, MemoryTranscriptStore, MemoryUnitDirectory } from '../../src/conversation/memory-ports.js';
import { chatContactResolver } from '../../src/dossiers/chat-contacts.js';
import { createDossierFlow } from '../../src/dossiers/chat-flow.js';
import { dossierAskPayload, dossierLinkPayload, dossierLookupPayload, parseDossierPayload } from '../../src/dossiers/chat-payload.js';
import { DOSSIER_CHAT_TEXTS as T } from '../../src/dossiers/chat-texts.js';
import { findReceiptCodes, typedDossierCode } from '../../src/dossiers/code.js';
import { DossierRepository } from '../../src/dossiers/dossier-repository.js';
import { DossierVerifier } from '../../src/dossiers/verification.js';
import { AccountRepository } from '../../src/store/account-repository.js';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { RedisLookupGuard } from '../../src/store/redis-lookup-guard.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { SubscriptionRepository } from '../../src/store/subscription-repository.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { FakeSearcher, fixtureCatalogue, SCRIPTS, UNIT } from '../conversation/fixtures.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const schema = isolatedName('hschat');
const prefix = isolatedName('hschat');
const intents = loadIntents(defaultIntentsDir());
/** An instant given by its Vietnam wall clock (UTC+7). */
const local = (y: number, m: number, d: number, h = 0, mi = 0) => new Date(Date.UTC(y, m - 1, d, h - 7, mi));

const A = '000.00.01.H56-240101-0001'; // processing, due 05/01
const B = 'H56.22-240101-0002'; // needs supplement, overdue
const C = 'H56.22-231220-0003'; // result ready, no pickup place
const D = 'HS-2024/00123'; // an opaque code of another one-stop system
const E = 'H56.22-240102-0005'; // for the per-code cool-down
const UNKNOWN = '000.00.01.H56-240101-9999';
const DIGITS: Record<string, string> = { [A]: '4821', [B]: '1357', [C]: '2468', [D]: '9999', [E]: '7777' };

let db: Database;
let redis: Redis;
let repo: DossierRepository;
let engine: Engine;
let clock = local(2024, 1, 3, 10).getTime();
const state = new MemoryStateStore(() => clock);
const transcript = new MemoryTranscriptStore();
const queryLog = new MemoryQueryLog();
const ids: Record<string, number> = {};

beforeAll(async () => {
  db = await openDatabase({ url: TEST_DATABASE_URL, schema });
  await migrate(db);
  await new UnitRepository(db).upsert([{ ...UNIT, email: null, website: null, procedureCodes: null }]);
  const accounts = new AccountRepository(db, new SecretBox('b'.repeat(40)));
  await accounts.upsert({ unitId: UNIT.id, platform: 'zalo', externalId: 'oa-1' });
  await accounts.upsert({ unitId: UNIT.id, platform: 'messenger', externalId: 'page-1' });
  await accounts.upsert({ unitId: UNIT.id, platform: 'web', externalId: 'widget-1' });
  repo = new DossierRepository(db, new DossierVerifier('v'.repeat(40)));
  const base = { unitId: UNIT.id, procedureCode: '1.001193', procedureName: 'Đăng ký khai sinh', receivedAt: local(2024, 1, 1, 8) };
  const seed = [
    { code: A, status: 'processing' as const, dueAt: local(2024, 1, 5, 23, 59) },
    { code: B, status: 'needs_supplement' as const, dueAt: local(2024, 1, 2, 23, 59), missing: 'Bản sao Giấy chứng sinh có chứng thực' },
    { code: C, status: 'result_ready' as const, dueAt: local(2024, 1, 5, 23, 59), receivedAt: local(2023, 12, 20, 9) },
    { code: D, status: 'received' as const, dueAt: null },
    { code: E, status: 'processing' as const, dueAt: null },
  ];
  for (const s of seed) {
    const w = await repo.upsert({ ...base, ...s, verification: repo.digest(UNIT.id, s.code, DIGITS[s.code] ?? '') }, { source: 'api', actor: null, at: local(2024, 1, 2, 9) });
    ids[s.code] = w.dossier.id;
  }
  redis = new Redis(TEST_REDIS_URL);
  const flow = createDossierFlow({
    dossiers: repo,
    contacts: chatContactResolver(new SubscriptionRepository(db)),
    guard: new RedisLookupGuard(redis, prefix, 'g'.repeat(40)),
  });
  engine = createEngine({
    catalogue: fixtureCatalogue(),
    searcher: new FakeSearcher(SCRIPTS),
    state,
    transcript,
    queryLog,
    handoff: new MemoryHandoffQueue(),
    units: new MemoryUnitDirectory([UNIT]),
    intents,
    flows: [flow],
    now: () => new Date(clock),
    onError: (e) => {
      throw e;
    },
  });
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await db.close();
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

type Channel = 'zalo' | 'messenger' | 'web';
const ACCOUNT: Record<Channel, string> = { zalo: 'oa-1', messenger: 'page-1', web: 'widget-1' };
let seq = 0;
const who = (userId: string, channel: Channel = 'zalo') => ({ unitId: UNIT.id, channel, accountId: ACCOUNT[channel], userId, timestamp: clock });
const say = (userId: string, text: string, channel: Channel = 'zalo'): Promise<Reply[]> =>
  engine.handle({ ...who(userId, channel), kind: 'text', messageId: `m${++seq}`, text } satisfies InboundEvent);
const tap = (userId: string, payload: string, channel: Channel = 'zalo', ref?: string): Promise<Reply[]> =>
  engine.handle({ ...who(userId, channel), kind: 'postback', messageId: `m${++seq}`, payload, ...(ref ? { ref } : {}) } satisfies InboundEvent);
const textOf = (replies: Reply[]) => replies.map((r) => r.text).join('\n');
const titles = (replies: Reply[]) => replies.flatMap((r) => r.buttons.map((b) => b.title));
const stateOf = (userId: string, channel: Channel = 'zalo') => state.get({ unitId: UNIT.id, channel, userId });
const askedDigits = (replies: Reply[], code: string) => textOf(replies) === T.askDigits.replace('{code}', code);
const contactOf = async (userId: string, channel: Channel = 'zalo') =>
  Number(
    (
      await db.query<{ id: string }>('SELECT c.id FROM contacts c JOIN channel_accounts a ON a.id = c.account_id WHERE a.external_id = $1 AND c.platform_user_id = $2', [
        ACCOUNT[channel],
        userId,
      ])
    )[0]?.id ?? 0,
  );

describe('dossier codes and payloads', () => {
  it('finds receipt codes in a sentence, never a procedure code, a phone number or a date', () => {
    expect(findReceiptCodes(`Cho em hỏi hồ sơ ${A} của em ạ`)).toEqual([A]);
    expect(findReceiptCodes(`mã: ${B}.`)).toEqual([B]);
    expect(findReceiptCodes('000.00.01.h56 - 240101 - 0001')).toEqual(['000.00.01.h56-240101-0001']);
    for (const text of ['thủ tục 1.001193', 'sđt 0912-345-678', 'gọi 0912.345.678', 'ngày 01-01-2024', '1.001193-240101-0001', `x${A}-BS`, '000.00.01.H56-241301-0001']) {
      expect(findReceiptCodes(text)).toEqual([]);
    }
    expect(typedDossierCode(D)).toBe(D);
    expect(typedDossierCode('1.001193')).toBeUndefined();
    expect(typedDossierCode('+84912345678')).toBeUndefined();
  });

  it('round-trips codes through payloads that the widget\'s deep links accept, and refuses malformed ones', () => {
    expect(dossierLookupPayload(A)).toBe(`mc:hs:${A}`);
    expect(deepLinkPayload(dossierLookupPayload(A))).toBe(`mc:hs:${A}`);
    const odd = 'HS 2024/ố~:1';
    expect(parseDossierPayload(dossierLookupPayload(odd))).toEqual({ kind: 'lookup', code: odd });
    expect(deepLinkPayload(dossierLookupPayload(odd))).toBe(dossierLookupPayload(odd));
    expect(parseDossierPayload(dossierLinkPayload(A, true))).toEqual({ kind: 'link', code: A });
    expect(parseDossierPayload(dossierLinkPayload(A, false))).toEqual({ kind: 'unlink', code: A });
    expect(parseDossierPayload(dossierAskPayload())).toEqual({ kind: 'ask' });
    for (const bad of ['mc:hs:%ZZ', 'mc:hs::on', `mc:hs:${A}:maybe`, 'mc:hs:%0A', `mc:hs:${A}:on:x`, 'mc:sv:x', `mc:hs:${'a'.repeat(300)}`]) {
      expect(parseDossierPayload(bad)).toBeNull();
    }
  });
});

describe('dossier look-up in chat', () => {
  it('takes a code typed in a sentence, asks for the digits, and answers status, dates and lateness', async () => {
    const asked = await say('u1', `Cho em hỏi hồ sơ ${A} của em đến đâu rồi ạ`);
    expect(askedDigits(asked, A)).toBe(true);
    const answer = await say('u1', DIGITS[A] ?? '');
    const text = textOf(answer);
    expect(text).toContain(`Hồ sơ ${A}`);
    expect(text).toContain('Thủ tục: 1.001193 — Đăng ký khai sinh');
    expect(text).toContain('Trạng thái: Đang xử lý');
    expect(text).toContain('Ngày tiếp nhận: 01/01/2024');
    expect(text).toContain('Ngày hẹn trả kết quả: 05/01/2024');
    expect(text).toContain(T.answer.onTime);
    expect(titles(answer)).toEqual(['Nhận thông báo', 'Tra cứu hồ sơ khác']);
    // The digits are kept nowhere: not in the state, not in the transcript.
    const stored = await stateOf('u1');
    expect(stored).toMatchObject({ mode: 'flow', flow: 'dossier', data: { step: 'verified', code: A, dossierId: ids[A] } });
    expect(JSON.stringify(stored)).not.toContain(DIGITS[A]);
    expect(JSON.stringify(await transcript.read({ unitId: UNIT.id, channel: 'zalo', userId: 'u1' }))).not.toContain(DIGITS[A]);
  });

  it('asks for the code after "tra cứu hồ sơ", then the digits, and says what is missing', async () => {
    expect(textOf(await say('u2', 'tra cuu ho so giup em'))).toBe(T.askCode);
    expect(askedDigits(await say('u2', B), B)).toBe(true);
    const text = textOf(await say('u2', '1357'));
    expect(text).toContain('Trạng thái: Chờ bổ sung');
    expect(text).toContain('Cần bổ sung: Bản sao Giấy chứng sinh có chứng thực');
    expect(text).toContain(T.answer.overdue);
    // The Zalo words printed on the receipt for a code of another shape.
    expect(askedDigits(await say('u2', `Tra cứu hồ sơ ${D}`), D)).toBe(true);
    expect(textOf(await say('u2', '9 9 9 9'))).toContain('Trạng thái: Đã tiếp nhận');
  });

  it('refuses wrong digits and an unknown code with the same words, and asks for both the same way', async () => {
    const known = await say('u3', `kiểm tra hồ sơ ${A}`);
    const unknown = await say('u4', `kiểm tra hồ sơ ${UNKNOWN}`);
    expect(textOf(known).replace(A, '#')).toBe(textOf(unknown).replace(UNKNOWN, '#'));
    const wrong = await say('u3', '0000');
    const none = await say('u4', DIGITS[A] ?? '');
    expect(textOf(wrong)).toBe(T.refused);
    expect(none).toEqual(wrong);
    // Still waiting: the right digits now work.
    expect(textOf(await say('u3', DIGITS[A] ?? ''))).toContain('Trạng thái: Đang xử lý');
  });

  it('cools a citizen down after 5 failures across codes, and lifts it an hour later', async () => {
    const codes = [A, B, UNKNOWN, C, B];
    for (const [i, code] of codes.entries()) {
      expect(askedDigits(await say('u5', code), code)).toBe(true);
      const r = textOf(await say('u5', '0000'));
      if (i < 4) expect(r).toBe(T.refused);
      else expect(r).toMatch(/tạm dừng; bạn thử lại sau khoảng 60 phút, hoặc hỏi trực tiếp Bộ phận Một cửa \(điện thoại 0200 000 000\)/);
    }
    // No further check, even with the right digits for a code never tried: not even asked.
    const blocked = textOf(await say('u5', `tra cứu hồ sơ ${E}`));
    expect(blocked).toContain('tạm dừng');
    expect((await stateOf('u5'))?.mode).toBe('idle');
    clock += 61 * 60_000;
    expect(askedDigits(await say('u5', C), C)).toBe(true);
    const text = textOf(await say('u5', DIGITS[C] ?? ''));
    expect(text).toContain('Trạng thái: Đã có kết quả');
    // No pickup place on the dossier: the unit's desk and address, and its hours.
    expect(text).toContain(`Nơi nhận kết quả: Bộ phận Một cửa, ${UNIT.name}, ${UNIT.address}`);
    expect(text).toContain(`Giờ làm việc: ${UNIT.hours}`);
  });

  it('cools a code down after 5 failures by different citizens, even for its owner', async () => {
    for (let i = 0; i < 5; i++) {
      await say(`guess${i}`, E);
      await say(`guess${i}`, String(1000 + i));
    }
    expect(textOf(await say('owner', E))).toContain('tạm dừng');
    clock += 61 * 60_000;
    expect(askedDigits(await say('owner', E), E)).toBe(true);
    expect(textOf(await say('owner', DIGITS[E] ?? ''))).toContain('Trạng thái: Đang xử lý');
  });

  it('links the dossier on "Nhận thông báo" after a check; the linked citizen then skips the digits, and can unlink', async () => {
    await say('u6', A);
    await say('u6', DIGITS[A] ?? '');
    const linked = await tap('u6', dossierLinkPayload(A, true));
    expect(textOf(linked)).toContain(`khi hồ sơ ${A} có kết quả, ${UNIT.name} sẽ gửi thông báo cho bạn qua Zalo (trong vòng một năm`);
    expect(titles(linked)).toEqual(['Hủy nhận thông báo', 'Tra cứu hồ sơ khác']);
    const contact = await contactOf('u6');
    expect((await repo.linksOf(ids[A] ?? 0)).map((l) => l.contactId)).toEqual([contact]);
    await say('u6', 'cảm ơn');
    // Later: no digits asked.
    const again = await say('u6', `tra cứu hồ sơ ${A}`);
    expect(textOf(again)).toContain('Trạng thái: Đang xử lý');
    expect(textOf(again)).toContain(T.answer.linkedNote);
    expect(titles(again)).toEqual(['Hủy nhận thông báo', 'Tra cứu hồ sơ khác']);
    const unlinked = await tap('u6', dossierLinkPayload(A, false));
    expect(textOf(unlinked)).toBe(T.unlinked.replace('{code}', A));
    expect(await repo.linksOf(ids[A] ?? 0)).toEqual([]);
    expect(askedDigits(await say('u6', A), A)).toBe(true);
    // Unlinking what was never linked reads the same for a real and an invented code.
    expect(textOf(await tap('u7', dossierLinkPayload(C, false)))).toBe(T.notLinked.replace('{code}', C));
    expect(textOf(await tap('u7', dossierLinkPayload(UNKNOWN, false)))).toBe(T.notLinked.replace('{code}', UNKNOWN));
  });

  it('tells each platform what the notice will be', async () => {
    await say('m1', C, 'messenger');
    await say('m1', DIGITS[C] ?? '', 'messenger');
    const messenger = textOf(await tap('m1', dossierLinkPayload(C, true), 'messenger'));
    expect(messenger).toContain('24 giờ');
    expect(messenger).toContain(T.linked.resultReady);
    await say('w1', C, 'web');
    await say('w1', DIGITS[C] ?? '', 'web');
    expect(textOf(await tap('w1', dossierLinkPayload(C, true), 'web'))).toContain('khung hỏi đáp này');
    // The widget visitor's contact was made for the link.
    expect((await repo.linksOf(ids[C] ?? 0)).map((l) => l.contactId).sort()).toEqual([await contactOf('m1', 'messenger'), await contactOf('w1', 'web')].sort());
  });

  it('links nothing without a check in this conversation, nor through a link', async () => {
    const forged = await tap('u8', dossierLinkPayload(B, true));
    expect(forged[0]?.text).toBe(T.linkNeedsCheck.replace('{code}', B));
    expect(askedDigits(forged.slice(1), B)).toBe(true);
    // A link carrying ":on" only opens the look-up, even right after a check.
    await say('u8', DIGITS[B] ?? '');
    const viaLink = await tap('u8', dossierLinkPayload(B, true), 'zalo', dossierLinkPayload(B, true));
    expect(askedDigits(viaLink, B)).toBe(true);
    // The check expires: "Nhận thông báo" tapped too late asks again.
    await say('u8', DIGITS[B] ?? '');
    clock += 11 * 60_000;
    expect((await tap('u8', dossierLinkPayload(B, true)))[0]?.text).toBe(T.linkNeedsCheck.replace('{code}', B));
    expect(await repo.linksOf(ids[B] ?? 0)).toEqual([]);
  });

  it('opens the look-up from a QR code / deep link, and "Tra cứu hồ sơ khác" asks for a code', async () => {
    const opened = await tap('u9', dossierLookupPayload(D), 'messenger', dossierLookupPayload(D));
    expect(askedDigits(opened, D)).toBe(true);
    expect(textOf(await say('u9', '9999', 'messenger'))).toContain(`Hồ sơ ${D}`);
    expect(textOf(await tap('u9', dossierAskPayload(), 'messenger'))).toBe(T.askCode);
  });

  it('lets go of other questions while waiting for digits, and stops on "hủy"', async () => {
    await say('u10', A);
    const other = await say('u10', 'kết hôn cần giấy tờ gì');
    expect(textOf(other)).toContain('kết hôn');
    expect((await stateOf('u10'))?.mode).toBe('answered');
    // "đánh giá hồ sơ <mã>" is the survey's (evaluating, not looking up), waiting or not.
    await say('u10', A);
    expect(askedDigits(await say('u10', `đánh giá hồ sơ ${A}`), A)).toBe(false);
    expect((await stateOf('u10'))?.mode).not.toBe('flow');
    expect(askedDigits(await say('u10', `Đánh giá hồ sơ ${A}`), A)).toBe(false);
    await say('u10', A);
    expect(textOf(await say('u10', 'hủy'))).toBe(T.cancelled);
    expect((await stateOf('u10'))?.mode).toBe('idle');
    // A wrong count of digits is a hint, not a failed check.
    await say('u10', A);
    expect(textOf(await say('u10', '123456'))).toBe(T.digitsFormat);
    // The whole phone number: its last 4 digits are taken.
    expect(textOf(await say('u10', '0912 345 821'))).toContain(T.refused);
    expect(textOf(await say('u10', '4 số cuối là 4821 ạ'))).toContain('Trạng thái: Đang xử lý');
  });

  it('does not take a procedure code or a phone number for a dossier code', async () => {
    const procedure = await say('u11', '1.001193');
    expect(textOf(procedure)).toContain('khai sinh');
    expect((await stateOf('u11'))?.mode).toBe('answered');
    for (const text of ['số điện thoại của tôi là 0912 345 678', 'sđt 0912-345-678', 'hồ sơ khai sinh cần gì']) {
      const r = await say('u11', text);
      expect(textOf(r)).not.toContain('4 số cuối');
      expect((await stateOf('u11'))?.mode).not.toBe('flow');
    }
    expect(queryLog.entries.some((e) => /\d/.test(e.text))).toBe(false);
  });
});
