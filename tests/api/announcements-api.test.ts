// Announcements through the JSON API: Bearer tokens, unit scope and roles, strict bodies with
// Vietnamese 400s, the prediction on drafts, send once (audited, handed to the runtime), cancel,
// the CSV report, and the OpenAPI paths.
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
import { BroadcastRepository } from '../../src/store/broadcast-repository.js';
import { SubscriptionRepository } from '../../src/store/subscription-repository.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { createApp } from '../../src/http/create-app.js';
import { createLogger } from '../../src/logger.js';
import { createAuth, LoginLimiter, SessionStore } from '../../src/admin/auth/index.js';
import { createAnnouncementsApiRouter, announcementsOpenApiPaths } from '../../src/api/announcements-api.js';
import { createPredictor } from '../../src/broadcast/prediction.js';
import { previewAnnouncement } from '../../src/broadcast/render.js';
import { AnnouncementInput, type Announcement } from '../../src/broadcast/types.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const prefix = isolatedName('announcements_api') + ':';
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });
const HOUR = 3_600_000;
const NOW = new Date('2026-03-10T03:00:00Z'); // 10:00 in Vietnam
const ago = (h: number) => new Date(NOW.getTime() - h * HOUR);

let db: Database;
let redis: Redis;
let server: http.Server;
let base = '';
let repo: BroadcastRepository;
let audit: AuditRepository;
let officerToken = '';
let reporterToken = '';
let officerBToken = '';
let groupId = 0;
let otherGroupId = 0;
let otherUnitAnnouncement = 0;
const submitted: Announcement[] = [];

beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  await migrate(db);
  await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b')]);
  redis = new Redis(TEST_REDIS_URL);
  const staff = new StaffRepository(db);
  repo = new BroadcastRepository(db);
  audit = new AuditRepository(db);
  const subscriptions = new SubscriptionRepository(db);
  const accounts = new AccountRepository(db, new SecretBox('s'.repeat(40)));
  const page = (await accounts.upsert({ unitId: 'xa-a', platform: 'messenger', externalId: 'page-a' })).id;
  groupId = (await subscriptions.createGroup({ unitId: 'xa-a', kind: 'topic', name: 'Cải cách hành chính' }))?.id ?? 0;
  otherGroupId = (await subscriptions.createGroup({ unitId: 'xa-b', kind: 'village', name: 'Thôn B' }))?.id ?? 0;
  for (const [ref, last] of [['psid-1', ago(2)], ['psid-2', ago(3)], ['psid-3', ago(48)]] as const) {
    const rows = await db.query<{ id: string | number }>(`INSERT INTO contacts (account_id, platform_user_id, last_interaction_at) VALUES ($1, $2, $3) RETURNING id`, [page, ref, last]);
    await subscriptions.subscribe({ contactId: Number(rows[0]?.id), groupIds: [groupId], via: 'chat:button', at: ago(100) });
  }
  otherUnitAnnouncement = (await repo.create('xa-b', AnnouncementInput.parse({ title: 'Xã B', body: 'Xã B', groupIds: [otherGroupId], channels: ['messenger'] }), null)).id;

  const auth = createAuth({
    sessions: new SessionStore(redis, { prefix: prefix + 'sess:' }),
    limiter: new LoginLimiter(redis, { prefix: prefix + 'login:' }),
    staff,
    audit,
    secureCookies: false,
  });
  const router = createAnnouncementsApiRouter({
    auth,
    broadcasts: repo,
    groups: subscriptions,
    predict: createPredictor(db, { zaloMonthlyCap: 4 }),
    preview: previewAnnouncement,
    audit,
    onSubmitted: async (a) => void submitted.push(a),
    pseudonymKey: 'khóa',
    now: () => NOW,
  });
  const app = createApp({ logger: createLogger('silent'), readiness: [], routers: [auth.router, router] });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const token = async (username: string, role: 'officer' | 'reporter', unitId: string): Promise<string> => {
    const u = await staff.create({ username, role, unitId });
    await staff.setPassword(u?.user.id ?? 0, `mật khẩu của ${username}`);
    return (await staff.createApiToken(u?.user.id ?? 0, 'tự động')).token;
  };
  officerToken = await token('api.canbo', 'officer', 'xa-a');
  reporterToken = await token('api.baocao', 'reporter', 'xa-a');
  officerBToken = await token('api.canbo.b', 'officer', 'xa-b');
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  const keys = await redis.keys(prefix + '*');
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await db.close();
});

const call = (method: string, path: string, body?: unknown, token = officerToken) =>
  fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
