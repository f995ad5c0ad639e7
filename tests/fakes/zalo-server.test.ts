// The fake must behave as PLATFORMS.md documents Zalo, or tests built on it prove nothing.
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ERR_INVALID_REFRESH_TOKEN, startZaloFake, type ZaloFake } from './zalo-server.js';

const APP_ID = '1163843031413526746';
const APP_SECRET = 'app-secret';
const OA = '2197174064623873199';
const USER = '4339761418830368433';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// 2026-03-10 10:00 in Vietnam (03:00 UTC).
const T0 = Date.UTC(2026, 2, 10, 3, 0, 0);

const Answer = z.object({ error: z.number(), message: z.string().optional(), data: z.record(z.string(), z.unknown()).optional() }).passthrough();

let fake: ZaloFake;
beforeEach(async () => {
  fake = await startZaloFake({ appId: APP_ID, appSecret: APP_SECRET, now: T0 });
});
afterEach(async () => {
  await fake.close();
});

async function call(path: string, accessToken: string | null, body: unknown) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (accessToken) headers.access_token = accessToken;
  const res = await fetch(`${fake.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return { answer: Answer.parse(await res.json()), res };
}

async function token(form: Record<string, string>, secret = APP_SECRET) {
  const res = await fetch(`${fake.url}/v4/oa/access_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', secret_key: secret },
    body: new URLSearchParams(form).toString(),
  });
  expect(res.status).toBe(200);
  return z.record(z.string(), z.unknown()).parse(await res.json());
}

const cs = (text = 'Xin chào', buttons?: unknown[]) => ({
  recipient: { user_id: USER },
  message: buttons ? { text, attachment: { type: 'template', payload: { buttons } } } : { text },
});

describe('fake Zalo OpenAPI: message/cs', () => {
  it('answers HTTP 200 with error -216 for a missing or unknown token, with rate headers', async () => {
    const { answer, res } = await call('/v3.0/oa/message/cs', null, cs());
    expect(answer.error).toBe(-216);
    expect(res.headers.get('x-ratelimit-limit')).toBe('4000');
    expect((await call('/v3.0/oa/message/cs', 'nope', cs())).answer.error).toBe(-216);
  });

  it('enforces the interaction window: free < 48 h, billed to 7 days, refused after (-230)', async () => {
    const { accessToken } = fake.grant(OA);
    fake.setUser(USER, { lastInteractionAt: T0 - 47 * HOUR });
    const free = await call('/v3.0/oa/message/cs', accessToken, cs());
    expect(free.answer).toMatchObject({ error: 0, data: { user_id: USER, quota: { quota_type: 'reply' } } });
    expect(z.string().regex(/^[0-9a-f]{20}$/).parse(free.answer.data?.message_id)).toBeTruthy();

    fake.setUser(USER, { lastInteractionAt: T0 - 3 * DAY });
    const billed = await call('/v3.0/oa/message/cs', accessToken, cs());
    expect(billed.answer.error).toBe(0);
    expect(billed.answer.data?.quota).toBeUndefined();

    fake.setUser(USER, { lastInteractionAt: T0 - 7 * DAY - 1 });
    expect((await call('/v3.0/oa/message/cs', accessToken, cs())).answer.error).toBe(-230);
    fake.users.delete(USER);
    expect((await call('/v3.0/oa/message/cs', accessToken, cs())).answer.error).toBe(-230);

    expect(fake.sent.map((s) => [s.endpoint, s.oaId, s.userId, s.billed])).toEqual([
      ['cs', OA, USER, false],
      ['cs', OA, USER, true],
    ]);
  });

  it('refuses unfollowed users (-213), over-limit bodies (-210) and bad bodies (-201)', async () => {
    const { accessToken } = fake.grant(OA);
    fake.setUser(USER, { lastInteractionAt: T0, following: false });
    expect((await call('/v3.0/oa/message/cs', accessToken, cs())).answer.error).toBe(-213);
    fake.setUser(USER, { lastInteractionAt: T0 });
    expect((await call('/v3.0/oa/message/cs', accessToken, cs('a'.repeat(2001)))).answer.error).toBe(-210);
    const six = [1, 2, 3, 4, 5, 6].map((n) => ({ title: `b${n}`, type: 'oa.query.hide', payload: `mc:pick:1.00${n}` }));
    expect((await call('/v3.0/oa/message/cs', accessToken, cs('x', six))).answer.error).toBe(-210);
    expect((await call('/v3.0/oa/message/cs', accessToken, cs('x', six.slice(0, 5)))).answer.error).toBe(0);
    expect((await call('/v3.0/oa/message/cs', accessToken, { recipient: { user_id: Number(USER) }, message: { text: 'x' } })).answer.error).toBe(-201);
    expect((await call('/v3.0/oa/message/cs', accessToken, cs('x', [{ title: 't', type: 'oa.bogus', payload: 'p' }]))).answer.error).toBe(-201);
  });

  it('replays scripted errors for the next N calls, then behaves normally', async () => {
    const { accessToken } = fake.grant(OA);
    fake.setUser(USER, { lastInteractionAt: T0 });
    fake.failNext('cs', -32, 2);
    expect((await call('/v3.0/oa/message/cs', accessToken, cs())).answer.error).toBe(-32);
    expect((await call('/v3.0/oa/message/cs', accessToken, cs())).answer.error).toBe(-32);
    expect((await call('/v3.0/oa/message/cs', accessToken, cs())).answer.error).toBe(0);
    expect(fake.requests.map((r) => r.error)).toEqual([-32, -32, 0]);
    expect(fake.requests[0]?.headers.access_token).toBe(accessToken);
  });

  it('expires access tokens after 25 hours (-220)', async () => {
    const { accessToken } = fake.grant(OA);
    fake.setUser(USER, { lastInteractionAt: T0 });
    fake.advance(25 * HOUR);
    fake.setUser(USER, { lastInteractionAt: fake.now() });
    expect((await call('/v3.0/oa/message/cs', accessToken, cs())).answer.error).toBe(-220);
  });
});

