import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { TEST_DATABASE_URL, isolatedName } from '../helpers/services.js';

const schema = isolatedName('db');

const backends: Array<[string, () => Promise<Database>]> = [
  ['pglite', () => openDatabase({ dataDir: 'memory://' })],
  ['postgres', () => openDatabase({ url: TEST_DATABASE_URL, schema })],
];

afterAll(async () => {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

describe.each(backends)('database on %s', (_name, open) => {
  let db: Database;
  beforeAll(async () => {
    db = await open();
  });
  afterAll(async () => {
    await db.close();
  });

  it('applies the migrations once, then none', async () => {
    const first = await migrate(db);
    expect(first).toContain('001_core.sql');
    expect(await migrate(db)).toEqual([]);
    const tables = await db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['units', 'queries', 'handoffs', 'schema_migrations']));
  });

  it('upserts and reads units with Vietnamese text intact', async () => {
    const units = new UnitRepository(db);
    const unit = {
      id: 'xa-tan-phu',
      name: 'UBND xã Tân Phú',
      province: 'Đồng Nai',
      address: null,
      phone: '0251 000 000',
      email: null,
      hours: 'Sáng 7h30–11h30',
      portalUrl: null,
      website: null,
      procedureCodes: ['1.001193', '1.000656'],
    };
    await units.upsert([unit]);
    await units.upsert([{ ...unit, phone: '0251 111 111' }]);
    expect(await units.get('xa-tan-phu')).toEqual({ ...unit, phone: '0251 111 111' });
    expect(await units.get('khong-co')).toBeUndefined();
  });

  it('rolls a failed transaction back', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO units (id, name) VALUES ('xa-rollback', 'UBND xã Thử')`);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await db.query(`SELECT id FROM units WHERE id = 'xa-rollback'`)).toEqual([]);
  });

  it('refuses rows that break the schema constraints', async () => {
    await expect(
      db.query(`INSERT INTO queries (unit_id, channel, text, outcome) VALUES ('xa-tan-phu', 'fax', 'x', 'answered')`),
    ).rejects.toThrow();
  });
});

describe('openDatabase', () => {
  it('rejects a schema name that is not an identifier', async () => {
    await expect(openDatabase({ dataDir: 'memory://', schema: 'x; DROP TABLE units' })).rejects.toThrow(/invalid schema/);
  });

  it('opens at most poolSize PostgreSQL connections, each already in its schema', async () => {
    const own = isolatedName('pool');
    const db = await openDatabase({ url: TEST_DATABASE_URL, schema: own, poolSize: 2 });
    try {
      const rows = await Promise.all(
        Array.from({ length: 6 }, () => db.query<{ pid: number; schema: string }>(`SELECT pg_backend_pid() AS pid, current_schema() AS schema FROM pg_sleep(0.05)`)),
      );
      const pids = new Set(rows.map((r) => r[0]!.pid));
      expect(pids.size).toBeLessThanOrEqual(2);
      expect(pids.size).toBeGreaterThanOrEqual(1);
      expect(new Set(rows.map((r) => r[0]!.schema))).toEqual(new Set([own]));
    } finally {
      await db.query(`DROP SCHEMA IF EXISTS ${own} CASCADE`);
      await db.close();
    }
  });
});
