// Zalo OA webhook body → ParsedEvent (one event per body). Owns the event vocabulary of
// PLATFORMS.md §6: user messages, button taps (user_send_text carrying our "mc:" payload),
// follow / unfollow (oa_id + follower.id, no sender/recipient), OA echoes (a human officer's
// reply only when it carries admin_id; otherwise our own API send), receipts, and everything
// else ignored with a reason. Ids stay strings; feed it the output of parseZaloJson so that an
// unquoted id never went through a JS number.
import { z } from 'zod';
import type { ParsedEvent } from '../platform-event.js';
import { looksLikePayload } from '../../conversation/payload.js';

/** An id as Zalo sends it (a digit string); a bare integer is accepted only if exact. */
const Id = z.union([
  z.string().trim().min(1),
  z
    .number()
    .int()
    .nonnegative()
    .refine((n) => Number.isSafeInteger(n), 'id lost precision')
    .transform((n) => String(n)),
]);

/** Epoch milliseconds, sent as a string ("1725608725618"); a number is accepted too. */
const Timestamp = z.union([
  z.string().regex(/^\d{1,16}$/).transform((s) => Number(s)),
  z.number().int().nonnegative(),
]);

const Envelope = z.object({ event_name: z.string().min(1) });

const UserMessage = z.object({
  sender: z.object({ id: Id }),
  recipient: z.object({ id: Id }),
  timestamp: Timestamp,
  message: z
    .object({
      msg_id: z.string().min(1).optional(),
      text: z.string().optional(),
      attachments: z.array(z.object({ type: z.string().optional() }).passthrough()).optional(),
    })
    .passthrough(),
});

const FollowEvent = z.object({
  oa_id: Id,
  follower: z.object({ id: Id }),
  timestamp: Timestamp,
});

const AdminId = z.union([z.string(), z.number()]).optional();
const OaEcho = z.object({
  // Docs summaries place admin_id under sender; no sample exists, so the top level is accepted too.
  sender: z.object({ id: Id, admin_id: AdminId }).passthrough(),
  recipient: z.object({ id: Id }),
  timestamp: Timestamp,
  admin_id: AdminId,
  message: z.object({ msg_id: z.string().min(1).optional() }).passthrough().optional(),
});

const Receipt = z.object({
  sender: z.object({ id: Id }).optional(),
  timestamp: Timestamp.optional(),
});

/** User events whose message is an attachment; the value is what ParsedEvent.attachment says. */
const ATTACHMENT_EVENTS: ReadonlyMap<string, string> = new Map([
  ['user_send_image', 'image'],
  ['user_send_gif', 'gif'],
  ['user_send_sticker', 'sticker'],
  ['user_send_link', 'link'],
  ['user_send_location', 'location'],
  ['user_send_file', 'file'],
  ['user_send_audio', 'audio'],
  ['user_send_video', 'video'],
  ['user_send_business_card', 'business_card'],
]);

const RECEIPT_EVENTS: ReadonlyMap<string, string> = new Map([
  ['user_seen_message', 'seen'],
  ['user_received_message', 'delivered'],
]);

function ignored(reason: string, extra: { accountId?: string; userId?: string; timestamp?: number } = {}): ParsedEvent {
  return { type: 'ignored', platform: 'zalo', reason, ...extra };
}

function hasAdmin(v: string | number | undefined): boolean {
  return v !== undefined && String(v).trim() !== '' && String(v).trim() !== '0';
}

/** Turns one Zalo webhook body into the one event it carries (always exactly one element). */
export function parseZaloWebhook(body: unknown): ParsedEvent[] {
  return [parseOne(body)];
}

function parseOne(body: unknown): ParsedEvent {
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0) {
    return ignored('probe');
  }
  const env = Envelope.safeParse(body);
  if (!env.success) return ignored('invalid_body');
  const event = env.data.event_name;

  if (event === 'user_send_text' || ATTACHMENT_EVENTS.has(event)) {
    const m = UserMessage.safeParse(body);
    if (!m.success) return ignored('invalid_body');
    const { sender, recipient, timestamp, message } = m.data;
    const userId = sender.id;
    const accountId = recipient.id;
    const messageId = message.msg_id ?? `${event}:${userId}:${timestamp}`;
    const base = {
      type: 'inbound' as const,
      platform: 'zalo' as const,
      accountId,
      userId,
      dedupeKey: `zl:${messageId}`,
      messageId,
      timestamp,
    };
    const text = message.text;
    if (event === 'user_send_text') {
      // A tap on an oa.query.* button arrives as the text of its payload (PLATFORMS.md §6).
      if (text !== undefined && looksLikePayload(text)) return { ...base, kind: 'postback', payload: text.trim() };
      return { ...base, kind: 'text', text: text ?? '' };
    }
    // The text of an attachment message (a link's message, a place name) is kept: the engine
    // decides whether it is a question; `attachment` tells it something else was sent.
    const attachment = ATTACHMENT_EVENTS.get(event) ?? 'unknown';
    return { ...base, kind: 'text', attachment, ...(text !== undefined && text.trim() !== '' ? { text } : {}) };
  }

  if (event === 'follow' || event === 'unfollow') {
    const f = FollowEvent.safeParse(body);
    if (!f.success) return ignored('invalid_body');
    const { oa_id, follower, timestamp } = f.data;
    const key = `${event}:${follower.id}:${timestamp}`;
    return {
      type: 'inbound',
      platform: 'zalo',
      kind: event,
      accountId: oa_id,
      userId: follower.id,
      dedupeKey: `zl:${key}`,
      messageId: key,
      timestamp,
    };
  }

  if (event.startsWith('oa_send_')) {
    const e = OaEcho.safeParse(body);
    if (!e.success) return ignored('invalid_body');
    const { sender, recipient, timestamp, message } = e.data;
    // Echoes fire for our own API sends too; only admin_id proves an officer typed it in the
    // OA chat tool. Without it the echo is treated as ours, so the bot never pauses itself.
    if (!hasAdmin(sender.admin_id) && !hasAdmin(e.data.admin_id)) {
      return ignored('own_echo', { accountId: sender.id, userId: recipient.id, timestamp });
    }
    const key = message?.msg_id ?? `${event}:${recipient.id}:${timestamp}`;
    return {
      type: 'staff_reply',
      platform: 'zalo',
      accountId: sender.id,
      userId: recipient.id,
      dedupeKey: `zl:${key}`,
      timestamp,
    };
  }

  const receipt = RECEIPT_EVENTS.get(event);
  if (receipt !== undefined) {
    // For receipts the sender is the OA; the recipient may be a phone number (ZNS), so it is
    // deliberately not carried along.
    const r = Receipt.safeParse(body);
    const extra: { accountId?: string; timestamp?: number } = {};
    if (r.success && r.data.sender) extra.accountId = r.data.sender.id;
    if (r.success && r.data.timestamp !== undefined) extra.timestamp = r.data.timestamp;
    return ignored(receipt, extra);
  }

  if (event === 'anonymous_send_text') {
    // Visitors who chat without a Zalo account cannot be answered through message/cs.
    return ignored('anonymous_user');
  }
  return ignored('unknown_event');
}
