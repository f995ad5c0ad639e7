// The broadcast runtime: fan-out of an announcement into deliveries and send jobs, the periodic
// tick (scheduled starts, re-driving deliveries whose job is gone, completion, expiry of held
// announcements) and the hand-over of held announcements when a citizen comes back.
//
// Fan-out pages through the audience 1,000 contacts at a time from the announcement's cursor:
// deliveries are inserted (ON CONFLICT DO NOTHING), a send job is queued for each recipient of
// the page (deterministic ids, so a page done twice queues nothing twice), then the cursor moves.
// A crash resumes at the cursor; the whole audience is never in memory. Website recipients get
// no job: nothing can be pushed to them, they are held for their next visit at once.
// With a look-ahead, the fan-out keeps only that much sending queued ahead of the accounts' rate
// and then pauses, to resume at its cursor later: a large broadcast is turned into jobs at the
// pace it is sent instead of in one burst that would take the machine from citizens' replies.
// Ports only: the jobs layer (src/jobs/broadcast-queue.ts) supplies queues and Redis.
import type { Reply } from '../channels/channel.js';
import type { Announcement, AnnouncementStatus, DeliveryTarget } from './types.js';
import type { DeliveryOutcome, RedriveCandidate } from '../store/broadcast-repository.js';
import type { Delivery } from './types.js';
import { decide, type EligibilityRules } from './eligibility.js';
import { deliverHeld } from './held.js';
import type { BroadcastSendJob } from './sender.js';

/** One recipient as the audience query gives it (SubscriptionRepository.audiencePage). */
export interface AudienceMember {
  contactId: number;
  accountId: number;
  platform: 'messenger' | 'zalo' | 'web';
  platformUserId: string;
  lastInteractionAt: Date;
  following: boolean | null;
  reachable: boolean;
}

export type AudiencePage = (query: {
  unitId: string;
  groupIds: readonly number[];
  platforms: ReadonlyArray<'messenger' | 'zalo' | 'web'>;
  afterContactId: number;
  limit: number;
}) => Promise<AudienceMember[]>;

/** The repository methods the runtime uses (BroadcastRepository satisfies it). */
export interface RuntimeStore {
  get(id: number): Promise<Announcement | undefined>;
  start(id: number, now: Date): Promise<Announcement | undefined>;
  addDeliveries(announcementId: number, targets: readonly DeliveryTarget[]): Promise<number>;
  advanceCursor(id: number, cursor: number): Promise<void>;
  finishFanout(id: number): Promise<void>;
  finishMany(announcementId: number, contactIds: readonly number[], outcome: DeliveryOutcome, now: Date): Promise<number>;
  completeIfSettled(id: number, now: Date): Promise<boolean>;
  due(now: Date, limit?: number): Promise<Announcement[]>;
  active(limit?: number): Promise<Announcement[]>;
  redriveCandidates(announcementId: number, afterContactId: number, now: Date, idleMs: number, leaseMs: number, limit: number): Promise<RedriveCandidate[]>;
  heldFor(contactId: number, now: Date): Promise<Array<{ delivery: Delivery; announcement: Announcement }>>;
  settleHeld(announcementId: number, contactId: number, status: 'sent' | 'expired', now: Date, messageId?: string | null): Promise<boolean>;
  expireHeld(now: Date): Promise<number>;
}

/** Queues, as the runtime needs them. */
export interface BroadcastJobs {
  /**
   * Queues the first send job of each delivery (an existing job id is left alone), available
   * after `delayMs` when given.
   */
  enqueueSends(jobs: ReadonlyArray<BroadcastSendJob & { delayMs?: number }>): Promise<void>;
  /** Queues a new send job for each delivery whose current job is gone; returns how many. */
  redriveSends(jobs: readonly BroadcastSendJob[]): Promise<number>;
  /** Queues the fan-out of an announcement (at its scheduled time, or now). */
  scheduleFanout(announcementId: number, at?: Date | null): Promise<void>;
}

export interface RuntimeOptions {
  store: RuntimeStore;
  audiencePage: AudiencePage;
  jobs: BroadcastJobs;
  rules: EligibilityRules;
  /** Recipients per audience page (and per batch of queued jobs). */
  pageSize?: number;
  /**
   * Sends per second of an account of the platform: send jobs are made available at that pace
   * (those likely to be sent; the held and skipped at once) rather than all at once, so the
   * workers do not churn through a long queue that the account's rate holds back anyway.
   */
  sendRate?: (platform: 'messenger' | 'zalo') => number;
  /**
   * With `sendRate`: once every account of the last page has more than this much sending queued
   * (ms, predicted from its rate), the fan-out pauses and returns when to resume. None: no pause.
   */
  lookaheadMs?: number;
  /** The sender's lease: a 'sending' delivery older than this is re-driven (then reconciled). */
  leaseMs: number;
  /** A pending delivery untouched this long is checked for a live job by the tick. */
  idleMs: number;
  /** Deliveries checked per announcement per tick. */
  redriveBatch?: number;
  now?: () => Date;
  log?: (event: string, fields: Record<string, string | number | boolean>) => void;
}

