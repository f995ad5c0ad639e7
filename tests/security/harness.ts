// Shared by the hostile-input tests (issue #8): the real `serve` role started in this process
// (a PostgreSQL database of its own on the test server — quicker to start than the embedded
// PGlite —, the real Redis under a prefix of its own, optionally the local fakes of the
// Graph API and the Zalo OpenAPI), with a logger whose records the tests read — an error logged
// by the engine, a worker or the error handler is a finding — and the routes read from the
// running router, so that a page or API route added later is attacked too without editing a list.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import pg from 'pg';
import { start, type Running } from '../../src/main.js';
import { createLogger } from '../../src/logger.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, isolatedName } from '../helpers/services.js';
import { startFakeGraphServer, type FakeGraphServer } from '../fakes/graph-server.js';
import { startZaloFake, type ZaloFake } from '../fakes/zalo-server.js';

export interface LogRecord {
  level: number;
  msg?: string;
  [key: string]: unknown;
}

export interface SecurityServer {
  running: Running;
  url: string;
  /** Every record logged at warn or above since the start. */
  logs: LogRecord[];
  graph?: FakeGraphServer;
  zalo?: ZaloFake;
  stop(): Promise<void>;
}

/** The platform settings of the one Page and one OA wired to the fakes. */
export const PLATFORM = {
  fbAppSecret: 'fb-app-secret-for-security-tests',
  fbPageId: '106000000000777',
  fbToken: 'EAAG-security-page-token',
  fbVerifyToken: 'verify-token-for-security-tests',
  zaloAppId: '360846524940903967',
  zaloAppSecret: 'zalo-app-secret-for-security-tests',
  zaloOaSecret: 'zalo-oa-secret-key-for-security-tests',
  zaloOaId: '388613280900000777',
} as const;

const PINO_ERROR = 50;

export async function startSecurityServer(options: { platforms?: boolean; env?: Record<string, string> } = {}): Promise<SecurityServer> {
  const logs: LogRecord[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          const rec: unknown = JSON.parse(line);
          if (rec && typeof rec === 'object' && 'level' in rec && typeof rec.level === 'number') logs.push(rec as LogRecord);
        } catch {
          logs.push({ level: PINO_ERROR, msg: `unparsable log line: ${line.slice(0, 200)}` });
        }
      }
      done();
    },
  });
  let graph: FakeGraphServer | undefined;
  let zalo: ZaloFake | undefined;
  const env: Record<string, string> = {};
  if (options.platforms) {
    graph = await startFakeGraphServer({ tokens: { [PLATFORM.fbToken]: PLATFORM.fbPageId } });
    zalo = await startZaloFake({ appId: PLATFORM.zaloAppId, appSecret: PLATFORM.zaloAppSecret });
    const grant = zalo.grant(PLATFORM.zaloOaId);
    Object.assign(env, {
      FB_APP_ID: '999000111',
      FB_APP_SECRET: PLATFORM.fbAppSecret,
      FB_VERIFY_TOKEN: PLATFORM.fbVerifyToken,
      FB_PAGE_ID: PLATFORM.fbPageId,
      FB_PAGE_ACCESS_TOKEN: PLATFORM.fbToken,
      FB_GRAPH_URL: graph.url,
      ZALO_APP_ID: PLATFORM.zaloAppId,
      ZALO_APP_SECRET: PLATFORM.zaloAppSecret,
      ZALO_OA_SECRET_KEY: PLATFORM.zaloOaSecret,
      ZALO_OA_ID: PLATFORM.zaloOaId,
      ZALO_ACCESS_TOKEN: grant.accessToken,
      ZALO_REFRESH_TOKEN: grant.refreshToken,
      ZALO_OPENAPI_URL: zalo.url,
      ZALO_OAUTH_URL: zalo.url,
    });
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'motcua-sec-'));
  const prefix = isolatedName('sec');
  const database = prefix;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${database}`;
  let running: Running;
  try {
    running = await start(
      'serve',
      {
        HOST: '127.0.0.1',
        PORT: '0',
        DATA_DIR: dataDir,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_AUTOSTART: 'false',
        REDIS_KEY_PREFIX: prefix,
        DATABASE_URL: url.toString(),
        ...env,
        ...options.env,
      },
      { logger: createLogger('warn', sink) },
    );
  } catch (err) {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    throw err;
  }
  const addr = running.server?.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    running,
    url: `http://127.0.0.1:${port}`,
    logs,
    ...(graph ? { graph } : {}),
    ...(zalo ? { zalo } : {}),
    stop: async () => {
      await running.stop();
      await graph?.close();
      await zalo?.close();
      const redis = new Redis(TEST_REDIS_URL);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Error-level records (the engine's swallowed errors, failed events, 500s), for assertions. */
export function errorLogs(srv: SecurityServer): LogRecord[] {
  return srv.logs.filter((r) => r.level >= PINO_ERROR);
}

// --- routes of the running app --------------------------------------------------------------------

export interface RouteInfo {
  method: string;
  /** The express path, with its :params. */
  path: string;
}

interface Layer {
  route?: { path: unknown; methods: Record<string, boolean> };
  rawPath?: unknown;
  handle?: { stack?: Layer[]; router?: { stack?: Layer[] } };
}

function isLayerList(v: unknown): v is Layer[] {
  return Array.isArray(v);
}

function collect(stack: Layer[], prefix: string, out: RouteInfo[]): void {
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const p of paths) {
        if (typeof p !== 'string') continue;
        for (const method of Object.keys(layer.route.methods)) if (method !== '_all') out.push({ method, path: `${prefix}${p}` });
      }
    } else if (layer.handle && (isLayerList(layer.handle.stack) || isLayerList(layer.handle.router?.stack))) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      collect(layer.handle.stack ?? layer.handle.router?.stack ?? [], `${prefix}${mount}`, out);
      if (mount) out.push({ method: 'get', path: mount });
    }
  }
}

/** Every route of the running app (method in lower case), deduplicated, in mounting order. */
export function appRoutes(running: Running): RouteInfo[] {
  const app = running.server?.listeners('request')[0];
  const router: unknown = app && typeof app === 'function' && 'router' in app ? app.router : undefined;
  const stack = router && (typeof router === 'object' || typeof router === 'function') && 'stack' in router ? router.stack : undefined;
  if (!isLayerList(stack)) throw new Error('the running app has no router stack');
  const routes: RouteInfo[] = [];
  collect(stack, '', routes);
  const seen = new Set<string>();
  return routes.filter((r) => {
    const k = `${r.method} ${r.path}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The names of a route's parameters: '/admin/units/:unitId/groups/:id' → ['unitId', 'id']. */
export function routeParams(routePath: string): string[] {
  return [...routePath.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1] ?? '');
}

/** The route with its parameters filled in (URL-encoded). */
export function fillRoute(routePath: string, values: Record<string, string>): string {
  return routePath.replace(/:([A-Za-z_]+)/g, (_m, name: string) => encodeURIComponent(values[name] ?? 'x'));
}

/** Polls until `fn` returns a truthy value. */
export async function waitFor<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}
