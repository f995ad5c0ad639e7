// One recipient's announcement, sent at most once and, barring a platform that cannot be asked,
// exactly once (docs/decisions/006-broadcast-exactly-once.md). Runs inside the outbound worker
// for each 'broadcast' job; every step reads the delivery row first, so a duplicated, retried or
// re-driven job is harmless:
//   read (delivery, announcement, contact now, Zalo caps) → decide (eligibility.ts)
//   → held / skipped recorded at once, deferred to 06:00 (Zalo at night)
//   → account usable? cool-down after throttling? token of the account's bucket
//   → claim (pending → sending, with a lease) → send the bodies → record one outcome.
// A delivery found 'sending' past its lease belongs to a worker that died mid-send: before any
// resend the platform's conversation history is asked whether our message arrived after the
// attempt began; when it cannot be asked the delivery is recorded failed:in_doubt, never resent.
// Ports only: no SQL, Redis or HTTP here.
import type { SendOutcome } from '../channels/platform-event.js';
import type { Claim, DeliveryOutcome, SendContext } from '../store/broadcast-repository.js';
import { decide, nextZaloMorning, vietnamDayStart, vietnamMonthStart, type EligibilityRules } from './eligibility.js';
import { bodySignature, renderAnnouncement, type AnnouncementContent } from './render.js';

export interface BroadcastSendJob {
  announcementId: number;
  contactId: number;
  accountId: number;
  platform: 'messenger' | 'zalo';
  /** PSID / Zalo user id (as at fan-out; the contact row is read again before sending). */
  userId: string;
  /** The send slot this job reserved in the account's schedule before it was put off until then. */
  slotAt?: number | undefined;
}

/** The repository methods the sender uses (BroadcastRepository satisfies it). */
export interface SenderStore {
  sendContext(announcementId: number, contactId: number, dayStart: Date, monthStart: Date): Promise<SendContext | undefined>;
  claim(announcementId: number, contactId: number, now: Date, leaseMs: number): Promise<Claim>;
  release(announcementId: number, contactId: number, now: Date): Promise<void>;
  finish(announcementId: number, contactId: number, outcome: DeliveryOutcome, now: Date): Promise<boolean>;
  defer(announcementId: number, contactId: number, until: Date, now: Date): Promise<boolean>;
  recordProgress(announcementId: number, contactId: number, messageIds: readonly string[], now: Date): Promise<boolean>;
  cancelClaimed(announcementId: number, contactId: number, now: Date): Promise<boolean>;
}

export interface HistoryMessage {
  at: Date;
  /** Sent by our Page / OA. */
  fromUs: boolean;
  text: string;
  id: string;
}

export type HistoryLookup = { kind: 'ok'; messages: HistoryMessage[] } | { kind: 'error'; code: string };

/** The platforms as the sender sees them (platforms.ts implements it over the send clients). */
export interface BroadcastGateway {
  send(accountId: number, platform: 'messenger' | 'zalo', body: unknown): Promise<SendOutcome>;
  /** The latest messages between the account and the user (Conversations API / Zalo conversation). */
  recentMessages(accountId: number, platform: 'messenger' | 'zalo', userId: string): Promise<HistoryLookup>;
  /** Zalo: refresh the OA's access token once after -216 / -220. */
  refreshToken(accountId: number, platform: 'messenger' | 'zalo'): Promise<void>;
}

/** Per-account controls kept outside the database (Redis in production). */
export interface SenderControls {
  /** null when the account may send; else its status ('paused', 'reconnect_required', …). */
  accountBlocked(accountId: number): Promise<string | null>;
  /**
   * One round trip before each send, in this order: the account's throttling gate (a cool-down
   * after the platform throttled it; once cooled down, one send at a time goes first as a probe),
   * the account's broadcast schedule (a slot reserved at the account's rate, kept across a delay
   * as `slotAt`), and a token of the bucket shared with replies (leaving them a reserve).
   */
  pace(accountId: number, platform: 'messenger' | 'zalo', nowMs: number, slotAt: number | undefined): Promise<Pace>;
  /** The probe went through: the account is no longer throttled. */
  recovered(accountId: number): Promise<void>;
  /** The platform throttled the account: starts (or lengthens) its cool-down; returns its ms. */
  throttled(accountId: number, hintMs: number | undefined): Promise<number>;
  /** Zalo: epoch ms until which the OA's promotion quota is exhausted (-211), 0 if not. */
  promotionsBlockedUntil(accountId: number): Promise<number>;
  blockPromotions(accountId: number, untilMs: number): Promise<void>;
  markUnreachable(accountId: number, userId: string, reason: string): Promise<void>;
  pauseAccount(accountId: number, platform: 'messenger' | 'zalo', code: string, reason: string): Promise<void>;
  /** An officer must know (no personal data in fields). */
  alert(code: string, fields: Record<string, string | number>): void;
}

