import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createIntentMatcher, type PhraseIntent } from '../../src/conversation/intent-matcher.js';
import {
  defaultIntentsDir,
  IntentFileError,
  loadIntents,
  parseIntentFile,
  parseMessagesFile,
} from '../../src/conversation/intents.js';
import { foldMarks } from '../../src/search/normalize.js';

const dir = defaultIntentsDir();
const intents = loadIntents(dir);
const phraseIntents = [intents.greeting, intents.contact, intents.handoff, intents.thanks];
const matcher = createIntentMatcher(phraseIntents.map((i) => ({ name: i.name, examples: i.examples })));

describe('intents/*.yaml', () => {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'));

  it('has one file per intent and the messages file, all valid', () => {
    expect(files.sort()).toEqual([
      'contact.yaml',
      'greeting.yaml',
      'handoff.yaml',
      'messages.yaml',
      'procedure-question.yaml',
      'subscribe.yaml',
      'thanks.yaml',
      'unsubscribe.yaml',
    ]);
    expect(intents.messages.subscriptions.howToStop).toContain('HỦY ĐĂNG KÝ hoặc STOP');
    expect(intents.procedure.examples.length).toBeGreaterThan(5);
  });

  it('is stored in NFC', () => {
    for (const f of files) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      expect(text.normalize('NFC') === text, f).toBe(true);
    }
  });

  it('gives each intent examples both with and without diacritics', () => {
    const stop = { name: 'stop', examples: intents.unsubscribe.stopExamples };
    for (const intent of [...phraseIntents, intents.procedure, intents.subscribe, intents.unsubscribe, stop]) {
      const marked = intent.examples.filter((e) => foldMarks(e) !== e);
      const unmarked = intent.examples.filter((e) => foldMarks(e) === e && /[a-z]/u.test(e));
      expect(marked.length, intent.name).toBeGreaterThan(0);
      expect(unmarked.length, intent.name).toBeGreaterThan(0);
    }
  });

  it('fails with the file and the field named', () => {
    expect(() => parseIntentFile('intents/greeting.yaml', { name: 'greeting', examples: ['xin chào'], replies: { welcome: 'x' } })).toThrow(
      /intents\/greeting\.yaml: replies\.prompt/u,
    );
    expect(() => parseIntentFile('intents/x.yaml', { name: 'weather', examples: ['a'], replies: {} })).toThrow(/intents\/x\.yaml: name/u);
    expect(() => parseIntentFile('intents/thanks.yaml', { name: 'thanks', examples: [], replies: { thanks: 'ok' } })).toThrow(
      /thanks\.yaml: examples/u,
    );
    expect(() => parseMessagesFile('intents/messages.yaml', { buttons: {} })).toThrow(IntentFileError);
    expect(() => parseIntentFile('intents/unsubscribe.yaml', { name: 'unsubscribe', examples: ['hủy đăng ký'] })).toThrow(
      /unsubscribe\.yaml: stopExamples/u,
    );
    const { subscriptions: _dropped, ...withoutSubscriptions } = intents.messages;
    expect(() => parseMessagesFile('intents/messages.yaml', withoutSubscriptions)).toThrow(/messages\.yaml: subscriptions/u);
  });

  it('refuses a folder with a missing intent or a broken YAML file', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'intents-'));
    try {
      for (const f of files.filter((f) => f !== 'thanks.yaml')) fs.copyFileSync(path.join(dir, f), path.join(tmp, f));
      expect(() => loadIntents(tmp)).toThrow(/thiếu ý định "thanks"/u);
      fs.writeFileSync(path.join(tmp, 'thanks.yaml'), 'name: thanks\nexamples: [\n');
      expect(() => loadIntents(tmp)).toThrow(/thanks\.yaml: YAML không hợp lệ/u);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('normalises NFD text from a file to NFC', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'intents-'));
    try {
      for (const f of files) fs.copyFileSync(path.join(dir, f), path.join(tmp, f));
      const nfd = 'name: thanks\nexamples: [cảm ơn]\nreplies:\n  thanks: Không có gì ạ\n'.normalize('NFD');
      fs.writeFileSync(path.join(tmp, 'thanks.yaml'), nfd);
      const loaded = loadIntents(tmp);
      expect(loaded.thanks.replies.thanks).toBe('Không có gì ạ'.normalize('NFC'));
      expect(loaded.thanks.examples[0]).toBe('cảm ơn'.normalize('NFC'));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('intent matcher', () => {
  it('matches every example to its intent, with and without diacritics', () => {
    for (const intent of phraseIntents) {
      for (const e of intent.examples) {
        expect(matcher.match(e), e).toBe(intent.name);
        expect(matcher.match(foldMarks(e)), foldMarks(e)).toBe(intent.name);
        expect(matcher.match(e.toUpperCase()), e.toUpperCase()).toBe(intent.name);
      }
    }
  });

  it('leaves the subscription phrases alone (the engine reads them as commands)', () => {
    for (const e of [...intents.subscribe.examples, ...intents.unsubscribe.examples, ...intents.unsubscribe.stopExamples]) {
      expect(matcher.match(e), e).toBeNull();
    }
  });

  it('does not swallow procedure questions', () => {
    for (const e of intents.procedure.examples) {
      expect(matcher.match(e), e).toBeNull();
      expect(matcher.match(foldMarks(e)), foldMarks(e)).toBeNull();
    }
    for (const e of [
      'cho em hỏi làm giấy khai sinh',
      'chào bạn, cho hỏi đăng ký tạm trú',
      'xin chào, làm căn cước ở đâu',
      'địa chỉ nộp hồ sơ khai sinh ở đâu',
      'giấy tờ',
      'đăng ký thường trú',
      'giá vàng hôm nay',
      'cảm ơn, cho hỏi lệ phí kết hôn',
      'ok, còn khai tử thì sao',
      'gặp cán bộ để nộp hồ sơ đất đai',
    ]) {
      expect(matcher.match(e), e).toBeNull();
    }
  });

  it('tolerates light typos, stretched letters and fillers', () => {
    const cases: [string, PhraseIntent][] = [
      ['xin chàoooo', 'greeting'],
      ['chao ban oi', 'greeting'],
      ['ad ơi', 'greeting'],
      ['cam onn ban nhe', 'thanks'],
      ['cảm ơn ạ', 'thanks'],
      ['so dien thaoi', 'contact'],
      ['sdt ubnd xã là gì', 'contact'],
      ['chào ad, mấy giờ làm việc ạ', 'contact'],
      ['gap can boo', 'handoff'],
      ['em muốn gặp cán bộ ạ', 'handoff'],
      ['Xin chào, cho gặp cán bộ', 'handoff'],
    ];
    for (const [input, expected] of cases) expect(matcher.match(input), input).toBe(expected);
  });

  it('does not treat emoji, numbers or foreign text as an intent', () => {
    for (const e of ['😀', '123', '你好', '']) expect(matcher.match(e), e).toBeNull();
  });
});
