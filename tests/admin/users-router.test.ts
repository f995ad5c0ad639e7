// The admin pages for staff users, API tokens and the audit log, against real Redis and PGlite:
// one-time secrets shown once, unit scope (404 for another unit's user), CSRF, escaping.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { StaffRepository } from '../../src/store/staff-repository.js';
import { AuditRepository } from '../../src/store/audit-repository.js';
import { HandoffRepository } from '../../src/store/handoff-repository.js';
import { QueryLogRepository } from '../../src/store/query-log-repository.js';
import { createApp } from '../../src/http/create-app.js';
import { createLogger } from '../../src/logger.js';
import { createAuth, LoginLimiter, SessionStore, SESSION_COOKIE } from '../../src/admin/auth/index.js';
import { createUsersRouter } from '../../src/admin/users-router.js';
import { createApiV1Router } from '../../src/api/api-v1-router.js';
import type { Searcher, SearchResult } from '../../src/search/types.js';
import { createAliasService } from '../../src/units/alias-service.js';
import { AliasRepository } from '../../src/store/alias-repository.js';
import { MemoryStateStore } from '../../src/conversation/memory-ports.js';
import { cookieValue, loginAs, tryLogin } from '../helpers/admin-login.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const prefix = isolatedName('users') + ':';
const unit = (id: string, name: string) => ({ id, name, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });
const PASSWORD = 'mật khẩu đủ dài 2026';

// A searcher that finds nothing: the API route only has to accept or refuse the token.
const nothingFound = {
  size: 0,
  search: (query: string): SearchResult => ({ query, outcome: 'none', confidence: 0, results: [], aspects: [] }),
  contentKey: (): string | null => null,
};
const searcher: Searcher = nothingFound;

let db: Database;
let redis: Redis;
let server: http.Server;
let base = '';
let staff: StaffRepository;
let audit: AuditRepository;
const logs: string[] = [];
const ids: Record<string, number> = {};
const cookies: Record<string, string> = {};

beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  await migrate(db);
  const units = new UnitRepository(db);
  await units.upsert([unit('xa-a', 'UBND xã An Bình'), unit('xa-b', 'UBND xã Bến Cát')]);
  redis = new Redis(TEST_REDIS_URL);
  staff = new StaffRepository(db);
  audit = new AuditRepository(db);
  const auth = createAuth({
    sessions: new SessionStore(redis, { prefix: prefix + 'sess:' }),
    limiter: new LoginLimiter(redis, { prefix: prefix + 'login:' }),
    staff,
    audit,
    secureCookies: false,
  });
  const logStream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const app = createApp({
    logger: createLogger('info', logStream),
    readiness: [],
    routers: [
      auth.router,
      createUsersRouter({ auth, staff, audit, units, now: () => new Date('2026-03-31T05:00:00Z') }),
      createApiV1Router({
        auth,
        searcher,
        queryLog: new QueryLogRepository(db),
        handoffs: new HandoffRepository(db),
        unitSearch: (_unitId, text) => searcher.search(text),
        units: () => [],
        aliases: createAliasService({
          aliases: new AliasRepository(db),
          audit,
          procedureName: () => undefined,
          contentKey: () => null,
          onChanged: async () => undefined,
        }),
        audit,
        state: new MemoryStateStore(),
      }),
    ],
  });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const [username, role, unitId] of [
    ['tinh.admin', 'admin', null],
    ['admin.a', 'admin', 'xa-a'],
    ['admin.b', 'admin', 'xa-b'],
    ['canbo.a', 'officer', 'xa-a'],
    ['canbo.b', 'officer', 'xa-b'],
    ['baocao.a', 'reporter', 'xa-a'],
  ] as const) {
    const c = await staff.create({ username, role, unitId });
    ids[username] = c?.user.id ?? 0;
    await staff.setPassword(c?.user.id ?? 0, PASSWORD);
    cookies[username] = await loginAs(base, username, PASSWORD);
  }
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  const keys = await redis.keys(prefix + '*');
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await db.close();
});

