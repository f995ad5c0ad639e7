// Hand-off requests (table `handoffs`): a citizen asked for an officer.
import type { HandoffQueue, HandoffRequest } from '../conversation/ports.js';
import type { Queryable } from './database.js';
import { maskDigits } from './query-log-repository.js';

export interface Handoff {
  id: number;
  unitId: string;
  channel: string;
  userRef: string;
  text: string;
  status: 'open' | 'answered' | 'closed';
  createdAt: Date;
}

interface Row {
  id: string | number;
  unit_id: string;
  channel: string;
  user_ref: string;
  text: string;
  status: Handoff['status'];
  created_at: Date;
}

export class HandoffRepository implements HandoffQueue {
  constructor(private readonly db: Queryable) {}

  async request(r: HandoffRequest): Promise<void> {
    // One open request per citizen: a second "gặp cán bộ" refreshes it instead of piling up.
    const updated = await this.db.query(
      `UPDATE handoffs SET text = $4, updated_at = $5
       WHERE unit_id = $1 AND channel = $2 AND user_ref = $3 AND status = 'open' RETURNING id`,
      [r.unitId, r.channel, r.userId, maskDigits(r.text), r.at],
    );
    if (updated.length > 0) return;
    await this.db.query(
      `INSERT INTO handoffs (unit_id, channel, user_ref, text, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)`,
      [r.unitId, r.channel, r.userId, maskDigits(r.text), r.at],
    );
  }

  /** Closes an open request; returns it (so the caller can give the citizen back to the bot). */
  async close(id: number, by: string): Promise<Handoff | undefined> {
    const rows = await this.db.query<Row>(
      `UPDATE handoffs SET status = 'closed', handled_by = $2, updated_at = now() WHERE id = $1 AND status <> 'closed' RETURNING *`,
      [id, by],
    );
    const r = rows[0];
    return r
      ? { id: Number(r.id), unitId: r.unit_id, channel: r.channel, userRef: r.user_ref, text: r.text, status: r.status, createdAt: r.created_at }
      : undefined;
  }

  async countOpen(unitId: string | null): Promise<number> {
    const rows = await this.db.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM handoffs WHERE status = 'open' AND ($1::text IS NULL OR unit_id = $1)`,
      [unitId],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async open(unitId: string, limit = 100): Promise<Handoff[]> {
    const rows = await this.db.query<Row>(
      `SELECT * FROM handoffs WHERE unit_id = $1 AND status = 'open' ORDER BY created_at LIMIT $2`,
      [unitId, limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      unitId: r.unit_id,
      channel: r.channel,
      userRef: r.user_ref,
      text: r.text,
      status: r.status,
      createdAt: r.created_at,
    }));
  }
}
