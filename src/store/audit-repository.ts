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

/** An entry with the actor's username (null when anonymous or the account was deleted). */
export interface AuditEntryWithActor extends AuditEntry {
  actorUsername: string | null;
}

export interface AuditPageQuery {
  /** null = every entry (province-wide view); otherwise only entries of that unit. */
  unitId: string | null;
  /** Keyset paging: only entries with an id below this one. */
  before?: number;
  /** Keep entries whose action starts with one of these (e.g. 'auth.'); empty/undefined = all. */
  actionPrefixes?: readonly string[];
  limit?: number;
}

function entryFromRow(raw: unknown): AuditEntry {
  const r = Row.parse(raw);
  return { id: r.id, at: r.at, actor: r.actor, action: r.action, unitId: r.unit_id, target: r.target, detail: r.detail };
}

const ActorName = z.object({ actor_username: z.string().nullable() });

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
    return rows.map(entryFromRow);
  }

  /**
   * One page of the log for the admin, newest first by id (ids grow with time, which makes a
   * stable keyset: pass the last id shown as `before` for the next page).
   */
  async page(query: AuditPageQuery): Promise<AuditEntryWithActor[]> {
    const n = Math.max(1, Math.min(1000, Math.floor(query.limit ?? 50)));
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (query.unitId !== null) {
      params.push(query.unitId);
      where.push(`a.unit_id = $${params.length}`);
    }
    if (query.before !== undefined) {
      params.push(query.before);
      where.push(`a.id < $${params.length}`);
    }
    const prefixes = query.actionPrefixes ?? [];
    if (prefixes.length > 0) {
      // left()/length() rather than LIKE: no wildcard characters to escape in the prefix.
      const alternatives = prefixes.map((p) => {
        params.push(p);
        return `left(a.action, length($${params.length}::text)) = $${params.length}::text`;
      });
      where.push(`(${alternatives.join(' OR ')})`);
    }
    params.push(n);
    const rows = await this.db.query(
      `SELECT a.*, u.username AS actor_username FROM audit_log a LEFT JOIN staff_users u ON u.id = a.actor
       ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       ORDER BY a.id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map((raw) => ({ ...entryFromRow(raw), actorUsername: ActorName.parse(raw).actor_username }));
  }
}
