// Applies migrations/*.sql in name order, once each, recording them in schema_migrations.
// A migration is never edited after it has landed: add a new file.
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from './database.js';

export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../migrations');

export async function migrate(db: Database, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^\d{3,}[-_].+\.sql$/.test(f))
    .sort();
  return db.transaction(async (tx) => {
    if (db.kind === 'postgres') {
      // Two processes starting together must not apply the same migration twice.
      await tx.query('SELECT pg_advisory_xact_lock(7415)');
    }
    await tx.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set((await tx.query<{ name: string }>('SELECT name FROM schema_migrations')).map((r) => r.name));
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      await tx.exec(fs.readFileSync(path.join(dir, file), 'utf8'));
      await tx.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
      applied.push(file);
    }
    return applied;
  });
}
