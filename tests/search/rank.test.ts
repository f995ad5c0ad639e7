import { describe, expect, it } from 'vitest';
import { buildSearchIndex } from '../../src/search/index.js';
import { makeProcedure, smallCatalogue } from './make-procedure.js';

const searcher = buildSearchIndex(smallCatalogue());
const top = (q: string): string | undefined => searcher.search(q).results[0]?.code;

describe('ranking on a small real-shaped catalogue', () => {
  it('indexes every procedure', () => {
    expect(searcher.size).toBe(smallCatalogue().length);
  });
  it('finds the procedure with and without diacritics', () => {
    expect(top('đăng ký khai sinh cho con')).toBe('1.001193');
    expect(top('dang ky khai sinh cho con')).toBe('1.001193');
    expect(top('Đăng ký kết hôn cần giấy tờ gì')).toBe('1.000894');
  });
  it('prefers the general procedure over its variants unless the question names them', () => {
    expect(top('làm giấy khai sinh')).toBe('1.001193');
    expect(top('đăng ký khai sinh cho con có yếu tố nước ngoài')).toBe('2.000528');
    expect(top('kết hôn với người nước ngoài')).toBe('2.000806');
    expect(top('đăng ký lại khai sinh')).toBe('1.004884');
    expect(top('làm lại căn cước bị mất')).toBe('1.014064');
    expect(top('đổi căn cước hết hạn')).toBe('1.014063');
  });
  it('prefers the citizen procedure over the one for organisations', () => {
    expect(top('cấp sổ đỏ lần đầu')).toBe('1.013978');
  });
  it('ranks the commune-level procedure first', () => {
    const res = searcher.search('cấp đổi thẻ căn cước');
    expect(res.results[0]?.code).toBe('1.014063');
    const codes = res.results.map((r) => r.code);
    expect(codes.indexOf('1.014063')).toBeLessThan(codes.indexOf('2.001195') === -1 ? 99 : codes.indexOf('2.001195'));
  });
  it('maps colloquial and old names to the catalogue wording', () => {
    expect(top('xin giấy xác nhận độc thân')).toBe('1.004873');
    expect(top('nhập hộ khẩu cho vợ')).toBe('1.004222');
    expect(top('khai báo tạm trú')).toBe('1.004194');
    expect(top('photo công chứng bằng tốt nghiệp')).toBe('2.000815');
    expect(top('xin lý lịch tư pháp')).toBe('3.000333');
  });
  it('repairs a misspelt long syllable against the vocabulary', () => {
    expect(top('hoa giai tranh chapp dat dai')).toBe('1.012812');
  });
  it('extracts aspects and still finds the procedure', () => {
    const res = searcher.search('đăng ký tạm trú mất bao lâu, lệ phí bao nhiêu, nộp online được không?');
    expect(res.results[0]?.code).toBe('1.004194');
    expect(res.aspects).toEqual(expect.arrayContaining(['time', 'fee', 'online']));
  });
  it('answers a clear question directly', () => {
    const res = searcher.search('Thủ tục đăng ký khai tử');
    expect(res.outcome).toBe('answer');
    expect(res.confidence).toBeGreaterThan(0.6);
    expect(res.results[0]?.score).toBeGreaterThan(res.results[1]?.score ?? 0);
  });
  it('restricts to a subset of codes', () => {
    const res = searcher.search('đăng ký khai sinh', { codes: new Set(['1.000894', '2.000528']) });
    expect(res.results.every((r) => ['1.000894', '2.000528'].includes(r.code))).toBe(true);
    expect(res.results[0]?.code).toBe('2.000528');
  });
  it('honours top', () => {
    expect(searcher.search('đăng ký', { top: 5 }).results.length).toBe(5);
    expect(searcher.search('đăng ký', { top: 1 }).results.length).toBe(1);
  });
});

describe('out of scope questions never get a direct answer', () => {
  it.each(['giá vàng hôm nay', 'thời tiết mai thế nào', 'hello', 'ai là người đẹp nhất', '😀😀😀', '', 'bóng đá tối nay đội nào đá', 'mua xe máy trả góp lãi suất bao nhiêu'])(
    '%s',
    (q) => {
      const res = searcher.search(q);
      expect(res.outcome).not.toBe('answer');
    },
  );
});

describe('bad input never throws', () => {
  const inputs = [
    '',
    '   ',
    '\u0000\u0001',
    '🙏🙏',
    'x'.repeat(100_000),
    'khai sinh '.repeat(5_000),
    "'; DROP TABLE procedures; --",
    '<script>alert("khai sinh")</script>',
    '<b>đăng ký kết hôn</b>',
    'Привет 你好 khai sinh مرحبا',
    '\uD800',
    '1/2/3 ... ??? !!!',
  ];
  it.each(inputs.map((q) => [q.slice(0, 30), q]))('%s', (_label, q) => {
    const res = searcher.search(q);
    expect(['answer', 'choices', 'none']).toContain(res.outcome);
    expect(res.confidence).toBeGreaterThanOrEqual(0);
    expect(res.confidence).toBeLessThanOrEqual(1);
    for (const r of res.results) {
      expect(r.score).toBeGreaterThanOrEqual(0);
      expect(r.score).toBeLessThanOrEqual(1);
    }
  });
  it('finds the procedure inside HTML or mixed script', () => {
    expect(top('<b>đăng ký kết hôn</b>')).toBe('1.000894');
    expect(top('Привет khai tử')).toBe('1.000656');
  });
  it('builds over an empty catalogue', () => {
    const empty = buildSearchIndex([]);
    expect(empty.size).toBe(0);
    expect(empty.search('khai sinh').outcome).toBe('none');
  });
  it('builds over a procedure whose name is all punctuation', () => {
    const odd = buildSearchIndex([makeProcedure('9.000001', '—')]);
    expect(odd.search('—').results.length).toBe(0);
  });
});
