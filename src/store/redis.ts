// Redis connection: from REDIS_URL; when nothing answers, a clear error saying how to start one,
// or (for a local URL, REDIS_AUTOSTART, and a redis-server binary on the PATH) a child
// redis-server with its files under DATA_DIR.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';

export interface RedisHandle {
  client: Redis;
  /** The child redis-server we started, if any. */
  child?: ChildProcess;
  close(): Promise<void>;
}

export class RedisUnavailableError extends Error {
  constructor(url: string, cause?: unknown) {
    super(
      `Không kết nối được Redis tại ${url} / cannot reach Redis at ${url}.\n` +
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

export async function connectRedis(options: { url: string; autostart: boolean; dataDir: string }): Promise<RedisHandle> {
  const attach = (client: Redis, child?: ChildProcess): RedisHandle => {
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
