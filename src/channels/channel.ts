// Platform-neutral message types shared by every channel adapter and the conversation engine.
// The engine writes one `Reply` and each adapter degrades it to what its platform can show
// (Messenger: at most 3 buttons, Zalo: 5, text length limits); the web widget renders all.
// Zod schemas are given too, because events and replies cross job-queue boundaries as JSON.
import { z } from 'zod';

export const ChannelName = z.enum(['web', 'messenger', 'zalo']);
export type ChannelName = z.infer<typeof ChannelName>;

/**
 * What happened on a platform, already verified and parsed by the adapter:
 * - text: the citizen typed something (Zalo button taps also arrive as text with our payload);
 * - postback: a button or quick-reply tap carrying our payload;
 * - referral: the citizen came through a link or QR code (`ref`);
 * - follow / unfollow: the citizen followed or left the page / OA.
 */
export const InboundEventKind = z.enum(['text', 'postback', 'referral', 'follow', 'unfollow']);
export type InboundEventKind = z.infer<typeof InboundEventKind>;

export const InboundEvent = z.object({
  kind: InboundEventKind,
  /** The commune / ward the account belongs to. */
  unitId: z.string().min(1),
  channel: ChannelName,
  /** The Page id, OA id or widget id the event arrived on (string, always). */
  accountId: z.string().min(1),
  /** Platform user id (PSID, Zalo user id, widget session id): a string, always. */
  userId: z.string().min(1),
  /** Platform message id, used for deduplication. */
  messageId: z.string().min(1),
  text: z.string().optional(),
  /** Our button payload ("mc:…"), on postbacks. */
  payload: z.string().optional(),
  /** The citizen sent a photo, sticker, location or file (its type), with no text to read. */
  attachment: z.string().optional(),
  /** Referral parameter (m.me ?ref=, QR code), on referrals. */
  ref: z.string().optional(),
  /** Milliseconds since the epoch, as the platform stamped the event. */
  timestamp: z.number().int().nonnegative(),
});
export type InboundEvent = z.infer<typeof InboundEvent>;

/** A button that sends our payload back to the engine when tapped. */
export const ReplyButton = z.object({
  title: z.string().min(1),
  payload: z.string().min(1),
});
export type ReplyButton = z.infer<typeof ReplyButton>;

/** A button that opens a web address. */
export const LinkButton = z.object({
  title: z.string().min(1),
  url: z.string().url(),
});
export type LinkButton = z.infer<typeof LinkButton>;

/** One message the bot sends. Buttons hang under the message; quick replies float above the input. */
export const Reply = z.object({
  text: z.string(),
  buttons: z.array(ReplyButton).default([]),
  quickReplies: z.array(ReplyButton).default([]),
  links: z.array(LinkButton).default([]),
});
export type Reply = z.infer<typeof Reply>;
