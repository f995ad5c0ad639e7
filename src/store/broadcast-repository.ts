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
  survey: z.string().nullable(),
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
    survey: a.survey,
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

/** What the sender reads before deciding: the delivery, its announcement's state, the contact now. */
export interface SendContext {
  delivery: Delivery;
  announcementStatus: z.infer<typeof AnnouncementStatus>;
  contact: { platformUserId: string; lastInteractionAt: Date; following: boolean | null; reachable: boolean };
  /** Zalo promotions already sent to this contact since the given day / month starts. */
  sentToday: number;
  sentThisMonth: number;
}

/** A delivery the tick may have to drive again (its job may be gone). */
export interface RedriveCandidate {
  contactId: number;
  accountId: number;
  platform: z.infer<typeof BroadcastChannel>;
  platformUserId: string;
  status: 'pending' | 'sending';
}

const Count = z.union([z.number(), z.string(), z.bigint()]).transform((v) => Number(v));
const ContactNow = z.object({ platform_user_id: z.string(), last_interaction_at: z.date(), following: z.boolean().nullable(), reachable: z.boolean() });
const RedriveRow = z.object({ contact_id: Id, account_id: Id, platform: BroadcastChannel, status: z.enum(['pending', 'sending']), platform_user_id: z.string() });
const KeyRow = z.object({ announcement_id: Id, contact_id: Id });

/** A delivery's key. */
export interface DeliveryKey {
  announcementId: number;
  contactId: number;
}

const keyOf = (k: DeliveryKey): string => `${k.announcementId}:${k.contactId}`;

