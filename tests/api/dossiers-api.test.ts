// Dossiers through /api/v1 with Bearer tokens: idempotency keys (a replay gets the stored
// response and writes once, a reused key with another body is refused), strict bodies, updates
// arriving out of order, unit scope, and the OpenAPI path objects.
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
import { createApp } from '../../src/http/create-app.js';
import { createLogger } from '../../src/logger.js';
import { createAuth, LoginLimiter, SessionStore } from '../../src/admin/auth/index.js';
import { createDossiersApiRouter, dossiersOpenApiPaths, DossierWithHistory, WriteResponse } from '../../src/api/dossiers-api.js';
import { DossierRepository } from '../../src/dossiers/dossier-repository.js';
import { DossierVerifier } from '../../src/dossiers/verification.js';
import { IdempotencyStore } from '../../src/dossiers/idempotency-store.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const prefix = isolatedName('dossiersapi') + ':';
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });
const NOW = new Date('2024-04-02T03:00:00Z');
const CODE = '000.00.01.H56-240401-0007';

let db: Database;
let redis: Redis;
let server: http.Server;
let base = '';
let repo: DossierRepository;
const tokens = { officerA: '', officerB: '', reporterA: '', admin: '' };

beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  await migrate(db);
  await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b')]);
  redis = new Redis(TEST_REDIS_URL);
  const staff = new StaffRepository(db);
  const audit = new AuditRepository(db);
  repo = new DossierRepository(db, new DossierVerifier('a'.repeat(40)));
  const auth = createAuth({
    sessions: new SessionStore(redis, { prefix: prefix + 'sess:' }),
    limiter: new LoginLimiter(redis, { prefix: prefix + 'login:' }),
    staff,
    audit,
    secureCookies: false,
  });
  const router = createDossiersApiRouter({ auth, dossiers: repo, idempotency: new IdempotencyStore(), now: () => NOW });
  const app = createApp({ logger: createLogger('silent'), readiness: [], routers: [auth.router, router] });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const [username, role, unitId, slot] of [
    ['motcua.a', 'officer', 'xa-a', 'officerA'],
    ['motcua.b', 'officer', 'xa-b', 'officerB'],
    ['baocao.a', 'reporter', 'xa-a', 'reporterA'],
    ['quantri', 'admin', null, 'admin'],
  ] as const) {
    const u = await staff.create({ username, role, unitId });
    await staff.setPassword(u?.user.id ?? 0, `Mật-khẩu-${username}-2026`);
    tokens[slot] = (await staff.createApiToken(u?.user.id ?? 0, 'hệ thống một cửa')).token;
  }
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  const keys = await redis.keys(prefix + '*');
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await db.close();
});

const call = (method: string, path: string, body: unknown, token: string, key?: string) =>
  fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(key ? { 'idempotency-key': key } : {}) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const errorOf = async (res: Response) => ErrorBody.parse(await res.json()).error;
const events = async () => Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM dossier_events'))[0]?.n ?? 0);

const created = {
  code: CODE,
  procedureCode: '1.001193',
  procedureName: 'Đăng ký khai sinh',
  receivedAt: '2024-04-01T08:15:00+07:00',
  dueAt: '2024-04-05',
  status: 'received',
  pickupPlace: 'Bộ phận một cửa UBND xã',
  phoneLast4: '2468',
  at: '2024-04-01T08:20:00+07:00',
};