export type Pace =
  /** Cooling down after throttling (or another send probes): come back later, without a slot. */
  | { kind: 'cooldown'; waitMs: number }
  /** The reserved slot is in the future. */
  | { kind: 'slot'; slotAt: number }
  /** The slot is due but the shared bucket is empty (replies used it): wait this long. */
  | { kind: 'token'; waitMs: number }
  /** Send now; `probe` when this send tests whether the throttling is over. */
  | { kind: 'go'; probe: boolean };

export interface SenderOptions {
  store: SenderStore;
  gateway: BroadcastGateway;
  controls: SenderControls;
  /** The announcement's content (cached by the caller; it never changes once sent). */
  content(announcementId: number): Promise<AnnouncementContent | undefined>;
  rules: EligibilityRules;
  /** How long a claim protects a send in progress (a send must end well within it). */
  leaseMs: number;
  /** Wait for a send slot or token inside the job up to this long; beyond, the job is delayed (it keeps its slot). */
  maxInlineWaitMs?: number;
  /** After this many claims, a send failing with a non-throttling error is recorded failed:<code>. */
  maxAttempts?: number;
  /** How far before the attempt's start a message found in the history still counts (clock skew). */
  reconcileSkewMs?: number;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** Called after an outcome is recorded (completion check, metrics). */
  onOutcome?(job: BroadcastSendJob, outcome: SenderResult): void;
}

export type SenderResult =
  | 'sent'
  | 'held'
  | 'skipped'
  | 'failed'
  | 'failed_in_doubt'
  | 'cancelled'
  /** Given back to pending: the account is paused or blocked; the tick re-drives it later. */
  | 'released'
  /** Nothing to do: already settled, or another live worker holds it. */
  | 'settled';

export type SendStep =
  | { kind: 'done'; result: SenderResult; reason?: string }
  /** Come back in `ms`; `slotAt` is the send slot reserved meanwhile (kept in the job), if any. */
  | { kind: 'delay'; ms: number; why: string; slotAt?: number };

const THROTTLE_CODES = new Set(['fb:4', 'fb:17', 'fb:32', 'fb:613', 'fb:80006', '-32', 'fb:http_429', 'http_429']);
const isThrottle = (code: string): boolean => THROTTLE_CODES.has(code) || code.startsWith('fb:4/') || code.startsWith('fb:613/') || code.endsWith('/2018022');
/** Failures after which the message may or may not have reached the platform. */
const isUncertain = (code: string): boolean =>
  /^(fb:)?(timeout|network)$/.test(code) || /^(fb:)?http_5\d\d/.test(code) || /^fb:[12](\/|$)/.test(code) || /_unparsable$/.test(code);

