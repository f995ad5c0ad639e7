// A thin Graph Send API client on Node's fetch, and the classification of every failure into a
// SendOutcome following PLATFORMS.md "FACEBOOK MESSENGER" §5 (error codes and what to do).
// The Page access token travels only in the request URL: it is never logged, never put in an
// outcome, and errors thrown by fetch are reduced to a code before leaving this module.
import { z } from 'zod';
import type { SendOutcome } from '../platform-event.js';
import type { MessengerSendBody } from './render.js';

export interface MessengerClientOptions {
  /** Graph base URL with its version, e.g. "https://graph.facebook.com/v25.0" (configurable). */
  graphUrl: string;
  pageAccessToken: string;
  fetch?: typeof globalThis.fetch;
  /** Abort a send after this long (default 10 s) and report it as retryable. */
  timeoutMs?: number;
}

/** A body of our own making that the Send API accepts: a rendered reply or an attachment message. */
export type MessengerOutgoingBody = MessengerSendBody | { recipient: { id: string }; messaging_type: string; message: { attachment: { type: string; payload: unknown } } };

/** One message of a Page's conversation with a person, as the Conversations API lists it. */
export interface ConversationMessage {
  id: string;
  createdAt: Date;
  /** Sent by the Page (our side), not by the person. */
  fromPage: boolean;
  /** The message text ('' for an attachment without text). */
  text: string;
}

export type ConversationLookup = { kind: 'ok'; messages: ConversationMessage[] } | { kind: 'error'; code: string };

