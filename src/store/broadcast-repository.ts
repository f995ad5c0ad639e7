// Announcements and their deliveries in PostgreSQL. Every state change of a delivery is a
// conditional UPDATE (from the states it may leave), so a retried or duplicated job can never
// move a delivery backwards or record two outcomes.
import { z } from 'zod';
import type { Queryable } from './database.js';
import {
  AnnouncementStatus,
  BroadcastChannel,
  DeliveryStatus,
  type Announcement,
  type AnnouncementInput,
  type Delivery,
  type DeliveryCounts,
  type DeliveryTarget,
} from '../broadcast/types.js';

const Id = z.union([z.number(), z.string(), z.bigint()]).transform((v) => Number(v));
const IdArray = z.array(Id);

const AnnouncementRow = z.object({
  id: Id,
  unit_id: z.string(),
  title: z.string(),
  body: z.string(),
  link_url: z.string().nullable(),
  image_url: z.string().nullable(),
  group_ids: IdArray,
  channels: z.array(BroadcastChannel),
  status: AnnouncementStatus,
  scheduled_at: z.date().nullable(),
  hold_days: z.number(),
  fanout_cursor: Id,
  fanout_done: z.boolean(),
  created_by: Id.nullable(),
  created_at: z.date(),
  started_at: z.date().nullable(),
  finished_at: z.date().nullable(),
  cancelled_at: z.date().nullable(),
});

const toAnnouncement = (r: unknown): Announcement => {
  const a = AnnouncementRow.parse(r);
  return {
    id: a.id,
    unitId: a.unit_id,
    title: a.title,
    body: a.body,
    linkUrl: a.link_url,
    imageUrl: a.image_url,
    groupIds: a.group_ids,
    channels: a.channels,
    status: a.status,
    scheduledAt: a.scheduled_at,
    holdDays: a.hold_days,
    fanoutCursor: a.fanout_cursor,
    fanoutDone: a.fanout_done,
    createdBy: a.created_by,
    createdAt: a.created_at,
    startedAt: a.started_at,
    finishedAt: a.finished_at,
    cancelledAt: a.cancelled_at,
  };
};

const DeliveryRow = z.object({
  announcement_id: Id,
  contact_id: Id,
  account_id: Id,
  platform: BroadcastChannel,
  status: DeliveryStatus,
  reason: z.string().nullable(),
  attempt_at: z.date().nullable(),
  attempts: z.number(),
  message_id: z.string().nullable(),
  updated_at: z.date(),
});

const toDelivery = (r: unknown): Delivery => {
  const d = DeliveryRow.parse(r);
  return {
    announcementId: d.announcement_id,
    contactId: d.contact_id,
    accountId: d.account_id,
    platform: d.platform,
    status: d.status,
    reason: d.reason,
    attemptAt: d.attempt_at,
    attempts: d.attempts,
    messageId: d.message_id,
    updatedAt: d.updated_at,
  };
};

/** Outcome of claiming a delivery just before sending it. */
export type Claim =
  | { kind: 'claimed'; delivery: Delivery }
  /** Found 'sending' with an expired lease: a worker died mid-send; ask the platform first. */
  | { kind: 'in_doubt'; delivery: Delivery }
  /** Already finished, cancelled, or being sent by a live worker: do nothing. */
  | { kind: 'settled'; delivery: Delivery | undefined };

/** The end states a send can record. */
export type DeliveryOutcome =
  | { status: 'sent'; messageId: string | null }
  | { status: 'held'; reason: string }
  | { status: 'skipped'; reason: string }
  | { status: 'failed'; reason: string };

export class BroadcastRepository {
  constructor(private readonly db: Queryable) {}

  // --- announcements ---------------------------------------------------------------------------

  async create(unitId: string, input: AnnouncementInput, createdBy: number | null): Promise<Announcement> {
    const rows = await this.db.query(
      `INSERT INTO announcements (unit_id, title, body, link_url, image_url, group_ids, channels, scheduled_at, hold_days, created_by)
       VALUES ($1, $2, $3, $4, $5, $6::bigint[], $7::text[], $8, $9, $10) RETURNING *`,
      [unitId, input.title, input.body, input.linkUrl, input.imageUrl, input.groupIds, input.channels, input.scheduledAt, input.holdDays, createdBy],
    );
    return toAnnouncement(rows[0]);
  }

