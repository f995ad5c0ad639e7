// Shared set-up of the survey tests: a database (PGlite or a PostgreSQL schema of its own) with
// the migrations and a few units, and a copy of the shipped survey definitions to add to.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { SURVEYS_DIR } from '../../src/surveys/definition-loader.js';
import { TEST_DATABASE_URL } from '../helpers/services.js';

export const KEY = 'khóa-bí-mật-máy-chủ-dùng-cho-kiểm-thử-0123456789';

export const unit = (id: string, name = `UBND ${id}`) => ({
  id,
  name,
  province: null,
  address: null,
  phone: null,
  email: null,
  hours: null,
  portalUrl: null,
  website: null,
  procedureCodes: null,
});

export type Backend = 'pglite' | 'postgres';

export async function openTestDatabase(backend: Backend, schema: string, units: Array<ReturnType<typeof unit>>): Promise<Database> {
  const db = backend === 'pglite' ? await openDatabase({ dataDir: 'memory://' }) : await openDatabase({ url: TEST_DATABASE_URL, schema });
  await migrate(db);
  await new UnitRepository(db).upsert(units);
  return db;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}

/** A copy of surveys/ (removed by the caller) to add overrides or test definitions to. */
export function surveysCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'surveys-'));
  fs.cpSync(SURVEYS_DIR, dir, { recursive: true });
  return dir;
}
