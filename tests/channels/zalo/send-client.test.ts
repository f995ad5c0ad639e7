// The send client against the fake Zalo OpenAPI, and the error table of PLATFORMS.md §8.
import { createServer } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SendOutcome } from '../../../src/channels/platform-event.js';
import { createMemoryRefreshLock, createMemoryZaloTokenStore } from '../../../src/channels/zalo/memory-ports.js';
import { renderZaloReply } from '../../../src/channels/zalo/render.js';
import { classifyZaloError, createZaloClient } from '../../../src/channels/zalo/send-client.js';
import { createZaloTokenManager, ZaloTokenError, type FetchLike } from '../../../src/channels/zalo/tokens.js';
import { startZaloFake, type ZaloFake } from '../../fakes/zalo-server.js';

const APP_ID = '1163843031413526746';
const APP_SECRET = 'app-secret';
const OA = '2197174064623873199';
const USER = '4339761418830368433';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 2, 10, 3, 0, 0);

let fake: ZaloFake;
beforeEach(async () => {
  fake = await startZaloFake({ appId: APP_ID, appSecret: APP_SECRET, now: T0 });
});
afterEach(async () => {
  await fake.close();
});

const text = (t = 'Xin chào') => ({ recipient: { user_id: USER }, message: { text: t } });

function clientWith(token: string, extra: { fetch?: FetchLike; timeoutMs?: number } = {}) {
  return createZaloClient({ openapiUrl: fake.url, getAccessToken: async () => token, now: () => fake.now(), ...extra });
}

describe('createZaloClient.sendCs against the fake', () => {
  it('posts JSON with the access_token header to /v3.0/oa/message/cs and returns the message id', async () => {
    const { accessToken } = fake.grant(OA);
    fake.setUser(USER, { lastInteractionAt: T0 - HOUR });
    const bodies = renderZaloReply(
      { text: 'Thủ tục khai sinh', buttons: [{ title: 'Giấy tờ', payload: 'mc:docs:1.001193' }], quickReplies: [], links: [] },
      USER,
    );
    const outcome = await clientWith(accessToken).sendCs(bodies[0] ?? text());
    expect(outcome).toEqual({ kind: 'sent', messageId: fake.sent[0]?.messageId });
    const req = fake.requests[0];
    expect(req?.path).toBe('/v3.0/oa/message/cs');
    expect(req?.headers.access_token).toBe(accessToken);
    expect(req?.headers.authorization).toBeUndefined();
    expect(JSON.parse(req?.rawBody ?? '')).toEqual(bodies[0]);
    expect(fake.sent[0]).toMatchObject({ userId: USER, billed: false });
  });

  it('classifies the window and follow refusals as drops', async () => {
    const { accessToken } = fake.grant(OA);
    const client = clientWith(accessToken);
    fake.setUser(USER, { lastInteractionAt: T0 - 8 * DAY });
    expect(await client.sendCs(text())).toEqual({ kind: 'drop', code: '-230', reason: 'outside_window', markUnreachable: false });
    fake.setUser(USER, { lastInteractionAt: T0, following: false });
    expect(await client.sendCs(text())).toEqual({ kind: 'drop', code: '-213', reason: 'user_unfollowed', markUnreachable: true });
  });

  it('sends between 48 hours and 7 days (billed, recorded by the fake)', async () => {
    const { accessToken } = fake.grant(OA);
    fake.setUser(USER, { lastInteractionAt: T0 - 5 * DAY });
    expect(await clientWith(accessToken).sendCs(text())).toMatchObject({ kind: 'sent' });
    expect(fake.sent[0]?.billed).toBe(true);
  });

  it('retries on the rate limit and drops on quota errors', async () => {
    const { accessToken } = fake.grant(OA);
    fake.setUser(USER, { lastInteractionAt: T0 });
    fake.failNext('cs', -32);
    fake.failNext('cs', -211);
    const client = clientWith(accessToken);
    expect(await client.sendCs(text())).toEqual({ kind: 'retry', code: '-32', retryAfterMs: 60_000 });
    expect(await client.sendCs(text())).toEqual({ kind: 'drop', code: '-211', reason: 'quota_exceeded', markUnreachable: false });
    expect(await client.sendCs(text())).toMatchObject({ kind: 'sent' });
  });

  it('an expired token gives refresh; forceRefresh then lets the retry through', async () => {
    const granted = fake.grant(OA, { accessExpiresAt: T0 + 2 * HOUR });
    fake.setUser(USER, { lastInteractionAt: T0 + 3 * HOUR });
    const store = createMemoryZaloTokenStore({ [OA]: granted });
    // A margin of zero: the stored token still looks usable to us but Zalo has expired it.
    const tokens = createZaloTokenManager({
      oauthUrl: fake.url,
      appId: APP_ID,
      appSecret: APP_SECRET,
      store,
      lock: createMemoryRefreshLock(),
      now: () => T0,
      refreshMarginMs: 0,
    });
    fake.setNow(T0 + 3 * HOUR);
    const client = createZaloClient({ openapiUrl: fake.url, getAccessToken: () => tokens.getAccessToken(OA) });
    const first = await client.post('/v3.0/oa/message/cs', text());
    expect(first.outcome).toEqual({ kind: 'refresh', code: '-220' });
    expect(first.accessToken).toBe(granted.accessToken);
    await tokens.forceRefresh(OA, first.accessToken ?? undefined);
    expect(await client.sendCs(text())).toMatchObject({ kind: 'sent' });
    expect(fake.refreshCount).toBe(1);
  });

  it('an unknown token gives refresh (-216)', async () => {
    expect(await clientWith('garbage').sendCs(text())).toEqual({ kind: 'refresh', code: '-216' });
  });

  it('sends a promotion to a follower through /v3.0/oa/message/promotion', async () => {
    const { accessToken } = fake.grant(OA);
    fake.setUser(USER, { following: true });
    const body = {
      recipient: { user_id: USER },
      message: { attachment: { type: 'template', payload: { template_type: 'promotion', elements: [{ type: 'header', content: 'Thông báo' }] } } },
    };
    expect(await clientWith(accessToken).sendPromotion(body)).toMatchObject({ kind: 'sent' });
    expect(fake.sent[0]?.endpoint).toBe('promotion');
  });
});

