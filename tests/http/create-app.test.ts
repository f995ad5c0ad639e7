import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createApp } from '../../src/http/create-app.js';
import { createLogger } from '../../src/logger.js';

let server: http.Server;
let base = '';
let redisUp = true;

beforeAll(async () => {
  const router = express.Router();
  router.post('/echo', express.json({ limit: '1kb' }), (req, res) => {
    res.json({ got: req.body });
  });
  router.get('/boom', () => {
    throw new Error('secret internals');
  });
  const app = createApp({
    logger: createLogger('silent'),
    readiness: [
      { name: 'database', check: async () => undefined },
      {
        name: 'redis',
        check: async () => {
          if (!redisUp) throw new Error('down');
        },
      },
    ],
    routers: [router],
  });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('createApp', () => {
  it('answers /healthz', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('reports readiness per dependency', async () => {
    redisUp = true;
    let res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    redisUp = false;
    res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'unavailable', checks: { database: 'ok', redis: 'unavailable' } });
    redisUp = true;
  });

  it('serves Prometheus metrics', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(await res.text()).toMatch(/process_cpu_user_seconds_total/);
  });

  it('answers 400 with a coded error on malformed JSON', async () => {
    const res = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
  });

  it('answers 413 on a body over the limit', async () => {
    const res = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 'x'.repeat(5000) }),
    });
    expect(res.status).toBe(413);
  });

  it('never leaks an internal error message', async () => {
    const res = await fetch(`${base}/boom`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toMatch(/secret internals/);
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'INTERNAL' } });
  });

  it('answers 404 as JSON', async () => {
    const res = await fetch(`${base}/nothing-here`);
    expect(res.status).toBe(404);
  });
});
