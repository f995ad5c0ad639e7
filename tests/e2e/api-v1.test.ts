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
const send = (method: string, path: string, body: unknown, token?: string) =>
  fetch(`${srv.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });

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

  it('lists only the units in the token\'s scope', async () => {
    const s = srv.running.services;
    const body = (await (await get('/api/v1/units', officerToken)).json()) as { units: Array<{ id: string }> };
    expect(body.units.map((u) => u.id)).toEqual([s.defaultUnitId]);
  });

  it('attaches a phrasing for the unit: its bot answers it at once; removal undoes it', async () => {
    const s = srv.running.services;
    const unit = s.defaultUnitId;
    const question = 'xin giấy cho bà cụ vào viện dưỡng lão';
    const before = (await (await get(`/api/v1/search?unit=${unit}&q=${encodeURIComponent(question)}`, officerToken)).json()) as { outcome: string; results: Array<{ code: string }> };
    expect(before.outcome === 'answer' && before.results[0]?.code === '1.001776').toBe(false);
    const created = await send('POST', `/api/v1/units/${unit}/aliases`, { text: question, code: '1.001776' }, officerToken);
    expect(created.status).toBe(201);
    const alias = (await created.json()) as { id: number; code: string };
    expect(alias.code).toBe('1.001776');
    const after = (await (await get(`/api/v1/search?unit=${unit}&q=${encodeURIComponent('xin giay cho ba cu vao vien duong lao')}`, officerToken)).json()) as { outcome: string; results: Array<{ code: string }> };
    expect(after.outcome).toBe('answer');
    expect(after.results[0]?.code).toBe('1.001776');
    // The bot itself, on the chat API, answers with it.
    const chat = await fetch(`${srv.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sessionId: 'api-v1-alias-test-session', text: question }) });
    expect(JSON.stringify(await chat.json())).toContain(s.catalogue.byCode('1.001776')?.name ?? '-');
    const list = (await (await get(`/api/v1/units/${unit}/aliases`, officerToken)).json()) as { aliases: Array<{ id: number }> };
    expect(list.aliases.map((a) => a.id)).toContain(alias.id);
    expect((await s.audit.list(unit, 20)).some((e) => e.action === 'catalogue.alias_attach' && e.target === '1.001776')).toBe(true);
    expect((await send('DELETE', `/api/v1/units/xa-khac/aliases/${alias.id}`, undefined, officerToken)).status).toBe(403);
    expect((await send('DELETE', `/api/v1/units/${unit}/aliases/${alias.id}`, undefined, officerToken)).status).toBe(204);
    expect((await send('DELETE', `/api/v1/units/${unit}/aliases/${alias.id}`, undefined, officerToken)).status).toBe(404);
  });

  it('refuses bad alias input with a clear error, and another unit', async () => {
    const unit = srv.running.services.defaultUnitId;
    const unknown = await send('POST', `/api/v1/units/${unit}/aliases`, { text: 'abc def', code: '9.999999' }, officerToken);
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: { code: 'UNKNOWN_PROCEDURE' } });
    const empty = await send('POST', `/api/v1/units/${unit}/aliases`, { text: 'cho em hỏi ạ', code: '1.001193' }, officerToken);
    expect(await empty.json()).toMatchObject({ error: { code: 'NO_CONTENT' } });
    expect((await send('POST', `/api/v1/units/${unit}/aliases`, '{"text":', officerToken)).status).toBe(400);
    expect((await send('POST', `/api/v1/units/${unit}/aliases`, { text: 'x', code: '1.001193', extra: 1 }, officerToken)).status).toBe(400);
    expect((await send('POST', '/api/v1/units/xa-khac/aliases', { text: 'khai sinh', code: '1.001193' }, officerToken)).status).toBe(403);
    expect((await send('POST', `/api/v1/units/${unit}/aliases`, { text: 'khai sinh', code: '1.001193' })).status).toBe(401);
    expect((await get('/api/v1/search?unit=xa-khong-co&q=khai%20sinh', officerToken)).status).toBe(404);
  });

  it('closes a hand-off of its unit and gives the citizen back to the bot', async () => {
    const s = srv.running.services;
    const unit = s.defaultUnitId;
    const session = 'api-v1-handoff-session';
    const chat = (text: string) =>
      fetch(`${srv.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sessionId: session, text }) }).then((r) => r.json());
    await chat('gặp cán bộ');
    const open = (await (await get(`/api/v1/units/${unit}/handoffs`, officerToken)).json()) as { handoffs: Array<{ id: number }> };
    const id = open.handoffs.at(-1)?.id ?? 0;
    expect((await send('POST', `/api/v1/units/xa-khac/handoffs/${id}/close`, {}, officerToken)).status).toBe(403);
    const closed = await send('POST', `/api/v1/units/${unit}/handoffs/${id}/close`, { resolution: 'answered' }, officerToken);
    expect(closed.status).toBe(200);
    expect(await closed.json()).toEqual({ id, status: 'answered' });
    expect((await send('POST', `/api/v1/units/${unit}/handoffs/${id}/close`, {}, officerToken)).status).toBe(404);
    expect(JSON.stringify(await chat('đăng ký khai sinh'))).toMatch(/khai sinh/i);
  });
});
