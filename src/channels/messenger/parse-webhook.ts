// Turns a verified Messenger webhook body (already JSON-parsed) into ParsedEvents: one per
// event in every entry's `messaging` and `standby` arrays. Pure: no I/O, no clock unless an
// event lacks every timestamp. Shapes and rules follow PLATFORMS.md "FACEBOOK MESSENGER" §2.
//
// Decisions:
// - `object` other than "page" (or a body in the dashboard's `field`/`value` test format) is
//   returned as one ignored event, not thrown: Meta retries non-2xx answers and disables a
//   webhook that keeps failing, so the route should answer 200 and drop it.
// - A body that is not even an object, or an `object:"page"` body without an `entry` array,
//   throws MessengerPayloadError (the route answers 400): that is not something Meta sends.
// - One malformed event never costs the others: it becomes ignored('malformed_event').
// - Events in `standby` (another app, e.g. the Page inbox, owns the thread) are never answered:
//   citizen events there are ignored('standby') with user and time, echoes still count (a
//   human officer replying from the inbox pauses the bot).
// - accountId is the entry's Page id (the Page the subscription delivered for).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ParsedEvent } from '../platform-event.js';

export class MessengerPayloadError extends Error {
  readonly code = 'MESSENGER_PAYLOAD_INVALID';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MessengerPayloadError';
  }
}

export interface ParseMessengerOptions {
  /** Our own Facebook app id(s): echoes of our sends carry one of them and are dropped. */
  ownAppIds: string[];
  /** Clock used only when an actionable event carries neither `timestamp` nor `entry.time`. */
  now?: () => number;
}

/** Old captures carry numeric ids (app_id, sticker_id, even page ids): keep strings, always. */
const Id = z.union([
  z.string().min(1),
  z
    .number()
    .int()
    .nonnegative()
    .transform((n) => n.toFixed(0)),
]);

/** Epoch ms; the dashboard test format sends it as a string. */
const Timestamp = z.union([
  z.number().nonnegative().finite().transform((n) => Math.trunc(n)),
  z
    .string()
    .regex(/^\d{1,16}$/)
    .transform((s) => Number(s)),
]);

const Party = z.object({ id: Id.optional() });

const Attachment = z.object({
  type: z.string(),
  payload: z.unknown().optional(),
});

const StickerPayload = z.object({ sticker_id: Id });

const Message = z.object({
  mid: z.string().min(1).optional(),
  text: z.string().optional(),
  is_echo: z.boolean().optional(),
  app_id: Id.nullable().optional(),
  quick_reply: z.object({ payload: z.string() }).optional(),
  attachments: z.array(Attachment).nullable().optional(),
  sticker_id: Id.optional(),
});

const Referral = z.object({ ref: z.string().optional(), source: z.string().optional() });

const Postback = z.object({
  mid: z.string().min(1).optional(),
  title: z.string().optional(),
  payload: z.string().optional(),
  referral: Referral.optional(),
});

const MessagingEvent = z.object({
  sender: Party.optional(),
  recipient: Party.optional(),
  timestamp: Timestamp.optional(),
  message: Message.optional(),
  postback: Postback.optional(),
  referral: Referral.optional(),
  delivery: z.unknown().optional(),
  read: z.unknown().optional(),
});
type MessagingEvent = z.infer<typeof MessagingEvent>;

const Entry = z.object({
  id: Id.optional(),
  time: Timestamp.optional(),
  messaging: z.array(z.unknown()).optional(),
  standby: z.array(z.unknown()).optional(),
});

const Envelope = z.object({ object: z.unknown().optional(), entry: z.unknown().optional() });

/** Other event kinds Messenger can send on the same subscription: known, not acted on. */
const OTHER_EVENT_KEYS = [
  'reaction',
  'optin',
  'account_linking',
  'pass_thread_control',
  'take_thread_control',
  'request_thread_control',
  'app_roles',
  'policy_enforcement',
  'game_play',
  'message_edit',
  'response_feedback',
] as const;

const AnyObject = z.record(z.string(), z.unknown());

