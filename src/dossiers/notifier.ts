// The dossier notifier (issue #7): tells a citizen linked to a dossier ("Nhận thông báo") that
// its result is ready, and offers the per-dossier evaluation once the result was handed over —
// each once per (dossier, contact), within each platform's rules (PLATFORMS.md §4, §8):
//   - Zalo: a transaction message, while the citizen's last interaction is less than a year old
//     (else skipped:window);
//   - Messenger: a message inside the 24-hour window (messaging_type UPDATE), else held and
//     appended to the bot's next answer (RESPONSE), once, while fresh;
//   - website: held for the next visit.
// tick() reads the status events from the persisted cursor (notice-store.ts: one row per notice,
// UNIQUE, so several notifiers, restarts and repeated status changes create nothing twice),
// queues one outbound job per notice and re-drives those whose job is gone. send() runs inside the
// outbound worker for such a job: read → decide → claim (with a lease) → send → record, and a
// send left in doubt by a crash is looked for in the platform's history before anything is sent
// again (docs/decisions/006 and 007). Ports only: no SQL, Redis or HTTP here.
import type { Reply } from '../channels/channel.js';
import type { SendOutcome } from '../channels/platform-event.js';
import type { HistoryLookup } from '../broadcast/sender.js';
import { surveyStartPayload } from '../surveys/chat-payload.js';
import { noticeReply, noticeSignature, renderMessengerNotice, renderZaloTransaction, type NoticeContent, type NoticeUnit } from './notice-render.js';
import { KIND_STATUS, type NoticeContext, type NoticeJobRef, type NoticeOutcome, type NoticeStore } from './notice-store.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Messenger's standard window (PLATFORMS.md §4). */
export const MESSENGER_WINDOW_MS = 24 * HOUR;
/** Zalo transaction messages: the citizen interacted within a year (PLATFORMS.md §8). */
export const ZALO_TRANSACTION_WINDOW_MS = 365 * DAY;

/** The outbound job body that names a notice instead of carrying a platform body. */
export interface NoticeJobBody {
  dossierNotice: number;
}

export function noticeJobBody(noticeId: number): NoticeJobBody {
  return { dossierNotice: noticeId };
}

