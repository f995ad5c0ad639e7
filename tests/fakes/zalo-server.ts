// A local fake of the Zalo OpenAPI (v3 send) and OAuth v4 servers, on node:http at 127.0.0.1 on
// an ephemeral port. It implements the documented behaviour of PLATFORMS.md §7–§9 and records
// what it receives:
// - every answer is HTTP 200 with {error, message, data?}; the body's `error` tells the outcome;
// - access tokens expire (25 h) and die as soon as a refresh issues a new one: -220; an unknown
//   token: -216;
// - refresh tokens are single-use (3 months); a second use: -14014 "Invalid refresh token";
// - message/cs enforces the interaction window per user from `users` (the test controls it):
//   none or beyond 7 days: -230; 48 h–7 d accepted and recorded as billed (no quota object);
//   unfollowed users: -213; text > 2,000 characters or > 5 buttons: -210; bad body: -201;
// - message/promotion: followers only, 06:00–21:59 Vietnam time (-234), 1 per user per day and
//   a monthly cap (-218);
// - message/transaction (PLATFORMS.md §7–§8): a template of the transaction family
//   (transaction_order …, as zalo-php-sdk's TransactionTemplateType lists them) with header /
//   text / table / banner elements and ≤ 5 buttons, sent 24/7 to a user who interacted within a
//   year; beyond it (or never): -232 (the fake's choice of code); unfollowed: -213; element
//   limits of our own choosing (header ≤ 100, text ≤ 1,000, table ≤ 8 rows of ≤ 100): -210;
//   bad body: -201. Shown in the conversation by its header, like a promotion;
// - scripted errors (-32, -211, …) for the next N calls of an endpoint;
// - the OAuth code exchange with PKCE (S256; base64url or unpadded base64 accepted);
// - GET /v2.0/oa/conversation?data={"user_id","offset","count"} (count ≤ 10): the OA's messages
//   with that user from its log, newest first, as {src: 0 (OA), time, type, message,
//   message_id} (shape from community code, medium confidence); a promotion shows its header;
// - promotion element limits of our own choosing where Zalo publishes none (header ≤ 100,
//   text block ≤ 1,000, ≤ 5 buttons): -210.
// Codes the documentation does not give are marked as the fake's own choice.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

export const ZALO_ACCESS_TTL_MS = 25 * 60 * 60 * 1000;
export const ZALO_REFRESH_TTL_MS = 90 * 24 * 60 * 60 * 1000;
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const VN_OFFSET_MS = 7 * HOUR;

/** -14014 appears for an invalid refresh token in several test suites (PLATFORMS.md §8). */
export const ERR_INVALID_REFRESH_TOKEN = -14014;
/** The fake's own choice for other OAuth refusals (a secondary source reports -14003 "invalid parameter"). */
export const ERR_OAUTH_INVALID = -14003;

export type FakeEndpoint = 'cs' | 'promotion' | 'transaction' | 'token' | 'conversation';

export interface FakeUser {
  /** Milliseconds since the epoch of the user's last message / tap; undefined = never. */
  lastInteractionAt?: number;
  /** Follows the OA (promotion needs it; false also refuses cs with -213). Default true. */
  following?: boolean;
}

export interface SentRecord {
  endpoint: 'cs' | 'promotion' | 'transaction';
  oaId: string;
  userId: string;
  messageId: string;
  /** A cs message sent between 48 hours and 7 days after the user's last interaction. */
  billed: boolean;
  body: unknown;
  at: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  rawBody: string;
  /** The `error` the fake answered (0 = success); null for HTTP-level answers. */
  error: number | null;
}

interface AccessEntry {
  oaId: string;
  expiresAt: number;
  superseded: boolean;
}
interface RefreshEntry {
  oaId: string;
  expiresAt: number;
  used: boolean;
}
interface CodeEntry {
  oaId: string;
  codeChallenge: string;
  expiresAt: number;
  used: boolean;
}

export interface ZaloFakeOptions {
  appId: string;
  appSecret: string;
  /** Fixed start time; the clock only moves through setNow / advance. Default: real time. */
  now?: number;
  accessTtlMs?: number;
  /** Monthly promotion cap per follower (package-dependent; Advanced/Trial reported 4). */
  monthlyPromotionCap?: number;
}

