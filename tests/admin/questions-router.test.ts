import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { StaffRepository } from '../../src/store/staff-repository.js';
import { AuditRepository } from '../../src/store/audit-repository.js';
import { QueryLogRepository, type LoggedQuery } from '../../src/store/query-log-repository.js';
import type { QueryOutcome } from '../../src/conversation/ports.js';
import { createApp } from '../../src/http/create-app.js';
import { createLogger } from '../../src/logger.js';
import { createAuth, LoginLimiter, SessionStore, SESSION_COOKIE } from '../../src/admin/auth/index.js';
import { createQuestionsRouter, groupQuestions, questionKey } from '../../src/admin/questions-router.js';
import { loginAs } from '../helpers/admin-login.js';
import { AliasRepository } from '../../src/store/alias-repository.js';
import { buildSearchIndex } from '../../src/search/index.js';
import { LiveUnits } from '../../src/units/live-units.js';
import { createAliasService } from '../../src/units/alias-service.js';
import { smallCatalogue } from '../search/make-procedure.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const prefix = isolatedName('questions') + ':';
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });
const NOW = new Date('2026-03-31T05:00:00Z');
const daysAgo = (d: number, h = 0): Date => new Date(NOW.getTime() - d * 86_400_000 - h * 3_600_000);

let db: Database;
let redis: Redis;
let server: http.Server;
let base = '';
let cookieA = '';
let cookieB = '';
let audit: AuditRepository;
let aliasRepo: AliasRepository;
let live: LiveUnits;
const changed: string[] = [];
const searcher = buildSearchIndex(smallCatalogue());
const names = new Map(smallCatalogue().map((p) => [p.code, p.name]));

beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  await migrate(db);
  await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b')]);
  redis = new Redis(TEST_REDIS_URL);
  const staff = new StaffRepository(db);
  const queryLog = new QueryLogRepository(db);
  const log = (unitId: string, text: string, outcome: QueryOutcome, at: Date) =>
    queryLog.record({ unitId, channel: 'web', text, outcome, confidence: null, topCode: null, at });
  await log('xa-a', 'Đăng ký khai sinh', 'none', daysAgo(3));
  await log('xa-a', 'dang ky  khai sinh ', 'none', daysAgo(1));
  await log('xa-a', 'ĐĂNG KÝ KHAI SINH', 'none', daysAgo(2));
  await log('xa-a', 'xin giấy xác nhận độc thân', 'none', daysAgo(0, 2));
  await log('xa-a', '<script>alert(1)</script>', 'none', daysAgo(5));
  await log('xa-a', '=HYPERLINK("http://x")', 'none', daysAgo(6));
  await log('xa-a', 'câu hỏi cũ quá ba mươi ngày', 'none', daysAgo(31));
  await log('xa-a', 'chứng thực', 'choices', daysAgo(4));
  await log('xa-a', 'Chứng thực', 'choices', daysAgo(2));
  await log('xa-a', 'đã trả lời được', 'answered', daysAgo(1));
  await log('xa-b', 'câu hỏi của xã B', 'none', daysAgo(1));
  const auth = createAuth({
    sessions: new SessionStore(redis, { prefix: prefix + 'sess:' }),
    limiter: new LoginLimiter(redis, { prefix: prefix + 'login:' }),
    staff,
    audit: new AuditRepository(db),
    secureCookies: false,
  });
  audit = new AuditRepository(db);
  aliasRepo = new AliasRepository(db);
  live = new LiveUnits({ units: new UnitRepository(db), aliases: aliasRepo, searcher, channel: 'unused' });
  await live.load();
  const router = createQuestionsRouter({
    auth,
    queryLog,
    now: () => NOW,
    search: (unitId, text) => live.search(searcher, unitId, text),
    contentKey: (text) => searcher.contentKey(text),
    procedureName: (_unitId, code) => names.get(code),
    aliases: createAliasService({
      aliases: aliasRepo,
      audit,
      procedureName: (_unitId, code) => names.get(code),
      contentKey: (text) => searcher.contentKey(text),
      onChanged: async (unitId) => {
        changed.push(unitId);
        await live.changed(unitId);
      },
    }),
  });
  const app = createApp({ logger: createLogger('silent'), readiness: [], routers: [auth.router, router] });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const u = await staff.create({ username: 'canbo.a', role: 'officer', unitId: 'xa-a' });
  await staff.setPassword(u?.user.id ?? 0, 'mật khẩu cán bộ xã A');
  cookieA = await loginAs(base, 'canbo.a', 'mật khẩu cán bộ xã A');
  const b = await staff.create({ username: 'canbo.b', role: 'officer', unitId: 'xa-b' });
  await staff.setPassword(b?.user.id ?? 0, 'mật khẩu cán bộ xã B');
  cookieB = await loginAs(base, 'canbo.b', 'mật khẩu cán bộ xã B');
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  const keys = await redis.keys(prefix + '*');
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await db.close();
});

