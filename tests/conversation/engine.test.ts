import { beforeEach, describe, expect, it } from 'vitest';
import type { InboundEvent, Reply } from '../../src/channels/channel.js';
import { createEngine, type Engine } from '../../src/conversation/engine.js';
import { defaultIntentsDir, loadIntents } from '../../src/conversation/intents.js';
import {
  MemoryHandoffQueue,
  MemoryQueryLog,
  MemoryStateStore,
  MemoryUnitDirectory,
} from '../../src/conversation/memory-ports.js';
import { parsePayload } from '../../src/conversation/payload.js';
import { CHUNG_THUC, FakeSearcher, fixtureCatalogue, KHAI_SINH, SCRIPTS, TAM_TRU, UNIT } from './fixtures.js';

const intents = loadIntents(defaultIntentsDir());

interface Rig {
  engine: Engine;
  log: MemoryQueryLog;
  handoff: MemoryHandoffQueue;
  store: MemoryStateStore;
  searcher: FakeSearcher;
  clock: { t: number };
  errors: unknown[];
}

function rig(): Rig {
  const clock = { t: Date.UTC(2026, 0, 5, 2, 0, 0) };
  const store = new MemoryStateStore(() => clock.t);
  const log = new MemoryQueryLog();
  const handoff = new MemoryHandoffQueue();
  const searcher = new FakeSearcher(SCRIPTS);
  const errors: unknown[] = [];
  const engine = createEngine({
    catalogue: fixtureCatalogue(),
    searcher,
    state: store,
    queryLog: log,
    handoff,
    units: new MemoryUnitDirectory([UNIT]),
    intents,
    now: () => new Date(clock.t),
    onError: (e) => errors.push(e),
  });
  return { engine, log, handoff, store, searcher, clock, errors };
}

let seq = 0;
function text(t: string, userId = 'user-1'): InboundEvent {
  return { kind: 'text', unitId: 'xa-mau', channel: 'web', accountId: 'web', userId, messageId: `m${++seq}`, text: t, timestamp: 0 };
}
function tap(payload: string, userId = 'user-1'): InboundEvent {
  return { kind: 'postback', unitId: 'xa-mau', channel: 'web', accountId: 'web', userId, messageId: `m${++seq}`, payload, timestamp: 0 };
}

const all = (replies: Reply[]) => replies.map((r) => r.text).join('\n');
const payloads = (replies: Reply[]) => replies.flatMap((r) => [...r.buttons, ...r.quickReplies].map((b) => b.payload));
const titles = (replies: Reply[]) => replies.flatMap((r) => r.buttons.map((b) => b.title));

/** A number not followed by a unit word is a bare time: the crawl defect we must never show. */
function assertNoBareTime(replies: Reply[]): void {
  for (const line of all(replies).split('\n')) {
    if (/thời hạn/iu.test(line)) {
      expect(line).not.toMatch(/thời hạn:?\s*\d+\s*(?:[;.]|$)/iu);
      expect(line).not.toMatch(/:\s*\d+\s*(?:;|$)/u);
    }
  }
}

