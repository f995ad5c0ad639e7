// Subscriber groups through /api/v1 with Bearer tokens: unit scope, strict bodies with clear
// messages, audited changes, and the OpenAPI path objects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { StaffRepository } from '../../src/store/staff-repository.js';
import { AuditRepository } from '../../src/store/audit-repository.js';
import { SubscriptionRepository } from '../../src/store/subscription-repository.js';
import { createApp } from '../../src/http/create-app.js';
import { createLogger } from '../../src/logger.js';
import { createAuth, LoginLimiter, SessionStore } from '../../src/admin/auth/index.js';
import { createGroupsApiRouter, GroupResponse, groupsOpenApiPaths } from '../../src/api/groups-api.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const prefix = isolatedName('groupsapi') + ':';
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });

let db: Database;
let redis: Redis;
let server: http.Server;
let base = '';
let subs: SubscriptionRepository;
let audit: AuditRepository;
const tokens = { officerA: '', reporterA: '', admin: '' };

beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  await migrate(db);
  await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b')]);
  redis = new Redis(TEST_REDIS_URL);
  const staff = new StaffRepository(db);
  subs = new SubscriptionRepository(db);
  audit = new AuditRepository(db);
  const auth = createAuth({
    sessions: new SessionStore(redis, { prefix: prefix + 'sess:' }),
    limiter: new LoginLimiter(redis, { prefix: prefix + 'login:' }),
    staff,
    audit,
    secureCookies: false,
  });
  const app = createApp({ logger: createLogger('silent'), readiness: [], routers: [auth.router, createGroupsApiRouter({ auth, subscriptions: subs, audit })] });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const [username, role, unitId, slot] of [
    ['api.canbo.a', 'officer', 'xa-a', 'officerA'],
    ['api.baocao.a', 'reporter', 'xa-a', 'reporterA'],
    ['api.quantri', 'admin', null, 'admin'],
  ] as const) {
    const u = await staff.create({ username, role, unitId });
    await staff.setPassword(u?.user.id ?? 0, `Mật-khẩu-${username}-2026`);
    tokens[slot] = (await staff.createApiToken(u?.user.id ?? 0, 'tự động')).token;
  }
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  const keys = await redis.keys(prefix + '*');
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await db.close();
});

