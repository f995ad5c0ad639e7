// The load script end to end, in its smoke mode (`npm run load -- --smoke`): a database of its
// own on the real PostgreSQL, Redis under a prefix of its own, the fakes, the web role and one
// worker role as separate processes, a few seconds of the whole mix (questions on both
// platforms, subscriptions in chat, survey answers, two small broadcasts). The script itself
// exits non-zero unless every part worked; this checks that and the figures it writes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../helpers/services.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Figures {
  results: Array<{
    workers: number;
    sessions: Record<'question' | 'subscribe' | 'survey', { started: number }>;
    webhooks: { accepted: number; failed: number };
    turns: { answered: number; unanswered: number; all: { n: number; p50: number; p99: number } };
    subscriptionsRecorded: number;
    broadcast: { list: Array<{ id: number }>; afterDrainSends: { messenger: number } };
    processes: Array<{ name: string; peakRssMb: number }>;
    series: Array<{ t: number; queues: { inbound: { waiting: number }; outbound: { waiting: number } } }>;
  }>;
}

describe('npm run load -- --smoke', () => {
  it('drives the separate web and worker roles with the whole mix and reports the figures', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'motcua-load-smoke-'));
    const jsonFile = path.join(dir, 'figures.json');
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load.ts', '--smoke', '--json', jsonFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(stdout).toContain('smoke: ok');
    expect(stdout).toMatch(/reply latency p50 \/ p95 \/ p99 ms/);
    expect(stdout).toMatch(/## Queue depths and memory over time — 1 worker/);

    const figures = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as Figures;
    fs.rmSync(dir, { recursive: true, force: true });
    expect(figures.results).toHaveLength(1);
    const r = figures.results[0]!;
    expect(r.workers).toBe(1);
    for (const kind of ['question', 'subscribe', 'survey'] as const) expect(r.sessions[kind].started).toBeGreaterThan(0);
    expect(r.webhooks.failed).toBe(0);
    expect(r.webhooks.accepted).toBeGreaterThan(0);
    expect(r.turns.unanswered).toBe(0);
    expect(r.turns.all.n).toBe(r.turns.answered);
    expect(r.turns.all.p50).toBeGreaterThan(0);
    expect(r.turns.all.p99).toBeGreaterThanOrEqual(r.turns.all.p50);
    expect(r.subscriptionsRecorded).toBeGreaterThan(0);
    expect(r.broadcast.list).toHaveLength(2);
    expect(r.broadcast.afterDrainSends.messenger).toBe(100);
    expect(r.processes.map((p) => p.name)).toEqual(expect.arrayContaining(['web', 'worker 1']));
    for (const p of r.processes) expect(p.peakRssMb).toBeGreaterThan(0);
    expect(r.series.length).toBeGreaterThan(0);
    expect(r.series[0]!.queues.inbound.waiting).toBeGreaterThanOrEqual(0);

    // It cleaned up after itself: no database, no Redis keys left.
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    const left = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE 'motcua_load_smoke_%'`);
    await admin.end();
    const smokeDb = /seeding database (motcua_load_smoke_[0-9a-f]+)/.exec(stdout)?.[1];
    expect(smokeDb).toBeDefined();
    expect(left.rows.map((row: { datname: string }) => row.datname)).not.toContain(smokeDb);
    const redis = new Redis(TEST_REDIS_URL);
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `motcua_load_${child.pid}_*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    redis.disconnect();
    expect(keys).toEqual([]);
  }, 180_000);
});