/** The notice an outbound body names, if it is a notice job's body. */
export function noticeIdOf(body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const id = (body as { dossierNotice?: unknown }).dossierNotice;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** The platforms as the notifier sees them (notice-gateway.ts implements it). */
export interface NoticeGateway {
  /** One body to one user; failures come back classified (a Zalo token is refreshed once inside). */
  send(target: { accountId: number; platform: 'messenger' | 'zalo'; userId: string }, body: unknown): Promise<SendOutcome>;
  /** The latest messages between the account and the user (to settle a send left in doubt). */
  recentMessages(accountId: number, platform: 'messenger' | 'zalo', userId: string): Promise<HistoryLookup>;
}

/** Send jobs on the outbound queue (src/jobs/dossier-notify-queue.ts). */
export interface NoticeJobs {
  /** Queues dn-<notice>-<generation> for each; an existing job id is left alone. */
  enqueue(refs: readonly NoticeJobRef[]): Promise<void>;
  /** Is the job of this generation waiting, delayed or running? */
  isLive(ref: NoticeJobRef): Promise<boolean>;
}

/** dossier_links' marks (DossierRepository): true only the first time. */
export interface NoticeMarks {
  resultNotified(dossierId: number, contactId: number, at: Date): Promise<boolean>;
  evaluationOffered(dossierId: number, contactId: number, at: Date): Promise<boolean>;
}

export interface NotifierOptions {
  store: NoticeStore;
  gateway: NoticeGateway;
  jobs: NoticeJobs;
  marks: NoticeMarks;
  /** The unit's name, address and hours (where to collect the result). */
  unit(unitId: string): Promise<NoticeUnit | null>;
  /** The catalogue's name of a procedure, when the dossier carries none. */
  procedureName?(unitId: string, procedureCode: string): string | undefined;
  /** The survey the evaluation offer starts (DOSSIER_EVALUATION_SURVEY). */
  evaluationSurvey: string;
  /** Held notices are delivered within this many days, then dropped (skipped:expired). */
  heldDays: number;
  /** A claimed send older than this is in doubt: its worker died mid-send. */
  leaseMs: number;
  /** An unfinished notice untouched this long has its job checked (and re-queued if gone). */
  idleMs: number;
  /** Events read per transaction (and per round of a tick). */
  batch?: number;
  /** How long a hole in the event ids may hold the cursor while other transactions run. */
  gapGraceSeconds?: number;
  /** After this many claims, a send still failing is recorded failed:<code>. */
  maxAttempts?: number;
  /** How far before the attempt's start a message found in the history still counts (clock skew). */
  reconcileSkewMs?: number;
  now?: () => Date;
  /** No personal data in fields. */
  log?(level: 'info' | 'warn' | 'error', event: string, fields: Record<string, string | number | boolean>): void;
}

export interface TickResult {
  /** Another notifier held the cursor. */
  busy: boolean;
  events: number;
  queued: number;
  held: number;
  redriven: number;
  expired: number;
}

export interface DossierNotifier {
  /** Reads new status events, queues the notices' sends, re-drives lost jobs, expires held ones. */
  tick(): Promise<TickResult>;
  /** One send job's run (inside the outbound worker): never throws for platform errors. */
  send(noticeId: number): Promise<SendOutcome>;
  /**
   * The held notices of a contact who is back (Messenger: with the bot's answer; website: at the
   * next visit), as replies to append, each settled 'sent' exactly once. Zalo holds nothing.
   */
  deliverHeld(contactId: number, platform: 'messenger' | 'zalo' | 'web', at?: Date): Promise<Reply[]>;
}

export type NoticeDecision = { kind: 'send' } | { kind: 'hold'; reason: string } | { kind: 'skip'; reason: string };

/** What to do with a notice now. Pure. */
export function decideNotice(ctx: Pick<NoticeContext, 'notice' | 'linked' | 'alreadyDone' | 'dossierStatus' | 'reachable' | 'following' | 'lastInteractionAt'>, now: Date): NoticeDecision {
  if (!ctx.linked) return { kind: 'skip', reason: 'unlinked' };
  if (ctx.alreadyDone) return { kind: 'skip', reason: 'already_done' };
  // "Come and collect it" after it was collected, an offer after the dossier went back: no.
  if (ctx.dossierStatus !== KIND_STATUS[ctx.notice.kind]) return { kind: 'skip', reason: 'outdated' };
  if (!ctx.reachable) return { kind: 'skip', reason: 'unreachable' };
  const age = now.getTime() - ctx.lastInteractionAt.getTime();
  switch (ctx.notice.platform) {
    case 'web':
      return { kind: 'hold', reason: 'web_next_visit' };
    case 'messenger':
      return age <= MESSENGER_WINDOW_MS ? { kind: 'send' } : { kind: 'hold', reason: 'outside_window' };
    case 'zalo':
      if (ctx.following === false) return { kind: 'skip', reason: 'not_following' };
      return age <= ZALO_TRANSACTION_WINDOW_MS ? { kind: 'send' } : { kind: 'skip', reason: 'window' };
  }
}

/** Nothing (more) to send for this job: it completes quietly. */
const DONE: SendOutcome = { kind: 'sent', messageId: null };

/** Failures after which the message may or may not have reached the platform. */
const isUncertain = (code: string): boolean =>
  /^(fb:)?(timeout|network)$/.test(code) || /^(fb:)?http_5\d\d/.test(code) || /^fb:[12](\/|$)/.test(code) || /_unparsable$/.test(code);

export function createDossierNotifier(options: NotifierOptions): DossierNotifier {
  const { store, gateway, jobs, marks } = options;
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => undefined);
  const batch = options.batch ?? 200;
  const gapGraceSeconds = options.gapGraceSeconds ?? 600;
  const maxAttempts = options.maxAttempts ?? 10;
  const skewMs = options.reconcileSkewMs ?? 5 * 60_000;
  const heldMs = options.heldDays * DAY;

  const surveyPayload = (ctx: NoticeContext): string | null => {
    const base = { definitionId: options.evaluationSurvey, dossierCode: ctx.code };
    // The procedure code counts the evaluation per procedure too, when it is a catalogue code.
    for (const start of ctx.procedureCode ? [{ ...base, procedureCode: ctx.procedureCode }, base] : [base]) {
      try {
        return surveyStartPayload(start);
      } catch {
        // Not a catalogue code (or an unusable survey id): try without / give up.
      }
    }
    return null;
  };

  const contentOf = async (ctx: NoticeContext): Promise<NoticeContent> => ({
    kind: ctx.notice.kind,
    code: ctx.code,
    procedureName: ctx.procedureName ?? (ctx.procedureCode ? (options.procedureName?.(ctx.unitId, ctx.procedureCode) ?? null) : null),
    pickupPlace: ctx.pickupPlace,
    unit: await options.unit(ctx.unitId),
    surveyPayload: ctx.notice.kind === 'evaluation' ? surveyPayload(ctx) : null,
  });

  const mark = (ctx: NoticeContext, at: Date): Promise<boolean> =>
    ctx.notice.kind === 'result_ready' ? marks.resultNotified(ctx.notice.dossierId, ctx.notice.contactId, at) : marks.evaluationOffered(ctx.notice.dossierId, ctx.notice.contactId, at);

  const finish = async (ctx: NoticeContext, outcome: NoticeOutcome): Promise<boolean> => {
    const at = now();
    // The link's mark first: a crash before the notice is recorded leaves it 'sending', which
    // the next run settles from the platform's history without sending again.
    if (outcome.status === 'sent') await mark(ctx, at);
    return store.finish(ctx.notice.id, outcome, at);
  };

  const settle = (ctx: NoticeContext, decision: Exclude<NoticeDecision, { kind: 'send' }>): Promise<boolean> =>
    finish(ctx, decision.kind === 'hold' ? { status: 'held', reason: decision.reason } : { status: 'skipped', reason: decision.reason });

  /** The notice's record after the platform refused it for this recipient. */
  const dropOutcome = (platform: 'messenger' | 'zalo', outcome: Extract<SendOutcome, { kind: 'drop' }>): NoticeOutcome => {
    switch (outcome.reason) {
      case 'outside_window':
        // The window closed between the decision and the send (Messenger 10/2018278, Zalo -230/-232).
        return platform === 'messenger' ? { status: 'held', reason: 'outside_window' } : { status: 'skipped', reason: 'window' };
      case 'user_unfollowed':
        return { status: 'skipped', reason: 'not_following' };
      case 'user_blocked':
      case 'user_not_found':
        return { status: 'skipped', reason: 'unreachable' };
      case 'quota_exceeded':
        return { status: 'skipped', reason: 'quota' };
      default:
        return { status: 'failed', reason: outcome.code };
    }
  };

  async function send(noticeId: number): Promise<SendOutcome> {
    const at = now();
    const ctx = await store.context(noticeId);
    if (!ctx || ctx.notice.platform === 'web') return DONE;
    const n = ctx.notice;
    const platform = n.platform as 'messenger' | 'zalo';
    let inDoubt = false;
    if (n.status === 'sending') {
      const leaseEnd = (n.attemptAt?.getTime() ?? 0) + options.leaseMs;
      // Another worker holds it, or held it and died: look again when the lease has run out.
      if (leaseEnd > at.getTime()) return { kind: 'retry', code: 'notice_leased', retryAfterMs: leaseEnd - at.getTime() + 250 };
      inDoubt = true;
    } else if (n.status !== 'pending') {
      return DONE;
    }
    const decision = decideNotice(ctx, at);
    if (!inDoubt && decision.kind !== 'send') {
      await settle(ctx, decision);
      return DONE;
    }
    const claim = await store.claim(n.id, at, options.leaseMs);
    if (!claim) return DONE;
    const content = await contentOf(ctx);
    const body = platform === 'zalo' ? renderZaloTransaction(content, ctx.userId) : renderMessengerNotice(content, ctx.userId);
    const fields = { platform, accountId: n.accountId };

    if (inDoubt) {
      // The previous attempt's worker died after claiming: the message may have gone out. Look
      // for it in the conversation from the moment that attempt began; never send twice.
      const since = (claim.previousAttemptAt ?? n.attemptAt ?? at).getTime() - skewMs;
      const history = await gateway.recentMessages(n.accountId, platform, ctx.userId);
      if (history.kind === 'error') {
        log('error', 'dossier notice in doubt: not sent again', { ...fields, code: history.code });
        await finish(ctx, { status: 'failed', reason: 'in_doubt' });
        return { kind: 'drop', code: 'in_doubt', reason: 'unknown', markUnreachable: false };
      }
      const signature = noticeSignature(platform, content, body);
      const found = history.messages.find((m) => m.fromUs && m.at.getTime() >= since && m.text === signature);
      if (found) {
        await finish(ctx, { status: 'sent', messageId: found.id || null });
        return DONE;
      }
      // It did not arrive: what applies now applies as to any pending notice.
      if (decision.kind !== 'send') {
        await settle(ctx, decision);
        return DONE;
      }
    }

    const outcome = await gateway.send({ accountId: n.accountId, platform, userId: ctx.userId }, body);
    switch (outcome.kind) {
      case 'sent':
        await finish(ctx, { status: 'sent', messageId: outcome.messageId });
        return outcome;
      case 'drop':
        await finish(ctx, dropOutcome(platform, outcome));
        // The outbound worker marks the contact unreachable when the platform says so.
        return outcome;
      case 'pause':
        // Not sent: the account must be fixed first (the worker pauses it and alerts); the tick
        // queues the notice again once the account is active.
        await store.release(n.id, now());
        return outcome;
      case 'refresh':
        // The gateway refreshed the Zalo token once already and the new one is refused too.
        await store.release(n.id, now());
        return { kind: 'pause', code: outcome.code, reason: 'token_invalid' };
      case 'retry': {
        if (claim.attempts >= maxAttempts) {
          await finish(ctx, { status: 'failed', reason: outcome.code });
          return { kind: 'drop', code: outcome.code, reason: 'unknown', markUnreachable: false };
        }
        if (isUncertain(outcome.code)) {
          // It may have arrived: keep the claim; after the lease the next run asks the platform.
          return { kind: 'retry', code: outcome.code, retryAfterMs: options.leaseMs + 250 };
        }
        await store.release(n.id, now());
        return { kind: 'retry', code: outcome.code, retryAfterMs: outcome.retryAfterMs ?? Math.min(60_000, 500 * 2 ** Math.max(0, claim.attempts - 1)) };
      }
    }
  }

  async function tick(): Promise<TickResult> {
    const at = now();
    const result: TickResult = { busy: false, events: 0, queued: 0, held: 0, redriven: 0, expired: 0 };
    for (let round = 0; round < 20; round++) {
      const r = await store.advance({ batch, gapGraceSeconds, now: at });
      if (r.busy) {
        result.busy = true;
        break;
      }
      result.events += r.events;
      result.held += r.held;
      if (r.toSend.length > 0) {
        await jobs.enqueue(r.toSend);
        result.queued += r.toSend.length;
      }
      if (!r.more) break;
    }
    // Jobs that are gone (a worker died between the cursor's commit and queuing, a job that ran
    // out of retries, an account that was paused and is active again): queue the next generation.
    const fresh: NoticeJobRef[] = [];
    for (const c of await store.redriveCandidates(new Date(at.getTime() - options.idleMs), 500)) {
      if (await jobs.isLive(c)) continue;
      const generation = await store.nextGeneration(c.noticeId, c.generation, at);
      if (generation !== undefined) fresh.push({ ...c, generation });
    }
    if (fresh.length > 0) await jobs.enqueue(fresh);
    result.redriven = fresh.length;
    result.expired = await store.expireHeld(new Date(at.getTime() - heldMs), at);
    if (result.events || result.queued || result.held || result.redriven || result.expired) {
      log('info', 'dossier notices tick', { events: result.events, queued: result.queued, held: result.held, redriven: result.redriven, expired: result.expired });
    }
    return result;
  }

  async function deliverHeld(contactId: number, platform: 'messenger' | 'zalo' | 'web', at: Date = now()): Promise<Reply[]> {
    if (platform === 'zalo') return [];
    const replies: Reply[] = [];
    for (const ctx of await store.heldFor(contactId, new Date(at.getTime() - heldMs))) {
      const decision = decideNotice({ ...ctx, notice: { ...ctx.notice, platform: 'web' } }, at);
      if (decision.kind === 'skip') {
        await store.settleHeld(ctx.notice.id, { status: 'skipped', reason: decision.reason }, at);
        continue;
      }
      const content = await contentOf(ctx);
      await mark(ctx, at);
      if (!(await store.settleHeld(ctx.notice.id, { status: 'sent', reason: 'with_answer' }, at))) continue;
      replies.push(noticeReply(content));
    }
    return replies;
  }

  return { tick, send, deliverHeld };
}