const get = (path: string, token?: string) => fetch(base + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
const send = (method: string, path: string, body: unknown, token?: string) =>
  fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const errorOf = async (res: Response) => ErrorBody.parse(await res.json()).error;
const Groups = z.object({ groups: z.array(GroupResponse) });

describe('/api/v1/units/:unitId/groups', () => {
  it('needs a token with the right role and unit', async () => {
    expect((await get('/api/v1/units/xa-a/groups')).status).toBe(401);
    expect((await get('/api/v1/units/xa-a/groups', 'mct_not-a-token')).status).toBe(401);
    expect((await get('/api/v1/units/xa-a/groups', tokens.reporterA)).status).toBe(403);
    expect((await get('/api/v1/units/xa-b/groups', tokens.officerA)).status).toBe(403);
    expect((await send('POST', '/api/v1/units/xa-b/groups', { kind: 'topic', name: 'Của xã B' }, tokens.officerA)).status).toBe(403);
    expect((await get('/api/v1/units/xa-b/groups', tokens.admin)).status).toBe(200);
    expect(await subs.listGroups('xa-b')).toEqual([]);
  });

  it('creates a group (201, audited) and lists it with its subscriber count', async () => {
    const res = await send('POST', '/api/v1/units/xa-a/groups', { kind: 'topic', name: '  Cải cách   hành chính ', description: 'Thủ tục mới, dịch vụ công' }, tokens.officerA);
    expect(res.status).toBe(201);
    const created = GroupResponse.parse(await res.json());
    expect(created).toMatchObject({ kind: 'topic', name: 'Cải cách hành chính', description: 'Thủ tục mới, dịch vụ công', active: true, subscribers: 0 });
    expect(Number.isNaN(Date.parse(created.createdAt))).toBe(false);
    expect((await audit.list('xa-a', 5)).find((e) => e.action === 'group.create')).toMatchObject({ target: String(created.id), detail: { kind: 'topic', name: 'Cải cách hành chính' } });
    await send('POST', '/api/v1/units/xa-a/groups', { kind: 'village', name: 'Thôn Đông' }, tokens.officerA);
    const list = Groups.parse(await (await get('/api/v1/units/xa-a/groups', tokens.officerA)).json());
    expect(list.groups.map((g) => [g.name, g.kind, g.description])).toEqual([
      ['Thôn Đông', 'village', null],
      ['Cải cách hành chính', 'topic', 'Thủ tục mới, dịch vụ công'],
    ]);
  });

  it('answers 400 with a clear message for bad bodies, 409 for a taken name, 404 for an unknown unit', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ kind: 'topic' }, /^name: cần tên nhóm/u],
      [{ kind: 'province', name: 'Tỉnh' }, /^kind: loại nhóm phải là "village" \(thôn\/xóm\/tổ dân phố\)/u],
      [{ kind: 'topic', name: 'Đất đai', description: 5 }, /^description: mô tả phải là một chuỗi/u],
      [{ kind: 'topic', name: '   ' }, /name: tên nhóm không được để trống/u],
      [{ kind: 'topic', name: 'x'.repeat(81) }, /name: tên nhóm tối đa 80 ký tự/u],
      [{ kind: 'topic', name: 'Đất đai', members: ['0912345678'] }, /trường không được phép: members/u],
      [{ kind: 'topic', name: 'Đất đai', subscribers: 10 }, /trường không được phép: subscribers/u],
      [[], /^nội dung phải là một đối tượng JSON$/u],
      ['"Đất đai"', /^Yêu cầu không hợp lệ\.$/u], // not even JSON's object or array: refused by the body parser
    ];
    for (const [body, message] of cases) {
      const res = await send('POST', '/api/v1/units/xa-a/groups', body, tokens.officerA);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const e = await errorOf(res);
      expect(e.code).toBe('BAD_REQUEST');
      expect(e.message, JSON.stringify(body)).toMatch(message);
    }
    const dup = await send('POST', '/api/v1/units/xa-a/groups', { kind: 'audience', name: 'THÔN ĐÔNG' }, tokens.officerA);
    expect(dup.status).toBe(409);
    expect(await errorOf(dup)).toEqual({ code: 'GROUP_NAME_TAKEN', message: 'Đơn vị đã có nhóm tên “THÔN ĐÔNG”.' });
    const unknown = await send('POST', '/api/v1/units/xa-khong-co/groups', { kind: 'topic', name: 'Đất đai' }, tokens.admin);
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe('UNKNOWN_UNIT');
    expect((await get('/api/v1/units/xa-a/groups?active=maybe', tokens.officerA)).status).toBe(400);
  });

  it('changes a group with PATCH, deactivates and reactivates it, each audited', async () => {
    const id = (await subs.listGroups('xa-a')).find((g) => g.name === 'Thôn Đông')?.id ?? 0;
    const renamed = await send('PATCH', `/api/v1/units/xa-a/groups/${id}`, { name: 'Thôn Đông Hòa', description: 'Tin của thôn' }, tokens.officerA);
    expect(renamed.status).toBe(200);
    expect(GroupResponse.parse(await renamed.json())).toMatchObject({ id, name: 'Thôn Đông Hòa', description: 'Tin của thôn', kind: 'village', active: true });
    const off = await send('PATCH', `/api/v1/units/xa-a/groups/${id}`, { active: false }, tokens.officerA);
    expect(GroupResponse.parse(await off.json())).toMatchObject({ active: false, name: 'Thôn Đông Hòa' });
    expect(Groups.parse(await (await get('/api/v1/units/xa-a/groups?active=true', tokens.officerA)).json()).groups.map((g) => g.id)).not.toContain(id);
    expect(Groups.parse(await (await get('/api/v1/units/xa-a/groups?active=false', tokens.officerA)).json()).groups.map((g) => g.id)).toEqual([id]);
    const cleared = await send('PATCH', `/api/v1/units/xa-a/groups/${id}`, { description: null, active: true }, tokens.officerA);
    expect(GroupResponse.parse(await cleared.json())).toMatchObject({ description: null, active: true });
    const actions = (await audit.list('xa-a', 20)).filter((e) => e.target === String(id)).map((e) => e.action);
    expect(actions.sort()).toEqual(['group.activate', 'group.create', 'group.deactivate', 'group.update', 'group.update']);
  });

  it('refuses empty, unknown-field and taken-name patches, and another unit’s group', async () => {
    const [first, second] = await subs.listGroups('xa-a');
    const empty = await send('PATCH', `/api/v1/units/xa-a/groups/${first?.id}`, {}, tokens.officerA);
    expect(empty.status).toBe(400);
    expect((await errorOf(empty)).message).toContain('cần ít nhất một trường');
    const extra = await send('PATCH', `/api/v1/units/xa-a/groups/${first?.id}`, { unitId: 'xa-b' }, tokens.officerA);
    expect(extra.status).toBe(400);
    expect((await errorOf(extra)).message).toContain('trường không được phép: unitId');
    const notBool = await send('PATCH', `/api/v1/units/xa-a/groups/${first?.id}`, { active: 'no' }, tokens.officerA);
    expect((await errorOf(notBool)).message).toBe('active: active phải là true hoặc false');
    expect((await send('PATCH', `/api/v1/units/xa-a/groups/${first?.id}`, { name: second?.name.toLowerCase() }, tokens.officerA)).status).toBe(409);
    expect((await send('PATCH', '/api/v1/units/xa-a/groups/999999', { name: 'Không có' }, tokens.officerA)).status).toBe(404);
    expect((await send('PATCH', '/api/v1/units/xa-a/groups/abc', { name: 'Không có' }, tokens.officerA)).status).toBe(404);
    const b = await subs.createGroup({ unitId: 'xa-b', kind: 'topic', name: 'Của xã B' });
    expect((await send('PATCH', `/api/v1/units/xa-a/groups/${b?.id}`, { name: 'Chiếm' }, tokens.admin)).status).toBe(404);
    expect((await send('PATCH', `/api/v1/units/xa-b/groups/${b?.id}`, { name: 'Chiếm' }, tokens.officerA)).status).toBe(403);
    expect((await subs.getGroup('xa-b', b?.id ?? 0))?.name).toBe('Của xã B');
  });
});

describe('groupsOpenApiPaths', () => {
  it('describes the three operations with their bodies and responses', () => {
    const paths = groupsOpenApiPaths();
    expect(Object.keys(paths).sort()).toEqual(['/api/v1/units/{unitId}/groups', '/api/v1/units/{unitId}/groups/{id}']);
    const text = JSON.stringify(paths);
    expect(text).toContain('"post"');
    expect(text).toContain('"patch"');
    expect(text).toContain('"409"');
    expect(text).toContain('"additionalProperties":false');
    expect(text).toContain('"enum":["village","topic","audience"]');
    expect(text).toContain('"subscribers"');
  });
});
