// The service as the fault tests run it: the real `serve` role (optionally without its workers,
// which then run as child processes killed at will) against a PostgreSQL database and a Redis
// the test chooses, with the fake Graph and Zalo servers behind the same settings a deployment
// uses; optionally the Graph API is reached through a proxy that can make it slow.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { start, type Running } from '../../src/main.js';
import { createLogger } from '../../src/logger.js';
import { startFakeGraphServer, type FakeGraphServer } from '../fakes/graph-server.js';
import { startZaloFake, type ZaloFake } from '../fakes/zalo-server.js';
import { isolatedName } from '../helpers/services.js';
import type { CitizenEvent, PlatformSecrets } from './traffic.js';
import { startSlowProxy, type SlowProxy } from './slow-proxy.js';

export const IDS = {
  fbAppSecret: 'fb-app-secret-for-faults',
  fbPageId: '106000000000901',
  fbToken: 'EAAG-faults-page-token-1',
  zaloAppId: '360846524940900901',
  zaloAppSecret: 'zalo-app-secret-for-faults',
  zaloOaSecret: 'zalo-oa-secret-key-for-faults',
  zaloOaId: '388613280900000901',
} as const;

export const SECRETS: PlatformSecrets = { fbAppSecret: IDS.fbAppSecret, zaloAppId: IDS.zaloAppId, zaloOaSecret: IDS.zaloOaSecret };

/** Creates a database of its own on a server reached with trust authentication. */
export async function createDatabase(serverUrl: string, label: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = isolatedName(label).toLowerCase();
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface FaultService {
  graph: FakeGraphServer;
  zalo: ZaloFake;
  /** The delaying proxy the Graph API is reached through, when asked for. */
  graphProxy?: SlowProxy;
  web: Running;
  url: string;
  /** The settings of this deployment (for worker children). */
  env: Record<string, string>;
  prefix: string;
  /** Internal account ids. */
  accounts: { page: number; oa: number };
  /** Makes a citizen known to the platform (inside its messaging window) and returns the event. */
  citizen(platform: 'messenger' | 'zalo', userId: string, messageId: string, text: string): CitizenEvent;
  stop(): Promise<void>;
}

export async function startFaultService(options: {
  databaseUrl: string;
  redisUrl: string;
  runWorkers: boolean;
  /** Reach the fake Graph API through a proxy that can make it slow. */
  graphProxy?: boolean;
  env?: Record<string, string>;
}): Promise<FaultService> {
  const graph = await startFakeGraphServer({ tokens: { [IDS.fbToken]: IDS.fbPageId } });
  const graphProxy = options.graphProxy ? await startSlowProxy(graph.url) : undefined;
  const zalo = await startZaloFake({ appId: IDS.zaloAppId, appSecret: IDS.zaloAppSecret });
  const grant = zalo.grant(IDS.zaloOaId, { accessExpiresAt: zalo.now() + 20 * 3600_000 });
  const prefix = isolatedName('fault');
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    REDIS_AUTOSTART: 'false',
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    RUN_WORKERS: options.runWorkers ? 'true' : 'false',
    FB_APP_ID: '999000901',
    FB_APP_SECRET: IDS.fbAppSecret,
    FB_VERIFY_TOKEN: 'verify-token-for-faults',
    FB_PAGE_ID: IDS.fbPageId,
    FB_PAGE_ACCESS_TOKEN: IDS.fbToken,
    FB_GRAPH_URL: graphProxy?.url ?? graph.url,
    ZALO_APP_ID: IDS.zaloAppId,
    ZALO_APP_SECRET: IDS.zaloAppSecret,
    ZALO_OA_SECRET_KEY: IDS.zaloOaSecret,
    ZALO_OA_ID: IDS.zaloOaId,
    ZALO_ACCESS_TOKEN: grant.accessToken,
    ZALO_REFRESH_TOKEN: grant.refreshToken,
    ZALO_OPENAPI_URL: zalo.url,
    ZALO_OAUTH_URL: zalo.url,
    MESSENGER_SEND_RATE: '2000',
    MESSENGER_SEND_BURST: '200',
    ZALO_SEND_RATE: '2000',
    ZALO_SEND_BURST: '200',
    JOB_LOCK_SECONDS: '2',
    ...options.env,
  };
  const web = await start('serve', env, { logger: createLogger('silent') });
  const { accounts } = web.services;
  const oa = await accounts.find('zalo', IDS.zaloOaId);
  const page = await accounts.find('messenger', IDS.fbPageId);
  if (!oa || !page) throw new Error('the accounts of the settings were not seeded');
  // The seeded Zalo token is taken as "expiring soon": store its real expiry, so that no send
  // spends the single-use refresh token (a refresh is not what these tests are about).
  await accounts.setSecrets(oa.id, { ...oa.secrets, accessExpiresAt: new Date(grant.accessExpiresAt).toISOString() });
  const addr = web.server?.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    graph,
    zalo,
    ...(graphProxy ? { graphProxy } : {}),
    web,
    url: `http://127.0.0.1:${port}`,
    env,
    prefix,
    accounts: { page: page.id, oa: oa.id },
    citizen(platform, userId, messageId, text) {
      if (platform === 'messenger') graph.lastInteraction.set(userId, Date.now());
      else zalo.setUser(userId, { lastInteractionAt: zalo.now(), following: true });
      const accountId = platform === 'zalo' ? IDS.zaloOaId : IDS.fbPageId;
      return { platform, accountId, userId, messageId, text, timestamp: Date.now() };
    },
    async stop() {
      await web.stop();
      await graphProxy?.close();
      await graph.close();
      // The keys of this deployment (its prefix) go with it: the shared Redis stays clean.
      const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await redis.connect();
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length) await redis.unlink(...keys);
        } while (cursor !== '0');
      } catch {
        // a private Redis already gone
      } finally {
        redis.disconnect();
      }
      await zalo.close();
    },
  };
}

// ---- worker children -------------------------------------------------------------------------

/** The worker role as its own process (the child of the broadcast crash test: start('worker')). */
const CHILD = path.resolve(import.meta.dirname, '../e2e/broadcast-worker-child.ts');

export async function startWorkerChild(env: Record<string, string>): Promise<ChildProcess> {
  const p = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start: ${err}`)), 60_000);
    p.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    p.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}) before it was ready: ${err}`));
    });
  });
  return p;
}

export async function killChild(p: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill(signal);
  await exited;
}
