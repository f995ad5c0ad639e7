// The staff and audit repository methods behind the admin pages for users, API tokens and the
// audit log: password reset, token listing by owner and unit, audit paging and filters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { StaffRepository } from '../../src/store/staff-repository.js';
import { AuditRepository } from '../../src/store/audit-repository.js';
import { verifyPassword } from '../../src/admin/auth/password.js';
import { TEST_DATABASE_URL, isolatedName } from '../helpers/services.js';

const schema = isolatedName('staffaudit');
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });

afterAll(async () => {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

describe.each([
  ['pglite', () => openDatabase({ dataDir: 'memory://' })],
  ['postgres', () => openDatabase({ url: TEST_DATABASE_URL, schema })],
] as const)('staff and audit for the admin pages on %s', (_n, open) => {
  let db: Database;
  let staff: StaffRepository;
  let audit: AuditRepository;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    db = await open();
    await migrate(db);
    await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b')]);
    staff = new StaffRepository(db);
    audit = new AuditRepository(db);
    for (const [username, unitId] of [
      ['tinh', null],
      ['a1', 'xa-a'],
      ['a2', 'xa-a'],
      ['b1', 'xa-b'],
    ] as const) {
      const c = await staff.create({ username, role: 'officer', unitId });
      ids[username] = c?.user.id ?? 0;
    }
  });
  afterAll(() => db.close());

  it('resets a password to a new one-time password that must be changed', async () => {
    await staff.setPassword(ids.a1 ?? 0, 'mật khẩu riêng đủ dài');
    expect((await staff.findById(ids.a1 ?? 0))?.mustChangePassword).toBe(false);
    const otp = await staff.resetPassword(ids.a1 ?? 0);
    expect(otp).toMatch(/\S{8,}/);
    const after = await staff.findByUsername('a1');
    expect(after?.mustChangePassword).toBe(true);
    expect(await verifyPassword(otp ?? '', after?.passwordHash ?? '')).toBe(true);
    expect(await verifyPassword('mật khẩu riêng đủ dài', after?.passwordHash ?? '')).toBe(false);
    expect(after?.passwordHash).not.toContain(otp ?? '-');
    expect(await staff.resetPassword(999_999)).toBeUndefined();
  });

  it('lists API tokens by owner and by the owner unit, newest first, without their value', async () => {
    const t1 = await staff.createApiToken(ids.a1 ?? 0, 'báo cáo');
    const t2 = await staff.createApiToken(ids.a2 ?? 0, 'đồng bộ');
    const t3 = await staff.createApiToken(ids.b1 ?? 0, 'xã B');
    const t4 = await staff.createApiToken(ids.tinh ?? 0, 'tỉnh');
    expect((await staff.listApiTokens({ userId: ids.a1 ?? 0 })).map((t) => t.id)).toEqual([t1.id]);
    expect((await staff.listApiTokens({ unitId: 'xa-a' })).map((t) => t.id)).toEqual([t2.id, t1.id]);
    expect((await staff.listApiTokens()).map((t) => t.id)).toEqual([t4.id, t3.id, t2.id, t1.id]);
    expect(await staff.listApiTokens({ userId: ids.a1 ?? 0, unitId: 'xa-b' })).toEqual([]);
    const info = await staff.findApiToken(t3.id);
    expect(info).toMatchObject({ id: t3.id, name: 'xã B', userId: ids.b1, username: 'b1', unitId: 'xa-b', lastUsedAt: null, revokedAt: null });
    expect(JSON.stringify(info)).not.toContain(t3.token.slice(4));
    expect(await staff.findApiToken(999_999)).toBeUndefined();
    await staff.revokeApiToken(t3.id);
    expect((await staff.findApiToken(t3.id))?.revokedAt).toBeInstanceOf(Date);
    expect((await staff.listApiTokens({}, 2)).map((t) => t.id)).toEqual([t4.id, t3.id]);
  });

  it('pages the audit log newest first by id, with the actor name, by unit and action prefix', async () => {
    const rec = (actor: number | null, action: string, unitId: string | null, target: string) => audit.record({ actor, action, unitId, target });
    await rec(null, 'auth.login_failed', 'xa-a', 'k1');
    await rec(ids.a1 ?? 0, 'auth.login', 'xa-a', 'k2');
    await rec(ids.tinh ?? 0, 'user.create', 'xa-a', 'k3');
    await rec(ids.b1 ?? 0, 'auth.login', 'xa-b', 'k4');
    await rec(ids.tinh ?? 0, 'token.create', null, 'k5');
    await rec(ids.tinh ?? 0, 'user_x.odd', null, 'k6');
    const all = await audit.page({ unitId: null });
    expect(all.map((e) => e.target)).toEqual(['k6', 'k5', 'k4', 'k3', 'k2', 'k1']);
    expect(all.find((e) => e.target === 'k3')).toMatchObject({ actorUsername: 'tinh', action: 'user.create', unitId: 'xa-a' });
    expect(all.find((e) => e.target === 'k1')).toMatchObject({ actor: null, actorUsername: null });
    expect((await audit.page({ unitId: 'xa-a' })).map((e) => e.target)).toEqual(['k3', 'k2', 'k1']);
    const first = await audit.page({ unitId: null, limit: 2 });
    expect(first.map((e) => e.target)).toEqual(['k6', 'k5']);
    const next = await audit.page({ unitId: null, limit: 2, before: first[1]?.id ?? 0 });
    expect(next.map((e) => e.target)).toEqual(['k4', 'k3']);
    expect((await audit.page({ unitId: null, actionPrefixes: ['auth.'] })).map((e) => e.target)).toEqual(['k4', 'k2', 'k1']);
    expect((await audit.page({ unitId: 'xa-a', actionPrefixes: ['auth.'] })).map((e) => e.target)).toEqual(['k2', 'k1']);
    // A prefix is literal text: '_' is not a wildcard.
    expect((await audit.page({ unitId: null, actionPrefixes: ['user_'] })).map((e) => e.target)).toEqual(['k6']);
    expect((await audit.page({ unitId: null, actionPrefixes: ['user.', 'token.'] })).map((e) => e.target)).toEqual(['k5', 'k3']);
    expect(await audit.page({ unitId: 'xa-b', before: all[3]?.id ?? 0 })).toEqual([]);
  });
});
