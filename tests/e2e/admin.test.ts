// The admin on the real server: anonymous requests go to the login page, a new officer signs
// in with the one-time password, must change it, then sees the dashboard of their commune.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/start-server.js';
import { tryLogin } from '../helpers/admin-login.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
}, 60_000);
afterAll(async () => {
  await srv?.stop();
});

function cookieOf(res: Response): string {
  return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

async function form(path: string, body: Record<string, string>, cookie = ''): Promise<Response> {
  return fetch(`${srv.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: srv.url, ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams(body).toString(),
  });
}

describe('admin', () => {
  it('sends anonymous visitors to the Vietnamese login page', async () => {
    const res = await fetch(`${srv.url}/admin`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toContain('/admin/login');
    const login = await fetch(`${srv.url}/admin/login`);
    expect(await login.text()).toContain('Đăng nhập');
  });

  it('created the first admin on the first start, and nobody else', async () => {
    expect(await srv.running.services.staff.count()).toBe(1);
    expect((await srv.running.services.staff.findByUsername('admin'))?.role).toBe('admin');
  });

  it('lets an officer sign in, forces a new password, then shows their dashboard', async () => {
    const services = srv.running.services;
    const created = await services.staff.create({ username: 'canbo.xa', role: 'officer', unitId: services.defaultUnitId });
    expect(created).toBeDefined();
    const { response: login, cookie } = await tryLogin(srv.url, 'canbo.xa', created?.oneTimePassword ?? '');
    expect([302, 303]).toContain(login.status);
    expect(login.headers.get('set-cookie')).toMatch(/HttpOnly/i);
    const forced = await fetch(`${srv.url}/admin`, { redirect: 'manual', headers: { cookie } });
    expect(forced.headers.get('location')).toContain('/admin/password');
    const page = await (await fetch(`${srv.url}/admin/password`, { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    expect(csrf).not.toBe('');
    const fields = [...page.matchAll(/name="([a-z_]+)"/g)].map((m) => m[1] ?? '');
    const newPassword = 'Mật-khẩu-mới-rất-dài-2026';
    const body: Record<string, string> = { _csrf: csrf };
    for (const f of fields) if (f !== '_csrf') body[f] = f.includes('current') || f.includes('old') ? (created?.oneTimePassword ?? '') : newPassword;
    const changed = await form('/admin/password', body, cookie);
    expect([302, 303]).toContain(changed.status);
    const cookie2 = cookieOf(changed) || cookie;
    const dash = await fetch(`${srv.url}/admin`, { headers: { cookie: cookie2 } });
    expect(dash.status).toBe(200);
    const text = await dash.text();
    expect(text).toContain('Tổng quan');
    expect(text).toContain('Yêu cầu gặp cán bộ đang mở');
    expect(text).toContain('canbo.xa');
  });

  it('refuses a form without its CSRF token', async () => {
    const services = srv.running.services;
    const created = await services.staff.create({ username: 'baocao', role: 'reporter', unitId: null });
    const { cookie } = await tryLogin(srv.url, 'baocao', created?.oneTimePassword ?? '');
    const res = await form('/admin/logout', {}, cookie);
    expect(res.status).toBe(403);
  });
});

describe('admin pages on the real server', () => {
  it('shows the queue dashboard to a province-wide admin only', async () => {
    const services = srv.running.services;
    const anon = await fetch(`${srv.url}/admin/queues`, { redirect: 'manual' });
    expect(anon.status).toBe(302);
    const created = await services.staff.create({ username: 'quantri.tinh', role: 'admin', unitId: null });
    const { cookie } = await tryLogin(srv.url, 'quantri.tinh', created?.oneTimePassword ?? '');
    await services.staff.setPassword((await services.staff.findByUsername('quantri.tinh'))?.id ?? 0, 'Mật-khẩu-quản-trị-tỉnh-2026');
    const board = await fetch(`${srv.url}/admin/queues`, { headers: { cookie } });
    expect(board.status).toBe(200);
    expect(await board.text()).toMatch(/motcua · hàng đợi|bull/i);
    expect(board.headers.get('content-security-policy')).toContain("font-src 'self'");
    const handoffs = await fetch(`${srv.url}/admin/units/${services.defaultUnitId}/handoffs`, { headers: { cookie } });
    expect(handoffs.status).toBe(200);
  });
});