  /** The announcement; with unitId, only if it belongs to that unit (no cross-unit reads). */
  async get(id: number, unitId?: string): Promise<Announcement | undefined> {
    const rows = await this.db.query(`SELECT * FROM announcements WHERE id = $1 AND ($2::text IS NULL OR unit_id = $2)`, [id, unitId ?? null]);
    return rows[0] ? toAnnouncement(rows[0]) : undefined;
  }

  async list(unitId: string, limit = 50): Promise<Announcement[]> {
    const rows = await this.db.query(`SELECT * FROM announcements WHERE unit_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, [unitId, limit]);
    return rows.map(toAnnouncement);
  }

  /** draft → scheduled (a time given) or fanning_out (now). Returns false if it was not a draft. */
  async submit(id: number, now: Date): Promise<Announcement | undefined> {
    const rows = await this.db.query(
      `UPDATE announcements SET
         status = CASE WHEN scheduled_at IS NOT NULL AND scheduled_at > $2 THEN 'scheduled' ELSE 'fanning_out' END,
         started_at = CASE WHEN scheduled_at IS NOT NULL AND scheduled_at > $2 THEN NULL ELSE $2 END
       WHERE id = $1 AND status = 'draft' RETURNING *`,
      [id, now],
    );
    return rows[0] ? toAnnouncement(rows[0]) : undefined;
  }

  /** scheduled → fanning_out when its time has come (idempotent). */
  async start(id: number, now: Date): Promise<Announcement | undefined> {
    const rows = await this.db.query(
      `UPDATE announcements SET status = 'fanning_out', started_at = COALESCE(started_at, $2)
       WHERE id = $1 AND status IN ('scheduled', 'fanning_out') RETURNING *`,
      [id, now],
    );
    return rows[0] ? toAnnouncement(rows[0]) : undefined;
  }

  /** Records fan-out progress: the last contact id paged through (never moves backwards). */
  async advanceCursor(id: number, cursor: number): Promise<void> {
    await this.db.query(`UPDATE announcements SET fanout_cursor = GREATEST(fanout_cursor, $2) WHERE id = $1`, [id, cursor]);
  }

  /** fanning_out → sending once every delivery exists. */
  async finishFanout(id: number): Promise<void> {
    await this.db.query(`UPDATE announcements SET fanout_done = true, status = 'sending' WHERE id = $1 AND status = 'fanning_out'`, [id]);
  }

  /** sending → done when no delivery is pending or being sent (held ones may still deliver later). */
  async completeIfSettled(id: number, now: Date): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE announcements SET status = 'done', finished_at = $2
       WHERE id = $1 AND status = 'sending' AND fanout_done
         AND NOT EXISTS (SELECT 1 FROM deliveries WHERE announcement_id = $1 AND status IN ('pending', 'sending'))
       RETURNING id`,
      [id, now],
    );
    return rows.length > 0;
  }

  /** Cancels: nothing more is sent; pending and held deliveries become 'cancelled'. */
  async cancel(id: number, unitId: string, now: Date): Promise<Announcement | undefined> {
    // One statement, so the announcement and its deliveries change together.
    const rows = await this.db.query(
      `WITH a AS (
         UPDATE announcements SET status = 'cancelled', cancelled_at = $3
         WHERE id = $1 AND unit_id = $2 AND status IN ('draft', 'scheduled', 'fanning_out', 'sending') RETURNING *
       ), d AS (
         UPDATE deliveries SET status = 'cancelled', updated_at = $3
         WHERE announcement_id IN (SELECT id FROM a) AND status IN ('pending', 'held') RETURNING 1
       )
       SELECT * FROM a`,
      [id, unitId, now],
    );
    return rows[0] ? toAnnouncement(rows[0]) : undefined;
  }

