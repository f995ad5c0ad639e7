import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Reply as ReplySchema, type InboundEvent, type Reply } from '../../../src/channels/channel.js';
import { createWebChannelRouter } from '../../../src/channels/web/index.js';
import { createEngine } from '../../../src/conversation/engine.js';
import { defaultIntentsDir, loadIntents } from '../../../src/conversation/intents.js';
import {
  MemoryHandoffQueue,
  MemoryQueryLog,
  MemoryStateStore,
  MemoryUnitDirectory,
} from '../../../src/conversation/memory-ports.js';
import { FakeSearcher, fixtureCatalogue, SCRIPTS, UNIT } from '../../conversation/fixtures.js';

const SESSION = 'test-session-0123456789abcdef';
const events: InboundEvent[] = [];
let server: http.Server;
let base: string;
let mountedBase: string;

beforeAll(async () => {
  const engine = createEngine({
    catalogue: fixtureCatalogue(),
    searcher: new FakeSearcher(SCRIPTS),
    state: new MemoryStateStore(),
    queryLog: new MemoryQueryLog(),
    handoff: new MemoryHandoffQueue(),
    units: new MemoryUnitDirectory([UNIT, { ...UNIT, id: 'phuong-khac', name: 'UBND phường Khác' }]),
    intents: loadIntents(defaultIntentsDir()),
  });
  const recording = {
    handle: async (e: InboundEvent): Promise<Reply[]> => {
      events.push(e);
      return engine.handle(e);
    },
  };
  const app = express();
  app.use(createWebChannelRouter({ engine: recording, defaultUnitId: 'xa-mau', unitIds: ['xa-mau', 'phuong-khac'] }));
  app.use('/widget', createWebChannelRouter({ engine: recording, resolveUnit: (u) => (u === undefined || u === 'xa-mau' ? 'xa-mau' : null) }));
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  mountedBase = `${base}/widget`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function chat(body: unknown, url = `${base}/api/chat`, contentType = 'application/json') {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) as unknown };
}

/** The response body must be exactly what the contract says: parsed, not cast. */
function replies(json: unknown): Reply[] {
  return z.object({ replies: z.array(ReplySchema) }).strict().parse(json).replies;
}

