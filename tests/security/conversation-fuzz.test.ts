// Hostile input on the conversation (issue #8): fast-check feeds the real engine of a running
// server (real catalogue, search index, intents, Redis state, PostgreSQL query log, and whatever
// flows are wired in), the website chat API and the search (the index itself and /api/v1/search)
// with random Unicode, very long text, control characters, lone surrogates, invalid UTF-8 bytes,
// emoji, RTL marks, "mc:…" payload look-alikes and numbers. Properties: the engine always
// answers politely (non-empty, Vietnamese, well-formed NFC text, never its "system error" reply)
// and never swallows an exception of ours (nothing logged at error level); the chat API answers
// 200 with replies or a coded 400/413, never 5xx; the search never throws.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { InboundEvent, Reply } from '../../src/channels/channel.js';
import { errorLogs, startSecurityServer, type SecurityServer } from './harness.js';

let srv: SecurityServer;
let token = '';
let codes: string[] = [];
let errorText = '';
beforeAll(async () => {
  srv = await startSecurityServer();
  const s = srv.running.services;
  const created = await s.staff.create({ username: 'fuzz.canbo', role: 'officer', unitId: s.defaultUnitId });
  await s.staff.setPassword(created?.user.id ?? 0, 'Mật-khẩu-fuzz-2026');
  token = (await s.staff.createApiToken(created?.user.id ?? 0, 'fuzz')).token;
  codes = s.catalogue.procedures.slice(0, 6).map((p) => p.code);
  errorText = s.intents.messages.input.error;
}, 90_000);
afterAll(async () => {
  await srv?.stop();
});

const SEED = 20260308;

/** A lone UTF-16 surrogate (the text is not well-formed Unicode: JSON for a platform would break). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/u;
const LONE_SURROGATE_G = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Letters only Vietnamese (among Latin scripts) writes: a reply in Vietnamese has some. */
const VIETNAMESE = /[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]/iu;

const ACTIONS = ['docs', 'steps', 'fee', 'legal', 'online', 'where', 'forms', 'result', 'pick', 'menu', 'contact', 'handoff', 'sub', 'unsub', 'sv', 'hs', 'page', 'all', 'on', 'off'];

/** "mc:…" strings: well-formed, near misses and garbage. */
const payloadLike = fc
  .tuple(
    fc.constantFrom('mc', 'MC', ' mc', 'mc ', 'mć'),
    fc.array(
      fc.oneof(
        fc.constantFrom(...ACTIONS),
        fc.constantFrom('1.001193', '1.000894', '9.999999', '0', '-1', '1e9', '999999999999999999', 'page', 'x'.repeat(120), '', '\u0000', '🙂'),
        fc.string({ unit: 'binary', maxLength: 12 }),
        fc.nat({ max: 1_000_000 }).map(String),
      ),
      { maxLength: 4 },
    ),
  )
  .map(([p, parts]) => [p, ...parts].join(':'));

/** What a citizen might type, or an attacker. */
const hostileText = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 120 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 80 }) },
  { weight: 2, arbitrary: payloadLike },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'đăng ký khai sinh',
      'cho em hỏi làm giấy khai sinh cần gì ạ',
      'dk ket hon',
      'gặp cán bộ',
      'đăng ký nhận tin',
      'hủy đăng ký',
      'STOP',
      'tra cứu hồ sơ',
      '1',
      '2',
      '9',
      '0',
      '#3',
      'số 2',
      '1.001193',
      'mã 1.000894',
      '\u202eđăng ký khai tử\u202c',
      '\u200f\u0627\u0644\u0633\u0644\u0627\u0645',
      '\ufeffđăng ký tạm trú',
      'đăng\u0000ký\u0007khai\u001bsinh',
      'khai\u200bsinh',
      'khai sinh\ud800',
      '\udc00\ud800',
      '🙂🙂🙂',
      '👨‍👩‍👧‍👦 khai sinh',
      'Ｋｈａｉ ｓｉｎｈ',
      'ĐĂNG KÝ KHAI SINH!!!',
      'khai sinh '.repeat(300),
      '9'.repeat(2000),
      '0912 345 678',
      '<script>alert(1)</script>',
      "' OR 1=1 --",
      '%s%s%s%n',
      '${process.exit(1)}',
      '__proto__',
      '\n\n\t\r',
      ' ',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 500, maxLength: 3000 }) },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.double().map(String) },
);

