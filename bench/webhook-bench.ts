// Webhook intake and reply latency, measured (npm run bench:webhooks):
// 1. signed Messenger events from autocannon on loopback, keep-alive, against motcua's webhook
//    (verify → parse → dedupe → enqueue → 200), beside a bare express handler answering 200 on
//    the same machine in the same run;
// 2. reply latency: webhook received → Send API called on the local fake Graph server.
// Needs Redis on 127.0.0.1:6379 (as the tests do). Prints a table; asserts nothing.
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { fork } from 'node:child_process';
import express from 'express';
import { Redis } from 'ioredis';
import { start } from '../src/main.js';
import { createLogger } from '../src/logger.js';
import { startFakeGraphServer } from '../tests/fakes/graph-server.js';

const SECRET = 'bench-app-secret';
const PAGE = '106000000000001';
const TOKEN = 'EAAG-bench-token';
const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

function event(psid: string, mid: string, text: string): string {
  // (the load generator builds the same shape in bench/load-generator.mjs)
  const ts = Date.now();
  return JSON.stringify({ object: 'page', entry: [{ id: PAGE, time: ts, messaging: [{ sender: { id: psid }, recipient: { id: PAGE }, timestamp: ts, message: { mid, text } }] }] });
}
const sign = (raw: string): string => `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

let runs = 0;
/** autocannon in a child process: the server keeps this process's event loop to itself. */
function load(url: string): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const args = JSON.stringify({ url, secret: SECRET, page: PAGE, duration: DURATION, connections: CONNECTIONS, tag: `${process.pid}_${runs++}` });
    const child = fork(new URL('./load-generator.mjs', import.meta.url), [args], { stdio: 'inherit' });
    child.once('message', (m: LoadResult) => resolve(m));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${code}`));
    });
  });
}

const row = (name: string, r: LoadResult): string =>
  `| ${name.padEnd(38)} | ${Math.round(r.rps).toString().padStart(8)} | ${r.p50.toFixed(1).padStart(7)} | ${r.p99.toFixed(1).padStart(7)} | ${String(r.non2xx).padStart(6)} | ${String(r.errors).padStart(6)} |`;

async function main(): Promise<void> {
  // Baseline: a bare express handler that reads the body and answers 200.
  const bare = express();
  bare.post('/webhooks/messenger', express.raw({ type: () => true, limit: '1mb' }), (_req, res) => {
    res.status(200).json({ ok: true });
  });
  const bareServer = http.createServer(bare);
  await new Promise<void>((r) => bareServer.listen(0, '127.0.0.1', r));
  const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}/webhooks/messenger`;

  const graph = await startFakeGraphServer({ tokens: { [TOKEN]: PAGE } });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'motcua-bench-'));
  const prefix = `bench${process.pid}`;
  const env = {
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    REDIS_AUTOSTART: 'false',
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    FB_APP_SECRET: SECRET,
    FB_PAGE_ID: PAGE,
    FB_PAGE_ACCESS_TOKEN: TOKEN,
    FB_GRAPH_URL: graph.url,
  };

  // 1. Intake: the web role alone (RUN_WORKERS=false), as deployed beside separate workers.
  const web = await start('serve', { ...env, RUN_WORKERS: 'false' }, { logger: createLogger('silent') });
  const webUrl = `http://127.0.0.1:${(web.server?.address() as AddressInfo).port}/webhooks/messenger`;
  await load(bareUrl); // warm-up of the machine and autocannon itself
  const baseline = await load(bareUrl);
  const intake = await load(webUrl);
  await web.stop();

  // 2. Reply latency: web + workers in one process; the fake's clock of each Send API call.
  const calledAt = new Map<string, number>();
  const timedFetch: typeof fetch = async (input, init) => {
    const body = typeof init?.body === 'string' ? init.body : '';
    const psid = /"recipient":\{"id":"(\d+)"/.exec(body)?.[1];
    if (psid && !calledAt.has(psid)) calledAt.set(psid, performance.now());
    return fetch(input, init);
  };
  const full = await start('serve', { ...env, REDIS_KEY_PREFIX: `${prefix}b` }, { logger: createLogger('silent'), fetch: timedFetch });
  const fullUrl = `http://127.0.0.1:${(full.server?.address() as AddressInfo).port}/webhooks/messenger`;
  const questions = ['đăng ký khai sinh', 'dk ket hon', 'xin giay xac nhan doc than', 'đăng ký tạm trú', 'làm sổ đỏ cần gì'];
  const sentAt = new Map<string, number>();
  const N = Number(process.env.BENCH_REPLIES ?? 200);
  for (let i = 0; i < N; i++) {
    const psid = `72${String(i).padStart(14, '0')}`;
    graph.lastInteraction.set(psid, Date.now());
    const raw = event(psid, `m_lat_${process.pid}_${i}`, questions[i % questions.length] ?? 'khai sinh');
    sentAt.set(psid, performance.now());
    await fetch(fullUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(raw) }, body: raw });
    await new Promise((r) => setTimeout(r, 25)); // ~40 citizens a second
  }
  const deadline = Date.now() + 30_000;
  while (calledAt.size < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const lat = [...sentAt].flatMap(([psid, t]) => (calledAt.has(psid) ? [(calledAt.get(psid) ?? t) - t] : [])).sort((a, b) => a - b);
  const pct = (p: number): number => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? NaN;
  await full.stop();
  await graph.close();
  bareServer.close();
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  for (const p of [prefix, `${prefix}b`]) {
    const keys = await redis.keys(`${p}*`);
    for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
  }
  redis.disconnect();
  fs.rmSync(dataDir, { recursive: true, force: true });

  console.log(`\nWebhook intake — autocannon, ${CONNECTIONS} keep-alive connections, ${DURATION} s each, ${os.cpus().length} cores`);
  console.log('| server                                 |    req/s | p50 ms  | p99 ms  |  non2xx | errors |');
  console.log('|----------------------------------------|----------|---------|---------|--------|--------|');
  console.log(row('bare express handler (baseline)', baseline));
  console.log(row('motcua POST /webhooks/messenger', intake));
  console.log(`targets: ≥ 3,000 req/s and p99 < 25 ms for motcua`);
  console.log(`\nReply latency, webhook received → Send API called (${lat.length}/${N} replies, ~40 questions/s):`);
  console.log(`p50 ${pct(50).toFixed(1)} ms · p95 ${pct(95).toFixed(1)} ms · p99 ${pct(99).toFixed(1)} ms · max ${(lat[lat.length - 1] ?? NaN).toFixed(1)} ms (target p95 < 100 ms)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
