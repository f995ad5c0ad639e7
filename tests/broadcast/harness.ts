// A broadcast test bed on the real services: a fresh PostgreSQL database (CREATE DATABASE over
// trust auth: PGlite cannot be shared between processes, and the crash test runs the worker as
// a child process), Redis under a key prefix of its own, the fake Graph and Zalo servers, a
// Messenger Page and a Zalo OA of the default unit, a subscriber group, and subscribers seeded
// in bulk with SQL. In-process workers can be started with an injected clock.
import pg from 'pg';
import { Redis } from 'ioredis';
import type { Worker } from 'bullmq';
import { TEST_DATABASE_URL, TEST_REDIS_URL, isolatedName } from '../helpers/services.js';
import { startFakeGraphServer, type FakeGraphServer } from '../fakes/graph-server.js';
import { startZaloFake, type ZaloFake } from '../fakes/zalo-server.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { buildServices, type Services } from '../../src/services.js';
import { createPlatforms, type Platforms } from '../../src/platforms.js';
import { OutboundQueue, createOutboundWorker, sendRates } from '../../src/jobs/outbound-queue.js';
import { startBroadcastWorkers, type BroadcastWorkers } from '../../src/jobs/broadcast-queue.js';
import { SubscriptionRepository } from '../../src/store/subscription-repository.js';
import { AnnouncementInput, type Announcement } from '../../src/broadcast/types.js';

export const FB_PAGE_ID = '106000000000777';
export const FB_TOKEN = 'EAAG-broadcast-page-token';
export const ZALO_APP_ID = '360846524940900077';
export const ZALO_APP_SECRET = 'zalo-app-secret-for-broadcast';
export const ZALO_OA_ID = '388613280900000077';

/** A database of its own: created now, dropped (with its connections) by drop(). */
export async function freshDatabase(label: string): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = isolatedName(label).toLowerCase();
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A clock that runs in real time from a chosen start, and can be moved. */
export function movableClock(startMs = Date.now()) {
  let offset = startMs - Date.now();
  return {
    now: (): Date => new Date(Date.now() + offset),
    ms: (): number => Date.now() + offset,
    set(ms: number): void {
      offset = ms - Date.now();
    },
  };
}

export interface HarnessOptions {
  label: string;
  env?: Record<string, string>;
  /** Start of the clock of the sender, the runtime and both fakes (default: real time). */
  clockStart?: number;
}