describe('fake Zalo OpenAPI: message/promotion', () => {
  const promo = (userId = USER) => ({
    recipient: { user_id: userId },
    message: { attachment: { type: 'template', payload: { template_type: 'promotion', elements: [{ type: 'header', content: 'Thông báo' }] } } },
  });

  it('sends to followers only, in the day window, once per day and within the monthly cap', async () => {
    const fake2 = await startZaloFake({ appId: APP_ID, appSecret: APP_SECRET, now: T0, monthlyPromotionCap: 2 });
    try {
      const { accessToken } = fake2.grant(OA, { accessExpiresAt: T0 + 30 * DAY });
      const post = async (body: unknown) => {
        const res = await fetch(`${fake2.url}/v3.0/oa/message/promotion`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', access_token: accessToken },
          body: JSON.stringify(body),
        });
        return Answer.parse(await res.json()).error;
      };
      expect(await post(promo())).toBe(-213); // not a follower
      fake2.setUser(USER, { following: true });
      expect(await post(promo())).toBe(0);
      expect(await post(promo())).toBe(-218); // second one today
      fake2.setNow(Date.UTC(2026, 2, 10, 15, 30)); // 22:30 in Vietnam
      expect(await post(promo())).toBe(-234);
      fake2.setNow(Date.UTC(2026, 2, 11, 3, 0));
      expect(await post(promo())).toBe(0);
      fake2.setNow(Date.UTC(2026, 2, 12, 3, 0));
      expect(await post(promo())).toBe(-218); // monthly cap of 2 reached
      expect(fake2.sent.filter((s) => s.endpoint === 'promotion')).toHaveLength(2);
    } finally {
      await fake2.close();
    }
  });
});

describe('fake Zalo OAuth v4', () => {
  it('refresh tokens are single-use and a refresh kills the previous access token', async () => {
    const first = fake.grant(OA);
    const form = { app_id: APP_ID, refresh_token: first.refreshToken, grant_type: 'refresh_token' };
    const ok = await token(form);
    expect(ok).toMatchObject({ expires_in: '90000' });
    expect(fake.refreshCount).toBe(1);
    expect(await token(form)).toMatchObject({ error: ERR_INVALID_REFRESH_TOKEN });
    expect(fake.refreshCount).toBe(1);

    fake.setUser(USER, { lastInteractionAt: T0 });
    expect((await call('/v3.0/oa/message/cs', first.accessToken, cs())).answer.error).toBe(-220);
    expect((await call('/v3.0/oa/message/cs', z.string().parse(ok.access_token), cs())).answer.error).toBe(0);
  });

  it('requires the App Secret in the secret_key header and the right app id', async () => {
    const { refreshToken } = fake.grant(OA);
    const form = { app_id: APP_ID, refresh_token: refreshToken, grant_type: 'refresh_token' };
    expect((await token(form, 'wrong')).error).toEqual(expect.any(Number));
    expect((await token({ ...form, app_id: '1' })).error).toEqual(expect.any(Number));
    expect(fake.refreshCount).toBe(0);
    expect(await token(form)).toHaveProperty('access_token');
  });

  it('exchanges a code once, only with the verifier matching the S256 challenge', async () => {
    const verifier = 'a'.repeat(43);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const code = fake.createAuthCode({ oaId: OA, codeChallenge: challenge });
    const bad = await token({ app_id: APP_ID, code, code_verifier: 'b'.repeat(43), grant_type: 'authorization_code' });
    expect(bad.error).toEqual(expect.any(Number));
    // A code is usable once, even after a failed attempt.
    expect((await token({ app_id: APP_ID, code, code_verifier: verifier, grant_type: 'authorization_code' })).error).toEqual(expect.any(Number));

    const code2 = fake.createAuthCode({ oaId: OA, codeChallenge: challenge });
    const good = await token({ app_id: APP_ID, code: code2, code_verifier: verifier, grant_type: 'authorization_code' });
    expect(good).toMatchObject({ expires_in: '90000' });
    expect(fake.exchangeCount).toBe(1);

    fake.advance(11 * 60 * 1000);
    const late = fake.createAuthCode({ oaId: OA, codeChallenge: challenge });
    fake.advance(11 * 60 * 1000);
    expect((await token({ app_id: APP_ID, code: late, code_verifier: verifier, grant_type: 'authorization_code' })).error).toEqual(expect.any(Number));
  });
});