const ATTACHMENT_TYPE = /^[a-z][a-z_]{0,39}$/;

/** Parses a whole webhook body. Throws MessengerPayloadError only for bodies Meta never sends. */
export function parseMessengerWebhook(body: unknown, opts: ParseMessengerOptions): ParsedEvent[] {
  const envelope = Envelope.safeParse(body);
  if (!envelope.success || body === null || Array.isArray(body)) {
    throw new MessengerPayloadError('Messenger webhook body is not a JSON object');
  }
  if (envelope.data.object !== 'page') {
    return [{ type: 'ignored', platform: 'messenger', reason: 'object_not_page' }];
  }
  const entries = z.array(z.unknown()).safeParse(envelope.data.entry);
  if (!entries.success) {
    throw new MessengerPayloadError('Messenger webhook body has no entry array');
  }

  const ownAppIds = new Set(opts.ownAppIds);
  const now = opts.now ?? Date.now;
  const events: ParsedEvent[] = [];
  for (const rawEntry of entries.data) {
    const entry = Entry.safeParse(rawEntry);
    if (!entry.success) {
      events.push({ type: 'ignored', platform: 'messenger', reason: 'malformed_entry' });
      continue;
    }
    const context = { pageId: entry.data.id, entryTime: entry.data.time, ownAppIds, now };
    for (const raw of entry.data.messaging ?? []) events.push(parseEvent(raw, context, false));
    for (const raw of entry.data.standby ?? []) events.push(parseEvent(raw, context, true));
  }
  // Retries can deliver out of order; handle a batch in platform time order (stable sort, so
  // events with equal or missing timestamps keep their arrival order).
  return events
    .map((event, index) => ({ event, index }))
    .sort((a, b) => sortTime(a.event) - sortTime(b.event) || a.index - b.index)
    .map(({ event }) => event);
}

function sortTime(event: ParsedEvent): number {
  return event.timestamp ?? 0;
}

interface EventContext {
  pageId: string | undefined;
  entryTime: number | undefined;
  ownAppIds: ReadonlySet<string>;
  now: () => number;
}

function parseEvent(raw: unknown, context: EventContext, standby: boolean): ParsedEvent {
  const parsed = MessagingEvent.safeParse(raw);
  if (!parsed.success) return { type: 'ignored', platform: 'messenger', reason: 'malformed_event', accountId: context.pageId };
  const event = parsed.data;
  const message = event.message;

  if (message?.is_echo === true) return parseEcho(event, context);

  // Citizen side: the sender is the PSID, the recipient the Page.
  const userId = event.sender?.id;
  const accountId = context.pageId ?? event.recipient?.id;
  const timestamp = event.timestamp;
  const base = { platform: 'messenger' as const, accountId, userId, timestamp };

  if (event.delivery !== undefined) return { type: 'ignored', ...base, reason: 'delivery' };
  if (event.read !== undefined) return { type: 'ignored', ...base, reason: 'read' };
  if (!message && !event.postback && !event.referral) {
    const keys = AnyObject.safeParse(raw);
    const known = keys.success ? OTHER_EVENT_KEYS.find((key) => key in keys.data) : undefined;
    return { type: 'ignored', ...base, reason: known ?? 'unsupported_event' };
  }
  // sender.user_ref (checkbox plugin, chat plugin guests) has no PSID we could answer.
  if (!userId || !accountId) return { type: 'ignored', ...base, reason: 'no_psid' };
  if (standby) return { type: 'ignored', ...base, reason: 'standby' };

  const time = timestamp ?? context.entryTime ?? context.now();
  const inbound = { type: 'inbound' as const, platform: 'messenger' as const, accountId, userId, timestamp: time };

  if (message) {
    if (!message.mid) return { type: 'ignored', ...base, reason: 'message_without_mid' };
    const dedupeKey = `fb:m:${message.mid}`;
    const text = message.text !== undefined && message.text.trim() !== '' ? message.text.normalize('NFC') : undefined;
    if (message.quick_reply && message.quick_reply.payload !== '') {
      // A quick-reply tap arrives as a message, not a postback (PLATFORMS.md §2).
      return { ...inbound, kind: 'postback', dedupeKey, messageId: message.mid, payload: unwrapJsonString(message.quick_reply.payload), ...(text ? { text } : {}) };
    }
    const attachment = attachmentKind(message);
    if (!text && !attachment) return { type: 'ignored', ...base, reason: 'empty_message' };
    return { ...inbound, kind: 'text', dedupeKey, messageId: message.mid, ...(text ? { text } : {}), ...(attachment ? { attachment } : {}) };
  }

  if (event.postback) {
    const postback = event.postback;
    const payload = postback.payload ? unwrapJsonString(postback.payload) : undefined;
    const ref = postback.referral?.ref ? unwrapJsonString(postback.referral.ref) : undefined;
    if (!payload && !ref) return { type: 'ignored', ...base, reason: 'empty_postback' };
    const dedupeKey = postback.mid ? `fb:m:${postback.mid}` : `fb:pb:${userId}:${time}:${digest(postback.payload ?? '')}`;
    return {
      ...inbound,
      kind: 'postback',
      dedupeKey,
      messageId: postback.mid ?? dedupeKey,
      ...(payload ? { payload } : {}),
      ...(ref ? { ref } : {}),
    };
  }

  // A referral into an existing thread (m.me link, QR code, ad). The ref may be absent: still
  // an event, since it re-opens the 24-hour window.
  const referral = event.referral;
  const ref = referral?.ref ? unwrapJsonString(referral.ref) : undefined;
  const dedupeKey = `fb:ref:${userId}:${time}:${digest(referral?.ref ?? '')}`;
  return { ...inbound, kind: 'referral', dedupeKey, messageId: dedupeKey, ...(ref ? { ref } : {}) };
}