  /** Scheduled announcements whose time has come. */
  async due(now: Date, limit = 100): Promise<Announcement[]> {
    const rows = await this.db.query(
      `SELECT * FROM announcements WHERE status = 'scheduled' AND scheduled_at <= $1 ORDER BY scheduled_at LIMIT $2`,
      [now, limit],
    );
    return rows.map(toAnnouncement);
  }

  /** Announcements a worker must (re)drive after a restart: fanning out or sending. */
  async active(limit = 100): Promise<Announcement[]> {
    const rows = await this.db.query(`SELECT * FROM announcements WHERE status IN ('fanning_out', 'sending') ORDER BY id LIMIT $1`, [limit]);
    return rows.map(toAnnouncement);
  }

  // --- deliveries ------------------------------------------------------------------------------

  /** Creates the deliveries of a page of recipients; existing ones are left alone. Returns how many were new. */
  async addDeliveries(announcementId: number, targets: readonly DeliveryTarget[]): Promise<number> {
    if (targets.length === 0) return 0;
    const rows = await this.db.query(
      `INSERT INTO deliveries (announcement_id, contact_id, account_id, platform)
       SELECT $1, c, a, p FROM unnest($2::bigint[], $3::bigint[], $4::text[]) AS t(c, a, p)
       ON CONFLICT (announcement_id, contact_id) DO NOTHING
       RETURNING contact_id`,
      [announcementId, targets.map((t) => t.contactId), targets.map((t) => t.accountId), targets.map((t) => t.platform)],
    );
    return rows.length;
  }

  async getDelivery(announcementId: number, contactId: number): Promise<Delivery | undefined> {
    const rows = await this.db.query(`SELECT * FROM deliveries WHERE announcement_id = $1 AND contact_id = $2`, [announcementId, contactId]);
    return rows[0] ? toDelivery(rows[0]) : undefined;
  }

  /**
   * Takes the right to send: pending → sending (attempt_at = now). A delivery already 'sending'
   * whose lease (attempt_at + leaseMs) ran out belongs to a worker that died mid-send: it is
   * re-leased and returned as in doubt, to be reconciled with the platform before any resend.
   */
  async claim(announcementId: number, contactId: number, now: Date, leaseMs: number): Promise<Claim> {
    const rows = await this.db.query(
      `UPDATE deliveries d SET status = 'sending', attempt_at = $3, attempts = d.attempts + 1, updated_at = $3
       FROM deliveries old
       WHERE d.announcement_id = $1 AND d.contact_id = $2
         AND old.announcement_id = d.announcement_id AND old.contact_id = d.contact_id
         AND (d.status = 'pending' OR (d.status = 'sending' AND d.attempt_at < $4))
       RETURNING d.*, old.status AS previous`,
      [announcementId, contactId, now, new Date(now.getTime() - leaseMs)],
    );
    const row = rows[0] as (Record<string, unknown> & { previous?: unknown }) | undefined;
    if (row) {
      const { previous, ...rest } = row;
      const delivery = toDelivery(rest);
      return previous === 'sending' ? { kind: 'in_doubt', delivery } : { kind: 'claimed', delivery };
    }
    return { kind: 'settled', delivery: await this.getDelivery(announcementId, contactId) };
  }

  /** Gives a claimed delivery back (not sent: e.g. the account is paused, or the hour is wrong). */
  async release(announcementId: number, contactId: number, now: Date): Promise<void> {
    await this.db.query(
      `UPDATE deliveries SET status = 'pending', attempt_at = NULL, updated_at = $3 WHERE announcement_id = $1 AND contact_id = $2 AND status = 'sending'`,
      [announcementId, contactId, now],
    );
  }