type Turn = { kind: 'text'; text: string } | { kind: 'postback'; payload: string } | { kind: 'attachment'; attachment: string } | { kind: 'follow' | 'referral'; ref?: string };

const turn: fc.Arbitrary<Turn> = fc.oneof(
  { weight: 6, arbitrary: hostileText.map((text) => ({ kind: 'text' as const, text })) },
  { weight: 3, arbitrary: fc.oneof(payloadLike, hostileText).map((payload) => ({ kind: 'postback' as const, payload })) },
  { weight: 1, arbitrary: fc.constantFrom('image', 'sticker', 'location', 'file', '', '\u0000', 'x'.repeat(200)).map((attachment) => ({ kind: 'attachment' as const, attachment })) },
  { weight: 1, arbitrary: fc.oneof(fc.constant(undefined), payloadLike, hostileText).map((ref) => ({ kind: 'referral' as const, ...(ref !== undefined ? { ref } : {}) })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'follow' as const }) },
);

function eventOf(t: Turn, channel: InboundEvent['channel'], userId: string): InboundEvent {
  const base = { unitId: srv.running.services.defaultUnitId, channel, accountId: channel === 'web' ? 'web' : '106000000000777', userId, messageId: randomUUID(), timestamp: Date.now() };
  switch (t.kind) {
    case 'text':
      return { ...base, kind: 'text', text: t.text };
    case 'postback':
      return { ...base, kind: 'postback', payload: t.payload };
    case 'attachment':
      return { ...base, kind: 'text', attachment: t.attachment };
    case 'referral':
      return { ...base, kind: 'referral', ...(t.ref !== undefined ? { ref: t.ref } : {}) };
    case 'follow':
      return { ...base, kind: 'follow' };
  }
}

/** Every text a citizen would see in these replies (message, buttons, links). */
function shownTexts(replies: readonly Reply[]): string[] {
  return replies.flatMap((r) => [r.text, ...r.buttons.map((b) => b.title), ...r.quickReplies.map((b) => b.title), ...r.links.map((l) => l.title)]);
}

function expectPolite(replies: readonly Reply[], what: string): void {
  expect(replies.length, `no reply to ${what}`).toBeGreaterThan(0);
  const texts = shownTexts(replies);
  const all = texts.join('\n');
  expect(all.trim().length, `empty reply to ${what}`).toBeGreaterThan(0);
  expect(all, `not Vietnamese: ${what}`).toMatch(VIETNAMESE);
  expect(replies.map((r) => r.text)).not.toContain(errorText);
  for (const t of texts) {
    expect(LONE_SURROGATE.test(t), `a lone surrogate in a reply to ${what}`).toBe(false);
    expect(t, `not NFC: ${what}`).toBe(t.normalize('NFC'));
    // No raw control character (other than line breaks and tabs) reaches a platform.
    expect(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/u.test(t), `a control character in a reply to ${what}`).toBe(false);
  }
  for (const r of replies) for (const b of [...r.buttons, ...r.quickReplies]) expect(b.payload.length).toBeLessThanOrEqual(1000);
}

const engineErrors = (): string[] => errorLogs(srv).map((r) => `${r.msg ?? ''} ${JSON.stringify(r.err ?? '')}`);

