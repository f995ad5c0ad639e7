import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { StaffRepository } from '../../src/store/staff-repository.js';
import { AuditRepository } from '../../src/store/audit-repository.js';
import { HandoffRepository } from '../../src/store/handoff-repository.js';
import { createApp } from '../../src/http/create-app.js';
import { createLogger } from '../../src/logger.js';
import { createAuth, LoginLimiter, SessionStore, SESSION_COOKIE } from '../../src/admin/auth/index.js';
import { createHandoffsRouter, formatVietnamTime, pseudonym } from '../../src/admin/handoffs-router.js';
import type { ConversationKey, ConversationState, ConversationStateStore } from '../../src/conversation/ports.js';
import { loginAs } from '../helpers/admin-login.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const prefix = isolatedName('handoffs') + ':';
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });

/** Records clear() calls: the router must give the citizen back to the bot. */
class RecordingState implements ConversationStateStore {
  readonly cleared: ConversationKey[] = [];
  async get(): Promise<ConversationState | null> {
    return null;
  }
  async set(): Promise<void> {}
  async clear(key: ConversationKey): Promise<void> {
    this.cleared.push(key);
  }
}

let db: Database;
let redis: Redis;
let server: http.Server;
let base = '';
let handoffs: HandoffRepository;
const state = new RecordingState();
let cookieA = '';
let audit: AuditRepository;

beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  await migrate(db);
  await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b')]);
  redis = new Redis(TEST_REDIS_URL);
  const staff = new StaffRepository(db);
  handoffs = new HandoffRepository(db);
  audit = new AuditRepository(db);
  const auth = createAuth({
    sessions: new SessionStore(redis, { prefix: prefix + 'sess:' }),
    limiter: new LoginLimiter(redis, { prefix: prefix + 'login:' }),
    staff,
    audit: new AuditRepository(db),
    secureCookies: false,
  });
  const app = createApp({ logger: createLogger('silent'), readiness: [], routers: [auth.router, createHandoffsRouter({ auth, handoffs, state, audit })] });
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

function post(path: string, fields: Record<string, string>, cookie?: string) {
  return fetch(base + path, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual', headers: cookie ? { cookie } : {} });
}
function get(path: string, cookie?: string) {
  return fetch(base + path, { redirect: 'manual', headers: cookie ? { cookie } : {} });
}
const csrfIn = (page: string): string => /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';

async function openIds(unitId: string): Promise<number[]> {
  return (await handoffs.open(unitId)).map((h) => h.id);
}

describe('hand-offs page', () => {
  it('formats Vietnam time and pseudonymises user ids', () => {
    expect(formatVietnamTime(new Date('2026-03-04T17:05:00Z'))).toBe('05/03/2026 00:05');
    expect(pseudonym('psid-123')).toMatch(/^[0-9a-f]{6}$/);
    expect(pseudonym('psid-123')).not.toBe(pseudonym('psid-124'));
  });

  it('sends anonymous visitors to the login page', async () => {
    const res = await get('/admin/units/xa-a/handoffs');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/admin/login');
  });

  it('lists the unit’s open requests, escaped, without the raw platform id', async () => {
    await handoffs.request({
      unitId: 'xa-a',
      channel: 'zalo',
      userId: 'zalo-user-987654',
      text: '<script>alert(1)</script> cấp lại CCCD',
      at: new Date('2026-03-04T02:30:00Z'),
      transcript: [
        { from: 'citizen', text: 'cấp lại căn cước, sđt 0912345678', at: Date.parse('2026-03-04T02:28:00Z') },
        { from: 'bot', text: 'Thủ tục cấp lại thẻ căn cước <b>', at: Date.parse('2026-03-04T02:28:00Z') },
        { from: 'citizen', text: '<script>alert(1)</script> cấp lại CCCD', at: Date.parse('2026-03-04T02:30:00Z') },
      ],
    });
    await handoffs.request({ unitId: 'xa-b', channel: 'web', userId: 'web-b', text: 'việc của xã B', at: new Date('2026-03-04T03:00:00Z') });
    const res = await get('/admin/units/xa-a/handoffs', cookieA);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('<h1>Yêu cầu gặp cán bộ</h1>');
    expect(page).toContain('Zalo OA');
    expect(page).toContain('04/03/2026 09:30');
    expect(page).toContain('&lt;script&gt;alert(#)&lt;/script&gt; cấp lại CCCD');
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('zalo-user');
    expect(page).toContain(pseudonym('zalo-user-987654'));
    expect(page).not.toContain('việc của xã B');
    expect(page).toMatch(/action="\/admin\/units\/xa-a\/handoffs\/\d+\/close"/);
    // The conversation so far, digits masked, escaped.
    expect(page).toContain('Cuộc trò chuyện trước đó (3 tin)');
    expect(page).toContain('cấp lại căn cước, sđt #');
    expect(page).not.toContain('0912345678');
    expect(page).toContain('Thủ tục cấp lại thẻ căn cước &lt;b&gt;');
    expect(page).toContain('<b>Trợ lý ảo</b>');
  });

  it('refuses an officer of another unit', async () => {
    const res = await get('/admin/units/xa-b/handoffs', cookieA);
    expect(res.status).toBe(403);
  });

  it('refuses to close without the CSRF token', async () => {
    const [id] = await openIds('xa-a');
    const res = await post(`/admin/units/xa-a/handoffs/${id}/close`, {}, cookieA);
    expect(res.status).toBe(403);
    expect(await openIds('xa-a')).toContain(id);
  });

  it('answers 404 for a hand-off of another unit, which stays open', async () => {
    const csrf = csrfIn(await (await get('/admin/units/xa-a/handoffs', cookieA)).text());
    const [idB] = await openIds('xa-b');
    expect(idB).toBeDefined();
    const res = await post(`/admin/units/xa-a/handoffs/${idB}/close`, { _csrf: csrf }, cookieA);
    expect(res.status).toBe(404);
    expect(await openIds('xa-b')).toContain(idB);
    expect((await post('/admin/units/xa-a/handoffs/abc/close', { _csrf: csrf }, cookieA)).status).toBe(404);
    expect((await post(`/admin/units/xa-b/handoffs/${idB}/close`, { _csrf: csrf }, cookieA)).status).toBe(403);
    expect(state.cleared).toEqual([]);
  });

  it('closes its own hand-off, gives the citizen back to the bot and redirects to the list', async () => {
    const page = await (await get('/admin/units/xa-a/handoffs', cookieA)).text();
    const csrf = csrfIn(page);
    const [id] = await openIds('xa-a');
    const res = await post(`/admin/units/xa-a/handoffs/${id}/close`, { _csrf: csrf, resolution: 'answered' }, cookieA);
    expect(res.status).toBe(303);
    expect((await audit.list('xa-a', 10)).find((e) => e.action === 'handoff.answered')?.target).toBe(String(id));
    expect(res.headers.get('location')).toBe('/admin/units/xa-a/handoffs');
    expect(state.cleared).toEqual([{ unitId: 'xa-a', channel: 'zalo', userId: 'zalo-user-987654' }]);
    expect(await openIds('xa-a')).toEqual([]);
    const after = await (await get('/admin/units/xa-a/handoffs', cookieA)).text();
    expect(after).not.toContain('cấp lại CCCD');
    expect(after).toContain('Không có yêu cầu nào đang mở.');
    // Closing twice: it is no longer open, so 404, and the state is not cleared again.
    expect((await post(`/admin/units/xa-a/handoffs/${id}/close`, { _csrf: csrf }, cookieA)).status).toBe(404);
    expect(state.cleared).toHaveLength(1);
  });
});
