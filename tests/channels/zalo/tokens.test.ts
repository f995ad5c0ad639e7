// The token manager against the fake Zalo OAuth server: refresh under the lock, exactly once,
// persisted before use, and a spent refresh token leads to "reconnect required".
import { createServer } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryRefreshLock, createMemoryZaloTokenStore } from '../../../src/channels/zalo/memory-ports.js';
import {
  buildZaloAuthorizeUrl,
  createPkcePair,
  createZaloTokenManager,
  exchangeZaloCode,
  pkceChallenge,
  ZaloOAuthCallback,
  ZaloTokenError,
  type ZaloRefreshLock,
  type ZaloTokenPair,
} from '../../../src/channels/zalo/tokens.js';
import { createZaloClient } from '../../../src/channels/zalo/send-client.js';
import { startZaloFake, type ZaloFake } from '../../fakes/zalo-server.js';

const APP_ID = '1163843031413526746';
const APP_SECRET = 'app-secret';
const OA = '2197174064623873199';
const USER = '4339761418830368433';
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 10, 3, 0, 0);

let fake: ZaloFake;
beforeEach(async () => {
  fake = await startZaloFake({ appId: APP_ID, appSecret: APP_SECRET, now: T0 });
  fake.setUser(USER, { lastInteractionAt: T0 });
});
afterEach(async () => {
  await fake.close();
});

function setup(pair: ZaloTokenPair, lock: ZaloRefreshLock = createMemoryRefreshLock(), timeoutMs?: number) {
  const store = createMemoryZaloTokenStore({ [OA]: pair });
  const manager = createZaloTokenManager({
    oauthUrl: fake.url,
    appId: APP_ID,
    appSecret: APP_SECRET,
    store,
    lock,
    now: () => fake.now(),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  return { store, manager };
}

/** An address nothing listens on (fetch refuses "bad ports" such as 1, so use a real one). */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${address.port}`;
}

async function csWorks(accessToken: string): Promise<boolean> {
  const client = createZaloClient({ openapiUrl: fake.url, getAccessToken: async () => accessToken });
  const outcome = await client.sendCs({ recipient: { user_id: USER }, message: { text: 'ping' } });
  return outcome.kind === 'sent';
}

describe('createZaloTokenManager', () => {
  it('returns a fresh stored token without calling OAuth', async () => {
    const { manager } = setup(fake.grant(OA));
    expect(await manager.getAccessToken(OA)).toEqual(expect.any(String));
    expect(fake.refreshCount).toBe(0);
    expect(fake.requests).toHaveLength(0);
  });

  it('refreshes a token expiring within the margin with the documented form and header, and persists it', async () => {
    const granted = fake.grant(OA, { accessExpiresAt: T0 + 30 * 60 * 1000 });
    const { manager, store } = setup(granted);
    const token = await manager.getAccessToken(OA);
    expect(fake.refreshCount).toBe(1);
    expect(token).not.toBe(granted.accessToken);
    const req = fake.requests[0];
    expect(req?.path).toBe('/v4/oa/access_token');
    expect(req?.headers.secret_key).toBe(APP_SECRET);
    expect(req?.headers['content-type']).toContain('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(req?.rawBody))).toEqual({
      app_id: APP_ID,
      refresh_token: granted.refreshToken,
      grant_type: 'refresh_token',
    });
    const saved = await store.load(OA);
    expect(saved?.accessToken).toBe(token);
    expect(saved?.refreshToken).not.toBe(granted.refreshToken);
    expect(saved?.accessExpiresAt).toBe(T0 + 25 * HOUR);
    expect(await csWorks(token)).toBe(true);
    expect(await csWorks(granted.accessToken)).toBe(false);
  });

  it('persists the new pair before handing out the token', async () => {
    const granted = fake.grant(OA, { accessExpiresAt: T0 - 1 });
    const store = createMemoryZaloTokenStore({ [OA]: granted });
    const log: string[] = [];
    const manager = createZaloTokenManager({
      oauthUrl: fake.url,
      appId: APP_ID,
      appSecret: APP_SECRET,
      lock: createMemoryRefreshLock(),
      now: () => fake.now(),
      store: {
        load: (id) => store.load(id),
        markReconnectRequired: (id, r) => store.markReconnectRequired(id, r),
        async save(id, pair) {
          await new Promise((r) => setTimeout(r, 20));
          await store.save(id, pair);
          log.push('saved');
        },
      },
    });
    await manager.getAccessToken(OA).then(() => log.push('returned'));
    expect(log).toEqual(['saved', 'returned']);
  });

  it('two concurrent calls with an expiring token refresh exactly once under the lock', async () => {
    const { manager } = setup(fake.grant(OA, { accessExpiresAt: T0 + 60_000 }));
    fake.setTokenDelay(50);
    const [a, b] = await Promise.all([manager.getAccessToken(OA), manager.getAccessToken(OA)]);
    expect(fake.refreshCount).toBe(1);
    expect(a).toBe(b);
    expect(await csWorks(a)).toBe(true);
  });

  it('without a lock the second refresh spends a used token: why the lock exists', async () => {
    const noLock: ZaloRefreshLock = { withLock: (_id, fn) => fn() };
    const { manager, store } = setup(fake.grant(OA, { accessExpiresAt: T0 + 60_000 }), noLock);
    fake.setTokenDelay(30);
    const results = await Promise.allSettled([manager.getAccessToken(OA), manager.getAccessToken(OA)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(store.reconnectRequired.has(OA)).toBe(true);
  });

  it('a used refresh token → reconnect required, marked in the store, typed error', async () => {
    const granted = fake.grant(OA, { accessExpiresAt: T0 - 1 });
    const { manager, store } = setup(granted);
    // Someone else spent this refresh token (e.g. a second deployment).
    await fetch(`${fake.url}/v4/oa/access_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', secret_key: APP_SECRET },
      body: new URLSearchParams({ app_id: APP_ID, refresh_token: granted.refreshToken, grant_type: 'refresh_token' }).toString(),
    });
    const err = await manager.getAccessToken(OA).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZaloTokenError);
    expect(err).toMatchObject({ code: 'reconnect_required', zaloError: -14014 });
    expect(store.reconnectRequired.get(OA)).toContain('-14014');
    await expect(manager.getAccessToken(OA)).rejects.toMatchObject({ code: 'not_connected' });
  });

  it('forceRefresh refreshes for the rejected token but not when another worker already did', async () => {
    const granted = fake.grant(OA);
    const { manager } = setup(granted);
    const fresh = await manager.forceRefresh(OA, granted.accessToken);
    expect(fake.refreshCount).toBe(1);
    expect(await manager.forceRefresh(OA, granted.accessToken)).toBe(fresh);
    expect(fake.refreshCount).toBe(1);
    await manager.forceRefresh(OA);
    expect(fake.refreshCount).toBe(2);
  });

  it('a refresh that times out marks reconnect required (the token may be spent)', async () => {
    const { manager, store } = setup(fake.grant(OA, { accessExpiresAt: T0 - 1 }), createMemoryRefreshLock(), 30);
    fake.setTokenDelay(200);
    await expect(manager.getAccessToken(OA)).rejects.toMatchObject({ code: 'reconnect_required' });
    expect(store.reconnectRequired.has(OA)).toBe(true);
  });

  it('an unreachable OAuth server spends nothing: keeps a still-valid token, else refresh_unavailable', async () => {
    const deadUrl = await closedPortUrl();
    const make = (pair: ZaloTokenPair) => {
      const store = createMemoryZaloTokenStore({ [OA]: pair });
      const manager = createZaloTokenManager({
        oauthUrl: deadUrl,
        appId: APP_ID,
        appSecret: APP_SECRET,
        store,
        lock: createMemoryRefreshLock(),
        now: () => T0,
      });
      return { store, manager };
    };
    const stillValid = make({ accessToken: 'at', refreshToken: 'rt', accessExpiresAt: T0 + 10 * 60 * 1000 });
    expect(await stillValid.manager.getAccessToken(OA)).toBe('at');
    const expired = make({ accessToken: 'at', refreshToken: 'rt', accessExpiresAt: T0 - 1 });
    await expect(expired.manager.getAccessToken(OA)).rejects.toMatchObject({ code: 'refresh_unavailable' });
    expect(expired.store.reconnectRequired.size).toBe(0);
  });

  it('throws not_connected for an OA without tokens', async () => {
    const { manager } = setup(fake.grant(OA));
    await expect(manager.getAccessToken('123')).rejects.toMatchObject({ code: 'not_connected' });
  });
});

