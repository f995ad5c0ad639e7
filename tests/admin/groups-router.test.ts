import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { StaffRepository } from '../../src/store/staff-repository.js';
import { AuditRepository } from '../../src/store/audit-repository.js';
import { AccountRepository } from '../../src/store/account-repository.js';
import { ContactRepository } from '../../src/store/contact-repository.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { SubscriptionRepository } from '../../src/store/subscription-repository.js';
import { createApp } from '../../src/http/create-app.js';
import { createLogger } from '../../src/logger.js';
import { createAuth, LoginLimiter, SessionStore } from '../../src/admin/auth/index.js';
import { createGroupsRouter } from '../../src/admin/groups-router.js';
import { loginAs } from '../helpers/admin-login.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const prefix = isolatedName('groups') + ':';
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });

let db: Database;
let redis: Redis;
let server: http.Server;
let base = '';
let subs: SubscriptionRepository;
let audit: AuditRepository;
const cookies = { officerA: '', officerB: '', reporterA: '', admin: '' };

beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  await migrate(db);
  await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b')]);
  redis = new Redis(TEST_REDIS_URL);
  const staff = new StaffRepository(db);
  subs = new SubscriptionRepository(db);
  audit = new AuditRepository(db);
  const auth = createAuth({
    sessions: new SessionStore(redis, { prefix: prefix + 'sess:' }),
    limiter: new LoginLimiter(redis, { prefix: prefix + 'login:' }),
    staff,
    audit,
    secureCookies: false,
  });
  const app = createApp({ logger: createLogger('silent'), readiness: [], routers: [auth.router, createGroupsRouter({ auth, subscriptions: subs, audit })] });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const people = [
    ['canbo.a', 'officer', 'xa-a', 'officerA'],
    ['canbo.b', 'officer', 'xa-b', 'officerB'],
    ['baocao.a', 'reporter', 'xa-a', 'reporterA'],
    ['quantri', 'admin', null, 'admin'],
  ] as const;
  for (const [username, role, unitId, slot] of people) {
    const u = await staff.create({ username, role, unitId });
    await staff.setPassword(u?.user.id ?? 0, `mật khẩu của ${username}`);
    cookies[slot] = await loginAs(base, username, `mật khẩu của ${username}`);
  }
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  const keys = await redis.keys(prefix + '*');
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await db.close();
});

