// The inbound spool (table `inbound_spool`): webhook events acknowledged while Redis could not
// take them, kept until a drain moves them into the inbound queue (src/jobs/inbound-spool-drain.ts).
// A drainer leases a batch (one batch in flight at a time across every process, so that the
// events reach Redis in the order they arrived), submits it, then deletes what Redis took; a
// drainer that dies leaves a lease that lapses. No transaction is held open while Redis is
// called: on PGlite one would stop every other query of the process meanwhile.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ParsedEvent } from '../channels/platform-event.js';
import type { Database } from './database.js';

/** What the intake would have queued: the routed event and when it arrived (epoch ms). */
export interface SpoolJob {
  accountId: number;
  unitId: string;
  event: ParsedEvent;
  receivedAt: number;
}

export interface SpooledEvent {
  /** The dedupe key `platform:dedupeKey`. */
  key: string;
  job: SpoolJob;
}

/** A lease's outcome: the batch (oldest first), or `busy` while another drainer holds one. */
export type LeaseResult = { busy: true } | { busy: false; token: string; events: SpooledEvent[]; unreadable: string[] };

const Row = z.object({
  key: z.string(),
  account_id: z.coerce.number().int().positive(),
  unit_id: z.string().min(1),
  event: z.string(),
  received_at: z.coerce.date(),
});

export class InboundSpoolRepository {
  constructor(private readonly db: Database) {}

  /** Keeps an event; false when its key is already spooled (a retried body). */
  async put(key: string, job: SpoolJob): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO inbound_spool (key, account_id, unit_id, event, received_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (key) DO NOTHING RETURNING key`,
      [key, job.accountId, job.unitId, JSON.stringify(job.event), new Date(job.receivedAt)],
    );
    return rows.length === 1;
  }

  /**
   * Leases up to `limit` of the oldest events for `leaseMs`. Busy while another drainer's lease
   * is alive: its batch must reach Redis before anything younger.
   */
  async lease(limit: number, leaseMs: number): Promise<LeaseResult> {
    const token = randomBytes(12).toString('hex');
    return this.db.transaction(async (tx) => {
      // Lease-taking is serialised per schema (tests share a database); the lock ends with the
      // transaction, a few milliseconds later.
      const [lock] = await tx.query<{ got: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || '.inbound_spool')) AS got`);
      if (!lock?.got) return { busy: true };
      const [held] = await tx.query<{ busy: boolean }>(`SELECT EXISTS (SELECT 1 FROM inbound_spool WHERE lease_until > now()) AS busy`);
      if (held?.busy) return { busy: true };
      const rows = await tx.query(
        `SELECT key, account_id, unit_id, event, received_at FROM inbound_spool ORDER BY received_at, id LIMIT $1`,
        [limit],
      );
      const keys = rows.map((r) => String(r['key']));
      if (keys.length) {
        await tx.query(`UPDATE inbound_spool SET lease_token = $1, lease_until = now() + make_interval(secs => $2::double precision) WHERE key = ANY($3)`, [
          token,
          leaseMs / 1000,
          keys,
        ]);
      }
      const events: SpooledEvent[] = [];
      const unreadable: string[] = [];
      for (const raw of rows) {
        const row = Row.safeParse(raw);
        const event = row.success ? ParsedEvent.safeParse(parseJson(row.data.event)) : undefined;
        if (!row.success || !event?.success) {
          unreadable.push(String(raw['key']));
          continue;
        }
        events.push({
          key: row.data.key,
          job: { accountId: row.data.account_id, unitId: row.data.unit_id, event: event.data, receivedAt: row.data.received_at.getTime() },
        });
      }
      return { busy: false, token, events, unreadable };
    });
  }

  /** Deletes leased events (Redis took them). A lease that lapsed and was taken over is left alone. */
  async remove(token: string, keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const rows = await this.db.query(`DELETE FROM inbound_spool WHERE lease_token = $1 AND key = ANY($2) RETURNING key`, [token, [...keys]]);
    return rows.length;
  }

  /** Gives leased events back at once (Redis failed again): the next drain takes them first. */
  async release(token: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.db.query(`UPDATE inbound_spool SET lease_token = NULL, lease_until = NULL WHERE lease_token = $1 AND key = ANY($2)`, [token, [...keys]]);
  }

  /** Does the spool hold anything? (Cheap: asked every few seconds by each web process.) */
  async any(): Promise<boolean> {
    const [row] = await this.db.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM inbound_spool) AS any`);
    return row?.any === true;
  }

  /** The number of events waiting (the /metrics gauge). */
  async depth(): Promise<number> {
    const [row] = await this.db.query<{ n: number | string }>(`SELECT count(*)::int AS n FROM inbound_spool`);
    return Number(row?.n ?? 0);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
