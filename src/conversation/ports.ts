// The conversation engine's ports: what it needs from the outside world, as interfaces.
// Production implements them with Redis (state) and PostgreSQL (query log, hand-offs, units);
// memory-ports.ts implements them in memory for tests and the CLI. The engine never sees a
// driver. Texts handed to QueryLog and HandoffQueue are already digit-masked by the engine.
import { z } from 'zod';
import type { ChannelName } from '../channels/channel.js';

/** Whose conversation: one citizen on one channel of one unit. */
export interface ConversationKey {
  unitId: string;
  channel: ChannelName;
  userId: string;
}

/**
 * The per-citizen state machine (DESIGN §7): idle → answered (the procedure being discussed) /
 * choosing (candidates offered, so "1"/"2"/"3" can pick) → handoff (bot quiet until `until`,
 * or until an officer closes the hand-off, which clears the state).
 * `question` is the citizen's last question, digit-masked, kept so a later "gặp cán bộ" button
 * can pass it on to the officer.
 */
/** Mirrors `Aspect` of src/search/types.ts, so stored states can be parsed. */
export const StoredAspect = z.enum(['documents', 'fee', 'time', 'where', 'online', 'steps', 'legal', 'form', 'result']);

/**
 * The payloads of the last reply's buttons, in order, so that a typed "2" works where a
 * platform shows buttons as a numbered list (Zalo beyond 5 buttons).
 */
const Buttons = z.array(z.string().min(1).max(200)).max(20).optional();

export const ConversationState = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('idle'), question: z.string().optional(), buttons: Buttons }),
  z.object({ mode: z.literal('answered'), code: z.string().min(1), question: z.string().optional(), buttons: Buttons }),
  z.object({
    mode: z.literal('choosing'),
    codes: z.array(z.string().min(1)).min(1).max(3),
    /** What the question asked about ("lệ phí"), applied to the candidate the citizen picks. */
    aspects: z.array(StoredAspect).optional(),
    question: z.string().optional(), buttons: Buttons,
  }),
  z.object({
    mode: z.literal('flow'),
    /** The ConversationFlow's name (survey, dossier look-up); it validates its own data. */
    flow: z.string().min(1).max(40),
    data: z.record(z.string(), z.unknown()),
    question: z.string().optional(), buttons: Buttons,
  }),
  z.object({
    mode: z.literal('handoff'),
    /** Epoch milliseconds when the bot may speak again even if nobody closed the hand-off. */
    until: z.number().int().nonnegative(),
    question: z.string().optional(), buttons: Buttons,
  }),
]);
export type ConversationState = z.infer<typeof ConversationState>;

export interface ConversationStateStore {
  /** The stored state, or null when none (never set, cleared or expired). */
  get(key: ConversationKey): Promise<ConversationState | null>;
  /** Store the state; it expires after `ttlSeconds`. */
  set(key: ConversationKey, state: ConversationState, ttlSeconds: number): Promise<void>;
  /** Forget the state (also how an officer closing a hand-off gives the citizen back to the bot). */
  clear(key: ConversationKey): Promise<void>;
}

export type QueryOutcome = 'answered' | 'choices' | 'none' | 'handoff';

export interface QueryLogEntry {
  unitId: string;
  channel: ChannelName;
  /** The citizen's text with every run of digits replaced by '#'. */
  text: string;
  outcome: QueryOutcome;
  /** Search confidence 0..1; null when no search was run (hand-off). */
  confidence: number | null;
  /** Best procedure code, when there was one. */
  topCode: string | null;
  at: Date;
}

export interface QueryLog {
  record(entry: QueryLogEntry): Promise<void>;
}

export interface HandoffRequest {
  unitId: string;
  channel: ChannelName;
  userId: string;
  /** What the citizen asked (digit-masked): the message, or the last question before the tap. */
  text: string;
  at: Date;
  /** The conversation so far (oldest first, digits masked), for the officer who takes over. */
  transcript?: TranscriptLine[];
}

/** One line of a conversation as an officer reads it: who said it, what, when (epoch ms). */
export const TranscriptLine = z.object({
  from: z.enum(['citizen', 'bot']),
  text: z.string().max(2000),
  at: z.number(),
});
export type TranscriptLine = z.infer<typeof TranscriptLine>;

/** How many lines of a conversation are kept for the officer (the newest). */
export const TRANSCRIPT_LINES = 16;

/** The last lines of each conversation, short-lived like the state (never in PostgreSQL). */
export interface TranscriptStore {
  append(key: ConversationKey, lines: readonly TranscriptLine[], ttlSeconds: number): Promise<void>;
  read(key: ConversationKey): Promise<TranscriptLine[]>;
}

export interface HandoffQueue {
  request(request: HandoffRequest): Promise<void>;
}

/** A unit's contact details as shown to citizens; `Unit` from src/units/unit.ts satisfies it. */
export interface UnitContact {
  id: string;
  name: string;
  address: string | null;
  phone: string | null;
  hours: string | null;
  portalUrl: string | null;
  province: string | null;
  /** Restrict answers to these procedure codes; null or absent = the whole catalogue. */
  procedureCodes?: readonly string[] | null;
  /** The unit's own phrasings (Searcher.contentKey → code), attached by its officers. */
  aliases?: ReadonlyMap<string, string>;
}

export interface UnitDirectory {
  /** The unit, or null when unknown (the engine then answers without contact details). */
  get(unitId: string): Promise<UnitContact | null>;
}

/** The kinds of subscriber groups (DESIGN §4): thôn/xóm/tổ dân phố, chủ đề, đối tượng. */
export type GroupKindName = 'village' | 'topic' | 'audience';

/** A subscriber group as the chat shows it. */
export interface GroupChoice {
  id: number;
  kind: GroupKindName;
  name: string;
  description: string | null;
}

/** The citizen whose consent is asked: the conversation plus the Page / OA / widget id of the event. */
export interface SubscriberKey extends ConversationKey {
  accountId: string;
}

/** How a consent was given or withdrawn: a tapped button (or its typed number), or typed words. */
export type SubscriptionVia = 'chat:button' | 'chat:text';

export interface SubscriptionOverview {
  /** The unit's active groups, in display order. */
  groups: GroupChoice[];
  /** The groups this citizen is subscribed to now (an inactive group can still be left). */
  following: GroupChoice[];
}

/**
 * Subscriber groups and the citizen's consent (issue #5). Every method answers null when this
 * channel cannot take subscriptions (a website widget whose unit has no web account): the
 * engine then says so politely. Consent is recorded with `via` and `at` by the implementation.
 */
export interface SubscriptionPort {
  overview(key: SubscriberKey): Promise<SubscriptionOverview | null>;
  /** Subscribes to these groups (active groups of the citizen's unit only); the ids that changed. */
  subscribe(key: SubscriberKey, groupIds: readonly number[], via: SubscriptionVia, at: Date): Promise<number[] | null>;
  /** Withdraws consent to one group or all; the ids that changed. */
  unsubscribe(key: SubscriberKey, groupId: number | 'all', via: SubscriptionVia, at: Date): Promise<number[] | null>;
}
