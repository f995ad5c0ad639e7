import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Reply } from '../../../src/channels/channel.js';
import { classifyMessengerError, createMessengerClient } from '../../../src/channels/messenger/send-client.js';
import { renderMessengerReply, type MessengerSendBody } from '../../../src/channels/messenger/render.js';
import { startFakeGraphServer, type FakeGraphServer } from '../../fakes/graph-server.js';

const TOKEN = 'EAAB-secret-page-token';
const PSID = '1423587017700273';
const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;
let graph: FakeGraphServer;

beforeAll(async () => {
  graph = await startFakeGraphServer({ tokens: { [TOKEN]: '404217156637689' }, now: () => NOW });
});
afterAll(async () => {
  await graph.close();
});
beforeEach(() => {
  graph.clearRequests();
  graph.lastInteraction.clear();
  graph.blocked.clear();
  graph.lastInteraction.set(PSID, NOW - HOUR);
});

const body = (text = 'Xin chào', psid = PSID): MessengerSendBody => ({ recipient: { id: psid }, messaging_type: 'RESPONSE', message: { text } });
const client = () => createMessengerClient({ graphUrl: `${graph.url}/`, pageAccessToken: TOKEN });

describe('createMessengerClient against the fake Graph API', () => {
  it('sends JSON to /me/messages with the token in the query and returns the message id', async () => {
    const outcome = await client().send(body());
    expect(outcome.kind).toBe('sent');
    const [request] = graph.requests();
    expect(request).toMatchObject({ method: 'POST', path: '/v25.0/me/messages', query: { access_token: TOKEN }, body: body() });
    expect(request?.headers['content-type']).toContain('application/json');
    expect(outcome).toEqual({ kind: 'sent', messageId: graph.sent()[0]?.messageId });
  });

  it('every rendered reply shape is accepted by Graph', async () => {
    const long = 'Hồ sơ gồm tờ khai và giấy chứng sinh do cơ sở y tế cấp. '.repeat(80);
    const buttons = (n: number) => Array.from({ length: n }, (_, i) => ({ title: `Thành phần hồ sơ cần chuẩn bị ${i}`, payload: `mc:docs:1.00${i}` }));
    const replies = [
      { text: long },
      { text: long, buttons: buttons(3) },
      { text: 'Chọn', buttons: buttons(5), links: [{ title: 'Cổng dịch vụ công quốc gia', url: 'https://dichvucong.gov.vn' }] },
      { text: '', buttons: buttons(1) },
      { text: 'Chọn', quickReplies: buttons(20) },
      { text: 'Liên kết', links: Array.from({ length: 5 }, (_, i) => ({ title: `Trang ${i}`, url: `https://example.gov.vn/${i}` })) },
    ];
    for (const input of replies) {
      for (const rendered of renderMessengerReply(Reply.parse(input), PSID, 'RESPONSE')) {
        expect(await client().send(rendered)).toMatchObject({ kind: 'sent' });
      }
    }
  });

  it('outside the window: drop, not unreachable', async () => {
    graph.lastInteraction.set(PSID, NOW - 25 * HOUR);
    expect(await client().send(body())).toEqual({ kind: 'drop', code: 'fb:10/2018278', reason: 'outside_window', markUnreachable: false });
  });

  it('blocked: drop and mark unreachable; unknown PSID: user_not_found', async () => {
    graph.blocked.add(PSID);
    expect(await client().send(body())).toEqual({ kind: 'drop', code: 'fb:551/1545041', reason: 'user_blocked', markUnreachable: true });
    expect(await client().send(body('x', 'nobody'))).toEqual({ kind: 'drop', code: 'fb:100/2018001', reason: 'user_not_found', markUnreachable: true });
  });

  it('rate limits retry with a hint, from the usage header when Graph gives one', async () => {
    graph.failNext({ kind: 'rate_limit', code: 613 });
    graph.failNext({ kind: 'rate_limit', code: 4, regainAccessMinutes: 5 });
    expect(await client().send(body())).toEqual({ kind: 'retry', code: 'fb:613', retryAfterMs: 60_000 });
    expect(await client().send(body())).toEqual({ kind: 'retry', code: 'fb:4', retryAfterMs: 300_000 });
    expect((await client().send(body())).kind).toBe('sent');
  });

  it('5xx retries; a bad token pauses; an invalid body drops as invalid_message', async () => {
    graph.failNext({ kind: 'server_error' });
    expect(await client().send(body())).toMatchObject({ kind: 'retry', code: 'fb:2' });
    const badToken = createMessengerClient({ graphUrl: graph.url, pageAccessToken: 'revoked' });
    expect(await badToken.send(body())).toEqual({ kind: 'pause', code: 'fb:190', reason: 'token_invalid' });
    expect(await client().send(body('a'.repeat(2001)))).toEqual({ kind: 'drop', code: 'fb:100', reason: 'invalid_message', markUnreachable: false });
  });

  it('network errors and timeouts retry, and no outcome carries the token', async () => {
    const refused = createMessengerClient({ graphUrl: 'http://127.0.0.1:1/v25.0', pageAccessToken: TOKEN });
    const network = await refused.send(body());
    expect(network).toEqual({ kind: 'retry', code: 'fb:network' });

    const hanging = http.createServer(() => {
      /* never answers */
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = hanging.address() as AddressInfo;
      const slow = createMessengerClient({ graphUrl: `http://127.0.0.1:${port}/v25.0`, pageAccessToken: TOKEN, timeoutMs: 100 });
      const timedOut = await slow.send(body());
      expect(timedOut).toEqual({ kind: 'retry', code: 'fb:timeout' });
      expect(JSON.stringify([network, timedOut])).not.toContain(TOKEN);
    } finally {
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });

  it('uses an injected fetch', async () => {
    const calls: string[] = [];
    const fake: typeof fetch = async (input) => {
      calls.push(String(input));
      return new Response(JSON.stringify({ recipient_id: PSID, message_id: 'm_injected' }), { status: 200 });
    };
    const outcome = await createMessengerClient({ graphUrl: 'https://graph.facebook.com/v25.0', pageAccessToken: 'a b&c', fetch: fake }).send(body());
    expect(outcome).toEqual({ kind: 'sent', messageId: 'm_injected' });
    expect(calls).toEqual(['https://graph.facebook.com/v25.0/me/messages?access_token=a%20b%26c']);
  });
});

describe('classifyMessengerError (PLATFORMS.md §5 error table)', () => {
  const err = (code: number, subcode?: number, extra: Record<string, unknown> = {}) => ({
    error: { message: 'x', type: 'OAuthException', code, ...(subcode !== undefined ? { error_subcode: subcode } : {}), fbtrace_id: 'A', ...extra },
  });
  const cases: [string, number, unknown, unknown][] = [
    ['app limit 4', 400, err(4), { kind: 'retry', code: 'fb:4' }],
    ['marketing frequency 4/2018354', 400, err(4, 2018354), { kind: 'retry', code: 'fb:4/2018354' }],
    ['user limit 17', 400, err(17), { kind: 'retry', code: 'fb:17' }],
    ['page limit 32', 400, err(32), { kind: 'retry', code: 'fb:32' }],
    ['rate limit 613', 400, err(613), { kind: 'retry', code: 'fb:613' }],
    ['BUC 80006', 400, err(80006), { kind: 'retry', code: 'fb:80006' }],
    ['too many messages subcode 2018022', 400, err(100, 2018022), { kind: 'retry', code: 'fb:100/2018022' }],
    ['temporary 2', 500, err(2), { kind: 'retry', code: 'fb:2' }],
    ['transient 1', 500, err(1, undefined, { is_transient: true }), { kind: 'retry', code: 'fb:1' }],
    ['outside window 10/2018278', 400, err(10, 2018278), { kind: 'drop', reason: 'outside_window', markUnreachable: false }],
    ['not available 551', 400, err(551), { kind: 'drop', reason: 'user_blocked', markUnreachable: true }],
    ['not available 551/1545041', 400, err(551, 1545041), { kind: 'drop', code: 'fb:551/1545041', reason: 'user_blocked', markUnreachable: true }],
    ['not receiving 2018108', 400, err(10, 2018108), { kind: 'drop', reason: 'user_blocked', markUnreachable: true }],
    ['no matching user 100/2018001', 400, err(100, 2018001), { kind: 'drop', reason: 'user_not_found', markUnreachable: true }],
    ['invalid parameter 100', 400, err(100), { kind: 'drop', reason: 'invalid_message', markUnreachable: false }],
    ['deprecated tag 100/1893061', 400, err(100, 1893061), { kind: 'drop', reason: 'invalid_message', markUnreachable: false }],
    ['invalid token 190', 400, err(190, 460), { kind: 'pause', code: 'fb:190/460', reason: 'token_invalid' }],
    ['permission 10', 403, err(10), { kind: 'pause', code: 'fb:10', reason: 'permission_denied' }],
    ['permission 200', 403, err(200), { kind: 'pause', reason: 'permission_denied' }],
    ['permission 230', 400, err(230), { kind: 'pause', reason: 'permission_denied' }],
    ['page restricted 10/1893063', 400, err(10, 1893063), { kind: 'pause', reason: 'account_restricted' }],
    ['unknown code 4xx', 400, err(12345), { kind: 'drop', reason: 'unknown', markUnreachable: false }],
    ['unknown code 5xx', 503, err(12345), { kind: 'retry', code: 'fb:12345' }],
    ['bare 502', 502, 'Bad Gateway', { kind: 'retry', code: 'fb:http_502' }],
    ['bare 429', 429, undefined, { kind: 'retry', code: 'fb:http_429' }],
    ['bare 404', 404, { not: 'graph' }, { kind: 'drop', code: 'fb:http_404', reason: 'unknown', markUnreachable: false }],
    ['string codes', 400, { error: { code: '613' } }, { kind: 'retry', code: 'fb:613' }],
  ];
  it.each(cases)('%s', (_name, status, errorBody, expected) => {
    expect(classifyMessengerError(status, errorBody, new Headers())).toMatchObject(expected as Record<string, unknown>);
  });

  it('takes the retry hint from X-Business-Use-Case-Usage or Retry-After', () => {
    const usage = JSON.stringify({ '404217156637689': [{ type: 'messenger', estimated_time_to_regain_access: 2 }] });
    expect(classifyMessengerError(400, err(613), { 'X-Business-Use-Case-Usage': usage })).toEqual({ kind: 'retry', code: 'fb:613', retryAfterMs: 120_000 });
    expect(classifyMessengerError(503, undefined, new Headers({ 'retry-after': '7' }))).toEqual({ kind: 'retry', code: 'fb:http_503', retryAfterMs: 7000 });
    expect(classifyMessengerError(400, err(613), { 'x-business-use-case-usage': 'garbage' })).toEqual({ kind: 'retry', code: 'fb:613', retryAfterMs: 60_000 });
  });
});
