// Private Redis and PostgreSQL servers for the fault tests: each test file starts its own on a
// free port under a temporary directory, and stops, kills and restarts it at will. The shared
// services on 5432 / 6379 are never touched (other test files use them at the same time).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A TCP port nobody listens on right now (the kernel's choice). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port (or rejects after `ms`). */
async function waitForPort(port: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on ${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// ---- Redis ---------------------------------------------------------------------------------

export interface RedisInstance {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly running: boolean;
  /** Starts (again) on the same port and directory: with AOF on, the data come back. */
  start(): Promise<void>;
  /** SHUTDOWN as a restart by an operator or an orchestrator does (SIGTERM: AOF flushed). */
  stop(): Promise<void>;
  /** SIGKILL: a crash (with `appendfsync everysec`, up to a second of writes may be lost). */
  kill(): Promise<void>;
  /** Stops it for good and removes its directory. */
  destroy(): Promise<void>;
}

export interface RedisOptions {
  /** Persistence as production runs it (docker-compose.yml: --appendonly yes). Default true. */
  appendonly?: boolean;
  /** `always` loses nothing even on a crash; `everysec` (Redis' default) up to a second. */
  appendfsync?: 'always' | 'everysec';
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisInstance> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'motcua-fault-redis-'));
  const aof = options.appendonly ?? true;
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--appendonly', aof ? 'yes' : 'no',
    '--appendfsync', options.appendfsync ?? 'everysec',
    '--maxmemory-policy', 'noeviction',
    '--daemonize', 'no',
    '--logfile', path.join(dir, 'redis.log'),
  ];
  let child: ChildProcess | undefined;
  const exited = (p: ChildProcess): Promise<void> =>
    p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r()));
  const instance: RedisInstance = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      if (instance.running) return;
      child = spawn('redis-server', args, { stdio: 'ignore' });
      await waitForPort(port, 10_000);
    },
    async stop() {
      const p = child;
      if (!p || !instance.running) return;
      p.kill('SIGTERM');
      await exited(p);
    },
    async kill() {
      const p = child;
      if (!p || !instance.running) return;
      p.kill('SIGKILL');
      await exited(p);
    },
    async destroy() {
      await instance.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await instance.start();
  return instance;
}

// ---- PostgreSQL ----------------------------------------------------------------------------

/** initdb, pg_ctl and postgres: on the PATH, else Debian's /usr/lib/postgresql/<version>/bin. */
export function postgresBinDir(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'))) return dir;
  }
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base) ? fs.readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const dir = path.join(base, v, 'bin');
    if (fs.existsSync(path.join(dir, 'initdb'))) return dir;
  }
  throw new Error('no PostgreSQL server binaries (initdb, pg_ctl) found: install postgresql');
}

export interface PostgresInstance {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust authentication). */
  readonly url: string;
  readonly running: boolean;
  /** A URL of another database of this server. */
  urlOf(database: string): string;
  createDatabase(name: string): Promise<string>;
  start(): Promise<void>;
  /** `pg_ctl stop -m immediate`: every backend killed, crash recovery on the next start. */
  crash(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A throwaway cluster. initdb refuses to run as root: as root every server command runs as the
 * `postgres` user (runuser) in a directory it owns. fsync off: only the processes are crashed
 * here, never the machine, so the WAL in the page cache is enough for crash recovery.
 */
export async function startPostgres(): Promise<PostgresInstance> {
  const bin = postgresBinDir();
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'motcua-fault-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    fs.chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const pgRun = (cmd: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args]) : run(path.join(bin, cmd), args);
  const data = path.join(dir, 'data');
  await pgRun('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-N', '-E', 'UTF8', '--locale=C']);
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=100`;
  let running = false;
  const instance: PostgresInstance = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    get running() {
      return running;
    },
    urlOf: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async createDatabase(name) {
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: instance.url });
      await client.connect();
      await client.query(`CREATE DATABASE ${name}`);
      await client.end();
      return instance.urlOf(name);
    },
    async start() {
      await pgRun('pg_ctl', ['-D', data, '-o', serverOptions, '-l', path.join(dir, 'server.log'), '-w', '-t', '30', 'start']);
      running = true;
    },
    async crash() {
      await pgRun('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      running = false;
    },
    async destroy() {
      if (running) await instance.crash().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await instance.start();
  return instance;
}