const draft = (over: Record<string, unknown> = {}) => ({ title: 'Lịch tiếp dân', body: 'Chủ tịch UBND xã tiếp dân sáng thứ Năm.', groupIds: [groupId], channels: ['messenger'], ...over });
interface ErrorBody {
  error: { code: string; message: string; fields?: Record<string, string> };
}
interface Detail {
  id: number;
  status: string;
  statusLabel: string;
  scheduledAt: string | null;
  counts: Array<{ status: string; reason: string; count: number }>;
  prediction: null | { at: string; audience: number; platforms: Array<{ platform: string; total: number; send: number; held: { outside_window: number } }> };
}

describe('/api/v1/units/:unitId/announcements', () => {
  it('needs a token of an officer or admin of the unit', async () => {
    expect((await call('GET', '/api/v1/units/xa-a/announcements', undefined, '')).status).toBe(401);
    expect((await call('GET', '/api/v1/units/xa-a/announcements', undefined, reporterToken)).status).toBe(403);
    expect((await call('GET', '/api/v1/units/xa-b/announcements')).status).toBe(403);
    expect((await call('POST', '/api/v1/units/xa-b/announcements', draft({ groupIds: [otherGroupId] }))).status).toBe(403);
    expect((await call('GET', '/api/v1/units/xa-a/announcements')).status).toBe(200);
  });

  it('refuses bad bodies with clear Vietnamese 400s', async () => {
    const cases: Array<[unknown, string, string]> = [
      [draft({ title: '' }), 'title', 'Cần tiêu đề.'],
      [draft({ linkUrl: 'javascript:alert(1)' }), 'linkUrl', 'Liên kết phải là địa chỉ http(s).'],
      [draft({ imageUrl: 'http://anh.example/a.jpg' }), 'imageUrl', 'Ảnh phải là địa chỉ https.'],
      [draft({ channels: ['telegram'] }), 'channels', 'Chọn ít nhất một kênh (Zalo, Facebook Messenger, Website).'],
      [draft({ groupIds: [] }), 'groupIds', 'Chọn ít nhất một nhóm.'],
      [draft({ groupIds: [otherGroupId] }), 'groupIds', 'Có nhóm đã chọn không thuộc đơn vị hoặc đã ngừng hoạt động.'],
      [draft({ scheduledAt: '2026-03-11T08:00:00' }), 'scheduledAt', 'Cần thời điểm ISO 8601 có múi giờ, ví dụ 2026-03-10T08:00:00+07:00.'],
      [draft({ scheduledAt: '2026-03-10T08:00:00+07:00' }), 'scheduledAt', 'Thời điểm gửi đã qua: chọn một thời điểm sau bây giờ, hoặc chọn “Gửi ngay”.'],
      [draft({ holdDays: 31 }), 'holdDays', 'Số ngày giữ tin phải từ 0 đến 30.'],
      [draft({ send: 'yes' }), 'send', 'send phải là true hoặc false.'],
      [draft({ status: 'done' }), '_', 'Trường không được hỗ trợ: status.'],
    ];
    for (const [body, field, message] of cases) {
      const res = await call('POST', '/api/v1/units/xa-a/announcements', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const e = (await res.json()) as ErrorBody;
      expect(e.error.code).toBe('BAD_REQUEST');
      expect(e.error.fields?.[field], JSON.stringify(body)).toBe(message);
      expect(e.error.message).toContain(message);
    }
    expect((await call('POST', '/api/v1/units/xa-a/announcements', '{"title": ')).status).toBe(400);
    expect(await repo.list('xa-a')).toEqual([]);
  });

  it('creates a draft with its prediction, sends it once, and reports', async () => {
    const res = await call('POST', '/api/v1/units/xa-a/announcements', draft());
    expect(res.status).toBe(201);
    const created = (await res.json()) as Detail;
    expect(created).toMatchObject({ status: 'draft', statusLabel: 'Nháp', scheduledAt: null, counts: [] });
    expect(created.prediction?.at).toBe(NOW.toISOString());
    expect(created.prediction?.audience).toBe(3);
    expect(created.prediction?.platforms).toEqual([expect.objectContaining({ platform: 'messenger', total: 3, send: 2, held: { outside_window: 1, web_next_visit: 0 } })]);
    const list = (await (await call('GET', '/api/v1/units/xa-a/announcements')).json()) as { announcements: Array<{ id: number }> };
    expect(list.announcements.map((a) => a.id)).toEqual([created.id]);
    const one = (await (await call('GET', `/api/v1/units/xa-a/announcements/${created.id}`)).json()) as Detail;
    expect(one.prediction?.platforms[0]?.send).toBe(2);

    expect((await call('POST', `/api/v1/units/xa-a/announcements/${created.id}/send`, { now: true })).status).toBe(400);
    const before = submitted.length;
    const sent = await call('POST', `/api/v1/units/xa-a/announcements/${created.id}/send`);
    expect(sent.status).toBe(200);
    const sentBody = (await sent.json()) as Detail;
    expect(sentBody).toMatchObject({ status: 'fanning_out', statusLabel: 'Đang chuẩn bị', prediction: null });
    expect(submitted.slice(before).map((a) => a.id)).toEqual([created.id]);
    const entry = (await audit.list('xa-a', 20)).find((e) => e.action === 'announcement.send' && e.target === String(created.id));
    expect(entry?.detail.via).toBe('api');
    const again = await call('POST', `/api/v1/units/xa-a/announcements/${created.id}/send`);
    expect(again.status).toBe(409);
    expect(((await again.json()) as ErrorBody).error.code).toBe('NOT_DRAFT');
    expect(submitted.length).toBe(before + 1);

    const csv = await call('GET', `/api/v1/units/xa-a/announcements/${created.id}/report.csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="bao-cao-thong-bao-\d+-\d{8}\.csv"$/);
    const bytes = Buffer.from(await csv.arrayBuffer());
    expect(bytes.subarray(0, 3).toString('hex')).toBe('efbbbf');
    expect((await audit.list('xa-a', 20)).some((e) => e.action === 'export.announcement_report' && e.detail.via === 'api')).toBe(true);

    const cancelled = await call('POST', `/api/v1/units/xa-a/announcements/${created.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as Detail).status).toBe('cancelled');
    expect((await audit.list('xa-a', 20)).some((e) => e.action === 'announcement.cancel' && e.target === String(created.id))).toBe(true);
    const twice = await call('POST', `/api/v1/units/xa-a/announcements/${created.id}/cancel`);
    expect(twice.status).toBe(409);
    expect(((await twice.json()) as ErrorBody).error.code).toBe('NOT_CANCELLABLE');
  });

  it('creates and schedules in one call with send: true, at a time with its offset', async () => {
    const before = submitted.length;
    const res = await call('POST', '/api/v1/units/xa-a/announcements', draft({ scheduledAt: '2026-03-11T08:30:00+07:00', send: true, holdDays: 3 }));
    expect(res.status).toBe(201);
    const body = (await res.json()) as Detail;
    expect(body).toMatchObject({ status: 'scheduled', statusLabel: 'Đã hẹn giờ', scheduledAt: '2026-03-11T01:30:00.000Z' });
    // Predicted for 08:30 tomorrow: psid-1 and psid-2 (2 and 3 hours ago now) are out of the window by then.
    expect(body.prediction?.at).toBe('2026-03-11T01:30:00.000Z');
    expect(body.prediction?.platforms[0]).toMatchObject({ send: 0, held: { outside_window: 3 } });
    expect(submitted.slice(before).map((a) => a.status)).toEqual(['scheduled']);
  });

  it('answers 404 for another unit’s announcement through this unit, and changes nothing', async () => {
    for (const [method, suffix] of [['GET', ''], ['POST', '/send'], ['POST', '/cancel'], ['GET', '/report.csv'], ['GET', '/report.xlsx']] as const) {
      expect((await call(method, `/api/v1/units/xa-a/announcements/${otherUnitAnnouncement}${suffix}`)).status).toBe(404);
    }
    expect((await repo.get(otherUnitAnnouncement))?.status).toBe('draft');
    expect((await call('GET', `/api/v1/units/xa-b/announcements/${otherUnitAnnouncement}`, undefined, officerBToken)).status).toBe(200);
    expect((await call('GET', '/api/v1/units/xa-a/announcements/12abc')).status).toBe(404);
  });

  it('describes its paths for the OpenAPI document', () => {
    const paths = announcementsOpenApiPaths();
    expect(Object.keys(paths)).toEqual([
      '/api/v1/units/{unitId}/announcements',
      '/api/v1/units/{unitId}/announcements/{id}',
      '/api/v1/units/{unitId}/announcements/{id}/send',
      '/api/v1/units/{unitId}/announcements/{id}/cancel',
      '/api/v1/units/{unitId}/announcements/{id}/report.csv',
      '/api/v1/units/{unitId}/announcements/{id}/report.xlsx',
    ]);
    const text = JSON.stringify(paths);
    expect(text).toContain('"scheduledAt"');
    expect(text).toContain('"prediction"');
    expect(text).toContain('"additionalProperties":false');
  });
});