export interface ZaloFake {
  readonly url: string;
  readonly users: Map<string, FakeUser>;
  readonly sent: SentRecord[];
  readonly requests: RecordedRequest[];
  readonly refreshCount: number;
  readonly exchangeCount: number;
  now(): number;
  setNow(ms: number): void;
  advance(ms: number): void;
  /** Seeds an OA's authorisation as if it had connected: a fresh token pair. */
  grant(oaId: string, opts?: { accessExpiresAt?: number }): { accessToken: string; refreshToken: string; accessExpiresAt: number };
  setUser(userId: string, user: FakeUser): void;
  /** The next `times` calls of an endpoint answer `error` (after the token check for cs/promotion). */
  failNext(endpoint: FakeEndpoint, error: number, times?: number, message?: string): void;
  /** Delays token-endpoint answers (to make concurrent refreshes overlap or time out). */
  setTokenDelay(ms: number): void;
  /** Every call of an endpoint until `untilMs` (the fake's clock) answers `error` (a throttled period). */
  failUntil(endpoint: FakeEndpoint, error: number, untilMs: number): void;
  /** Wait this long after accepting a send before answering it (widens crash windows). */
  setResponseDelay(ms: number): void;
  /** Keep no request log (long benchmark runs); sends are still recorded. */
  setRecordRequests(record: boolean): void;
  /** What the OA admin's consent produces: a code bound to the challenge, valid 10 minutes. */
  createAuthCode(p: { oaId: string; codeChallenge: string }): string;
  close(): Promise<void>;
}

const TOKEN_FORM = z.object({
  app_id: z.string().optional(),
  grant_type: z.string().optional(),
  refresh_token: z.string().optional(),
  code: z.string().optional(),
  code_verifier: z.string().optional(),
});

const Button = z.discriminatedUnion('type', [
  z.object({ type: z.literal('oa.query.show'), title: z.string().min(1), payload: z.string().min(1) }),
  z.object({ type: z.literal('oa.query.hide'), title: z.string().min(1), payload: z.string().min(1) }),
  z.object({ type: z.literal('oa.open.url'), title: z.string().min(1), payload: z.object({ url: z.string().url() }) }),
  z.object({ type: z.literal('oa.open.phone'), title: z.string().min(1), payload: z.object({ phone_code: z.string() }) }),
  z.object({ type: z.literal('oa.open.sms'), title: z.string().min(1), payload: z.object({ content: z.string(), phone_code: z.string() }) }),
]);

const CsBody = z.object({
  recipient: z.object({ user_id: z.string().regex(/^\d+$/) }),
  message: z.object({
    text: z.string().min(1),
    attachment: z
      .object({ type: z.literal('template'), payload: z.object({ buttons: z.array(Button).min(1) }) })
      .optional(),
  }),
});

const PromotionBody = z.object({
  recipient: z.object({ user_id: z.string().regex(/^\d+$/) }),
  message: z.object({
    attachment: z.object({
      type: z.literal('template'),
      payload: z.object({ template_type: z.literal('promotion'), elements: z.array(z.unknown()).min(1) }).passthrough(),
    }),
  }),
});

/** The transaction family (zalo-php-sdk src/Common/TransactionTemplateType.php). */
export const TRANSACTION_TEMPLATE_TYPES = [
  'transaction_billing',
  'transaction_order',
  'transaction_reward',
  'transaction_contract',
  'transaction_booking',
  'transaction_membership',
  'transaction_event',
  'transaction_transaction',
  'transaction_account',
  'transaction_internal',
  'transaction_partnership',
  'transaction_education',
  'transaction_rating',
] as const;

const TransactionElement = z.discriminatedUnion('type', [
  z.object({ type: z.literal('banner'), image_url: z.string().url().optional(), attachment_id: z.string().min(1).optional() }),
  z.object({ type: z.literal('header'), content: z.string().min(1), align: z.enum(['left', 'center', 'right']).optional() }),
  z.object({ type: z.literal('text'), content: z.string().min(1), align: z.enum(['left', 'center', 'right']).optional() }),
  z.object({
    type: z.literal('table'),
    content: z.array(z.object({ key: z.string().min(1), value: z.string().min(1), style: z.string().optional() })).min(1),
  }),
]);

