// The question log (table `queries`): what citizens asked, digit-masked by the engine, with the
// outcome. Officers read the unanswered ones to add aliases.
import type { QueryLog, QueryLogEntry, QueryOutcome } from '../conversation/ports.js';
import type { Queryable } from './database.js';

export interface LoggedQuery {
  id: number;
  unitId: string;
  channel: string;
  text: string;
  outcome: QueryOutcome;
  confidence: number | null;
  topCode: string | null;
  createdAt: Date;
}

interface Row {
  id: string | number;
  unit_id: string;
  channel: string;
  text: string;
  outcome: QueryOutcome;
  confidence: number | null;
  top_code: string | null;
  created_at: Date;
}

/** Every run of digits becomes '#': phone numbers, ID numbers and dates never reach the table. */
export const maskDigits = (text: string): string => text.replace(/\d+/g, '#');

export class QueryLogRepository implements QueryLog {
  constructor(private readonly db: Queryable) {}

  async record(entry: QueryLogEntry): Promise<void> {
    await this.db.query(
      `INSERT INTO queries (unit_id, channel, text, outcome, confidence, top_code, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      // Masked again here: the table must hold no digits whoever calls it.
      [entry.unitId, entry.channel, maskDigits(entry.text), entry.outcome, entry.confidence, entry.topCode, entry.at],
    );
  }

  async recent(unitId: string, options: { outcome?: QueryOutcome; limit?: number } = {}): Promise<LoggedQuery[]> {
    const rows = await this.db.query<Row>(
      `SELECT * FROM queries WHERE unit_id = $1 AND ($2::text IS NULL OR outcome = $2)
       ORDER BY created_at DESC, id DESC LIMIT $3`,
      [unitId, options.outcome ?? null, options.limit ?? 100],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      unitId: r.unit_id,
      channel: r.channel,
      text: r.text,
      outcome: r.outcome,
      confidence: r.confidence,
      topCode: r.top_code,
      createdAt: r.created_at,
    }));
  }

  /** Questions per outcome since `since`, for one unit or (null) the whole deployment. */
  async countByOutcome(unitId: string | null, since: Date): Promise<Record<QueryOutcome, number>> {
    const rows = await this.db.query<{ outcome: QueryOutcome; n: string | number }>(
      `SELECT outcome, count(*) AS n FROM queries WHERE ($1::text IS NULL OR unit_id = $1) AND created_at >= $2 GROUP BY outcome`,
      [unitId, since],
    );
    const out: Record<QueryOutcome, number> = { answered: 0, choices: 0, none: 0, handoff: 0 };
    for (const r of rows) out[r.outcome] = Number(r.n);
    return out;
  }

  /** Retention: forget questions older than `days`. Returns how many rows went. */
  async purgeOlderThan(days: number): Promise<number> {
    const rows = await this.db.query<{ id: string }>(
      `DELETE FROM queries WHERE created_at < now() - make_interval(days => $1) RETURNING id`,
      [days],
    );
    return rows.length;
  }
}
