import { describe, expect, it } from 'vitest';
import {
  canonicalTone,
  foldMarks,
  isVietnameseSyllable,
  nfcLower,
  repairTypingResidue,
  tokenize,
} from '../../src/search/normalize.js';
import { buildPhraseTable, analyzeQuery, type FillerPolicy } from '../../src/search/query-analyzer.js';
import { loadDictionary, parseDictionary, DictionaryError } from '../../src/search/dictionary.js';

const accOf = (text: string): string => tokenize(text).map((t) => t.acc).join(' ');
const foldOf = (text: string): string => tokenize(text).map((t) => t.fold).join(' ');

describe('NFC and lower case', () => {
  it('composes decomposed marks (as found in the portal crawl)', () => {
    const nfd = 'Đăng ký khai sinh'.normalize('NFD');
    expect(nfd).not.toBe('Đăng ký khai sinh');
    expect(nfcLower(nfd)).toBe('đăng ký khai sinh');
    expect(accOf(nfd)).toBe('đăng ký khai sinh');
  });
  it('lower-cases', () => {
    expect(accOf('ĐĂNG KÝ TẠM TRÚ')).toBe('đăng ký tạm trú');
  });
});

describe('tone placement', () => {
  it.each([
    ['hoà', 'hòa'],
    ['thuý', 'thúy'],
    ['khoẻ', 'khỏe'],
    ['oà', 'òa'],
    ['uỳ', 'ùy'],
    ['uỷ', 'ủy'],
    ['tuỳ', 'tùy'],
  ])('%s → %s', (from, to) => {
    expect(canonicalTone(from)).toBe(to);
  });
  it('leaves syllables already right, with a final consonant, or with qu-/gi- onsets', () => {
    for (const w of ['hòa', 'hoàn', 'quý', 'giá', 'gì', 'người', 'của', 'thuế', 'khuỷu']) expect(canonicalTone(w)).toBe(w);
  });
  it('puts a misplaced mark on the right vowel', () => {
    expect(canonicalTone('ngươì')).toBe('người');
  });
  it('makes both spellings one token', () => {
    expect(accOf('Hoà giải')).toBe(accOf('Hòa giải'));
  });
});

describe('folded form', () => {
  it('strips marks and maps đ to d', () => {
    expect(foldMarks('Đăng ký đất đai')).toBe('Dang ky dat dai');
    expect(foldOf('Giấy chứng nhận quyền sử dụng đất')).toBe('giay chung nhan quyen su dung dat');
  });
  it('keeps both forms on every token', () => {
    const [t] = tokenize('Hộ');
    expect(t).toMatchObject({ acc: 'hộ', fold: 'ho', marked: true });
  });
});

describe('Telex / VNI residue', () => {
  it('repairs Telex keys in tokens that are not syllables', () => {
    expect(repairTypingResidue('sinhf')).toBe('sình'); // f = huyền; folds back to "sinh"
    expect(foldOf('khai sinhf')).toBe('khai sinh');
    expect(repairTypingResidue('ddawng')).toBe('đăng');
    expect(repairTypingResidue('kys')).toBe('ký');
    expect(repairTypingResidue('tamj')).toBe('tạm');
  });
  it('repairs VNI digits', () => {
    expect(repairTypingResidue('ky1')).toBe('ký');
    expect(accOf('dang ky1')).toBe('dang ký');
    expect(repairTypingResidue('d9ang8')).toBe('đăng');
  });
  it('never touches valid syllables ("trên" stays "trên")', () => {
    expect(isVietnameseSyllable('trên')).toBe(true);
    expect(repairTypingResidue('trên')).toBeNull();
    expect(accOf('trên')).toBe('trên');
    expect(repairTypingResidue('tru')).toBeNull();
  });
  it('leaves foreign words and numbers alone', () => {
    expect(repairTypingResidue('online')).toBeNull();
    expect(repairTypingResidue('2025')).toBeNull();
    expect(accOf('VNeID 2025')).toBe('vneid 2025');
  });
});

