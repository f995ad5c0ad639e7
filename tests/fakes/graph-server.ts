// A local fake of the Graph Send API (POST /vNN.0/me/messages and /vNN.0/<PAGE_ID>/messages)
// that behaves as PLATFORMS.md "FACEBOOK MESSENGER" §3–§5 documents: token check (190), body
// validation and size limits (100), the 24-hour window per PSID (10/2018278; 7 days with the
// HUMAN_AGENT tag), deprecated tags (100), blocked people (551/1545041), unknown PSIDs
// (100/2018001), scripted throttling (HTTP 400 with 613/4/32/17) and scripted 500s, with
// errors in Graph's shape {error:{message,type,code,error_subcode,fbtrace_id}}.
// It records every request so tests can assert what was sent, and serves the Conversations API
// (GET /<PAGE_ID>/conversations?platform=messenger&user_id=<PSID>, then GET /<CONVERSATION_ID>
// ?fields=messages...) from its log of sent messages, newest first, as Graph documents it
// ("Conversations API for Messenger Platform"); scripted failures apply to sends only. Stricter than Graph on one
// point: a quick-reply title over 20 characters is an error here (Graph truncates it), so
// that our renderer's shortening is checked.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const WINDOW_MS = 24 * 60 * 60 * 1000;
export const HUMAN_AGENT_WINDOW_MS = 7 * WINDOW_MS;

export interface RecordedGraphRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** The parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
}

export type ScriptedFailure =
  | { kind: 'rate_limit'; code?: 4 | 17 | 32 | 613; subcode?: number; regainAccessMinutes?: number }
  | { kind: 'server_error'; status?: number }
  | { kind: 'error'; status: number; code: number; subcode?: number; message?: string; type?: string };

export interface FakeGraphServerOptions {
  /** Valid Page access tokens → the Page id they belong to. */
  tokens?: Record<string, string>;
  /** Clock for window decisions (default Date.now). */
  now?: () => number;
}

export interface FakeGraphServer {
  /** Base URL including a version, as the client is configured: http://127.0.0.1:<port>/v25.0 */
  readonly url: string;
  /** PSID → last interaction (epoch ms). A PSID absent here is unknown to the Page (100/2018001). */
  readonly lastInteraction: Map<string, number>;
  /** PSIDs that blocked the Page or turned off messages (551/1545041). */
  readonly blocked: Set<string>;
  /** Valid tokens → Page id; tests may add or revoke tokens. */
  readonly tokens: Map<string, string>;
  /** The next `times` sends fail this way (scripts queue up in order). */
  failNext(failure: ScriptedFailure, times?: number): void;
  /** Every send until `untilMs` (epoch ms, the fake's clock) fails this way (a throttled period). */
  failUntil(failure: ScriptedFailure, untilMs: number): void;
  requests(): RecordedGraphRequest[];
  clearRequests(): void;
  /** Successful sends, in order: recipient, message id, body, Page and time (epoch ms). */
  sent(): SentGraphMessage[];
  /** How many sends were accepted (cheaper than sent().length on a long run). */
  sentCount(): number;
  /** Refuse the Conversations API (as without the permission): Graph error 10. */
  denyConversations(deny: boolean): void;
  /** Wait this long after accepting a send before answering it (widens crash windows). */
  setResponseDelay(ms: number): void;
  /** Keep no request log (long benchmark runs); sends are still recorded. */
  setRecordRequests(record: boolean): void;
  close(): Promise<void>;
}

export interface SentGraphMessage {
  recipientId: string;
  messageId: string;
  body: unknown;
  pageId: string;
  at: number;
}

interface GraphErrorSpec {
  status: number;
  code: number;
  subcode?: number;
  message: string;
  type?: string;
  transient?: boolean;
  headers?: Record<string, string>;
}