const TransactionBody = z.object({
  recipient: z.object({ user_id: z.string().regex(/^\d+$/) }),
  message: z.object({
    attachment: z.object({
      type: z.literal('template'),
      payload: z.object({
        template_type: z.enum(TRANSACTION_TEMPLATE_TYPES),
        language: z.enum(['VI', 'EN']).optional(),
        elements: z.array(TransactionElement).min(1),
        buttons: z.array(Button).optional(),
      }),
    }),
  }),
});

/** A year: how long after a user's last interaction transaction messages may reach them (§8). */
const TRANSACTION_WINDOW_MS = 365 * DAY;

function token(prefix: string): string {
  return `${prefix}${randomBytes(24).toString('base64url')}`;
}

function messageId(): string {
  return randomBytes(10).toString('hex');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function vnDay(ms: number): number {
  return Math.floor((ms + VN_OFFSET_MS) / DAY);
}
function vnMonth(ms: number): string {
  return new Date(ms + VN_OFFSET_MS).toISOString().slice(0, 7);
}
function vnHour(ms: number): number {
  return new Date(ms + VN_OFFSET_MS).getUTCHours();
}

export async function startZaloFake(opts: ZaloFakeOptions): Promise<ZaloFake> {
  let fixedNow: number | null = opts.now ?? null;
  const now = () => fixedNow ?? Date.now();
  const accessTtl = opts.accessTtlMs ?? ZALO_ACCESS_TTL_MS;
  const monthlyCap = opts.monthlyPromotionCap ?? 4;

  const access = new Map<string, AccessEntry>();
  const refresh = new Map<string, RefreshEntry>();
  const codes = new Map<string, CodeEntry>();
  const users = new Map<string, FakeUser>();
  const sent: SentRecord[] = [];
  const requests: RecordedRequest[] = [];
  const scripted = new Map<FakeEndpoint, { error: number; message: string }[]>();
  const failingUntil = new Map<FakeEndpoint, { error: number; until: number }>();
  /** "oaId user" → indexes in `sent`, for the conversation endpoint. */
  const byUser = new Map<string, number[]>();
  let responseDelayMs = 0;
  let recordRequests = true;
  const promotionsByUser = new Map<string, number[]>();
  let refreshCount = 0;
  let exchangeCount = 0;
  let tokenDelayMs = 0;
  let minute = -1;
  let callsThisMinute = 0;

  function issue(oaId: string, accessExpiresAt?: number) {
    // A new pair kills every earlier access token of the OA.
    for (const entry of access.values()) if (entry.oaId === oaId) entry.superseded = true;
    const accessToken = token('at_');
    const refreshToken = token('rt_');
    const expiresAt = accessExpiresAt ?? now() + accessTtl;
    access.set(accessToken, { oaId, expiresAt, superseded: false });
    refresh.set(refreshToken, { oaId, expiresAt: now() + ZALO_REFRESH_TTL_MS, used: false });
    return { accessToken, refreshToken, accessExpiresAt: expiresAt };
  }

  function takeScripted(endpoint: FakeEndpoint) {
    const queue = scripted.get(endpoint);
    if (queue && queue.length > 0) return queue.shift();
    const until = failingUntil.get(endpoint);
    return until && now() < until.until ? { error: until.error, message: 'scripted error' } : undefined;
  }

  function record(entry: SentRecord): void {
    const key = `${entry.oaId} ${entry.userId}`;
    const list = byUser.get(key) ?? [];
    list.push(sent.length);
    byUser.set(key, list);
    sent.push(entry);
  }

  /** The text Zalo's conversation list shows for a message we sent. */
  function shownText(entry: SentRecord): string {
    const body = entry.body as { message?: { text?: unknown; attachment?: { payload?: { elements?: Array<{ type?: unknown; content?: unknown }> } } } };
    if (typeof body.message?.text === 'string') return body.message.text;
    const header = body.message?.attachment?.payload?.elements?.find((e) => e.type === 'header');
    return typeof header?.content === 'string' ? header.content : '';
  }

  function handleConversation(oaId: string, query: string): Record<string, unknown> {
    const parsed = z
      .object({ user_id: z.union([z.string(), z.number().transform(String)]), offset: z.coerce.number().int().min(0).default(0), count: z.coerce.number().int().min(1).max(10).default(5) })
      .safeParse(safeParse(new URLSearchParams(query).get('data') ?? ''));
    if (!parsed.success) return { error: -201, message: 'Parameters are invalid' };
    const { user_id, offset, count } = parsed.data;
    const mine = (byUser.get(`${oaId} ${user_id}`) ?? []).slice().reverse().slice(offset, offset + count);
    const data = mine.flatMap((i) => {
      const e = sent[i];
      return e
        ? [{ src: 0, time: e.at, type: e.endpoint === 'cs' ? 'text' : 'template', message: shownText(e), message_id: e.messageId, from_id: oaId, to_id: user_id }]
        : [];
    });
    return { error: 0, message: 'Success', data };
  }

  function oauthError(code: number, name: string) {
    return { error: code, error_name: name, error_reason: name, ref_doc: '', error_description: name };
  }

  async function handleToken(req: IncomingMessage, raw: string): Promise<Record<string, unknown>> {
    if (tokenDelayMs > 0) await new Promise((r) => setTimeout(r, tokenDelayMs));
    const s = takeScripted('token');
    if (s) return oauthError(s.error, s.message);
    if (req.headers['secret_key'] !== opts.appSecret) return oauthError(ERR_OAUTH_INVALID, 'Invalid secret key');
    const form = TOKEN_FORM.safeParse(Object.fromEntries(new URLSearchParams(raw)));
    if (!form.success || form.data.app_id !== opts.appId) return oauthError(ERR_OAUTH_INVALID, 'Invalid app id');
    const f = form.data;
    if (f.grant_type === 'refresh_token') {
      const entry = f.refresh_token ? refresh.get(f.refresh_token) : undefined;
      if (!entry || entry.used || entry.expiresAt <= now()) return oauthError(ERR_INVALID_REFRESH_TOKEN, 'Invalid refresh token');
      entry.used = true;
      refreshCount++;
      const pair = issue(entry.oaId);
      return { access_token: pair.accessToken, refresh_token: pair.refreshToken, expires_in: String(Math.round(accessTtl / 1000)) };
    }
    if (f.grant_type === 'authorization_code') {
      const entry = f.code ? codes.get(f.code) : undefined;
      if (!entry || entry.used || entry.expiresAt <= now()) return oauthError(ERR_OAUTH_INVALID, 'Invalid authorization code');
      entry.used = true; // usable once, even when the verifier is wrong
      const digest = createHash('sha256').update(f.code_verifier ?? '', 'ascii').digest();
      const accepted = [digest.toString('base64url'), digest.toString('base64').replace(/=+$/, '')];
      if (!f.code_verifier || !accepted.includes(entry.codeChallenge)) return oauthError(ERR_OAUTH_INVALID, 'Invalid code verifier');
      exchangeCount++;
      const pair = issue(entry.oaId);
      return { access_token: pair.accessToken, refresh_token: pair.refreshToken, expires_in: String(Math.round(accessTtl / 1000)) };
    }
    return oauthError(ERR_OAUTH_INVALID, 'Invalid grant type');
  }

  /** The OA behind an access token, or the error Zalo answers. */
  function authorise(req: IncomingMessage): { oaId: string } | { error: number; message: string } {
    const header = req.headers['access_token'];
    const value = Array.isArray(header) ? header[0] : header;
    const entry = value ? access.get(value) : undefined;
    if (!entry) return { error: -216, message: 'Access token is invalid' };
    if (entry.superseded || entry.expiresAt <= now()) return { error: -220, message: 'Access token has expired or been removed' };
    return { oaId: entry.oaId };
  }

  function handleCs(oaId: string, raw: string): Record<string, unknown> {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return { error: -201, message: 'Parameters are invalid' };
    }
    const parsed = CsBody.safeParse(json);
    if (!parsed.success) return { error: -201, message: 'Parameters are invalid' };
    const { recipient, message } = parsed.data;
    if (message.text.length > 2000 || (message.attachment?.payload.buttons.length ?? 0) > 5) {
      return { error: -210, message: 'Parameter exceeds its limit' };
    }
    const user = users.get(recipient.user_id);
    if (user?.following === false) return { error: -213, message: 'User has not followed OA' };
    const last = user?.lastInteractionAt;
    if (last === undefined || now() - last > 7 * DAY) {
      return { error: -230, message: 'User has not interacted with the OA in the past 7 days' };
    }
    const billed = now() - last > 48 * HOUR;
    const id = messageId();
    record({ endpoint: 'cs', oaId, userId: recipient.user_id, messageId: id, billed, body: json, at: now() });
    // No quota object means a paid message (PLATFORMS.md §8).
    const data: Record<string, unknown> = { message_id: id, user_id: recipient.user_id, sent_time: String(now()) };
    if (!billed) data.quota = { quota_type: 'reply' };
    return { error: 0, message: 'Success', data };
  }

  function handlePromotion(oaId: string, raw: string): Record<string, unknown> {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return { error: -201, message: 'Parameters are invalid' };
    }
    const parsed = PromotionBody.safeParse(json);
    if (!parsed.success) return { error: -201, message: 'Parameters are invalid' };
    const userId = parsed.data.recipient.user_id;
    const payload = parsed.data.message.attachment.payload as { elements: unknown[]; buttons?: unknown };
    for (const element of payload.elements) {
      const e = element as { type?: unknown; content?: unknown };
      if (e.type === 'header' && (typeof e.content !== 'string' || Array.from(e.content).length > 100)) return { error: -210, message: 'Parameter exceeds its limit' };
      if (e.type === 'text' && (typeof e.content !== 'string' || Array.from(e.content).length > 1000)) return { error: -210, message: 'Parameter exceeds its limit' };
    }
    if (Array.isArray(payload.buttons) && payload.buttons.length > 5) return { error: -210, message: 'Parameter exceeds its limit' };
    const user = users.get(userId);
    if (!user || user.following === false) return { error: -213, message: 'User has not followed OA' };
    const hour = vnHour(now());
    if (hour < 6 || hour >= 22) return { error: -234, message: 'Cannot send promotion messages at night' };
    const history = promotionsByUser.get(userId) ?? [];
    if (history.some((t) => vnDay(t) === vnDay(now()))) return { error: -218, message: "User's receive quota exceeded" };
    if (history.filter((t) => vnMonth(t) === vnMonth(now())).length >= monthlyCap) {
      return { error: -218, message: "User's receive quota exceeded" };
    }
    history.push(now());
    promotionsByUser.set(userId, history);
    const id = messageId();
    record({ endpoint: 'promotion', oaId, userId, messageId: id, billed: false, body: json, at: now() });
    return { error: 0, message: 'Success', data: { message_id: id, user_id: userId, sent_time: String(now()) } };
  }

  function handleTransaction(oaId: string, raw: string): Record<string, unknown> {
    const json = safeParse(raw);
    const parsed = TransactionBody.safeParse(json);
    if (!parsed.success) return { error: -201, message: 'Parameters are invalid' };
    const userId = parsed.data.recipient.user_id;
    const { elements, buttons } = parsed.data.message.attachment.payload;
    const tooLong = (text: string, max: number) => Array.from(text).length > max;
    for (const e of elements) {
      if (e.type === 'header' && tooLong(e.content, 100)) return { error: -210, message: 'Parameter exceeds its limit' };
      if (e.type === 'text' && tooLong(e.content, 1000)) return { error: -210, message: 'Parameter exceeds its limit' };
      if (e.type === 'table' && (e.content.length > 8 || e.content.some((row) => tooLong(row.key, 100) || tooLong(row.value, 100)))) {
        return { error: -210, message: 'Parameter exceeds its limit' };
      }
    }
    if ((buttons?.length ?? 0) > 5) return { error: -210, message: 'Parameter exceeds its limit' };
    const user = users.get(userId);
    if (user?.following === false) return { error: -213, message: 'User has not followed OA' };
    const last = user?.lastInteractionAt;
    if (last === undefined || now() - last > TRANSACTION_WINDOW_MS) return { error: -232, message: 'User interaction has expired' };
    const id = messageId();
    record({ endpoint: 'transaction', oaId, userId, messageId: id, billed: false, body: json, at: now() });
    return { error: 0, message: 'Success', data: { message_id: id, user_id: userId, sent_time: String(now()) } };
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const entry: RecordedRequest = { method: req.method ?? '', path, headers, rawBody: raw, error: null };
    if (recordRequests) requests.push(entry);

    const reply = (body: Record<string, unknown>, delay = 0) => {
      entry.error = typeof body.error === 'number' ? body.error : 0;
      const m = Math.floor(now() / 60_000);
      if (m !== minute) {
        minute = m;
        callsThisMinute = 0;
      }
      callsThisMinute++;
      const answer = (): void => {
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'x-ratelimit-limit': '4000',
          'x-ratelimit-remain': String(Math.max(0, 4000 - callsThisMinute)),
        });
        res.end(JSON.stringify(body));
      };
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    };

    if (req.method === 'POST' && path === '/v4/oa/access_token') return reply(await handleToken(req, raw));
    if (req.method === 'GET' && path === '/v2.0/oa/conversation') {
      const auth = authorise(req);
      if ('error' in auth) return reply(auth);
      const s = takeScripted('conversation');
      if (s) return reply(s);
      return reply(handleConversation(auth.oaId, (req.url ?? '').split('?')[1] ?? ''));
    }
    const endpoint: FakeEndpoint | null =
      req.method === 'POST' && path === '/v3.0/oa/message/cs'
        ? 'cs'
        : req.method === 'POST' && path === '/v3.0/oa/message/promotion'
          ? 'promotion'
          : req.method === 'POST' && path === '/v3.0/oa/message/transaction'
            ? 'transaction'
            : null;
    if (!endpoint) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const auth = authorise(req);
    if ('error' in auth) return reply(auth);
    const s = takeScripted(endpoint);
    if (s) return reply(s);
    const handled = endpoint === 'cs' ? handleCs(auth.oaId, raw) : endpoint === 'promotion' ? handlePromotion(auth.oaId, raw) : handleTransaction(auth.oaId, raw);
    return reply(handled, responseDelayMs);
  }

  const server: Server = createServer((req, res) => {
    route(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address: AddressInfo | string | null = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake Zalo server has no TCP address');
  const { port } = address;

  return {
    url: `http://127.0.0.1:${port}`,
    users,
    sent,
    requests,
    get refreshCount() {
      return refreshCount;
    },
    get exchangeCount() {
      return exchangeCount;
    },
    now,
    setNow(ms) {
      fixedNow = ms;
    },
    advance(ms) {
      fixedNow = now() + ms;
    },
    grant(oaId, o) {
      return issue(oaId, o?.accessExpiresAt);
    },
    setUser(userId, user) {
      users.set(userId, { following: true, ...user });
    },
    failNext(endpoint, error, times = 1, message = 'scripted error') {
      const queue = scripted.get(endpoint) ?? [];
      for (let i = 0; i < times; i++) queue.push({ error, message });
      scripted.set(endpoint, queue);
    },
    setTokenDelay(ms) {
      tokenDelayMs = ms;
    },
    failUntil(endpoint, error, untilMs) {
      failingUntil.set(endpoint, { error, until: untilMs });
    },
    setResponseDelay(ms) {
      responseDelayMs = ms;
    },
    setRecordRequests(rec) {
      recordRequests = rec;
    },
    createAuthCode({ oaId, codeChallenge }) {
      const code = token('code_');
      codes.set(code, { oaId, codeChallenge, expiresAt: now() + 10 * 60 * 1000, used: false });
      return code;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      });
    },
  };
}