export interface Harness {
  config: Config;
  env: Record<string, string>;
  databaseUrl: string;
  prefix: string;
  services: Services;
  platforms: Platforms;
  graph: FakeGraphServer;
  zalo: ZaloFake;
  redis: Redis;
  clock: ReturnType<typeof movableClock>;
  unitId: string;
  messengerAccountId: number;
  zaloAccountId: number;
  groupId: number;
  outbound: OutboundQueue;
  /** Adds subscribers of the group on an account; returns their platform user ids. */
  addSubscribers(input: { platform: 'messenger' | 'zalo' | 'web'; count: number; prefix: string; lastInteractionAt: Date; following?: boolean | null; reachable?: boolean; groupId?: number }): Promise<string[]>;
  /** Another subscriber group of the unit. */
  addGroup(name: string): Promise<number>;
  /** Creates and submits an announcement to the group. */
  announce(input?: Partial<AnnouncementInput>): Promise<Announcement>;
  /** Starts the broadcast and outbound workers in this process. */
  startWorkers(options?: { concurrency?: number; rates?: ReturnType<typeof sendRates> }): Promise<BroadcastWorkers>;
  stopWorkers(): Promise<void>;
  workers(): BroadcastWorkers | undefined;
  stop(): Promise<void>;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const db = await freshDatabase(options.label);
  const clock = movableClock(options.clockStart ?? Date.now());
  const graph = await startFakeGraphServer({ tokens: { [FB_TOKEN]: FB_PAGE_ID }, now: () => clock.ms() });
  const zalo = await startZaloFake({ appId: ZALO_APP_ID, appSecret: ZALO_APP_SECRET, ...(options.clockStart !== undefined ? { now: clock.ms() } : {}) });
  const grant = zalo.grant(ZALO_OA_ID, { accessExpiresAt: zalo.now() + 20 * 3600_000 });
  const prefix = isolatedName(options.label);
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_AUTOSTART: 'false',
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    FB_APP_ID: '999000777',
    FB_APP_SECRET: 'fb-app-secret-broadcast',
    FB_VERIFY_TOKEN: 'verify-token-broadcast',
    FB_PAGE_ID,
    FB_PAGE_ACCESS_TOKEN: FB_TOKEN,
    FB_GRAPH_URL: graph.url,
    ZALO_APP_ID,
    ZALO_APP_SECRET,
    ZALO_OA_SECRET_KEY: 'zalo-oa-secret-broadcast',
    ZALO_OA_ID,
    ZALO_ACCESS_TOKEN: grant.accessToken,
    ZALO_REFRESH_TOKEN: grant.refreshToken,
    ZALO_OPENAPI_URL: zalo.url,
    ZALO_OAUTH_URL: zalo.url,
    MESSENGER_SEND_RATE: '1000',
    MESSENGER_SEND_BURST: '100',
    ZALO_SEND_RATE: '1000',
    ZALO_SEND_BURST: '100',
    BROADCAST_LEASE_SECONDS: '2',
    BROADCAST_TICK_SECONDS: '1',
    JOB_LOCK_SECONDS: '3',
    BROADCAST_THROTTLE_BASE_MS: '200',
    ...options.env,
  };
  const config = loadConfig(env);
  const logger = createLogger('silent');
  const services = await buildServices(config, logger);
  // Zalo tokens were seeded "expiring soon" by the settings: store the real expiry so the first
  // send does not spend the refresh token.
  const zaloAccount = await services.accounts.find('zalo', ZALO_OA_ID);
  const messengerAccount = await services.accounts.find('messenger', FB_PAGE_ID);
  if (!zaloAccount || !messengerAccount) throw new Error('accounts were not seeded');
  await services.accounts.setSecrets(zaloAccount.id, { ...zaloAccount.secrets, accessExpiresAt: new Date(grant.accessExpiresAt).toISOString() });
  const platforms = createPlatforms(services, config, logger);
  const unitId = services.defaultUnitId;
  const groupRows = await services.db.query<{ id: string }>(`INSERT INTO subscriber_groups (unit_id, kind, name) VALUES ($1, 'topic', 'Cải cách hành chính') RETURNING id`, [unitId]);
  const groupId = Number(groupRows[0]?.id);
  let webAccountId: number | undefined;
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const bullPrefix = `${prefix}:bull`;
  const outbound = new OutboundQueue(redis, bullPrefix);
  let running: { workers: BroadcastWorkers; outboundWorker: Worker } | undefined;

  const harness: Harness = {
    config,
    env,
    databaseUrl: db.url,
    prefix,
    services,
    platforms,
    graph,
    zalo,
    redis,
    clock,
    unitId,
    messengerAccountId: messengerAccount.id,
    zaloAccountId: zaloAccount.id,
    groupId,
    outbound,
    async addSubscribers(input) {
      let accountId: number;
      if (input.platform === 'messenger') accountId = messengerAccount.id;
      else if (input.platform === 'zalo') accountId = zaloAccount.id;
      else {
        if (webAccountId === undefined) webAccountId = (await services.accounts.upsert({ unitId, platform: 'web', externalId: 'widget-1' })).id;
        accountId = webAccountId;
      }
      const rows = await services.db.query<{ id: string; platform_user_id: string }>(
        `INSERT INTO contacts (account_id, platform_user_id, first_seen_at, last_interaction_at, following, reachable)
         SELECT $1, $2 || lpad(g::text, 7, '0'), $3, $3, $4, $5 FROM generate_series(1, $6::int) g
         RETURNING id, platform_user_id`,
        [accountId, input.prefix, input.lastInteractionAt, input.following ?? null, input.reachable ?? true, input.count],
      );
      await services.db.query(
        `INSERT INTO subscriptions (contact_id, group_id, consented_at) SELECT unnest($1::bigint[]), $2, $3`,
        [rows.map((r) => Number(r.id)), input.groupId ?? groupId, input.lastInteractionAt],
      );
      const ids = rows.map((r) => r.platform_user_id);
      for (const id of ids) {
        if (input.platform === 'messenger') graph.lastInteraction.set(id, input.lastInteractionAt.getTime());
        if (input.platform === 'zalo') zalo.setUser(id, { lastInteractionAt: input.lastInteractionAt.getTime(), following: input.following !== false });
      }
      return ids;
    },
    async addGroup(name) {
      const rows = await services.db.query<{ id: string }>(`INSERT INTO subscriber_groups (unit_id, kind, name) VALUES ($1, 'topic', $2) RETURNING id`, [unitId, name]);
      return Number(rows[0]?.id);
    },
    async announce(input = {}) {
      const a = await services.broadcasts.create(
        unitId,
        AnnouncementInput.parse({ title: 'Lịch tiếp công dân tháng 3', body: 'Chủ tịch UBND xã tiếp công dân sáng thứ Năm hằng tuần tại Bộ phận Một cửa.', groupIds: [groupId], channels: ['messenger', 'zalo', 'web'], ...input }),
        null,
      );
      const submitted = await services.broadcasts.submit(a.id, clock.now());
      if (!submitted) throw new Error('announcement not submitted');
      return submitted;
    },
    async startWorkers(opts = {}) {
      const subscriptions = new SubscriptionRepository(services.db);
      const rates = opts.rates ?? sendRates(config);
      const workers = await startBroadcastWorkers({
        redis,
        prefix: bullPrefix,
        outbound,
        store: services.broadcasts,
        audiencePage: (q) => subscriptions.audiencePage(q),
        platform: platforms.broadcast,
        rates,
        settings: {
          leaseMs: config.BROADCAST_LEASE_SECONDS * 1000,
          tickMs: config.BROADCAST_TICK_SECONDS * 1000,
          lockDurationMs: config.JOB_LOCK_SECONDS * 1000,
          throttleBaseMs: config.BROADCAST_THROTTLE_BASE_MS,
          zaloMonthlyCap: config.ZALO_PROMOTION_MONTHLY_CAP,
        },
        now: () => clock.now(),
        log: () => undefined,
      });
      const outboundWorker = createOutboundWorker({
        redis,
        prefix: bullPrefix,
        handlers: { ...platforms.outboundHandlers, broadcast: workers.step },
        concurrency: opts.concurrency ?? config.OUTBOUND_CONCURRENCY,
        rates,
        lockDurationMs: config.JOB_LOCK_SECONDS * 1000,
      });
      running = { workers, outboundWorker };
      return workers;
    },
    async stopWorkers() {
      if (!running) return;
      await running.outboundWorker.close();
      await running.workers.close();
      running = undefined;
    },
    workers: () => running?.workers,
    async stop() {
      await harness.stopWorkers();
      await outbound.close();
      await services.close();
      const keys = await redis.keys(`${prefix}*`);
      for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
      redis.disconnect();
      await graph.close();
      await zalo.close();
      await db.drop();
    },
  };
  return harness;
}

/** Polls until `fn` returns something truthy. */
export async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 20_000, label = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** counts() as a map "status" or "status:reason" → n. */
export async function countsOf(h: Harness, announcementId: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const c of await h.services.broadcasts.counts(announcementId)) out[c.reason ? `${c.status}:${c.reason}` : c.status] = c.count;
  return out;
}