export function createBroadcastSender(options: SenderOptions): { step(job: BroadcastSendJob): Promise<SendStep> } {
  const { store, gateway, controls, rules, leaseMs } = options;
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  // A job usually arrives a little before its slot (the fan-out makes it available just ahead,
  // and workers pick due jobs in bunches): waiting here, in its worker slot, costs less than
  // putting it back and running it again (another job fetch and delivery read); bench:broadcast
  // measured 2.1 runs per send with 50 ms, 1.04 with 250 ms, at the same rate.
  const maxInlineWaitMs = options.maxInlineWaitMs ?? 250;
  const maxAttempts = options.maxAttempts ?? 12;
  const skewMs = options.reconcileSkewMs ?? 5 * 60_000;

  const done = (job: BroadcastSendJob, result: SenderResult, reason?: string): SendStep => {
    options.onOutcome?.(job, result);
    return reason === undefined ? { kind: 'done', result } : { kind: 'done', result, reason };
  };

  const finish = async (job: BroadcastSendJob, outcome: DeliveryOutcome): Promise<SendStep> => {
    const recorded = await store.finish(job.announcementId, job.contactId, outcome, now());
    if (!recorded) return done(job, 'settled');
    return done(job, outcome.status, outcome.status === 'sent' ? undefined : outcome.reason);
  };

  /**
   * Waits (briefly) for the account's pace to let this send go: 'go' with the probe flag, or the
   * delay to ask for (keeping the reserved slot). A short wait is spent inside the job.
   */
  const paced = async (job: BroadcastSendJob, slot: number | undefined): Promise<{ go: true; probe: boolean } | { go: false; step: SendStep }> => {
    let slotAt = slot;
    for (let round = 0; round < 8; round++) {
      const p = await controls.pace(job.accountId, job.platform, now().getTime(), slotAt);
      if (p.kind === 'go') return { go: true, probe: p.probe };
      if (p.kind === 'cooldown') return { go: false, step: { kind: 'delay', ms: p.waitMs + Math.floor(Math.random() * 250), why: 'cooldown' } };
      const wait = p.kind === 'slot' ? p.slotAt - now().getTime() : p.waitMs;
      if (p.kind === 'slot') slotAt = p.slotAt;
      const keep = slotAt === undefined ? {} : { slotAt };
      if (wait > maxInlineWaitMs) return { go: false, step: { kind: 'delay', ms: wait, why: 'rate', ...keep } };
      if (wait > 0) await sleep(wait);
    }
    return { go: false, step: { kind: 'delay', ms: maxInlineWaitMs, why: 'rate', ...(slotAt === undefined ? {} : { slotAt }) } };
  };

  return {
    async step(job) {
      const at = now();
      const ctx = await store.sendContext(job.announcementId, job.contactId, vietnamDayStart(at), vietnamMonthStart(at));
      if (!ctx) return done(job, 'settled');
      const d = ctx.delivery;
      let inDoubt = false;
      if (d.status === 'sending') {
        const leaseEnd = (d.attemptAt?.getTime() ?? 0) + leaseMs;
        // Another worker holds it, or held it and died: look again when the lease has run out.
        if (leaseEnd > at.getTime()) return { kind: 'delay', ms: leaseEnd - at.getTime() + 250, why: 'leased' };
        inDoubt = true;
      } else if (d.status !== 'pending') {
        return done(job, 'settled');
      } else if (d.attemptAt && d.attemptAt.getTime() > at.getTime()) {
        return { kind: 'delay', ms: d.attemptAt.getTime() - at.getTime(), why: 'deferred' };
      }
      const cancelled = ctx.announcementStatus === 'cancelled';
      if (cancelled && !inDoubt) return done(job, 'settled');

      const decision = decide(
        {
          platform: job.platform,
          reachable: ctx.contact.reachable,
          following: ctx.contact.following,
          lastInteractionAt: ctx.contact.lastInteractionAt,
          sentToday: ctx.sentToday,
          sentThisMonth: ctx.sentThisMonth,
        },
        at,
        rules,
      );
      if (!inDoubt) {
        if (decision.kind === 'hold') return finish(job, { status: 'held', reason: decision.reason });
        if (decision.kind === 'skip') return finish(job, { status: 'skipped', reason: decision.reason });
        if (decision.kind === 'defer') {
          await store.defer(job.announcementId, job.contactId, decision.until, at);
          return { kind: 'delay', ms: decision.until.getTime() - at.getTime(), why: decision.reason };
        }
      }

      // From here on the platform is involved: the account must be usable.
      const blocked = await controls.accountBlocked(job.accountId);
      if (blocked) return done(job, 'released', blocked);
      if (job.platform === 'zalo' && !inDoubt && (await controls.promotionsBlockedUntil(job.accountId)) > at.getTime()) {
        return finish(job, { status: 'skipped', reason: 'zalo_oa_quota' });
      }
      // The account's pace: throttling gate, a slot of its schedule, a token shared with replies.
      const pace = await paced(job, job.slotAt);
      if (!pace.go) return pace.step;
      let probe = pace.probe;

      const claim = await store.claim(job.announcementId, job.contactId, now(), leaseMs);
      if (claim.kind === 'settled') return done(job, 'settled');
      const content = await options.content(job.announcementId);
      if (!content) {
        await store.release(job.announcementId, job.contactId, now());
        return done(job, 'settled');
      }
      const userId = ctx.contact.platformUserId;
      const bodies = renderAnnouncement(job.platform, content, userId);
      const ids = claim.delivery.messageId ? claim.delivery.messageId.split(',') : [];
      const firstAttemptBody = ids.length;

      let paceHeld = true;
      if (claim.kind === 'in_doubt') {
        // d.attemptAt is when the dead attempt began (the claim just moved it to now). Each body
        // not yet recorded is looked for in the conversation, in order, from that moment on.
        const since = (d.attemptAt ?? claim.delivery.updatedAt).getTime() - skewMs;
        const history = await gateway.recentMessages(job.accountId, job.platform, userId);
        paceHeld = false;
        if (history.kind === 'error') {
          controls.alert('BROADCAST_IN_DOUBT', { platform: job.platform, accountId: job.accountId, code: history.code });
          return finish(job, { status: 'failed', reason: 'in_doubt' });
        }
        const used = new Set(ids);
        for (;;) {
          const body = bodies[ids.length];
          if (body === undefined) break;
          const signature = bodySignature(body);
          const match = history.messages.find((m) => m.fromUs && m.at.getTime() >= since && m.text === signature && !used.has(m.id));
          if (!match) break;
          used.add(match.id);
          ids.push(match.id);
        }
        if (ids.length === bodies.length) return finish(job, { status: 'sent', messageId: ids.join(',') });
        if (ids.length > firstAttemptBody) await store.recordProgress(job.announcementId, job.contactId, ids, now());
        if (ids.length === 0) {
          // Nothing arrived: the decision taken now applies as to any pending delivery.
          if (cancelled) {
            await store.cancelClaimed(job.announcementId, job.contactId, now());
            return done(job, 'cancelled');
          }
          if (decision.kind === 'hold') return finish(job, { status: 'held', reason: decision.reason });
          if (decision.kind === 'skip') return finish(job, { status: 'skipped', reason: decision.reason });
          if (decision.kind === 'defer') {
            await store.defer(job.announcementId, job.contactId, decision.until, now());
            return { kind: 'delay', ms: decision.until.getTime() - now().getTime(), why: decision.reason };
          }
        } else if (cancelled) {
          return finish(job, { status: 'sent', messageId: ids.join(',') });
        }
      }

      // Send the bodies not yet sent, recording progress when there are several.
      let refreshed = false;
      while (ids.length < bodies.length) {
        if (!paceHeld) {
          // Each further message of the delivery keeps the account's pace too.
          const next = await paced(job, now().getTime());
          if (!next.go) {
            await store.release(job.announcementId, job.contactId, now());
            return next.step.kind === 'delay' ? { ...next.step, slotAt: undefined } : next.step;
          }
          probe = probe || next.probe;
        }
        paceHeld = false;
        const outcome = await gateway.send(job.accountId, job.platform, bodies[ids.length]);
        if (probe && !(outcome.kind === 'retry' && isThrottle(outcome.code))) {
          // The platform answered other than "too many": the account's throttling is over.
          probe = false;
          await controls.recovered(job.accountId);
        }
        switch (outcome.kind) {
          case 'sent':
            ids.push(outcome.messageId ?? '');
            if (ids.length < bodies.length) await store.recordProgress(job.announcementId, job.contactId, ids, now());
            continue;
          case 'refresh':
            if (!refreshed) {
              refreshed = true;
              await gateway.refreshToken(job.accountId, job.platform);
              paceHeld = true;
              continue;
            }
            await controls.pauseAccount(job.accountId, job.platform, outcome.code, 'token_invalid');
            await store.release(job.announcementId, job.contactId, now());
            return done(job, 'released', outcome.code);
          case 'pause':
            await controls.pauseAccount(job.accountId, job.platform, outcome.code, outcome.reason);
            await store.release(job.announcementId, job.contactId, now());
            return done(job, 'released', outcome.code);
          case 'drop':
            return settleDrop(job, userId, outcome, ids, inDoubt ? d.attemptAt : null, ctx.sentToday);
          case 'retry':
            return settleRetry(job, outcome, claim.delivery.attempts);
        }
      }
      return finish(job, { status: 'sent', messageId: ids.join(',') });
    },
  };

  async function settleDrop(
    job: BroadcastSendJob,
    userId: string,
    outcome: Extract<SendOutcome, { kind: 'drop' }>,
    ids: string[],
    doubtfulAttemptAt: Date | null,
    sentToday: number,
  ): Promise<SendStep> {
    if (ids.length > 0) {
      // The first message(s) reached the citizen; a later part was refused: count it as sent.
      controls.alert('BROADCAST_PARTIAL', { platform: job.platform, accountId: job.accountId, code: outcome.code });
      return finish(job, { status: 'sent', messageId: ids.join(',') });
    }
    if (outcome.code === '-218') {
      // One promotion per follower per day: when a resend after a crash is refused so, on the
      // same Vietnam day and with no other promotion of ours sent today, the first one landed.
      const at = now();
      if (doubtfulAttemptAt && vietnamDayStart(doubtfulAttemptAt).getTime() === vietnamDayStart(at).getTime() && sentToday === 0) {
        return finish(job, { status: 'sent', messageId: null });
      }
      return finish(job, { status: 'skipped', reason: 'zalo_daily_limit' });
    }
    if (outcome.code === '-211') {
      // The OA's promotion quota is spent: no retry today; the rest of today's Zalo sends of this
      // OA are skipped without calling Zalo, and an officer is told.
      const tomorrow = vietnamDayStart(new Date(now().getTime() + 24 * 3_600_000)).getTime();
      await controls.blockPromotions(job.accountId, tomorrow);
      controls.alert('ZALO_OA_QUOTA_EXHAUSTED', { accountId: job.accountId, code: outcome.code });
      return finish(job, { status: 'skipped', reason: 'zalo_oa_quota' });
    }
    switch (outcome.reason) {
      case 'outside_window':
        // The window closed between the decision and the send (Messenger 10/2018278).
        return finish(job, { status: 'held', reason: 'outside_window' });
      case 'user_unfollowed':
        if (outcome.markUnreachable) await controls.markUnreachable(job.accountId, userId, outcome.reason);
        return finish(job, { status: 'skipped', reason: 'not_following' });
      case 'user_blocked':
      case 'user_not_found':
        if (outcome.markUnreachable) await controls.markUnreachable(job.accountId, userId, outcome.reason);
        return finish(job, { status: 'skipped', reason: 'unreachable' });
      case 'quota_exceeded':
        return finish(job, { status: 'skipped', reason: 'zalo_daily_limit' });
      default:
        return finish(job, { status: 'failed', reason: outcome.code });
    }
  }

  async function settleRetry(job: BroadcastSendJob, outcome: Extract<SendOutcome, { kind: 'retry' }>, attempts: number): Promise<SendStep> {
    const at = now();
    if (outcome.code === '-234') {
      // Zalo refused a promotion at night (our clock and Zalo's disagree): wait for 06:00.
      const until = nextZaloMorning(at);
      await store.defer(job.announcementId, job.contactId, until, at);
      return { kind: 'delay', ms: until.getTime() - at.getTime(), why: 'zalo_night' };
    }
    if (isThrottle(outcome.code)) {
      // Not sent: give it back and slow the whole account down.
      await store.release(job.announcementId, job.contactId, at);
      const ms = await controls.throttled(job.accountId, outcome.retryAfterMs);
      return { kind: 'delay', ms: ms + Math.floor(Math.random() * 250), why: 'throttled' };
    }
    if (attempts >= maxAttempts) return finish(job, { status: 'failed', reason: outcome.code });
    if (isUncertain(outcome.code)) {
      // It may have arrived: keep the claim; after the lease the next run asks the platform first.
      return { kind: 'delay', ms: leaseMs + 250 + Math.floor(Math.random() * 250), why: 'uncertain' };
    }
    await store.release(job.announcementId, job.contactId, at);
    const backoff = Math.min(60_000, 500 * 2 ** Math.max(0, attempts - 1));
    return { kind: 'delay', ms: outcome.retryAfterMs ?? backoff, why: 'retry' };
  }
}