  /** Records the outcome of a claimed (or pending) delivery; false if it was already settled. */
  async finish(announcementId: number, contactId: number, outcome: DeliveryOutcome, now: Date): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE deliveries SET status = $3, reason = $4, message_id = $5, updated_at = $6
       WHERE announcement_id = $1 AND contact_id = $2 AND status IN ('pending', 'sending') RETURNING contact_id`,
      [announcementId, contactId, outcome.status, outcome.status === 'sent' ? null : outcome.reason, outcome.status === 'sent' ? outcome.messageId : null, now],
    );
    return rows.length > 0;
  }

  async counts(announcementId: number): Promise<DeliveryCounts> {
    const rows = await this.db.query<{ status: string; reason: string | null; n: string | number }>(
      `SELECT status, COALESCE(reason, '') AS reason, count(*) AS n FROM deliveries WHERE announcement_id = $1 GROUP BY status, COALESCE(reason, '') ORDER BY status, reason`,
      [announcementId],
    );
    return rows.map((r) => ({ status: DeliveryStatus.parse(r.status), reason: r.reason ?? '', count: Number(r.n) }));
  }

  /** Deliveries still to send (pending), in contact order, for re-driving after a restart. */
  async pendingPage(announcementId: number, afterContactId: number, limit: number): Promise<Delivery[]> {
    const rows = await this.db.query(
      `SELECT * FROM deliveries WHERE announcement_id = $1 AND status IN ('pending', 'sending') AND contact_id > $2 ORDER BY contact_id LIMIT $3`,
      [announcementId, afterContactId, limit],
    );
    return rows.map(toDelivery);
  }

  /** Every delivery in contact order (the report / export), paged. */
  async page(announcementId: number, afterContactId: number, limit: number): Promise<Delivery[]> {
    const rows = await this.db.query(`SELECT * FROM deliveries WHERE announcement_id = $1 AND contact_id > $2 ORDER BY contact_id LIMIT $3`, [announcementId, afterContactId, limit]);
    return rows.map(toDelivery);
  }

  /** Zalo promotions actually sent to a contact since `since` (per-day and per-month caps). */
  async sentSince(contactId: number, platform: BroadcastChannel, since: Date): Promise<number> {
    const rows = await this.db.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM deliveries WHERE contact_id = $1 AND status = 'sent' AND platform = $2 AND updated_at >= $3`,
      [contactId, platform, since],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Held announcements for a contact who just came back, still fresh (started within the
   * announcement's hold_days) and not cancelled, oldest first.
   */
  async heldFor(contactId: number, now: Date): Promise<Array<{ delivery: Delivery; announcement: Announcement }>> {
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT row_to_json(d.*) AS d, row_to_json(a.*) AS a FROM deliveries d JOIN announcements a ON a.id = d.announcement_id
       WHERE d.contact_id = $1 AND d.status = 'held' AND a.status <> 'cancelled'
         AND COALESCE(a.started_at, a.created_at) + make_interval(days => a.hold_days) > $2
       ORDER BY a.id`,
      [contactId, now],
    );
    return rows.map((r) => ({ delivery: toDelivery(reviveDates(r.d)), announcement: toAnnouncement(reviveDates(r.a)) }));
  }

  /** held → sent (delivered with a reply) or expired; false if it was no longer held. */
  async settleHeld(announcementId: number, contactId: number, status: 'sent' | 'expired', now: Date, messageId: string | null = null): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE deliveries SET status = $3, message_id = COALESCE($4, message_id), updated_at = $5
       WHERE announcement_id = $1 AND contact_id = $2 AND status = 'held' RETURNING contact_id`,
      [announcementId, contactId, status, messageId, now],
    );
    return rows.length > 0;
  }

  /** Held deliveries past their announcement's hold time become 'expired' (maintenance). */
  async expireHeld(now: Date): Promise<number> {
    const rows = await this.db.query(
      `UPDATE deliveries d SET status = 'expired', updated_at = $1 FROM announcements a
       WHERE a.id = d.announcement_id AND d.status = 'held'
         AND COALESCE(a.started_at, a.created_at) + make_interval(days => a.hold_days) <= $1
       RETURNING d.contact_id`,
      [now],
    );
    return rows.length;
  }
}

/** row_to_json gives timestamps as strings: turn the known timestamp columns back into Dates. */
function reviveDates(v: unknown): unknown {
  if (!v || typeof v !== 'object') return v;
  const o: Record<string, unknown> = { ...(v as Record<string, unknown>) };
  for (const k of ['scheduled_at', 'created_at', 'started_at', 'finished_at', 'cancelled_at', 'attempt_at', 'updated_at']) {
    if (typeof o[k] === 'string') o[k] = new Date(o[k]);
  }
  return o;
}
