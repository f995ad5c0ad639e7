import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { AccountRepository } from '../../src/store/account-repository.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { StaffRepository } from '../../src/store/staff-repository.js';
import { AuditRepository } from '../../src/store/audit-repository.js';
import { createApp } from '../../src/http/create-app.js';
import { createLogger } from '../../src/logger.js';
import { createAuth, LoginLimiter, SessionStore } from '../../src/admin/auth/index.js';
import { createUnitsRouter, tokenHealth } from '../../src/admin/units-router.js';
import type { Role } from '../../src/admin/auth/roles.js';
import { loginAs } from '../helpers/admin-login.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const prefix = isolatedName('units') + ':';
const unit = (id: string, name = `UBND ${id}`) => ({ id, name, province: 'Tỉnh Mẫu', address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });
const NOW = new Date('2026-03-31T05:00:00Z');
const PUBLIC = 'https://motcua.example.gov.vn';
const ZALO_AT = 'zalo-access-SECRET-aaaa';
const ZALO_RT = 'zalo-refresh-SECRET-bbbb';
const PAGE_TOKEN_B = 'EAAG-page-of-xa-b-SECRET';
const XSS_NAME = '<script>alert(1)</script> xã Độc';

let db: Database;
let redis: Redis;
let server: http.Server;
let base = '';
let units: UnitRepository;
let accounts: AccountRepository;
let audit: AuditRepository;
const changed: string[] = [];
const cookies: Record<string, string> = {};
let zaloA = 0;
let pageB = 0;

beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  await migrate(db);
  units = new UnitRepository(db);
  await units.upsert([unit('xa-a'), unit('xa-b'), unit('xa-doc', XSS_NAME)]);
  accounts = new AccountRepository(db, new SecretBox('s'.repeat(40)));
  audit = new AuditRepository(db);
  zaloA = (
    await accounts.upsert({
      unitId: 'xa-a',
      platform: 'zalo',
      externalId: '579745863508352884',
      name: 'OA xã A',
      secrets: { accessToken: ZALO_AT, refreshToken: ZALO_RT, accessExpiresAt: new Date(NOW.getTime() - 3600_000).toISOString() },
    })
  ).id;
  pageB = (await accounts.upsert({ unitId: 'xa-b', platform: 'messenger', externalId: '106000000000002', name: 'Trang xã B', secrets: { pageAccessToken: PAGE_TOKEN_B } })).id;
  redis = new Redis(TEST_REDIS_URL);
  const staff = new StaffRepository(db);
  const auth = createAuth({
    sessions: new SessionStore(redis, { prefix: prefix + 'sess:' }),
    limiter: new LoginLimiter(redis, { prefix: prefix + 'login:' }),
    staff,
    audit,
    secureCookies: false,
  });
  const router = createUnitsRouter({
    auth,
    units,
    accounts,
    audit,
    publicBaseUrl: PUBLIC + '/',
    connectLink: (unitId) => `${PUBLIC}/oauth/zalo/start?t=signed-${unitId}`,
    onUnitsChanged: async (unitId) => void changed.push(unitId),
    now: () => NOW,
  });
  const app = createApp({ logger: createLogger('silent'), readiness: [], routers: [auth.router, router] });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const users: Array<[string, Role, string | null]> = [
    ['tinh.admin', 'admin', null],
    ['admin.a', 'admin', 'xa-a'],
    ['canbo.a', 'officer', 'xa-a'],
  ];
  for (const [username, role, unitId] of users) {
    const u = await staff.create({ username, role, unitId });
    await staff.setPassword(u?.user.id ?? 0, `mật khẩu của ${username}`);
    cookies[username] = await loginAs(base, username, `mật khẩu của ${username}`);
  }
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  const keys = await redis.keys(prefix + '*');
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await db.close();
});

beforeEach(() => {
  changed.length = 0;
});

const get = (path: string, user?: string) => fetch(base + path, { redirect: 'manual', headers: user ? { cookie: cookies[user] ?? '' } : {} });

/** The CSRF token of the user's session, read from a page every signed-in user may open. */
async function csrfOf(user: string): Promise<string> {
  const page = await (await get('/admin/password', user)).text();
  const token = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
  if (!token) throw new Error(`no CSRF token for ${user}`);
  return token;
}

