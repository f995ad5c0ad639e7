// Units in the database: seeded (upserted) from UNITS_FILE on start, read by the engine.
import type { Unit } from '../units/unit.js';
import type { Queryable } from './database.js';

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

  async get(id: string): Promise<Unit | undefined> {
    const rows = await this.db.query<UnitRow>('SELECT * FROM units WHERE id = $1', [id]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async list(): Promise<Unit[]> {
    return (await this.db.query<UnitRow>('SELECT * FROM units ORDER BY id')).map(fromRow);
  }
}