describe('conversation engine', () => {
  let r: Rig;
  beforeEach(() => {
    r = rig();
  });

  it('maps a typed number to the last reply\'s buttons (Zalo shows more than 5 as a numbered list)', async () => {
    const answer = await r.engine.handle(text('dang ky khai sinh', 'user-num'));
    const order = payloads(answer);
    expect(order.length).toBeGreaterThan(5);
    const second = parsePayload(order[1] ?? '');
    const viaNumber = await r.engine.handle(text('2', 'user-num'));
    const viaTap = await r.engine.handle(tap(order[1] ?? '', 'user-num-2'));
    expect(second).not.toBeNull();
    expect(all(viaNumber)).toBe(all(viaTap));
    const outOfRange = await r.engine.handle(text('9', 'user-num'));
    expect(all(outOfRange)).toMatch(/Không có lựa chọn số 9/u);
  });

  it('greets, says it is an automatic assistant, and offers the menu', async () => {
    for (const hello of ['xin chào', 'xin chao', 'menu', 'bắt đầu', 'hi']) {
      const replies = await r.engine.handle(text(hello));
      expect(all(replies)).toMatch(/trợ lý tự động/u);
      expect(all(replies)).toContain('UBND xã Mẫu');
      expect(payloads(replies)).toContain('mc:handoff');
      expect(payloads(replies)).toContain('mc:pick:1.001193');
    }
    expect(r.searcher.calls).toHaveLength(0);
  });

  it('answers a procedure question short first, with the detail buttons', async () => {
    const replies = await r.engine.handle(text('cho em hỏi làm giấy khai sinh'));
    expect(replies).toHaveLength(1);
    const msg = replies[0]!;
    expect(msg.text).toContain('Thủ tục đăng ký khai sinh');
    expect(msg.text).toContain(KHAI_SINH.summary!);
    expect(msg.text).toContain('Nơi nộp: Ủy ban Nhân dân xã');
    expect(msg.text).toContain('Thời hạn: chưa được công bố rõ, vui lòng hỏi cán bộ');
    expect(msg.text).toContain('Lệ phí: Miễn phí');
    expect(msg.text).toMatch(/Nộp trực tuyến: có/u);
    expect(msg.buttons.map((b) => b.title)).toEqual([
      'Giấy tờ cần nộp',
      'Các bước thực hiện',
      'Phí và thời hạn',
      'Căn cứ pháp lý',
      'Nộp trực tuyến',
      'Gặp cán bộ',
    ]);
    expect(msg.buttons[0]!.payload).toBe('mc:docs:1.001193');
    expect(msg.links[0]?.url).toBe('https://dichvucong.gov.vn');
    assertNoBareTime(replies);
    expect(r.log.entries).toMatchObject([{ outcome: 'answered', topCode: '1.001193', unitId: 'xa-mau', channel: 'web' }]);
  });

  it('treats "chào bạn, cho hỏi đăng ký tạm trú" as a question, not a greeting', async () => {
    const replies = await r.engine.handle(text('chào bạn, cho hỏi đăng ký tạm trú'));
    expect(all(replies)).toContain('Đăng ký tạm trú');
    expect(all(replies)).toContain('Nơi nộp: Công an cấp Xã');
    expect(all(replies)).toContain('Thời hạn: 3 ngày làm việc');
    // Online states a fee, the desk does not: per channel, the unstated one says so.
    expect(all(replies)).toContain('Lệ phí: Trực tuyến: 7.000 đồng; Trực tiếp: nguồn không ghi rõ');
  });

  it('shows each detail behind its button', async () => {
    await r.engine.handle(text('khai sinh'));
    const docs = await r.engine.handle(tap('mc:docs:1.001193'));
    expect(all(docs)).toContain('Giấy tờ cần nộp – Thủ tục đăng ký khai sinh');
    expect(all(docs)).toContain('• Tờ khai đăng ký khai sinh theo mẫu (1 bản chính; mẫu: Tờ khai đăng ký khai sinh.docx)');
    expect(all(docs)).toContain('(1 bản chính; xuất trình, không nộp)');
    expect(payloads(docs)).not.toContain('mc:docs:1.001193');
    expect(payloads(docs)).toContain('mc:steps:1.001193');

    const steps = await r.engine.handle(tap('mc:steps:1.001193'));
    expect(all(steps)).toContain('Các bước thực hiện');
    expect(all(steps)).toMatch(/^1\. Nếu lựa chọn/mu);
    expect(all(steps)).toMatch(/^3\. Cán bộ tư pháp/mu);

    const fee = await r.engine.handle(tap('mc:fee:1.001193'));
    expect(all(fee)).toContain('Trực tuyến: thời hạn chưa được công bố rõ; lệ phí Miễn phí');
    expect(all(fee)).toContain('hỏi cán bộ');
    assertNoBareTime(fee);

    const legal = await r.engine.handle(tap('mc:legal:1.001193'));
    expect(all(legal)).toContain('Nghị định số 123/2015/NĐ-CP');
    expect(all(legal)).toContain('(85/2019/TT-BTC)');
    // The number already in the title is not repeated.
    expect(all(legal)).not.toContain('Luật Hộ tịch (123/2015/NĐ-CP)');

    const online = await r.engine.handle(tap('mc:online:1.001193'));
    expect(all(online)).toContain('nộp trực tuyến trên Cổng Dịch vụ công quốc gia');
    const urls = online.flatMap((m) => m.links.map((l) => l.url));
    expect(urls).toContain('https://dichvucong.gov.vn');
    expect(urls).toContain(KHAI_SINH.sourceUrl);
  });

  it('answers the asked aspect directly', async () => {
    const fee = await r.engine.handle(text('lệ phí khai sinh bao nhiêu'));
    expect(all(fee)).toContain('Phí và thời hạn – Thủ tục đăng ký khai sinh');
    expect(all(fee)).toContain('lệ phí Miễn phí');
    const docs = await r.engine.handle(text('làm khai sinh cần giấy tờ gì'));
    expect(all(docs)).toContain('Giấy tờ cần nộp – Thủ tục đăng ký khai sinh');
  });

  it('never shows a time without its unit, nor a fee the source does not state', async () => {
    const replies = await r.engine.handle(text('chứng thực bản sao'));
    expect(all(replies)).toContain('Thời hạn: chưa được công bố rõ, vui lòng hỏi cán bộ');
    expect(all(replies)).toContain('Lệ phí: nguồn không ghi rõ, vui lòng hỏi cán bộ');
    expect(all(replies)).toContain('Nộp trực tuyến: nguồn chưa ghi nhận');
    assertNoBareTime(replies);
    const detail = await r.engine.handle(tap(`mc:fee:${CHUNG_THUC.code}`));
    expect(all(detail)).toContain('Trực tiếp: thời hạn chưa được công bố rõ; lệ phí nguồn không ghi rõ');
    assertNoBareTime(detail);
    expect(all(detail)).not.toMatch(/\bđồng\b/u);
  });

  it('splits long lists into messages of sane length, buttons on the last', async () => {
    const replies = await r.engine.handle(tap(`mc:docs:${CHUNG_THUC.code}`));
    expect(replies.length).toBeGreaterThan(1);
    for (const m of replies) expect(Array.from(m.text).length).toBeLessThanOrEqual(1000);
    expect(replies.slice(0, -1).every((m) => m.buttons.length === 0)).toBe(true);
    expect(replies.at(-1)!.buttons.length).toBeGreaterThan(0);
    // Items are never cut in the middle of a message: each shown item appears whole.
    expect(all(replies)).toContain('Giấy tờ số 1: bản chính giấy tờ');
  });

  it('ends a very long list with a link to the full record instead of flooding the chat', async () => {
    const replies = await r.engine.handle(tap(`mc:docs:${CHUNG_THUC.code}`));
    expect(replies.length).toBe(4);
    expect(replies.at(-1)!.text).toContain('Danh sách còn dài');
    expect(replies.at(-1)!.links.map((l) => l.url)).toContain(CHUNG_THUC.sourceUrl);
  });

  it('does not show the portal\'s "0 bản chính" notes as a quantity', async () => {
    const catalogue = fixtureCatalogue([
      { ...KHAI_SINH, documents: [{ name: 'Trường hợp nộp trực tuyến thì tải bản chụp', kind: 'submit', quantity: '0 bản chính', form: null, group: null }] },
    ]);
    const engine = createEngine({
      catalogue,
      searcher: new FakeSearcher(SCRIPTS, catalogue),
      state: new MemoryStateStore(),
      queryLog: new MemoryQueryLog(),
      handoff: new MemoryHandoffQueue(),
      units: new MemoryUnitDirectory([UNIT]),
      intents,
    });
    const replies = await engine.handle(tap('mc:docs:1.001193'));
    expect(all(replies)).toContain('• Trường hợp nộp trực tuyến thì tải bản chụp');
    expect(all(replies)).not.toContain('0 bản chính');
  });

  it('offers choices, and a tap or a typed number picks one', async () => {
    const choices = await r.engine.handle(text('thủ tục hộ tịch'));
    expect(all(choices)).toContain('1. Thủ tục đăng ký khai sinh');
    expect(all(choices)).toContain('2. Thủ tục đăng ký kết hôn');
    expect(payloads(choices)).toEqual(['mc:pick:1.001193', 'mc:pick:1.000894', 'mc:pick:2.000815', 'mc:handoff']);
    expect(r.log.entries.at(-1)).toMatchObject({ outcome: 'choices', topCode: '1.001193' });

    const typed = await r.engine.handle(text('2'));
    expect(all(typed)).toContain('Thủ tục đăng ký kết hôn');
    expect(all(typed)).toContain('Thời hạn: 5 ngày làm việc');

    await r.engine.handle(text('ho tich'));
    const tapped = await r.engine.handle(tap('mc:pick:2.000815'));
    expect(all(tapped)).toContain('Chứng thực bản sao');

    await r.engine.handle(text('ho tich'));
    const outOfRange = await r.engine.handle(text('7'));
    expect(all(outOfRange)).toContain('Không có lựa chọn số 7');
  });

  it('carries the asked aspect to the picked choice', async () => {
    await r.engine.handle(text('đăng ký hết bao nhiêu tiền'));
    const picked = await r.engine.handle(text('1'));
    expect(all(picked)).toContain(`Phí và thời hạn – ${TAM_TRU.name}`);
  });

  it('says when it does not understand, with an officer and the phone', async () => {
    const replies = await r.engine.handle(text('giá vàng hôm nay'));
    expect(all(replies)).toContain('chưa hiểu');
    expect(all(replies)).toContain('0200 000 000');
    expect(payloads(replies)).toContain('mc:handoff');
    // Suggestions are shown, but never as a direct answer.
    expect(all(replies)).toContain('1. Thủ tục đăng ký kết hôn');
    expect(all(replies)).not.toContain('Nơi nộp');
    expect(r.log.entries.at(-1)).toMatchObject({ outcome: 'none' });
  });

  it('hands off to an officer and then stays quiet until the hand-off closes or times out', async () => {
    await r.engine.handle(text('khai sinh cho cháu 0912345678'));
    const replies = await r.engine.handle(text('gặp cán bộ'));
    expect(all(replies)).toContain('cán bộ UBND xã Mẫu');
    expect(all(replies)).toContain('Sáng 7h30');
    expect(r.handoff.requests).toHaveLength(1);
    expect(r.handoff.requests[0]).toMatchObject({ unitId: 'xa-mau', channel: 'web', userId: 'user-1', text: 'khai sinh cho cháu #' });
    expect(r.log.entries.at(-1)).toMatchObject({ outcome: 'handoff', topCode: '1.001193' });

    expect(await r.engine.handle(text('alo alo'))).toEqual([]);
    expect(await r.engine.handle(tap('mc:docs:1.001193'))).toEqual([]);
    // Another citizen is unaffected.
    expect(await r.engine.handle(text('xin chào', 'user-2'))).not.toEqual([]);

    // An officer closes the hand-off: the state is cleared, the bot answers again.
    await r.store.clear({ unitId: 'xa-mau', channel: 'web', userId: 'user-1' });
    expect(all(await r.engine.handle(text('xin chào')))).toContain('trợ lý tự động');

    // Or it times out.
    await r.engine.handle(tap('mc:handoff'));
    expect(await r.engine.handle(text('kết hôn'))).toEqual([]);
    r.clock.t += 25 * 60 * 60 * 1000;
    expect(all(await r.engine.handle(text('kết hôn')))).toContain('Thủ tục đăng ký kết hôn');
  });

  it('thanks', async () => {
    for (const t of ['cảm ơn', 'cam on', 'ok thanks']) {
      expect(all(await r.engine.handle(text(t)))).toContain('Không có gì');
    }
    expect(r.searcher.calls).toHaveLength(0);
  });

  it('gives the unit contact and hours', async () => {
    for (const t of ['địa chỉ ubnd ở đâu', 'mấy giờ làm việc', 'số điện thoại']) {
      const replies = await r.engine.handle(text(t));
      expect(all(replies)).toContain('Điện thoại: 0200 000 000');
      expect(all(replies)).toContain('Địa chỉ: Bộ phận Một cửa');
    }
  });

  it('masks digits in the query log and the hand-off queue', async () => {
    await r.engine.handle(text('khai sinh, CCCD 001203004567, sđt 0912.345.678'));
    await r.engine.handle(text('tôi muốn gặp cán bộ'));
    expect(r.handoff.requests).toHaveLength(1);
    await r.store.clear({ unitId: 'xa-mau', channel: 'web', userId: 'user-1' });
    await r.engine.handle(text('giá vàng 9999 hôm nay'));
    const stored = [...r.log.entries.map((e) => e.text), ...r.handoff.requests.map((h) => h.text)];
    expect(stored.length).toBeGreaterThanOrEqual(3);
    for (const s of stored) expect(s).not.toMatch(/\d/u);
    expect(stored).toContain('khai sinh, CCCD #, sđt #.#.#');
  });

  it('restricts answers to the unit catalogue when the unit lists codes', async () => {
    const store = new MemoryStateStore();
    const searcher = new FakeSearcher(SCRIPTS);
    const engine = createEngine({
      catalogue: fixtureCatalogue(),
      searcher,
      state: store,
      queryLog: new MemoryQueryLog(),
      handoff: new MemoryHandoffQueue(),
      units: new MemoryUnitDirectory([{ ...UNIT, procedureCodes: ['1.000894'] }]),
      intents,
    });
    const replies = await engine.handle(text('khai sinh'));
    expect(searcher.calls[0]!.options?.codes?.has('1.000894')).toBe(true);
    expect(all(replies)).not.toContain('Thủ tục đăng ký khai sinh');
    expect(all(await engine.handle(tap('mc:docs:1.001193')))).toContain('không còn trong danh mục');
  });

  it('answers with the unit\'s own phrasing an officer attached, and not in another unit', async () => {
    const make = (aliases?: ReadonlyMap<string, string>) => {
      const searcher = new FakeSearcher(SCRIPTS);
      const log = new MemoryQueryLog();
      const engine = createEngine({
        catalogue: fixtureCatalogue(),
        searcher,
        state: new MemoryStateStore(),
        queryLog: log,
        handoff: new MemoryHandoffQueue(),
        units: new MemoryUnitDirectory([{ ...UNIT, ...(aliases ? { aliases } : {}) }]),
        intents,
      });
      return { engine, searcher, log };
    };
    const question = 'giấy cho bà đi viện dưỡng lão';
    const plain = make();
    expect(all(await plain.engine.handle(text(question)))).not.toContain('Thủ tục đăng ký kết hôn');
    const key = plain.searcher.contentKey(question) ?? '';
    const withAlias = make(new Map([[key, '1.000894']]));
    const replies = await withAlias.engine.handle(text(question));
    expect(withAlias.searcher.calls[0]!.options?.aliases?.get(key)).toBe('1.000894');
    expect(all(replies)).toContain(fixtureCatalogue().byCode('1.000894')?.name ?? '-');
    expect(withAlias.log.entries.at(-1)?.outcome).toBe('answered');
  });

  it('answers a procedure code typed on its own', async () => {
    const { engine, log } = rig();
    const name = fixtureCatalogue().byCode('1.001193')?.name ?? '-';
    expect(all(await engine.handle(text('1.001193')))).toContain(name);
    expect(all(await engine.handle(text('mã 1.001193')))).toContain(name);
    expect(log.entries.at(-1)).toMatchObject({ outcome: 'answered', topCode: '1.001193' });
    // A code the catalogue does not have is an ordinary (unanswered) question.
    expect(all(await engine.handle(text('9.999999')))).not.toContain(name);
  });

  it('answers a list-only procedure honestly', async () => {
    const replies = await r.engine.handle(text('thủ tục trong danh sách'));
    expect(all(replies)).toContain('chưa có thông tin chi tiết');
    expect(all(replies)).not.toContain('Thời hạn');
  });

  it('replies politely to bad input and never throws', async () => {
    const bad = [
      '',
      '   \n\t ',
      '😀😀😀',
      '👍',
      '!!!???',
      '你好，我想办理出生登记',
      'Привет',
      'đăng ký 结婚 kết hôn',
      "'; DROP TABLE queries; --",
      '1 OR 1=1',
      '<script>alert("x")</script>',
      '<img src=x onerror=alert(1)>',
      'a'.repeat(10_000),
      'khai sinh '.repeat(200),
      '\u0000\u0007\u200b',
      'mc:docs:not-a-code',
      'mc:',
      'mc:pick:9.999999',
      'mc:docs:1.001193:extra',
      '\ud800',
    ];
    for (const t of bad) {
      const replies = await r.engine.handle(text(t));
      expect(replies.length, t).toBeGreaterThan(0);
      for (const m of replies) expect(m.text.length, t).toBeGreaterThan(0);
    }
    for (const p of ['garbage', '', 'mc:unknown', 'mc:pick:1.001193'.repeat(50)]) {
      const replies = await r.engine.handle(tap(p));
      expect(all(replies), p).toMatch(/trợ lý tự động|không còn/u);
    }
    expect(r.errors).toEqual([]);
  });

  it('says a long message was cut', async () => {
    const replies = await r.engine.handle(text(`khai sinh ${'rất '.repeat(300)}`));
    expect(replies[0]!.text).toContain('500 ký tự');
    expect(all(replies)).toContain('Thủ tục đăng ký khai sinh');
    expect(r.searcher.calls[0]!.query.length).toBeLessThanOrEqual(500);
  });

  it('turns a failing port into a polite reply', async () => {
    const engine = createEngine({
      catalogue: fixtureCatalogue(),
      searcher: new FakeSearcher(SCRIPTS),
      state: {
        get: async () => {
          throw new Error('redis down');
        },
        set: async () => {},
        clear: async () => {},
      },
      queryLog: new MemoryQueryLog(),
      handoff: new MemoryHandoffQueue(),
      units: new MemoryUnitDirectory([UNIT]),
      intents,
      onError: (e) => r.errors.push(e),
    });
    const replies = await engine.handle(text('khai sinh'));
    expect(all(replies)).toContain('hệ thống đang gặp sự cố');
    expect(r.errors).toHaveLength(1);
  });

  it('greets on follow and referral, forgets on unfollow', async () => {
    const base = { unitId: 'xa-mau', channel: 'messenger' as const, accountId: 'page', userId: 'psid-1', timestamp: 0 };
    expect(all(await r.engine.handle({ ...base, kind: 'follow', messageId: 'f1' }))).toContain('trợ lý tự động');
    expect(all(await r.engine.handle({ ...base, kind: 'referral', ref: 'qr', messageId: 'r1' }))).toContain('trợ lý tự động');
    await r.engine.handle({ ...base, kind: 'text', text: 'ho tich', messageId: 't1' });
    expect(await r.engine.handle({ ...base, kind: 'unfollow', messageId: 'u1' })).toEqual([]);
    expect(await r.store.get({ unitId: 'xa-mau', channel: 'messenger', userId: 'psid-1' })).toBeNull();
  });

  it('accepts Zalo-style taps that arrive as text', async () => {
    const replies = await r.engine.handle(text('mc:steps:1.001193'));
    expect(all(replies)).toContain('Các bước thực hiện');
  });
});

describe('payloads', () => {
  it('parses our payloads and refuses others', () => {
    expect(parsePayload('mc:docs:1.001193')).toEqual({ action: 'docs', code: '1.001193' });
    expect(parsePayload('mc:handoff')).toEqual({ action: 'handoff' });
    expect(parsePayload('mc:handoff:1.001193')).toBeNull();
    expect(parsePayload('mc:docs')).toBeNull();
    expect(parsePayload('mc:drop:1.001193')).toBeNull();
    expect(parsePayload('xx:docs:1.001193')).toBeNull();
  });
});

describe('titles', () => {
  it('keeps detail button titles in Vietnamese from messages.yaml', async () => {
    const r = rig();
    const replies = await r.engine.handle(text('kết hôn'));
    expect(titles(replies)).toContain('Giấy tờ cần nộp');
  });
});