const get = (path: string, cookie?: string) => fetch(base + path, { redirect: 'manual', headers: cookie ? { cookie } : {} });
const rowsOf = (section: string): string[][] =>
  [...section.matchAll(/<tr><td>(.*?)<\/td><td>(\d+)<\/td><td>(.*?)<\/td><td>/g)].map((m) => [m[1] ?? '', m[2] ?? '', m[3] ?? '']);

describe('grouping', () => {
  it('puts case, mark and whitespace variants together', () => {
    expect(questionKey('  Đăng ký  KHAI\tsinh ')).toBe('dang ky khai sinh');
    expect(questionKey('Đăng ký khai sinh')).toBe(questionKey('dang ky khai sinh '));
    expect(questionKey('Đăng ký khai sinh'.normalize('NFD'))).toBe('dang ky khai sinh');
  });

  it('counts, keeps the latest wording and sorts most frequent first', () => {
    const q = (text: string, at: string): LoggedQuery => ({ id: 0, unitId: 'x', channel: 'web', text, outcome: 'none', confidence: null, topCode: null, createdAt: new Date(at) });
    const groups = groupQuestions([q('a b', '2026-01-02'), q('khai sinh', '2026-01-01'), q('Khai Sinh', '2026-01-03'), q('   ', '2026-01-04')]);
    expect(groups.map((g) => [g.text, g.count])).toEqual([['Khai Sinh', 2], ['a b', 1]]);
    expect(groups[0]?.lastAskedAt).toEqual(new Date('2026-01-03'));
  });
});

describe('unanswered questions page', () => {
  it('sends anonymous visitors to the login page', async () => {
    const res = await get('/admin/units/xa-a/questions');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/admin/login');
  });

  it('refuses an officer of another unit', async () => {
    expect((await get('/admin/units/xa-b/questions', cookieA)).status).toBe(403);
  });

  it('groups the last 30 days of the unit, most frequent first, escaped', async () => {
    const res = await get('/admin/units/xa-a/questions', cookieA);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('<h1>Câu hỏi chưa trả lời được</h1>');
    const [noneSection = '', choicesSection = ''] = page.split('<h2>Trợ lý ảo phải hỏi lại để chọn thủ tục</h2>');
    const none = rowsOf(noneSection);
    // Three wordings of one question, one row; the latest wording shown; time in Vietnam.
    expect(none[0]).toEqual(['dang ky khai sinh', '3', '30/03/2026 12:00']);
    expect(none.map((r) => r[1])).toEqual(['3', '1', '1', '1']);
    expect(none.map((r) => r[0])).toContain('xin giấy xác nhận độc thân');
    expect(page).toContain('&lt;script&gt;alert(#)&lt;/script&gt;');
    expect(page).not.toContain('<script>');
    expect(page).toContain('=HYPERLINK(&quot;http://x&quot;)');
    expect(page).not.toContain('href="http://x"');
    expect(page).not.toContain('ba mươi ngày');
    expect(page).not.toContain('xã B');
    expect(page).not.toContain('đã trả lời được');
    expect(rowsOf(choicesSection.split('<h2>')[0] ?? '')).toEqual([['Chứng thực', '2', '29/03/2026 12:00']]);
  });
});

