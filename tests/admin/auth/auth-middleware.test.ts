import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import { openDatabase, type Database } from '../../../src/store/database.js';
import { migrate } from '../../../src/store/migrate.js';
import { UnitRepository } from '../../../src/store/unit-repository.js';
import { StaffRepository } from '../../../src/store/staff-repository.js';
import { AuditRepository } from '../../../src/store/audit-repository.js';
import { createApp } from '../../../src/http/create-app.js';
import { createLogger } from '../../../src/logger.js';
import { authOf, createAuth, ensureFirstAdmin, LoginLimiter, SessionStore, SESSION_COOKIE, LOGIN_CSRF_COOKIE } from '../../../src/admin/auth/index.js';
import { loginForm, tryLogin } from '../../helpers/admin-login.js';
import { TEST_REDIS_URL, isolatedName } from '../../helpers/services.js';

const prefix = isolatedName('auth') + ':';
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });

let db: Database;
let redis: Redis;
let server: http.Server;
let base = '';
let staff: StaffRepository;
let audit: AuditRepository;
let adminPassword = '';

beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  await migrate(db);
  await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b')]);
  redis = new Redis(TEST_REDIS_URL);
  staff = new StaffRepository(db);
  audit = new AuditRepository(db);
  adminPassword = (await ensureFirstAdmin(staff, { info: () => undefined }))?.oneTimePassword ?? '';
  const auth = createAuth({
    sessions: new SessionStore(redis, { prefix: prefix + 'sess:' }),
    limiter: new LoginLimiter(redis, { prefix: prefix + 'login:' }),
    staff,
    audit,
    secureCookies: false,
  });
  const pages = express.Router();
  pages.get('/admin', auth.requireUser(), (_req, res) => {
    res.type('html').send(`Xin chào ${authOf(res).user.username}`);
  });
  pages.post('/admin/things', auth.requireUser(), (_req, res) => {
    res.json({ ok: true });
  });
  pages.get('/admin/units/:unitId/handoffs', auth.requireUser('handoffs.manage'), (req, res) => {
    res.json({ unit: req.params.unitId });
  });
  pages.get('/api/whoami', auth.requireUser(), (_req, res) => {
    res.json({ username: authOf(res).user.username, via: authOf(res).via });
  });
  pages.get('/api/units/:unitId/handoffs', auth.requireUser('handoffs.manage'), (req, res) => {
    res.json({ unit: req.params.unitId });
  });
  const app = createApp({ logger: createLogger('silent'), readiness: [], routers: [auth.router, pages] });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  const keys = await redis.keys(prefix + '*');
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await db.close();
});

function form(fields: Record<string, string>): URLSearchParams {
  return new URLSearchParams(fields);
}

async function post(path: string, fields: Record<string, string>, cookie?: string, headers: Record<string, string> = {}) {
  // The sign-in form carries its own CSRF token: fetch it as a browser would, unless the test
  // sets _csrf itself.
  let loginCookie = '';
  if (path === '/admin/login' && !('_csrf' in fields)) {
    const f = await loginForm(base);
    fields = { ...fields, _csrf: f.csrf };
    loginCookie = f.cookie;
  }
  const cookies = [cookie, loginCookie].filter((c): c is string => !!c).join('; ');
  return fetch(base + path, {
    method: 'POST',
    body: form(fields),
    redirect: 'manual',
    headers: { ...(cookies ? { cookie: cookies } : {}), ...headers },
  });
}

async function get(path: string, cookie?: string, headers: Record<string, string> = {}) {
  return fetch(base + path, { redirect: 'manual', headers: { ...(cookie ? { cookie } : {}), ...headers } });
}

function sessionCookie(res: Response): { pair: string; raw: string } {
  const raw = res.headers.getSetCookie().find((c) => c.startsWith(SESSION_COOKIE + '=')) ?? '';
  return { pair: raw.split(';')[0] ?? '', raw };
}

async function csrfOf(cookie: string): Promise<string> {
  const page = await (await get('/admin/password', cookie)).text();
  return /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
}

/** Signs in a user whose password is already set; returns the cookie pair. */
async function signIn(username: string, password: string): Promise<string> {
  const res = await post('/admin/login', { username, password });
  expect(res.status).toBe(303);
  return sessionCookie(res).pair;
}

