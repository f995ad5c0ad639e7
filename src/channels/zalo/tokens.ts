// Zalo OA tokens (OAuth v4, PLATFORMS.md §8): the access token lives 25 hours, the refresh token
// 3 months and is SINGLE-USE — every refresh returns a new pair and kills the previous access
// token. So a refresh happens under a per-OA lock, re-reads the stored pair inside the lock
// (another worker may have refreshed already) and persists the new pair before anyone uses it.
// Storage and locking are ports (the lead binds them to PostgreSQL and a Redis lock); this file
// only speaks HTTP to the OAuth server. Also the PKCE connect helpers for the admin flow.
import { createHash, randomInt } from 'node:crypto';
import { z } from 'zod';

export interface ZaloTokenPair {
  accessToken: string;
  refreshToken: string;
  /** Milliseconds since the epoch when the access token stops working. */
  accessExpiresAt: number;
}

/** Where an OA's tokens live (encrypted at rest by the implementation). */
export interface ZaloTokenStore {
  load(oaId: string): Promise<ZaloTokenPair | null>;
  /** Must be durable when it resolves: the old refresh token is already spent. */
  save(oaId: string, pair: ZaloTokenPair): Promise<void>;
  /** The OA's admin must authorise the app again; `reason` is for the officers' alert. */
  markReconnectRequired(oaId: string, reason: string): Promise<void>;
}

/** A mutual-exclusion lock per OA, across every process that may refresh. */
export interface ZaloRefreshLock {
  withLock<T>(oaId: string, fn: () => Promise<T>): Promise<T>;
}

export type ZaloTokenErrorCode =
  /** No token stored for this OA. */
  | 'not_connected'
  /** The refresh token was refused or its fate is unknown: an admin must reconnect the OA. */
  | 'reconnect_required'
  /** The OAuth server could not be reached; nothing was spent, try again later. */
  | 'refresh_unavailable'
  /** The code exchange of the connect flow failed. */
  | 'oauth_failed';

export class ZaloTokenError extends Error {
  readonly code: ZaloTokenErrorCode;
  /** Zalo's negative `error` value, when Zalo answered one. */
  readonly zaloError: number | null;

  constructor(code: ZaloTokenErrorCode, detail: string, zaloError: number | null = null, options?: { cause?: unknown }) {
    super(detail, options);
    this.name = 'ZaloTokenError';
    this.code = code;
    this.zaloError = zaloError;
  }
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export const ZALO_OAUTH_URL = 'https://oauth.zaloapp.com';
/** Refresh when less than this remains of the 25-hour access token. */
export const DEFAULT_REFRESH_MARGIN_MS = 60 * 60 * 1000;
const DEFAULT_TIMEOUT_MS = 10_000;

const TokenResponse = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  /** Seconds, sent as a string ("90000"). */
  expires_in: z.union([z.string().regex(/^\d+$/).transform(Number), z.number().int().positive()]),
});

const OAuthErrorResponse = z.object({
  error: z.union([z.number().int(), z.string().regex(/^-?\d+$/).transform(Number)]).refine((n) => n !== 0),
  error_name: z.string().optional(),
  error_description: z.string().optional(),
  message: z.string().optional(),
});

/** Network failures where the request cannot have reached the server (nothing was spent). */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const ErrorWithCause = z.object({ cause: z.object({ code: z.string() }) });

type TokenCall =
  | { kind: 'ok'; pair: ZaloTokenPair }
  | { kind: 'refused'; zaloError: number; message: string }
  /** Certainly not processed: the refresh token is still good. */
  | { kind: 'unavailable'; detail: string }
  /** Maybe processed (timeout, garbled answer): the refresh token may be spent. */
  | { kind: 'unknown'; detail: string };