describe('web channel router', () => {
  it('answers a typed question with the engine replies', async () => {
    const res = await chat({ sessionId: SESSION, text: 'làm giấy khai sinh cần gì' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const r = replies(res.json);
    expect(r[0]!.text).toContain('Thủ tục đăng ký khai sinh');
    expect(r[0]!.buttons.map((b) => b.payload)).toContain('mc:docs:1.001193');
    const e = events.at(-1)!;
    expect(e).toMatchObject({ kind: 'text', channel: 'web', unitId: 'xa-mau', userId: SESSION, accountId: 'web' });
  });

  it('turns a payload into a postback and answers it', async () => {
    const res = await chat({ sessionId: SESSION, unit: 'xa-mau', payload: 'mc:steps:1.001193' });
    expect(res.status).toBe(200);
    expect(replies(res.json)[0]!.text).toContain('Các bước thực hiện');
    expect(events.at(-1)).toMatchObject({ kind: 'postback', payload: 'mc:steps:1.001193' });
  });

  it('routes to the unit the page names', async () => {
    const res = await chat({ sessionId: SESSION, unit: 'phuong-khac', payload: 'mc:menu' });
    expect(res.status).toBe(200);
    expect(replies(res.json)[0]!.text).toContain('UBND phường Khác');
  });

  it('returns HTML-looking text as data, not markup', async () => {
    const res = await chat({ sessionId: SESSION, text: '<img src=x onerror=alert(1)><script>alert(1)</script>' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/u);
    const r = replies(res.json);
    expect(r.length).toBeGreaterThan(0);
    for (const m of r) expect(m.text).not.toMatch(/<script|<img/iu);
    // Whatever text there is travels as a JSON string value: the raw body never opens a tag.
    expect(res.text).not.toMatch(/<script/iu);
  });

  it('refuses malformed bodies with a coded Vietnamese error', async () => {
    const cases: [unknown, string][] = [
      ['{"sessionId": ', 'application/json'],
      [{ text: 'xin chào' }, 'application/json'],
      [{ sessionId: 'short', text: 'xin chào' }, 'application/json'],
      [{ sessionId: 'has spaces and is long enough', text: 'x' }, 'application/json'],
      [{ sessionId: SESSION }, 'application/json'],
      [{ sessionId: SESSION, text: 42 }, 'application/json'],
      [{ sessionId: SESSION, payload: '' }, 'application/json'],
      [[1, 2, 3], 'application/json'],
      ['sessionId=abc', 'application/x-www-form-urlencoded'],
      ['xin chào', 'text/plain'],
    ];
    for (const [body, type] of cases) {
      const res = await chat(body, `${base}/api/chat`, type);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json).toMatchObject({ error: { code: 'BAD_REQUEST', message: 'Yêu cầu không hợp lệ.' } });
    }
    const missing = await chat({ text: 'xin chào' });
    expect(JSON.stringify(missing.json)).toContain('sessionId');
  });

  it('limits the body size and the text length', async () => {
    const big = await chat({ sessionId: SESSION, text: 'a'.repeat(20_000) });
    expect(big.status).toBe(413);
    expect(big.json).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    const long = await chat({ sessionId: SESSION, text: 'khai sinh '.repeat(450) });
    expect(long.status).toBe(400);
    const cut = await chat({ sessionId: SESSION, text: `khai sinh ${'rất '.repeat(200)}` });
    expect(cut.status).toBe(200);
    expect(replies(cut.json)[0]!.text).toContain('500 ký tự');
  });

  it('answers 404 for an unknown unit', async () => {
    const res = await chat({ sessionId: SESSION, unit: 'khong-co', text: 'xin chào' });
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ error: { code: 'UNKNOWN_UNIT' } });
  });

  it('answers JSON 405 to other methods on the API', async () => {
    const res = await fetch(`${base}/api/chat`);
    expect(res.status).toBe(405);
    expect(await res.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
  });

  it('serves the chat page and the widget script', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/u);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    for (const id of ['chat-messages', 'chat-input', 'chat-send', 'chat-form']) expect(html).toContain(`data-testid="${id}"`);
    expect(html).toContain('aria-live="polite"');
    expect(html).toContain('lang="vi"');
    expect(html).not.toMatch(/https?:\/\/(?!dichvucong)/u);

    const widget = await fetch(`${base}/widget.js`);
    expect(widget.status).toBe(200);
    expect(widget.headers.get('content-type')).toMatch(/javascript/u);
    expect(await widget.text()).toContain('data-unit');

    const script = await (await fetch(`${base}/chat.js`)).text();
    expect(script).toContain('textContent');
    expect(script).not.toContain('innerHTML');
  });

  it('works under a mount path, redirecting to the trailing slash', async () => {
    const redirect = await fetch(`${mountedBase}?unit=xa-mau`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/widget/?unit=xa-mau');
    const page = await fetch(`${mountedBase}/`);
    expect(page.status).toBe(200);
    const res = await chat({ sessionId: SESSION, text: 'xin chào' }, `${mountedBase}/api/chat`);
    expect(res.status).toBe(200);
    expect(replies(res.json)[0]!.text).toContain('trợ lý tự động');
    const unknown = await chat({ sessionId: SESSION, unit: 'phuong-khac', text: 'xin chào' }, `${mountedBase}/api/chat`);
    expect(unknown.status).toBe(404);
  });

  it('handles one session one message at a time, other sessions in parallel', async () => {
    const log: string[] = [];
    let active = 0;
    let overlapped = false;
    const slow = {
      handle: async (e: InboundEvent): Promise<Reply[]> => {
        const who = `${e.userId.slice(0, 1)}:${e.text ?? ''}`;
        if (e.userId.startsWith('a')) {
          active++;
          if (active > 1) overlapped = true;
        }
        log.push(`start ${who}`);
        await new Promise((r) => setTimeout(r, 20));
        log.push(`end ${who}`);
        if (e.userId.startsWith('a')) active--;
        return [{ text: who, buttons: [], quickReplies: [], links: [] }];
      },
    };
    const app = express();
    app.use(createWebChannelRouter({ engine: slow, defaultUnitId: 'xa-mau' }));
    const s = http.createServer(app);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/api/chat`;
    try {
      const sent = await Promise.all([
        chat({ sessionId: 'a-session-0123456789', text: '1' }, url),
        chat({ sessionId: 'a-session-0123456789', text: '2' }, url),
        chat({ sessionId: 'a-session-0123456789', text: '3' }, url),
        chat({ sessionId: 'b-session-0123456789', text: 'x' }, url),
      ]);
      expect(sent.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(overlapped).toBe(false);
      expect(log.filter((l) => l.includes('a:')).length).toBe(6);
    } finally {
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  it('appends announcements held for the visitor to their next answer, once', async () => {
    let given = false;
    const app = express();
    app.use(
      createWebChannelRouter({
        engine: { handle: async () => [{ text: 'trả lời', buttons: [], quickReplies: [], links: [] }] },
        defaultUnitId: 'xa-mau',
        heldFor: async (unitId, sessionId) => {
          if (unitId !== 'xa-mau' || sessionId !== 'held-session-0123456789' || given) return [];
          given = true;
          return [{ text: 'Thông báo: lịch tiếp dân', buttons: [], quickReplies: [], links: [] }];
        },
      }),
    );
    const s = http.createServer(app);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/api/chat`;
    try {
      const texts = async () => ((await chat({ sessionId: 'held-session-0123456789', text: 'xin chào' }, url)).json as { replies: Array<{ text: string }> }).replies.map((r) => r.text);
      expect(await texts()).toEqual(['trả lời', 'Thông báo: lịch tiếp dân']);
      expect(await texts()).toEqual(['trả lời']);
    } finally {
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });
});
