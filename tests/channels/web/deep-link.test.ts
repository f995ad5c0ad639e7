// Deep links into the website chat (a poster's QR code): /?ref=mc:pick:<code> opens the
// conversation on that procedure; anything else in `ref` is ignored and never reflected.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Reply as ReplySchema, type InboundEvent, type Reply } from '../../../src/channels/channel.js';
import { createWebChannelRouter } from '../../../src/channels/web/index.js';
import { deepLinkCookie, deepLinkPayload, readDeepLinkCookie } from '../../../src/channels/web/deep-link.js';
import { createEngine } from '../../../src/conversation/engine.js';
import { defaultIntentsDir, loadIntents } from '../../../src/conversation/intents.js';
import { MemoryHandoffQueue, MemoryQueryLog, MemoryStateStore, MemoryUnitDirectory } from '../../../src/conversation/memory-ports.js';
import { FakeSearcher, fixtureCatalogue, KHAI_SINH, SCRIPTS, UNIT } from '../../conversation/fixtures.js';

const SESSION = 'deep-link-session-0123456789';
const intents = loadIntents(defaultIntentsDir());
const events: InboundEvent[] = [];
const handoffs = new MemoryHandoffQueue();
let server: http.Server;
let base: string;

beforeAll(async () => {
  const engine = createEngine({
    catalogue: fixtureCatalogue(),
    searcher: new FakeSearcher(SCRIPTS),
    state: new MemoryStateStore(),
    queryLog: new MemoryQueryLog(),
    handoff: handoffs,
    units: new MemoryUnitDirectory([UNIT]),
    intents,
  });
  const recording = {
    handle: async (e: InboundEvent): Promise<Reply[]> => {
      events.push(e);
      return engine.handle(e);
    },
  };
  const app = express();
  app.use(createWebChannelRouter({ engine: recording, defaultUnitId: 'xa-mau', unitIds: ['xa-mau'] }));
  app.use('/widget', createWebChannelRouter({ engine: recording, defaultUnitId: 'xa-mau', unitIds: ['xa-mau'] }));
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Opens the chat page as a browser would and returns the cookie it was given ('' if none). */
async function openPage(query: string, path = '/'): Promise<{ html: string; cookie: string; setCookie: string; cache: string | null }> {
  const res = await fetch(`${base}${path}${query}`);
  expect(res.status).toBe(200);
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('motcua_ref=')) ?? '';
  return { html: await res.text(), cookie: setCookie.split(';')[0] ?? '', setCookie, cache: res.headers.get('cache-control') };
}

async function chat(body: Record<string, string>, cookie = '', path = '/api/chat') {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify({ sessionId: SESSION, ...body }),
  });
  expect(res.status).toBe(200);
  const replies = z.object({ replies: z.array(ReplySchema) }).parse(await res.json()).replies;
  return { replies, setCookie: res.headers.getSetCookie().find((c) => c.startsWith('motcua_ref=')) ?? '' };
}

describe('deepLinkPayload', () => {
  it('keeps our payloads, in their canonical form', () => {
    expect(deepLinkPayload('mc:pick:1.001193')).toBe('mc:pick:1.001193');
    expect(deepLinkPayload('  mc:docs:1.001193 ')).toBe('mc:docs:1.001193');
    expect(deepLinkPayload('mc:menu')).toBe('mc:menu');
    expect(deepLinkPayload('mc:contact')).toBe('mc:contact');
  });

  it('refuses everything else, and hand-offs', () => {
    for (const bad of [
      '<script>alert(1)</script>',
      'mc:pick:<script>',
      'mc:pick:1.001193:extra',
      'mc:pick:1.001193<b>',
      'MC:pick:1.001193',
      'mc:delete:1.001193',
      'mc:handoff',
      'mc:pick:' + '1'.repeat(120) + '.1',
      '',
      ['mc:pick:1.001193'],
      undefined,
      42,
    ]) {
      expect(deepLinkPayload(bad), JSON.stringify(bad)).toBeNull();
    }
  });

  it('reads back only a valid cookie', () => {
    expect(readDeepLinkCookie('a=1; motcua_ref=mc%3Apick%3A1.001193; b=2')).toEqual({ present: true, payload: 'mc:pick:1.001193' });
    expect(readDeepLinkCookie('motcua_ref=%3Cscript%3E')).toEqual({ present: true, payload: null });
    expect(readDeepLinkCookie('motcua_ref=%E0%A4%A')).toEqual({ present: true, payload: null });
    expect(readDeepLinkCookie('other=mc%3Apick%3A1.001193')).toEqual({ present: false, payload: null });
    expect(readDeepLinkCookie(undefined)).toEqual({ present: false, payload: null });
  });

  it('scopes the cookie to the chat API of the mount path, secure behind HTTPS', () => {
    expect(deepLinkCookie({ baseUrl: '', secure: false }, 'mc:pick:1.001193')).toBe(
      'motcua_ref=mc%3Apick%3A1.001193; Path=/api/chat; Max-Age=300; HttpOnly; SameSite=Strict',
    );
    expect(deepLinkCookie({ baseUrl: '/widget', secure: true }, null)).toBe('motcua_ref=; Path=/widget/api/chat; Max-Age=0; HttpOnly; SameSite=Strict; Secure');
  });
});