function post(path: string, fields: Record<string, string>, cookie?: string) {
  return fetch(base + path, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual', headers: cookie ? { cookie } : {} });
}
function get(path: string, cookie?: string) {
  return fetch(base + path, { redirect: 'manual', headers: cookie ? { cookie, accept: 'text/html' } : {} });
}
const csrfIn = (page: string): string => /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
async function csrf(cookie: string, unitId = 'xa-a'): Promise<string> {
  return csrfIn(await (await get(`/admin/units/${unitId}/groups`, cookie)).text());
}
const groupId = async (name: string, unitId = 'xa-a') => (await subs.listGroups(unitId)).find((g) => g.name === name)?.id ?? 0;

describe('subscriber groups page', () => {
  it('sends anonymous visitors to the login page and refuses reporters and other units', async () => {
    const anon = await get('/admin/units/xa-a/groups');
    expect(anon.status).toBe(302);
    expect(anon.headers.get('location')).toBe('/admin/login');
    expect((await get('/admin/units/xa-a/groups', cookies.reporterA)).status).toBe(403);
    expect((await get('/admin/units/xa-a/groups', cookies.officerB)).status).toBe(403);
    expect((await get('/admin/units/xa-a/groups', cookies.admin)).status).toBe(200);
  });

  it('shows an empty unit with the create form and says subscribers cannot be imported', async () => {
    const res = await get('/admin/units/xa-a/groups', cookies.officerA);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('<h1>Nhóm nhận tin</h1>');
    expect(page).toContain('Chưa có nhóm nào');
    expect(page).toContain('Không nhập được danh sách người nhận.');
    expect(page).toContain('Nghị định 13/2023/NĐ-CP');
    expect(page).toContain('<option value="village" selected>Thôn/xóm/tổ dân phố</option>');
    expect(page).toContain('<option value="topic">Chủ đề</option>');
    expect(page).toContain('<option value="audience">Đối tượng</option>');
    expect(page).toContain('action="/admin/units/xa-a/groups"');
  });

  it('creates groups (audited), refuses a duplicate name, a bad kind, an empty name, and a missing CSRF token', async () => {
    const token = await csrf(cookies.officerA);
    const ok = await post('/admin/units/xa-a/groups', { _csrf: token, kind: 'village', name: 'Thôn <Đông>', description: 'Tin của "thôn" Đông' }, cookies.officerA);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/admin/units/xa-a/groups?notice=created');
    const id = await groupId('Thôn <Đông>');
    expect(id).toBeGreaterThan(0);
    const entry = (await audit.list('xa-a', 10)).find((e) => e.action === 'group.create');
    expect(entry).toMatchObject({ target: String(id), detail: { kind: 'village', name: 'Thôn <Đông>' } });

    const dup = await post('/admin/units/xa-a/groups', { _csrf: token, kind: 'topic', name: 'thôn <đông>' }, cookies.officerA);
    expect(dup.status).toBe(409);
    expect(await dup.text()).toContain('Đơn vị đã có nhóm tên “thôn &lt;đông&gt;”');
    const badKind = await post('/admin/units/xa-a/groups', { _csrf: token, kind: 'province', name: 'Tỉnh' }, cookies.officerA);
    expect(badKind.status).toBe(400);
    expect(await badKind.text()).toContain('Hãy chọn loại nhóm');
    const empty = await post('/admin/units/xa-a/groups', { _csrf: token, kind: 'topic', name: '   ' }, cookies.officerA);
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain('Tên nhóm cần từ 1 đến 80 ký tự');
    expect((await post('/admin/units/xa-a/groups', { kind: 'topic', name: 'Không có token' }, cookies.officerA)).status).toBe(403);
    const tokenB = await csrf(cookies.officerB, 'xa-b');
    const rb = await post('/admin/units/xa-b/groups', { _csrf: tokenB, kind: 'topic', name: 'Của xã B' }, cookies.officerB);
    expect(rb.status, await rb.text()).toBe(303);
    expect((await subs.listGroups('xa-a')).map((g) => g.name)).toEqual(['Thôn <Đông>']);
  });

  it('lists the groups escaped, with kinds in Vietnamese and subscriber counts, only of its unit', async () => {
    await post('/admin/units/xa-a/groups', { _csrf: await csrf(cookies.officerA), kind: 'audience', name: 'Hộ kinh doanh' }, cookies.officerA);
    // Two citizens subscribe in chat (one through two channels' worth of groups).
    const accounts = new AccountRepository(db, new SecretBox('s'.repeat(40)));
    const contacts = new ContactRepository(db);
    const zalo = await accounts.upsert({ unitId: 'xa-a', platform: 'zalo', externalId: '388613280900000011' });
    const fb = await accounts.upsert({ unitId: 'xa-a', platform: 'messenger', externalId: '106000000000011' });
    const c1 = await contacts.touch(zalo.id, '246845883529190011', new Date());
    const c2 = await contacts.touch(fb.id, '7000000000000011', new Date());
    await subs.subscribe({ contactId: c1.id, groupIds: [await groupId('Thôn <Đông>'), await groupId('Hộ kinh doanh')], via: 'chat:button', at: new Date() });
    await subs.subscribe({ contactId: c2.id, groupIds: [await groupId('Thôn <Đông>')], via: 'chat:text', at: new Date() });

    const page = await (await get('/admin/units/xa-a/groups', cookies.officerA)).text();
    expect(page).not.toContain('<Đông>');
    expect(page).toContain('<td>Thôn &lt;Đông&gt;</td><td>Thôn/xóm/tổ dân phố</td><td>Tin của &quot;thôn&quot; Đông</td><td>2</td>');
    expect(page).toContain('<td>Hộ kinh doanh</td><td>Đối tượng</td><td></td><td>1</td>');
    expect(page).toContain('2 nhóm · 2 người đăng ký (mỗi người tính một lần: Zalo 1, Facebook Messenger 1, trang web 0)');
    expect(page).not.toContain('Của xã B');
    expect(page).not.toContain('246845883529190011');
  });

  it('renames and describes a group (audited), refusing a taken name and another unit’s group', async () => {
    const id = await groupId('Hộ kinh doanh');
    const token = await csrf(cookies.officerA);
    const res = await post(`/admin/units/xa-a/groups/${id}`, { _csrf: token, kind: 'audience', name: 'Hộ kinh doanh cá thể', description: 'Thuế, đăng ký kinh doanh' }, cookies.officerA);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/units/xa-a/groups?notice=updated');
    expect(await subs.getGroup('xa-a', id)).toMatchObject({ name: 'Hộ kinh doanh cá thể', description: 'Thuế, đăng ký kinh doanh', kind: 'audience', subscribers: 1 });
    expect((await audit.list('xa-a', 10)).find((e) => e.action === 'group.update')?.target).toBe(String(id));
    expect((await post(`/admin/units/xa-a/groups/${id}`, { _csrf: token, kind: 'audience', name: 'THÔN <ĐÔNG>' }, cookies.officerA)).status).toBe(409);
    const idB = await groupId('Của xã B', 'xa-b');
    expect((await post(`/admin/units/xa-a/groups/${idB}`, { _csrf: token, kind: 'topic', name: 'Chiếm' }, cookies.officerA)).status).toBe(404);
    expect((await post(`/admin/units/xa-b/groups/${idB}`, { _csrf: token, kind: 'topic', name: 'Chiếm' }, cookies.officerA)).status).toBe(403);
    expect((await subs.getGroup('xa-b', idB))?.name).toBe('Của xã B');
    expect((await post('/admin/units/xa-a/groups/abc', { _csrf: token, kind: 'topic', name: 'x' }, cookies.officerA)).status).toBe(404);
  });

  it('deactivates and reactivates a group (audited); subscribers are kept', async () => {
    const id = await groupId('Thôn <Đông>');
    const token = await csrf(cookies.officerA);
    const off = await post(`/admin/units/xa-a/groups/${id}/deactivate`, { _csrf: token }, cookies.officerA);
    expect(off.status).toBe(303);
    expect(off.headers.get('location')).toBe('/admin/units/xa-a/groups?notice=deactivated');
    expect(await subs.getGroup('xa-a', id)).toMatchObject({ active: false, subscribers: 2 });
    const page = await (await get('/admin/units/xa-a/groups?notice=deactivated', cookies.officerA)).text();
    expect(page).toContain('Đã ngừng nhóm');
    expect(page).toContain(`action="/admin/units/xa-a/groups/${id}/activate"`);
    expect((await post(`/admin/units/xa-a/groups/${id}/activate`, { _csrf: token }, cookies.officerA)).status).toBe(303);
    expect((await subs.getGroup('xa-a', id))?.active).toBe(true);
    const actions = (await audit.list('xa-a', 20)).map((e) => e.action);
    expect(actions).toContain('group.deactivate');
    expect(actions).toContain('group.activate');
    const idB = await groupId('Của xã B', 'xa-b');
    expect((await post(`/admin/units/xa-a/groups/${idB}/deactivate`, { _csrf: token }, cookies.officerA)).status).toBe(404);
    expect((await subs.getGroup('xa-b', idB))?.active).toBe(true);
  });
});
