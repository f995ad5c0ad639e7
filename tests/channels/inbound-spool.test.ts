// The durable intake spool (issue #8): webhook events Redis cannot take are kept in PostgreSQL
// (PGlite and a real server) and acknowledged, then moved into the real inbound queue (shared
// Redis, a key prefix of this file) once Redis answers: oldest first, each exactly once, also
// with several drainers at once; a 503 only when the database fails too.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { intakeEvents, type IntakeDeps } from '../../src/channels/intake.js';
import { ParsedEvent } from '../../src/channels/platform-event.js';
import { createWebhookRouter } from '../../src/channels/webhook-router.js';
import { createApp } from '../../src/http/create-app.js';
import { InboundQueue, InboundJob, RedisUnavailableNow } from '../../src/jobs/inbound-queue.js';
import { InboundSpoolDrain, type InboundSpoolDrainOptions } from '../../src/jobs/inbound-spool-drain.js';
import { createLogger } from '../../src/logger.js';
import { openDatabase, type Database } from '../../src/store/database.js';
import { InboundSpoolRepository, type SpoolJob } from '../../src/store/inbound-spool.js';
import { migrate } from '../../src/store/migrate.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, isolatedName, dropRedisPrefixes } from '../helpers/services.js';
import { waitUntil } from '../faults/traffic.js';

const OA = '579745863508352884';
const schema = isolatedName('spool');
const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
const prefixes: string[] = [];

