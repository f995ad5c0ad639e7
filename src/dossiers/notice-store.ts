// The notices of dossier results and evaluation offers in PostgreSQL (migration 009): the cursor
// over dossier_events, the one row per (dossier, contact, kind), and its conditional moves
// (claim, release, settle, hold, deliver held), so that a duplicated, retried or re-driven job,
// two notifiers and a crash never deliver one notice twice. See
// docs/decisions/007-dossier-notifications.md.
import { z } from 'zod';
import type { Database, Queryable } from '../store/database.js';
import { DossierStatus } from './status.js';
import type { NoticeKind, NoticePlatform } from './notice-render.js';

export type NoticeStatus = 'pending' | 'sending' | 'held' | 'sent' | 'skipped' | 'failed';

export interface Notice {
  id: number;
  dossierId: number;
  contactId: number;
  kind: NoticeKind;
  eventId: number;
  accountId: number;
  platform: NoticePlatform;
  status: NoticeStatus;
  reason: string | null;
  attempts: number;
  attemptAt: Date | null;
  generation: number;
  messageId: string | null;
  heldAt: Date | null;
  updatedAt: Date;
}

/** A notice with what deciding and rendering it needs (dossier, link, contact, account). */
export interface NoticeContext {
  notice: Notice;
  unitId: string;
  code: string;
  procedureCode: string | null;
  procedureName: string | null;
  pickupPlace: string | null;
  dossierStatus: DossierStatus;
  /** The link is still there, not unlinked, and asks for the result. */
  linked: boolean;
  /** Already done for this (dossier, contact) by anyone (dossier_links' marks). */
  alreadyDone: boolean;
  userId: string;
  lastInteractionAt: Date;
  reachable: boolean;
  following: boolean | null;
  accountActive: boolean;
}

/** A notice that needs a send job. */
export interface NoticeJobRef {
  noticeId: number;
  generation: number;
  accountId: number;
  platform: 'messenger' | 'zalo';
  userId: string;
}

export type NoticeOutcome =
  | { status: 'sent'; reason?: string | null; messageId: string | null }
  | { status: 'held'; reason: string }
  | { status: 'skipped' | 'failed'; reason: string };

const Id = z.union([z.number(), z.string(), z.bigint()]).transform((v) => Number(v));
const Instant = z.union([z.date(), z.string().transform((s) => new Date(s))]);

const NoticeRow = z.object({
  id: Id,
  dossier_id: Id,
  contact_id: Id,
  kind: z.enum(['result_ready', 'evaluation']),
  event_id: Id,
  account_id: Id,
  platform: z.enum(['messenger', 'zalo', 'web']),
  status: z.enum(['pending', 'sending', 'held', 'sent', 'skipped', 'failed']),
  reason: z.string().nullable(),
  attempts: z.coerce.number().int(),
  attempt_at: Instant.nullable(),
  generation: z.coerce.number().int(),
  message_id: z.string().nullable(),
  held_at: Instant.nullable(),
  updated_at: Instant,
});

const toNotice = (raw: unknown): Notice => {
  const r = NoticeRow.parse(raw);
  return {
    id: r.id,
    dossierId: r.dossier_id,
    contactId: r.contact_id,
    kind: r.kind,
    eventId: r.event_id,
    accountId: r.account_id,
    platform: r.platform,
    status: r.status,
    reason: r.reason,
    attempts: r.attempts,
    attemptAt: r.attempt_at,
    generation: r.generation,
    messageId: r.message_id,
    heldAt: r.held_at,
    updatedAt: r.updated_at,
  };
};

const ContextRow = z.object({
  unit_id: z.string(),
  code: z.string(),
  procedure_code: z.string().nullable(),
  procedure_name: z.string().nullable(),
  pickup_place: z.string().nullable(),
  dossier_status: DossierStatus,
  linked: z.boolean(),
  already_done: z.boolean(),
  platform_user_id: z.string(),
  last_interaction_at: Instant,
  reachable: z.boolean(),
  following: z.boolean().nullable(),
  account_active: z.boolean(),
});

const CONTEXT_SQL = `
  SELECT n.*, d.unit_id, d.code, d.procedure_code, d.procedure_name, d.pickup_place, d.status AS dossier_status,
    (l.dossier_id IS NOT NULL AND l.unlinked_at IS NULL AND l.notify_result) AS linked,
    (CASE WHEN n.kind = 'result_ready' THEN l.result_notified_at IS NOT NULL ELSE l.evaluation_offered_at IS NOT NULL END) IS TRUE AS already_done,
    c.platform_user_id, c.last_interaction_at, c.reachable, c.following, (a.status = 'active') AS account_active
  FROM dossier_notices n
  JOIN dossiers d ON d.id = n.dossier_id
  JOIN contacts c ON c.id = n.contact_id
  JOIN channel_accounts a ON a.id = n.account_id
  LEFT JOIN dossier_links l ON l.dossier_id = n.dossier_id AND l.contact_id = n.contact_id`;