describe('attaching a question to a procedure', () => {
  const question = 'xin giấy xác nhận độc thân';
  const post = (path: string, fields: Record<string, string>, cookie: string) =>
    fetch(base + path, { method: 'POST', body: new URLSearchParams(fields), headers: { cookie }, redirect: 'manual' });
  const csrfOf = async (cookie: string, unit = 'xa-a'): Promise<string> =>
    /name="_csrf" value="([^"]+)"/.exec(await (await get(`/admin/units/${unit}/questions`, cookie)).text())?.[1] ?? '';

  it('offers the bot\'s candidates for each question, and a field for another code', async () => {
    const page = await (await get('/admin/units/xa-a/questions', cookieA)).text();
    const row = page.split('<tr>').find((r) => r.startsWith('<td>&lt;script&gt;')) ?? '';
    expect(row).toContain('action="/admin/units/xa-a/questions/attach"');
    expect(row).toContain('name="text" value="&lt;script&gt;alert(#)&lt;/script&gt;"');
    // A question the bot answers today gets no form, only the answer.
    const answered = page.split('<tr>').find((r) => r.startsWith('<td>Chứng thực</td>')) ?? '';
    expect(answered).toContain('Đã trả lời được: Chứng thực bản sao');
    expect(answered).not.toContain('<form');
    expect(row).toContain('name="other"');
  });

  it('makes the phrasing answer directly at once, in every wording, for that unit only', async () => {
    const before = live.search(searcher, 'xa-a', 'xin giay xac nhan doc than');
    expect(before.outcome === 'answer' && before.results[0]?.code === '1.000656').toBe(false);
    const csrf = await csrfOf(cookieA);
    // Attach it to a deliberately different procedure, so the test cannot pass by the catalogue alone.
    const res = await post('/admin/units/xa-a/questions/attach', { _csrf: csrf, text: question, code: '1.004873', other: '1.000656' }, cookieA);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/units/xa-a/questions?notice=attached');
    expect(changed).toContain('xa-a');
    const after = live.search(searcher, 'xa-a', 'Xin giay xac nhan doc than a');
    expect(after.outcome).toBe('answer');
    expect(after.results[0]?.code).toBe('1.000656');
    expect(live.search(searcher, 'xa-b', question).results[0]?.code).not.toBe('1.000656');
    const page = await (await get('/admin/units/xa-a/questions?notice=attached', cookieA)).text();
    expect(page).toContain('Đã gắn câu hỏi vào thủ tục');
    expect(page).toContain('Đã trả lời được: Thủ tục đăng ký khai tử');
    expect(page).toMatch(/<h2>Cách hỏi riêng của đơn vị<\/h2>[\s\S]*xin giấy xác nhận độc thân[\s\S]*1\.000656/);
    const entry = (await audit.list('xa-a', 20)).find((e) => e.action === 'catalogue.alias_attach');
    expect(entry?.target).toBe('1.000656');
    expect(JSON.stringify(entry)).not.toContain('độc thân');
  });

  it('refuses an unknown code, an empty choice and a question with no content, with a message', async () => {
    const csrf = await csrfOf(cookieA);
    const unknown = await post('/admin/units/xa-a/questions/attach', { _csrf: csrf, text: 'abc xyz', other: '9.999999' }, cookieA);
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('Không có thủ tục mã “9.999999”');
    const none = await post('/admin/units/xa-a/questions/attach', { _csrf: csrf, text: 'abc xyz' }, cookieA);
    expect(none.status).toBe(400);
    const empty = await post('/admin/units/xa-a/questions/attach', { _csrf: csrf, text: 'cho em hỏi ạ', code: '1.000894' }, cookieA);
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain('không đủ để nhận diện');
    expect(await aliasRepo.list('xa-a')).toHaveLength(1);
  });

  it('refuses another unit\'s officer, a missing CSRF token, and removing another unit\'s alias', async () => {
    const csrfB = await csrfOf(cookieB, 'xa-b');
    expect((await post('/admin/units/xa-a/questions/attach', { _csrf: csrfB, text: 'khai sinh', code: '1.001193' }, cookieB)).status).toBe(403);
    expect((await post('/admin/units/xa-a/questions/attach', { text: 'khai sinh', code: '1.001193' }, cookieA)).status).toBe(403);
    const [own] = await aliasRepo.list('xa-a');
    expect((await post(`/admin/units/xa-b/aliases/${own?.id}/delete`, { _csrf: csrfB }, cookieB)).status).toBe(404);
    expect(await aliasRepo.list('xa-a')).toHaveLength(1);
  });

  it('removes an alias: the phrasing is no longer answered with it', async () => {
    const csrf = await csrfOf(cookieA);
    const [own] = await aliasRepo.list('xa-a');
    const res = await post(`/admin/units/xa-a/aliases/${own?.id}/delete`, { _csrf: csrf }, cookieA);
    expect(res.status).toBe(303);
    expect(await aliasRepo.list('xa-a')).toHaveLength(0);
    expect(live.search(searcher, 'xa-a', question).results[0]?.code).not.toBe('1.000656');
  });
});
