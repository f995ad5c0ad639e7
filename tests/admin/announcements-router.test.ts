// The officers' announcements pages: compose with Vietnamese errors, the draft's preview and its
// notice of who will and will not receive it (matching a seeded audience), send (audited, handed
// to the runtime once), live progress that refreshes only while running, cancel, the report
// downloads, and the unit and role checks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import ExcelJS from 'exceljs';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { StaffRepository } from '../../src/store/staff-repository.js';
import { AuditRepository } from '../../src/store/audit-repository.js';
import { AccountRepository } from '../../src/store/account-repository.js';
import { BroadcastRepository } from '../../src/store/broadcast-repository.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { createApp } from '../../src/http/create-app.js';
import { createLogger } from '../../src/logger.js';
import { createAuth, LoginLimiter, SessionStore } from '../../src/admin/auth/index.js';
import { createAnnouncementsRouter, vietnamLocalToInstant, instantToVietnamLocal } from '../../src/admin/announcements-router.js';
import { createPredictor } from '../../src/broadcast/prediction.js';
import { previewAnnouncement } from '../../src/broadcast/render.js';
import { SubscriptionRepository } from '../../src/store/subscription-repository.js';
import { contactPseudonym } from '../../src/broadcast/report-export.js';
import { AnnouncementInput, type Announcement } from '../../src/broadcast/types.js';
import { loginAs } from '../helpers/admin-login.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const prefix = isolatedName('announcements') + ':';
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });
const HOUR = 3_600_000;
// 10:00 in Vietnam: Zalo promotions may go out.
const NOW = new Date('2026-03-10T03:00:00Z');
const ago = (h: number) => new Date(NOW.getTime() - h * HOUR);
const KEY = 'khóa-ẩn-danh-thử';

let db: Database;
let redis: Redis;
let server: http.Server;
let base = '';
let repo: BroadcastRepository;
let audit: AuditRepository;
let officerA = '';
let officerB = '';
let reporterA = '';
const submitted: Announcement[] = [];
const cancelled: Announcement[] = [];
const groups = { village: 0, topic: 0, inactive: 0, otherUnit: 0 };
const contacts: Record<string, number> = {};
let otherUnitAnnouncement = 0;

