// A test bed for the dossier notifier on the real services: a fresh PostgreSQL database (all
// migrations), Redis under a prefix of its own, the fake Graph and Zalo servers, the default
// unit's Page, OA and website widget, the outbound worker with the notices' send handler, and
// helpers to seed citizens, dossiers, links and status changes.
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
import { createDossierNotices, withNoticeSends, type DossierNotices } from '../../src/jobs/dossier-notify-queue.js';
import type { DossierNotifier } from '../../src/dossiers/notifier.js';
import type { Dossier } from '../../src/dossiers/index.js';
import type { DossierStatus } from '../../src/dossiers/status.js';

export const FB_PAGE_ID = '106000000000907';
export const FB_TOKEN = 'EAAG-notifier-page-token';
export const ZALO_APP_ID = '360846524940900907';
export const ZALO_APP_SECRET = 'zalo-app-secret-for-notices';
export const ZALO_OA_ID = '388613280900000907';
const DAY = 24 * 3600_000;

export interface NotifierEnv {
  config: Config;
  services: Services;
  platforms: Platforms;
  graph: FakeGraphServer;
  zalo: ZaloFake;
  redis: Redis;
  outbound: OutboundQueue;
  notices: DossierNotices;
  unitId: string;
  accounts: { messenger: number; zalo: number; web: number };
  /** The notifier the outbound worker hands notice jobs to (tests may swap it). */
  use(notifier: Pick<DossierNotifier, 'send'>): void;
  /** Another notifier over the same database and queues (a second process, a restart). */
  newNotices(options?: { gapGraceSeconds?: number }): DossierNotices;
  contact(platform: 'messenger' | 'zalo' | 'web', userId: string, lastInteractionAt: Date, following?: boolean): Promise<number>;
  dossier(code: string, fields?: { procedureCode?: string | null; procedureName?: string | null; pickupPlace?: string | null }): Promise<Dossier>;
  /** A source time a little later than the last write's. */
  nextAt(): Date;
  /** Status changes, each a little later than the last write. */
  status(dossier: Dossier, ...statuses: DossierStatus[]): Promise<void>;
  notice(dossierId: number, contactId: number, kind: 'result_ready' | 'evaluation'): Promise<{ id: number; status: string; reason: string | null } | undefined>;
  stop(): Promise<void>;
}

