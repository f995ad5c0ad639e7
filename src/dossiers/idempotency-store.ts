// Idempotency keys of the JSON API (the `Idempotency-Key` header of POST and PATCH): per unit, a
// key remembers the hash of the request it came with and the response it got. The key is
// claimed inside the transaction that does the work and the response stored before it commits,
// so a replay — even one racing the first call — gets the stored response and the work happens
// once; the same key with another request is refused. Keys older than the retention are
// forgotten (a replay after that is applied again, which the feeds' idempotent writes absorb).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Queryable } from '../store/database.js';

export const IdempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'Idempotency-Key: 1–255 ký tự ASCII in được, không có khoảng trắng');

export const IDEMPOTENCY_RETENTION_HOURS = 7 * 24;

/** A stable JSON text of a parsed value: object keys sorted, so key order does not matter. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The fingerprint of a request: what it does (method, route, target) and its body. */
export function requestHash(parts: { method: string; route: string; target: string; body: unknown }): string {
  return createHash('sha256').update(`${parts.method}\n${parts.route}\n${parts.target}\n${canonicalJson(parts.body)}`).digest('hex');
}

export type Claim =
  | { kind: 'new' }
  | { kind: 'replay'; status: number; body: unknown }
  | { kind: 'conflict' };

const Stored = z.object({
  request_hash: z.string(),
  status_code: z.union([z.number(), z.string()]).transform(Number).nullable(),
  response: z.string().nullable(),
});

export class IdempotencyStore {
  constructor(private readonly retentionHours: number = IDEMPOTENCY_RETENTION_HOURS) {}

  /**
   * Claims the key inside transaction `tx`. A concurrent claim of the same key waits until the
   * first transaction ends, then sees its stored response.
   */
  async claim(tx: Queryable, unitId: string, key: string, hash: string): Promise<Claim> {
    // Forget expired keys of this unit first, so an old key can be claimed afresh.
    await tx.query(`DELETE FROM api_idempotency WHERE unit_id = $1 AND key = $2 AND created_at < now() - make_interval(hours => $3)`, [unitId, key, this.retentionHours]);
    const inserted = await tx.query('INSERT INTO api_idempotency (unit_id, key, request_hash) VALUES ($1, $2, $3) ON CONFLICT (unit_id, key) DO NOTHING RETURNING key', [
      unitId,
      key,
      hash,
    ]);
    if (inserted.length > 0) return { kind: 'new' };
    const rows = await tx.query('SELECT request_hash, status_code, response FROM api_idempotency WHERE unit_id = $1 AND key = $2', [unitId, key]);
    const stored = Stored.parse(rows[0]);
    if (stored.request_hash !== hash) return { kind: 'conflict' };
    if (stored.status_code === null || stored.response === null) throw new Error('idempotency key claimed without a response in a committed transaction');
    // JSON.parse keeps the keys in their order: the replay is serialised exactly as the original.
    const body: unknown = JSON.parse(stored.response);
    return { kind: 'replay', status: stored.status_code, body };
  }

  /** Stores the response of a claimed key (same transaction as the claim). */
  async complete(tx: Queryable, unitId: string, key: string, status: number, body: unknown): Promise<void> {
    await tx.query('UPDATE api_idempotency SET status_code = $3, response = $4 WHERE unit_id = $1 AND key = $2', [unitId, key, status, JSON.stringify(body)]);
  }

  /** Deletes every expired key (a maintenance job may call it); returns how many. */
  async purge(db: Queryable): Promise<number> {
    const rows = await db.query('DELETE FROM api_idempotency WHERE created_at < now() - make_interval(hours => $1) RETURNING key', [this.retentionHours]);
    return rows.length;
  }
}
