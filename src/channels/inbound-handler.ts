// What the inbound worker does with one routed platform event: record the interaction (it
// drives the messaging windows), mark a citizen who left the OA / Page unreachable, pause the
// bot when an officer replied by hand, let the engine answer, and queue the rendered replies
// for sending. Pure orchestration over ports.
import type { InboundEvent, Reply } from './channel.js';
import type { ParsedEvent, PlatformName } from './platform-event.js';
import { linkSafePayload, looksLikePayload } from '../conversation/payload.js';
import type { ConversationStateStore } from '../conversation/ports.js';

export interface RoutedEvent {
  accountId: number;
  unitId: string;
  event: ParsedEvent;
}

export interface InboundHandlerDeps {
  engine: { handle(event: InboundEvent): Promise<Reply[]> };
  state: ConversationStateStore;
  touchContact(accountId: number, userId: string, at: Date, following?: boolean): Promise<void>;
  /**
   * Marks the contact unreachable (an `unfollow`: reason 'unfollow'), so that broadcasts skip
   * them; their next message or follow makes them reachable again (touchContact does).
   */
  markUnreachable?(accountId: number, userId: string, reason: string): Promise<void>;
  /**
   * Announcements held for this citizen (their window was closed when it was sent), appended to
   * the answer now that they wrote again (issue #5); each is marked sent once.
   */
  deliverHeld?(accountId: number, platform: PlatformName, userId: string, at: Date): Promise<Reply[]>;
  /** Renders and queues one turn's replies; `turnId` makes the send idempotent. */
  queueReplies(input: { platform: PlatformName; accountId: number; userId: string; replies: Reply[]; turnId: string }): Promise<void>;
  handoffTimeoutSeconds: number;
  now?: () => Date;
}

export function createInboundHandler(deps: InboundHandlerDeps): (routed: RoutedEvent) => Promise<void> {
  const now = deps.now ?? (() => new Date());
  return async ({ accountId, unitId, event }) => {
    if (event.type === 'ignored') return;
    // The platform's time, but never ahead of ours: a future timestamp would hold the contact's
    // messaging window open (last_interaction_at only moves forward).
    const at = new Date(Math.min(event.timestamp || now().getTime(), now().getTime()));
    const key = { unitId, channel: event.platform, userId: event.userId };

    if (event.type === 'staff_reply') {
      // An officer answered from the Page inbox / OA chat: the bot stays quiet for this citizen.
      await deps.state.set(key, { mode: 'handoff', until: now().getTime() + deps.handoffTimeoutSeconds * 1000 }, deps.handoffTimeoutSeconds);
      return;
    }

    await deps.touchContact(accountId, event.userId, at, event.kind === 'follow' ? true : event.kind === 'unfollow' ? false : undefined);
    if (event.kind === 'unfollow') await deps.markUnreachable?.(accountId, event.userId, 'unfollow');

    // A referral whose ref is one of our payloads (an m.me link or QR code to a procedure)
    // opens that procedure directly; any other ref greets. A link never subscribes or
    // unsubscribes by itself (that is the citizen's tap): it opens the list to choose from.
    let kind = event.kind;
    let payload = event.payload;
    if ((kind === 'referral' || kind === 'postback') && !payload && event.ref && looksLikePayload(event.ref)) {
      kind = 'postback';
      payload = linkSafePayload(event.ref);
    } else if (kind === 'postback' && event.ref && looksLikePayload(event.ref)) {
      payload = linkSafePayload(event.ref); // "Get Started" reached through a link to a procedure
    }
    const inbound: InboundEvent = {
      kind,
      unitId,
      channel: event.platform,
      accountId: event.accountId,
      userId: event.userId,
      messageId: event.messageId,
      ...(event.text !== undefined ? { text: event.text } : {}),
      ...(payload !== undefined ? { payload } : {}),
      ...(event.ref !== undefined ? { ref: event.ref } : {}),
      ...(event.attachment !== undefined ? { attachment: event.attachment } : {}),
      timestamp: event.timestamp,
    };
    // An attachment alone (photo, sticker, location) gets a polite "please type your question".
    const replies = await deps.engine.handle(inbound);
    // No answer (an officer has the conversation): nothing else is pushed either.
    if (replies.length === 0) return;
    const held = deps.deliverHeld ? await deps.deliverHeld(accountId, event.platform, event.userId, at) : [];
    await deps.queueReplies({ platform: event.platform, accountId, userId: event.userId, replies: [...replies, ...held], turnId: event.dedupeKey });
  };
}
