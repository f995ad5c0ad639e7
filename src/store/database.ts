// The database port and its two adapters: PostgreSQL (pg) when DATABASE_URL is set, otherwise
// the embedded PGlite under DATA_DIR. One SQL dialect, one schema, one set of migrations.
// This folder is the only importer of the SQL drivers.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';

export type SqlParam = string | number | boolean | null | Date | string[] | number[];

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Run several statements (no parameters), e.g. a migration file. */
  exec(sql: string): Promise<void>;
  transaction<T>(fn: (tx: Queryable & { exec(sql: string): Promise<void> }) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres:// URL; when absent PGlite is used. */
  url?: string;
  /** Directory of the PGlite data; undefined or 'memory://' for an in-memory database. */
  dataDir?: string;
  /** PostgreSQL schema to use (tests isolate themselves with their own). */
  schema?: string;
  /** PostgreSQL: connections this process may open (default 10). */
  poolSize?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    throw new Error(`invalid schema name: ${options.schema}`);
  }
  return options.url ? openPostgres(options.url, options.schema, options.poolSize) : openPglite(options.dataDir, options.schema);
}

async function openPostgres(url: string, schema?: string, poolSize = 10): Promise<Database> {
  // The schema (tests give each run its own) is a startup parameter of every connection, so no
  // query has to set it after connecting (a query racing the pool's first one).
  const pool = new pg.Pool({ connectionString: url, max: poolSize, ...(schema ? { options: `-c search_path=${schema}` } : {}) });
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it. Readiness reports outages.
  });
  if (schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  const run = async <T>(client: pg.Pool | pg.PoolClient, sql: string, params?: readonly SqlParam[]): Promise<T[]> => {
    const res = await client.query(sql, params ? [...params] : undefined);
    return res.rows as T[];
  };
  return {
    kind: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    exec: async (sql) => {
      await pool.query(sql);
    },
    transaction: async (fn) => {
      const client = await pool.connect();
      // A checked-out client has no listener of the pool's: when the server goes away mid-
      // transaction (a restart), its 'error' would be an uncaught exception and end the process.
      // The query in flight fails by itself; the broken client is destroyed on release.
      let broken = false;
      const onError = (): void => {
        broken = true;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn({
          query: (sql, params) => run(client, sql, params),
          exec: async (sql) => {
            await client.query(sql);
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        if (!broken) await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    ping: async () => {
      await pool.query('SELECT 1');
    },
    close: () => pool.end(),
  };
}

async function openPglite(dataDir: string | undefined, schema?: string): Promise<Database> {
  let target: string | undefined;
  if (dataDir && dataDir !== 'memory://') {
    target = path.resolve(dataDir);
    fs.mkdirSync(target, { recursive: true });
  }
  const db = target ? await PGlite.create(target) : await PGlite.create();
  if (schema) {
    await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema};`);
  }
  // PGlite is one connection: serialise transactions so two callers never interleave.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };
  return {
    kind: 'pglite',
    query: <T>(sql: string, params?: readonly SqlParam[]) =>
      serial(async () => (await db.query<T>(sql, params ? [...params] : undefined)).rows),
    exec: (sql) => serial(async () => void (await db.exec(sql))),
    transaction: (fn) =>
      serial(() =>
        db.transaction(async (tx) =>
          fn({
            query: async <T>(sql: string, params?: readonly SqlParam[]) =>
              (await tx.query<T>(sql, params ? [...params] : undefined)).rows,
            exec: async (sql) => void (await tx.exec(sql)),
          }),
        ),
      ),
    ping: () => serial(async () => void (await db.query('SELECT 1'))),
    close: () => db.close(),
  };
}
