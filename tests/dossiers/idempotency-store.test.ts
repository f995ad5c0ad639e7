// Idempotency keys on PGlite and PostgreSQL: two transactions racing on one key apply the work
// once (the second waits and replays), another body under the key is a conflict, and expired
// keys are forgotten.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { DossierRepository } from '../../src/dossiers/dossier-repository.js';
import { DossierVerifier } from '../../src/dossiers/verification.js';
import { canonicalJson, IdempotencyStore, requestHash, type Claim } from '../../src/dossiers/idempotency-store.js';
import { TEST_DATABASE_URL, isolatedName } from '../helpers/services.js';

const schema = isolatedName('idem');
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterAll(async () => {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

describe('request fingerprints', () => {
  it('ignore the order of keys but not values, methods or targets', () => {
    expect(canonicalJson({ b: 1, a: [{ d: null, c: 'x' }] })).toBe('{"a":[{"c":"x","d":null}],"b":1}');
    const h = (body: unknown, method = 'POST', target = '') => requestHash({ method, route: 'dossiers', target, body });
    expect(h({ a: 1, b: 2 })).toBe(h({ b: 2, a: 1 }));
    expect(h({ a: 1 })).not.toBe(h({ a: 2 }));
    expect(h({ a: 1 })).not.toBe(h({ a: 1 }, 'PATCH'));
    expect(h({ a: 1 }, 'PATCH', 'HS-1')).not.toBe(h({ a: 1 }, 'PATCH', 'HS-2'));
  });
});

describe.each([
  ['pglite', () => openDatabase({ dataDir: 'memory://' })],
  ['postgres', () => openDatabase({ url: TEST_DATABASE_URL, schema })],
] as const)('idempotency keys on %s', (_name, open) => {
  let db: Database;
  let repo: DossierRepository;
  const store = new IdempotencyStore();

  beforeAll(async () => {
    db = await open();
    await migrate(db);
    await new UnitRepository(db).upsert([unit('xa-a')]);
    repo = new DossierRepository(db, new DossierVerifier('i'.repeat(40)));
  });
  afterAll(() => db.close());

  it('applies the work once when two transactions race on one key; the other replays the stored response', async () => {
    const hash = requestHash({ method: 'POST', route: 'dossiers', target: '', body: { code: 'HS-1' } });
    const attempt = (hold: number) =>
      repo.transaction(async (w, tx): Promise<Claim | { kind: 'done'; id: number }> => {
        const claim = await store.claim(tx, 'xa-a', 'race', hash);
        if (claim.kind !== 'new') return claim;
        const r = await w.upsert({ unitId: 'xa-a', code: 'HS-1', procedureName: 'Đăng ký khai sinh', receivedAt: new Date('2024-03-01T01:00:00Z'), status: 'received' }, { source: 'api', actor: null, at: new Date() });
        await sleep(hold);
        await store.complete(tx, 'xa-a', 'race', 201, { id: r.dossier.id, outcome: r.outcome });
        return { kind: 'done', id: r.dossier.id };
      });
    const results = await Promise.all([attempt(150), attempt(0)]);
    const done = results.filter((r) => r.kind === 'done');
    const replays = results.filter((r) => r.kind === 'replay');
    expect(done).toHaveLength(1);
    expect(replays).toEqual([{ kind: 'replay', status: 201, body: { id: done[0]?.kind === 'done' ? done[0].id : -1, outcome: 'created' } }]);
    expect(Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM dossier_events'))[0]?.n)).toBe(1);
  });

  it('calls another body under the same key a conflict, and lets an expired key be claimed afresh', async () => {
    const other = requestHash({ method: 'POST', route: 'dossiers', target: '', body: { code: 'HS-2' } });
    expect(await repo.transaction((_w, tx) => store.claim(tx, 'xa-a', 'race', other))).toEqual({ kind: 'conflict' });
    const short = new IdempotencyStore(0);
    await sleep(5);
    expect(await repo.transaction(async (_w, tx) => {
      const c = await short.claim(tx, 'xa-a', 'race', other);
      await short.complete(tx, 'xa-a', 'race', 200, {});
      return c;
    })).toEqual({ kind: 'new' });
    await sleep(5);
    expect(await short.purge(db)).toBe(1);
  });
});
