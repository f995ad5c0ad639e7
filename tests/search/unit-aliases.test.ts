// A unit's own phrasings (attached by officers to a procedure) answer the questions that mean
// the same, whatever the wording, and nothing else.
import { describe, expect, it } from 'vitest';
import { buildSearchIndex } from '../../src/search/index.js';
import { smallCatalogue } from './make-procedure.js';
import { compileUnitAliases } from '../../src/search/unit-aliases.js';

const searcher = buildSearchIndex(smallCatalogue());

describe('content keys', () => {
  it('are the same for the same request in other words, marks or fillers', () => {
    const key = searcher.contentKey('cho em hỏi làm giấy khai sinh cần gì ạ');
    expect(key).not.toBeNull();
    expect(searcher.contentKey('lam giay khai sinh')).toBe(key);
    expect(searcher.contentKey('Làm giấy KHAI SINH ạ')).toBe(key);
  });
  it('differ when the content differs', () => {
    expect(searcher.contentKey('làm giấy khai sinh')).not.toBe(searcher.contentKey('làm giấy khai tử'));
  });
  it('are null for a question with no content', () => {
    expect(searcher.contentKey('cho em hỏi ạ')).toBeNull();
    expect(searcher.contentKey('')).toBeNull();
  });
});

describe('unit aliases in search', () => {
  const question = 'xin giấy cho bà cụ đi viện dưỡng lão';
  const key = searcher.contentKey(question) ?? '';

  it('answer with the attached procedure a question the catalogue alone does not answer', () => {
    const before = searcher.search(question);
    expect(before.outcome).not.toBe('answer');
    const aliases = compileUnitAliases(searcher, [{ code: '1.004873', text: question }]);
    const after = searcher.search('Xin giay cho ba cu di vien duong lao a', { aliases });
    expect(after.outcome).toBe('answer');
    expect(after.confidence).toBe(1);
    expect(after.results[0]?.code).toBe('1.004873');
    expect(new Set(after.results.map((r) => r.code)).size).toBe(after.results.length);
  });
  it('match a marked question when attached from an unmarked one', () => {
    const aliases = compileUnitAliases(searcher, [{ code: '1.004873', text: 'xin giay cho ba cu di vien duong lao' }]);
    expect(searcher.search(question, { aliases }).results[0]?.code).toBe('1.004873');
    expect(searcher.search(question, { aliases }).outcome).toBe('answer');
  });
  it('leave other questions alone', () => {
    const aliases = new Map([[key, '1.004873']]);
    expect(searcher.search('đăng ký kết hôn', { aliases }).results[0]?.code).toBe('1.000894');
  });
  it('are ignored when the procedure is outside the unit subset or unknown', () => {
    expect(searcher.search(question, { aliases: new Map([[key, '1.004873']]), codes: new Set(['1.001193']) }).results[0]?.code).not.toBe('1.004873');
    expect(searcher.search(question, { aliases: new Map([[key, '9.999999']]) }).outcome).not.toBe('answer');
  });
});