const toContext = (raw: unknown): NoticeContext => {
  const r = ContextRow.parse(raw);
  return {
    notice: toNotice(raw),
    unitId: r.unit_id,
    code: r.code,
    procedureCode: r.procedure_code,
    procedureName: r.procedure_name,
    pickupPlace: r.pickup_place,
    dossierStatus: r.dossier_status,
    linked: r.linked,
    alreadyDone: r.already_done,
    userId: r.platform_user_id,
    lastInteractionAt: r.last_interaction_at,
    reachable: r.reachable,
    following: r.following,
    accountActive: r.account_active,
  };
};

/** The status a notice's kind belongs to: a notice is outdated once the dossier left it. */
export const KIND_STATUS: Record<NoticeKind, DossierStatus> = { result_ready: 'result_ready', evaluation: 'returned' };

export interface AdvanceResult {
  /** The cursor could not be claimed: another notifier is advancing it. */
  busy: boolean;
  /** Events read past (all statuses). */
  events: number;
  /** Notices created or revived and waiting for a send job. */
  toSend: NoticeJobRef[];
  /** Notices created held at once (website). */
  held: number;
  /** More events may be waiting (a full batch was read). */
  more: boolean;
  /** Stopped at a hole in the ids that a transaction still in progress may fill. */
  waitingForGap: boolean;
}

export class NoticeStore {
  constructor(private readonly db: Database) {}

  /**
   * Reads the next events after the cursor, in id order, inside one transaction that holds the
   * cursor row (FOR UPDATE SKIP LOCKED: a second notifier finds it taken and does nothing), writes
   * the notices of the result_ready / returned ones and moves the cursor.
   *
   * Ids are allocated when a row is inserted, not when its transaction commits: an event with a
   * smaller id can become visible after a larger one (a long import). The cursor therefore stops
   * before a hole in the ids while another transaction is in progress, for at most `gapGraceSeconds`
   * after the event that follows the hole was recorded; a hole left by a rolled-back transaction
   * is passed at once when nothing else is running, else after the grace.
   */
  async advance(opts: { batch: number; gapGraceSeconds: number; now: Date }): Promise<AdvanceResult> {
    return this.db.transaction(async (tx) => {
      const cursorRows = await tx.query<{ last_event_id: string | number }>(
        `SELECT last_event_id FROM dossier_notice_cursor WHERE name = 'outcomes' FOR UPDATE SKIP LOCKED`,
      );
      const cursorRow = cursorRows[0];
      if (cursorRow === undefined) return { busy: true, events: 0, toSend: [], held: 0, more: false, waitingForGap: false };
      const cursor = Number(cursorRow.last_event_id);
      // The holes' test and the events come from one statement, hence one snapshot: a transaction
      // committing in between cannot make a hole look abandoned. (A dossier write takes its xid
      // before it inserts an event: it updates or inserts the dossier row first.)
      const rows = await tx.query<{ id: string | number; dossier_id: string | number; to_status: string; past_grace: boolean; others: string | number }>(
        `SELECT id, dossier_id, to_status, recorded_at < now() - make_interval(secs => $3::double precision) AS past_grace,
           (SELECT count(*) FROM pg_snapshot_xip(pg_current_snapshot()) x WHERE x <> pg_current_xact_id()) AS others
         FROM dossier_events WHERE id > $1 ORDER BY id LIMIT $2`,
        [cursor, opts.batch, opts.gapGraceSeconds],
      );
      let last = cursor;
      let waitingForGap = false;
      const toSend: NoticeJobRef[] = [];
      let held = 0;
      let read = 0;
      for (const row of rows) {
        const id = Number(row.id);
        if (id !== last + 1 && !row.past_grace && Number(row.others) > 0) {
          waitingForGap = true;
          break;
        }
        read++;
        last = id;
        const kind: NoticeKind | null = row.to_status === 'result_ready' ? 'result_ready' : row.to_status === 'returned' ? 'evaluation' : null;
        if (kind === null) continue;
        const created = await this.createFor(tx, Number(row.dossier_id), kind, id, opts.now);
        toSend.push(...created.toSend);
        held += created.held;
      }
      if (last !== cursor) await tx.query(`UPDATE dossier_notice_cursor SET last_event_id = $1, updated_at = $2 WHERE name = 'outcomes'`, [last, opts.now]);
      return { busy: false, events: read, toSend, held, more: rows.length === opts.batch && !waitingForGap, waitingForGap };
    });
  }

