// The JSON API with Bearer tokens, roles and unit scope; the OpenAPI document from zod.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/start-server.js';

let srv: TestServer;
let officerToken = '';
beforeAll(async () => {
  srv = await startTestServer();
  const s = srv.running.services;
  await s.units.upsert([{ id: 'xa-khac', name: 'UBND xã Khác', province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null }]);
  const created = await s.staff.create({ username: 'api.canbo', role: 'officer', unitId: s.defaultUnitId });
  // The account has chosen its own password (tokens of accounts still on a one-time password are refused).
  await s.staff.setPassword(created?.user.id ?? 0, 'Mật-khẩu-cán-bộ-2026');
  officerToken = (await s.staff.createApiToken(created?.user.id ?? 0, 'tự động')).token;
}, 60_000);
afterAll(async () => {
  await srv?.stop();
});

const get = (path: string, token?: string) => fetch(`${srv.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

describe('/api/v1', () => {
  it('describes itself in an OpenAPI document generated from the schemas', async () => {
    const doc = (await (await get('/api/v1/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/search', '/api/v1/units/{unitId}/questions', '/api/v1/units/{unitId}/handoffs']));
    expect(JSON.stringify(doc.paths['/api/v1/search'])).toContain('"outcome"');
  });

  it('searches with a token, and refuses without one or with a revoked one', async () => {
    const ok = await get('/api/v1/search?q=dk%20ket%20hon', officerToken);
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { results: Array<{ code: string }> };
    expect(body.results[0]?.code).toBe('1.000894');
    expect((await get('/api/v1/search?q=x')).status).toBe(401);
    expect((await get('/api/v1/search?q=x', 'mct_not-a-real-token')).status).toBe(401);
    expect((await get('/api/v1/search', officerToken)).status).toBe(400);
  });

  it('keeps an officer to their own commune', async () => {
    const s = srv.running.services;
    expect((await get(`/api/v1/units/${s.defaultUnitId}/handoffs`, officerToken)).status).toBe(200);
    expect((await get(`/api/v1/units/${s.defaultUnitId}/questions`, officerToken)).status).toBe(200);
    expect((await get('/api/v1/units/xa-khac/handoffs', officerToken)).status).toBe(403);
    expect((await get('/api/v1/units/xa-khac/questions', officerToken)).status).toBe(403);
  });
});
