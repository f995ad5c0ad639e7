// The pure parts of the load script (bench/load-lib.ts): arguments, percentiles, the seeded mix,
// the seed plan, and webhook bodies that the real parsers and signature checks accept.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MIX,
  LoadArgsError,
  audienceUserId,
  buttonsOf,
  chatUserId,
  generateMix,
  hasMarks,
  isChatUser,
  isNavigation,
  markdownTable,
  messengerBody,
  messengerSignature,
  mulberry32,
  parseLoadArgs,
  parseQuestionsTsv,
  percentile,
  planSeed,
  summarize,
  textOf,
  thin,
  zaloBody,
  zaloSignatureHeader,
  type MixInput,
} from '../../bench/load-lib.js';
import { foldMarks } from '../../src/search/normalize.js';
import { verifyMessengerSignature } from '../../src/channels/messenger/verify.js';
import { parseMessengerWebhook } from '../../src/channels/messenger/parse-webhook.js';
import { verifyZaloSignature } from '../../src/channels/zalo/verify.js';
import { parseZaloWebhook } from '../../src/channels/zalo/parse-webhook.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const QUESTIONS = parseQuestionsTsv(fs.readFileSync(path.join(ROOT, '../shared/data/queries-dev.tsv'), 'utf8'));

describe('percentile', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted on purpose

  it('is the nearest rank of unsorted values', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 95)).toBe(95);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
    expect(percentile([7, 3, 9], 50)).toBe(7);
    expect(percentile([7, 3, 9], 99)).toBe(9);
    expect(percentile([42], 1)).toBe(42);
  });

  it('is NaN without values and refuses a p outside 0–100', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
  });

  it('summarizes without changing its input', () => {
    const values = [5, 1, 4, 2, 3];
    expect(summarize(values)).toEqual({ n: 5, p50: 3, p95: 5, p99: 5, max: 5 });
    expect(values).toEqual([5, 1, 4, 2, 3]);
    expect(summarize([]).n).toBe(0);
  });
});

