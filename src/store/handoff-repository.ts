// Hand-off requests (table `handoffs`): a citizen asked for an officer.
import { z } from 'zod';
import { TranscriptLine, type HandoffQueue, type HandoffRequest } from '../conversation/ports.js';
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
  /** The conversation before the request, oldest first (digits masked). */
  transcript: TranscriptLine[];
}

/** How an officer ends a request: they answered the citizen, or closed it without an answer. */
export type HandoffResolution = 'answered' | 'closed';

interface Row {
  id: string | number;
  unit_id: string;
  channel: string;
  user_ref: string;
  text: string;
  status: Handoff['status'];
  created_at: Date;
  transcript: unknown;
}

const Transcript = z.array(TranscriptLine).catch([]);

function toHandoff(r: Row): Handoff {
  // pg and PGlite parse jsonb; tolerate a string from a driver that does not.
  const raw: unknown = typeof r.transcript === 'string' ? JSON.parse(r.transcript) : r.transcript;
  return {
    id: Number(r.id),
    unitId: r.unit_id,
    channel: r.channel,
    userRef: r.user_ref,
    text: r.text,
    status: r.status,
    createdAt: r.created_at,
    transcript: Transcript.parse(raw),
  };
}

const maskLines = (lines: readonly TranscriptLine[] | undefined): string =>
  // Only the citizen's words can hold their numbers; the bot's lines (time limits, the unit's phone,
  // procedure codes) are the catalogue's and stay readable.
  JSON.stringify((lines ?? []).slice(-TRANSCRIPT_KEEP).map((l) => ({ ...l, text: (l.from === 'citizen' ? maskDigits(l.text) : l.text).slice(0, 2000) })));
const TRANSCRIPT_KEEP = 20;

export class HandoffRepository implements HandoffQueue {
  constructor(private readonly db: Queryable) {}

  async request(r: HandoffRequest): Promise<void> {
    // One open request per citizen: a second "gặp cán bộ" refreshes it instead of piling up.
    const updated = await this.db.query(
      `UPDATE handoffs SET text = $4, updated_at = $5, transcript = $6::jsonb
       WHERE unit_id = $1 AND channel = $2 AND user_ref = $3 AND status = 'open' RETURNING id`,
      [r.unitId, r.channel, r.userId, maskDigits(r.text), r.at, maskLines(r.transcript)],
    );
    if (updated.length > 0) return;
    await this.db.query(
      `INSERT INTO handoffs (unit_id, channel, user_ref, text, created_at, updated_at, transcript) VALUES ($1, $2, $3, $4, $5, $5, $6::jsonb)`,
      [r.unitId, r.channel, r.userId, maskDigits(r.text), r.at, maskLines(r.transcript)],
    );
  }

  /**
   * Ends an open request of `unitId` (null: any unit — the CLI) as answered or closed; returns it
   * (so the caller can give the citizen back to the bot), or undefined if there is no such open
   * request in that unit.
   */
  async close(input: { id: number; unitId: string | null; by: string; resolution?: HandoffResolution }): Promise<Handoff | undefined> {
    const rows = await this.db.query<Row>(
      `UPDATE handoffs SET status = $3, handled_by = $4, updated_at = now()
       WHERE id = $1 AND ($2::text IS NULL OR unit_id = $2) AND status = 'open' RETURNING *`,
      [input.id, input.unitId, input.resolution ?? 'closed', input.by],
    );
    return rows[0] ? toHandoff(rows[0]) : undefined;
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
    return rows.map(toHandoff);
  }
}