  /**
   * The notices one status event asks for: one per linked contact (not unlinked, asking for the
   * result, not already told / offered through the link). A notice that exists is left alone,
   * unless it was skipped because the dossier had left the status meanwhile and this is a later
   * event entering it again: then it is due again (once more at most per entry).
   */
  private async createFor(tx: Queryable, dossierId: number, kind: NoticeKind, eventId: number, now: Date): Promise<{ toSend: NoticeJobRef[]; held: number }> {
    const rows = await tx.query<{ id: string | number; generation: number; account_id: string | number; platform: NoticePlatform; status: string; platform_user_id: string }>(
      `WITH targets AS (
         SELECT l.dossier_id, l.contact_id, c.account_id, a.platform, c.platform_user_id
         FROM dossier_links l JOIN contacts c ON c.id = l.contact_id JOIN channel_accounts a ON a.id = c.account_id
         WHERE l.dossier_id = $1 AND l.unlinked_at IS NULL AND l.notify_result
           AND (CASE WHEN $2::text = 'result_ready' THEN l.result_notified_at IS NULL ELSE l.evaluation_offered_at IS NULL END)
       ), written AS (
         INSERT INTO dossier_notices AS n (dossier_id, contact_id, kind, event_id, account_id, platform, status, reason, held_at, created_at, updated_at)
         SELECT t.dossier_id, t.contact_id, $2::text, $3::bigint, t.account_id, t.platform,
           CASE WHEN t.platform = 'web' THEN 'held' ELSE 'pending' END,
           CASE WHEN t.platform = 'web' THEN 'web_next_visit' END,
           CASE WHEN t.platform = 'web' THEN $4::timestamptz END, $4, $4
         FROM targets t
         ON CONFLICT (dossier_id, contact_id, kind) DO UPDATE SET
           event_id = EXCLUDED.event_id, status = EXCLUDED.status, reason = EXCLUDED.reason, held_at = EXCLUDED.held_at,
           attempts = 0, attempt_at = NULL, settled_at = NULL, generation = n.generation + 1, updated_at = EXCLUDED.updated_at
           WHERE n.status = 'skipped' AND n.reason = 'outdated' AND EXCLUDED.event_id > n.event_id
         RETURNING n.id, n.generation, n.account_id, n.platform, n.status, n.contact_id
       )
       SELECT w.id, w.generation, w.account_id, w.platform, w.status, c.platform_user_id
       FROM written w JOIN contacts c ON c.id = w.contact_id ORDER BY w.id`,
      [dossierId, kind, eventId, now],
    );
    const toSend: NoticeJobRef[] = [];
    let held = 0;
    for (const r of rows) {
      if (r.platform === 'web' || r.status !== 'pending') {
        held++;
        continue;
      }
      toSend.push({ noticeId: Number(r.id), generation: Number(r.generation), accountId: Number(r.account_id), platform: r.platform, userId: r.platform_user_id });
    }
    return { toSend, held };
  }

  async context(noticeId: number): Promise<NoticeContext | undefined> {
    const rows = await this.db.query(`${CONTEXT_SQL} WHERE n.id = $1`, [noticeId]);
    return rows[0] === undefined ? undefined : toContext(rows[0]);
  }

  /**
   * pending (or sending past its lease: its worker died) → sending, attempt_at = now, one more
   * attempt. Returns when the previous attempt began (null for a first one), or undefined when
   * the notice is not there to claim.
   */
  async claim(noticeId: number, now: Date, leaseMs: number): Promise<{ previousAttemptAt: Date | null; attempts: number } | undefined> {
    const rows = await this.db.query<{ previous: Date | string | null; attempts: number }>(
      `WITH old AS (SELECT id, attempt_at FROM dossier_notices WHERE id = $1 FOR UPDATE)
       UPDATE dossier_notices n SET status = 'sending', attempt_at = $2, attempts = n.attempts + 1, updated_at = $2
       FROM old WHERE n.id = old.id
         AND (n.status = 'pending' OR (n.status = 'sending' AND n.attempt_at <= $2::timestamptz - make_interval(secs => $3::double precision)))
       RETURNING old.attempt_at AS previous, n.attempts`,
      [noticeId, now, leaseMs / 1000],
    );
    const r = rows[0];
    if (r === undefined) return undefined;
    return { previousAttemptAt: r.previous === null ? null : new Date(r.previous), attempts: Number(r.attempts) };
  }

