// What a platform adapter's webhook parser produces and what its send client returns: the
// contract between the Messenger / Zalo adapters and the intake and outbound queues.
// Adapters never know units: intake routes a parsed event to its unit by `accountId`
// (Page id / OA id) and only then builds the engine's InboundEvent.
import { z } from 'zod';
import { InboundEventKind } from './channel.js';

export const PlatformName = z.enum(['messenger', 'zalo']);
export type PlatformName = z.infer<typeof PlatformName>;

/**
 * A platform id or event key as we store and key it: bounded, no control character (PostgreSQL
 * text refuses NUL, and no real Page, OA, PSID or message id has one).
 */
const PlatformKey = z.string().min(1).max(512).regex(/^[^\p{Cc}]+$/u);
/** Epoch milliseconds a Date can hold (a larger "timestamp" is not a time). */
const EpochMs = z.number().int().nonnegative().max(8.64e15);

/** One event from a webhook body, verified and parsed, not yet routed to a unit. */
export const ParsedEvent = z.discriminatedUnion('type', [
  /** Something for the conversation engine. */
  z.object({
    type: z.literal('inbound'),
    platform: PlatformName,
    kind: InboundEventKind,
    /** Page id / OA id (string, always). */
    accountId: PlatformKey,
    /** PSID / Zalo user id (string, always). */
    userId: PlatformKey,
    /** Unique per platform event: the atomic dedupe claim is made on it. */
    dedupeKey: PlatformKey,
    messageId: PlatformKey,
    text: z.string().optional(),
    payload: z.string().optional(),
    ref: z.string().optional(),
    /** The citizen sent an attachment (image, sticker, location, file…): answered politely. */
    attachment: z.string().optional(),
    timestamp: EpochMs,
  }),
  /** A message a human officer sent from the Page inbox / OA chat tool: pauses the bot. */
  z.object({
    type: z.literal('staff_reply'),
    platform: PlatformName,
    accountId: PlatformKey,
    userId: PlatformKey,
    dedupeKey: PlatformKey,
    timestamp: EpochMs,
  }),
  /** Known and deliberately not acted on (our own echoes, delivery/read receipts, seen…). */
  z.object({
    type: z.literal('ignored'),
    platform: PlatformName,
    reason: z.string().min(1),
    accountId: z.string().optional(),
    userId: z.string().optional(),
    timestamp: z.number().int().nonnegative().optional(),
  }),
]);
export type ParsedEvent = z.infer<typeof ParsedEvent>;

/**
 * The outcome of one send call, classified as PLATFORMS.md prescribes:
 * sent; retry (transient: rate limit, 5xx, timeout) with a delay hint; drop (this recipient
 * cannot be reached now: blocked, unfollowed, outside the window — record why, maybe mark the
 * contact); pause (the account cannot send: bad token, permission — alert an officer);
 * refresh (Zalo access token expired: refresh once and retry).
 */
export type SendOutcome =
  | { kind: 'sent'; messageId: string | null }
  | { kind: 'retry'; code: string; retryAfterMs?: number }
  | { kind: 'drop'; code: string; reason: DropReason; markUnreachable: boolean }
  | { kind: 'pause'; code: string; reason: PauseReason }
  | { kind: 'refresh'; code: string };

export type DropReason =
  | 'outside_window'
  | 'user_blocked'
  | 'user_unfollowed'
  | 'user_not_found'
  | 'quota_exceeded'
  | 'invalid_message'
  | 'unknown';

export type PauseReason = 'token_invalid' | 'permission_denied' | 'account_restricted' | 'app_misconfigured';