export async function startNotifierEnv(label: string): Promise<NotifierEnv> {
  const dbName = isolatedName(label).toLowerCase();
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const dbUrl = new URL(TEST_DATABASE_URL);
  dbUrl.pathname = `/${dbName}`;

  const graph = await startFakeGraphServer({ tokens: { [FB_TOKEN]: FB_PAGE_ID } });
  const zalo = await startZaloFake({ appId: ZALO_APP_ID, appSecret: ZALO_APP_SECRET });
  const grant = zalo.grant(ZALO_OA_ID);
  const prefix = isolatedName(label);
  const config = loadConfig({
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL: TEST_REDIS_URL,
    REDIS_AUTOSTART: 'false',
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    FB_APP_ID: '999000907',
    FB_APP_SECRET: 'fb-app-secret-notices',
    FB_VERIFY_TOKEN: 'verify-token-notices',
    FB_PAGE_ID,
    FB_PAGE_ACCESS_TOKEN: FB_TOKEN,
    FB_GRAPH_URL: graph.url,
    ZALO_APP_ID,
    ZALO_APP_SECRET,
    ZALO_OA_SECRET_KEY: 'zalo-oa-secret-notices',
    ZALO_OA_ID,
    ZALO_ACCESS_TOKEN: grant.accessToken,
    ZALO_REFRESH_TOKEN: grant.refreshToken,
    ZALO_OPENAPI_URL: zalo.url,
    ZALO_OAUTH_URL: zalo.url,
    BROADCAST_LEASE_SECONDS: '1',
    JOB_LOCK_SECONDS: '2',
    DOSSIER_NOTIFY_TICK_SECONDS: '1',
  });
  const logger = createLogger('silent');
  const services = await buildServices(config, logger);
  const zaloAccount = await services.accounts.find('zalo', ZALO_OA_ID);
  const messengerAccount = await services.accounts.find('messenger', FB_PAGE_ID);
  if (!zaloAccount || !messengerAccount) throw new Error('accounts were not seeded');
  // The settings seed tokens as "expiring soon": store the real expiry (no refresh on first use).
  await services.accounts.setSecrets(zaloAccount.id, { ...zaloAccount.secrets, accessExpiresAt: new Date(grant.accessExpiresAt).toISOString() });
  const unitId = services.defaultUnitId;
  const web = await services.accounts.upsert({ unitId, platform: 'web', externalId: 'widget-notices' });
  const platforms = createPlatforms(services, config, logger);
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const bullPrefix = `${prefix}:bull`;
  const outbound = new OutboundQueue(redis, bullPrefix);
  const newNotices = (options: { gapGraceSeconds?: number } = {}): DossierNotices =>
    createDossierNotices({ services, platforms, outbound, config, options: { idleMs: 300, ...options } });
  const notices = newNotices();
  let current: Pick<DossierNotifier, 'send'> = notices.notifier;
  const outboundWorker: Worker = createOutboundWorker({
    redis,
    prefix: bullPrefix,
    handlers: { ...platforms.outboundHandlers, send: withNoticeSends(platforms.outboundHandlers.send, { send: (id) => current.send(id) }) },
    concurrency: 4,
    rates: sendRates({ ...config, MESSENGER_SEND_RATE: 1000, ZALO_SEND_RATE: 1000 }),
    lockDurationMs: config.JOB_LOCK_SECONDS * 1000,
  });

  let sourceAt = Date.now() - 30 * DAY;
  const nextAt = (): Date => new Date((sourceAt += 60_000));

  return {
    config,
    services,
    platforms,
    graph,
    zalo,
    redis,
    outbound,
    notices,
    unitId,
    accounts: { messenger: messengerAccount.id, zalo: zaloAccount.id, web: web.id },
    use(notifier) {
      current = notifier;
    },
    nextAt,
    newNotices,
    async contact(platform, userId, lastInteractionAt, following) {
      const accountId = platform === 'messenger' ? messengerAccount.id : platform === 'zalo' ? zaloAccount.id : web.id;
      const c = await services.contacts.touch(accountId, userId, lastInteractionAt, following);
      if (platform === 'messenger') graph.lastInteraction.set(userId, lastInteractionAt.getTime());
      if (platform === 'zalo') zalo.setUser(userId, { lastInteractionAt: lastInteractionAt.getTime(), following: following !== false });
      return c.id;
    },
    async dossier(code, fields = {}) {
      const r = await services.dossiers.upsert(
        {
          unitId,
          code,
          procedureCode: fields.procedureCode === undefined ? '1.001193' : fields.procedureCode,
          procedureName: fields.procedureName === undefined ? 'Đăng ký khai sinh' : fields.procedureName,
          receivedAt: new Date(sourceAt - DAY),
          status: 'processing',
          ...(fields.pickupPlace !== undefined ? { pickupPlace: fields.pickupPlace } : {}),
        },
        { source: 'admin', actor: null, at: nextAt() },
      );
      return r.dossier;
    },
    async status(dossier, ...statuses) {
      for (const status of statuses) {
        const r = await services.dossiers.changeStatus(unitId, dossier.id, { status }, { source: 'admin', actor: null, at: nextAt() });
        if (r?.outcome !== 'updated') throw new Error(`status change to ${status} not applied`);
      }
    },
    async notice(dossierId, contactId, kind) {
      const rows = await services.db.query<{ id: string; status: string; reason: string | null }>(
        'SELECT id, status, reason FROM dossier_notices WHERE dossier_id = $1 AND contact_id = $2 AND kind = $3',
        [dossierId, contactId, kind],
      );
      const r = rows[0];
      return r ? { id: Number(r.id), status: r.status, reason: r.reason } : undefined;
    },
    async stop() {
      await outboundWorker.close();
      await outbound.close();
      await services.close();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      await graph.close();
      await zalo.close();
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Polls until `fn` returns something truthy. */
export async function waitFor<T>(fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, label = 'condition', ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
