import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import type { Unit } from '../../src/units/unit.js';
import { TEST_DATABASE_URL, isolatedName } from '../helpers/services.js';

const schema = isolatedName('units');
const unit = (id: string, over: Partial<Unit> = {}): Unit => ({
  id,
  name: `UBND ${id}`,
  province: 'Tỉnh Mẫu',
  address: 'Số 1 đường Chính',
  phone: '0270 3800 000',
  email: null,
  hours: 'Thứ Hai – Thứ Sáu',
  portalUrl: null,
  website: null,
  procedureCodes: ['1.001193'],
  ...over,
});

afterAll(async () => {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

describe.each([
  ['pglite', () => openDatabase({ dataDir: 'memory://' })],
  ['postgres', () => openDatabase({ url: TEST_DATABASE_URL, schema })],
] as const)('UnitRepository on %s', (_n, open) => {
  let db: Database;
  let units: UnitRepository;
  beforeAll(async () => {
    db = await open();
    await migrate(db);
    units = new UnitRepository(db);
  });
  afterAll(() => db.close());

  it('creates a unit once and refuses a taken id without touching the stored one', async () => {
    expect(await units.create(unit('xa-tao'))).toBe(true);
    expect(await units.create(unit('xa-tao', { name: 'Tên khác' }))).toBe(false);
    expect(await units.get('xa-tao')).toEqual(unit('xa-tao'));
  });

  it('updates only the given fields, clears a field given as null, and says when the unit is unknown', async () => {
    await units.create(unit('xa-sua'));
    const updated = await units.update('xa-sua', { name: 'UBND xã Sửa', phone: null, website: 'https://xa-sua.gov.vn' });
    expect(updated).toEqual(unit('xa-sua', { name: 'UBND xã Sửa', phone: null, website: 'https://xa-sua.gov.vn' }));
    expect(await units.get('xa-sua')).toEqual(updated);
    // Nothing to change: the unit as it is.
    expect(await units.update('xa-sua', {})).toEqual(updated);
    expect(await units.update('xa-khong-co', { name: 'x' })).toBeUndefined();
    expect(await units.update('xa-khong-co', {})).toBeUndefined();
    // The other unit is untouched.
    expect(await units.get('xa-tao')).toEqual(unit('xa-tao'));
  });
});
