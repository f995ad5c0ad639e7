import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openDatabase, type Database } from '../../../src/store/database.js';
import { migrate } from '../../../src/store/migrate.js';
import { UnitRepository } from '../../../src/store/unit-repository.js';
import { StaffRepository } from '../../../src/store/staff-repository.js';
import { AuditRepository } from '../../../src/store/audit-repository.js';
import { verifyPassword } from '../../../src/admin/auth/password.js';
import { ensureFirstAdmin } from '../../../src/admin/auth/ensure-first-admin.js';
import { TEST_DATABASE_URL, isolatedName } from '../../helpers/services.js';

const schema = isolatedName('staff');
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });
const silent = { info: () => undefined };

afterAll(async () => {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

describe.each([
  ['pglite', () => openDatabase({ dataDir: 'memory://' })],
  ['postgres', () => openDatabase({ url: TEST_DATABASE_URL, schema })],
] as const)('staff and audit on %s', (_n, open) => {
  let db: Database;
  beforeAll(async () => {
    db = await open();
    expect(await migrate(db)).toContain('003_staff.sql');
    await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b')]);
  });
  afterAll(() => db.close());

  it('bootstraps the first admin once, with a one-time password that must be changed', async () => {
    const staff = new StaffRepository(db);
    expect(await staff.count()).toBe(0);
    const first = await ensureFirstAdmin(staff, silent);
    expect(first?.username).toBe('admin');
    expect(await ensureFirstAdmin(staff, silent)).toBeUndefined();
    const admin = await staff.findByUsername('ADMIN ');
    expect(admin).toMatchObject({ role: 'admin', unitId: null, mustChangePassword: true, disabled: false, lastLoginAt: null });
    expect(await verifyPassword(first?.oneTimePassword ?? '', admin?.passwordHash ?? '')).toBe(true);
    expect(admin?.passwordHash).not.toContain(first?.oneTimePassword ?? '-');
    expect(await staff.count()).toBe(1);
  });

  it('creates users lower-cased and unique, sets passwords and records logins', async () => {
    const staff = new StaffRepository(db);
    const created = await staff.create({ username: 'CanBo.A', role: 'officer', unitId: 'xa-a' });
    expect(created?.user).toMatchObject({ username: 'canbo.a', role: 'officer', unitId: 'xa-a', mustChangePassword: true });
    expect(await staff.create({ username: 'canbo.a', role: 'reporter', unitId: null })).toBeUndefined();
    await expect(staff.create({ username: '<script>', role: 'officer', unitId: null })).rejects.toThrow();
    await expect(staff.create({ username: 'x', role: 'officer', unitId: 'xa-khong-co' })).rejects.toThrow();
    const id = created?.user.id ?? 0;
    await staff.setPassword(id, 'mật khẩu mới đủ dài');
    const after = await staff.findByUsername('canbo.a');
    expect(after?.mustChangePassword).toBe(false);
    expect(await verifyPassword('mật khẩu mới đủ dài', after?.passwordHash ?? '')).toBe(true);
    const at = new Date('2026-11-22T03:04:05Z');
    await staff.recordLogin(id, at);
    expect((await staff.findById(id))?.lastLoginAt?.toISOString()).toBe(at.toISOString());
    expect(await staff.findByUsername('<script>')).toBeUndefined();
    expect((await staff.list('xa-a')).map((u) => u.username)).toEqual(['canbo.a']);
    await expect(db.query(`INSERT INTO staff_users (username, password_hash, role) VALUES ('x2', 'h', 'root')`)).rejects.toThrow();
  });

  it('issues API tokens shown once, stored hashed, refused once revoked or the user disabled', async () => {
    const staff = new StaffRepository(db);
    const u = await staff.create({ username: 'baocao', role: 'reporter', unitId: 'xa-b' });
    const uid = u?.user.id ?? 0;
    const t = await staff.createApiToken(uid, 'xuất báo cáo');
    expect(t.token).toMatch(/^mct_[A-Za-z0-9_-]{43}$/);
    const stored = await db.query<{ token_hash: string; last_used_at: Date | null }>('SELECT token_hash, last_used_at FROM api_tokens WHERE id = $1', [t.id]);
    expect(stored[0]?.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored[0]?.token_hash).not.toContain(t.token.slice(4));
    expect(stored[0]?.last_used_at).toBeNull();
    expect((await staff.findUserByToken(t.token))?.username).toBe('baocao');
    const used = await db.query<{ last_used_at: Date | null }>('SELECT last_used_at FROM api_tokens WHERE id = $1', [t.id]);
    expect(used[0]?.last_used_at).toBeInstanceOf(Date);
    expect(await staff.findUserByToken(t.token + 'x')).toBeUndefined();
    expect(await staff.findUserByToken('not-a-token')).toBeUndefined();
    await staff.setDisabled(uid, true);
    expect(await staff.findUserByToken(t.token)).toBeUndefined();
    await staff.setDisabled(uid, false);
    await staff.revokeApiToken(t.id);
    expect(await staff.findUserByToken(t.token)).toBeUndefined();
  });

  it('records and lists the audit log per unit, newest first', async () => {
    const audit = new AuditRepository(db);
    const staff = new StaffRepository(db);
    const admin = await staff.findByUsername('admin');
    await audit.record({ actor: null, action: 'auth.login_failed', target: 'ai-do' });
    await audit.record({ actor: admin?.id ?? null, action: 'users.create', unitId: 'xa-a', target: 'canbo.a', detail: { role: 'officer' } });
    await audit.record({ actor: admin?.id ?? null, action: 'users.create', unitId: 'xa-b', target: 'baocao', detail: { role: 'reporter', n: 1, ok: true } });
    const all = await audit.list(null, 10);
    expect(all.map((e) => e.target)).toEqual(['baocao', 'canbo.a', 'ai-do']);
    expect(all[0]).toMatchObject({ actor: admin?.id, action: 'users.create', unitId: 'xa-b', detail: { role: 'reporter', n: 1, ok: true } });
    expect(all[0]?.at).toBeInstanceOf(Date);
    expect(all[2]).toMatchObject({ actor: null, unitId: null, detail: {} });
    expect((await audit.list('xa-a', 10)).map((e) => e.target)).toEqual(['canbo.a']);
    expect(await audit.list(null, 1)).toHaveLength(1);
  });
});