describe('admin sign-in', () => {
  it('renders the login page in Vietnamese, without external resources', async () => {
    const res = await get('/admin/login');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = await res.text();
    expect(page).toContain('<html lang="vi">');
    expect(page).toContain('Đăng nhập');
    expect(page).toContain('Tên đăng nhập');
    expect(page).toContain('Mật khẩu');
    expect(page).not.toMatch(/https?:\/\//);
  });

  it('redirects an anonymous page visit to the login page and answers 401 JSON on /api', async () => {
    const page = await get('/admin');
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/admin/login');
    const api = await get('/api/whoami');
    expect(api.status).toBe(401);
    expect(await api.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
  });

  it('shows an error for a wrong password, counts failures and refuses the 6th attempt even when right', async () => {
    const u = await staff.create({ username: 'nhapsai', role: 'officer', unitId: 'xa-a' });
    await staff.setPassword(u?.user.id ?? 0, 'mật khẩu đúng 123');
    for (let i = 0; i < 5; i++) {
      const res = await post('/admin/login', { username: 'nhapsai', password: `sai ${i}` });
      expect(res.status).toBe(401);
      expect(res.headers.getSetCookie().some((c) => c.startsWith(SESSION_COOKIE + '='))).toBe(false);
      expect(await res.text()).toContain('Tên đăng nhập hoặc mật khẩu không đúng.');
    }
    const failures = (await audit.list(null, 100)).filter((e) => e.action === 'auth.login_failed' && e.target === 'nhapsai');
    expect(failures).toHaveLength(5);
    expect(JSON.stringify(failures)).not.toContain('sai 0');
    const blocked = await post('/admin/login', { username: 'NhapSai', password: 'mật khẩu đúng 123' });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await blocked.text()).toContain('Đăng nhập sai quá nhiều lần');
    expect(blocked.headers.getSetCookie().some((c) => c.startsWith(SESSION_COOKIE + '='))).toBe(false);
  });

  it('signs in with the one-time password, forces a password change, then opens protected pages', async () => {
    const res = await post('/admin/login', { username: 'admin', password: adminPassword });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/password');
    const { pair, raw } = sessionCookie(res);
    expect(raw).toMatch(/; HttpOnly/);
    expect(raw).toMatch(/; SameSite=Lax/);
    expect(raw).toMatch(/; Path=\/admin/);
    expect(raw).not.toMatch(/Secure/);

    const home = await get('/admin', pair);
    expect(home.status).toBe(302);
    expect(home.headers.get('location')).toBe('/admin/password');

    const csrf = await csrfOf(pair);
    expect(csrf.length).toBeGreaterThan(30);
    const short = await post('/admin/password', { _csrf: csrf, current: adminPassword, next: 'ngắn', confirm: 'ngắn' }, pair);
    expect(short.status).toBe(400);
    expect(await short.text()).toContain('ít nhất 12 ký tự');
    const wrong = await post('/admin/password', { _csrf: csrf, current: 'sai', next: 'một mật khẩu dài', confirm: 'một mật khẩu dài' }, pair);
    expect(await wrong.text()).toContain('Mật khẩu hiện tại không đúng.');

    const changed = await post('/admin/password', { _csrf: csrf, current: adminPassword, next: 'một mật khẩu dài', confirm: 'một mật khẩu dài' }, pair);
    expect(changed.status).toBe(303);
    expect(changed.headers.get('location')).toBe('/admin');
    const fresh = sessionCookie(changed).pair;
    expect(fresh).not.toBe(pair);
    // The old session id was rotated away.
    expect((await get('/admin', pair)).status).toBe(302);
    const ok = await get('/admin', fresh);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('Xin chào admin');
    const actions = (await audit.list(null, 100)).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['auth.login', 'auth.password_changed', 'auth.password_change_failed']));
  });

  it('refuses state-changing requests without the right CSRF token', async () => {
    const cookie = await signIn('admin', 'một mật khẩu dài');
    const csrf = await csrfOf(cookie);
    expect((await post('/admin/things', {}, cookie)).status).toBe(403);
    expect((await post('/admin/things', { _csrf: 'x'.repeat(43) }, cookie)).status).toBe(403);
    expect((await post('/admin/things', { _csrf: csrf }, cookie, { 'x-csrf-token': 'wrong' })).status).toBe(403);
    const ok = await post('/admin/things', { _csrf: csrf }, cookie);
    expect(ok.status).toBe(200);
    expect((await post('/admin/things', {}, cookie, { 'x-csrf-token': csrf })).status).toBe(200);
    expect((await post('/admin/logout', {}, cookie)).status).toBe(403);
    expect((await post('/admin/password', { current: 'x', next: 'y', confirm: 'y' }, cookie)).status).toBe(403);
  });

  it('logs out: the session is destroyed and the cookie cleared', async () => {
    const cookie = await signIn('admin', 'một mật khẩu dài');
    expect((await get('/admin', cookie)).status).toBe(200);
    const out = await post('/admin/logout', { _csrf: await csrfOf(cookie) }, cookie);
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/admin/login');
    expect(sessionCookie(out).raw).toMatch(/Max-Age=0/);
    const after = await get('/admin', cookie);
    expect(after.status).toBe(302);
    expect(after.headers.get('location')).toBe('/admin/login');
    expect((await audit.list(null, 5)).map((e) => e.action)).toContain('auth.logout');
  });

  it('accepts a Bearer token on /api and refuses it once revoked', async () => {
    const admin = await staff.findByUsername('admin');
    const t = await staff.createApiToken(admin?.id ?? 0, 'thử');
    const res = await get('/api/whoami', undefined, { authorization: `Bearer ${t.token}` });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ username: 'admin', via: 'token' });
    // Tokens do not open the cookie-only admin pages.
    expect((await get('/admin', undefined, { authorization: `Bearer ${t.token}` })).status).toBe(401);
    await staff.revokeApiToken(t.id);
    const revoked = await get('/api/whoami', undefined, { authorization: `Bearer ${t.token}` });
    expect(revoked.status).toBe(401);
  });

  it('keeps an officer of unit A out of unit B', async () => {
    const u = await staff.create({ username: 'canbo.xa-a', role: 'officer', unitId: 'xa-a' });
    await staff.setPassword(u?.user.id ?? 0, 'mật khẩu cán bộ xã A');
    const cookie = await signIn('canbo.xa-a', 'mật khẩu cán bộ xã A');
    expect((await get('/admin/units/xa-a/handoffs', cookie)).status).toBe(200);
    const other = await get('/admin/units/xa-b/handoffs', cookie);
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({ error: { code: 'FORBIDDEN', message: 'Bạn không có quyền thực hiện thao tác này.' } });
    // A browser gets the refusal as a page in Vietnamese.
    const page = await get('/admin/units/xa-b/handoffs', cookie, { accept: 'text/html,application/xhtml+xml' });
    expect(page.status).toBe(403);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const body = await page.text();
    expect(body).toContain('Bạn không có quyền thực hiện thao tác này.');
    expect(body).toContain('href="/admin"');
    const t = await staff.createApiToken(u?.user.id ?? 0, 'api');
    const bearer = { authorization: `Bearer ${t.token}` };
    expect((await get('/api/units/xa-a/handoffs', undefined, bearer)).status).toBe(200);
    expect((await get('/api/units/xa-b/handoffs', undefined, bearer)).status).toBe(403);
  });

  it('shows a typed username escaped on the error page', async () => {
    const res = await post('/admin/login', { username: '<script>alert(1)</script>', password: 'x' });
    expect(res.status).toBe(401);
    const page = await res.text();
    expect(page).toContain('value="&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(page).not.toContain('<script>');
  });

  it('marks the cookie Secure when configured', async () => {
    const auth = createAuth({
      sessions: new SessionStore(redis, { prefix: prefix + 'sess2:' }),
      limiter: new LoginLimiter(redis, { prefix: prefix + 'login2:' }),
      staff,
      audit,
      secureCookies: true,
    });
    const app = express();
    app.use(auth.router);
    const srv = http.createServer(app);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const { response: res } = await tryLogin(`http://127.0.0.1:${(srv.address() as AddressInfo).port}`, 'admin', 'một mật khẩu dài');
      expect(res.status).toBe(303);
      expect(sessionCookie(res).raw).toMatch(/; Secure$/);
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('answers 400, not 500, to a malformed login form', async () => {
    const res = await fetch(base + '/admin/login', { method: 'POST', body: 'username=a&username=b&password=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
    expect(res.status).toBe(400);
  });

  it('refuses a sign-in form without its token, or with a token of another browser', async () => {
    const page = await get('/admin/login');
    const setCookie = page.headers.getSetCookie().find((c) => c.startsWith(LOGIN_CSRF_COOKIE + '=')) ?? '';
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\/admin\/login/);
    const none = await post('/admin/login', { username: 'admin', password: 'một mật khẩu dài', _csrf: '' });
    expect(none.status).toBe(403);
    expect(none.headers.getSetCookie().some((c) => c.startsWith(SESSION_COOKIE + '='))).toBe(false);
    expect(await none.text()).toContain('Yêu cầu không hợp lệ');
    // The attacker's own token (from their browser) does not match the victim's cookie.
    const attacker = await loginForm(base);
    const victim = await loginForm(base);
    const crossed = await fetch(base + '/admin/login', {
      method: 'POST',
      body: form({ username: 'admin', password: 'một mật khẩu dài', _csrf: attacker.csrf }),
      headers: { cookie: victim.cookie },
      redirect: 'manual',
    });
    expect(crossed.status).toBe(403);
    // The right pair signs in, and the used form token is cleared.
    const ok = await fetch(base + '/admin/login', {
      method: 'POST',
      body: form({ username: 'admin', password: 'một mật khẩu dài', _csrf: victim.csrf }),
      headers: { cookie: victim.cookie },
      redirect: 'manual',
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.getSetCookie().some((c) => c.startsWith(LOGIN_CSRF_COOKIE + '=;'))).toBe(true);
  });

  it('refuses a cross-site login form post', async () => {
    const res = await post('/admin/login', { username: 'admin', password: 'một mật khẩu dài' }, undefined, { origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie().some((c) => c.startsWith(SESSION_COOKIE + '='))).toBe(false);
  });
});