afterAll(async () => {
  await dropRedisPrefixes(redis, prefixes);
  redis.disconnect();
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

const event = (user: string, n: number, text = `câu hỏi ${n}`): ParsedEvent => ({
  type: 'inbound',
  platform: 'zalo',
  kind: 'text',
  accountId: OA,
  userId: user,
  dedupeKey: `${user}-${n}`,
  messageId: `${user}-${n}`,
  text,
  timestamp: 1_790_000_000_000 + n,
});
const job = (user: string, n: number, receivedAt = 1_790_000_000_000 + n): SpoolJob => ({ accountId: 1, unitId: 'xa-a', event: event(user, n), receivedAt });
const idOf = (e: ParsedEvent): string => (e.type === 'inbound' ? e.messageId : '');

// Each backend: how to open the database again as another process would (its own connections).
const backends: Array<[string, () => Promise<{ db: Database; peer(): Promise<Database> }>]> = [
  [
    'pglite',
    async () => {
      const db = await openDatabase({ dataDir: 'memory://' });
      return { db, peer: async () => db };
    },
  ],
  [
    'postgres',
    async () => ({ db: await openDatabase({ url: TEST_DATABASE_URL, schema }), peer: () => openDatabase({ url: TEST_DATABASE_URL, schema }) }),
  ],
];

describe.each(backends)('inbound spool on %s', (_name, open) => {
  let db: Database;
  let peer: () => Promise<Database>;
  let repo: InboundSpoolRepository;
  const extra: Database[] = [];
  const prefix = isolatedName('spool');
  prefixes.push(prefix);
  const queue = new InboundQueue({ redis, prefix });
  /** Redis failing for the intake and the drain (a command error, the connection still "up"). */
  let redisFails = false;
  const submit = (key: string, j: SpoolJob): Promise<boolean> =>
    redisFails ? Promise.reject(new RedisUnavailableNow()) : queue.submit(`${prefix}:seen:${key}`, 3600, j);
  const drains: InboundSpoolDrain[] = [];
  // The connection counts as down while Redis fails, unless a test says otherwise.
  const newDrain = (options: Partial<InboundSpoolDrainOptions> = {}): InboundSpoolDrain => {
    const d = new InboundSpoolDrain({ spool: repo, submit, redisReady: () => !redisFails, intervalMs: 1, maxBackoffMs: 1, ...options });
    drains.push(d);
    return d;
  };
  const intakeDeps = (spool: InboundSpoolDrain): IntakeDeps => ({
    findAccount: async (_p, ext) => (ext === OA ? { id: 1, unitId: 'xa-a' } : undefined),
    submit,
    spool,
  });

  /** Every citizen's inbox in Redis: message ids in queue order. */
  const inboxes = async (): Promise<Map<string, string[]>> => {
    const out = new Map<string, string[]>();
    const keys = (await redis.keys(`${prefix}:inbox:*`)).filter((k) => !/:(processing|lock|attempts)$/.test(k));
    for (const k of keys) {
      const items = await redis.lrange(k, 0, -1);
      const ids = items.map((raw) => idOf(InboundJob.parse(JSON.parse(raw)).event));
      const user = ids[0]?.split('-')[0] ?? '';
      out.set(user, [...(out.get(user) ?? []), ...ids]);
    }
    return out;
  };
  const allQueued = async (): Promise<string[]> => [...(await inboxes()).values()].flat();

  beforeAll(async () => {
    const opened = await open();
    db = opened.db;
    peer = opened.peer;
    await migrate(db);
    repo = new InboundSpoolRepository(db);
  });
  beforeEach(async () => {
    redisFails = false;
    await db.query('DELETE FROM inbound_spool');
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  });
  afterAll(async () => {
    for (const d of drains) await d.stop();
    await queue.close();
    for (const x of extra) if (x !== db) await x.close().catch(() => undefined);
    await db.close();
  });

  it('keeps one row per event key: a retried body is not spooled twice', async () => {
    expect(await repo.put('zalo:u1-1', job('u1', 1))).toBe(true);
    expect(await repo.put('zalo:u1-1', job('u1', 1))).toBe(false);
    expect(await repo.depth()).toBe(1);
    // Texts a jsonb column would refuse survive the round trip.
    const odd = { ...job('u1', 2), event: event('u1', 2, 'a\u0000b \ud800 «đăng ký» 🙂') };
    expect(await repo.put('zalo:u1-2', odd)).toBe(true);
    const lease = await repo.lease(10, 10_000);
    if (lease.busy) throw new Error('busy');
    expect(lease.events.map((e) => e.key)).toEqual(['zalo:u1-1', 'zalo:u1-2']);
    expect(lease.events[1]?.job).toEqual(odd);
  });

  it('spools and acknowledges what Redis cannot take; the drain queues each event once, in order', async () => {
    const d = newDrain();
    redisFails = true;
    const body = [event('u2', 1), event('u2', 2)];
    const r1 = await intakeEvents('zalo', body, intakeDeps(d), 1_790_000_000_100);
    expect(r1).toEqual({ enqueued: 0, duplicate: 0, unknownAccount: 0, ignored: 0, spooled: 2 });
    // The platform sends the same body again (Meta retries): nothing more is kept.
    const r2 = await intakeEvents('zalo', body, intakeDeps(d), 1_790_000_000_200);
    expect(r2).toEqual({ enqueued: 0, duplicate: 2, unknownAccount: 0, ignored: 0 });
    expect(await repo.depth()).toBe(2);
    expect(await allQueued()).toEqual([]);

    redisFails = false;
    const report = await d.drain();
    expect(report).toEqual({ moved: 2 });
    expect(await repo.depth()).toBe(0);
    expect((await inboxes()).get('u2')).toEqual(['u2-1', 'u2-2']);
    expect(await d.drain()).toEqual({ moved: 0 });
    expect(await allQueued()).toHaveLength(2);
  });

  it('deletes a spooled event Redis already holds (its claim landed late) without queueing it again', async () => {
    const d = newDrain();
    await repo.put('zalo:u3-1', job('u3', 1));
    expect(await submit('zalo:u3-1', job('u3', 1))).toBe(true);
    expect(await d.drain()).toEqual({ moved: 1 });
    expect(await repo.depth()).toBe(0);
    expect(await allQueued()).toEqual(['u3-1']);
  });

  it("keeps a citizen's order: while the spool holds events, new ones go behind them, not to Redis", async () => {
    const d = newDrain();
    redisFails = true;
    expect((await intakeEvents('zalo', [event('u4', 1)], intakeDeps(d), 1_790_000_000_001)).spooled).toBe(1);
    expect(d.active()).toBe(true);
    // Redis is back, but the spool is not drained yet: the next message must not overtake.
    redisFails = false;
    expect(await intakeEvents('zalo', [event('u4', 2)], intakeDeps(d), 1_790_000_000_002)).toMatchObject({ enqueued: 0, spooled: 1 });
    await d.drain();
    expect((await inboxes()).get('u4')).toEqual(['u4-1', 'u4-2']);
    expect(d.active()).toBe(false);
    // Spool empty: straight to Redis again.
    expect(await intakeEvents('zalo', [event('u4', 3)], intakeDeps(d), 1_790_000_000_003)).toEqual({ enqueued: 1, duplicate: 0, unknownAccount: 0, ignored: 0 });
    expect((await inboxes()).get('u4')).toEqual(['u4-1', 'u4-2', 'u4-3']);
    expect(await repo.depth()).toBe(0);
  });

  it('a process that spooled nothing learns from its tick that another did, and spools behind it', async () => {
    const other = newDrain({ redisReady: () => false });
    await other.put('zalo:u5-1', job('u5', 1));
    const mine = newDrain({ redisReady: () => false, intervalMs: 20 });
    expect(mine.active()).toBe(false);
    mine.start();
    await waitUntil(() => mine.active(), 5000, 'the tick saw the spool');
    await mine.stop();
    expect(await intakeEvents('zalo', [event('u5', 2)], intakeDeps(mine), 1_790_000_000_009)).toMatchObject({ spooled: 1 });
    expect(await repo.depth()).toBe(2);
  });

  it('leaves the events spooled when Redis fails during the drain, and queues them once it answers', async () => {
    // Connected, but every command fails (as when Redis is full).
    const d = newDrain({ redisReady: () => true });
    for (let n = 1; n <= 3; n++) await repo.put(`zalo:u6-${n}`, job('u6', n));
    redisFails = true;
    expect(await d.drain()).toEqual({ moved: 0, stopped: 'redis_failed' });
    expect(await repo.depth()).toBe(3);
    // Released at once, not left leased: the next drain (here, or another process's) takes them.
    expect(await db.query('SELECT key FROM inbound_spool WHERE lease_token IS NOT NULL')).toEqual([]);
    redisFails = false;
    const r = await waitUntil(async () => {
      const x = await d.drain();
      return x.stopped === 'backoff' ? undefined : x;
    }, 5000, 'past the backoff');
    expect(r).toEqual({ moved: 3 });
    expect((await inboxes()).get('u6')).toEqual(['u6-1', 'u6-2', 'u6-3']);
  });

  it('backs off after a failed move, but moves at once when Redis reconnects', async () => {
    const d = newDrain({ redisReady: () => true, intervalMs: 60_000, maxBackoffMs: 60_000 });
    await repo.put('zalo:u10-1', job('u10', 1));
    redisFails = true;
    expect(await d.drain()).toEqual({ moved: 0, stopped: 'redis_failed' });
    redisFails = false;
    expect(await d.drain()).toEqual({ moved: 0, stopped: 'backoff' });
    expect(await repo.depth()).toBe(1);
    d.redisReconnected();
    await d.drain();
    expect(await repo.depth()).toBe(0);
    expect(await allQueued()).toEqual(['u10-1']);
  });

  it("takes over a batch whose drainer died after submitting it: no event queued twice", async () => {
    for (let n = 1; n <= 4; n++) await repo.put(`zalo:u7-${n}`, job('u7', n));
    // A drainer leases everything, submits two events and dies.
    const dead = await repo.lease(10, 60_000);
    if (dead.busy) throw new Error('busy');
    for (const e of dead.events.slice(0, 2)) await submit(e.key, e.job);
    const d = newDrain();
    expect(await d.drain()).toEqual({ moved: 0, stopped: 'busy' });
    expect(d.active()).toBe(true);
    // Its lease lapses.
    await db.query(`UPDATE inbound_spool SET lease_until = now() - interval '1 second'`);
    await waitUntil(async () => !(await d.drain()).stopped && (await repo.depth()) === 0, 5000, 'the spool drained');
    expect((await inboxes()).get('u7')).toEqual(['u7-1', 'u7-2', 'u7-3', 'u7-4']);
    // The dead drainer's late delete touches nothing that is no longer its own.
    expect(await repo.remove(dead.token, dead.events.map((e) => e.key))).toBe(0);
  });

  it('several drainers at once (separate connections): every event queued exactly once, each citizen in order', async () => {
    const citizens = 12;
    const perCitizen = 25;
    // Arrival order interleaves the citizens; some events share a body (same received time).
    let t = 1_790_000_100_000;
    for (let n = 1; n <= perCitizen; n++) {
      for (let c = 0; c < citizens; c++) {
        if ((n + c) % 3 !== 0) t++;
        await repo.put(`zalo:c${c}-${n}`, job(`c${c}`, n, t));
      }
    }
    const submitted: string[] = [];
    const drainers: InboundSpoolDrain[] = [];
    for (let i = 0; i < 4; i++) {
      const conn = await peer();
      extra.push(conn);
      drainers.push(
        newDrain({
          spool: new InboundSpoolRepository(conn),
          batchSize: 17,
          submit: (key, j) => {
            submitted.push(key);
            return submit(key, j);
          },
        }),
      );
    }
    // Each drainer drains until it finds the spool empty (a busy answer: another one is at work).
    await Promise.all(
      drainers.map(async (d) => {
        const end = Date.now() + 20_000;
        while (Date.now() < end) {
          if (!(await d.drain()).stopped) return;
          await new Promise((res) => setTimeout(res, 2));
        }
        throw new Error('drain did not finish');
      }),
    );
    for (const d of drainers) await d.stop();
    expect(await repo.depth()).toBe(0);
    // One batch in flight at a time: each event was submitted once (the claim would catch a
    // second submit anyway, but the queue shows each once and in order).
    expect(submitted).toHaveLength(citizens * perCitizen);
    expect(new Set(submitted).size).toBe(citizens * perCitizen);
    const byCitizen = await inboxes();
    expect(byCitizen.size).toBe(citizens);
    for (let c = 0; c < citizens; c++) {
      expect(byCitizen.get(`c${c}`)).toEqual(Array.from({ length: perCitizen }, (_, i) => `c${c}-${i + 1}`));
    }
  });

  it('answers 503 only when the database fails too; 200 when the spool takes the event', async () => {
    // A database that is gone: closed connections (PGlite: a second, closed instance).
    let gone = await peer();
    if (gone === db) gone = await openDatabase({ dataDir: 'memory://' });
    await gone.close();
    const failing = new InboundSpoolRepository(gone);
    {
      redisFails = true;
      const post = async (spool: InboundSpoolDrain, id: number): Promise<{ status: number; body: unknown }> => {
        const router = createWebhookRouter({
          zalo: {
            verifySignature: () => true,
            isProbe: () => false,
            parse: (raw) => ParsedEvent.array().parse(JSON.parse(raw.toString('utf8'))),
          },
          intake: intakeDeps(spool),
        });
        const app = express().use(router);
        const server = http.createServer(app);
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        try {
          const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/zalo`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify([event('u8', id)]),
          });
          return { status: res.status, body: await res.json() };
        } finally {
          await new Promise<void>((r) => server.close(() => r()));
        }
      };
      const down = await post(newDrain({ spool: failing, redisReady: () => false }), 1);
      expect(down).toEqual({ status: 503, body: { error: expect.objectContaining({ code: 'REDIS_UNAVAILABLE' }) } });
      const up = await post(newDrain({ redisReady: () => false }), 2);
      expect(up).toEqual({ status: 200, body: { ok: true, enqueued: 0, duplicate: 0, unknownAccount: 0, ignored: 0, spooled: 1 } });
      expect(await repo.depth()).toBe(1);
    }
  });

  it("shows the spool's depth in /metrics", async () => {
    await repo.put('zalo:u9-1', job('u9', 1));
    await repo.put('zalo:u9-2', job('u9', 2));
    const app = createApp({
      logger: createLogger('silent'),
      readiness: [],
      routers: [],
      gauges: [{ name: 'motcua_inbound_spool_depth', help: 'spooled webhook events', read: () => repo.depth() }],
    });
    const server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const text = await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)).text();
      expect(text).toMatch(/^motcua_inbound_spool_depth 2$/m);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
