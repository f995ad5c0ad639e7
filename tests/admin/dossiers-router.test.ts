// The officers' dossier pages: list and search, create, status change with history (audited),
// unit scope (another unit's dossier is "not found"), the spreadsheet upload with its dry run and
// confirmation (a malformed file writes nothing), the column mapping, and the report.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import ExcelJS from 'exceljs';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { StaffRepository } from '../../src/store/staff-repository.js';
import { AuditRepository } from '../../src/store/audit-repository.js';
import { createApp } from '../../src/http/create-app.js';
import { createLogger } from '../../src/logger.js';
import { createAuth, LoginLimiter, SessionStore } from '../../src/admin/auth/index.js';
import { createDossiersRouter } from '../../src/admin/dossiers-router.js';
import { DossierRepository } from '../../src/dossiers/dossier-repository.js';
import { DossierVerifier } from '../../src/dossiers/verification.js';
import { DossierImporter } from '../../src/dossiers/import.js';
import { ImportMappingRepository } from '../../src/dossiers/import-mapping.js';
import { AccountRepository } from '../../src/store/account-repository.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { parseDossierPayload } from '../../src/dossiers/chat-payload.js';
import { deepLinkPayload } from '../../src/channels/web/deep-link.js';
import { loginAs } from '../helpers/admin-login.js';
import { decodeSvg } from './qr-decode.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const prefix = isolatedName('dossiers') + ':';
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });
const local = (y: number, m: number, d: number, h = 0, mi = 0) => new Date(Date.UTC(y, m - 1, d, h - 7, mi));
const NOW = local(2024, 4, 2, 10);
const fixture = (name: string) => fs.readFileSync(path.resolve(import.meta.dirname, '../fixtures/dossiers', name));

let db: Database;
let redis: Redis;
let server: http.Server;
let base = '';
let repo: DossierRepository;
let audit: AuditRepository;
const cookies = { officerA: '', officerB: '', reporterA: '', admin: '' };

beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  await migrate(db);
  await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b')]);
  redis = new Redis(TEST_REDIS_URL);
  const staff = new StaffRepository(db);
  audit = new AuditRepository(db);
  repo = new DossierRepository(db, new DossierVerifier('d'.repeat(40)));
  const mappings = new ImportMappingRepository(db);
  const auth = createAuth({
    sessions: new SessionStore(redis, { prefix: prefix + 'sess:' }),
    limiter: new LoginLimiter(redis, { prefix: prefix + 'login:' }),
    staff,
    audit,
    secureCookies: false,
  });
  const accounts = new AccountRepository(db, new SecretBox('a'.repeat(40)));
  await accounts.upsert({ unitId: 'xa-a', platform: 'messenger', externalId: 'page-a', name: 'Trang UBND xã A' });
  await accounts.upsert({ unitId: 'xa-a', platform: 'zalo', externalId: 'oa-a', name: 'Zalo OA xã A' });
  const router = createDossiersRouter({
    auth,
    dossiers: repo,
    importer: new DossierImporter({ db, dossiers: repo, mappings }),
    mappings,
    audit,
    chat: { accounts, publicBaseUrl: 'https://motcua.example.vn', units: { get: async (id) => (await new UnitRepository(db).get(id)) } },
    now: () => NOW,
  });
  const app = createApp({ logger: createLogger('silent'), readiness: [], routers: [auth.router, router] });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const [username, role, unitId, slot] of [
    ['hoso.canbo.a', 'officer', 'xa-a', 'officerA'],
    ['hoso.canbo.b', 'officer', 'xa-b', 'officerB'],
    ['hoso.baocao.a', 'reporter', 'xa-a', 'reporterA'],
    ['hoso.quantri', 'admin', null, 'admin'],
  ] as const) {
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

const get = (p: string, cookie?: string) => fetch(base + p, { redirect: 'manual', headers: cookie ? { cookie, accept: 'text/html' } : { accept: 'text/html' } });
const post = (p: string, fields: Record<string, string>, cookie: string) =>
  fetch(base + p, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual', headers: { cookie, accept: 'text/html' } });
const upload = (p: string, fields: Record<string, string>, file: { name: string; data: Buffer } | null, cookie: string) => {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (file) form.append('file', new Blob([new Uint8Array(file.data)]), file.name);
  return fetch(base + p, { method: 'POST', body: form, redirect: 'manual', headers: { cookie, accept: 'text/html' } });
};
const svgsOf = (page: string): string[] => [...page.matchAll(/<svg [\s\S]*?<\/svg>/g)].map((m) => m[0]);
const csrfIn = (page: string): string => /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
const csrf = async (cookie: string, unitId = 'xa-a') => csrfIn(await (await get(`/admin/units/${unitId}/dossiers`, cookie)).text());
const count = async (where = 'true') => Number((await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM dossiers WHERE ${where}`))[0]?.n ?? 0);
const auditOf = async (action: string) => (await audit.list(null, 200)).filter((e) => e.action === action);

const createFields = (token: string, extra: Record<string, string> = {}) => ({
  _csrf: token,
  code: '000.00.01.H56-240402-0001',
  procedure_code: '1.001193',
  procedure_name: 'Đăng ký khai sinh',
  received_at: '2024-04-02',
  due_at: '2024-04-05',
  status: 'received',
  pickup_place: 'Bộ phận một cửa',
  phone_last4: '7391',
  ...extra,
});

describe('dossier pages', () => {
  it('sends anonymous visitors to the login page, and refuses reporters and officers of another unit', async () => {
    const anon = await get('/admin/units/xa-a/dossiers');
    expect(anon.status).toBe(302);
    expect(anon.headers.get('location')).toBe('/admin/login');
    expect((await get('/admin/units/xa-a/dossiers', cookies.reporterA)).status).toBe(403);
    expect((await get('/admin/units/xa-a/dossiers', cookies.officerB)).status).toBe(403);
    expect((await get('/admin/units/xa-a/dossiers/import', cookies.officerB)).status).toBe(403);
    expect((await get('/admin/units/xa-a/dossiers', cookies.admin)).status).toBe(200);
    const page = await (await get('/admin/units/xa-a/dossiers', cookies.officerA)).text();
    expect(page).toContain('<h1>Hồ sơ</h1>');
    expect(page).toContain('Không có hồ sơ nào');
  });

  it('creates a dossier (audited), refuses the same code in another case, a missing supplement text and a missing CSRF token', async () => {
    const token = await csrf(cookies.officerA);
    const res = await post('/admin/units/xa-a/dossiers', createFields(token), cookies.officerA);
    expect(res.status).toBe(303);
    const d = await repo.getByCode('xa-a', '000.00.01.H56-240402-0001');
    expect(res.headers.get('location')).toBe(`/admin/units/xa-a/dossiers/${d?.id}?notice=created`);
    expect(d).toMatchObject({ status: 'received', procedureCode: '1.001193', receivedAt: local(2024, 4, 2), dueAt: new Date(local(2024, 4, 5, 23, 59).getTime() + 59_000), hasVerification: true });
    expect(await repo.verify('xa-a', d?.code ?? '', '7391')).toBeDefined();
    expect((await auditOf('dossier.create'))[0]).toMatchObject({ unitId: 'xa-a', target: String(d?.id), detail: { code: '000.00.01.H56-240402-0001', status: 'received' } });

    const dup = await post('/admin/units/xa-a/dossiers', createFields(token, { code: ' 000.00.01.h56-240402-0001 ' }), cookies.officerA);
    expect(dup.status).toBe(409);
    expect(await dup.text()).toContain('Đơn vị đã có hồ sơ mã “000.00.01.H56-240402-0001”');
    const noMissing = await post('/admin/units/xa-a/dossiers', createFields(token, { code: 'HS-2', status: 'needs_supplement' }), cookies.officerA);
    expect(noMissing.status).toBe(400);
    expect(await noMissing.text()).toContain('hãy ghi nội dung cần bổ sung');
    const badDigits = await post('/admin/units/xa-a/dossiers', createFields(token, { code: 'HS-3', phone_last4: '12a4', received_at: '31/02/2024' }), cookies.officerA);
    expect(badDigits.status).toBe(400);
    const body = await badDigits.text();
    expect(body).toContain('4 số cuối điện thoại phải là đúng 4 chữ số.');
    expect(body).toContain('Ngày tiếp nhận không hợp lệ');
    const noCsrf = await post('/admin/units/xa-a/dossiers', createFields('', { code: 'HS-4' }), cookies.officerA);
    expect(noCsrf.status).toBe(403);
    expect(await count()).toBe(1);
    // The digits are nowhere but in the salted hash.
    const rows = await db.query<{ verifier: string; t: string }>(`SELECT verifier, row_to_json(d)::text AS t FROM dossiers d`);
    expect(rows[0]?.t.replace(rows[0]?.verifier ?? '', '')).not.toContain('7391');
    const log = await db.query<{ t: string }>(`SELECT row_to_json(a)::text AS t FROM audit_log a`);
    for (const l of log) expect(l.t).not.toContain('7391');
  });

  it('escapes what officers typed on the list and the dossier page', async () => {
    const token = await csrf(cookies.officerA);
    await post('/admin/units/xa-a/dossiers', createFields(token, { code: 'HS-<b>x</b>', procedure_name: '<script>alert(1)</script>', phone_last4: '' }), cookies.officerA);
    const list = await (await get('/admin/units/xa-a/dossiers', cookies.officerA)).text();
    expect(list).toContain('HS-&lt;b&gt;x&lt;/b&gt;');
    expect(list).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(list).not.toContain('<script>');
  });

  it('searches by part of a code and filters by status', async () => {
    const found = await (await get('/admin/units/xa-a/dossiers?q=h56-240402', cookies.officerA)).text();
    expect(found).toContain('000.00.01.H56-240402-0001');
    expect(found).not.toContain('HS-&lt;b&gt;');
    const none = await (await get('/admin/units/xa-a/dossiers?status=returned', cookies.officerA)).text();
    expect(none).toContain('Không có hồ sơ nào khớp điều kiện tìm');
  });

  it('changes the status with history and an audit entry; the same status again adds neither', async () => {
    const d = await repo.getByCode('xa-a', '000.00.01.H56-240402-0001');
    const token = await csrf(cookies.officerA);
    const res = await post(`/admin/units/xa-a/dossiers/${d?.id}/status`, { _csrf: token, status: 'needs_supplement', missing: 'Bản sao giấy chứng sinh', pickup_place: 'Bộ phận một cửa', note: 'gọi điện báo' }, cookies.officerA);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/admin/units/xa-a/dossiers/${d?.id}?notice=status`);
    const page = await (await get(`/admin/units/xa-a/dossiers/${d?.id}`, cookies.officerA)).text();
    expect(page).toContain('<tr><th>Cần bổ sung</th><td>Bản sao giấy chứng sinh</td></tr>');
    expect(page).toMatch(/<td>Đã tiếp nhận<\/td><td>Chờ bổ sung<\/td>\s*<td>Cán bộ<\/td><td>hoso.canbo.a<\/td><td>gọi điện báo<\/td>/);
    expect(page).toContain('Đã có (lưu dạng mã hoá)');
    expect((await auditOf('dossier.status'))[0]).toMatchObject({ target: String(d?.id), detail: { from: 'received', to: 'needs_supplement' } });
    const again = await post(`/admin/units/xa-a/dossiers/${d?.id}/status`, { _csrf: token, status: 'needs_supplement', missing: 'Bản sao giấy chứng sinh', pickup_place: 'Bộ phận một cửa' }, cookies.officerA);
    expect(again.headers.get('location')).toBe(`/admin/units/xa-a/dossiers/${d?.id}?notice=unchanged`);
    expect(await repo.history(d?.id ?? 0)).toHaveLength(2);
    expect(await auditOf('dossier.status')).toHaveLength(1);
    const noMissing = await post(`/admin/units/xa-a/dossiers/${d?.id}/status`, { _csrf: token, status: 'needs_supplement', missing: '' }, cookies.officerA);
    expect(noMissing.status).toBe(400);
  });

  it('answers "not found" for another unit’s dossier through this unit’s pages (no IDOR), and 403 across units', async () => {
    const tokenB = await csrf(cookies.officerB, 'xa-b');
    await post('/admin/units/xa-b/dossiers', createFields(tokenB, { code: 'HS-B-1', phone_last4: '' }), cookies.officerB);
    const b = await repo.getByCode('xa-b', 'HS-B-1');
    expect(b).toBeDefined();
    expect((await get(`/admin/units/xa-a/dossiers/${b?.id}`, cookies.officerA)).status).toBe(404);
    const token = await csrf(cookies.officerA);
    expect((await post(`/admin/units/xa-a/dossiers/${b?.id}/status`, { _csrf: token, status: 'returned' }, cookies.officerA)).status).toBe(404);
    expect((await repo.getByCode('xa-b', 'HS-B-1'))?.status).toBe('received');
    expect((await get(`/admin/units/xa-b/dossiers/${b?.id}`, cookies.officerA)).status).toBe(403);
    expect((await get(`/admin/units/xa-a/dossiers/abc`, cookies.officerA)).status).toBe(404);
  });

  it('imports a malformed spreadsheet as nothing: the preview lists the row errors with their lines', async () => {
    const before = await count();
    const token = await csrf(cookies.officerA);
    const res = await upload('/admin/units/xa-a/dossiers/import', { _csrf: token }, { name: 'loi-nhieu-dong.csv', data: fixture('loi-nhieu-dong.csv') }, cookies.officerA);
    expect(res.status).toBe(422);
    const page = await res.text();
    expect(page).toContain('Không có gì được ghi.');
    expect(page).toContain('<li>Dòng 3: Ngày tiếp nhận “32/01/2024” không phải ngày hợp lệ (cần dd/MM/yyyy hoặc dd/MM/yyyy HH:mm).</li>');
    expect(page).toContain('<li>Dòng 7: mã hồ sơ “HS-001” đã có ở dòng 2 với nội dung khác.</li>');
    expect(page).not.toContain('/import/confirm');
    expect(await count()).toBe(before);
    expect(Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM dossier_imports'))[0]?.n)).toBe(0);
  });

  it('uploads the one-stop export, previews it, imports it on confirmation (audited), and refuses a second confirmation', async () => {
    const token = await csrf(cookies.officerA);
    const res = await upload('/admin/units/xa-a/dossiers/import', { _csrf: token, exported_at: '2024-03-31T17:00' }, { name: 'Sổ theo dõi.csv', data: fixture('so-theo-doi-ho-so.csv') }, cookies.officerA);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('Tệp: Sổ theo dõi.csv · Dòng tiêu đề: 5 · Thời điểm xuất tệp: 31/03/2024 17:00 · 4 hồ sơ đọc được');
    expect(page).toContain('<li>Thêm mới: 4</li>');
    expect(page).toContain('<button type="submit">Nhập 4 hồ sơ</button>');
    const importToken = /name="token" value="([^"]+)"/.exec(page)?.[1] ?? '';
    expect(importToken).not.toBe('');
    const before = await count();
    // Another officer of another unit cannot confirm it.
    expect((await post('/admin/units/xa-b/dossiers/import/confirm', { _csrf: await csrf(cookies.officerB, 'xa-b'), token: importToken }, cookies.officerB)).status).toBe(404);
    expect(await count()).toBe(before);
    const done = await post('/admin/units/xa-a/dossiers/import/confirm', { _csrf: token, token: importToken }, cookies.officerA);
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('Đã nhập 4 hồ sơ từ tệp Sổ theo dõi.csv.');
    expect(await count()).toBe(before + 4);
    expect((await auditOf('dossier.import'))[0]).toMatchObject({ unitId: 'xa-a', detail: { file: 'Sổ theo dõi.csv', rows: 4, created: 4 } });
    const twice = await post('/admin/units/xa-a/dossiers/import/confirm', { _csrf: token, token: importToken }, cookies.officerA);
    expect(twice.status).toBe(409);
    expect(await twice.text()).toContain('Tệp này đã được nhập rồi.');
    const d = await repo.getByCode('xa-a', '000.00.01.H56-240301-0001');
    const detail = await (await get(`/admin/units/xa-a/dossiers/${d?.id}`, cookies.officerA)).text();
    expect(detail).toContain('Nhập từ tệp');
    expect(detail).toMatch(/lần nhập #\d+/);
  });

  it('takes an XLSX upload and a pasted CSV the same way', async () => {
    const token = await csrf(cookies.officerA);
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('DS');
    ws.addRow(['Mã hồ sơ', 'Thủ tục', 'Ngày tiếp nhận', 'Ngày hẹn trả', 'Trạng thái']);
    ws.addRow(['HS-XLSX-1', 'Đăng ký khai sinh', new Date(Date.UTC(2024, 2, 3, 9)), new Date(Date.UTC(2024, 2, 6)), 'Đang xử lý']);
    const xlsx = Buffer.from(await wb.xlsx.writeBuffer());
    const res = await upload('/admin/units/xa-a/dossiers/import', { _csrf: token }, { name: 'ds.xlsx', data: xlsx }, cookies.officerA);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('<td>2</td><td>HS-XLSX-1</td><td>Đang xử lý</td><td>Thêm mới</td>');
    const pasted = await post('/admin/units/xa-a/dossiers/import', { _csrf: token, csv: 'Mã hồ sơ;Thủ tục;Ngày tiếp nhận;Trạng thái\nHS-DAN-1;Chứng thực;01/04/2024 08:00;Đã tiếp nhận\n' }, cookies.officerA);
    expect(pasted.status).toBe(200);
    const pastedPage = await pasted.text();
    expect(pastedPage).toContain('<td>2</td><td>HS-DAN-1</td><td>Đã tiếp nhận</td><td>Thêm mới</td>');
    const t = /name="token" value="([^"]+)"/.exec(pastedPage)?.[1] ?? '';
    expect((await post('/admin/units/xa-a/dossiers/import/confirm', { _csrf: token, token: t }, cookies.officerA)).status).toBe(200);
    expect((await repo.getByCode('xa-a', 'hs-dan-1'))?.receivedAt).toEqual(local(2024, 4, 1, 8));
    const empty = await upload('/admin/units/xa-a/dossiers/import', { _csrf: token }, null, cookies.officerA);
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain('Hãy chọn tệp .xlsx hoặc .csv');
  });

  it('refuses an upload over 5 MB with a Vietnamese page, and an upload without the CSRF token', async () => {
    const token = await csrf(cookies.officerA);
    const big = await upload('/admin/units/xa-a/dossiers/import', { _csrf: token }, { name: 'lon.csv', data: Buffer.alloc(5 * 1024 * 1024 + 100 * 1024, 0x41) }, cookies.officerA);
    expect(big.status).toBe(413);
    expect(await big.text()).toContain('Tệp quá lớn: tối đa 5 MB mỗi lần nhập.');
    const noCsrf = await upload('/admin/units/xa-a/dossiers/import', {}, { name: 'so.csv', data: fixture('so-theo-doi-ho-so.csv') }, cookies.officerA);
    expect(noCsrf.status).toBe(403);
  });

  it('saves the unit’s column mapping (audited) and the import uses it', async () => {
    const token = await csrf(cookies.officerA);
    const form = await (await get('/admin/units/xa-a/dossiers/mapping', cookies.officerA)).text();
    expect(form).toContain('value="Mã hồ sơ; Số hồ sơ; Mã số hồ sơ; Mã HS; Số biên nhận; Mã biên nhận"');
    const saved = await post('/admin/units/xa-a/dossiers/mapping', { _csrf: token, code: 'Số HS; Mã hồ sơ', statuses: 'Đang chờ ký = Đang xử lý\nĐã ký = result_ready' }, cookies.officerA);
    expect(saved.status).toBe(303);
    const after = await (await get('/admin/units/xa-a/dossiers/mapping?notice=saved', cookies.officerA)).text();
    expect(after).toContain('value="Số HS; Mã hồ sơ"');
    expect(after).toContain('Đang chờ ký = Đang xử lý');
    expect(after).toContain('Đã ký = Đã có kết quả');
    expect((await auditOf('dossier.mapping'))[0]).toMatchObject({ unitId: 'xa-a', detail: { fields: 1, statuses: 2 } });
    const res = await post('/admin/units/xa-a/dossiers/import', { _csrf: token, csv: 'Số HS,Thủ tục,Ngày tiếp nhận,Trạng thái\nHS-MAP-1,Chứng thực,01/04/2024,Đang chờ ký\n' }, cookies.officerA);
    expect(await res.text()).toContain('<td>2</td><td>HS-MAP-1</td><td>Đang xử lý</td><td>Thêm mới</td>');
    const bad = await post('/admin/units/xa-a/dossiers/mapping', { _csrf: token, statuses: 'Đang chờ ký = sắp xong' }, cookies.officerA);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Dòng 1 của cách ghi trạng thái');
  });

  it('shows on a dossier page the QR codes and links that open its look-up in chat, and a printable slip', async () => {
    const code = '000.00.01.H56-240402-0009';
    const w = await repo.upsert(
      { unitId: 'xa-a', code, procedureCode: '1.001193', receivedAt: NOW, status: 'received', verification: repo.digest('xa-a', code, '1111') },
      { source: 'admin', actor: null, at: NOW },
    );
    const path = `/admin/units/xa-a/dossiers/${w.dossier.id}`;
    const page = await (await get(path, cookies.officerA)).text();
    const messenger = `https://m.me/page-a?ref=mc:hs:${code}`;
    const zalo = 'https://zalo.me/oa-a';
    const widget = `https://motcua.example.vn/?unit=xa-a&ref=mc%3Ahs%3A${code}`;
    // What a phone reads from each printed code, and what the chat then receives.
    expect(svgsOf(page).map(decodeSvg)).toEqual([messenger, zalo, widget]);
    expect(parseDossierPayload(new URL(messenger).searchParams.get('ref') ?? '')).toEqual({ kind: 'lookup', code });
    expect(deepLinkPayload(new URL(widget).searchParams.get('ref'))).toBe(`mc:hs:${code}`);
    expect(page).toContain(`<p class="say">tra cứu hồ sơ ${code}</p>`);
    expect(page).toContain(`<a href="${path}/qr">In phiếu tra cứu (kèm Giấy tiếp nhận)</a>`);
    expect(page).not.toContain('chưa tra cứu được cho đến khi có');
    const slip = await get(`${path}/qr`, cookies.officerA);
    expect(slip.status).toBe(200);
    const sheet = await slip.text();
    expect(sheet).toContain('<p class="unit">UBND xa-a</p>');
    expect(sheet).toContain(`<p class="code">${code}</p>`);
    expect(sheet).toContain('4 số cuối của số điện thoại');
    expect(svgsOf(sheet).map(decodeSvg)).toEqual([messenger, zalo, widget]);
    expect((await get(`${path}/qr`, cookies.officerB)).status).toBe(403);
    expect((await get(`${path}/qr`)).status).toBe(302);
    expect((await get(`/admin/units/xa-b/dossiers/${w.dossier.id}/qr`, cookies.admin)).status).toBe(404);
  });

  it('prints words instead of an m.me ref for a code outside its characters, escaped, and warns when the digits are missing', async () => {
    const code = 'HS "<x>" 1';
    const w = await repo.upsert({ unitId: 'xa-a', code, procedureName: 'Chứng thực', receivedAt: NOW, status: 'received' }, { source: 'admin', actor: null, at: NOW });
    const page = await (await get(`/admin/units/xa-a/dossiers/${w.dossier.id}`, cookies.officerA)).text();
    expect(page).not.toContain('<x>');
    expect(page).toContain('<p class="say">tra cứu hồ sơ HS &quot;&lt;x&gt;&quot; 1</p>');
    const urls = svgsOf(page).map(decodeSvg);
    expect(urls[0]).toBe('https://m.me/page-a');
    expect(parseDossierPayload(new URL(urls[2] ?? '').searchParams.get('ref') ?? '')).toEqual({ kind: 'lookup', code });
    expect(page).toContain('Hồ sơ chưa có 4 số cuối điện thoại');
  });

  it('shows reporters the period report with a CSV export; officers get neither', async () => {
    expect((await get('/admin/units/xa-a/dossiers/report?period=2024-Q1', cookies.officerA)).status).toBe(403);
    const res = await get('/admin/units/xa-a/dossiers/report?period=2024-Q1', cookies.reporterA);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('<h1>Báo cáo hồ sơ — Quý I/2024</h1>');
    // From the imported export: 4 received in March; 0001 (returned 04/03, due 05/03) on time,
    // 0002 result ready when exported (31/03 17:00) after its due date 01/03: late.
    expect(page).toMatch(/<tr><td>1\.001193 — Đăng ký khai sinh<\/td><td>1<\/td><td>1<\/td><td>0<\/td>/);
    expect(page).toMatch(/<tr><td><b>Tổng<\/b><\/td><td>4<\/td>/);
    expect((await get('/admin/units/xa-a/dossiers/report?period=quy-1', cookies.reporterA)).status).toBe(400);
    const csv = await get('/admin/units/xa-a/dossiers/report.csv?period=2024-Q1', cookies.reporterA);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="ho-so-xa-a-2024-Q1.csv"');
    const bytes = Buffer.from(await csv.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8');
    expect(text).toContain('Mã thủ tục,Tên thủ tục,Tiếp nhận,Giải quyết đúng hạn');
    expect((await auditOf('dossier.report.export'))[0]).toMatchObject({ detail: { period: '2024-Q1' } });
    expect(text).toContain('Tỷ lệ được đánh giá (%)');
    expect(page).toContain('Tỷ lệ hài lòng');
    const xlsx = await get('/admin/units/xa-a/dossiers/report.xlsx?period=2024-Q1', cookies.reporterA);
    expect(xlsx.status).toBe(200);
    expect(xlsx.headers.get('content-disposition')).toBe('attachment; filename="ho-so-xa-a-2024-Q1.xlsx"');
    const ExcelJS = (await import('exceljs')).default;
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(Buffer.from(await xlsx.arrayBuffer()) as unknown as ArrayBuffer);
    const rows: unknown[][] = [];
    wb.worksheets[0]!.eachRow((row) => rows.push((row.values as unknown[]).slice(1)));
    const total = rows.find((r) => r[1] === 'Tổng');
    expect(total?.[2]).toBe(4);
    expect((await get('/admin/units/xa-a/dossiers/report.xlsx?period=2024-Q1', cookies.officerA)).status).toBe(403);
  });

  it('reads no upload before the sender is known: anonymous and other units are refused before the 5 MB limit is even reached', async () => {
    const big = 'a'.repeat(6 * 1024 * 1024);
    const upload = (cookie?: string) =>
      fetch(base + '/admin/units/xa-a/dossiers/import', {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'multipart/form-data; boundary=XYZ', accept: 'text/html', ...(cookie ? { cookie } : {}) },
        body: big,
      });
    // Had the body been read first, both would answer 413 (too large).
    expect((await upload()).status).toBe(302);
    expect((await upload(cookies.officerB)).status).toBe(403);
    expect((await upload(cookies.officerA)).status).toBe(413);
  });
});