  /** sending → pending: not sent, to try again (the account is paused, the platform throttled). */
  async release(noticeId: number, now: Date): Promise<void> {
    await this.db.query(`UPDATE dossier_notices SET status = 'pending', updated_at = $2 WHERE id = $1 AND status = 'sending'`, [noticeId, now]);
  }

  /** Records one outcome, from pending or sending only; false when it was settled already. */
  async finish(noticeId: number, outcome: NoticeOutcome, now: Date): Promise<boolean> {
    const held = outcome.status === 'held';
    const rows = await this.db.query(
      `UPDATE dossier_notices SET status = $2, reason = $3, message_id = $4, held_at = CASE WHEN $5 THEN $6::timestamptz ELSE held_at END,
         settled_at = CASE WHEN $5 THEN NULL ELSE $6::timestamptz END, updated_at = $6
       WHERE id = $1 AND status IN ('pending', 'sending') RETURNING id`,
      [noticeId, outcome.status, outcome.reason ?? null, outcome.status === 'sent' ? outcome.messageId : null, held, now],
    );
    return rows.length > 0;
  }

  /** The held notices of a contact, oldest first, held since `freshSince` or later. */
  async heldFor(contactId: number, freshSince: Date): Promise<NoticeContext[]> {
    const rows = await this.db.query(`${CONTEXT_SQL} WHERE n.contact_id = $1 AND n.status = 'held' AND n.held_at >= $2 ORDER BY n.held_at, n.id`, [contactId, freshSince]);
    return rows.map(toContext);
  }

  /** held → sent (delivered with an answer) or skipped; false when already settled (by a concurrent call). */
  async settleHeld(noticeId: number, outcome: { status: 'sent' | 'skipped'; reason: string }, now: Date): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE dossier_notices SET status = $2, reason = $3, settled_at = $4, updated_at = $4 WHERE id = $1 AND status = 'held' RETURNING id`,
      [noticeId, outcome.status, outcome.reason, now],
    );
    return rows.length > 0;
  }

  /** Held notices older than `freshSince` are dropped (skipped:expired). */
  async expireHeld(freshSince: Date, now: Date): Promise<number> {
    const rows = await this.db.query(
      `UPDATE dossier_notices SET status = 'skipped', reason = 'expired', settled_at = $2, updated_at = $2
       WHERE status = 'held' AND held_at < $1 RETURNING id`,
      [freshSince, now],
    );
    return rows.length;
  }

  /**
   * Unfinished notices untouched since `idleSince` whose account can send: their job may be gone
   * (a worker that died, an account that was paused). Oldest first.
   */
  async redriveCandidates(idleSince: Date, limit: number): Promise<NoticeJobRef[]> {
    const rows = await this.db.query<{ id: string | number; generation: number; account_id: string | number; platform: 'messenger' | 'zalo'; platform_user_id: string }>(
      `SELECT n.id, n.generation, n.account_id, n.platform, c.platform_user_id
       FROM dossier_notices n JOIN contacts c ON c.id = n.contact_id JOIN channel_accounts a ON a.id = n.account_id
       WHERE n.status IN ('pending', 'sending') AND n.platform <> 'web' AND n.updated_at < $1 AND a.status = 'active'
       ORDER BY n.updated_at LIMIT $2`,
      [idleSince, limit],
    );
    return rows.map((r) => ({ noticeId: Number(r.id), generation: Number(r.generation), accountId: Number(r.account_id), platform: r.platform, userId: r.platform_user_id }));
  }

  /** The next generation of a notice's job, if `generation` is still the current one. */
  async nextGeneration(noticeId: number, generation: number, now: Date): Promise<number | undefined> {
    const rows = await this.db.query<{ generation: number }>(
      `UPDATE dossier_notices SET generation = generation + 1, updated_at = $3 WHERE id = $1 AND generation = $2 AND status IN ('pending', 'sending') RETURNING generation`,
      [noticeId, generation, now],
    );
    return rows[0] === undefined ? undefined : Number(rows[0].generation);
  }

  /** Counts by status (and reason), for tests and reports. */
  async counts(): Promise<Record<string, number>> {
    const rows = await this.db.query<{ status: string; reason: string | null; n: string | number }>(
      'SELECT status, reason, count(*) AS n FROM dossier_notices GROUP BY status, reason',
    );
    const out: Record<string, number> = {};
    for (const r of rows) out[r.reason ? `${r.status}:${r.reason}` : r.status] = Number(r.n);
    return out;
  }
}
