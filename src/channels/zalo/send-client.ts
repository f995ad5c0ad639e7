// A thin client for the Zalo OpenAPI v3 send endpoints (header `access_token`, JSON body) and
// the classification of Zalo's answers into SendOutcome. Zalo answers HTTP 200 even on failure,
// with `error` < 0 in the body, so the body decides (PLATFORMS.md §7, error table in §8).
import { z } from 'zod';
import type { SendOutcome } from '../platform-event.js';
import type { ZaloCsBody } from './render.js';
import { ZaloTokenError, type FetchLike } from './tokens.js';

export const ZALO_OPENAPI_URL = 'https://openapi.zalo.me';
const DEFAULT_TIMEOUT_MS = 10_000;
/** The app-level limit resets each minute (PLATFORMS.md §9). */
const RATE_LIMIT_RETRY_MS = 60_000;
const TRANSIENT_RETRY_MS = 5_000;
const VN_OFFSET_MS = 7 * 60 * 60 * 1000;

const ZaloResponse = z.object({
  error: z.union([z.number().int(), z.string().regex(/^-?\d+$/).transform(Number)]),
  message: z.string().optional(),
  data: z
    .object({ message_id: z.union([z.string(), z.number().int().transform(String)]).optional() })
    .passthrough()
    .nullish(),
});

/** Milliseconds from `now` to the next 06:00 in Vietnam (UTC+7, no daylight saving). */
function msUntilSixInVietnam(now: number): number {
  const local = now + VN_OFFSET_MS;
  const day = 24 * 60 * 60 * 1000;
  const sixToday = Math.floor(local / day) * day + 6 * 60 * 60 * 1000;
  const target = local < sixToday ? sixToday : sixToday + day;
  return target - local;
}

/**
 * Zalo's `error` → what the worker does (PLATFORMS.md §8 "Error codes" and the checklist's
 * "Error classification in the worker"). 0 is success; unknown codes are dropped, never looped.
 */
export function classifyZaloError(errorCode: number, message: string, now: number = Date.now()): SendOutcome {
  const code = String(errorCode);
  switch (errorCode) {
    case 0:
      return { kind: 'sent', messageId: null };
    case -32: // app or OA per-minute rate limit
      return { kind: 'retry', code, retryAfterMs: RATE_LIMIT_RETRY_MS };
    case -216: // access token invalid
    case -220: // access token expired or removed
      return { kind: 'refresh', code };
    case -213: // user has not followed the OA
      return { kind: 'drop', code, reason: 'user_unfollowed', markUnreachable: true };
    case -227: // user banned or inactive for more than 45 days
      return { kind: 'drop', code, reason: 'user_not_found', markUnreachable: true };
    case -230: // no interaction in the last 7 days
    case -232: // interaction expired
      return { kind: 'drop', code, reason: 'outside_window', markUnreachable: false };
    case -244: // the user restricted this message type (other types may still reach them)
      return { kind: 'drop', code, reason: 'user_blocked', markUnreachable: false };
    case -218: // the user's receive quota is used up: not again today
    case -211: // the OA's quota is used up: not again today (the worker alerts on this code)
      return { kind: 'drop', code, reason: 'quota_exceeded', markUnreachable: false };
    case -234: // promotion at night: reschedule after 06:00
      return { kind: 'retry', code, retryAfterMs: msUntilSixInVietnam(now) };
    case -201: // bad parameter
    case -210: // parameter over limit
    case -233: // unsupported message type
    case -240: // MessageV2 API shut down
    case -100: // attachment_id expired: re-upload
      return { kind: 'drop', code, reason: 'invalid_message', markUnreachable: false };
    case -204: // OA deleted
    case -205: // OA missing
    case -221: // OA not verified
    case -224: // package needed
    case -235: // OA type unsupported
    case -248: // violates platform standards
    case -320: // paid feature without a Zalo Cloud Account
    case -321: // Zalo Cloud Account out of balance
      return { kind: 'pause', code, reason: 'account_restricted' };
    case -209: // app inactive
    case -212: // API not registered for the app
    case -219: // app removed
    case -242: // bad appsecret_proof
      return { kind: 'pause', code, reason: 'app_misconfigured' };
    case -223: // the OA has not granted this API to the app: re-authorise
      return { kind: 'pause', code, reason: 'permission_denied' };
    default:
      return { kind: 'drop', code, reason: 'unknown', markUnreachable: false };
  }
}

export interface ZaloClientOptions {
  /** https://openapi.zalo.me in production; the fake server's address in tests. */
  openapiUrl: string;
  getAccessToken: () => Promise<string>;
  fetch?: FetchLike;
  timeoutMs?: number;
  now?: () => number;
}

export interface ZaloSendResult {
  outcome: SendOutcome;
  /** The access token the call used: hand it to forceRefresh on a 'refresh' outcome. */
  accessToken: string | null;
  /** Zalo's message text on failure, for logs (no personal data in it). */
  message?: string;
}

/** One message of the OA's conversation with a follower (GET /v2.0/oa/conversation). */
export interface ZaloConversationMessage {
  id: string;
  at: Date;
  /** Sent by the OA (src 0), not by the citizen (src 1). */
  fromOa: boolean;
  type: string;
  /** The text Zalo shows for it ('' when none). */
  text: string;
}

export type ZaloConversationLookup = { kind: 'ok'; messages: ZaloConversationMessage[] } | { kind: 'error'; code: string };

