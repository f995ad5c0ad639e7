// motcua on a real Redis Cluster (issue #8, scale-out): three masters started for this file,
// REDIS_CLUSTER with a hash-tag prefix, and the real flows on it — webhook intake claim and
// inbound drain, a reply through the outbound queue and the send limiter, the broadcast pace and
// throttle scripts, the dossier look-up guard, admin sessions and the login limiter, the
// conversation state, the unit reload over pub/sub, and the `serve` and `worker` roles apart
// answering a signed webhook and fanning out an announcement. The client is seeded with a node
// that does not own the prefix's slot, so every command follows the cluster's redirections; at
// the end every key is found on the slot's owner and nowhere else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster } from 'ioredis';
import { startRedisCluster, type RedisClusterInstance } from '../helpers/redis-cluster.js';
import { isolatedName } from '../helpers/services.js';
import { freshDatabase } from '../broadcast/harness.js';
import { startFakeGraphServer, type FakeGraphServer } from '../fakes/graph-server.js';
import { clusterSettings, connectRedis, duplicateClient, type RedisClient, type RedisHandle } from '../../src/store/redis.js';
import { InboundQueue, createInboundWorker, type InboundJob } from '../../src/jobs/inbound-queue.js';
import { OutboundQueue, createOutboundWorker, rateKey, type OutboundHandlers } from '../../src/jobs/outbound-queue.js';
import { BroadcastQueue, createRedisSendControls } from '../../src/jobs/broadcast-queue.js';
import { acquireSend, limiterKeys } from '../../src/store/rate-limiter.js';
import { RedisLookupGuard } from '../../src/store/redis-lookup-guard.js';
import { RedisConversationStateStore } from '../../src/store/conversation-state-store.js';
import { withLock } from '../../src/store/redis-primitives.js';
import { LoginLimiter, SessionStore } from '../../src/admin/auth/index.js';
import { LiveUnits } from '../../src/units/live-units.js';
import type { Unit } from '../../src/units/unit.js';
import { buildSearchIndex } from '../../src/search/index.js';
import { smallCatalogue } from '../search/make-procedure.js';
import { start, type Running } from '../../src/main.js';
import { createLogger } from '../../src/logger.js';
import { AnnouncementInput } from '../../src/broadcast/types.js';

let cluster: RedisClusterInstance;
let handle: RedisHandle;
let redis: RedisClient;
/** A hash tag of its own, though the cluster is private: the same habit as every test file. */
const prefix = `{${isolatedName('cl')}}`;
const bull = `${prefix}:bull`;
let owner: number;
/** A node that does not own the prefix's slot: the client's only seed. */
let seed: string;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'motcua-cluster-'));

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  owner = await cluster.ownerOf(`${prefix}:x`);
  seed = cluster.urls[cluster.ports.findIndex((p) => p !== owner)] ?? '';
  handle = await connectRedis({ url: seed, autostart: false, dataDir, cluster: true });
  redis = handle.client;
}, 60_000);