describe('the engine', () => {
  it('answers every turn of random conversations politely, on every channel, and never fails', async () => {
    const engine = srv.running.services.engine;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<InboundEvent['channel']>('web', 'messenger', 'zalo'), fc.array(turn, { minLength: 1, maxLength: 4 }), async (channel, turns) => {
        // A fresh citizen each time: one who asked for an officer is rightly left to the officer.
        const userId = `fuzz-${randomUUID()}`;
        for (const t of turns) {
          const replies = await engine.handle(eventOf(t, channel, userId));
          if (replies.length === 0) {
            // Silence is right only once the citizen has been handed to an officer.
            const state = await srv.running.services.state.get({ unitId: srv.running.services.defaultUnitId, channel, userId });
            expect(state?.mode, `silence after ${JSON.stringify(t)}`).toBe('handoff');
            break;
          }
          expectPolite(replies, JSON.stringify(t));
        }
      }),
      { seed: SEED, numRuns: 250 },
    );
    expect(engineErrors()).toEqual([]);
  });

  it('answers every button it offered, followed in random order', async () => {
    const engine = srv.running.services.engine;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...codes), fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), async (code, picks) => {
        const userId = `fuzz-btn-${randomUUID()}`;
        let replies = await engine.handle(eventOf({ kind: 'postback', payload: `mc:pick:${code}` }, 'web', userId));
        expectPolite(replies, `mc:pick:${code}`);
        for (const n of picks) {
          const offered = replies.flatMap((r) => [...r.buttons, ...r.quickReplies]).map((b) => b.payload);
          if (offered.length === 0) break;
          const payload = offered[n % offered.length] ?? '';
          replies = await engine.handle(eventOf({ kind: 'postback', payload }, 'web', userId));
          if (replies.length === 0) break; // the citizen asked for an officer
          expectPolite(replies, payload);
        }
      }),
      { seed: SEED, numRuns: 60 },
    );
    expect(engineErrors()).toEqual([]);
  });
});

