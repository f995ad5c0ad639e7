// The `serve` role end to end: real catalogue, search, engine, PGlite and Redis over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/start-server.js';
import { inDoubtCountsKey } from '../../src/jobs/outbound-queue.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
}, 60_000);
afterAll(async () => {
  await srv?.stop();
});

const session = (n: number): string => `e2e-session-${String(n).padStart(8, '0')}`;

interface ChatReply {
  text: string;
  buttons: Array<{ title: string; payload: string }>;
  links: Array<{ title: string; url: string }>;
}

async function chat(body: Record<string, unknown>): Promise<{ status: number; replies: ChatReply[] }> {
  const res = await fetch(`${srv.url}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json: unknown = await res.json();
  const replies = typeof json === 'object' && json !== null && 'replies' in json && Array.isArray(json.replies) ? (json.replies as ChatReply[]) : [];
  return { status: res.status, replies };
}

describe('motcua serve', () => {
  it('is healthy and ready with its database and Redis', async () => {
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${srv.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', checks: { database: 'ok', redis: 'ok' } });
  });

  it('shows on /metrics the spool depth and the replies the workers settled in doubt', async () => {
    const redis = srv.running.services.redis.client;
    const prefix = `${srv.running.services.config.REDIS_KEY_PREFIX}:bull`;
    await redis.hincrby(inDoubtCountsKey(prefix), 'delivered', 3);
    await redis.hincrby(inDoubtCountsKey(prefix), 'unreadable', 1);
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    expect(text).toMatch(/^motcua_inbound_spool_depth 0$/m);
    expect(text).toMatch(/^motcua_reply_in_doubt_delivered 3$/m);
    expect(text).toMatch(/^motcua_reply_in_doubt_absent 0$/m);
    expect(text).toMatch(/^motcua_reply_in_doubt_unreadable 1$/m);
    expect(text).toMatch(/^motcua_reply_in_doubt_unverifiable 0$/m);
  });

  it('serves the chat page and the embeddable widget script', async () => {
    const page = await fetch(`${srv.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('lang="vi"');
    const widget = await fetch(`${srv.url}/widget.js`);
    expect(widget.status).toBe(200);
    expect(widget.headers.get('content-type')).toMatch(/javascript/);
  });

  it('answers a real question with the right procedure and logs it with digits masked', async () => {
    const { status, replies } = await chat({ sessionId: session(1), text: 'cho em hỏi làm giấy khai sinh cần gì ạ' });
    expect(status).toBe(200);
    const all = replies.map((r) => r.text).join('\n');
    expect(all).toMatch(/khai sinh/i);
    expect(replies.flatMap((r) => r.buttons).length).toBeGreaterThan(0);
    await chat({ sessionId: session(6), text: 'đăng ký tạm trú, sđt em 0912345678' });
    const logged = await srv.running.services.queryLog.recent(srv.running.services.defaultUnitId);
    const row = logged.find((q) => q.text.includes('khai sinh'));
    expect(row?.topCode).toBe('1.001193');
    expect(row?.outcome).toBe('answered');
    const masked = logged.find((q) => q.text.includes('tạm trú'));
    expect(masked?.text).toBe('đăng ký tạm trú, sđt em #');
  });

  it('follows a tapped button with the details asked for', async () => {
    const first = await chat({ sessionId: session(2), text: 'dk ket hon' });
    const docs = first.replies.flatMap((r) => r.buttons).find((b) => /giấy tờ/i.test(b.title));
    expect(docs).toBeDefined();
    const next = await chat({ sessionId: session(2), payload: docs?.payload });
    expect(next.status).toBe(200);
    expect(next.replies.map((r) => r.text).join('\n')).toMatch(/tờ khai|giấy tờ/i);
  });

  it('offers an officer for an out-of-scope question and records the hand-off', async () => {
    const { replies } = await chat({ sessionId: session(3), text: 'giá vàng hôm nay bao nhiêu' });
    const officer = replies.flatMap((r) => r.buttons).find((b) => /cán bộ/i.test(b.title));
    expect(officer).toBeDefined();
    await chat({ sessionId: session(3), payload: officer?.payload });
    const open = await srv.running.services.handoffs.open(srv.running.services.defaultUnitId);
    expect(open.some((h) => h.userRef === session(3))).toBe(true);
  });

  it('stays quiet while an officer has the conversation, and answers again once it is closed', async () => {
    const me = session(7);
    await chat({ sessionId: me, text: 'gặp cán bộ' });
    const quiet = await chat({ sessionId: me, text: 'đăng ký khai sinh' });
    expect(quiet.replies).toEqual([]);
    const services = srv.running.services;
    const open = (await services.handoffs.open(services.defaultUnitId)).find((h) => h.userRef === me);
    expect(open).toBeDefined();
    // The conversation so far travels with the request, for the officer.
    expect(open?.transcript.map((l) => l.from)).toContain('citizen');
    expect(open?.transcript.at(-1)).toMatchObject({ from: 'citizen', text: 'gặp cán bộ' });
    expect(await services.handoffs.close({ id: open?.id ?? 0, unitId: 'xa-khac', by: 'test' })).toBeUndefined();
    const closed = await services.handoffs.close({ id: open?.id ?? 0, unitId: services.defaultUnitId, by: 'test', resolution: 'answered' });
    expect(closed?.status).toBe('answered');
    await services.state.clear({ unitId: services.defaultUnitId, channel: 'web', userId: me });
    const back = await chat({ sessionId: me, text: 'đăng ký khai sinh' });
    expect(back.replies.map((r) => r.text).join('\n')).toMatch(/khai sinh/i);
  });

  it('answers bad input politely and refuses malformed requests with 400', async () => {
    for (const text of ['', '   ', '😀😀😀', "'; DROP TABLE queries; --", '<script>alert(1)</script>', 'Привет 你好 xin chào', 'a'.repeat(3000)]) {
      const { status, replies } = await chat({ sessionId: session(4), text });
      expect(status, text.slice(0, 20)).toBe(200);
      expect(replies.length).toBeGreaterThan(0);
    }
    const bad = await fetch(`${srv.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sessionId":' });
    expect(bad.status).toBe(400);
    const noSession = await chat({ text: 'xin chào' });
    expect(noSession.status).toBe(400);
  });

  it('refuses a unit it does not serve', async () => {
    const res = await chat({ sessionId: session(5), unit: 'xa-khong-ton-tai', text: 'xin chào' });
    expect(res.status).toBe(404);
  });
});