async function callTokenEndpoint(
  fetchFn: FetchLike,
  oauthUrl: string,
  appSecret: string,
  form: Record<string, string>,
  now: () => number,
  timeoutMs: number,
): Promise<TokenCall> {
  let res: Response;
  try {
    res = await fetchFn(`${oauthUrl.replace(/\/+$/, '')}/v4/oa/access_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', secret_key: appSecret },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const withCause = ErrorWithCause.safeParse(err);
    if (withCause.success && NOT_SENT_CODES.has(withCause.data.cause.code)) {
      return { kind: 'unavailable', detail: withCause.data.cause.code };
    }
    return { kind: 'unknown', detail: err instanceof Error ? err.name : 'network' };
  }
  if (res.status >= 500) return { kind: 'unavailable', detail: `http_${res.status}` };
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return { kind: 'unknown', detail: `unparsable body (http ${res.status})` };
  }
  const ok = TokenResponse.safeParse(body);
  if (ok.success) {
    return {
      kind: 'ok',
      pair: {
        accessToken: ok.data.access_token,
        refreshToken: ok.data.refresh_token,
        accessExpiresAt: now() + ok.data.expires_in * 1000,
      },
    };
  }
  const refused = OAuthErrorResponse.safeParse(body);
  if (refused.success) {
    const d = refused.data;
    return { kind: 'refused', zaloError: d.error, message: d.error_description ?? d.error_name ?? d.message ?? 'refused' };
  }
  return { kind: 'unknown', detail: `unexpected body (http ${res.status})` };
}

export interface ZaloTokenManagerOptions {
  oauthUrl: string;
  appId: string;
  appSecret: string;
  store: ZaloTokenStore;
  lock: ZaloRefreshLock;
  fetch?: FetchLike;
  now?: () => number;
  refreshMarginMs?: number;
  timeoutMs?: number;
}

export interface ZaloTokenManager {
  /** A usable access token, refreshed first when it expires within the margin. */
  getAccessToken(oaId: string): Promise<string>;
  /**
   * Refreshes now (after a send answered -216 / -220). Pass the token that was refused: if the
   * stored one already differs, another worker refreshed meanwhile and it is returned as is.
   */
  forceRefresh(oaId: string, rejectedAccessToken?: string): Promise<string>;
}

export function createZaloTokenManager(opts: ZaloTokenManagerOptions): ZaloTokenManager {
  const fetchFn: FetchLike = opts.fetch ?? ((input, init) => fetch(input, init));
  const now = opts.now ?? Date.now;
  const margin = opts.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const fresh = (pair: ZaloTokenPair) => pair.accessExpiresAt - now() > margin;

  async function load(oaId: string): Promise<ZaloTokenPair> {
    const pair = await opts.store.load(oaId);
    if (!pair) throw new ZaloTokenError('not_connected', `no Zalo token stored for OA ${oaId}`);
    return pair;
  }

  /** Runs inside the lock with the pair just re-read. */
  async function refresh(oaId: string, current: ZaloTokenPair): Promise<string> {
    const result = await callTokenEndpoint(
      fetchFn,
      opts.oauthUrl,
      opts.appSecret,
      { app_id: opts.appId, refresh_token: current.refreshToken, grant_type: 'refresh_token' },
      now,
      timeoutMs,
    );
    switch (result.kind) {
      case 'ok':
        // Persist before returning: the refresh token we just used is gone for good.
        await opts.store.save(oaId, result.pair);
        return result.pair.accessToken;
      case 'refused':
        await opts.store.markReconnectRequired(oaId, `refresh refused: ${result.zaloError} ${result.message}`);
        throw new ZaloTokenError('reconnect_required', `Zalo refused the refresh token of OA ${oaId}`, result.zaloError);
      case 'unknown':
        // The server may have consumed the refresh token and we never saw the new pair; a blind
        // retry cannot recover it (PLATFORMS.md: never retry a refresh after a timeout).
        await opts.store.markReconnectRequired(oaId, `refresh outcome unknown: ${result.detail}`);
        throw new ZaloTokenError('reconnect_required', `refresh of OA ${oaId} ended without an answer (${result.detail})`);
      case 'unavailable':
        // Nothing was spent. A still-valid access token is better than none.
        if (current.accessExpiresAt > now()) return current.accessToken;
        throw new ZaloTokenError('refresh_unavailable', `Zalo OAuth unreachable (${result.detail})`);
    }
  }

  return {
    async getAccessToken(oaId) {
      const pair = await load(oaId);
      if (fresh(pair)) return pair.accessToken;
      return opts.lock.withLock(oaId, async () => {
        const current = await load(oaId);
        if (fresh(current)) return current.accessToken;
        return refresh(oaId, current);
      });
    },
    async forceRefresh(oaId, rejectedAccessToken) {
      return opts.lock.withLock(oaId, async () => {
        const current = await load(oaId);
        if (rejectedAccessToken !== undefined && current.accessToken !== rejectedAccessToken) return current.accessToken;
        return refresh(oaId, current);
      });
    },
  };
}

// --- Connect flow (OAuth v4 with PKCE) ---

const VERIFIER_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const PKCE_VERIFIER_LENGTH = 43;

export function pkceChallenge(codeVerifier: string): string {
  return createHash('sha256').update(codeVerifier, 'ascii').digest('base64url');
}

/**
 * A PKCE pair: a 43-character [A-Za-z0-9] verifier and its S256 challenge without padding.
 * Sources disagree on base64 vs base64url for the challenge, so verifiers are drawn until the
 * challenge has no '-' or '_' (then both encodings are the same string): about 4 draws.
 */
export function createPkcePair(): { codeVerifier: string; codeChallenge: string } {
  for (;;) {
    let codeVerifier = '';
    for (let i = 0; i < PKCE_VERIFIER_LENGTH; i++) codeVerifier += VERIFIER_ALPHABET[randomInt(VERIFIER_ALPHABET.length)];
    const codeChallenge = pkceChallenge(codeVerifier);
    if (!/[-_]/.test(codeChallenge)) return { codeVerifier, codeChallenge };
  }
}

export function buildZaloAuthorizeUrl(p: {
  oauthUrl: string;
  appId: string;
  redirectUri: string;
  state: string;
  codeChallenge: string;
}): string {
  const url = new URL(`${p.oauthUrl.replace(/\/+$/, '')}/v4/oa/permission`);
  url.searchParams.set('app_id', p.appId);
  url.searchParams.set('redirect_uri', p.redirectUri);
  url.searchParams.set('code_challenge', p.codeChallenge);
  url.searchParams.set('state', p.state);
  return url.toString();
}

/** The query Zalo's redirect carries back: ?code=…&oa_id=…&state=… (code valid 10 min, once). */
export const ZaloOAuthCallback = z
  .object({
    code: z.string().min(1),
    oa_id: z.string().regex(/^\d+$/),
    state: z.string().min(1),
  })
  .transform((q) => ({ code: q.code, oaId: q.oa_id, state: q.state }));
export type ZaloOAuthCallback = z.infer<typeof ZaloOAuthCallback>;

export async function exchangeZaloCode(p: {
  oauthUrl: string;
  appId: string;
  appSecret: string;
  code: string;
  codeVerifier: string;
  fetch?: FetchLike;
  now?: () => number;
  timeoutMs?: number;
}): Promise<ZaloTokenPair> {
  const result = await callTokenEndpoint(
    p.fetch ?? ((input, init) => fetch(input, init)),
    p.oauthUrl,
    p.appSecret,
    { app_id: p.appId, code: p.code, code_verifier: p.codeVerifier, grant_type: 'authorization_code' },
    p.now ?? Date.now,
    p.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  );
  switch (result.kind) {
    case 'ok':
      return result.pair;
    case 'refused':
      throw new ZaloTokenError('oauth_failed', `Zalo refused the code: ${result.message}`, result.zaloError);
    case 'unavailable':
    case 'unknown':
      throw new ZaloTokenError('oauth_failed', `code exchange failed: ${result.detail}`);
  }
}