/** Where each account's queued sends end (epoch ms of the runtime's clock), kept across a pause. */
export type FanoutHorizon = Record<string, number>;

/** A send job is made available this long before its predicted place in the schedule. */
export const SEND_EARLY_MS = 30;

export type FanoutResult =
  | { kind: 'done'; pages: number; recipients: number }
  /** Enough is queued: run the fan-out again in `resumeInMs`, with this horizon. */
  | { kind: 'paused'; pages: number; recipients: number; resumeInMs: number; horizon: FanoutHorizon }
  | { kind: 'not_due'; at: Date }
  | { kind: 'not_active'; status: AnnouncementStatus | 'missing' };

export interface BroadcastRuntime {
  /** Runs (or resumes, with the horizon of its pause if any) the fan-out of one announcement. */
  fanout(announcementId: number, horizon?: FanoutHorizon): Promise<FanoutResult>;
  /** The periodic pass: scheduled starts, stuck fan-outs, re-drives, completion, expiry. */
  tick(): Promise<{ started: number; redriven: number; completed: number; expired: number }>;
  /**
   * Held announcements of a contact who is back (Messenger inside the window again, the website
   * at the next visit), as replies to send after the bot's answer; each is settled 'sent' once
   * (a concurrent call gets the others). Zalo never holds.
   */
  deliverHeld(contactId: number, accountId: number, platform: 'messenger' | 'zalo' | 'web', userId: string, now: Date): Promise<Reply[]>;
  /** An outcome was recorded for this announcement: check (soon, once) whether it is complete. */
  noteSettled(announcementId: number): void;
  close(): void;
}