async function seedAudience(): Promise<void> {
  const accountsRepo = new AccountRepository(db, new SecretBox('s'.repeat(40)));
  const m = (await accountsRepo.upsert({ unitId: 'xa-a', platform: 'messenger', externalId: 'page-a' })).id;
  const z = (await accountsRepo.upsert({ unitId: 'xa-a', platform: 'zalo', externalId: 'oa-a' })).id;
  const w = (await accountsRepo.upsert({ unitId: 'xa-a', platform: 'web', externalId: 'widget-a' })).id;
  const mb = (await accountsRepo.upsert({ unitId: 'xa-b', platform: 'messenger', externalId: 'page-b' })).id;
  const group = async (unitId: string, kind: string, name: string, active = true): Promise<number> => {
    const rows = await db.query<{ id: string | number }>(`INSERT INTO subscriber_groups (unit_id, kind, name, active) VALUES ($1, $2, $3, $4) RETURNING id`, [unitId, kind, name, active]);
    return Number(rows[0]?.id);
  };
  groups.village = await group('xa-a', 'village', 'Thôn Đông');
  groups.topic = await group('xa-a', 'topic', 'Cải cách hành chính');
  groups.inactive = await group('xa-a', 'audience', 'Nhóm đã ngừng', false);
  groups.otherUnit = await group('xa-b', 'village', 'Thôn của xã B');
  const contact = async (account: number, ref: string, last: Date, following: boolean | null = null, group = groups.village): Promise<number> => {
    const rows = await db.query<{ id: string | number }>(
      `INSERT INTO contacts (account_id, platform_user_id, last_interaction_at, following) VALUES ($1, $2, $3, $4) RETURNING id`,
      [account, ref, last, following],
    );
    const id = Number(rows[0]?.id);
    await db.query(`INSERT INTO subscriptions (contact_id, group_id, consented_at) VALUES ($1, $2, $3)`, [id, group, ago(500)]);
    contacts[ref] = id;
    return id;
  };
  // Messenger: 3 inside the 24-hour window, 2 outside it.
  await contact(m, 'psid-in-1', ago(1));
  await contact(m, 'psid-in-2', ago(5));
  await contact(m, 'psid-in-3', ago(23));
  await contact(m, 'psid-out-1', ago(30));
  await contact(m, 'psid-out-2', ago(24 * 9));
  // Zalo: a follower, a non-follower, a follower who already had today's promotion.
  await contact(z, 'zalo-follower', ago(24 * 60), true);
  await contact(z, 'zalo-not-following', ago(1), false);
  const capped = await contact(z, 'zalo-capped', ago(24 * 3), true, groups.topic);
  const earlier = await repo.create('xa-a', AnnouncementInput.parse({ title: 'Tin sáng nay', body: 'x', groupIds: [groups.topic], channels: ['zalo'] }), null);
  await repo.cancel(earlier.id, 'xa-a', ago(3));
  await db.query(`INSERT INTO deliveries (announcement_id, contact_id, account_id, platform, status, updated_at) VALUES ($1, $2, $3, 'zalo', 'sent', $4)`, [earlier.id, capped, z, ago(2)]);
  // Website: held for the next visit.
  await contact(w, 'web-visitor-1', ago(2));
  await contact(w, 'web-visitor-2', ago(200));
  // Another unit.
  await contact(mb, 'psid-xa-b', ago(1), null, groups.otherUnit);
  otherUnitAnnouncement = (await repo.create('xa-b', AnnouncementInput.parse({ title: 'Việc của xã B', body: 'Nội dung xã B', groupIds: [groups.otherUnit], channels: ['messenger'] }), null)).id;
}

beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  await migrate(db);
  await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b')]);
  redis = new Redis(TEST_REDIS_URL);
  const staff = new StaffRepository(db);
  repo = new BroadcastRepository(db);
  audit = new AuditRepository(db);
  await seedAudience();
  const auth = createAuth({
    sessions: new SessionStore(redis, { prefix: prefix + 'sess:' }),
    limiter: new LoginLimiter(redis, { prefix: prefix + 'login:' }),
    staff,
    audit,
    secureCookies: false,
  });
  const router = createAnnouncementsRouter({
    auth,
    broadcasts: repo,
    groups: new SubscriptionRepository(db),
    predict: createPredictor(db, { zaloMonthlyCap: 4 }),
    preview: previewAnnouncement,
    audit,
    onSubmitted: async (a) => void submitted.push(a),
    onCancelled: async (a) => void cancelled.push(a),
    pseudonymKey: KEY,
    now: () => NOW,
  });
  const app = createApp({ logger: createLogger('silent'), readiness: [], routers: [auth.router, router] });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const user = async (username: string, role: 'officer' | 'reporter', unitId: string): Promise<string> => {
    const u = await staff.create({ username, role, unitId });
    await staff.setPassword(u?.user.id ?? 0, `mật khẩu của ${username}`);
    return loginAs(base, username, `mật khẩu của ${username}`);
  };
  officerA = await user('canbo.a', 'officer', 'xa-a');
  officerB = await user('canbo.b', 'officer', 'xa-b');
  reporterA = await user('baocao.a', 'reporter', 'xa-a');
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  const keys = await redis.keys(prefix + '*');
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await db.close();
});

const get = (path: string, cookie?: string) => fetch(base + path, { redirect: 'manual', headers: cookie ? { cookie } : {} });
const post = (path: string, fields: URLSearchParams | Record<string, string>, cookie?: string) =>
  fetch(base + path, { method: 'POST', body: fields instanceof URLSearchParams ? fields : new URLSearchParams(fields), redirect: 'manual', headers: cookie ? { cookie } : {} });
