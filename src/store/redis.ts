// Redis connection: from REDIS_URL; when nothing answers, a clear error saying how to start one,
// or (for a local URL, REDIS_AUTOSTART, and a redis-server binary on the PATH) a child
// redis-server with its files under DATA_DIR. With REDIS_CLUSTER, an ioredis Cluster seeded from
// REDIS_URL's node(s) instead (never auto-started): every key then carries the prefix's hash tag
// (config.ts), so each BullMQ or Lua script of ours touches one slot.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A connection to a single Redis or to a Redis Cluster: what every store and queue takes. */
export type RedisClient = Redis | Cluster;

/**
 * A new connection to the same Redis (or cluster) with the same credentials; BullMQ workers need
 * their own, with no per-request retry limit (`blocking`). Cluster.duplicate takes the node
 * options under `redisOptions`, Redis.duplicate at the top level.
 */
export function duplicateClient(client: RedisClient, options: { blocking?: boolean } = {}): RedisClient {
  const override: Partial<RedisOptions> = options.blocking ? { maxRetriesPerRequest: null } : {};
  if (client instanceof Cluster) {
    return client.duplicate(undefined, { redisOptions: { ...client.options.redisOptions, ...override } });
  }
  return client.duplicate(override);
}

/** The cluster's seed nodes and the node options (credentials, TLS) every node shares. */
export function clusterSettings(urls: string): { nodes: Array<{ host: string; port: number }>; redisOptions: RedisOptions } {
  const parsed = urls
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean)
    .map((u) => new URL(u));
  const first = parsed[0];
  if (!first) throw new Error('REDIS_URL names no cluster node');
  const redisOptions: RedisOptions = {
    ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
    ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
    ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  const host = (u: URL): string => u.hostname.replace(/^\[(.*)\]$/, '$1');
  return { nodes: parsed.map((u) => ({ host: host(u), port: Number(u.port || 6379) })), redisOptions };
}

export interface RedisHandle {
  client: RedisClient;
  /** The child redis-server we started, if any. */
  child?: ChildProcess;
  close(): Promise<void>;
}

/** The URL(s) as they may be shown: any password (or user) replaced by `***`. */
export function redactRedisUrl(urls: string): string {
  return urls
    .split(',')
    .map((raw) => {
      try {
        const u = new URL(raw.trim());
        if (u.password) u.password = '***';
        if (u.username && u.username !== 'default') u.username = '***';
        return u.toString();
      } catch {
        return '(invalid URL)';
      }
    })
    .join(',');
}

export class RedisUnavailableError extends Error {
  constructor(rawUrl: string, cause?: unknown, cluster = false) {
    // The message reaches the console and logs: never the password a REDIS_URL may hold.
    const url = redactRedisUrl(rawUrl);
    super(
      cluster
        ? `Không kết nối được Redis Cluster tại ${url} / cannot reach the Redis Cluster at ${url}.\n` +
            `Check that the nodes answer and report cluster_state:ok (redis-cli -c -h <host> -p <port> cluster info), or set REDIS_URL.`
        : `Không kết nối được Redis tại ${url} / cannot reach Redis at ${url}.\n` +
            `Start one, e.g.:\n` +
            `  redis-server --daemonize yes --port 6379 --save "" --appendonly no\n` +
            `or install it (Debian/Ubuntu: apt-get install redis-server), or set REDIS_URL.`,
      { cause },
    );
    this.name = 'RedisUnavailableError';
  }
}

async function tryConnect(url: string, attempts: number): Promise<Redis | undefined> {
  for (let i = 0; i < attempts; i++) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      return new Redis(url, { maxRetriesPerRequest: null });
    } catch {
      client.disconnect();
      if (i + 1 < attempts) await new Promise((r) => setTimeout(r, 200));
    }
  }
  return undefined;
}

function onPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, binary);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

async function tryConnectCluster(urls: string, attempts: number): Promise<Cluster | undefined> {
  const { nodes, redisOptions } = clusterSettings(urls);
  const options: ClusterOptions = { redisOptions: { ...redisOptions, maxRetriesPerRequest: null } };
  for (let i = 0; i < attempts; i++) {
    const probe = new Cluster(nodes, {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: () => null,
      redisOptions: { ...redisOptions, maxRetriesPerRequest: 1 },
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return new Cluster(nodes, options);
    } catch {
      probe.disconnect();
      if (i + 1 < attempts) await new Promise((r) => setTimeout(r, 200));
    }
  }
  return undefined;
}

export async function connectRedis(options: { url: string; autostart: boolean; dataDir: string; cluster?: boolean }): Promise<RedisHandle> {
  const attach = (client: RedisClient, child?: ChildProcess): RedisHandle => {
    client.on('error', () => undefined); // readiness reports outages; ioredis reconnects
    return {
      client,
      child,
      close: async () => {
        client.disconnect();
        if (child && child.exitCode === null) child.kill('SIGTERM');
      },
    };
  };
  if (options.cluster) {
    // A cluster is never started here: it needs several nodes joined by an operator.
    const cluster = await tryConnectCluster(options.url, 2);
    if (!cluster) throw new RedisUnavailableError(options.url, undefined, true);
    return attach(cluster);
  }
  const first = await tryConnect(options.url, 2);
  if (first) return attach(first);

  const url = new URL(options.url);
  const local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(url.hostname);
  const binary = onPath('redis-server');
  if (!options.autostart || !local || !binary) throw new RedisUnavailableError(options.url);

  const dir = path.join(options.dataDir, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  const port = url.port || '6379';
  const child = spawn(binary, ['--port', port, '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const started = await tryConnect(options.url, 25);
  if (!started) {
    child.kill('SIGTERM');
    throw new RedisUnavailableError(options.url);
  }
  return attach(started, child);
}
