// The audit log of the admin web: who did what, when, on which unit. Entries name staff,
// units and objects; never a citizen's personal data (callers pass ids and codes, not texts).
import { z } from 'zod';
import type { Queryable } from './database.js';

export interface AuditInput {
  /** Staff user id; null for an anonymous event such as a failed sign-in. */
  actor: number | null;
  action: string;
  unitId?: string | null;
  target?: string | null;
  detail?: Record<string, string | number | boolean | null>;
}

const Id = z.union([z.number(), z.string(), z.bigint()]).transform((v) => Number(v));
const JsonObject = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));

const Row = z.object({
  id: Id,
  at: z.date(),
  actor: Id.nullable(),
  action: z.string(),
  unit_id: z.string().nullable(),
  target: z.string().nullable(),
  // pg and PGlite both parse jsonb; tolerate a string in case a driver does not.
  detail: z.union([JsonObject, z.string().transform((s): unknown => JSON.parse(s)).pipe(JsonObject)]),
});

export interface AuditEntry {
  id: number;
  at: Date;
  actor: number | null;
  action: string;
  unitId: string | null;
  target: string | null;
  detail: Record<string, string | number | boolean | null>;
}

export class AuditRepository {
  constructor(private readonly db: Queryable) {}

  async record(entry: AuditInput): Promise<void> {
    await this.db.query('INSERT INTO audit_log (actor, action, unit_id, target, detail) VALUES ($1, $2, $3, $4, $5::jsonb)', [
      entry.actor,
      entry.action,
      entry.unitId ?? null,
      entry.target ?? null,
      JSON.stringify(entry.detail ?? {}),
    ]);
  }

  /** Newest first; unitId null lists every entry (a province-wide view). */
  async list(unitId: string | null, limit = 100): Promise<AuditEntry[]> {
    const n = Math.max(1, Math.min(1000, Math.floor(limit)));
    const rows =
      unitId === null
        ? await this.db.query('SELECT * FROM audit_log ORDER BY at DESC, id DESC LIMIT $1', [n])
        : await this.db.query('SELECT * FROM audit_log WHERE unit_id = $1 ORDER BY at DESC, id DESC LIMIT $2', [unitId, n]);
    return rows.map((raw) => {
      const r = Row.parse(raw);
      return { id: r.id, at: r.at, actor: r.actor, action: r.action, unitId: r.unit_id, target: r.target, detail: r.detail };
    });
  }
}