/** A row of the send-context query as a SendContext. */
function toSendContext(row: Record<string, unknown>): SendContext {
  const { announcement_status, platform_user_id, last_interaction_at, following, reachable, sent_today, sent_month, k_i: _i, ...rest } = row;
  const contact = ContactNow.parse({ platform_user_id, last_interaction_at, following, reachable });
  return {
    delivery: toDelivery(rest),
    announcementStatus: AnnouncementStatus.parse(announcement_status),
    contact: { platformUserId: contact.platform_user_id, lastInteractionAt: contact.last_interaction_at, following: contact.following, reachable: contact.reachable },
    sentToday: Count.parse(sent_today),
    sentThisMonth: Count.parse(sent_month),
  };
}

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
      `INSERT INTO announcements (unit_id, title, body, link_url, image_url, group_ids, channels, scheduled_at, hold_days, created_by, survey)
       VALUES ($1, $2, $3, $4, $5, $6::bigint[], $7::text[], $8, $9, $10, $11) RETURNING *`,
      [unitId, input.title, input.body, input.linkUrl, input.imageUrl, input.groupIds, input.channels, input.scheduledAt, input.holdDays, createdBy, input.survey],
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

  /**
   * One read for the sender: the delivery, the announcement's status, the contact as it is now
   * and (Zalo) the promotions already sent to the contact since `dayStart` / `monthStart`.
   */
  async sendContext(announcementId: number, contactId: number, dayStart: Date, monthStart: Date): Promise<SendContext | undefined> {
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT d.*, a.status AS announcement_status,
              c.platform_user_id, c.last_interaction_at, c.following, c.reachable,
              COALESCE(z.today, 0) AS sent_today, COALESCE(z.month, 0) AS sent_month
       FROM deliveries d
       JOIN announcements a ON a.id = d.announcement_id
       JOIN contacts c ON c.id = d.contact_id
       LEFT JOIN LATERAL (
         SELECT count(*) FILTER (WHERE s.updated_at >= $3) AS today, count(*) AS month
         FROM deliveries s
         WHERE d.platform = 'zalo' AND s.contact_id = d.contact_id AND s.status = 'sent' AND s.platform = 'zalo' AND s.updated_at >= $4
       ) z ON true
       WHERE d.announcement_id = $1 AND d.contact_id = $2`,
      [announcementId, contactId, dayStart, monthStart],
    );
    const row = rows[0];
    return row ? toSendContext(row) : undefined;
  }

  /** sendContext for many deliveries in one query (the sender batches concurrent jobs). */
  async sendContexts(items: ReadonlyArray<DeliveryKey & { dayStart: Date; monthStart: Date }>): Promise<Array<SendContext | undefined>> {
    if (items.length === 0) return [];
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT k.i AS k_i, d.*, a.status AS announcement_status,
              c.platform_user_id, c.last_interaction_at, c.following, c.reachable,
              COALESCE(z.today, 0) AS sent_today, COALESCE(z.month, 0) AS sent_month
       FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[]) WITH ORDINALITY AS k(a, c, day, month, i)
       JOIN deliveries d ON d.announcement_id = k.a AND d.contact_id = k.c
       JOIN announcements a ON a.id = d.announcement_id
       JOIN contacts c ON c.id = d.contact_id
       LEFT JOIN LATERAL (
         SELECT count(*) FILTER (WHERE s.updated_at >= k.day) AS today, count(*) AS month
         FROM deliveries s
         WHERE d.platform = 'zalo' AND s.contact_id = d.contact_id AND s.status = 'sent' AND s.platform = 'zalo' AND s.updated_at >= k.month
       ) z ON true`,
      [items.map((i) => i.announcementId), items.map((i) => i.contactId), items.map((i) => i.dayStart.toISOString()), items.map((i) => i.monthStart.toISOString())],
    );
    const out: Array<SendContext | undefined> = items.map(() => undefined);
    for (const row of rows) out[Number(row['k_i']) - 1] = toSendContext(row);
    return out;
  }

  /**
   * claim() for many deliveries in one statement. A delivery named twice in one batch is claimed
   * for the first caller only; the others get 'settled' (so no two senders ever hold it).
   */
  async claimMany(items: ReadonlyArray<DeliveryKey & { now: Date; leaseMs: number }>): Promise<Claim[]> {
    if (items.length === 0) return [];
    const first = new Map<string, number>();
    items.forEach((item, i) => {
      if (!first.has(keyOf(item))) first.set(keyOf(item), i);
    });
    const unique = [...first.values()].map((i) => items[i] as DeliveryKey & { now: Date; leaseMs: number });
    const rows = await this.db.query<Record<string, unknown>>(
      `UPDATE deliveries d SET status = 'sending', attempt_at = k.now, attempts = d.attempts + 1, updated_at = k.now
       FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[]) AS k(a, c, now, expired), deliveries old
       WHERE d.announcement_id = k.a AND d.contact_id = k.c
         AND old.announcement_id = d.announcement_id AND old.contact_id = d.contact_id
         AND (d.status = 'pending' OR (d.status = 'sending' AND d.attempt_at < k.expired))
       RETURNING d.*, old.status AS previous`,
      [
        unique.map((i) => i.announcementId),
        unique.map((i) => i.contactId),
        unique.map((i) => i.now.toISOString()),
        unique.map((i) => new Date(i.now.getTime() - i.leaseMs).toISOString()),
      ],
    );
    const claimed = new Map<string, Claim>();
    for (const row of rows) {
      const { previous, ...rest } = row;
      const delivery = toDelivery(rest);
      claimed.set(keyOf(delivery), previous === 'sending' ? { kind: 'in_doubt', delivery } : { kind: 'claimed', delivery });
    }
    return Promise.all(
      items.map(async (item, i): Promise<Claim> => {
        const c = claimed.get(keyOf(item));
        if (c && first.get(keyOf(item)) === i) return c;
        return { kind: 'settled', delivery: await this.getDelivery(item.announcementId, item.contactId) };
      }),
    );
  }

  /** finish() for many deliveries in one statement; true where this call recorded the outcome. */
  async finishEach(items: ReadonlyArray<DeliveryKey & { outcome: DeliveryOutcome; now: Date }>): Promise<boolean[]> {
    if (items.length === 0) return [];
    const first = new Map<string, number>();
    items.forEach((item, i) => {
      if (!first.has(keyOf(item))) first.set(keyOf(item), i);
    });
    const unique = [...first.values()].map((i) => items[i] as DeliveryKey & { outcome: DeliveryOutcome; now: Date });
    const rows = await this.db.query<Record<string, unknown>>(
      `UPDATE deliveries d SET status = v.status, reason = NULLIF(v.reason, ''), message_id = NULLIF(v.message_id, ''), updated_at = v.at
       FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS v(a, c, status, reason, message_id, at)
       WHERE d.announcement_id = v.a AND d.contact_id = v.c AND d.status IN ('pending', 'sending')
       RETURNING d.announcement_id, d.contact_id`,
      [
        unique.map((i) => i.announcementId),
        unique.map((i) => i.contactId),
        unique.map((i) => i.outcome.status),
        unique.map((i) => (i.outcome.status === 'sent' ? '' : i.outcome.reason)),
        unique.map((i) => (i.outcome.status === 'sent' ? (i.outcome.messageId ?? '') : '')),
        unique.map((i) => i.now.toISOString()),
      ],
    );
    const done = new Set(rows.map((r) => keyOf((({ announcement_id, contact_id }) => ({ announcementId: announcement_id, contactId: contact_id }))(KeyRow.parse(r)))));
    return items.map((item, i) => first.get(keyOf(item)) === i && done.has(keyOf(item)));
  }

  /**
   * Not now (Zalo at night): back to pending, not to be sent before `until` (kept in attempt_at,
   * which for a pending delivery means "not before"). False if it was already settled.
   */
  async defer(announcementId: number, contactId: number, until: Date, now: Date): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE deliveries SET status = 'pending', attempt_at = $3, updated_at = $4
       WHERE announcement_id = $1 AND contact_id = $2 AND status IN ('pending', 'sending') RETURNING contact_id`,
      [announcementId, contactId, until, now],
    );
    return rows.length > 0;
  }

  /**
   * The platform message ids of the bodies already sent for a claimed delivery, comma-separated
   * in message_id: a delivery of several messages resumes after the last one recorded.
   */
  async recordProgress(announcementId: number, contactId: number, messageIds: readonly string[], now: Date): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE deliveries SET message_id = $3, updated_at = $4 WHERE announcement_id = $1 AND contact_id = $2 AND status = 'sending' RETURNING contact_id`,
      [announcementId, contactId, messageIds.join(','), now],
    );
    return rows.length > 0;
  }

  /** Records one outcome for many pending deliveries at once (e.g. website recipients held at fan-out). */
  async finishMany(announcementId: number, contactIds: readonly number[], outcome: DeliveryOutcome, now: Date): Promise<number> {
    if (contactIds.length === 0) return 0;
    const rows = await this.db.query(
      `UPDATE deliveries SET status = $3, reason = $4, message_id = $5, updated_at = $6
       WHERE announcement_id = $1 AND contact_id = ANY($2::bigint[]) AND status = 'pending' RETURNING contact_id`,
      [announcementId, [...contactIds], outcome.status, outcome.status === 'sent' ? null : outcome.reason, outcome.status === 'sent' ? outcome.messageId : null, now],
    );
    return rows.length;
  }

  /** A claimed delivery of a cancelled announcement that turned out not to have been sent. */
  async cancelClaimed(announcementId: number, contactId: number, now: Date): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE deliveries SET status = 'cancelled', updated_at = $3 WHERE announcement_id = $1 AND contact_id = $2 AND status = 'sending' RETURNING contact_id`,
      [announcementId, contactId, now],
    );
    return rows.length > 0;
  }

  /**
   * Deliveries of an announcement whose send job may be gone (a worker died, the account was
   * paused and is active again): pending and due (not deferred past `now`) and untouched for
   * `idleMs`, or 'sending' past their lease; only on active channel accounts. Keyset by contact.
   */
  async redriveCandidates(announcementId: number, afterContactId: number, now: Date, idleMs: number, leaseMs: number, limit: number): Promise<RedriveCandidate[]> {
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT d.contact_id, d.account_id, d.platform, d.status, c.platform_user_id
       FROM deliveries d
       JOIN channel_accounts ca ON ca.id = d.account_id AND ca.status = 'active'
       JOIN contacts c ON c.id = d.contact_id
       WHERE d.announcement_id = $1 AND d.contact_id > $2
         AND (
           (d.status = 'pending' AND (d.attempt_at IS NULL OR d.attempt_at <= $3) AND d.updated_at <= $4)
           OR (d.status = 'sending' AND d.attempt_at < $5)
         )
       ORDER BY d.contact_id LIMIT $6`,
      [announcementId, afterContactId, now, new Date(now.getTime() - idleMs), new Date(now.getTime() - leaseMs), limit],
    );
    return rows.map((r) => {
      const p = RedriveRow.parse(r);
      return { contactId: p.contact_id, accountId: p.account_id, platform: p.platform, platformUserId: p.platform_user_id, status: p.status };
    });
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