export function createBroadcastRuntime(options: RuntimeOptions): BroadcastRuntime {
  const { store, jobs, rules } = options;
  const pageSize = options.pageSize ?? 1000;
  const redriveBatch = options.redriveBatch ?? 2000;
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => undefined);
  /** Where the tick's re-drive of each announcement continues (rotates through the deliveries). */
  const redriveCursor = new Map<number, number>();
  const completionTimers = new Map<number, NodeJS.Timeout>();

  async function fanout(announcementId: number, resumed?: FanoutHorizon): Promise<FanoutResult> {
    let a = await store.get(announcementId);
    if (!a) return { kind: 'not_active', status: 'missing' };
    if (a.status === 'scheduled') {
      if (a.scheduledAt && a.scheduledAt.getTime() > now().getTime()) return { kind: 'not_due', at: a.scheduledAt };
      a = (await store.start(announcementId, now())) ?? a;
    }
    if (a.status !== 'fanning_out') return { kind: 'not_active', status: a.status };
    let cursor = a.fanoutCursor;
    let pages = 0;
    let recipients = 0;
    /** Per account: when the next likely send may start (epoch ms). */
    const horizon = new Map<number, number>(Object.entries(resumed ?? {}).map(([k, v]) => [Number(k), v]));
    for (;;) {
      const page = await options.audiencePage({ unitId: a.unitId, groupIds: a.groupIds, platforms: a.channels, afterContactId: cursor, limit: pageSize });
      if (page.length === 0) break;
      await store.addDeliveries(
        announcementId,
        page.map((m) => ({ contactId: m.contactId, accountId: m.accountId, platform: m.platform })),
      );
      const sends: Array<BroadcastSendJob & { delayMs?: number }> = [];
      const webHeld: number[] = [];
      const webSkipped: number[] = [];
      const at = now();
      for (const m of page) {
        const predicted = decide({ platform: m.platform, reachable: m.reachable, following: m.following, lastInteractionAt: m.lastInteractionAt, sentToday: 0, sentThisMonth: 0 }, at, rules);
        if (m.platform === 'web') {
          (predicted.kind === 'skip' ? webSkipped : webHeld).push(m.contactId);
          continue;
        }
        const job: BroadcastSendJob & { delayMs?: number } = { announcementId, contactId: m.contactId, accountId: m.accountId, platform: m.platform, userId: m.platformUserId };
        const rate = options.sendRate?.(m.platform);
        if (predicted.kind === 'send' && rate && rate > 0) {
          const start = Math.max(horizon.get(m.accountId) ?? at.getTime(), at.getTime());
          horizon.set(m.accountId, start + 1000 / rate);
          // Each job becomes available just before its place in the account's schedule, within the
          // sender's inline wait, so that it is sent on its first run rather than put back once.
          if (start - at.getTime() > SEND_EARLY_MS) job.delayMs = Math.floor(start - at.getTime() - SEND_EARLY_MS);
        }
        sends.push(job);
      }
      // finishMany only moves pending deliveries: a page done twice changes nothing twice.
      await store.finishMany(announcementId, webHeld, { status: 'held', reason: 'web_next_visit' }, at);
      await store.finishMany(announcementId, webSkipped, { status: 'skipped', reason: 'unreachable' }, at);
      await jobs.enqueueSends(sends);
      const last = page[page.length - 1];
      if (last) cursor = last.contactId;
      await store.advanceCursor(announcementId, cursor);
      pages++;
      recipients += page.length;
      if (page.length < pageSize) break;
      // Give the rest of the process (replies) a turn between pages.
      await new Promise<void>((resolve) => setImmediate(resolve));
      // An officer may cancel while a long fan-out runs: stop queuing.
      const current = await store.get(announcementId);
      if (!current || current.status !== 'fanning_out') return { kind: 'not_active', status: current?.status ?? 'missing' };
      // Enough queued for every account of this page: come back when it is nearly sent.
      if (options.lookaheadMs !== undefined) {
        const accounts = new Set(page.filter((m) => m.platform !== 'web').map((m) => m.accountId));
        const t = now().getTime();
        const ahead = accounts.size === 0 ? 0 : Math.min(...[...accounts].map((id) => (horizon.get(id) ?? t) - t));
        if (ahead > options.lookaheadMs) {
          return { kind: 'paused', pages, recipients, resumeInMs: Math.ceil(ahead - options.lookaheadMs), horizon: Object.fromEntries(horizon) };
        }
      }
    }
    await store.finishFanout(announcementId);
    // Nothing to send (only website recipients, or none at all): done at once.
    await store.completeIfSettled(announcementId, now());
    log('broadcast fan-out done', { announcementId, pages, recipients });
    return { kind: 'done', pages, recipients };
  }

  async function redrive(a: Announcement): Promise<number> {
    const after = redriveCursor.get(a.id) ?? 0;
    const candidates = await store.redriveCandidates(a.id, after, now(), options.idleMs, options.leaseMs, redriveBatch);
    const last = candidates[candidates.length - 1];
    redriveCursor.set(a.id, candidates.length < redriveBatch || !last ? 0 : last.contactId);
    const sends: BroadcastSendJob[] = [];
    for (const c of candidates) {
      if (c.platform === 'web') continue;
      sends.push({ announcementId: a.id, contactId: c.contactId, accountId: c.accountId, platform: c.platform, userId: c.platformUserId });
    }
    return sends.length ? jobs.redriveSends(sends) : 0;
  }

  async function tick(): Promise<{ started: number; redriven: number; completed: number; expired: number }> {
    let started = 0;
    let redriven = 0;
    let completed = 0;
    for (const a of await store.due(now())) {
      await jobs.scheduleFanout(a.id, null);
      started++;
    }
    for (const a of await store.active()) {
      if (a.status === 'fanning_out') {
        // The fan-out job may have died with its worker: queue it again (a live one is kept).
        await jobs.scheduleFanout(a.id, null);
        continue;
      }
      if (await store.completeIfSettled(a.id, now())) {
        completed++;
        redriveCursor.delete(a.id);
        continue;
      }
      redriven += await redrive(a);
    }
    const expired = await store.expireHeld(now());
    if (started || redriven || completed || expired) log('broadcast tick', { started, redriven, completed, expired });
    return { started, redriven, completed, expired };
  }

  function noteSettled(announcementId: number): void {
    if (completionTimers.has(announcementId)) return;
    const timer = setTimeout(() => {
      completionTimers.delete(announcementId);
      store.completeIfSettled(announcementId, now()).catch(() => undefined);
    }, 500);
    timer.unref();
    completionTimers.set(announcementId, timer);
  }

  return {
    fanout,
    tick,
    async deliverHeld(contactId, accountId, platform, userId, at) {
      const held = await deliverHeld(store, contactId, accountId, platform, userId, at);
      for (const h of held) noteSettled(h.announcementId);
      return held.map((h) => h.reply);
    },
    noteSettled,
    close() {
      for (const t of completionTimers.values()) clearTimeout(t);
      completionTimers.clear();
    },
  };
}
