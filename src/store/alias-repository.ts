// The unit_aliases table: phrasings officers attached to procedures for their unit.
import { z } from 'zod';
import type { Queryable } from './database.js';

export interface UnitAlias {
  id: number;
  unitId: string;
  code: string;
  text: string;
  createdBy: number | null;
  createdAt: Date;
}

const Id = z.union([z.number(), z.string(), z.bigint()]).transform((v) => Number(v));
const Row = z.object({
  id: Id,
  unit_id: z.string(),
  procedure_code: z.string(),
  text: z.string(),
  created_by: Id.nullable(),
  created_at: z.date(),
});
const toAlias = (r: unknown): UnitAlias => {
  const row = Row.parse(r);
  return { id: row.id, unitId: row.unit_id, code: row.procedure_code, text: row.text, createdBy: row.created_by, createdAt: row.created_at };
};

const COLUMNS = 'id, unit_id, procedure_code, text, created_by, created_at';

export class AliasRepository {
  constructor(private readonly db: Queryable) {}

  /** Adds the phrasing, or re-attaches it to another procedure if the unit already has it. */
  async attach(input: { unitId: string; code: string; text: string; key: string; createdBy: number | null }): Promise<UnitAlias> {
    const rows = await this.db.query(
      `INSERT INTO unit_aliases (unit_id, procedure_code, text, question_key, created_by)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (unit_id, question_key)
       DO UPDATE SET procedure_code = EXCLUDED.procedure_code, text = EXCLUDED.text,
                     created_by = EXCLUDED.created_by, created_at = now()
       RETURNING ${COLUMNS}`,
      [input.unitId, input.code, input.text, input.key, input.createdBy],
    );
    return toAlias(rows[0]);
  }

  async list(unitId: string): Promise<UnitAlias[]> {
    const rows = await this.db.query(`SELECT ${COLUMNS} FROM unit_aliases WHERE unit_id = $1 ORDER BY created_at, id`, [unitId]);
    return rows.map(toAlias);
  }

  async listAll(): Promise<UnitAlias[]> {
    const rows = await this.db.query(`SELECT ${COLUMNS} FROM unit_aliases ORDER BY unit_id, created_at, id`);
    return rows.map(toAlias);
  }

  /** Removes one of the unit's aliases; undefined when the unit has no such alias. */
  async remove(unitId: string, id: number): Promise<UnitAlias | undefined> {
    const rows = await this.db.query(`DELETE FROM unit_aliases WHERE unit_id = $1 AND id = $2 RETURNING ${COLUMNS}`, [unitId, id]);
    return rows[0] === undefined ? undefined : toAlias(rows[0]);
  }
}
