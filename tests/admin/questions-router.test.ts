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
  const app = createApp({ logger: createLogger('silent'), readiness: [], routers: [auth.router, createQuestionsRouter({ auth, queryLog, now: () => NOW })] });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const u = await staff.create({ username: 'canbo.a', role: 'officer', unitId: 'xa-a' });
  await staff.setPassword(u?.user.id ?? 0, 'mật khẩu cán bộ xã A');
  cookieA = await loginAs(base, 'canbo.a', 'mật khẩu cán bộ xã A');
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
  [...section.matchAll(/<tr><td>(.*?)<\/td><td>(\d+)<\/td><td>(.*?)<\/td><\/tr>/g)].map((m) => [m[1] ?? '', m[2] ?? '', m[3] ?? '']);

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
    expect(rowsOf(choicesSection)).toEqual([['Chứng thực', '2', '29/03/2026 12:00']]);
  });
});