const ConversationResponse = z.object({
  error: z.union([z.number().int(), z.string().regex(/^-?\d+$/).transform(Number)]),
  message: z.string().optional(),
  data: z.unknown().optional(),
});

const ConversationItem = z
  .object({
    src: z.coerce.number().int(),
    time: z.coerce.number(),
    type: z.string().optional(),
    message: z.unknown().optional(),
    message_id: z.union([z.string(), z.number().transform(String)]).optional(),
    msg_id: z.union([z.string(), z.number().transform(String)]).optional(),
  })
  .passthrough();

export interface ZaloClient {
  /**
   * The latest messages of the OA's conversation with one user, newest first
   * (GET /v2.0/oa/conversation?data={"user_id","offset","count"}; at most 10 per call). The shape
   * comes from community code, not an official page (medium confidence): `data` is the list of
   * messages with src (0 = OA, 1 = user), time (ms), type and message. Errors come back as codes.
   */
  recentMessages(userId: string, count?: number): Promise<ZaloConversationLookup>;
  /** POST /v3.0/oa/message/cs: a consultation message (free < 48 h, billed to 7 days). */
  sendCs(body: ZaloCsBody): Promise<SendOutcome>;
  /** POST /v3.0/oa/message/promotion: an announcement to a follower (caps and hours apply). */
  sendPromotion(body: unknown): Promise<SendOutcome>;
  /** Same as the above with the token used and Zalo's message. */
  post(path: string, body: unknown): Promise<ZaloSendResult>;
}

export function createZaloClient(opts: ZaloClientOptions): ZaloClient {
  const fetchFn: FetchLike = opts.fetch ?? ((input, init) => fetch(input, init));
  const base = opts.openapiUrl.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = opts.now ?? Date.now;

  async function post(path: string, body: unknown): Promise<ZaloSendResult> {
    let accessToken: string;
    try {
      accessToken = await opts.getAccessToken();
    } catch (err) {
      if (err instanceof ZaloTokenError && err.code === 'refresh_unavailable') {
        return { outcome: { kind: 'retry', code: 'token_unavailable', retryAfterMs: TRANSIENT_RETRY_MS }, accessToken: null };
      }
      if (err instanceof ZaloTokenError) {
        return { outcome: { kind: 'pause', code: err.code, reason: 'token_invalid' }, accessToken: null };
      }
      throw err;
    }

    let res: Response;
    try {
      res = await fetchFn(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', access_token: accessToken },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      return { outcome: { kind: 'retry', code: timedOut ? 'timeout' : 'network', retryAfterMs: TRANSIENT_RETRY_MS }, accessToken };
    }
    if (res.status === 429 || res.status >= 500) {
      return { outcome: { kind: 'retry', code: `http_${res.status}`, retryAfterMs: TRANSIENT_RETRY_MS }, accessToken };
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch {
      return { outcome: { kind: 'retry', code: `http_${res.status}_unparsable`, retryAfterMs: TRANSIENT_RETRY_MS }, accessToken };
    }
    const parsed = ZaloResponse.safeParse(json);
    if (!parsed.success) {
      return { outcome: { kind: 'drop', code: `http_${res.status}_unexpected`, reason: 'unknown', markUnreachable: false }, accessToken };
    }
    const { error, message, data } = parsed.data;
    if (error === 0) return { outcome: { kind: 'sent', messageId: data?.message_id ?? null }, accessToken };
    return { outcome: classifyZaloError(error, message ?? '', now()), accessToken, message: message ?? '' };
  }

  async function recentMessages(userId: string, count = 10): Promise<ZaloConversationLookup> {
    let accessToken: string;
    try {
      accessToken = await opts.getAccessToken();
    } catch (err) {
      if (err instanceof ZaloTokenError) return { kind: 'error', code: err.code };
      throw err;
    }
    const data = JSON.stringify({ user_id: userId, offset: 0, count: Math.min(10, Math.max(1, count)) });
    let res: Response;
    try {
      res = await fetchFn(`${base}/v2.0/oa/conversation?data=${encodeURIComponent(data)}`, {
        method: 'GET',
        headers: { access_token: accessToken },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      return { kind: 'error', code: timedOut ? 'timeout' : 'network' };
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch {
      return { kind: 'error', code: `http_${res.status}` };
    }
    const parsed = ConversationResponse.safeParse(json);
    if (!parsed.success) return { kind: 'error', code: `http_${res.status}_unexpected` };
    if (parsed.data.error !== 0) return { kind: 'error', code: String(parsed.data.error) };
    const raw = parsed.data.data;
    // Seen both as a bare list and wrapped as {messages: [...]}.
    const list = Array.isArray(raw) ? raw : typeof raw === 'object' && raw !== null && Array.isArray((raw as { messages?: unknown }).messages) ? (raw as { messages: unknown[] }).messages : [];
    const messages: ZaloConversationMessage[] = [];
    for (const item of list) {
      const m = ConversationItem.safeParse(item);
      if (!m.success) continue;
      const text = typeof m.data.message === 'string' ? m.data.message : '';
      messages.push({ id: m.data.message_id ?? m.data.msg_id ?? '', at: new Date(m.data.time), fromOa: m.data.src === 0, type: m.data.type ?? '', text });
    }
    return { kind: 'ok', messages };
  }

  return {
    post,
    recentMessages,
    async sendCs(body) {
      return (await post('/v3.0/oa/message/cs', body)).outcome;
    },
    async sendPromotion(body) {
      return (await post('/v3.0/oa/message/promotion', body)).outcome;
    },
  };
}
