// Units in the database: seeded from UNITS_FILE on start, created and edited in the admin web,
// read by the engine.
import type { Unit } from '../units/unit.js';
import type { Queryable, SqlParam } from './database.js';

interface UnitRow {
  id: string;
  name: string;
  province: string | null;
  address: string | null;
  phone: string | null;
  email: string | null;
  hours: string | null;
  portal_url: string | null;
  website: string | null;
  procedure_codes: string[] | null;
}

const fromRow = (r: UnitRow): Unit => ({
  id: r.id,
  name: r.name,
  province: r.province,
  address: r.address,
  phone: r.phone,
  email: r.email,
  hours: r.hours,
  portalUrl: r.portal_url,
  website: r.website,
  procedureCodes: r.procedure_codes,
});

/** The fields of a unit that can change after it is created (its id never does). */
export type UnitUpdate = Partial<Omit<Unit, 'id'>>;

// Column names come from this fixed map, never from the caller.
const COLUMN: Record<keyof UnitUpdate, string> = {
  name: 'name',
  province: 'province',
  address: 'address',
  phone: 'phone',
  email: 'email',
  hours: 'hours',
  portalUrl: 'portal_url',
  website: 'website',
  procedureCodes: 'procedure_codes',
};
const UPDATABLE = Object.keys(COLUMN) as Array<keyof UnitUpdate>;

export class UnitRepository {
  constructor(private readonly db: Queryable) {}

  async upsert(units: readonly Unit[]): Promise<void> {
    for (const u of units) {
      await this.db.query(
        `INSERT INTO units (id, name, province, address, phone, email, hours, portal_url, website, procedure_codes)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
         ON CONFLICT (id) DO UPDATE SET name=$2, province=$3, address=$4, phone=$5, email=$6, hours=$7,
           portal_url=$8, website=$9, procedure_codes=$10, updated_at=now()`,
        [u.id, u.name, u.province, u.address, u.phone, u.email, u.hours, u.portalUrl, u.website, u.procedureCodes],
      );
    }
  }

  /** Inserts a new unit; false (and nothing changed) when the id is taken. */
  async create(u: Unit): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>(
      `INSERT INTO units (id, name, province, address, phone, email, hours, portal_url, website, procedure_codes)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
       ON CONFLICT (id) DO NOTHING
       RETURNING id`,
      [u.id, u.name, u.province, u.address, u.phone, u.email, u.hours, u.portalUrl, u.website, u.procedureCodes],
    );
    return rows.length === 1;
  }

  /**
   * Changes the given fields of a unit (a field left out is kept; null clears it). The updated
   * unit, or undefined when there is no such unit.
   */
  async update(id: string, fields: UnitUpdate): Promise<Unit | undefined> {
    const sets: string[] = [];
    const params: SqlParam[] = [id];
    for (const key of UPDATABLE) {
      const value = fields[key];
      if (value === undefined) continue;
      params.push(value);
      sets.push(`${COLUMN[key]} = $${params.length}`);
    }
    const rows = sets.length
      ? await this.db.query<UnitRow>(`UPDATE units SET ${sets.join(', ')}, updated_at = now() WHERE id = $1 RETURNING *`, params)
      : await this.db.query<UnitRow>('SELECT * FROM units WHERE id = $1', [id]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async get(id: string): Promise<Unit | undefined> {
    const rows = await this.db.query<UnitRow>('SELECT * FROM units WHERE id = $1', [id]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async list(): Promise<Unit[]> {
    return (await this.db.query<UnitRow>('SELECT * FROM units ORDER BY id')).map(fromRow);
  }
}