afterAll(async () => {
  await handle?.close();
  await cluster?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const waitFor = async <T>(fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 15_000, label = 'condition'): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

const unit = (id: string, name: string): Unit => ({ id, name, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });

function inbound(user: string, n: number): InboundJob {
  return {
    accountId: 1,
    unitId: 'xa-a',
    receivedAt: Date.now(),
    event: { type: 'inbound', platform: 'zalo', kind: 'text', accountId: '579745863508352884', userId: user, dedupeKey: `zl:${user}:${n}`, messageId: `${user}-${n}`, text: String(n), timestamp: Date.now() },
  };
}

describe('Redis Cluster: the connection', () => {
  it('is an ioredis Cluster, ready, reached through a node that does not own the slot', async () => {
    expect(redis).toBeInstanceOf(Cluster);
    expect(owner).not.toBe(Number(new URL(seed).port));
    await waitFor(() => redis.status === 'ready', 5000, 'ready');
    expect(await redis.ping()).toBe('PONG');
  });

  it('reads the seed nodes and the shared credentials from REDIS_URL', () => {
    expect(clusterSettings('rediss://app:p%40ss@redis-a.example:7000, redis://[::1]:7001,redis://redis-c.example')).toEqual({
      nodes: [
        { host: 'redis-a.example', port: 7000 },
        { host: '::1', port: 7001 },
        { host: 'redis-c.example', port: 6379 },
      ],
      redisOptions: { username: 'app', password: 'p@ss', tls: {} },
    });
  });

  it('duplicates a Cluster as a Cluster of the same nodes, with the blocking settings BullMQ workers need', async () => {
    const copy = duplicateClient(redis, { blocking: true });
    try {
      expect(copy).toBeInstanceOf(Cluster);
      if (!(copy instanceof Cluster)) return;
      expect(copy.options.redisOptions?.maxRetriesPerRequest).toBeNull();
      expect(await copy.set(`${prefix}:dup`, '1', 'EX', 60)).toBe('OK');
    } finally {
      copy.disconnect();
    }
  });

  it('says a cluster that does not answer is unreachable (nothing is auto-started)', async () => {
    await expect(connectRedis({ url: 'redis://127.0.0.1:1', autostart: true, dataDir, cluster: true })).rejects.toThrow(/Redis Cluster/);
  });
});

describe('Redis Cluster: webhook intake and the inbound drain', () => {
  it('claims each event once, queues it, and drains one citizen in order', async () => {
    const queue = new InboundQueue({ redis, prefix: bull });
    const seen: string[] = [];
    const worker = createInboundWorker({
      redis,
      prefix: bull,
      concurrency: 4,
      handle: async (j) => {
        if (j.event.type === 'inbound') seen.push(`${j.event.userId}:${j.event.text}`);
      },
    });
    const claims: boolean[] = [];
    for (let n = 0; n < 6; n++) claims.push(await queue.submit(`${prefix}:seen:zl:u1:${n}`, 3600, inbound('u1', n)));
    // The platform retries event 2: a duplicate, acknowledged and dropped.
    claims.push(await queue.submit(`${prefix}:seen:zl:u1:2`, 3600, inbound('u1', 2)));
    await queue.enqueue(inbound('u2', 0));
    expect(claims).toEqual([true, true, true, true, true, true, false]);
    await waitFor(() => seen.length === 7, 15_000, 'every event handled');
    expect(seen.filter((s) => s.startsWith('u1:'))).toEqual(['u1:0', 'u1:1', 'u1:2', 'u1:3', 'u1:4', 'u1:5']);
    expect(seen).toContain('u2:0');
    // Settled: nothing pending any more.
    await waitFor(async () => (await redis.zcard(`${bull}:inbox-pending`)) === 0, 5000, 'inbox settled');
    await worker.close();
    await queue.close();
  });
});

describe('Redis Cluster: replies and the send limiter', () => {
  it('sends a reply turn in order through the outbound queue, counted by the account limiter', async () => {
    const sent: string[] = [];
    const handlers: OutboundHandlers = {
      send: async (_job, body) => (sent.push(String(body)), { kind: 'sent', messageId: 'm' }),
      refreshToken: async () => undefined,
      markUnreachable: async () => undefined,
      pauseAccount: async () => undefined,
      accountBlocked: async () => null,
    };
    const queue = new OutboundQueue(redis, bull);
    const worker = createOutboundWorker({ redis, prefix: bull, handlers, concurrency: 2, rates: { zalo: { perSecond: 50 }, messenger: { perSecond: 50 } } });
    await queue.add({ kind: 'reply', platform: 'zalo', accountId: 7, userId: 'u1', bodies: ['a', 'b', 'c'], sent: 0, refreshed: false });
    await waitFor(() => sent.length === 3, 15_000, 'three sends');
    expect(sent).toEqual(['a', 'b', 'c']);
    const [log, replies] = limiterKeys(rateKey(bull, 'zalo', 7));
    expect(await redis.llen(log)).toBe(3);
    expect(await redis.llen(replies)).toBe(3);
    await worker.close();
    await queue.close();
  });

  it('admits no more than the limit in a window (EVALSHA, loaded on first use on the slot\'s node)', async () => {
    const base = rateKey(bull, 'messenger', 8);
    const t = 1_000_000;
    const waits = [];
    for (let i = 0; i < 4; i++) waits.push(await acquireSend(redis, base, { perSecond: 3, guardMs: 0 }, 'reply', t));
    expect(waits.slice(0, 3)).toEqual([0, 0, 0]);
    expect(waits[3]).toBe(1000);
    expect(await acquireSend(redis, base, { perSecond: 3, guardMs: 0 }, 'reply', t + 1000)).toBe(0);
  });
});

describe('Redis Cluster: broadcast controls', () => {
  it('paces, throttles and clears with seven-key and three-key scripts', async () => {
    const controls = createRedisSendControls({ redis, prefix: bull, rates: { messenger: { perSecond: 2 }, zalo: { perSecond: 2 } }, throttleBaseMs: 500 });
    const now = Date.now();
    expect(await controls.pace(9, 'messenger', now, undefined)).toEqual({ kind: 'go', probe: false });
    // The schedule spaces sends at the account's interval: the next slot is in the future.
    const next = await controls.pace(9, 'messenger', now, undefined);
    expect(next.kind).toBe('slot');
    expect(await controls.throttled(9, undefined)).toBe(500);
    expect((await controls.pace(9, 'messenger', now, undefined)).kind).toBe('cooldown');
    await controls.recovered(9);
    expect(await redis.exists(`${bull}:throttle-streak:9`)).toBe(0);
  });
});

describe('Redis Cluster: small stores', () => {
  it('guards dossier look-ups across both keys of one script', async () => {
    const guard = new RedisLookupGuard(redis, prefix, 'secret-for-cluster-tests', 2, 60_000);
    const who = { unitId: 'xa-a', channel: 'zalo' as const, userId: 'u1' };
    const now = new Date();
    const first = await guard.attempt(who, 'HS-1', now);
    const second = await guard.attempt(who, 'HS-1', now);
    expect(first).toMatchObject({ allowed: true, remaining: 1 });
    expect(second).toMatchObject({ allowed: true, remaining: 0 });
    expect((await guard.attempt(who, 'HS-1', now)).allowed).toBe(false);
    if (first.allowed) await guard.succeeded(who, 'HS-1', first.id);
    expect(await guard.blockedUntil(who, 'HS-1', now)).toBeNull();
  });

  it('keeps admin sessions and limits sign-in failures (MGET over two keys)', async () => {
    const sessions = new SessionStore(redis, { prefix: `${prefix}:sess:` });
    const s = await sessions.create(42);
    expect((await sessions.get(s.id))?.userId).toBe(42);
    await sessions.destroy(s.id);
    expect(await sessions.get(s.id)).toBeUndefined();
    const limiter = new LoginLimiter(redis, { prefix: `${prefix}:login:`, maxPerAccount: 2 });
    expect((await limiter.check('canbo', '10.0.0.1')).allowed).toBe(true);
    await limiter.recordFailure('canbo', '10.0.0.1');
    await limiter.recordFailure('canbo', '10.0.0.1');
    const refused = await limiter.check('canbo', '10.0.0.1');
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
    await limiter.reset('canbo');
    expect((await limiter.check('canbo', '10.0.0.1')).allowed).toBe(true);
  });

  it('keeps a conversation state and its transcript (MULTI on one slot)', async () => {
    const store = new RedisConversationStateStore(redis, prefix, 'secret-for-cluster-tests');
    const key = { unitId: 'xa-a', channel: 'messenger' as const, userId: '7100000000000099' };
    await store.set(key, { mode: 'answered', code: '1.001193' }, 600);
    expect(await store.get(key)).toEqual({ mode: 'answered', code: '1.001193' });
    await store.append(key, [{ from: 'citizen', text: 'đăng ký khai sinh', at: 1 }, { from: 'bot', text: 'Hồ sơ gồm…', at: 2 }], 600);
    expect((await store.read(key)).map((l) => l.from)).toEqual(['citizen', 'bot']);
    await store.clear(key);
    expect(await store.get(key)).toBeNull();
  });

  it('takes a lock with an owner token and releases it', async () => {
    const order: string[] = [];
    await Promise.all([
      withLock(redis, `${prefix}:lock:zalo-refresh:1`, async () => {
        order.push('a+');
        await new Promise((r) => setTimeout(r, 100));
        order.push('a-');
      }),
      new Promise((r) => setTimeout(r, 20)).then(() => withLock(redis, `${prefix}:lock:zalo-refresh:1`, async () => void order.push('b'))),
    ]);
    expect(order).toEqual(['a+', 'a-', 'b']);
  });
});

describe('Redis Cluster: unit changes over pub/sub', () => {
  const live: LiveUnits[] = [];
  afterAll(async () => {
    for (const u of live) await u.close();
  });

  it('carries a unit edited in one process to another', async () => {
    // The units as the database holds them (the database is beside the point here).
    const stored = new Map<string, Unit>([['xa-a', unit('xa-a', 'UBND xã A')]]);
    const units = { get: async (id: string) => stored.get(id), list: async () => [...stored.values()] };
    const aliases = { list: async () => [], listAll: async () => [] };
    const searcher = buildSearchIndex(smallCatalogue());
    const make = () => new LiveUnits({ units, aliases, searcher, redis, channel: `${prefix}:units-changed` });
    const web = make();
    const worker = make();
    live.push(web, worker);
    await Promise.all([web.load(), worker.load()]);
    await Promise.all([web.subscribe(), worker.subscribe()]);
    stored.set('xa-a', unit('xa-a', 'UBND xã A đổi tên'));
    expect((await worker.get('xa-a'))?.name).toBe('UBND xã A');
    await web.changed('xa-a');
    await waitFor(async () => (await worker.get('xa-a'))?.name === 'UBND xã A đổi tên', 5000, 'the worker reloaded the unit');
  });
});

describe('Redis Cluster: the serve and worker roles', () => {
  const FB_APP_SECRET = 'fb-app-secret-cluster';
  const FB_PAGE_ID = '106000000000888';
  const FB_TOKEN = 'EAAG-cluster-page-token';
  let graph: FakeGraphServer;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  const roles: Running[] = [];
  const dirs: string[] = [];

  afterAll(async () => {
    for (const r of roles.reverse()) await r.stop().catch(() => undefined);
    await graph?.close();
    await db?.drop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('answers a signed webhook end to end and fans out an announcement, web and worker apart', async () => {
    graph = await startFakeGraphServer({ tokens: { [FB_TOKEN]: FB_PAGE_ID } });
    db = await freshDatabase('cluster');
    const env = (extra: Record<string, string>): Record<string, string> => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'motcua-cluster-role-'));
      dirs.push(dir);
      return {
        HOST: '127.0.0.1',
        PORT: '0',
        DATA_DIR: dir,
        DATABASE_URL: db.url,
        // Two seeds, neither the slot's owner first: the client finds the rest.
        REDIS_URL: [seed, ...cluster.urls.filter((u) => u !== seed)].slice(0, 2).join(','),
        REDIS_CLUSTER: 'true',
        REDIS_AUTOSTART: 'false',
        REDIS_KEY_PREFIX: prefix,
        LOG_LEVEL: 'silent',
        FB_APP_ID: '999000888',
        FB_APP_SECRET,
        FB_VERIFY_TOKEN: 'verify-token-cluster',
        FB_PAGE_ID,
        FB_PAGE_ACCESS_TOKEN: FB_TOKEN,
        FB_GRAPH_URL: graph.url,
        BROADCAST_TICK_SECONDS: '1',
        ...extra,
      };
    };
    const logger = createLogger('silent');
    roles.push(await start('worker', env({}), { logger }));
    const web = await start('serve', env({ RUN_WORKERS: 'false' }), { logger });
    roles.push(web);
    expect(web.services.redis.client).toBeInstanceOf(Cluster);
    const addr = web.server?.address();
    const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    // A citizen's message: signed webhook → claim + inbound queue → worker → reply queue → Send API.
    const psid = '7100000000000777';
    graph.lastInteraction.set(psid, Date.now());
    const ts = Date.now();
    const raw = JSON.stringify({
      object: 'page',
      entry: [{ id: FB_PAGE_ID, time: ts, messaging: [{ sender: { id: psid }, recipient: { id: FB_PAGE_ID }, timestamp: ts, message: { mid: 'm_cluster_1', text: 'cho em hỏi làm giấy khai sinh cần gì ạ' } }] }],
    });
    const post = () =>
      fetch(`${url}/webhooks/messenger`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', FB_APP_SECRET).update(raw).digest('hex')}` },
        body: raw,
      });
    expect((await post()).status).toBe(200);
    const replies = await waitFor(() => {
      const s = graph.sent().filter((m) => m.recipientId === psid);
      return s.length > 0 && s;
    }, 20_000, 'the reply');
    expect(JSON.stringify(replies.map((r) => r.body))).toMatch(/khai sinh/i);
    expect(JSON.stringify(replies[0]?.body)).toContain('"messaging_type":"RESPONSE"');
    // The platform's retry of the same event is a duplicate: no second answer.
    expect((await post()).status).toBe(200);
    const answered = graph.sent().filter((m) => m.recipientId === psid).length;

    // An announcement to a group's subscribers: fan-out by the worker role, sends paced per Page.
    const services = web.services;
    const account = await services.accounts.find('messenger', FB_PAGE_ID);
    if (!account) throw new Error('the Page was not seeded');
    const unitId = services.defaultUnitId;
    const group = await services.db.query<{ id: string }>(`INSERT INTO subscriber_groups (unit_id, kind, name) VALUES ($1, 'topic', 'Cải cách hành chính') RETURNING id`, [unitId]);
    const groupId = Number(group[0]?.id);
    const recent = new Date(Date.now() - 3_600_000);
    const contacts = await services.db.query<{ id: string; platform_user_id: string }>(
      `INSERT INTO contacts (account_id, platform_user_id, first_seen_at, last_interaction_at, reachable)
       SELECT $1, '7200' || lpad(g::text, 9, '0'), $2, $2, true FROM generate_series(1, 5) g RETURNING id, platform_user_id`,
      [account.id, recent],
    );
    await services.db.query(`INSERT INTO subscriptions (contact_id, group_id, consented_at) SELECT unnest($1::bigint[]), $2, $3`, [contacts.map((c) => Number(c.id)), groupId, recent]);
    for (const c of contacts) graph.lastInteraction.set(c.platform_user_id, recent.getTime());
    const draft = await services.broadcasts.create(
      unitId,
      AnnouncementInput.parse({ title: 'Lịch tiếp công dân', body: 'Chủ tịch UBND xã tiếp công dân sáng thứ Năm hằng tuần.', groupIds: [groupId], channels: ['messenger'] }),
      null,
    );
    const submitted = await services.broadcasts.submit(draft.id, new Date());
    if (!submitted) throw new Error('announcement not submitted');
    const producer = new BroadcastQueue(redis, bull);
    await producer.scheduleFanout(submitted.id);
    await producer.close();
    await waitFor(async () => (await services.broadcasts.get(submitted.id))?.status === 'done', 25_000, 'the announcement done');
    const updates = graph.sent().filter((m) => JSON.stringify(m.body).includes('"messaging_type":"UPDATE"'));
    expect(updates.map((m) => m.recipientId).sort()).toEqual(contacts.map((c) => c.platform_user_id).sort());
    expect(graph.sent().filter((m) => m.recipientId === psid)).toHaveLength(answered);
  }, 60_000);
});

describe('Redis Cluster: one slot', () => {
  it('keeps every key of motcua and BullMQ on the node that owns the prefix\'s slot', async () => {
    const counts = await Promise.all(cluster.ports.map(async (p) => [p, Number(await cluster.cli(p, 'dbsize'))] as const));
    for (const [port, n] of counts) {
      if (port === owner) expect(n).toBeGreaterThan(20);
      else expect(n).toBe(0);
    }
    const keys = (await cluster.cli(owner, '--scan')).split('\n').filter(Boolean);
    expect(keys.every((k) => k.startsWith(`${prefix}:`))).toBe(true);
    expect(keys.some((k) => k.startsWith(`${bull}:inbound:`))).toBe(true);
  });
});
