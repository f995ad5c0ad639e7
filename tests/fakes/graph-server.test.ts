// The fake Graph Send API answers as Graph documents: checked here directly over HTTP.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startFakeGraphServer, type FakeGraphServer } from './graph-server.js';

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;
let graph: FakeGraphServer;

beforeAll(async () => {
  graph = await startFakeGraphServer({ tokens: { 'good-token': '404217156637689' }, now: () => NOW });
});
afterAll(async () => {
  await graph.close();
});
beforeEach(() => {
  graph.clearRequests();
  graph.lastInteraction.clear();
  graph.blocked.clear();
  graph.lastInteraction.set('psid-1', NOW - HOUR);
});

const GraphResponse = z.object({
  recipient_id: z.string().optional(),
  message_id: z.string().optional(),
  error: z
    .object({ code: z.number(), error_subcode: z.number().optional(), is_transient: z.boolean().optional(), type: z.string(), message: z.string(), fbtrace_id: z.string() })
    .strict()
    .optional(),
});

async function post(body: unknown, token: string | null = 'good-token', path = '/me/messages') {
  const query = token === null ? '' : `?access_token=${token}`;
  const response = await fetch(`${graph.url}${path}${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.status, json: GraphResponse.parse(await response.json()), headers: response.headers };
}
const text = (t: string, psid = 'psid-1', type = 'RESPONSE') => ({ recipient: { id: psid }, messaging_type: type, message: { text: t } });

describe('fake Graph Send API', () => {
  it('accepts a valid send, returns ids and records the request', async () => {
    const { status, json } = await post(text('Xin chào'));
    expect(status).toBe(200);
    expect(json.recipient_id).toBe('psid-1');
    expect(json.message_id).toMatch(/^m_/);
    expect(graph.requests()).toEqual([
      expect.objectContaining({ method: 'POST', path: '/v25.0/me/messages', query: { access_token: 'good-token' }, body: text('Xin chào') }),
    ]);
    expect(graph.sent().map((s) => s.messageId)).toContain(json.message_id);
    graph.clearRequests();
    expect(graph.requests()).toEqual([]);
  });

  it('rejects unknown tokens with 190 OAuthException in Graph error shape, missing token with 104', async () => {
    const bad = await post(text('x'), 'nope');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: 190, type: 'OAuthException' });
    expect(typeof bad.json.error?.fbtrace_id).toBe('string');
    expect((await post(text('x'), null)).json.error?.code).toBe(104);
  });

  it('validates bodies with error 100', async () => {
    const button = (title: string) => ({ type: 'postback', title, payload: 'mc:menu' });
    const template = (buttons: unknown[], t = 'Chọn') => ({ recipient: { id: 'psid-1' }, messaging_type: 'RESPONSE', message: { attachment: { type: 'template', payload: { template_type: 'button', text: t, buttons } } } });
    const quick = (n: number, title = 'Mục') => ({ ...text('x'), message: { text: 'x', quick_replies: Array.from({ length: n }, (_, i) => ({ content_type: 'text', title, payload: `p${i}` })) } });
    const bad: unknown[] = [
      'not json',
      { messaging_type: 'RESPONSE', message: { text: 'x' } },
      { recipient: { id: 'psid-1' }, message: { text: 'x' } },
      text('x', 'psid-1', 'MARKETING'),
      text('a'.repeat(2001)),
      template([button('a'), button('b'), button('c'), button('d')]),
      template([button('a'.repeat(21))]),
      template([button('a')], 'b'.repeat(641)),
      quick(14),
      quick(1, 'a'.repeat(21)),
      { ...text('x'), sender_action: 'typing_on' },
      { ...text('x'), messaging_type: 'MESSAGE_TAG', tag: 'ACCOUNT_UPDATE' },
    ];
    for (const body of bad) {
      const { status, json } = await post(body);
      expect(status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(json.error?.code).toBe(100);
    }
    for (const ok of [text('a'.repeat(2000)), template([button('a'.repeat(20)), button('b'), button('c')], 'b'.repeat(640)), quick(13, 'a'.repeat(20))]) {
      expect((await post(ok)).status).toBe(200);
    }
  });

  it('enforces the 24-hour window, 7 days for HUMAN_AGENT, and knows unknown and blocked people', async () => {
    graph.lastInteraction.set('old', NOW - 25 * HOUR);
    expect((await post(text('x', 'old'))).json.error).toMatchObject({ code: 10, error_subcode: 2018278 });
    expect((await post(text('x', 'old', 'UPDATE'))).json.error).toMatchObject({ code: 10, error_subcode: 2018278 });
    expect((await post({ ...text('x', 'old', 'MESSAGE_TAG'), tag: 'HUMAN_AGENT' })).status).toBe(200);
    graph.lastInteraction.set('old', NOW - 24 * HOUR);
    expect((await post(text('x', 'old'))).status).toBe(200);
    expect((await post(text('x', 'stranger'))).json.error).toMatchObject({ code: 100, error_subcode: 2018001 });
    graph.blocked.add('psid-1');
    expect((await post(text('x'))).json.error).toMatchObject({ code: 551, error_subcode: 1545041 });
  });

  it('plays scripted rate limits (HTTP 400) and 500s, then recovers', async () => {
    graph.failNext({ kind: 'rate_limit', code: 613 }, 2);
    graph.failNext({ kind: 'rate_limit', code: 4, regainAccessMinutes: 3 });
    graph.failNext({ kind: 'server_error' });
    const results = [await post(text('1')), await post(text('2')), await post(text('3')), await post(text('4')), await post(text('5'))];
    expect(results.map((r) => r.status)).toEqual([400, 400, 400, 500, 200]);
    expect(results.map((r) => r.json.error?.code)).toEqual([613, 613, 4, 2, undefined]);
    expect(results[2]?.headers.get('x-business-use-case-usage')).toContain('"estimated_time_to_regain_access":3');
    expect(graph.requests()).toHaveLength(5);
  });

  it('accepts /<PAGE_ID>/messages for its own page only, and Bearer tokens', async () => {
    expect((await post(text('x'), 'good-token', '/404217156637689/messages')).status).toBe(200);
    expect((await post(text('x'), 'good-token', '/999/messages')).json.error?.code).toBe(200);
    const response = await fetch(`${graph.url}/me/messages`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer good-token' }, body: JSON.stringify(text('x')) });
    expect(response.status).toBe(200);
  });
});
