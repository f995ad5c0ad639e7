// Citizens as each channel account sees them. Every inbound event refreshes
// last_interaction_at, which drives every messaging-window decision.
import type { Queryable } from './database.js';

export interface Contact {
  id: number;
  accountId: number;
  platformUserId: string;
  lastInteractionAt: Date;
  following: boolean | null;
  reachable: boolean;
  unreachableReason: string | null;
}

interface Row {
  id: string | number;
  account_id: string | number;
  platform_user_id: string;
  last_interaction_at: Date;
  following: boolean | null;
  reachable: boolean;
  unreachable_reason: string | null;
}

const fromRow = (r: Row): Contact => ({
  id: Number(r.id),
  accountId: Number(r.account_id),
  platformUserId: r.platform_user_id,
  lastInteractionAt: r.last_interaction_at,
  following: r.following,
  reachable: r.reachable,
  unreachableReason: r.unreachable_reason,
});

export class ContactRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * Records an interaction at `at` (the platform's timestamp). The newest interaction wins, so a
   * retried old event never moves the window backwards. A citizen who writes is reachable again.
   */
  async touch(accountId: number, platformUserId: string, at: Date, following?: boolean): Promise<Contact> {
    const rows = await this.db.query<Row>(
      `INSERT INTO contacts (account_id, platform_user_id, first_seen_at, last_interaction_at, following)
       VALUES ($1, $2, $3, $3, $4)
       ON CONFLICT (account_id, platform_user_id) DO UPDATE SET
         last_interaction_at = GREATEST(contacts.last_interaction_at, EXCLUDED.last_interaction_at),
         following = COALESCE($4, contacts.following),
         reachable = true, unreachable_reason = NULL
       RETURNING *`,
      [accountId, platformUserId, at, following ?? null],
    );
    const row = rows[0];
    if (!row) throw new Error('contact upsert returned no row');
    return fromRow(row);
  }

  async find(accountId: number, platformUserId: string): Promise<Contact | undefined> {
    const rows = await this.db.query<Row>('SELECT * FROM contacts WHERE account_id = $1 AND platform_user_id = $2', [accountId, platformUserId]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async markUnreachable(accountId: number, platformUserId: string, reason: string): Promise<void> {
    await this.db.query(
      'UPDATE contacts SET reachable = false, unreachable_reason = $3 WHERE account_id = $1 AND platform_user_id = $2',
      [accountId, platformUserId, reason],
    );
  }

  async setFollowing(accountId: number, platformUserId: string, following: boolean, at: Date): Promise<void> {
    await this.touch(accountId, platformUserId, at, following);
  }
}