const get = (path: string, cookie?: string) => fetch(base + path, { redirect: 'manual', headers: cookie ? { cookie } : {} });
const csrfOf = (page: string): string => /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
/** The CSRF token of a session, read from a page as a browser would. */
async function csrf(cookie: string, path = '/admin/tokens'): Promise<string> {
  return csrfOf(await (await get(path, cookie)).text());
}
async function post(path: string, cookie: string, form: Record<string, string>, withCsrf = true): Promise<Response> {
  const body = new URLSearchParams(form);
  if (withCsrf) body.set('_csrf', await csrf(cookie));
  return fetch(base + path, { method: 'POST', body, headers: { cookie }, redirect: 'manual' });
}
const occurrences = (text: string, needle: string): number => text.split(needle).length - 1;
const userRows = (page: string): string[] => [...page.matchAll(/<tr class="user"><td>(.*?)<\/td>/g)].map((m) => m[1] ?? '');
const otpOf = (page: string): string => /<code id="one-time-password">([^<]+)<\/code>/.exec(page)?.[1] ?? '';

/** Changes a one-time password the way the user does at first sign-in; returns the new session cookie. */
async function changePassword(cookie: string, current: string, next: string): Promise<string> {
  const token = csrfOf(await (await get('/admin/password', cookie)).text());
  const res = await fetch(base + '/admin/password', {
    method: 'POST',
    body: new URLSearchParams({ current, next, confirm: next, _csrf: token }),
    headers: { cookie },
    redirect: 'manual',
  });
  expect(res.status).toBe(303);
  return cookieValue(res, SESSION_COOKIE);
}

describe('access', () => {
  it('sends anonymous visitors to the sign-in page', async () => {
    for (const path of ['/admin/users', '/admin/tokens', '/admin/audit']) {
      const res = await get(path);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/admin/login');
    }
  });

  it('refuses officers and reporters the users and audit pages, but shows them their tokens', async () => {
    for (const who of ['canbo.a', 'baocao.a']) {
      expect((await get('/admin/users', cookies[who])).status).toBe(403);
      expect((await get('/admin/audit', cookies[who])).status).toBe(403);
      expect((await post('/admin/users', cookies[who] ?? '', { username: 'x', role: 'admin', unit: '' })).status).toBe(403);
      expect((await post(`/admin/users/${ids['canbo.a']}/disable`, cookies[who] ?? '', {})).status).toBe(403);
      const tokens = await get('/admin/tokens', cookies[who]);
      expect(tokens.status).toBe(200);
      expect(await tokens.text()).not.toContain('Mã API của người dùng khác');
    }
    expect(await staff.findByUsername('x')).toBeUndefined();
    expect((await staff.findById(ids['canbo.a'] ?? 0))?.disabled).toBe(false);
  });

  it('refuses a form post without the CSRF token', async () => {
    const admin = cookies['tinh.admin'] ?? '';
    expect((await post('/admin/users', admin, { username: 'khong.csrf', role: 'officer', unit: 'xa-a' }, false)).status).toBe(403);
    expect((await post(`/admin/users/${ids['canbo.b']}/disable`, admin, {}, false)).status).toBe(403);
    expect((await post('/admin/tokens', admin, { name: 'không csrf' }, false)).status).toBe(403);
    const wrong = await fetch(base + '/admin/users', {
      method: 'POST',
      body: new URLSearchParams({ username: 'khong.csrf', role: 'officer', unit: 'xa-a', _csrf: 'x'.repeat(43) }),
      headers: { cookie: admin },
      redirect: 'manual',
    });
    expect(wrong.status).toBe(403);
    expect(await staff.findByUsername('khong.csrf')).toBeUndefined();
    expect((await staff.findById(ids['canbo.b'] ?? 0))?.disabled).toBe(false);
    expect(await staff.listApiTokens({ userId: ids['tinh.admin'] ?? 0 })).toEqual([]);
  });
});