async function post(path: string, user: string, form: Record<string, string>, withCsrf = true): Promise<Response> {
  const body = new URLSearchParams(form);
  if (withCsrf) body.set('_csrf', await csrfOf(user));
  return fetch(base + path, { method: 'POST', body, redirect: 'manual', headers: { cookie: cookies[user] ?? '' } });
}

const auditActions = async (unitId: string | null) => (await audit.list(unitId)).map((e) => e.action);

describe('the list of units', () => {
  it('sends anonymous visitors to the login page', async () => {
    const res = await get('/admin/units');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/admin/login');
  });

  it('shows a province admin every unit with its accounts per platform and their health', async () => {
    const res = await get('/admin/units', 'tinh.admin');
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('<h1>Đơn vị và kênh</h1>');
    const rowOf = (id: string) => page.split('<tr>').find((r) => r.includes(`<small>${id}</small>`)) ?? '';
    // Name, province, Facebook / Zalo / Website counts, health.
    expect(rowOf('xa-a')).toMatch(/UBND xa-a<\/a>.*<td>Tỉnh Mẫu<\/td>\s*<td>0<\/td><td>1<\/td><td>0<\/td>/s);
    expect(rowOf('xa-a')).toContain('<span class="warn">1 cần xem mã truy cập</span>');
    expect(rowOf('xa-b')).toMatch(/<td>1<\/td><td>0<\/td><td>0<\/td>/);
    expect(rowOf('xa-b')).toContain('<span class="ok">Bình thường</span>');
    expect(page).toContain('action="/admin/units"');
    expect(page).not.toContain(ZALO_AT);
    expect(page).not.toContain(PAGE_TOKEN_B);
  });

  it('creates a unit, in NFC, audited, and tells the rest of the app', async () => {
    const res = await post('/admin/units', 'tinh.admin', {
      id: 'xa-tan-phu',
      name: 'UBND xã Tân Phú'.normalize('NFD'),
      province: 'Đồng Nai',
      phone: '0251 3861 000',
      email: 'tanphu@example.gov.vn',
      website: 'https://tanphu.example.gov.vn',
      portalUrl: '',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/units/xa-tan-phu?done=created');
    expect(await units.get('xa-tan-phu')).toEqual({
      id: 'xa-tan-phu',
      name: 'UBND xã Tân Phú'.normalize('NFC'),
      province: 'Đồng Nai',
      address: null,
      phone: '0251 3861 000',
      email: 'tanphu@example.gov.vn',
      hours: null,
      portalUrl: null,
      website: 'https://tanphu.example.gov.vn',
      procedureCodes: null,
    });
    expect(changed).toEqual(['xa-tan-phu']);
    expect(await auditActions('xa-tan-phu')).toContain('unit.create');
    const page = await (await get('/admin/units/xa-tan-phu?done=created', 'tinh.admin')).text();
    expect(page).toContain('Đã thêm đơn vị.');
  });

  it('refuses a taken id with a clear message and changes nothing', async () => {
    const res = await post('/admin/units', 'tinh.admin', { id: 'xa-b', name: 'Một xã khác' });
    expect(res.status).toBe(409);
    const page = await res.text();
    expect(page).toContain('Mã đơn vị “xa-b” đã được dùng. Vui lòng chọn mã khác.');
    // The form is filled again with what was typed.
    expect(page).toContain('value="Một xã khác"');
    expect((await units.get('xa-b'))?.name).toBe('UBND xa-b');
    expect(changed).toEqual([]);
  });

  it('refuses an invalid id, a missing name and a non-web address, naming the fields', async () => {
    const before = (await units.list()).length;
    const res = await post('/admin/units', 'tinh.admin', { id: 'Xã A!', name: '  ', website: 'javascript:alert(1)', email: 'không-phải-email' });
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(page).toContain('Mã đơn vị: mã đơn vị chỉ gồm chữ thường không dấu, số và -');
    expect(page).toContain('Tên đơn vị: không được để trống');
    expect(page).toContain('Trang thông tin điện tử: phải là địa chỉ web bắt đầu bằng http:// hoặc https://');
    expect(page).toContain('Thư điện tử: không đúng định dạng');
    expect((await post('/admin/units', 'tinh.admin', { id: 'x'.repeat(65), name: 'Dài' })).status).toBe(400);
    expect((await units.list()).length).toBe(before);
    expect(changed).toEqual([]);
  });

  it('shows a name with markup escaped', async () => {
    const list = await (await get('/admin/units', 'tinh.admin')).text();
    expect(list).toContain('&lt;script&gt;alert(1)&lt;/script&gt; xã Độc');
    expect(list).not.toContain('<script>');
    const page = await (await get('/admin/units/xa-doc', 'tinh.admin')).text();
    expect(page).toContain('<title>&lt;script&gt;alert(1)&lt;/script&gt; xã Độc — motcua</title>');
    expect(page).toContain('<h1>&lt;script&gt;alert(1)&lt;/script&gt; xã Độc</h1>');
    expect(page).not.toContain('<script>');
  });
});

describe('who may see what', () => {
  it('sends a unit admin to their own unit, and refuses them other units and the creation of units', async () => {
    const res = await get('/admin/units', 'admin.a');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/admin/units/xa-a');
    expect((await get('/admin/units/xa-a', 'admin.a')).status).toBe(200);
    expect((await get('/admin/units/xa-b', 'admin.a')).status).toBe(403);
    expect((await post('/admin/units', 'admin.a', { id: 'xa-cua-a', name: 'Xã của A' })).status).toBe(403);
    expect(await units.get('xa-cua-a')).toBeUndefined();
    expect((await post('/admin/units/xa-b', 'admin.a', { name: 'Đổi tên xã B' })).status).toBe(403);
    expect((await units.get('xa-b'))?.name).toBe('UBND xa-b');
  });

  it('refuses an officer, who has no channels to manage', async () => {
    expect((await get('/admin/units', 'canbo.a')).status).toBe(403);
    expect((await get('/admin/units/xa-a', 'canbo.a')).status).toBe(403);
    // With a valid CSRF token: refused for the role, not for the token.
    const res = await post(`/admin/units/xa-a/accounts/${zaloA}/pause`, 'canbo.a', {});
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await accounts.get(zaloA))?.status).toBe('active');
    expect((await post('/admin/units/xa-a/accounts/zalo/connect', 'canbo.a', {})).status).toBe(403);
  });

  it('answers 404 for an unknown unit', async () => {
    const res = await get('/admin/units/xa-khong-co', 'tinh.admin');
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('Không tìm thấy đơn vị này.');
  });

  it('refuses every form posted without the CSRF token', async () => {
    const res = await post('/admin/units', 'tinh.admin', { id: 'xa-csrf', name: 'X' }, false);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'CSRF_INVALID' } });
    expect(await units.get('xa-csrf')).toBeUndefined();
    expect((await post(`/admin/units/xa-a/accounts/${zaloA}/pause`, 'admin.a', {}, false)).status).toBe(403);
    expect((await post('/admin/units/xa-a/accounts/zalo/connect', 'admin.a', {}, false)).status).toBe(403);
    expect((await post('/admin/units/xa-a', 'admin.a', { name: 'Không CSRF' }, false)).status).toBe(403);
    expect((await accounts.get(zaloA))?.status).toBe('active');
    expect((await units.get('xa-a'))?.name).toBe('UBND xa-a');
  });
});