describe('the mix', () => {
  const input: MixInput = { seed: 7, durationS: 60, rate: 20, units: 100, citizensPerUnit: 100, questions: QUESTIONS };

  it('is the same for the same input, and another for another seed', () => {
    const a = generateMix(input);
    expect(generateMix(input)).toEqual(a);
    expect(generateMix({ ...input, seed: 8 })).not.toEqual(a);
    const r1 = mulberry32(3);
    const r2 = mulberry32(3);
    const seq = Array.from({ length: 5 }, () => r1());
    expect(Array.from({ length: 5 }, () => r2())).toEqual(seq);
    expect(seq.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('arrives at the rate, in order, within the duration, with the weights and shares asked', () => {
    const sessions = generateMix(input);
    // Poisson: 1,200 expected, σ ≈ 35.
    expect(sessions.length).toBeGreaterThan(1060);
    expect(sessions.length).toBeLessThan(1340);
    for (let i = 1; i < sessions.length; i++) expect(sessions[i]!.at).toBeGreaterThanOrEqual(sessions[i - 1]!.at);
    expect(sessions.every((s) => s.at >= 0 && s.at < 60_000)).toBe(true);
    const share = (f: (s: (typeof sessions)[number]) => boolean): number => sessions.filter(f).length / sessions.length;
    expect(share((s) => s.kind === 'question')).toBeCloseTo(DEFAULT_MIX.question, 1);
    expect(share((s) => s.kind === 'subscribe')).toBeCloseTo(DEFAULT_MIX.subscribe, 1);
    expect(share((s) => s.kind === 'survey')).toBeGreaterThan(0.02);
    expect(share((s) => s.platform === 'zalo')).toBeCloseTo(0.6, 1);
    const units = new Set(sessions.map((s) => s.unit));
    expect(units.size).toBeGreaterThan(90);
    expect(Math.max(...units)).toBeLessThan(100);
  });

  it('asks real questions, some without their diacritics, and gives each citizen of a unit one session at a time', () => {
    const sessions = generateMix(input);
    const asked = sessions.filter((s) => s.kind === 'question');
    const known = new Set([...QUESTIONS, ...QUESTIONS.map(foldMarks)]);
    expect(asked.every((s) => known.has(s.text))).toBe(true);
    const folded = asked.filter((s) => !hasMarks(s.text)).length / asked.length;
    expect(folded).toBeGreaterThan(0.3);
    expect(folded).toBeLessThan(0.75);
    expect(asked.some((s) => hasMarks(s.text))).toBe(true);
    expect(sessions.filter((s) => s.kind === 'survey').every((s) => s.text === '')).toBe(true);
    expect(sessions.filter((s) => s.kind === 'subscribe').every((s) => /^(đăng ký|dang ky) nhận|^dang ky nhan/.test(s.text))).toBe(true);
    // Round robin within (platform, unit): 0, 1, 2, … wrapping at the pool size.
    const small = generateMix({ ...input, units: 1, citizensPerUnit: 3 });
    for (const platform of ['messenger', 'zalo'] as const) {
      const seq = small.filter((s) => s.platform === platform).map((s) => s.citizen);
      expect(seq).toEqual(seq.map((_, i) => i % 3));
    }
  });
});

describe('arguments', () => {
  it('has defaults for a province-sized run', () => {
    const o = parseLoadArgs([]);
    expect(o).toMatchObject({ durationS: 60, units: 100, subscribers: 1_000_000, recipients: 100_000, workers: [1, 2], rate: 20, smoke: false, jsonFile: null, keepDb: false });
  });

  it('reads every option, in both spellings', () => {
    const o = parseLoadArgs(['--duration', '30', '--units=10', '--subscribers', '9000', '--recipients', '1000', '--workers', '1,2,4', '--rate', '5.5', '--citizens', '7', '--seed', '9', '--json', 'out.json', '--keep-db']);
    expect(o).toMatchObject({ durationS: 30, units: 10, subscribers: 9000, recipients: 1000, workers: [1, 2, 4], rate: 5.5, citizensPerUnit: 7, seed: 9, jsonFile: 'out.json', keepDb: true });
    expect(parseLoadArgs(['--help']).help).toBe(true);
    expect(parseLoadArgs(['--recipients', '0']).recipients).toBe(0);
  });

  it('reads a split configuration: chat workers + broadcasts workers', () => {
    const o = parseLoadArgs(['--workers', '1,1+1,2+1']);
    expect(o.workers).toEqual([1, 2, 3]);
    expect(o.split).toEqual([undefined, { chat: 1, broadcasts: 1 }, { chat: 2, broadcasts: 1 }]);
    expect(() => parseLoadArgs(['--workers', '1+'])).toThrow(/--workers: expected/);
    expect(() => parseLoadArgs(['--workers', '0+1'])).toThrow(/--workers: must be between 1/);
  });

  it('makes --smoke tiny, and still lets a flag override it', () => {
    const smoke = parseLoadArgs(['--smoke']);
    expect(smoke.smoke).toBe(true);
    expect(smoke.durationS).toBeLessThanOrEqual(5);
    expect(smoke.workers).toEqual([1]);
    expect(smoke.subscribers).toBeLessThanOrEqual(1000);
    expect(parseLoadArgs(['--smoke', '--duration', '2']).durationS).toBe(2);
  });

  it('refuses what it cannot run, naming the option', () => {
    const refused = (argv: string[], pattern: RegExp): void => {
      expect(() => parseLoadArgs(argv)).toThrow(LoadArgsError);
      expect(() => parseLoadArgs(argv)).toThrow(pattern);
    };
    refused(['--durration', '5'], /unknown option --durration/);
    refused(['--duration'], /--duration: missing value/);
    refused(['--duration', '--smoke'], /--duration: missing value/);
    refused(['--duration', 'ten'], /--duration: expected a whole number/);
    refused(['--rate', '0'], /--rate/);
    refused(['--workers', '1,,2'], /--workers/);
    refused(['--workers', '0'], /--workers: must be between 1/);
    refused(['--workers', '1,1,1,1,1,1,1,1,1,1', '--units', '50'], /--workers: at most 9/);
    refused(['--units', '4'], /--units: at least 5/);
    refused(['--subscribers', '1000'], /--subscribers: .* at least 400000/);
    refused(['--smoke=1'], /--smoke takes no value/);
  });
});

describe('seed plan and ids', () => {
  it('gives each configuration two broadcasting units of exactly the recipients, and spreads the rest', () => {
    const plan = planSeed({ units: 100, subscribers: 1_000_000, recipients: 100_000, workers: [1, 2] });
    expect(plan.broadcastUnits).toEqual([
      [0, 1],
      [2, 3],
    ]);
    const total = (u: number): number => plan.perUnit[u]!.messenger + plan.perUnit[u]!.zalo;
    for (const u of [0, 1, 2, 3]) expect(total(u)).toBe(100_000);
    expect(plan.perUnit.reduce((a, p) => a + p.messenger + p.zalo, 0)).toBe(1_000_000);
    const others = plan.perUnit.slice(4).map((p) => p.messenger + p.zalo);
    expect(Math.max(...others) - Math.min(...others)).toBeLessThanOrEqual(1);
    const odd = planSeed({ units: 3, subscribers: 301, recipients: 101, workers: [1] });
    expect(odd.perUnit[0]).toEqual({ messenger: 50, zalo: 51 });
    expect(odd.perUnit[2]).toEqual({ messenger: 49, zalo: 50 });
  });

  it('keeps chat citizens and bulk subscribers apart, per configuration', () => {
    const a = chatUserId('messenger', 0, 12, 3);
    expect(a).toMatch(/^7\d{15}$/);
    expect(chatUserId('zalo', 0, 12, 3)).toMatch(/^8\d{17}$/);
    expect(chatUserId('messenger', 1, 12, 3)).not.toBe(a);
    expect(isChatUser(a)).toBe(true);
    expect(isChatUser(audienceUserId('messenger', 12, 3))).toBe(false);
    expect(isChatUser(audienceUserId('zalo', 12, 3))).toBe(false);
    expect(audienceUserId('zalo', 12, 3)).toBe('50012000000003');
  });
});

describe('webhooks and replies', () => {
  const PAGE = '106600000000001';
  const SECRET = 'load-fb-app-secret';
  const APP = '3608465249409000';
  const OA = '388600000000000001';
  const OA_SECRET = 'oa-secret';

  it('builds Messenger events the real signature check and parser accept: text, quick reply, postback', () => {
    const inputs = [
      { type: 'text', text: 'dang ky ket hon' },
      { type: 'tap', payload: 'mc:sub:12', title: 'Thôn 1', via: 'quick_reply' },
      { type: 'tap', payload: 'mc:sv:sipas', title: 'Khảo sát', via: 'postback' },
    ] as const;
    const events = inputs.map((input, i) => {
      const raw = messengerBody(PAGE, '7000120000000003', `m_${i}`, input, 1_795_000_000_000 + i);
      expect(verifyMessengerSignature(Buffer.from(raw), messengerSignature(SECRET, raw), SECRET)).toBe(true);
      expect(verifyMessengerSignature(Buffer.from(raw), messengerSignature('other', raw), SECRET)).toBe(false);
      const [event] = parseMessengerWebhook(JSON.parse(raw), { ownAppIds: [] });
      return event;
    });
    expect(events[0]).toMatchObject({ type: 'inbound', kind: 'text', accountId: PAGE, userId: '7000120000000003', text: 'dang ky ket hon' });
    expect(events[1]).toMatchObject({ type: 'inbound', kind: 'postback', payload: 'mc:sub:12' });
    expect(events[2]).toMatchObject({ type: 'inbound', kind: 'postback', payload: 'mc:sv:sipas' });
  });

  it('builds Zalo events the real signature check and parser accept; a tap is the text of its payload', () => {
    const ts = 1_795_000_000_123;
    const raw = zaloBody(APP, OA, '800012000000000003', '99001', { type: 'tap', payload: 'mc:sub:4', title: 'Thôn 1', via: 'zalo_query' }, ts);
    const header = zaloSignatureHeader(APP, raw, ts, OA_SECRET);
    expect(verifyZaloSignature(Buffer.from(raw), { 'x-zevent-signature': header }, { appId: APP, oaSecretKey: OA_SECRET })).toBe(true);
    expect(verifyZaloSignature(Buffer.from(raw), { 'x-zevent-signature': header }, { appId: APP, oaSecretKey: 'wrong' })).toBe(false);
    expect(parseZaloWebhook(JSON.parse(raw))[0]).toMatchObject({ type: 'inbound', kind: 'postback', payload: 'mc:sub:4', accountId: OA });
    const text = zaloBody(APP, OA, '800012000000000003', '99002', { type: 'text', text: 'Đăng ký tạm trú' }, ts);
    expect(parseZaloWebhook(JSON.parse(text))[0]).toMatchObject({ type: 'inbound', kind: 'text', text: 'Đăng ký tạm trú' });
  });

  it('finds the buttons and text a citizen sees in a Send API body', () => {
    const fb = {
      messaging_type: 'RESPONSE',
      message: {
        attachment: { type: 'template', payload: { template_type: 'button', text: 'Chọn nhóm', buttons: [{ type: 'postback', title: 'Thôn 1', payload: 'mc:sub:3' }, { type: 'web_url', title: 'Cổng', url: 'https://x.vn' }] } },
        quick_replies: [{ content_type: 'text', title: 'Menu', payload: 'mc:menu' }],
      },
    };
    expect(buttonsOf('messenger', fb)).toEqual([
      { title: 'Thôn 1', payload: 'mc:sub:3', via: 'postback' },
      { title: 'Menu', payload: 'mc:menu', via: 'quick_reply' },
    ]);
    expect(textOf(fb)).toBe('Chọn nhóm');
    const zalo = { message: { text: 'Chọn nhóm', attachment: { type: 'template', payload: { buttons: [{ type: 'oa.query.hide', title: 'Thôn 2', payload: 'mc:sub:4' }, { type: 'oa.open.url', title: 'x', payload: { url: 'https://x.vn' } }] } } } };
    expect(buttonsOf('zalo', zalo)).toEqual([{ title: 'Thôn 2', payload: 'mc:sub:4', via: 'zalo_query' }]);
    expect(textOf(zalo)).toBe('Chọn nhóm');
    expect(buttonsOf('zalo', 'nonsense')).toEqual([]);
    expect(isNavigation('mc:menu')).toBe(true);
    expect(isNavigation('mc:sub:3')).toBe(true);
    expect(isNavigation('mc:sv:sipas:a:yes')).toBe(false);
  });
});

describe('report helpers and wiring', () => {
  it('reads the real questions, thins long series and writes Markdown tables', () => {
    expect(QUESTIONS.length).toBeGreaterThan(100);
    expect(QUESTIONS.some(hasMarks)).toBe(true);
    expect(QUESTIONS.some((q) => !hasMarks(q))).toBe(true);
    expect(() => parseQuestionsTsv('a\tb\nx\ty')).toThrow(/query/);
    const rows = Array.from({ length: 31 }, (_, i) => i);
    const thinned = thin(rows, 10);
    expect(thinned.length).toBeLessThanOrEqual(11);
    expect(thinned[0]).toBe(0);
    expect(thinned[thinned.length - 1]).toBe(30);
    expect(thin([1, 2], 10)).toEqual([1, 2]);
    expect(markdownTable(['a', 'b'], [['1', '2']])).toBe('| a | b |\n| --- | --- |\n| 1 | 2 |');
  });

  it('is `npm run load`', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['load']).toBe('tsx bench/load.ts');
  });
});