describe('createZaloClient transport failures', () => {
  const stub = (status: number, body: string): FetchLike => async () => new Response(body, { status });

  it('retries on HTTP 5xx / 429, on an unparsable body, on network errors and on timeouts', async () => {
    expect(await clientWith('t', { fetch: stub(502, 'bad gateway') }).sendCs(text())).toMatchObject({ kind: 'retry', code: 'http_502' });
    expect(await clientWith('t', { fetch: stub(429, '') }).sendCs(text())).toMatchObject({ kind: 'retry', code: 'http_429' });
    expect(await clientWith('t', { fetch: stub(200, '<html>') }).sendCs(text())).toMatchObject({ kind: 'retry' });

    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    await new Promise<void>((r) => server.close(() => r()));
    const dead = createZaloClient({ openapiUrl: `http://127.0.0.1:${address.port}`, getAccessToken: async () => 't' });
    expect(await dead.sendCs(text())).toMatchObject({ kind: 'retry', code: 'network' });

    const hang: FetchLike = (_url, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    expect(await clientWith('t', { fetch: hang, timeoutMs: 20 }).sendCs(text())).toMatchObject({ kind: 'retry', code: 'timeout' });
  });

  it('reads `error` from an HTTP 200 body, accepting it as a string too', async () => {
    expect(await clientWith('t', { fetch: stub(200, '{"error":"-213","message":"x"}') }).sendCs(text())).toMatchObject({ kind: 'drop', reason: 'user_unfollowed' });
    expect(await clientWith('t', { fetch: stub(200, '{"error":0,"data":{"message_id":"abc"}}') }).sendCs(text())).toEqual({ kind: 'sent', messageId: 'abc' });
    expect(await clientWith('t', { fetch: stub(200, '{"ok":true}') }).sendCs(text())).toMatchObject({ kind: 'drop', reason: 'unknown' });
  });

  it('pauses when the OA must be reconnected, retries when OAuth is unreachable', async () => {
    const reconnect = createZaloClient({
      openapiUrl: fake.url,
      getAccessToken: async () => {
        throw new ZaloTokenError('reconnect_required', 'spent');
      },
    });
    expect(await reconnect.sendCs(text())).toEqual({ kind: 'pause', code: 'reconnect_required', reason: 'token_invalid' });
    const unavailable = createZaloClient({
      openapiUrl: fake.url,
      getAccessToken: async () => {
        throw new ZaloTokenError('refresh_unavailable', 'down');
      },
    });
    expect(await unavailable.sendCs(text())).toMatchObject({ kind: 'retry', code: 'token_unavailable' });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('classifyZaloError (PLATFORMS.md §8 error table)', () => {
  const table: [number, SendOutcome['kind'], string | null][] = [
    [0, 'sent', null],
    [-32, 'retry', null],
    [-216, 'refresh', null],
    [-220, 'refresh', null],
    [-213, 'drop', 'user_unfollowed'],
    [-227, 'drop', 'user_not_found'],
    [-230, 'drop', 'outside_window'],
    [-232, 'drop', 'outside_window'],
    [-244, 'drop', 'user_blocked'],
    [-218, 'drop', 'quota_exceeded'],
    [-211, 'drop', 'quota_exceeded'],
    [-234, 'retry', null],
    [-201, 'drop', 'invalid_message'],
    [-210, 'drop', 'invalid_message'],
    [-233, 'drop', 'invalid_message'],
    [-240, 'drop', 'invalid_message'],
    [-100, 'drop', 'invalid_message'],
    [-204, 'pause', 'account_restricted'],
    [-205, 'pause', 'account_restricted'],
    [-221, 'pause', 'account_restricted'],
    [-224, 'pause', 'account_restricted'],
    [-235, 'pause', 'account_restricted'],
    [-248, 'pause', 'account_restricted'],
    [-320, 'pause', 'account_restricted'],
    [-321, 'pause', 'account_restricted'],
    [-209, 'pause', 'app_misconfigured'],
    [-212, 'pause', 'app_misconfigured'],
    [-219, 'pause', 'app_misconfigured'],
    [-242, 'pause', 'app_misconfigured'],
    [-223, 'pause', 'permission_denied'],
    [-999, 'drop', 'unknown'],
  ];
  for (const [code, kind, reason] of table) {
    it(`${code} → ${kind}${reason ? ` (${reason})` : ''}`, () => {
      const outcome = classifyZaloError(code, 'm', T0);
      expect(outcome.kind).toBe(kind);
      if (reason !== null) expect(outcome).toMatchObject({ reason });
      if (outcome.kind !== 'sent') expect(outcome.code).toBe(String(code));
    });
  }

  it('only unreachable users are marked unreachable', () => {
    const marked = table
      .map(([code]) => [code, classifyZaloError(code, '', T0)] as const)
      .filter(([, o]) => o.kind === 'drop' && o.markUnreachable)
      .map(([code]) => code);
    expect(marked).toEqual([-213, -227]);
  });

  it('reschedules a night promotion (-234) to 06:00 Vietnam time', () => {
    const at2230 = Date.UTC(2026, 2, 10, 15, 30); // 22:30 in Vietnam
    expect(classifyZaloError(-234, '', at2230)).toEqual({ kind: 'retry', code: '-234', retryAfterMs: 7.5 * HOUR });
    const at0500 = Date.UTC(2026, 2, 9, 22, 0); // 05:00 in Vietnam
    expect(classifyZaloError(-234, '', at0500)).toEqual({ kind: 'retry', code: '-234', retryAfterMs: HOUR });
  });
});