describe("a unit's page", () => {
  it('shows the accounts with status and Zalo token expiry in Vietnam time, warning when expired, and no secret', async () => {
    const page = await (await get('/admin/units/xa-a', 'admin.a')).text();
    expect(page).toContain('<td>Zalo</td><td>579745863508352884</td><td>OA xã A</td>');
    expect(page).toContain('đang hoạt động');
    // 05:00Z - 1 h = 04:00Z = 11:00 in Vietnam.
    expect(page).toContain('<td class="warn">31/03/2026 11:00 — đã hết hạn');
    for (const secret of [ZALO_AT, ZALO_RT, PAGE_TOKEN_B, 'zalo-access', 'SECRET-aaaa', 'SECRET-bbbb']) expect(page).not.toContain(secret);
    // The widget's one script tag, shown as text.
    expect(page).toContain('&lt;script src=&quot;https://motcua.example.gov.vn/widget.js&quot; data-unit=&quot;xa-a&quot; defer&gt;&lt;/script&gt;');
  });

  it('warns about a token expiring within the hour, not about a later one', () => {
    const zalo = (inMs: number) => ({
      id: 1,
      unitId: 'x',
      platform: 'zalo' as const,
      externalId: '1',
      name: null,
      status: 'active' as const,
      statusReason: null,
      secrets: { accessToken: 'a', refreshToken: 'r', accessExpiresAt: new Date(NOW.getTime() + inMs).toISOString() },
    });
    expect(tokenHealth(zalo(30 * 60_000), NOW)).toEqual({ text: '31/03/2026 12:30 — hết hạn trong vòng 1 giờ (hệ thống tự gia hạn khi gửi tin)', warn: true });
    expect(tokenHealth(zalo(3 * 3600_000), NOW)).toEqual({ text: '31/03/2026 15:00', warn: false });
    expect(tokenHealth({ ...zalo(0), secrets: {} }, NOW)?.warn).toBe(true);
  });

  it('lets the unit admin edit the contact details, audited', async () => {
    const res = await post('/admin/units/xa-a', 'admin.a', { name: 'UBND xã A', address: 'Số 1 đường Chính', hours: 'Sáng thứ Hai – thứ Sáu', portalUrl: 'https://dichvucong.example.gov.vn' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/units/xa-a?done=saved');
    const u = await units.get('xa-a');
    expect(u).toMatchObject({ name: 'UBND xã A', address: 'Số 1 đường Chính', hours: 'Sáng thứ Hai – thứ Sáu', portalUrl: 'https://dichvucong.example.gov.vn', province: null });
    expect(changed).toEqual(['xa-a']);
    const entry = (await audit.list('xa-a')).find((e) => e.action === 'unit.update');
    expect(entry?.detail.fields).toBe('name,province,address,hours,portalUrl');
    const bad = await post('/admin/units/xa-a', 'admin.a', { name: 'UBND xã A', email: 'sai' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Thư điện tử: không đúng định dạng');
    expect((await units.get('xa-a'))?.email).toBeNull();
  });

  it('saves a Messenger Page with its token sealed, never shows it, and keeps it when the field is left empty', async () => {
    const token = 'EAAG-new-page-token-xa-a-1234567890';
    const res = await post('/admin/units/xa-a/accounts/messenger', 'admin.a', { pageId: '106000000000001', pageName: 'Trang xã A', pageAccessToken: token });
    expect(res.status).toBe(303);
    const saved = await accounts.find('messenger', '106000000000001');
    expect(saved).toMatchObject({ unitId: 'xa-a', name: 'Trang xã A', status: 'active' });
    expect(saved?.secrets.pageAccessToken).toBe(token);
    const rawRow = await db.query<{ secrets: string }>('SELECT secrets FROM channel_accounts WHERE id = $1', [saved?.id ?? 0]);
    expect(rawRow[0]?.secrets).not.toContain('EAAG');
    const entry = (await audit.list('xa-a')).find((e) => e.action === 'account.messenger_saved');
    expect(entry?.target).toBe('106000000000001');
    expect(JSON.stringify(entry)).not.toContain('EAAG');

    await post('/admin/units/xa-a/accounts/messenger', 'admin.a', { pageId: '106000000000001', pageName: 'Trang mới xã A', pageAccessToken: '' });
    const again = await accounts.find('messenger', '106000000000001');
    expect(again?.name).toBe('Trang mới xã A');
    expect(again?.secrets.pageAccessToken).toBe(token);

    const page = await (await get('/admin/units/xa-a?done=messenger', 'admin.a')).text();
    expect(page).toContain('Đã lưu Trang Facebook.');
    expect(page).toContain('<td>Facebook</td><td>106000000000001</td><td>Trang mới xã A</td>');
    expect(page).toContain('đã lưu mã truy cập Trang');
    expect(page).not.toContain('EAAG');
  });

  it("refuses a new Page without a token, a bad Page id, and another unit's Page, without echoing the token", async () => {
    const noToken = await post('/admin/units/xa-a/accounts/messenger', 'admin.a', { pageId: '106000000000003', pageAccessToken: '' });
    expect(noToken.status).toBe(400);
    expect(await noToken.text()).toContain('Trang mới cần có mã truy cập Trang');
    expect(await accounts.find('messenger', '106000000000003')).toBeUndefined();

    const badId = await post('/admin/units/xa-a/accounts/messenger', 'admin.a', { pageId: 'trang-xa-a', pageAccessToken: 'EAAG-typed-token' });
    expect(badId.status).toBe(400);
    const badPage = await badId.text();
    expect(badPage).toContain('Mã Trang (Page ID): chỉ gồm chữ số');
    expect(badPage).not.toContain('EAAG-typed-token');

    const stolen = await post('/admin/units/xa-a/accounts/messenger', 'admin.a', { pageId: '106000000000002', pageAccessToken: 'EAAG-attacker' });
    expect(stolen.status).toBe(409);
    const stolenPage = await stolen.text();
    expect(stolenPage).toContain('đã được gắn với một đơn vị khác');
    expect(stolenPage).not.toContain('EAAG');
    const b = await accounts.get(pageB);
    expect(b?.unitId).toBe('xa-b');
    expect(b?.secrets.pageAccessToken).toBe(PAGE_TOKEN_B);
  });

  it('pauses and resumes an account of the unit', async () => {
    const paused = await post(`/admin/units/xa-a/accounts/${zaloA}/pause`, 'admin.a', {});
    expect(paused.status).toBe(303);
    expect(paused.headers.get('location')).toBe('/admin/units/xa-a?done=paused');
    expect(await accounts.get(zaloA)).toMatchObject({ status: 'paused', statusReason: 'Tạm dừng bởi admin.a' });
    const page = await (await get('/admin/units/xa-a', 'admin.a')).text();
    expect(page).toContain('<td class="warn">tạm dừng<br><small>Tạm dừng bởi admin.a</small></td>');
    expect(page).toContain(`action="/admin/units/xa-a/accounts/${zaloA}/resume"`);
    const resumed = await post(`/admin/units/xa-a/accounts/${zaloA}/resume`, 'admin.a', {});
    expect(resumed.status).toBe(303);
    expect(await accounts.get(zaloA)).toMatchObject({ status: 'active', statusReason: null });
    expect(await auditActions('xa-a')).toEqual(expect.arrayContaining(['account.paused', 'account.resumed']));
  });

  it('does not resume an account that needs reconnecting', async () => {
    await accounts.setStatus(zaloA, 'reconnect_required', '-14014: refresh refused');
    await post(`/admin/units/xa-a/accounts/${zaloA}/resume`, 'admin.a', {});
    expect((await accounts.get(zaloA))?.status).toBe('reconnect_required');
    const page = await (await get('/admin/units/xa-a', 'admin.a')).text();
    expect(page).toContain('cần kết nối lại<br><small>-14014: refresh refused</small>');
    await accounts.setStatus(zaloA, 'active', null);
  });

  it("answers 404 to pausing another unit's account through one's own unit", async () => {
    const res = await post(`/admin/units/xa-a/accounts/${pageB}/pause`, 'admin.a', {});
    expect(res.status).toBe(404);
    // A province admin too: the account must belong to the unit in the address.
    expect((await post(`/admin/units/xa-a/accounts/${pageB}/pause`, 'tinh.admin', {})).status).toBe(404);
    expect((await post('/admin/units/xa-a/accounts/999999/pause', 'admin.a', {})).status).toBe(404);
    expect((await accounts.get(pageB))?.status).toBe('active');
  });

  it('starts the Zalo OA connection through the signed link, audited', async () => {
    const res = await post('/admin/units/xa-a/accounts/zalo/connect', 'admin.a', {});
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${PUBLIC}/oauth/zalo/start?t=signed-xa-a`);
    expect(await auditActions('xa-a')).toContain('account.zalo_connect_started');
    expect((await post('/admin/units/xa-b/accounts/zalo/connect', 'admin.a', {})).status).toBe(403);
  });
});