const MESSAGING_TYPES = new Set(['RESPONSE', 'UPDATE', 'MESSAGE_TAG', 'UTILITY']);
const DEPRECATED_TAGS = new Set(['CONFIRMED_EVENT_UPDATE', 'ACCOUNT_UPDATE', 'POST_PURCHASE_UPDATE']);
const SENDER_ACTIONS = new Set(['typing_on', 'typing_off', 'mark_seen']);
const PATH = /^\/(?:v\d+\.\d+\/)?([^/]+)\/messages\/?$/;
const CONVERSATIONS_PATH = /^\/(?:v\d+\.\d+\/)?([^/]+)\/conversations\/?$/;
const CONVERSATION_PATH = /^\/(?:v\d+\.\d+\/)?(t_[^/]+)\/?$/;

/** Graph's time format: 2026-03-10T03:00:00+0000. */
function graphTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, '+0000');
}

/** The text the Conversations API shows for a message we sent ('' for an attachment). */
function messageText(body: unknown): string {
  if (!isObject(body) || !isObject(body['message'])) return '';
  const message = body['message'];
  if (typeof message['text'] === 'string') return message['text'];
  const attachment = message['attachment'];
  if (isObject(attachment) && isObject(attachment['payload']) && typeof attachment['payload']['text'] === 'string') return attachment['payload']['text'];
  return '';
}