describe('chat page opened through a deep link', () => {
  it('answers the page’s opening message with the procedure, once', async () => {
    const plain = await openPage('/?unit=xa-mau');
    const page = await openPage(`/?unit=xa-mau&ref=${encodeURIComponent(`mc:pick:${KHAI_SINH.code}`)}`);
    expect(page.setCookie).toContain('Path=/api/chat');
    expect(page.setCookie).toContain('HttpOnly');
    expect(page.cache).toBe('no-store');
    // The page itself is the same static file: nothing from the link is written into it.
    expect(page.html).toBe(plain.html);
    expect(plain.setCookie).toBe('');

    const first = await chat({ unit: 'xa-mau', payload: 'mc:menu' }, page.cookie);
    expect(first.replies[0]!.text).toContain(KHAI_SINH.name);
    expect(first.replies[0]!.buttons.map((b) => b.payload)).toContain(`mc:docs:${KHAI_SINH.code}`);
    expect(events.at(-1)).toMatchObject({ kind: 'postback', payload: `mc:pick:${KHAI_SINH.code}`, channel: 'web' });
    expect(first.setCookie).toMatch(/^motcua_ref=; Path=\/api\/chat; Max-Age=0/);

    // The browser dropped the cookie: a later "menu" is the menu again.
    const again = await chat({ unit: 'xa-mau', payload: 'mc:menu' });
    expect(again.replies[0]!.text).not.toContain(KHAI_SINH.name);
    expect(events.at(-1)).toMatchObject({ payload: 'mc:menu' });
  });

  it('also takes the ref without ":" escaped, and works under a mount path', async () => {
    const page = await openPage(`/?ref=mc:pick:${KHAI_SINH.code}`, '/widget');
    expect(page.setCookie).toContain('Path=/widget/api/chat');
    const first = await chat({ payload: 'mc:menu' }, page.cookie, '/widget/api/chat');
    expect(first.replies[0]!.text).toContain(KHAI_SINH.name);
  });

  it('ignores a hostile or foreign ref and never reflects it', async () => {
    for (const ref of ['<script>alert(1)</script>', 'mc:handoff', 'javascript:alert(1)', `mc:pick:${KHAI_SINH.code}"><script>`]) {
      const page = await openPage(`/?ref=${encodeURIComponent(ref)}`);
      expect(page.setCookie, ref).toBe('');
      expect(page.html).not.toContain('alert(1)');
      expect(page.html).not.toContain('mc:');
    }
    // Two refs at once are not one of ours either.
    expect((await openPage(`/?ref=mc:pick:${KHAI_SINH.code}&ref=mc:menu`)).setCookie).toBe('');
    const before = handoffs.requests.length;
    await chat({ payload: 'mc:menu' }, (await openPage('/?ref=mc%3Ahandoff')).cookie);
    expect(handoffs.requests.length).toBe(before);
  });

  it('ignores a forged cookie and clears it', async () => {
    const forged = await chat({ payload: 'mc:menu' }, 'motcua_ref=%3Cscript%3Ealert(1)%3C%2Fscript%3E');
    expect(events.at(-1)).toMatchObject({ kind: 'postback', payload: 'mc:menu' });
    expect(forged.replies.map((r) => r.text).join('\n')).not.toContain('<script');
    expect(forged.setCookie).toContain('Max-Age=0');
    // A forged hand-off is refused too: the link grammar is checked again on the way back.
    const before = handoffs.requests.length;
    await chat({ payload: 'mc:menu' }, 'motcua_ref=mc%3Ahandoff');
    expect(handoffs.requests.length).toBe(before);
  });

  it('lets the engine refuse a procedure the unit does not have', async () => {
    const page = await openPage('/?ref=mc:pick:9.999999');
    const first = await chat({ payload: 'mc:menu' }, page.cookie);
    expect(first.replies[0]!.text).toBe(intents.messages.input.procedureGone);
  });

  it('does not hijack a first message the citizen typed', async () => {
    const page = await openPage(`/?ref=mc:pick:${KHAI_SINH.code}`);
    const typed = await chat({ text: 'xin chào' }, page.cookie);
    expect(events.at(-1)).toMatchObject({ kind: 'text', text: 'xin chào' });
    expect(typed.setCookie).toContain('Max-Age=0');
  });
});