describe('dictionary rules (procedures/dictionary.yaml)', () => {
  const dict = loadDictionary();
  const table = buildPhraseTable(dict);
  const fillers: FillerPolicy = {
    dropAcc: dict.fillerWords,
    // Folded fillers only where folding cannot collide (the index decides this from the catalogue).
    dropFold: new Set([...dict.fillerWords].filter((w) => foldMarks(w) === w)),
    weakAcc: new Set(),
    weakFold: new Set(),
  };
  const analyze = (q: string) => analyzeQuery(q, dict, table, fillers);
  const words = (q: string): string => analyze(q).concepts.map((c) => (c.alts[0] ?? []).map((t) => t.acc).join(' ')).join(' | ');

  it.each([
    ['đk tạm trú', 'đăng ký tạm trú'],
    ['dk tam tru', 'đăng ký tạm trú'],
    ['gcn', 'giấy chứng nhận'],
    ['làm cccd', 'cấp thẻ căn cước'],
    ['cmnd', 'căn cước'],
    ['sổ đỏ', 'giấy chứng nhận quyền sử dụng đất'],
    ['sdd', 'giấy chứng nhận quyền sử dụng đất'],
    ['qsdđ', 'quyền sử dụng đất'],
    ['gks', 'đăng ký khai sinh'],
    ['ubnd', 'ủy ban nhân dân'],
  ])('abbreviation / synonym: %s → %s', (q, expected) => {
    expect(words(q).replace(/ \| /g, ' ')).toContain(expected);
  });
  it('reads "dk" as đăng ký, not "được"', () => {
    expect(words('dk ket hon')).toBe('đăng ký kết hôn');
  });
  it('maps old names to current ones, keeping the citizen wording as an alternative', () => {
    const a = analyze('nhập hộ khẩu cho con');
    const c = a.concepts[0];
    expect(c?.alts[0]?.map((t) => t.acc).join(' ')).toBe('đăng ký thường trú');
    expect(c?.alts[1]?.map((t) => t.acc).join(' ')).toBe('nhập hộ khẩu');
    expect(words('giấy xác nhận độc thân')).toBe('xác nhận tình trạng hôn nhân');
    expect(words('khai báo tạm trú')).toBe('đăng ký tạm trú');
  });
  it('drops stop phrases', () => {
    expect(words('Cho em hỏi thủ tục đăng ký kết hôn như thế nào ạ')).toBe('đăng ký kết hôn');
    expect(words('xin hỏi làm sao để đăng ký kết hôn')).toBe('đăng ký kết hôn');
  });
  it('decides stop phrases on the accented form: "hội" is not "hỏi"', () => {
    expect(words('cho em hội')).toContain('hội');
    expect(words('cho em hoi dang ky ket hon')).toBe('đăng ký kết hôn');
  });
  it('strips aspect words and returns them', () => {
    const a = analyze('đăng ký kết hôn lệ phí bao nhiêu, mất bao lâu, cần giấy tờ gì, nộp ở đâu, có online được không');
    expect(a.aspects).toEqual(expect.arrayContaining(['fee', 'time', 'documents', 'where', 'online']));
    expect(words('đăng ký kết hôn lệ phí bao nhiêu')).toBe('đăng ký kết hôn');
  });
  it('knows whether the question was typed with marks', () => {
    expect(analyze('đăng ký kết hôn').marked).toBe(true);
    expect(analyze('dang ky ket hon').marked).toBe(false);
  });
  it('truncates huge input instead of choking on it', () => {
    const a = analyze('khai sinh '.repeat(10_000));
    expect(a.tokens.length).toBeLessThanOrEqual(120);
  });
});

describe('dictionary file validation', () => {
  it('fails naming the field', () => {
    expect(() => parseDictionary('synonyms:\n  - from: []\n    to: x\n')).toThrow(DictionaryError);
    expect(() => parseDictionary('synonyms:\n  - from: []\n    to: x\n')).toThrow(/synonyms\.0\.from/);
    expect(() => parseDictionary('aspects:\n  price: [giá]\n')).toThrow(/aspects/);
  });
  it('accepts a minimal file', () => {
    expect(parseDictionary('abbreviations:\n  dk: đăng ký\n').abbreviations.get('dk')?.map((t) => t.acc)).toEqual(['đăng', 'ký']);
  });
});