/** On echoes the Page is the sender and the citizen's PSID the recipient. */
function parseEcho(event: MessagingEvent, context: EventContext): ParsedEvent {
  const message = event.message;
  const accountId = context.pageId ?? event.sender?.id;
  const userId = event.recipient?.id;
  const timestamp = event.timestamp;
  const appId = message?.app_id ?? undefined;
  if (appId !== undefined && context.ownAppIds.has(appId)) {
    return { type: 'ignored', platform: 'messenger', reason: 'own_echo', accountId, userId, timestamp };
  }
  if (!accountId || !userId) return { type: 'ignored', platform: 'messenger', reason: 'no_psid', accountId, userId, timestamp };
  // Another app id (the Business Suite / Page inbox is 263902037430900) or none: a person.
  const time = timestamp ?? context.entryTime ?? context.now();
  const dedupeKey = message?.mid ? `fb:m:${message.mid}` : `fb:echo:${userId}:${time}`;
  return { type: 'staff_reply', platform: 'messenger', accountId, userId, dedupeKey, timestamp: time };
}

/** What the citizen attached, for a polite answer: the first attachment's type; stickers win. */
function attachmentKind(message: z.infer<typeof Message>): string | undefined {
  const attachments = message.attachments ?? [];
  // Until 2026-08-30 a sticker also arrives as type "image" carrying a sticker_id.
  if (message.sticker_id !== undefined) return 'sticker';
  if (attachments.some((a) => a.type === 'sticker' || StickerPayload.safeParse(a.payload).success)) return 'sticker';
  const first = attachments[0];
  if (!first) return undefined;
  return ATTACHMENT_TYPE.test(first.type) ? first.type : 'other';
}

/**
 * Some senders JSON-encode a string once more (`"\"mc:menu\""`): peel exactly one layer when
 * the value is a JSON string literal. JSON objects stay as they are (the engine rejects them).
 */
function unwrapJsonString(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    const inner = z.string().safeParse(safeJsonParse(value));
    if (inner.success) return inner.data;
  }
  return value;
}

function safeJsonParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Bounded, separator-free component for dedupe keys built from free text (payload, ref). */
function digest(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 32);
}