describe('/api/v1/units/:unitId/dossiers', () => {
  it('needs an Idempotency-Key on writes, and writes nothing without one', async () => {
    const res = await call('POST', '/api/v1/units/xa-a/dossiers', created, tokens.officerA);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('IDEMPOTENCY_KEY_REQUIRED');
    const spaced = await call('POST', '/api/v1/units/xa-a/dossiers', created, tokens.officerA, 'has a space');
    expect(spaced.status).toBe(400);
    expect(await events()).toBe(0);
  });

  it('creates a dossier; a replay with the same key and body returns the stored response and writes once', async () => {
    const first = await call('POST', '/api/v1/units/xa-a/dossiers', created, tokens.officerA, 'k-create-1');
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotency-replayed')).toBe('false');
    const body = WriteResponse.parse(await first.json());
    expect(body).toMatchObject({
      outcome: 'created',
      dossier: { code: CODE, status: 'received', statusLabel: 'Đã tiếp nhận', receivedAt: '2024-04-01T01:15:00.000Z', dueAt: '2024-04-05T16:59:59.000Z', hasVerification: true },
    });
    expect(JSON.stringify(body)).not.toContain('2468');
    // The same body with its keys in another order is the same request.
    const reordered = Object.fromEntries(Object.entries(created).reverse());
    const replay = await call('POST', '/api/v1/units/xa-a/dossiers', reordered, tokens.officerA, 'k-create-1');
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotency-replayed')).toBe('true');
    // Byte for byte the first response.
    expect(await replay.text()).toBe(JSON.stringify(body));
    expect(await events()).toBe(1);
    expect(await repo.verify('xa-a', CODE, '2468')).toBeDefined();
  });

  it('refuses the same key with another body (422) and changes nothing', async () => {
    const res = await call('POST', '/api/v1/units/xa-a/dossiers', { ...created, status: 'processing' }, tokens.officerA, 'k-create-1');
    expect(res.status).toBe(422);
    expect((await errorOf(res)).code).toBe('IDEMPOTENCY_KEY_REUSED');
    const patch = await call('PATCH', `/api/v1/units/xa-a/dossiers/${encodeURIComponent(CODE)}`, { status: 'processing' }, tokens.officerA, 'k-create-1');
    expect(patch.status).toBe(422);
    expect((await repo.getByCode('xa-a', CODE))?.status).toBe('received');
    expect(await events()).toBe(1);
  });

  it('refuses bodies the schema does not allow, with the field named, without using up the key', async () => {
    const cases: Array<[unknown, string]> = [
      [{ ...created, phone: '0912345678' }, 'trường không được phép: phone'],
      [{ ...created, status: 'needs_supplement' }, 'missing: hồ sơ chờ bổ sung cần missing'],
      [{ ...created, receivedAt: '01/04/2024' }, 'receivedAt: cần ngày yyyy-MM-dd'],
      [{ ...created, phoneLast4: '24680' }, 'phoneLast4: phoneLast4: đúng 4 chữ số'],
      [{ ...created, procedureCode: undefined, procedureName: undefined }, 'procedureCode: cần procedureCode hoặc procedureName'],
      [{ ...created, dueAt: '2024-03-01' }, 'dueAt: ngày hẹn trả ở trước ngày tiếp nhận'],
      [{ ...created, at: '2024-04-03T00:00:00+07:00' }, 'at: thời điểm ở tương lai'],
      ['[1,2]', 'nội dung phải là một đối tượng JSON'],
    ];
    for (const [body, message] of cases) {
      const res = await call('POST', '/api/v1/units/xa-a/dossiers', body, tokens.officerA, 'k-bad');
      expect(res.status).toBe(400);
      expect((await errorOf(res)).message).toContain(message);
    }
    const fixed = await call('POST', '/api/v1/units/xa-a/dossiers', { ...created, code: 'HS-API-2' }, tokens.officerA, 'k-bad');
    expect(fixed.status).toBe(201);
  });

  it('changes the status once under a key, and ignores an older update that arrives late', async () => {
    const path = `/api/v1/units/xa-a/dossiers/${encodeURIComponent(CODE.toLowerCase())}`;
    const ready = { status: 'result_ready', at: '2024-04-02T09:00:00+07:00', note: 'Đã ký' };
    const res = await call('PATCH', path, ready, tokens.officerA, 'k-ready');
    expect(res.status).toBe(200);
    const body = WriteResponse.parse(await res.json());
    expect(body).toMatchObject({ outcome: 'updated', changed: ['status'], dossier: { status: 'result_ready', statusAt: '2024-04-02T02:00:00.000Z' } });
    const before = await events();
    const replay = await call('PATCH', path, ready, tokens.officerA, 'k-ready');
    expect(replay.headers.get('idempotency-replayed')).toBe('true');
    expect(await replay.json()).toEqual(body);
    expect(await events()).toBe(before);
    // "processing" as of 08:00 reaches us after "result ready" as of 09:00.
    const late = await call('PATCH', path, { status: 'processing', at: '2024-04-02T08:00:00+07:00' }, tokens.officerA, 'k-late');
    expect(late.status).toBe(200);
    expect(WriteResponse.parse(await late.json())).toMatchObject({ outcome: 'stale', changed: [], dossier: { status: 'result_ready' } });
    expect(await events()).toBe(before);
    const same = await call('PATCH', path, { status: 'result_ready', at: '2024-04-02T09:30:00+07:00' }, tokens.officerA, 'k-same');
    expect(WriteResponse.parse(await same.json()).outcome).toBe('unchanged');
    expect(await events()).toBe(before);
  });

  it('answers 404 for a code the unit does not have, without keeping the key', async () => {
    const res = await call('PATCH', '/api/v1/units/xa-a/dossiers/HS-CHUA-CO', { status: 'processing' }, tokens.officerA, 'k-later');
    expect(res.status).toBe(404);
    await call('POST', '/api/v1/units/xa-a/dossiers', { ...created, code: 'HS-CHUA-CO', phoneLast4: undefined }, tokens.officerA, 'k-make');
    const again = await call('PATCH', '/api/v1/units/xa-a/dossiers/HS-CHUA-CO', { status: 'processing' }, tokens.officerA, 'k-later');
    expect(again.status).toBe(200);
  });

  it('reads a dossier with its history, never its verifier', async () => {
    const res = await call('GET', `/api/v1/units/xa-a/dossiers/${encodeURIComponent(' ' + CODE.toLowerCase())}`, undefined, tokens.reporterA);
    // Reporters do not keep dossiers.
    expect(res.status).toBe(403);
    const ok = await call('GET', `/api/v1/units/xa-a/dossiers/${encodeURIComponent(CODE.toLowerCase())}`, undefined, tokens.officerA);
    expect(ok.status).toBe(200);
    const raw: unknown = await ok.json();
    expect(JSON.stringify(raw)).not.toMatch(/verifier|v1\$/);
    const d = DossierWithHistory.parse(raw);
    expect(d.history.map((e) => [e.from, e.to, e.source])).toEqual([
      [null, 'received', 'api'],
      ['received', 'result_ready', 'api'],
    ]);
    expect(d.history[1]?.note).toBe('Đã ký');
  });

  it('keeps units apart: another unit’s token is refused, another unit’s code is not found', async () => {
    expect((await call('GET', `/api/v1/units/xa-a/dossiers/${encodeURIComponent(CODE)}`, undefined, tokens.officerB)).status).toBe(403);
    expect((await call('POST', '/api/v1/units/xa-a/dossiers', { ...created, code: 'HS-B' }, tokens.officerB, 'k-b')).status).toBe(403);
    expect((await call('GET', `/api/v1/units/xa-b/dossiers/${encodeURIComponent(CODE)}`, undefined, tokens.admin)).status).toBe(404);
    expect((await call('PATCH', `/api/v1/units/xa-b/dossiers/${encodeURIComponent(CODE)}`, { status: 'returned' }, tokens.admin, 'k-x')).status).toBe(404);
    // The same key in another unit is another key.
    const b = await call('POST', '/api/v1/units/xa-b/dossiers', { ...created, code: 'HS-B' }, tokens.officerB, 'k-create-1');
    expect(b.status).toBe(201);
    expect((await repo.getByCode('xa-a', CODE))?.status).toBe('result_ready');
    expect((await call('GET', `/api/v1/units/xa-a/dossiers/x`, undefined, 'not-a-token')).status).toBe(401);
  });

  it('writes once when the same request races itself', async () => {
    const before = await events();
    const body = { ...created, code: 'HS-RACE', phoneLast4: undefined };
    const results = await Promise.all([1, 2, 3].map(() => call('POST', '/api/v1/units/xa-a/dossiers', body, tokens.officerA, 'k-race')));
    expect(results.map((r) => r.status)).toEqual([201, 201, 201]);
    const bodies = await Promise.all(results.map((r) => r.json()));
    expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);
    expect(await events()).toBe(before + 1);
  });

  it('describes its paths for the OpenAPI document', () => {
    const paths = dossiersOpenApiPaths();
    expect(Object.keys(paths)).toEqual(['/api/v1/units/{unitId}/dossiers', '/api/v1/units/{unitId}/dossier-report', '/api/v1/units/{unitId}/dossiers/{code}']);
    const post = z.object({ post: z.object({ parameters: z.array(z.object({ name: z.string(), required: z.boolean() })), requestBody: z.object({ content: z.record(z.string(), z.object({ schema: z.object({ properties: z.record(z.string(), z.unknown()) }) })) }) }) }).parse(paths['/api/v1/units/{unitId}/dossiers']);
    expect(post.post.parameters).toContainEqual({ name: 'Idempotency-Key', required: true });
    expect(Object.keys(post.post.requestBody.content['application/json']?.schema.properties ?? {})).toEqual(
      expect.arrayContaining(['code', 'receivedAt', 'dueAt', 'status', 'phoneLast4', 'at']),
    );
  });

  it('reports the period as JSON for reporters, and as CSV / XLSX with formula-looking names made inert', async () => {
    const hostile = { ...created, code: 'HS-FORMULA', procedureCode: undefined, procedureName: '=HYPERLINK("http://x","bấm")' };
    expect((await call('POST', '/api/v1/units/xa-a/dossiers', hostile, tokens.officerA, 'k-formula')).status).toBe(201);
    // Officers push dossiers; figures are for reporters and admins, of their own unit.
    expect((await call('GET', '/api/v1/units/xa-a/dossier-report?period=2024-Q2', undefined, tokens.officerA)).status).toBe(403);
    expect((await call('GET', '/api/v1/units/xa-b/dossier-report?period=2024-Q2', undefined, tokens.reporterA)).status).toBe(403);
    expect((await call('GET', '/api/v1/units/xa-a/dossier-report?period=quy-2', undefined, tokens.reporterA)).status).toBe(400);
    expect((await call('GET', '/api/v1/units/xa-a/dossier-report?format=pdf', undefined, tokens.reporterA)).status).toBe(400);
    const res = await call('GET', '/api/v1/units/xa-a/dossier-report?period=2024-Q2', undefined, tokens.reporterA);
    expect(res.status).toBe(200);
    const report = z
      .object({ period: z.object({ code: z.string() }), totals: z.object({ received: z.number(), evaluatedShare: z.number().nullable() }), byProcedure: z.array(z.object({ procedureName: z.string().nullable() })) })
      .parse(await res.json());
    expect(report.period.code).toBe('2024-Q2');
    const dossiers = await db.query<{ n: string }>("SELECT count(*) AS n FROM dossiers WHERE unit_id = 'xa-a' AND received_at >= '2024-03-31T17:00:00Z' AND received_at < '2024-06-30T17:00:00Z'");
    expect(report.totals.received).toBe(Number(dossiers[0]?.n));
    expect(report.byProcedure.map((p) => p.procedureName)).toContain('=HYPERLINK("http://x","bấm")');

    const csv = await call('GET', '/api/v1/units/xa-a/dossier-report?period=2024-Q2&format=csv', undefined, tokens.reporterA);
    expect(csv.status).toBe(200);
    const bytes = Buffer.from(await csv.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.toString('utf8')).toContain(`"'=HYPERLINK(""http://x"",""bấm"")"`);

    const xlsx = await call('GET', '/api/v1/units/xa-a/dossier-report?period=2024-Q2&format=xlsx', undefined, tokens.reporterA);
    expect(xlsx.status).toBe(200);
    const ExcelJS = (await import('exceljs')).default;
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(Buffer.from(await xlsx.arrayBuffer()) as unknown as ArrayBuffer);
    const ws = wb.worksheets[0]!;
    const values: unknown[] = [];
    ws.eachRow((row) => row.eachCell((cell) => values.push(cell.value)));
    expect(values).toContain('Kỳ báo cáo: Quý II/2024 (từ ngày 01/04/2024 đến ngày 30/06/2024); hồ sơ đang giải quyết tính tại 02/04/2024');
    expect(values).toContain(`'=HYPERLINK("http://x","bấm")`);
    expect(values.some((v) => typeof v === 'object' && v !== null && 'formula' in v)).toBe(false);
  });
});