export async function startFakeGraphServer(options: FakeGraphServerOptions = {}): Promise<FakeGraphServer> {
  const now = options.now ?? Date.now;
  const tokens = new Map(Object.entries(options.tokens ?? { 'page-token': 'PAGE_ID' }));
  const lastInteraction = new Map<string, number>();
  const blocked = new Set<string>();
  const script: ScriptedFailure[] = [];
  let failUntil: { failure: ScriptedFailure; until: number } | undefined;
  let recorded: RecordedGraphRequest[] = [];
  let recordRequests = true;
  const sent: SentGraphMessage[] = [];
  /** PSID → indexes in `sent`, for the Conversations API. */
  const byRecipient = new Map<string, number[]>();
  let conversationsDenied = false;
  let responseDelayMs = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 1_000_000) chunks.push(chunk);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        // keep the raw text; validation rejects it below
      }
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[key] = value;
      if (recordRequests) recorded.push({ method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body });

      const result = req.method === 'GET' ? handleGet(url, headers) : handle(req.method ?? 'GET', url, headers, body);
      if ('error' in result) {
        const spec = result.error;
        res.writeHead(spec.status, { 'content-type': 'application/json; charset=UTF-8', ...(spec.headers ?? {}) });
        res.end(
          JSON.stringify({
            error: {
              message: spec.message,
              type: spec.type ?? 'OAuthException',
              code: spec.code,
              ...(spec.subcode !== undefined ? { error_subcode: spec.subcode } : {}),
              ...(spec.transient ? { is_transient: true } : {}),
              fbtrace_id: randomBytes(8).toString('base64url'),
            },
          }),
        );
        return;
      }
      const answer = (): void => {
        res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify(result.ok));
      };
      if (responseDelayMs > 0 && req.method === 'POST') setTimeout(answer, responseDelayMs);
      else answer();
    });
  });

  function pageOf(url: URL, headers: Record<string, string>): { pageId: string } | { error: GraphErrorSpec } {
    const bearer = /^Bearer\s+(.+)$/i.exec(headers['authorization'] ?? '');
    const token = url.searchParams.get('access_token') ?? bearer?.[1];
    if (!token) return { error: { status: 400, code: 104, message: 'An access token is required to request this resource.' } };
    const pageId = tokens.get(token);
    if (pageId === undefined) return { error: { status: 400, code: 190, message: 'Invalid OAuth access token - Cannot parse access token' } };
    return { pageId };
  }

  function handleGet(url: URL, headers: Record<string, string>): { ok: unknown } | { error: GraphErrorSpec } {
    const auth = pageOf(url, headers);
    if ('error' in auth) return auth;
    const denied = (): { error: GraphErrorSpec } => ({ error: { status: 403, code: 10, message: '(#10) Application does not have permission for this action' } });
    const list = CONVERSATIONS_PATH.exec(url.pathname);
    if (list) {
      if (conversationsDenied) return denied();
      if (list[1] !== auth.pageId && list[1] !== 'me') return { error: { status: 400, code: 200, message: '(#200) The page access token does not belong to this page' } };
      if (url.searchParams.get('platform') !== 'messenger') return { error: { status: 400, code: 100, message: '(#100) The parameter platform is required' } };
      const psid = url.searchParams.get('user_id');
      const mine = psid ? (byRecipient.get(psid) ?? []).filter((i) => sent[i]?.pageId === auth.pageId) : [];
      const last = mine.length ? sent[mine[mine.length - 1] ?? 0] : undefined;
      return { ok: { data: psid && last ? [{ id: `t_${auth.pageId}_${psid}`, updated_time: graphTime(last.at) }] : [] } };
    }
    const one = CONVERSATION_PATH.exec(url.pathname);
    if (one) {
      if (conversationsDenied) return denied();
      const [, pageId, psid] = /^t_([^_]+)_(.+)$/.exec(one[1] ?? '') ?? [];
      if (pageId !== auth.pageId || psid === undefined) return { error: { status: 400, code: 100, message: '(#100) Unsupported get request' } };
      const limit = Number(/messages\.limit\((\d+)\)/.exec(url.searchParams.get('fields') ?? '')?.[1] ?? 20);
      // Graph gives details of the 20 most recent messages only.
      const recent = (byRecipient.get(psid) ?? []).filter((i) => sent[i]?.pageId === pageId).slice(-Math.min(20, limit)).reverse();
      const data = recent.flatMap((i) => {
        const m = sent[i];
        return m ? [{ id: m.messageId, created_time: graphTime(m.at), from: { id: pageId, name: 'Trang' }, message: messageText(m.body) }] : [];
      });
      return { ok: { id: one[1], messages: { data } } };
    }
    return { error: { status: 400, code: 100, message: 'Unsupported get request', type: 'GraphMethodException' } };
  }

  function handle(method: string, url: URL, headers: Record<string, string>, body: unknown): { ok: unknown } | { error: GraphErrorSpec } {
    const scripted = script.shift() ?? (failUntil && now() < failUntil.until ? failUntil.failure : undefined);
    if (scripted?.kind === 'server_error') {
      return { error: { status: scripted.status ?? 500, code: 2, message: 'An unexpected error has occurred. Please retry your request later.', transient: true } };
    }
    const match = PATH.exec(url.pathname);
    if (method !== 'POST' || !match) {
      return { error: { status: 400, code: 100, message: 'Unsupported request - method type or path', type: 'GraphMethodException' } };
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(headers['authorization'] ?? '');
    const token = url.searchParams.get('access_token') ?? bearer?.[1];
    if (!token) return { error: { status: 400, code: 104, message: 'An access token is required to request this resource.' } };
    const pageId = tokens.get(token);
    if (pageId === undefined) return { error: { status: 400, code: 190, message: 'Invalid OAuth access token - Cannot parse access token' } };
    if (match[1] !== 'me' && match[1] !== pageId) {
      return { error: { status: 400, code: 200, message: '(#200) The page access token does not belong to this page' } };
    }
    if (scripted?.kind === 'rate_limit') {
      const code = scripted.code ?? 613;
      const extra = scripted.regainAccessMinutes === undefined
        ? undefined
        : { 'x-business-use-case-usage': JSON.stringify({ [pageId]: [{ type: 'messenger', call_count: 100, total_cputime: 1, total_time: 1, estimated_time_to_regain_access: scripted.regainAccessMinutes }] }) };
      return {
        error: {
          status: 400,
          code,
          ...(scripted.subcode !== undefined ? { subcode: scripted.subcode } : {}),
          message: code === 613 ? '(#613) Calls to this api have exceeded the rate limit.' : `(#${code}) Application request limit reached`,
          ...(extra ? { headers: extra } : {}),
        },
      };
    }
    if (scripted?.kind === 'error') {
      return { error: { status: scripted.status, code: scripted.code, ...(scripted.subcode !== undefined ? { subcode: scripted.subcode } : {}), message: scripted.message ?? `(#${scripted.code}) Scripted error`, ...(scripted.type ? { type: scripted.type } : {}) } };
    }

    const invalid = validate(body);
    if (typeof invalid === 'string') return { error: { status: 400, code: 100, message: `(#100) ${invalid}` } };
    const { psid, messagingType, tag, isMessage } = invalid;

    if (blocked.has(psid)) return { error: { status: 400, code: 551, subcode: 1545041, message: "(#551) This person isn't available right now." } };
    const last = lastInteraction.get(psid);
    if (last === undefined) return { error: { status: 400, code: 100, subcode: 2018001, message: '(#100) No matching user found' } };
    if (isMessage) {
      const window = messagingType === 'MESSAGE_TAG' && tag === 'HUMAN_AGENT' ? HUMAN_AGENT_WINDOW_MS : WINDOW_MS;
      if (now() - last > window) {
        return { error: { status: 400, code: 10, subcode: 2018278, message: '(#10) This message is sent outside of allowed window.' } };
      }
    }
    if (!isMessage) return { ok: { recipient_id: psid } };
    const messageId = `m_${randomBytes(24).toString('base64url')}`;
    const list = byRecipient.get(psid) ?? [];
    list.push(sent.length);
    byRecipient.set(psid, list);
    sent.push({ recipientId: psid, messageId, body, pageId, at: now() });
    return { ok: { recipient_id: psid, message_id: messageId } };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v25.0`,
    lastInteraction,
    blocked,
    tokens,
    failNext(failure, times = 1) {
      for (let i = 0; i < times; i += 1) script.push(failure);
    },
    failUntil(failure, untilMs) {
      failUntil = { failure, until: untilMs };
    },
    requests: () => recorded.map((r) => ({ ...r })),
    clearRequests() {
      recorded = [];
    },
    sent: () => sent.map((s) => ({ ...s })),
    sentCount: () => sent.length,
    denyConversations(deny) {
      conversationsDenied = deny;
    },
    setResponseDelay(ms) {
      responseDelayMs = ms;
    },
    setRecordRequests(record) {
      recordRequests = record;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

// ---- body validation (test code: plain type guards rather than zod, messages as Graph words them)

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function length(text: string): number {
  return Array.from(text).length;
}

function validate(body: unknown): string | { psid: string; messagingType: string; tag: string | undefined; isMessage: boolean } {
  if (!isObject(body)) return 'Invalid JSON in request body';
  const recipient = body['recipient'];
  if (!isObject(recipient) || typeof recipient['id'] !== 'string' || recipient['id'] === '') return 'The parameter recipient is required';
  const psid = recipient['id'];
  const message = body['message'];
  const senderAction = body['sender_action'];
  if (message !== undefined && senderAction !== undefined) return 'sender_action cannot be sent with message';
  if (senderAction !== undefined) {
    if (typeof senderAction !== 'string' || !SENDER_ACTIONS.has(senderAction)) return 'Param sender_action must be one of {typing_on, typing_off, mark_seen}';
    return { psid, messagingType: 'RESPONSE', tag: undefined, isMessage: false };
  }
  const messagingType = body['messaging_type'];
  if (typeof messagingType !== 'string' || !MESSAGING_TYPES.has(messagingType)) return 'Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG, UTILITY}';
  const tag = body['tag'];
  if (tag !== undefined && typeof tag !== 'string') return 'Param tag must be a string';
  if (messagingType === 'MESSAGE_TAG') {
    if (tag === undefined) return 'Tag is required for MESSAGE_TAG messaging type';
    if (DEPRECATED_TAGS.has(tag)) return `The tag ${tag} is deprecated and can no longer be used`;
    if (tag !== 'HUMAN_AGENT') return 'Param tag must be a valid message tag';
  } else if (tag !== undefined) {
    return 'Tag can only be used with MESSAGE_TAG messaging type';
  }
  if (!isObject(message)) return 'param message must be non-empty.';
  const problem = validateMessage(message);
  if (problem) return problem;
  return { psid, messagingType, tag, isMessage: true };
}

function validateMessage(message: Record<string, unknown>): string | null {
  const text = message['text'];
  const attachment = message['attachment'];
  if ((text === undefined) === (attachment === undefined)) return 'Must send either message[text] or message[attachment]';
  if (text !== undefined) {
    if (typeof text !== 'string' || text.trim() === '') return 'param message[text] must be non-empty.';
    if (length(text) > 2000) return 'Length of param message[text] must be less than or equal to 2000';
  }
  if (attachment !== undefined) {
    const problem = validateAttachment(attachment);
    if (problem) return problem;
  }
  const quickReplies = message['quick_replies'];
  if (quickReplies !== undefined) {
    if (!Array.isArray(quickReplies) || quickReplies.length === 0) return 'param message[quick_replies] must be a non-empty array';
    if (quickReplies.length > 13) return 'param message[quick_replies] must have at most 13 items';
    for (const quickReply of quickReplies) {
      if (!isObject(quickReply)) return 'param message[quick_replies] is invalid';
      const contentType = quickReply['content_type'];
      if (contentType === 'user_phone_number' || contentType === 'user_email') continue;
      if (contentType !== 'text') return 'param quick_replies[content_type] must be one of {text, user_phone_number, user_email}';
      const title = quickReply['title'];
      const payload = quickReply['payload'];
      if (typeof title !== 'string' || title === '') return 'param quick_replies[title] must be non-empty';
      if (length(title) > 20) return 'param quick_replies[title] must be at most 20 characters';
      if (typeof payload !== 'string' || payload === '') return 'param quick_replies[payload] must be non-empty';
      if (length(payload) > 1000) return 'param quick_replies[payload] must be at most 1000 characters';
    }
  }
  return null;
}

function validateAttachment(attachment: unknown): string | null {
  if (!isObject(attachment)) return 'param message[attachment] is invalid';
  const type = attachment['type'];
  const payload = attachment['payload'];
  if (!isObject(payload)) return 'param message[attachment][payload] is required';
  if (type === 'image' || type === 'audio' || type === 'video' || type === 'file') {
    return typeof payload['url'] === 'string' || typeof payload['attachment_id'] === 'string' ? null : 'Attachment payload requires url or attachment_id';
  }
  if (type !== 'template') return 'param message[attachment][type] must be one of {image, audio, video, file, template}';
  if (payload['template_type'] !== 'button') {
    // Only the button template is modelled; others are accepted as Graph would if well formed.
    return typeof payload['template_type'] === 'string' ? null : 'param template_type is required';
  }
  const text = payload['text'];
  if (typeof text !== 'string' || text.trim() === '') return 'param payload[text] must be non-empty';
  if (length(text) > 640) return 'param payload[text] must be at most 640 characters';
  const buttons = payload['buttons'];
  if (!Array.isArray(buttons) || buttons.length === 0) return 'param payload[buttons] must be a non-empty array';
  if (buttons.length > 3) return 'param payload[buttons] must have at most 3 items';
  for (const button of buttons) {
    if (!isObject(button)) return 'param buttons is invalid';
    const title = button['title'];
    if (typeof title !== 'string' || title === '') return 'param buttons[title] must be non-empty';
    if (length(title) > 20) return 'param buttons[title] must be at most 20 characters';
    if (button['type'] === 'postback') {
      const payloadValue = button['payload'];
      if (typeof payloadValue !== 'string' || payloadValue === '') return 'param buttons[payload] must be non-empty';
      if (length(payloadValue) > 1000) return 'param buttons[payload] must be at most 1000 characters';
    } else if (button['type'] === 'web_url') {
      const target = button['url'];
      if (typeof target !== 'string' || !/^https?:\/\/\S+$/i.test(target)) return 'param buttons[url] must be a valid URL';
    } else {
      return 'param buttons[type] must be one of {postback, web_url}';
    }
  }
  return null;
}