const csrfIn = (page: string): string => /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
const csrfA = async (): Promise<string> => csrfIn(await (await get('/admin/units/xa-a/announcements', officerA)).text());

function composeFields(csrf: string, over: Record<string, string | string[]> = {}): URLSearchParams {
  const fields: Record<string, string | string[]> = {
    _csrf: csrf,
    title: 'Lịch tiếp công dân tháng 3',
    body: 'Chủ tịch UBND xã tiếp công dân sáng thứ Năm hằng tuần tại bộ phận một cửa.',
    linkUrl: '',
    imageUrl: '',
    groupIds: [String(groups.village), String(groups.topic)],
    channels: ['zalo', 'messenger', 'web'],
    when: 'now',
    holdDays: '7',
    ...over,
  };
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
  return p;
}

async function createDraft(over: Record<string, string | string[]> = {}): Promise<number> {
  const res = await post('/admin/units/xa-a/announcements', composeFields(await csrfA(), over), officerA);
  expect(res.status).toBe(303);
  const m = /\/admin\/units\/xa-a\/announcements\/(\d+)\?notice=created$/.exec(res.headers.get('location') ?? '');
  expect(m).not.toBeNull();
  return Number(m?.[1]);
}

describe('announcements pages', () => {
  it('converts Vietnam wall-clock time to the instant and back', () => {
    expect(vietnamLocalToInstant('2026-03-11', '08:30')).toEqual(new Date('2026-03-11T01:30:00Z'));
    expect(vietnamLocalToInstant('2026-03-11', '03:15')).toEqual(new Date('2026-03-10T20:15:00Z'));
    expect(vietnamLocalToInstant('2026-02-30', '08:00')).toBeNull();
    expect(vietnamLocalToInstant('2026-03-11', '24:00')).toBeNull();
    expect(vietnamLocalToInstant('11/03/2026', '08:00')).toBeNull();
    expect(instantToVietnamLocal(new Date('2026-03-10T20:15:00Z'))).toEqual({ date: '2026-03-11', time: '03:15' });
  });

  it('sends anonymous visitors to the login page and refuses other units and the reporter role', async () => {
    expect((await get('/admin/units/xa-a/announcements')).status).toBe(302);
    expect((await get('/admin/units/xa-b/announcements', officerA)).status).toBe(403);
    expect((await get('/admin/units/xa-a/announcements/new', officerB)).status).toBe(403);
    expect((await get('/admin/units/xa-a/announcements', reporterA)).status).toBe(403);
    expect((await get(`/admin/units/xa-b/announcements/${otherUnitAnnouncement}`, officerA)).status).toBe(403);
  });

  it('lists the unit’s announcements with a link to compose', async () => {
    const res = await get('/admin/units/xa-a/announcements', officerA);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = await res.text();
    expect(page).toContain('<h1>Thông báo cho người dân</h1>');
    expect(page).toContain('href="/admin/units/xa-a/announcements/new">Soạn thông báo</a>');
    expect(page).not.toContain('Việc của xã B');
    expect(page).not.toContain('http-equiv="refresh"');
  });

  it('offers the unit’s active groups and the three channels', async () => {
    const page = await (await get('/admin/units/xa-a/announcements/new', officerA)).text();
    expect(page).toContain(`name="groupIds" value="${groups.village}"`);
    expect(page).toContain('Thôn Đông');
    expect(page).toContain('Cải cách hành chính');
    expect(page).toContain('Chủ đề');
    expect(page).not.toContain('Nhóm đã ngừng');
    expect(page).not.toContain('Thôn của xã B');
    for (const c of ['zalo', 'messenger', 'web']) expect(page).toContain(`name="channels" value="${c}"`);
    expect(page).toContain('Facebook Messenger');
    expect(page).toContain('giờ Việt Nam');
    expect(page).not.toContain('<script');
  });

  it('shows Vietnamese errors next to the fields and keeps what was typed', async () => {
    const res = await post(
      '/admin/units/xa-a/announcements',
      composeFields(await csrfA(), {
        title: '',
        body: 'Nội dung <b>giữ lại</b>',
        linkUrl: 'trang web "xã"',
        imageUrl: 'http://anh.example/x.jpg',
        groupIds: [],
        channels: [],
        when: 'later',
        date: '2026-03-09',
        time: '08:00',
        holdDays: '99',
      }),
      officerA,
    );
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(page).toContain('Chưa lưu được');
    expect(page).toContain('Cần tiêu đề.');
    expect(page).toContain('Liên kết phải là một địa chỉ http(s) đầy đủ');
    expect(page).toContain('Ảnh phải là địa chỉ https.');
    expect(page).toContain('Chọn ít nhất một nhóm.');
    expect(page).toContain('Chọn ít nhất một kênh.');
    expect(page).toContain('Thời điểm gửi đã qua');
    expect(page).toContain('Số ngày giữ tin phải từ 0 đến 30.');
    // What was typed stays, escaped.
    expect(page).toContain('Nội dung &lt;b&gt;giữ lại&lt;/b&gt;</textarea>');
    expect(page).toContain('value="trang web &quot;xã&quot;"');
    expect(page).toContain('value="2026-03-09"');
    expect(page).toContain('value="99"');
    expect(page).toContain('value="later" checked');
    expect(await repo.list('xa-a')).toHaveLength(1); // only the seeded, cancelled one
  });

  it('refuses another unit’s group and an impossible date', async () => {
    const res = await post('/admin/units/xa-a/announcements', composeFields(await csrfA(), { groupIds: [String(groups.otherUnit)] }), officerA);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Có nhóm đã chọn không thuộc đơn vị hoặc đã ngừng hoạt động.');
    const inactive = await post('/admin/units/xa-a/announcements', composeFields(await csrfA(), { groupIds: [String(groups.inactive)] }), officerA);
    expect(inactive.status).toBe(400);
    const bad = await post('/admin/units/xa-a/announcements', composeFields(await csrfA(), { when: 'later', date: '2026-02-30', time: '08:00' }), officerA);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Chọn ngày và giờ gửi (giờ Việt Nam)');
  });

  it('saves a draft, previews it per platform and says who will and will not receive it', async () => {
    const id = await createDraft({ linkUrl: 'https://dichvucong.gov.vn/p/home/dvc-trang-chu.html' });
    expect((await audit.list('xa-a', 10)).some((e) => e.action === 'announcement.create' && e.target === String(id))).toBe(true);
    const res = await get(`/admin/units/xa-a/announcements/${id}?notice=created`, officerA);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('Đã lưu bản nháp.');
    expect(page).not.toContain('http-equiv="refresh"');
    // The preview, one block per platform.
    expect(page).toContain('<h2>Xem trước trên từng kênh</h2>');
    expect(page).toMatch(/<h3>Zalo OA<\/h3>\s*<div class="bubble">[^<]*Lịch tiếp công dân tháng 3/);
    expect(page).toMatch(/<h3>Facebook Messenger<\/h3>\s*<div class="bubble">[^<]*Chủ tịch UBND xã tiếp công dân/);
    expect(page).toContain('<h3>Website</h3>');
    // The notice: numbers per platform match the seeded audience.
    expect(page).toContain('<tr><td>Facebook Messenger</td><td class="num">5</td><td class="num">3</td><td class="num">2</td><td class="num">0</td><td class="num">0</td></tr>');
    expect(page).toContain('<tr><td>Zalo OA</td><td class="num">3</td><td class="num">1</td><td class="num">0</td><td class="num">0</td><td class="num">2</td></tr>');
    expect(page).toContain('<tr><td>Website</td><td class="num">2</td><td class="num">0</td><td class="num">2</td><td class="num">0</td><td class="num">0</td></tr>');
    expect(page).toContain('<tr><th>Tổng cộng</th><th class="num">10</th><th class="num">4</th><th class="num">4</th><th class="num">0</th><th class="num">2</th></tr>');
    // And in words: why held, why skipped.
    expect(page).toContain('<b>Nhận ngay: 3</b> — người đã nhắn tin cho Trang trong 24 giờ qua');
    expect(page).toContain('<b>Giữ lại, chờ người dân nhắn lại: 2</b>');
    expect(page).toContain('Tin được giữ tối đa 7 ngày');
    expect(page).toContain('1 người không quan tâm OA');
    expect(page).toContain('1 người đã nhận 1 tin truyền thông hôm nay');
    expect(page).toContain('website không có cách gửi chủ động');
    expect(page).toContain('Dự tính cho lúc gửi 10/03/2026 10:00');
    expect(page).toMatch(new RegExp(`action="/admin/units/xa-a/announcements/${id}/send"`));
    expect(page).not.toContain('report.csv');
  });

  it('escapes a script in the title everywhere', async () => {
    const id = await createDraft({ title: '<script>alert(1)</script> Họp dân' });
    const page = await (await get(`/admin/units/xa-a/announcements/${id}`, officerA)).text();
    expect(page).toContain('<h1>&lt;script&gt;alert(1)&lt;/script&gt; Họp dân</h1>');
    expect(page).not.toContain('<script>');
    const list = await (await get('/admin/units/xa-a/announcements', officerA)).text();
    expect(list).toContain('&lt;script&gt;alert(1)&lt;/script&gt; Họp dân');
    expect(list).not.toContain('<script>');
  });

  it('sends once: audited, handed to the runtime, then shows live progress until done', async () => {
    const id = await createDraft();
    expect((await post(`/admin/units/xa-a/announcements/${id}/send`, {}, officerA)).status).toBe(403); // no CSRF token
    const before = submitted.length;
    const res = await post(`/admin/units/xa-a/announcements/${id}/send`, { _csrf: await csrfA() }, officerA);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/admin/units/xa-a/announcements/${id}?notice=sent`);
    expect(submitted.slice(before).map((a) => [a.id, a.status])).toEqual([[id, 'fanning_out']]);
    const entry = (await audit.list('xa-a', 20)).find((e) => e.action === 'announcement.send' && e.target === String(id));
    expect(entry?.actor).not.toBeNull();
    // Pressing send again (a second tab, a double click) sends nothing more.
    const again = await post(`/admin/units/xa-a/announcements/${id}/send`, { _csrf: await csrfA() }, officerA);
    expect(again.headers.get('location')).toBe(`/admin/units/xa-a/announcements/${id}?notice=already`);
    expect(submitted.length).toBe(before + 1);

    // The runtime fans out and sends; the page follows.
    const targets = Object.entries(contacts)
      .filter(([ref]) => ref.startsWith('psid-') && ref !== 'psid-xa-b')
      .map(([, contactId]) => ({ contactId, accountId: 0, platform: 'messenger' as const }));
    const account = await db.query<{ id: number }>(`SELECT id FROM channel_accounts WHERE external_id = 'page-a'`);
    for (const t of targets) t.accountId = Number(account[0]?.id);
    await repo.addDeliveries(id, targets);
    const running = await (await get(`/admin/units/xa-a/announcements/${id}`, officerA)).text();
    expect(running).toContain('<meta http-equiv="refresh" content="3">');
    expect(running).toContain('Đang chuẩn bị');
    expect(running).toContain('Đang lập danh sách người nhận: đã có 5 người.');
    expect(running).toMatch(new RegExp(`action="/admin/units/xa-a/announcements/${id}/cancel"`));
    await repo.finishFanout(id);
    const [t1, t2, t3, t4, t5] = targets.map((t) => t.contactId) as [number, number, number, number, number];
    await repo.finish(id, t1, { status: 'sent', messageId: 'm.1' }, NOW);
    await repo.finish(id, t2, { status: 'sent', messageId: 'm.2' }, NOW);
    await repo.finish(id, t3, { status: 'held', reason: 'outside_window' }, NOW);
    await repo.finish(id, t4, { status: 'failed', reason: '551' }, NOW);
    const sending = await (await get(`/admin/units/xa-a/announcements/${id}`, officerA)).text();
    expect(sending).toContain('<meta http-equiv="refresh" content="3">');
    expect(sending).toContain('Đã xử lý 4 / 5 người (80%)');
    expect(sending).toContain('<div style="width:80%"></div>');
    expect(sending).toContain('<tr><td>Đã gửi</td><td>—</td><td class="num">2</td></tr>');
    expect(sending).toContain('<tr><td>Giữ lại, chờ người dân quay lại</td><td>Messenger: quá 24 giờ kể từ lần cuối người dân nhắn tin</td><td class="num">1</td></tr>');
    expect(sending).toContain('Mã lỗi 551: người dân không nhận tin từ Trang');
    expect(sending).toContain('<tr><td>Đang chờ gửi</td><td>—</td><td class="num">1</td></tr>');
    await repo.finish(id, t5, { status: 'skipped', reason: 'unreachable' }, NOW);
    expect(await repo.completeIfSettled(id, NOW)).toBe(true);
    const done = await (await get(`/admin/units/xa-a/announcements/${id}`, officerA)).text();
    expect(done).not.toContain('http-equiv="refresh"');
    expect(done).toContain('Đã xong');
    expect(done).toContain('Đã xử lý 5 / 5 người (100%)');
    expect(done).not.toMatch(/\/cancel"/);
    expect(done).toContain(`href="/admin/units/xa-a/announcements/${id}/report.csv"`);
    const list = await (await get('/admin/units/xa-a/announcements', officerA)).text();
    expect(list).toContain('Đã gửi 2 · Giữ lại 1 · Không gửi 1 · Lỗi 1 / 5 người');

    // The report downloads: audited, an ASCII file name, no platform ids.
    const csv = await get(`/admin/units/xa-a/announcements/${id}/report.csv`, officerA);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="bao-cao-thong-bao-\d+-\d{8}\.csv"$/);
    const bytes = Buffer.from(await csv.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8');
    expect(text).toContain('Mã người nhận (ẩn danh),Kênh,Kết quả');
    expect(text).toContain(contactPseudonym(KEY, t1));
    expect(text).not.toContain('psid-');
    expect(text).not.toContain('m.1');
    expect((await audit.list('xa-a', 30)).some((e) => e.action === 'export.announcement_report' && e.target === String(id) && e.detail.format === 'csv')).toBe(true);
    const xlsx = await get(`/admin/units/xa-a/announcements/${id}/report.xlsx`, officerA);
    expect(xlsx.status).toBe(200);
    expect(xlsx.headers.get('content-disposition')).toMatch(/filename="bao-cao-thong-bao-\d+-\d{8}\.xlsx"$/);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await xlsx.arrayBuffer());
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Tổng hợp', 'Chi tiết']);
    expect(wb.getWorksheet('Chi tiết')?.rowCount).toBe(6);
  });

  it('schedules at a Vietnam time, and cancels: nothing more is sent', async () => {
    const id = await createDraft({ when: 'later', date: '2026-03-11', time: '08:30' });
    const draft = await repo.get(id, 'xa-a');
    expect(draft?.scheduledAt).toEqual(new Date('2026-03-11T01:30:00Z'));
    const draftPage = await (await get(`/admin/units/xa-a/announcements/${id}`, officerA)).text();
    expect(draftPage).toContain('Gửi (hẹn lúc 11/03/2026 08:30)');
    expect(draftPage).toContain('Dự tính cho lúc gửi 11/03/2026 08:30');
    // By then psid-in-1 (1 h ago now) is 23.5 h back: still inside; psid-in-2 and -3 are not.
    expect(draftPage).toContain('<tr><td>Facebook Messenger</td><td class="num">5</td><td class="num">1</td><td class="num">4</td>');
    const res = await post(`/admin/units/xa-a/announcements/${id}/send`, { _csrf: await csrfA() }, officerA);
    expect(res.headers.get('location')).toBe(`/admin/units/xa-a/announcements/${id}?notice=scheduled`);
    expect(submitted.at(-1)?.status).toBe('scheduled');
    const scheduled = await (await get(`/admin/units/xa-a/announcements/${id}`, officerA)).text();
    expect(scheduled).toContain('Đã hẹn giờ');
    expect(scheduled).not.toContain('http-equiv="refresh"');

    const cancel = await post(`/admin/units/xa-a/announcements/${id}/cancel`, { _csrf: await csrfA() }, officerA);
    expect(cancel.headers.get('location')).toBe(`/admin/units/xa-a/announcements/${id}?notice=cancelled`);
    expect((await repo.get(id, 'xa-a'))?.status).toBe('cancelled');
    expect(cancelled.at(-1)?.id).toBe(id);
    expect((await audit.list('xa-a', 30)).some((e) => e.action === 'announcement.cancel' && e.target === String(id))).toBe(true);
    const page = await (await get(`/admin/units/xa-a/announcements/${id}?notice=cancelled`, officerA)).text();
    expect(page).toContain('Đã hủy: không gửi thêm tin nào nữa.');
    expect(page).not.toContain('http-equiv="refresh"');
    const again = await post(`/admin/units/xa-a/announcements/${id}/cancel`, { _csrf: await csrfA() }, officerA);
    expect(again.headers.get('location')).toBe(`/admin/units/xa-a/announcements/${id}?notice=not_cancellable`);
  });

  it('cancels a running announcement: its pending deliveries are cancelled', async () => {
    const id = await createDraft({ channels: ['messenger'] });
    await post(`/admin/units/xa-a/announcements/${id}/send`, { _csrf: await csrfA() }, officerA);
    const account = Number((await db.query<{ id: number }>(`SELECT id FROM channel_accounts WHERE external_id = 'page-a'`))[0]?.id);
    await repo.addDeliveries(id, [contacts['psid-in-1'] ?? 0, contacts['psid-in-2'] ?? 0].map((contactId) => ({ contactId, accountId: account, platform: 'messenger' as const })));
    await repo.finish(id, contacts['psid-in-1'] ?? 0, { status: 'sent', messageId: null }, NOW);
    const res = await post(`/admin/units/xa-a/announcements/${id}/cancel`, { _csrf: await csrfA() }, officerA);
    expect(res.status).toBe(303);
    const counts = await repo.counts(id);
    expect(counts).toEqual([
      { status: 'cancelled', reason: '', count: 1 },
      { status: 'sent', reason: '', count: 1 },
    ]);
    expect((await repo.claim(id, contacts['psid-in-2'] ?? 0, NOW, 30_000)).kind).toBe('settled');
  });

  it('answers 404 for another unit’s announcement through this unit’s URLs, and changes nothing', async () => {
    const csrf = await csrfA();
    const path = `/admin/units/xa-a/announcements/${otherUnitAnnouncement}`;
    expect((await get(path, officerA)).status).toBe(404);
    expect((await get(`${path}/report.csv`, officerA)).status).toBe(404);
    expect((await get(`${path}/report.xlsx`, officerA)).status).toBe(404);
    const before = submitted.length;
    expect((await post(`${path}/send`, { _csrf: csrf }, officerA)).status).toBe(404);
    expect((await post(`${path}/cancel`, { _csrf: csrf }, officerA)).status).toBe(404);
    expect(submitted.length).toBe(before);
    expect((await repo.get(otherUnitAnnouncement))?.status).toBe('draft');
    expect((await get('/admin/units/xa-a/announcements/abc', officerA)).status).toBe(404);
    // The officer of xa-b sees it in their own unit; the reporter cannot send anything.
    expect((await get(`/admin/units/xa-b/announcements/${otherUnitAnnouncement}`, officerB)).status).toBe(200);
    const reporterCsrf = csrfIn(await (await get('/admin/password', reporterA)).text());
    expect((await post(`/admin/units/xa-a/announcements`, composeFields(reporterCsrf), reporterA)).status).toBe(403);
  });
});