describe('OAuth v4 PKCE connect', () => {
  it('creates a 43-character alphanumeric verifier whose challenge is the same in base64 and base64url', () => {
    for (let i = 0; i < 20; i++) {
      const { codeVerifier, codeChallenge } = createPkcePair();
      expect(codeVerifier).toMatch(/^[A-Za-z0-9]{43}$/);
      expect(codeChallenge).toBe(pkceChallenge(codeVerifier));
      expect(codeChallenge).toMatch(/^[A-Za-z0-9]{43}$/);
    }
  });

  it('builds the permission URL with the documented parameters', () => {
    const url = new URL(
      buildZaloAuthorizeUrl({
        oauthUrl: 'https://oauth.zaloapp.com',
        appId: APP_ID,
        redirectUri: 'https://motcua.example.vn/admin/zalo/callback?x=1',
        state: 's t',
        codeChallenge: 'abc',
      }),
    );
    expect(url.origin + url.pathname).toBe('https://oauth.zaloapp.com/v4/oa/permission');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      app_id: APP_ID,
      redirect_uri: 'https://motcua.example.vn/admin/zalo/callback?x=1',
      code_challenge: 'abc',
      state: 's t',
    });
  });

  it('parses the callback query and exchanges the code for a working token pair', async () => {
    const { codeVerifier, codeChallenge } = createPkcePair();
    const code = fake.createAuthCode({ oaId: OA, codeChallenge });
    const cb = ZaloOAuthCallback.parse({ code, oa_id: OA, state: 'xyz' });
    expect(cb).toEqual({ code, oaId: OA, state: 'xyz' });
    const pair = await exchangeZaloCode({ oauthUrl: fake.url, appId: APP_ID, appSecret: APP_SECRET, code: cb.code, codeVerifier, now: () => T0 });
    expect(pair.accessExpiresAt).toBe(T0 + 25 * HOUR);
    expect(Object.fromEntries(new URLSearchParams(fake.requests[0]?.rawBody))).toEqual({
      app_id: APP_ID,
      code,
      code_verifier: codeVerifier,
      grant_type: 'authorization_code',
    });
    expect(await csWorks(pair.accessToken)).toBe(true);
  });

  it('fails with oauth_failed on a wrong verifier', async () => {
    const { codeChallenge } = createPkcePair();
    const code = fake.createAuthCode({ oaId: OA, codeChallenge });
    const wrong = createPkcePair().codeVerifier;
    await expect(
      exchangeZaloCode({ oauthUrl: fake.url, appId: APP_ID, appSecret: APP_SECRET, code, codeVerifier: wrong }),
    ).rejects.toMatchObject({ code: 'oauth_failed' });
  });
});