export interface MessengerClient {
  send(body: MessengerOutgoingBody): Promise<SendOutcome>;
  /**
   * The latest messages between the Page and one person (Conversations API: the conversation of
   * `user_id` on the Page, then its messages with created_time / from / message). Needs the
   * pages_messaging (and pages_read_engagement) permissions with Advanced Access; any refusal
   * comes back as an error code, never thrown.
   */
  recentMessages(pageId: string, psid: string): Promise<ConversationLookup>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** Backoff hint for throttling when Graph does not say how long to wait. */
const DEFAULT_THROTTLE_RETRY_MS = 60_000;
/** A hint beyond a day is not a hint: cap what a header may ask for. */
const MAX_RETRY_MS = 24 * 60 * 60 * 1000;

const SendSuccess = z.object({
  recipient_id: z.union([z.string(), z.number()]).optional(),
  message_id: z.string().min(1).optional(),
});

const GraphError = z.object({
  error: z.object({
    message: z.string().optional(),
    type: z.string().optional(),
    code: z.coerce.number().int().optional(),
    error_subcode: z.coerce.number().int().optional(),
    is_transient: z.boolean().optional(),
    fbtrace_id: z.string().optional(),
  }),
});

export function createMessengerClient(options: MessengerClientOptions): MessengerClient {
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const base = options.graphUrl.replace(/\/+$/, '');
  const endpoint = `${base}/me/messages?access_token=${encodeURIComponent(options.pageAccessToken)}`;

  /** A Graph GET; errors reduced to a code (the URL carries the token and is never logged). */
  const get = async (path: string, query: Record<string, string>): Promise<{ ok: true; body: unknown } | { ok: false; code: string }> => {
    const params = new URLSearchParams({ ...query, access_token: options.pageAccessToken });
    let response: Response;
    try {
      response = await doFetch(`${base}${path}?${params.toString()}`, { method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      return { ok: false, code: isTimeout(error) ? 'fb:timeout' : 'fb:network' };
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      return { ok: false, code: `fb:http_${response.status}` };
    }
    if (!response.ok) {
      const err = GraphError.safeParse(body);
      const e = err.success ? err.data.error : undefined;
      return { ok: false, code: e?.code === undefined ? `fb:http_${response.status}` : e.error_subcode === undefined ? `fb:${e.code}` : `fb:${e.code}/${e.error_subcode}` };
    }
    return { ok: true, body };
  };

  return {
    async recentMessages(pageId: string, psid: string): Promise<ConversationLookup> {
      const list = await get(`/${encodeURIComponent(pageId)}/conversations`, { platform: 'messenger', user_id: psid });
      if (!list.ok) return { kind: 'error', code: list.code };
      const conversations = ConversationList.safeParse(list.body);
      if (!conversations.success) return { kind: 'error', code: 'fb:unexpected' };
      const messages: ConversationMessage[] = [];
      for (const conversation of conversations.data.data) {
        // Only the 20 most recent messages of a conversation carry details (Graph's own limit).
        const detail = await get(`/${encodeURIComponent(conversation.id)}`, { fields: 'messages.limit(20){id,created_time,from,message}' });
        if (!detail.ok) return { kind: 'error', code: detail.code };
        const parsed = ConversationDetail.safeParse(detail.body);
        if (!parsed.success) return { kind: 'error', code: 'fb:unexpected' };
        for (const m of parsed.data.messages?.data ?? []) {
          const createdAt = parseGraphTime(m.created_time);
          if (!createdAt) continue;
          messages.push({ id: m.id, createdAt, fromPage: m.from?.id === pageId, text: m.message ?? '' });
        }
      }
      return { kind: 'ok', messages };
    },

    async send(body: MessengerOutgoingBody): Promise<SendOutcome> {
      let response: Response;
      try {
        response = await doFetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        // The error may carry the URL (and so the token): keep only its kind.
        return { kind: 'retry', code: isTimeout(error) ? 'fb:timeout' : 'fb:network' };
      }
      let parsedBody: unknown;
      try {
        const raw = await response.text();
        parsedBody = raw === '' ? undefined : JSON.parse(raw);
      } catch (error) {
        if (isTimeout(error)) return { kind: 'retry', code: 'fb:timeout' };
        parsedBody = undefined;
      }
      if (response.ok) {
        const success = SendSuccess.safeParse(parsedBody);
        // A 2xx means Graph accepted the message; a missing id must not cause a resend.
        return { kind: 'sent', messageId: success.success ? (success.data.message_id ?? null) : null };
      }
      return classifyMessengerError(response.status, parsedBody, response.headers);
    },
  };
}

const ConversationList = z.object({ data: z.array(z.object({ id: z.string().min(1) }).passthrough()) });
const ConversationDetail = z.object({
  messages: z
    .object({
      data: z.array(
        z.object({
          id: z.string(),
          created_time: z.string(),
          from: z.object({ id: z.union([z.string(), z.number().transform(String)]) }).passthrough().optional(),
          message: z.string().optional(),
        }),
      ),
    })
    .optional(),
});

/** Graph writes times as "2026-03-10T03:00:00+0000": make the offset one Date.parse reads everywhere. */
function parseGraphTime(value: string): Date | undefined {
  const iso = value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

type HeaderSource = Headers | Record<string, string | string[] | undefined> | undefined;

function header(headers: HeaderSource, name: string): string | undefined {
  if (!headers) return undefined;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value[0] : value;
}

const BusinessUseCaseUsage = z.record(
  z.string(),
  z.array(z.object({ estimated_time_to_regain_access: z.coerce.number().nonnegative().optional() })),
);

/** How long Graph asks us to wait: X-Business-Use-Case-Usage (minutes), else Retry-After (s). */
function retryAfterMs(headers: HeaderSource): number | undefined {
  const usage = header(headers, 'x-business-use-case-usage');
  if (usage) {
    const parsed = BusinessUseCaseUsage.safeParse(safeJson(usage));
    if (parsed.success) {
      const minutes = Math.max(0, ...Object.values(parsed.data).flat().map((u) => u.estimated_time_to_regain_access ?? 0));
      if (minutes > 0) return Math.min(minutes * 60_000, MAX_RETRY_MS);
    }
  }
  const retryAfter = header(headers, 'retry-after');
  if (retryAfter && /^\d+$/.test(retryAfter.trim())) {
    const ms = Number(retryAfter.trim()) * 1000;
    if (ms > 0) return Math.min(ms, MAX_RETRY_MS);
  }
  return undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Throttling codes: app (4), user (17), page (32), rate limit (613), BUC Messenger (80006). */
const THROTTLE_CODES = new Set([4, 17, 32, 613, 80006]);
/** Subcodes that mean the person cannot be reached (blocked the Page, turned off messages). */
const UNREACHABLE_SUBCODES = new Set([1545041, 2018108]);
/** Subcodes that mean "too many messages" whatever the code. */
const THROTTLE_SUBCODES = new Set([2018022]);
const WINDOW_SUBCODE = 2018278;
const NO_MATCHING_USER_SUBCODE = 2018001;
const PAGE_RESTRICTED_SUBCODE = 1893063;

/**
 * Classifies a failed Send API call. `errorBody` is the parsed JSON body (or anything: it is
 * validated here). The outcome code is "fb:<code>[/<subcode>]", or "fb:http_<status>".
 */
export function classifyMessengerError(httpStatus: number, errorBody: unknown, headers?: HeaderSource): SendOutcome {
  const parsed = GraphError.safeParse(errorBody);
  const error = parsed.success ? parsed.data.error : undefined;
  const code = error?.code;
  const subcode = error?.error_subcode;

  if (code === undefined) {
    // No Graph error object: judge by HTTP status alone.
    const httpCode = `fb:http_${httpStatus}`;
    if (httpStatus >= 500 || httpStatus === 429 || httpStatus === 408) {
      const hint = retryAfterMs(headers);
      return hint === undefined ? { kind: 'retry', code: httpCode } : { kind: 'retry', code: httpCode, retryAfterMs: hint };
    }
    return { kind: 'drop', code: httpCode, reason: 'unknown', markUnreachable: false };
  }

  const outcomeCode = subcode === undefined ? `fb:${code}` : `fb:${code}/${subcode}`;

  if (THROTTLE_CODES.has(code) || (subcode !== undefined && THROTTLE_SUBCODES.has(subcode))) {
    return { kind: 'retry', code: outcomeCode, retryAfterMs: retryAfterMs(headers) ?? DEFAULT_THROTTLE_RETRY_MS };
  }
  if (code === 10 && subcode === WINDOW_SUBCODE) {
    return { kind: 'drop', code: outcomeCode, reason: 'outside_window', markUnreachable: false };
  }
  if (code === 551 || (subcode !== undefined && UNREACHABLE_SUBCODES.has(subcode))) {
    return { kind: 'drop', code: outcomeCode, reason: 'user_blocked', markUnreachable: true };
  }
  if (code === 100 && subcode === NO_MATCHING_USER_SUBCODE) {
    return { kind: 'drop', code: outcomeCode, reason: 'user_not_found', markUnreachable: true };
  }
  if (code === 190 || code === 102) {
    return { kind: 'pause', code: outcomeCode, reason: 'token_invalid' };
  }
  if (code === 10 && subcode === PAGE_RESTRICTED_SUBCODE) {
    return { kind: 'pause', code: outcomeCode, reason: 'account_restricted' };
  }
  if (code === 10 || (code >= 200 && code <= 299)) {
    return { kind: 'pause', code: outcomeCode, reason: 'permission_denied' };
  }
  if (code === 100) {
    // Invalid parameter, including the deprecated message tags: a bug in what we sent.
    return { kind: 'drop', code: outcomeCode, reason: 'invalid_message', markUnreachable: false };
  }
  if (code === 1 || code === 2 || error?.is_transient === true || httpStatus >= 500) {
    // Temporary; the queue's attempt limit turns a persistent one into a failure.
    const hint = retryAfterMs(headers);
    return hint === undefined ? { kind: 'retry', code: outcomeCode } : { kind: 'retry', code: outcomeCode, retryAfterMs: hint };
  }
  return { kind: 'drop', code: outcomeCode, reason: 'unknown', markUnreachable: false };
}