describe('the search', () => {
  it('never throws and always says what it did, in the index and for a unit', () => {
    const s = srv.running.services;
    fc.assert(
      fc.property(hostileText, fc.integer({ min: 1, max: 10 }), (text, top) => {
        const r = s.searcher.search(text, { top });
        expect(['answer', 'choose', 'none'].includes(r.outcome) || typeof r.outcome === 'string').toBe(true);
        expect(r.results.length).toBeLessThanOrEqual(Math.max(top, 10));
        const u = s.liveUnits.search(s.searcher, s.defaultUnitId, text, top);
        expect(Array.isArray(u.results)).toBe(true);
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('/api/v1/search answers 200 or a coded 400, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(hostileText, fc.oneof(fc.constant(undefined), fc.string({ maxLength: 4 })), async (q, top) => {
        const qs = new URLSearchParams({ q: q.replace(LONE_SURROGATE_G, '\ufffd'), ...(top !== undefined ? { top } : {}) });
        const res = await fetch(`${srv.url}/api/v1/search?${qs.toString()}`, { headers: { authorization: `Bearer ${token}` } });
        const body = (await res.json()) as Record<string, unknown>;
        expect([200, 400], JSON.stringify(body)).toContain(res.status);
        if (res.status === 400) expect(body).toMatchObject({ error: { code: 'BAD_REQUEST' } });
        else expect(Array.isArray(body.results)).toBe(true);
      }),
      { seed: SEED, numRuns: 120 },
    );
    // Raw query strings no browser would send: bad percent-encoding, invalid UTF-8, NUL, repeats.
    for (const raw of ['q=%', 'q=%E0%A4%A', 'q=%FF%FE', 'q=%C0%AF', 'q=%ED%A0%80', 'q=a%00b', 'q=a&q=b', 'q[a]=1', 'q=khai%20sinh&top=-1', 'q=khai&top=1e3']) {
      const res = await fetch(`${srv.url}/api/v1/search?${raw}`, { headers: { authorization: `Bearer ${token}` } });
      expect([200, 400], raw).toContain(res.status);
    }
    expect(engineErrors()).toEqual([]);
  });
});

describe('the website chat API', () => {
  const postChat = (body: string | Buffer, contentType = 'application/json'): Promise<Response> =>
    fetch(`${srv.url}/api/chat`, { method: 'POST', headers: { 'content-type': contentType }, body });

  it('answers random messages with polite replies, and bad requests with a coded 400', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            sessionId: fc.oneof({ weight: 4, arbitrary: fc.uuid().map((u) => u.replace(/-/g, '')) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 70 }) }),
            text: hostileText,
            payload: fc.oneof(payloadLike, hostileText),
            unit: fc.oneof(fc.constant('__default__'), fc.string({ unit: 'binary', maxLength: 70 })),
          },
          { requiredKeys: ['sessionId'] },
        ),
        async (req) => {
          const unit = req.unit === '__default__' ? srv.running.services.defaultUnitId : req.unit;
          const body = { ...req, ...(req.unit !== undefined ? { unit } : {}) };
          const res = await postChat(JSON.stringify(body));
          const answer = (await res.json()) as { replies?: Reply[]; error?: { code: string; message: string } };
          expect([200, 400, 404], JSON.stringify(answer)).toContain(res.status);
          if (res.status === 200) expectPolite(answer.replies ?? [], JSON.stringify(body).slice(0, 200));
          else {
            expect(answer.error?.code).toMatch(/^(BAD_REQUEST|UNKNOWN_UNIT)$/);
            expect(answer.error?.message).toMatch(VIETNAMESE);
          }
          // Valid requests of the default unit are answered.
          const validSession = /^[A-Za-z0-9_-]{16,64}$/.test(req.sessionId);
          const validBody =
            (req.text !== undefined || req.payload !== undefined) &&
            (req.text === undefined || req.text.length <= 20_000) &&
            (req.payload === undefined || (req.payload.length >= 1 && req.payload.length <= 200));
          if (validSession && validBody && (req.unit === undefined || req.unit === '__default__')) expect(res.status).toBe(200);
        },
      ),
      { seed: SEED, numRuns: 150 },
    );
    expect(engineErrors()).toEqual([]);
  });

  it('takes raw bodies with invalid UTF-8, lone surrogates and broken JSON: 200 or a coded 400, never 5xx', async () => {
    const session = '"sessionId":"fuzz-raw-bytes-session-01"';
    const fixed: Buffer[] = [
      Buffer.concat([Buffer.from(`{${session},"text":"khai sinh `), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82]), Buffer.from('"}')]),
      Buffer.concat([Buffer.from(`{${session},"text":"`), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
      Buffer.from(`{${session},"text":"\\ud800 khai sinh \\udfff"}`),
      Buffer.from(`{${session},"text":"\\u0000\\u0000"}`),
      Buffer.from(`{${session},"payload":"mc:pick:\\u0000"}`),
      Buffer.from(`{${session},"text":"a","text":"b"}`),
      Buffer.from(`{${session},"text":"a","__proto__":{"admin":true}}`),
      Buffer.from(`{${session},"text":["a"]}`),
      Buffer.from(`{${session}`),
      Buffer.from(''),
      Buffer.from('null'),
      Buffer.from('[]'),
      Buffer.from('"x"'),
    ];
    const random = fc.sample(fc.uint8Array({ maxLength: 200 }), { seed: SEED, numRuns: 40 }).map((a) => Buffer.concat([Buffer.from(`{${session},"text":"`), Buffer.from(a), Buffer.from('"}')]));
    for (const raw of [...fixed, ...random]) {
      const res = await postChat(raw);
      const answer = (await res.json()) as { replies?: Reply[]; error?: { code: string } };
      expect([200, 400], `${res.status} ${JSON.stringify(answer)}`).toContain(res.status);
      if (res.status === 200) expectPolite(answer.replies ?? [], raw.toString('hex').slice(0, 80));
      else expect(answer.error?.code).toBe('BAD_REQUEST');
    }
    // Other content types are not read as chat messages.
    expect((await postChat('sessionId=abc&text=x', 'application/x-www-form-urlencoded')).status).toBe(400);
    expect((await postChat('{"sessionId":"fuzz-raw-bytes-session-01","text":"x"}', 'text/plain')).status).toBe(400);
    expect(engineErrors()).toEqual([]);
  });

  it('refuses a body over its limit with 413, whatever it holds', async () => {
    for (const body of [JSON.stringify({ sessionId: 'fuzz-oversized-session', text: 'khai sinh '.repeat(12_000) }), `{"sessionId":"fuzz-oversized-session","pad":"${'🙂'.repeat(40_000)}"}`]) {
      const res = await postChat(body);
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    }
  });
});