describe('users', () => {
  it('lists every user for a province admin, in Vietnamese, filterable by unit', async () => {
    const res = await get('/admin/users', cookies['tinh.admin']);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const page = await res.text();
    expect(userRows(page)).toEqual(['admin.a', 'admin.b', 'baocao.a', 'canbo.a', 'canbo.b', 'tinh.admin']);
    expect(page).toContain('<tr class="user"><td>canbo.a</td><td>Cán bộ</td><td>UBND xã An Bình</td><td><span class="ok">đang hoạt động</span></td><td>');
    expect(page).toContain('<tr class="user"><td>tinh.admin</td><td>Quản trị</td><td>Toàn tỉnh</td>');
    expect(page).toContain('<td>baocao.a</td><td>Báo cáo</td>');
    // Last sign-in in Vietnam time (dd/MM/yyyy HH:mm), not "never".
    expect(page).toMatch(/<td>canbo\.a<\/td>.*?<td>\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}<\/td>/);
    expect(page).toContain('<option value="" selected>Toàn tỉnh</option>');
    const filtered = await (await get('/admin/users?unit=xa-b', cookies['tinh.admin'])).text();
    expect(userRows(filtered)).toEqual(['admin.b', 'canbo.b']);
  });

  it('lets a province admin create a unit officer whose one-time password is shown once and signs in', async () => {
    const res = await post('/admin/users', cookies['tinh.admin'] ?? '', { username: ' Moi.CanBo ', role: 'officer', unit: 'xa-a' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('location')).toBeNull();
    const page = await res.text();
    const otp = otpOf(page);
    expect(otp.length).toBeGreaterThanOrEqual(10);
    expect(occurrences(page, otp)).toBe(1);
    expect(page).toContain('moi.canbo');
    const created = await staff.findByUsername('moi.canbo');
    expect(created).toMatchObject({ role: 'officer', unitId: 'xa-a', mustChangePassword: true, disabled: false });
    // Shown once: the list, the audit log and the logs never carry it.
    const list = await (await get('/admin/users', cookies['tinh.admin'])).text();
    expect(list).not.toContain(otp);
    expect(list).toContain('<tr class="user"><td>moi.canbo</td><td>Cán bộ</td><td>UBND xã An Bình</td><td><span>phải đổi mật khẩu</span></td><td>Chưa đăng nhập</td>');
    expect(await (await get('/admin/audit', cookies['tinh.admin'])).text()).not.toContain(otp);
    // The request log is on (so this looks at real lines) and never carries the password.
    expect(logs.join('')).toContain('"path":"/admin/users"');
    expect(logs.join('')).not.toContain(otp);
    const entry = (await audit.page({ unitId: null, actionPrefixes: ['user.create'] }))[0];
    expect(entry).toMatchObject({ actor: ids['tinh.admin'], action: 'user.create', unitId: 'xa-a', target: 'moi.canbo', detail: { role: 'officer', unit: 'xa-a' } });
    // The password works, and the first thing asked is to change it.
    const attempt = await tryLogin(base, 'moi.canbo', otp);
    expect(attempt.response.status).toBe(303);
    expect(attempt.response.headers.get('location')).toBe('/admin/password');
    const mustChange = await get('/admin/tokens', attempt.cookie);
    expect(mustChange.status).toBe(302);
    expect(mustChange.headers.get('location')).toBe('/admin/password');
    const fresh = await changePassword(attempt.cookie, otp, PASSWORD);
    expect((await get('/admin/tokens', fresh)).status).toBe(200);
    ids['moi.canbo'] = created?.id ?? 0;
    cookies['moi.canbo'] = fresh;
  });

  it('answers a taken username with a clear error and the form again', async () => {
    const res = await post('/admin/users', cookies['tinh.admin'] ?? '', { username: 'canbo.b', role: 'reporter', unit: 'xa-b' });
    expect(res.status).toBe(409);
    const page = await res.text();
    expect(page).toContain('Tên đăng nhập “canbo.b” đã có người dùng.');
    expect(page).toContain('<form method="post" action="/admin/users">');
    expect(page).toContain('name="username" value="canbo.b"');
    expect(page).not.toContain('one-time-password');
    expect((await staff.findByUsername('canbo.b'))?.role).toBe('officer');
  });

  it('refuses an invalid username, showing what was typed as text', async () => {
    const res = await post('/admin/users', cookies['tinh.admin'] ?? '', { username: '<script>alert(1)</script>', role: 'officer', unit: 'xa-a' });
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(page).toContain('Tên đăng nhập không hợp lệ');
    expect(page).toContain('value="&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(page).not.toContain('<script>');
    expect((await post('/admin/users', cookies['tinh.admin'] ?? '', { username: 'ok.name', role: 'root', unit: '' })).status).toBe(400);
    expect((await post('/admin/users', cookies['tinh.admin'] ?? '', { username: 'ok.name', role: 'officer', unit: 'xa-khong-co' })).status).toBe(400);
    expect(await staff.findByUsername('ok.name')).toBeUndefined();
  });

  it('keeps a unit admin to their own unit', async () => {
    const admin = cookies['admin.a'] ?? '';
    const page = await (await get('/admin/users?unit=xa-b', admin)).text();
    expect(userRows(page)).toEqual(['admin.a', 'baocao.a', 'canbo.a', 'moi.canbo']);
    expect(page).not.toContain('canbo.b');
    expect(page).not.toContain('Toàn tỉnh</option>');
    expect(page).not.toContain('UBND xã Bến Cát');
    // Neither province-wide nor in another unit.
    const province = await post('/admin/users', admin, { username: 'toan.tinh', role: 'admin', unit: '' });
    expect(province.status).toBe(403);
    expect(await province.text()).toContain('Bạn chỉ được tạo người dùng thuộc đơn vị của mình.');
    expect((await post('/admin/users', admin, { username: 'xa.khac', role: 'officer', unit: 'xa-b' })).status).toBe(403);
    expect(await staff.findByUsername('toan.tinh')).toBeUndefined();
    expect(await staff.findByUsername('xa.khac')).toBeUndefined();
    // In their own unit, yes.
    const own = await post('/admin/users', admin, { username: 'canbo.a2', role: 'officer', unit: 'xa-a' });
    expect(own.status).toBe(200);
    expect(otpOf(await own.text())).not.toBe('');
    expect((await staff.findByUsername('canbo.a2'))?.unitId).toBe('xa-a');
  });

  it('answers 404 when a unit admin acts on a user outside their unit', async () => {
    const admin = cookies['admin.a'] ?? '';
    for (const target of ['canbo.b', 'tinh.admin']) {
      for (const action of ['disable', 'enable', 'reset-password']) {
        const res = await post(`/admin/users/${ids[target]}/${action}`, admin, {});
        expect(res.status).toBe(404);
        expect(await res.text()).not.toContain(target);
      }
    }
    expect((await post('/admin/users/999999/disable', admin, {})).status).toBe(404);
    expect((await post('/admin/users/abc/disable', admin, {})).status).toBe(404);
    const b = await staff.findByUsername('canbo.b');
    expect(b?.disabled).toBe(false);
    expect(b?.mustChangePassword).toBe(false);
  });

  it('does not let an admin disable themself', async () => {
    const res = await post(`/admin/users/${ids['admin.a']}/disable`, cookies['admin.a'] ?? '', {});
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Bạn không thể tự khoá tài khoản của mình.');
    expect((await staff.findById(ids['admin.a'] ?? 0))?.disabled).toBe(false);
  });

  it('disables a user, whose open session is then refused, and enables them again', async () => {
    const officer = await loginAs(base, 'canbo.a', PASSWORD);
    expect((await get('/admin/tokens', officer)).status).toBe(200);
    const res = await post(`/admin/users/${ids['canbo.a']}/disable`, cookies['admin.a'] ?? '', {});
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/users');
    expect((await staff.findById(ids['canbo.a'] ?? 0))?.disabled).toBe(true);
    const refused = await get('/admin/tokens', officer);
    expect(refused.status).toBe(302);
    expect(refused.headers.get('location')).toBe('/admin/login');
    expect((await tryLogin(base, 'canbo.a', PASSWORD)).response.status).toBe(401);
    const list = await (await get('/admin/users', cookies['admin.a'])).text();
    expect(list).toContain('<tr class="user"><td>canbo.a</td><td>Cán bộ</td><td>UBND xã An Bình</td><td><span class="warn">đã khoá</span></td>');
    expect(list).toContain(`action="/admin/users/${ids['canbo.a']}/enable"`);
    expect((await post(`/admin/users/${ids['canbo.a']}/enable`, cookies['admin.a'] ?? '', {})).status).toBe(303);
    expect((await staff.findById(ids['canbo.a'] ?? 0))?.disabled).toBe(false);
    cookies['canbo.a'] = await loginAs(base, 'canbo.a', PASSWORD);
    const [enable, disable] = await audit.page({ unitId: 'xa-a', actionPrefixes: ['user.disable', 'user.enable'] });
    expect(enable).toMatchObject({ actor: ids['admin.a'], action: 'user.enable', target: 'canbo.a', unitId: 'xa-a' });
    expect(disable).toMatchObject({ actor: ids['admin.a'], action: 'user.disable', target: 'canbo.a', unitId: 'xa-a' });
  });

  it('resets a password: a new one-time password shown once, the old one no longer works', async () => {
    const res = await post(`/admin/users/${ids['baocao.a']}/reset-password`, cookies['admin.a'] ?? '', {});
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const page = await res.text();
    const otp = otpOf(page);
    expect(otp).not.toBe('');
    expect(occurrences(page, otp)).toBe(1);
    expect((await staff.findById(ids['baocao.a'] ?? 0))?.mustChangePassword).toBe(true);
    expect((await tryLogin(base, 'baocao.a', PASSWORD)).response.status).toBe(401);
    const attempt = await tryLogin(base, 'baocao.a', otp);
    expect(attempt.response.status).toBe(303);
    expect(attempt.response.headers.get('location')).toBe('/admin/password');
    expect(logs.join('')).not.toContain(otp);
    expect((await audit.page({ unitId: 'xa-a', actionPrefixes: ['user.reset_password'] }))[0]).toMatchObject({
      actor: ids['admin.a'],
      target: 'baocao.a',
    });
    cookies['baocao.a'] = await changePassword(attempt.cookie, otp, PASSWORD);
  });
});

describe('API tokens', () => {
  let tokenId = 0;
  let token = '';

  it('creates a token for the signed-in user, shown once, that works as a Bearer token', async () => {
    const res = await post('/admin/tokens', cookies['canbo.a'] ?? '', { name: 'đồng bộ <b>' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const page = await res.text();
    token = /<code id="api-token">([^<]+)<\/code>/.exec(page)?.[1] ?? '';
    expect(token).toMatch(/^mct_[A-Za-z0-9_-]{43}$/);
    expect(occurrences(page, token)).toBe(1);
    expect(page).toContain('đồng bộ &lt;b&gt;');
    const mine = await staff.listApiTokens({ userId: ids['canbo.a'] ?? 0 });
    expect(mine.map((t) => t.name)).toEqual(['đồng bộ <b>']);
    tokenId = mine[0]?.id ?? 0;
    const list = await (await get('/admin/tokens', cookies['canbo.a'])).text();
    expect(list).toContain('<td>đồng bộ &lt;b&gt;</td>');
    expect(list).not.toContain(token);
    const api = await fetch(`${base}/api/v1/search?q=khai%20sinh`, { headers: { authorization: `Bearer ${token}` } });
    expect(api.status).toBe(200);
    expect(((await api.json()) as { query: string }).query).toBe('khai sinh');
    expect(logs.join('')).not.toContain(token.slice(4));
    const entry = (await audit.page({ unitId: 'xa-a', actionPrefixes: ['token.create'] }))[0];
    expect(entry).toMatchObject({ actor: ids['canbo.a'], target: 'đồng bộ <b>', detail: { id: tokenId } });
    expect(JSON.stringify(await audit.page({ unitId: null }))).not.toContain(token.slice(4));
    expect((await post('/admin/tokens', cookies['canbo.a'] ?? '', { name: '   ' })).status).toBe(400);
  });

  it('shows admins the tokens of the users in their scope only', async () => {
    await post('/admin/tokens', cookies['canbo.b'] ?? '', { name: 'token xã B' });
    const unitAdmin = await (await get('/admin/tokens', cookies['admin.a'])).text();
    expect(unitAdmin).toContain('Mã API của người dùng khác');
    expect(unitAdmin).toContain('<tr class="token"><td>canbo.a</td><td>đồng bộ &lt;b&gt;</td>');
    expect(unitAdmin).not.toContain('token xã B');
    const province = await (await get('/admin/tokens', cookies['tinh.admin'])).text();
    expect(province).toContain('<tr class="token"><td>canbo.b</td><td>token xã B</td>');
    expect(province).toContain('<tr class="token"><td>canbo.a</td><td>đồng bộ &lt;b&gt;</td>');
    const officer = await (await get('/admin/tokens', cookies['canbo.a'])).text();
    expect(officer).not.toContain('token xã B');
  });

  it('refuses to revoke a token outside the user scope (404), then revokes it for its owner', async () => {
    for (const who of ['admin.b', 'canbo.b', 'moi.canbo']) {
      expect((await post(`/admin/tokens/${tokenId}/revoke`, cookies[who] ?? '', {})).status).toBe(404);
    }
    expect((await post('/admin/tokens/999999/revoke', cookies['canbo.a'] ?? '', {})).status).toBe(404);
    expect((await staff.findApiToken(tokenId))?.revokedAt).toBeNull();
    const res = await post(`/admin/tokens/${tokenId}/revoke`, cookies['canbo.a'] ?? '', {});
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/tokens');
    expect((await staff.findApiToken(tokenId))?.revokedAt).toBeInstanceOf(Date);
    const api = await fetch(`${base}/api/v1/search?q=x`, { headers: { authorization: `Bearer ${token}` } });
    expect(api.status).toBe(401);
    const entry = (await audit.page({ unitId: 'xa-a', actionPrefixes: ['token.revoke'] }))[0];
    expect(entry).toMatchObject({ actor: ids['canbo.a'], target: 'đồng bộ <b>', detail: { id: tokenId, owner: 'canbo.a' } });
  });

  it('lets a unit admin revoke a token of their unit user', async () => {
    const created = await staff.createApiToken(ids['canbo.a'] ?? 0, 'của quản trị xã thu hồi');
    expect((await post(`/admin/tokens/${created.id}/revoke`, cookies['admin.a'] ?? '', {})).status).toBe(303);
    expect((await staff.findApiToken(created.id))?.revokedAt).toBeInstanceOf(Date);
    expect((await fetch(`${base}/api/v1/search?q=x`, { headers: { authorization: `Bearer ${created.token}` } })).status).toBe(401);
  });
});

describe('audit log', () => {
  const entryRows = (page: string): string[] => [...page.matchAll(/<tr class="entry">(.*?)<\/tr>/gs)].map((m) => m[1] ?? '');

  it('lists the actions above for a province admin, newest first, in Vietnamese', async () => {
    const res = await get('/admin/audit', cookies['tinh.admin']);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const page = await res.text();
    for (const label of ['Đăng nhập', 'Tạo người dùng', 'Khoá người dùng', 'Mở khoá người dùng', 'Đặt lại mật khẩu người dùng', 'Tạo mã API', 'Thu hồi mã API', 'Đổi mật khẩu']) {
      expect(page).toContain(`>${label}</span>`);
    }
    const rows = entryRows(page);
    // The newest entry first: the revoke of the last test, by admin.a, in xã An Bình.
    expect(rows[0]).toContain('<td>admin.a</td>');
    expect(rows[0]).toContain('Thu hồi mã API');
    expect(rows[0]).toContain('<td>UBND xã An Bình</td>');
    expect(rows[0]).toMatch(/^<td>\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}<\/td>/);
    expect(page).toContain('<td>canbo.b</td>');
    expect(page).toContain('<code>{&quot;role&quot;:&quot;officer&quot;,&quot;unit&quot;:&quot;xa-a&quot;}</code>');
  });

  it('shows a unit admin only the entries of their unit', async () => {
    const page = await (await get('/admin/audit?unit=xa-b', cookies['admin.a'])).text();
    const rows = entryRows(page);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row).toContain('<td>UBND xã An Bình</td>');
    expect(page).not.toContain('canbo.b');
    expect(page).not.toContain('admin.b');
    expect(page).not.toContain('token xã B');
    // The province admin's creation of a user in this unit is an entry of this unit.
    expect(page).toContain('<td>tinh.admin</td>');
  });

  it('filters by action group and by unit', async () => {
    const users = entryRows(await (await get('/admin/audit?action=users', cookies['tinh.admin'])).text());
    // Two creations, a disable, an enable and a reset.
    expect(users).toHaveLength(5);
    for (const row of users) expect(row).toMatch(/title="user\./);
    const b = entryRows(await (await get('/admin/audit?unit=xa-b&action=auth', cookies['tinh.admin'])).text());
    expect(b.length).toBeGreaterThan(0);
    for (const row of b) {
      expect(row).toContain('<td>UBND xã Bến Cát</td>');
      expect(row).toMatch(/title="auth\./);
    }
  });

  it('shows targets, details and unknown actions as text', async () => {
    await audit.record({ actor: null, action: 'auth.login_failed', unitId: 'xa-a', target: '<script>alert(1)</script>' });
    await audit.record({ actor: ids['tinh.admin'] ?? null, action: 'la.<b>', unitId: null, target: '=HYPERLINK("http://x")', detail: { note: '</code><script>' } });
    const page = await (await get('/admin/audit', cookies['tinh.admin'])).text();
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('<b>');
    expect(page).toContain('<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>');
    expect(page).toContain('<td>=HYPERLINK(&quot;http://x&quot;)</td>');
    expect(page).toContain('<code>la.&lt;b&gt;</code>');
    expect(page).toContain('&lt;/code&gt;&lt;script&gt;');
    const rows = entryRows(page);
    expect(rows[0]).toContain('<td>tinh.admin</td>');
    expect(rows[1]).toMatch(/<td>—<\/td>\s*<td><span title="auth\.login_failed">Đăng nhập sai<\/span><\/td>/);
  });

  it('pages 50 entries at a time with a link to older ones', async () => {
    for (let i = 0; i < 60; i++) await audit.record({ actor: null, action: 'auth.login_failed', unitId: 'xa-b', target: `khach-${i}` });
    const first = await (await get('/admin/audit?unit=xa-b&action=auth', cookies['tinh.admin'])).text();
    const rows = entryRows(first);
    expect(rows).toHaveLength(50);
    expect(rows[0]).toContain('<td>khach-59</td>');
    expect(rows[49]).toContain('<td>khach-10</td>');
    const older = /<a rel="next" href="([^"]+)">Cũ hơn<\/a>/.exec(first)?.[1] ?? '';
    expect(older).toMatch(/^\/admin\/audit\?action=auth&amp;unit=xa-b&amp;before=\d+$/);
    const second = await (await get(older.replaceAll('&amp;', '&'), cookies['tinh.admin'])).text();
    const rest = entryRows(second);
    expect(rest[0]).toContain('<td>khach-9</td>');
    expect(rest.map((r) => /<td>(khach-\d+)<\/td>/.exec(r)?.[1]).slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => `khach-${9 - i}`));
    expect(second).toContain('>Mới nhất</a>');
    expect(second).not.toContain('Cũ hơn');
  });
});
