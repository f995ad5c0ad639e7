// Conversation flows: multi-turn exchanges that live beside the engine's own state machine — the
// satisfaction survey (issue #6) and the dossier look-up (issue #7). A flow owns one or more
// payload actions ("mc:sv:…", "mc:hs:…") and, while it is active, the conversation's state
// (mode 'flow' with its own data, which the flow validates itself). The engine gives it every
// tap of its payloads, the text typed while it is active (before anything else reads that
// text, so "1234" or "bỏ qua" reach it), and a chance to claim text when no flow is active
// ("tra cứu hồ sơ", a dossier code pasted in a message). It may add replies after a
// procedure answer (the survey offer). A flow never sees HTTP, Redis or SQL directly: it is
// built with its own ports.
import type { InboundEvent, Reply } from '../channels/channel.js';
import type { CatalogueProcedure } from '../catalogue/schema.js';
import type { ConversationKey, UnitContact } from './ports.js';
import type { ReplyContext } from './replies.js';

/** A link or QR code (m.me ref, the widget's ?ref=) only opens; a tap in the chat acts. */
export type FlowVia = 'tap' | 'link';

export interface FlowTurn {
  readonly event: InboundEvent;
  readonly key: ConversationKey;
  /** The Page / OA / widget id the event arrived on (subscriptions and links key on it). */
  readonly accountId: string;
  readonly unit: UnitContact | null;
  readonly ctx: ReplyContext;
  /** This flow's stored data while its state is active, else null. */
  readonly data: Record<string, unknown> | null;
  /** The citizen's last question (digit-masked), if the state remembers one. */
  readonly question: string | undefined;
  readonly now: Date;
  /** Enters (or stays in) this flow with `data`, kept `ttlSeconds` (default: the conversation's). */
  enter(data: Record<string, unknown>, ttlSeconds?: number): Promise<void>;
  /** Leaves the flow: the conversation goes back to idle. */
  leave(): Promise<void>;
  /** The greeting and menu, for a flow that hands the citizen back. */
  menu(): Reply[];
}

export interface ConversationFlow {
  /** Unique; stored as the state's `flow`. */
  readonly name: string;
  /** The payload actions it owns ("mc:<action>:…"); none may be one of the engine's. */
  readonly actions: readonly string[];
  /** A payload of one of its actions: tapped, typed as a numbered choice, or from a link. */
  onPayload(turn: FlowTurn, payload: string, via: FlowVia): Promise<Reply[]>;
  /**
   * Text the citizen typed (NFC, control characters removed, cut to the engine's maximum).
   * Called first for the active flow (turn.data set), then — when no flow took it and it is
   * not a numbered choice — for every flow with turn.data null. Null lets the text go on to
   * the engine (an active flow that lets go stays stored unless it calls leave()).
   */
  onText?(turn: FlowTurn, text: string): Promise<Reply[] | null>;
  /** Replies added after a procedure's answer (not after its details). */
  afterAnswer?(turn: FlowTurn, procedure: CatalogueProcedure): Promise<Reply[]>;
}
