// Dossiers of a unit and their status history (issue #7): the one place that writes them, for
// the three feeds (admin, spreadsheet import, API). Every write carries its provenance and an
// event time (the source's clock); a write older than the newest one already applied changes
// nothing ("stale"), so updates that arrive out of order never turn a dossier back. A status
// change appends one history event; a write that does not change the status appends none.
// Codes are looked up by their key (code.ts: case and white space ignored). Also: verification
// of the citizen's digits, chat contacts linked for notifications, the outbox of result events,
// and the per-period figures of the reports.
import { z } from 'zod';
import type { Database, Queryable, SqlParam } from '../store/database.js';
import { codeKey } from './code.js';
import { CLOSED_STATUSES, DossierStatus, OPEN_STATUSES } from './status.js';
import type { DossierVerifier, VerificationDigest } from './verification.js';

export const DossierSource = z.enum(['admin', 'import', 'api']);
export type DossierSource = z.infer<typeof DossierSource>;

export interface Dossier {
  id: number;
  unitId: string;
  /** As printed on the receipt. */
  code: string;
  codeKey: string;
  procedureCode: string | null;
  procedureName: string | null;
  receivedAt: Date;
  dueAt: Date | null;
  status: DossierStatus;
  statusAt: Date;
  missing: string | null;
  pickupPlace: string | null;
  resolvedAt: Date | null;
  returnedAt: Date | null;
  closedAt: Date | null;
  /** Whether verification digits were given (the verifier itself never leaves this module). */
  hasVerification: boolean;
  sourceAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

export interface DossierEvent {
  id: number;
  dossierId: number;
  fromStatus: DossierStatus | null;
  toStatus: DossierStatus;
  at: Date;
  recordedAt: Date;
  source: DossierSource;
  actor: number | null;
  importId: number | null;
  note: string | null;
}

export interface HistoryEntry extends DossierEvent {
  /** The staff user behind the change (the officer, the token's owner), if still there. */
  actorUsername: string | null;
}

/** Who wrote, through what, and when it happened by the source's clock. */
export interface Provenance {
  source: DossierSource;
  /** Staff user id (the officer, the API token's owner, the importing officer). */
  actor: number | null;
  importId?: number | null;
  /** As of when the source knew this: orders the writes (an older one is stale). */
  at: Date;
  /**
   * When the new status began, if the source says so and it differs from `at` (an import's
   * "Ngày trả kết quả" column, read from a file exported later); defaults to `at`.
   */
  since?: Date;
  note?: string | null;
}

/**
 * A dossier as a feed knows it. Optional fields: undefined keeps what is stored, null clears it
 * (procedure code and name cannot both end up empty).
 */
export interface DossierInput {
  unitId: string;
  code: string;
  procedureCode?: string | null;
  procedureName?: string | null;
  receivedAt: Date;
  dueAt?: Date | null;
  status: DossierStatus;
  missing?: string | null;
  pickupPlace?: string | null;
  /** undefined keeps the stored verification. */
  verification?: VerificationDigest;
}

export interface StatusChangeInput {
  status: DossierStatus;
  /** What is missing (needs_supplement); cleared when the status is another one. */
  missing?: string | null;
  pickupPlace?: string | null;
  dueAt?: Date | null;
}

export type ChangedField = 'procedure' | 'receivedAt' | 'dueAt' | 'status' | 'missing' | 'pickupPlace' | 'verification';
export type WriteOutcome = 'created' | 'updated' | 'unchanged' | 'stale';

export interface WriteResult {
  outcome: WriteOutcome;
  dossier: Dossier;
  changed: ChangedField[];
  /** The history event appended (a creation or a status change), if any. */
  event: DossierEvent | null;
}

export interface DossierListQuery {
  status?: DossierStatus;
  /** Part of a code (case and spaces ignored). */
  code?: string;
  /** Keyset paging: only dossiers with a smaller id. */
  beforeId?: number;
  limit?: number;
}

export interface DossierLink {
  dossierId: number;
  contactId: number;
  linkedAt: Date;
  notifyResult: boolean;
  notifyChanges: boolean;
  resultNotifiedAt: Date | null;
  evaluationOfferedAt: Date | null;
}

export interface OutboxEvent extends DossierEvent {
  unitId: string;
  code: string;
}

/** Figures of one period (and of one procedure within it). See report() for the definitions. */
export interface DossierFigures {
  received: number;
  resolved: number;
  resolvedOnTime: number;
  resolvedLate: number;
  openOnTime: number;
  openOverdue: number;
  /** Rejected or withdrawn in the period. */
  closed: number;
  returned: number;
  /** Returned in the period and evaluated by the citizen (a completed dossier survey). */
  evaluated: number;
  /** Of those, rated Rất hài lòng or Hài lòng overall. */
  satisfied: number;
  /** = resolvedOnTime. */
  onTime: number;
  /** = resolvedLate + openOverdue. */
  late: number;
}

export interface ProcedureFigures extends DossierFigures {
  procedureCode: string | null;
  procedureName: string | null;
}

export interface DossierReport {
  unitId: string;
  from: Date;
  to: Date;
  /** The instant open dossiers are judged at: the period's end, or now for the current period. */
  asOf: Date;
  totals: DossierFigures;
  byProcedure: ProcedureFigures[];
}

// --- rows ------------------------------------------------------------------------------------------

const Id = z.union([z.number(), z.string(), z.bigint()]).transform((v) => Number(v));
const Instant = z.union([z.date(), z.string().transform((s) => new Date(s))]);

const DossierRow = z.object({
  id: Id,
  unit_id: z.string(),
  code: z.string(),
  code_key: z.string(),
  procedure_code: z.string().nullable(),
  procedure_name: z.string().nullable(),
  received_at: Instant,
  due_at: Instant.nullable(),
  status: DossierStatus,
  status_at: Instant,
  missing: z.string().nullable(),
  pickup_place: z.string().nullable(),
  resolved_at: Instant.nullable(),
  returned_at: Instant.nullable(),
  closed_at: Instant.nullable(),
  verifier: z.string().nullable(),
  source_at: Instant,
  created_at: Instant,
  updated_at: Instant,
});
type DossierRow = z.infer<typeof DossierRow>;

const EventRow = z.object({
  id: Id,
  dossier_id: Id,
  from_status: DossierStatus.nullable(),
  to_status: DossierStatus,
  at: Instant,
  recorded_at: Instant,
  source: DossierSource,
  actor: Id.nullable(),
  import_id: Id.nullable(),
  note: z.string().nullable(),
});

const LinkRow = z.object({
  dossier_id: Id,
  contact_id: Id,
  linked_at: Instant,
  notify_result: z.boolean(),
  notify_changes: z.boolean(),
  result_notified_at: Instant.nullable(),
  evaluation_offered_at: Instant.nullable(),
});

const toDossier = (raw: unknown): Dossier => {
  const r = DossierRow.parse(raw);
  return {
    id: r.id,
    unitId: r.unit_id,
    code: r.code,
    codeKey: r.code_key,
    procedureCode: r.procedure_code,
    procedureName: r.procedure_name,
    receivedAt: r.received_at,
    dueAt: r.due_at,
    status: r.status,
    statusAt: r.status_at,
    missing: r.missing,
    pickupPlace: r.pickup_place,
    resolvedAt: r.resolved_at,
    returnedAt: r.returned_at,
    closedAt: r.closed_at,
    hasVerification: r.verifier !== null,
    sourceAt: r.source_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
};

const toEvent = (raw: unknown): DossierEvent => {
  const r = EventRow.parse(raw);
  return { id: r.id, dossierId: r.dossier_id, fromStatus: r.from_status, toStatus: r.to_status, at: r.at, recordedAt: r.recorded_at, source: r.source, actor: r.actor, importId: r.import_id, note: r.note };
};

const toLink = (raw: unknown): DossierLink => {
  const r = LinkRow.parse(raw);
  return {
    dossierId: r.dossier_id,
    contactId: r.contact_id,
    linkedAt: r.linked_at,
    notifyResult: r.notify_result,
    notifyChanges: r.notify_changes,
    resultNotifiedAt: r.result_notified_at,
    evaluationOfferedAt: r.evaluation_offered_at,
  };
};

// --- planning (pure) -------------------------------------------------------------------------------

/** The stored state a write produces, before it is written. */
interface State {
  procedureCode: string | null;
  procedureName: string | null;
  receivedAt: Date;
  dueAt: Date | null;
  status: DossierStatus;
  statusAt: Date;
  missing: string | null;
  pickupPlace: string | null;
  resolvedAt: Date | null;
  returnedAt: Date | null;
  closedAt: Date | null;
  verifier: string | null;
}

export interface Plan {
  outcome: WriteOutcome;
  changed: ChangedField[];
  state: State | null;
  /** A history event to append: the status it leaves (null for a creation) and the one it enters. */
  transition: { from: DossierStatus | null; to: DossierStatus; at: Date } | null;
}

const sameTime = (a: Date | null, b: Date | null): boolean => (a === null || b === null ? a === b : a.getTime() === b.getTime());
const keep = <T>(next: T | undefined, current: T): T => (next === undefined ? current : next);

/** Derived dates after entering `status` at `at` from `prev` (undefined for a new dossier). */
function derive(prev: State | undefined, status: DossierStatus, at: Date): Pick<State, 'resolvedAt' | 'returnedAt' | 'closedAt'> {
  if (OPEN_STATUSES.has(status)) return { resolvedAt: null, returnedAt: null, closedAt: null };
  if (CLOSED_STATUSES.has(status)) return { resolvedAt: null, returnedAt: null, closedAt: at };
  // result_ready or returned: the result exists since it first did.
  const resolvedAt = prev?.resolvedAt ?? at;
  return { resolvedAt, returnedAt: status === 'returned' ? at : null, closedAt: null };
}

/**
 * What writing `input` at `at` would do to `existing` (undefined: no such dossier yet). Pure:
 * the import's dry run and the real write use the same decision.
 */
export function planWrite(
  existing: (State & { sourceAt: Date }) | undefined,
  input: Omit<DossierInput, 'unitId' | 'code' | 'verification'> & { verifier?: (current: string | null) => string | null },
  at: Date,
  since: Date = at,
): Plan {
  const missingFor = (status: DossierStatus, missing: string | null | undefined, current: string | null): string | null =>
    status === 'needs_supplement' ? keep(missing, current) : null;
  if (existing === undefined) {
    const statusAt = input.status === 'received' && input.receivedAt < since ? input.receivedAt : since;
    const state: State = {
      procedureCode: input.procedureCode ?? null,
      procedureName: input.procedureName ?? null,
      receivedAt: input.receivedAt,
      dueAt: input.dueAt ?? null,
      status: input.status,
      statusAt,
      missing: missingFor(input.status, input.missing, null),
      pickupPlace: input.pickupPlace ?? null,
      ...derive(undefined, input.status, statusAt),
      verifier: input.verifier ? input.verifier(null) : null,
    };
    return { outcome: 'created', changed: [], state, transition: { from: null, to: input.status, at: statusAt } };
  }
  if (at < existing.sourceAt) return { outcome: 'stale', changed: [], state: null, transition: null };
  // A status cannot begin before the one it follows (a date-only "Ngày trả kết quả" read as the
  // start of a day that already saw a change): the history stays in order.
  if (since < existing.statusAt) since = existing.statusAt;
  const statusChanges = input.status !== existing.status;
  const next: State = {
    procedureCode: keep(input.procedureCode, existing.procedureCode),
    procedureName: keep(input.procedureName, existing.procedureName),
    receivedAt: input.receivedAt,
    dueAt: keep(input.dueAt, existing.dueAt),
    status: input.status,
    statusAt: statusChanges ? since : existing.statusAt,
    missing: missingFor(input.status, input.missing, existing.missing),
    pickupPlace: keep(input.pickupPlace, existing.pickupPlace),
    ...(statusChanges ? derive(existing, input.status, since) : { resolvedAt: existing.resolvedAt, returnedAt: existing.returnedAt, closedAt: existing.closedAt }),
    verifier: input.verifier ? input.verifier(existing.verifier) : existing.verifier,
  };
  if (next.procedureCode === null && next.procedureName === null) {
    next.procedureCode = existing.procedureCode;
    next.procedureName = existing.procedureName;
  }
  const changed: ChangedField[] = [];
  if (next.procedureCode !== existing.procedureCode || next.procedureName !== existing.procedureName) changed.push('procedure');
  if (!sameTime(next.receivedAt, existing.receivedAt)) changed.push('receivedAt');
  if (!sameTime(next.dueAt, existing.dueAt)) changed.push('dueAt');
  if (statusChanges) changed.push('status');
  if (next.missing !== existing.missing) changed.push('missing');
  if (next.pickupPlace !== existing.pickupPlace) changed.push('pickupPlace');
  if (next.verifier !== existing.verifier) changed.push('verification');
  return {
    outcome: changed.length === 0 ? 'unchanged' : 'updated',
    changed,
    state: next,
    transition: statusChanges ? { from: existing.status, to: input.status, at: since } : null,
  };
}

const stateOf = (r: DossierRow): State & { sourceAt: Date } => ({
  procedureCode: r.procedure_code,
  procedureName: r.procedure_name,
  receivedAt: r.received_at,
  dueAt: r.due_at,
  status: r.status,
  statusAt: r.status_at,
  missing: r.missing,
  pickupPlace: r.pickup_place,
  resolvedAt: r.resolved_at,
  returnedAt: r.returned_at,
  closedAt: r.closed_at,
  verifier: r.verifier,
  sourceAt: r.source_at,
});

// --- writes inside a transaction -------------------------------------------------------------------

/** The writes, bound to one transaction (DossierRepository.transaction gives one). */
export class DossierWriter {
  constructor(
    private readonly q: Queryable,
    private readonly verifier: DossierVerifier,
  ) {}

  /** The verifier callback of a write: keeps the stored one when it already holds the digest. */
  private sealer(digest: VerificationDigest | undefined): ((current: string | null) => string | null) | undefined {
    if (digest === undefined) return undefined;
    return (current) => (current !== null && this.verifier.matches(current, digest) ? current : this.verifier.seal(digest));
  }

  private async locked(unitId: string, key: string): Promise<DossierRow | undefined> {
    const rows = await this.q.query('SELECT * FROM dossiers WHERE unit_id = $1 AND code_key = $2 FOR UPDATE', [unitId, key]);
    return rows[0] === undefined ? undefined : DossierRow.parse(rows[0]);
  }

  /** Creates the dossier or brings it up to date; idempotent (a repeat is "unchanged"). */
  async upsert(input: DossierInput, prov: Provenance): Promise<WriteResult> {
    const key = codeKey(input.code);
    const sealer = this.sealer(input.verification);
    const fields = { ...input, ...(sealer ? { verifier: sealer } : {}) };
    let row = await this.locked(input.unitId, key);
    if (row === undefined) {
      const plan = planWrite(undefined, fields, prov.at, prov.since);
      const s = plan.state;
      if (s === null) throw new Error('unreachable: a creation always has a state');
      const inserted = await this.q.query(
        `INSERT INTO dossiers (unit_id, code, code_key, procedure_code, procedure_name, received_at, due_at, status, status_at, missing,
           pickup_place, resolved_at, returned_at, closed_at, verifier, source_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (unit_id, code_key) DO NOTHING RETURNING *`,
        [input.unitId, input.code, key, s.procedureCode, s.procedureName, s.receivedAt, s.dueAt, s.status, s.statusAt, s.missing, s.pickupPlace, s.resolvedAt, s.returnedAt, s.closedAt, s.verifier, prov.at],
      );
      if (inserted[0] !== undefined) {
        const dossier = toDossier(inserted[0]);
        const event = await this.appendEvent(dossier.id, null, s.status, s.statusAt, prov);
        return { outcome: 'created', dossier, changed: [], event };
      }
      // Created by a concurrent write since the look-up: continue as an update of that one.
      row = await this.locked(input.unitId, key);
      if (row === undefined) throw new Error('dossier vanished during upsert');
    }
    return this.applyPlan(row, planWrite(stateOf(row), fields, prov.at, prov.since), prov);
  }

  /** Changes the status of an existing dossier (by id, within its unit); undefined if none. */
  async changeStatus(unitId: string, id: number, change: StatusChangeInput, prov: Provenance): Promise<WriteResult | undefined> {
    const rows = await this.q.query('SELECT * FROM dossiers WHERE unit_id = $1 AND id = $2 FOR UPDATE', [unitId, id]);
    if (rows[0] === undefined) return undefined;
    const row = DossierRow.parse(rows[0]);
    const plan = planWrite(stateOf(row), { ...change, receivedAt: row.received_at }, prov.at, prov.since);
    return this.applyPlan(row, plan, prov);
  }

  private async applyPlan(row: DossierRow, plan: Plan, prov: Provenance): Promise<WriteResult> {
    const s = plan.state;
    if (plan.outcome === 'stale' || s === null) return { outcome: 'stale', dossier: toDossier(row), changed: [], event: null };
    if (plan.outcome === 'unchanged') {
      // Nothing differs, but the source confirmed this state as of `at`: older writes are stale now.
      if (prov.at > row.source_at) {
        const rows = await this.q.query('UPDATE dossiers SET source_at = $2 WHERE id = $1 RETURNING *', [row.id, prov.at]);
        return { outcome: 'unchanged', dossier: toDossier(rows[0]), changed: [], event: null };
      }
      return { outcome: 'unchanged', dossier: toDossier(row), changed: [], event: null };
    }
    const updated = await this.q.query(
      `UPDATE dossiers SET procedure_code = $2, procedure_name = $3, received_at = $4, due_at = $5, status = $6, status_at = $7,
         missing = $8, pickup_place = $9, resolved_at = $10, returned_at = $11, closed_at = $12, verifier = $13,
         source_at = GREATEST(source_at, $14::timestamptz), updated_at = now()
       WHERE id = $1 RETURNING *`,
      [row.id, s.procedureCode, s.procedureName, s.receivedAt, s.dueAt, s.status, s.statusAt, s.missing, s.pickupPlace, s.resolvedAt, s.returnedAt, s.closedAt, s.verifier, prov.at],
    );
    const dossier = toDossier(updated[0]);
    const event = plan.transition ? await this.appendEvent(dossier.id, plan.transition.from, plan.transition.to, plan.transition.at, prov) : null;
    return { outcome: 'updated', dossier, changed: plan.changed, event };
  }

  private async appendEvent(dossierId: number, from: DossierStatus | null, to: DossierStatus, at: Date, prov: Provenance): Promise<DossierEvent> {
    const rows = await this.q.query(
      `INSERT INTO dossier_events (dossier_id, from_status, to_status, at, source, actor, import_id, note)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [dossierId, from, to, at, prov.source, prov.actor, prov.importId ?? null, prov.note ?? null],
    );
    return toEvent(rows[0]);
  }
}

// --- the repository --------------------------------------------------------------------------------

const LIST_MAX = 500;

export class DossierRepository {
  constructor(
    private readonly db: Database,
    readonly verifier: DossierVerifier,
  ) {}

  /** Runs `fn` in one transaction; `tx` lets other stores (the API's idempotency keys) join it. */
  transaction<T>(fn: (writer: DossierWriter, tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(new DossierWriter(tx, this.verifier), tx));
  }

  upsert(input: DossierInput, prov: Provenance): Promise<WriteResult> {
    return this.transaction((w) => w.upsert(input, prov));
  }

  changeStatus(unitId: string, id: number, change: StatusChangeInput, prov: Provenance): Promise<WriteResult | undefined> {
    return this.transaction((w) => w.changeStatus(unitId, id, change, prov));
  }

  /** The digest of a citizen's digits for this dossier (what DossierInput.verification takes). */
  digest(unitId: string, code: string, digits: string): VerificationDigest {
    return this.verifier.digest(unitId, codeKey(code), digits);
  }

  /** The dossier of that code in that unit: the code's key must match exactly (case and spaces ignored). */
  async getByCode(unitId: string, code: string, q: Queryable = this.db): Promise<Dossier | undefined> {
    const key = codeKey(code);
    if (key === '') return undefined;
    const rows = await q.query('SELECT * FROM dossiers WHERE unit_id = $1 AND code_key = $2', [unitId, key]);
    return rows[0] === undefined ? undefined : toDossier(rows[0]);
  }

  async getById(unitId: string, id: number): Promise<Dossier | undefined> {
    const rows = await this.db.query('SELECT * FROM dossiers WHERE unit_id = $1 AND id = $2', [unitId, id]);
    return rows[0] === undefined ? undefined : toDossier(rows[0]);
  }

  /** The existing dossiers of these codes in a unit, by code key (for an import's dry run). */
  async statesByKey(unitId: string, keys: readonly string[]): Promise<Map<string, State & { sourceAt: Date }>> {
    const out = new Map<string, State & { sourceAt: Date }>();
    for (let i = 0; i < keys.length; i += 1000) {
      const rows = await this.db.query('SELECT * FROM dossiers WHERE unit_id = $1 AND code_key = ANY($2::text[])', [unitId, keys.slice(i, i + 1000)]);
      for (const raw of rows) {
        const r = DossierRow.parse(raw);
        out.set(r.code_key, stateOf(r));
      }
    }
    return out;
  }

  /** The status history, oldest first, with the username of each change's author. */
  async history(dossierId: number, q: Queryable = this.db): Promise<HistoryEntry[]> {
    const rows = await q.query(
      `SELECT e.*, u.username AS actor_username FROM dossier_events e LEFT JOIN staff_users u ON u.id = e.actor
       WHERE e.dossier_id = $1 ORDER BY e.at, e.id`,
      [dossierId],
    );
    return rows.map((raw) => ({ ...toEvent(raw), actorUsername: z.object({ actor_username: z.string().nullable() }).parse(raw).actor_username }));
  }

  /** A unit's dossiers, newest first, filtered by status and part of a code. */
  async list(unitId: string, query: DossierListQuery = {}): Promise<Dossier[]> {
    const params: SqlParam[] = [unitId];
    const where = ['unit_id = $1'];
    if (query.status !== undefined) {
      params.push(query.status);
      where.push(`status = $${params.length}`);
    }
    const part = query.code === undefined ? '' : codeKey(query.code);
    if (part !== '') {
      // strpos rather than LIKE: nothing in the typed text acts as a wildcard.
      params.push(part);
      where.push(`strpos(code_key, $${params.length}) > 0`);
    }
    if (query.beforeId !== undefined) {
      params.push(query.beforeId);
      where.push(`id < $${params.length}`);
    }
    params.push(Math.max(1, Math.min(LIST_MAX, Math.floor(query.limit ?? 100))));
    const rows = await this.db.query(`SELECT * FROM dossiers WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`, params);
    return rows.map(toDossier);
  }

  async count(unitId: string): Promise<number> {
    const rows = await this.db.query<{ n: string | number }>('SELECT count(*) AS n FROM dossiers WHERE unit_id = $1', [unitId]);
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * The dossier when `digits` are the last 4 digits given at the desk, otherwise undefined
   * (wrong digits, no digits recorded, no such dossier: the caller cannot tell them apart, and
   * the comparison takes the same time). Rate limits and cool-downs are the caller's.
   */
  async verify(unitId: string, code: string, digits: string): Promise<Dossier | undefined> {
    const key = codeKey(code);
    const rows = key === '' ? [] : await this.db.query('SELECT * FROM dossiers WHERE unit_id = $1 AND code_key = $2', [unitId, key]);
    const row = rows[0] === undefined ? undefined : DossierRow.parse(rows[0]);
    const wellFormed = /^\d{4}$/.test(digits);
    const digest = this.verifier.digest(unitId, key, wellFormed ? digits : '0000');
    const ok = this.verifier.matches(row?.verifier ?? null, digest);
    return ok && wellFormed && row !== undefined ? toDossier(row) : undefined;
  }

  // --- links -------------------------------------------------------------------------------------

  /** Links a chat contact to a dossier (again, if it had unlinked): the flags are set as given. */
  async link(dossierId: number, contactId: number, flags: { notifyResult?: boolean; notifyChanges?: boolean } = {}): Promise<DossierLink> {
    const rows = await this.db.query(
      `INSERT INTO dossier_links (dossier_id, contact_id, notify_result, notify_changes) VALUES ($1, $2, $3, $4)
       ON CONFLICT (dossier_id, contact_id) DO UPDATE SET unlinked_at = NULL, notify_result = EXCLUDED.notify_result,
         notify_changes = EXCLUDED.notify_changes,
         linked_at = CASE WHEN dossier_links.unlinked_at IS NULL THEN dossier_links.linked_at ELSE now() END
       RETURNING *`,
      [dossierId, contactId, flags.notifyResult ?? true, flags.notifyChanges ?? false],
    );
    return toLink(rows[0]);
  }

  /** true when there was an active link. The row stays (the notice and evaluation stay "done"). */
  async unlink(dossierId: number, contactId: number): Promise<boolean> {
    const rows = await this.db.query(
      'UPDATE dossier_links SET unlinked_at = now() WHERE dossier_id = $1 AND contact_id = $2 AND unlinked_at IS NULL RETURNING dossier_id',
      [dossierId, contactId],
    );
    return rows.length > 0;
  }

  async getLink(dossierId: number, contactId: number): Promise<DossierLink | undefined> {
    const rows = await this.db.query('SELECT * FROM dossier_links WHERE dossier_id = $1 AND contact_id = $2 AND unlinked_at IS NULL', [dossierId, contactId]);
    return rows[0] === undefined ? undefined : toLink(rows[0]);
  }

  /** The contacts linked to a dossier. */
  async linksOf(dossierId: number): Promise<DossierLink[]> {
    const rows = await this.db.query('SELECT * FROM dossier_links WHERE dossier_id = $1 AND unlinked_at IS NULL ORDER BY linked_at, contact_id', [dossierId]);
    return rows.map(toLink);
  }

  /** The dossiers a contact linked, newest link first. */
  async dossiersOf(contactId: number): Promise<Dossier[]> {
    const rows = await this.db.query(
      `SELECT d.* FROM dossier_links l JOIN dossiers d ON d.id = l.dossier_id
       WHERE l.contact_id = $1 AND l.unlinked_at IS NULL ORDER BY l.linked_at DESC, d.id DESC LIMIT 50`,
      [contactId],
    );
    return rows.map(toDossier);
  }

  /** Marks the result notice as sent to this contact; false if it already was (send once). */
  async markResultNotified(dossierId: number, contactId: number, at: Date = new Date()): Promise<boolean> {
    const rows = await this.db.query(
      'UPDATE dossier_links SET result_notified_at = $3 WHERE dossier_id = $1 AND contact_id = $2 AND result_notified_at IS NULL RETURNING dossier_id',
      [dossierId, contactId, at],
    );
    return rows.length > 0;
  }

  /** Marks the evaluation as offered to this contact; false if it already was (offer once). */
  async markEvaluationOffered(dossierId: number, contactId: number, at: Date = new Date()): Promise<boolean> {
    const rows = await this.db.query(
      'UPDATE dossier_links SET evaluation_offered_at = $3 WHERE dossier_id = $1 AND contact_id = $2 AND evaluation_offered_at IS NULL RETURNING dossier_id',
      [dossierId, contactId, at],
    );
    return rows.length > 0;
  }

  /**
   * History events after `afterId` in id order, optionally only into some statuses: the outbox a
   * notifier reads (it keeps the last id it handled), so a notice is never lost to a crash
   * between a status change and its announcement.
   */
  async eventsAfter(afterId: number, opts: { toStatuses?: readonly DossierStatus[]; limit?: number } = {}): Promise<OutboxEvent[]> {
    const limit = Math.max(1, Math.min(1000, Math.floor(opts.limit ?? 100)));
    const statuses = opts.toStatuses ?? DossierStatus.options;
    const rows = await this.db.query(
      `SELECT e.*, d.unit_id, d.code FROM dossier_events e JOIN dossiers d ON d.id = e.dossier_id
       WHERE e.id > $1 AND e.to_status = ANY($2::text[]) ORDER BY e.id LIMIT $3`,
      [afterId, [...statuses], limit],
    );
    return rows.map((raw) => ({ ...toEvent(raw), ...z.object({ unit_id: z.string(), code: z.string() }).transform((r) => ({ unitId: r.unit_id, code: r.code })).parse(raw) }));
  }

  // --- reports -----------------------------------------------------------------------------------

  /**
   * A unit's figures for [from, to) — a month, quarter or year in Vietnam time (surveys/period.ts)
   * — in total and by procedure. Definitions:
   * - received: received within the period;
   * - resolved (on time / late): the result first existed (đã có kết quả or đã trả kết quả)
   *   within the period, at or before the due date / after it (no due date: on time);
   * - open (on time / overdue): received before `asOf` (the period's end, or now if earlier) and
   *   still without a result and not rejected or withdrawn at `asOf`; overdue when its due date
   *   had passed by then;
   * - closed: rejected or withdrawn within the period; returned: handed over within the period,
   *   of which evaluated: with a completed per-dossier survey, and satisfied: rated (Rất) hài lòng;
   * - onTime = resolved on time; late = resolved late + open overdue.
   */
  async report(unitId: string, period: { from: Date; to: Date }, now: Date = new Date()): Promise<DossierReport> {
    const asOf = period.to < now ? period.to : now;
    const rows = await this.db.query(
      `WITH relevant AS (
         SELECT d.*,
           EXISTS (SELECT 1 FROM survey_responses r WHERE r.unit_id = d.unit_id AND r.occasion_kind = 'dossier' AND r.status = 'completed'
                     AND r.dossier_counted AND upper(regexp_replace(r.occasion, '\\s', '', 'g')) = d.code_key) AS evaluated,
           EXISTS (SELECT 1 FROM survey_responses r WHERE r.unit_id = d.unit_id AND r.occasion_kind = 'dossier' AND r.status = 'completed'
                     AND r.dossier_counted AND r.overall_satisfied AND upper(regexp_replace(r.occasion, '\\s', '', 'g')) = d.code_key) AS satisfied,
           (d.received_at < $4 AND (d.resolved_at IS NULL OR d.resolved_at >= $4) AND (d.closed_at IS NULL OR d.closed_at >= $4)) AS open_at
         FROM dossiers d
         WHERE d.unit_id = $1
           AND ((d.received_at >= $2 AND d.received_at < $3) OR (d.resolved_at >= $2 AND d.resolved_at < $3)
                OR (d.closed_at >= $2 AND d.closed_at < $3) OR (d.returned_at >= $2 AND d.returned_at < $3)
                OR (d.received_at < $4 AND (d.resolved_at IS NULL OR d.resolved_at >= $4) AND (d.closed_at IS NULL OR d.closed_at >= $4)))
       )
       SELECT max(procedure_code) AS procedure_code, max(procedure_name) AS procedure_name,
         count(*) FILTER (WHERE received_at >= $2 AND received_at < $3) AS received,
         count(*) FILTER (WHERE resolved_at >= $2 AND resolved_at < $3 AND (due_at IS NULL OR resolved_at <= due_at)) AS resolved_on_time,
         count(*) FILTER (WHERE resolved_at >= $2 AND resolved_at < $3 AND resolved_at > due_at) AS resolved_late,
         count(*) FILTER (WHERE open_at AND (due_at IS NULL OR due_at >= $4)) AS open_on_time,
         count(*) FILTER (WHERE open_at AND due_at < $4) AS open_overdue,
         count(*) FILTER (WHERE closed_at >= $2 AND closed_at < $3) AS closed,
         count(*) FILTER (WHERE returned_at >= $2 AND returned_at < $3) AS returned,
         count(*) FILTER (WHERE returned_at >= $2 AND returned_at < $3 AND evaluated) AS evaluated,
         count(*) FILTER (WHERE returned_at >= $2 AND returned_at < $3 AND satisfied) AS satisfied
       FROM relevant
       GROUP BY coalesce('c:' || procedure_code, 'n:' || procedure_name)
       ORDER BY count(*) FILTER (WHERE received_at >= $2 AND received_at < $3) DESC, 1, 2`,
      [unitId, period.from, period.to, asOf],
    );
    const n = z.union([z.number(), z.string(), z.bigint()]).transform(Number);
    const Row = z.object({
      procedure_code: z.string().nullable(),
      procedure_name: z.string().nullable(),
      received: n,
      resolved_on_time: n,
      resolved_late: n,
      open_on_time: n,
      open_overdue: n,
      closed: n,
      returned: n,
      evaluated: n,
      satisfied: n,
    });
    const figures = (r: z.infer<typeof Row>): DossierFigures => ({
      received: r.received,
      resolved: r.resolved_on_time + r.resolved_late,
      resolvedOnTime: r.resolved_on_time,
      resolvedLate: r.resolved_late,
      openOnTime: r.open_on_time,
      openOverdue: r.open_overdue,
      closed: r.closed,
      returned: r.returned,
      evaluated: r.evaluated,
      satisfied: r.satisfied,
      onTime: r.resolved_on_time,
      late: r.resolved_late + r.open_overdue,
    });
    const byProcedure = rows.map((raw) => {
      const r = Row.parse(raw);
      return { procedureCode: r.procedure_code, procedureName: r.procedure_name, ...figures(r) };
    });
    const zero: DossierFigures = { received: 0, resolved: 0, resolvedOnTime: 0, resolvedLate: 0, openOnTime: 0, openOverdue: 0, closed: 0, returned: 0, evaluated: 0, satisfied: 0, onTime: 0, late: 0 };
    const totals = byProcedure.reduce<DossierFigures>((sum, p) => {
      const out = { ...sum };
      for (const k of Object.keys(zero) as Array<keyof DossierFigures>) out[k] = sum[k] + p[k];
      return out;
    }, zero);
    return { unitId, from: period.from, to: period.to, asOf, totals, byProcedure };
  }
}

