// A private Redis Cluster for the tests that need one: three masters (`redis-server
// --cluster-enabled yes`, no replicas) on free ports under a temporary directory, joined with
// `redis-cli --cluster create`, ready once every node reports cluster_state:ok and the same slot
// map. The shared Redis on 6379 is never touched. stop() kills the nodes and removes the files.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../faults/instances.js';

const run = promisify(execFile);

export interface RedisClusterInstance {
  /** The masters' ports. */
  readonly ports: readonly number[];
  /** One URL per master (REDIS_URL takes any of them, or all, comma-separated). */
  readonly urls: readonly string[];
  /** `redis-cli -p <port> <args…>` on a node: its trimmed output. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** The port of the master that owns the slot of `key`. */
  ownerOf(key: string): Promise<number>;
  stop(): Promise<void>;
}

const exited = (p: ChildProcess): Promise<void> =>
  p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r()));

export async function startRedisCluster(masters = 3): Promise<RedisClusterInstance> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'motcua-redis-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const cli = async (port: number, ...args: string[]): Promise<string> =>
    (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 })).stdout.trim();
  const stop = async (): Promise<void> => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map(exited));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      // The bus port is given explicitly: port + 10000 may not exist for a high free port.
      const port = await freePort();
      const bus = await freePort();
      const nodeDir = path.join(dir, String(port));
      fs.mkdirSync(nodeDir);
      ports.push(port);
      children.push(
        spawn(
          'redis-server',
          [
            '--port', String(port),
            '--cluster-port', String(bus),
            '--bind', '127.0.0.1',
            '--cluster-enabled', 'yes',
            '--cluster-config-file', path.join(nodeDir, 'nodes.conf'),
            '--cluster-node-timeout', '3000',
            '--dir', nodeDir,
            '--save', '',
            '--appendonly', 'no',
            '--maxmemory-policy', 'noeviction',
            '--daemonize', 'no',
            '--logfile', path.join(nodeDir, 'redis.log'),
          ],
          { stdio: 'ignore' },
        ),
      );
    }
    for (const port of ports) await waitUntil(async () => (await cli(port, 'ping').catch(() => '')) === 'PONG', 10_000, `node ${port} answers`);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    // Every node sees the whole cluster and the same slot map (a client may be told MOVED by any).
    await waitUntil(
      async () => {
        const infos = await Promise.all(ports.map((p) => cli(p, 'cluster', 'info').catch(() => '')));
        if (!infos.every((i) => /cluster_state:ok/.test(i) && /cluster_known_nodes:(\d+)/.exec(i)?.[1] === String(masters))) return false;
        const maps = await Promise.all(ports.map((p) => cli(p, 'cluster', 'slots').catch(() => '')));
        return maps.every((m) => m !== '' && m === maps[0]);
      },
      20_000,
      'cluster_state:ok on every node',
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    ports,
    urls: ports.map((p) => `redis://127.0.0.1:${p}`),
    cli,
    async ownerOf(key) {
      const slot = Number(await cli(ports[0] ?? 0, 'cluster', 'keyslot', key));
      // CLUSTER NODES: `<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges…>`.
      const nodes = await cli(ports[0] ?? 0, 'cluster', 'nodes');
      for (const line of nodes.split('\n')) {
        const parts = line.split(' ');
        const port = Number(/:(\d+)@/.exec(parts[1] ?? '')?.[1]);
        for (const range of parts.slice(8)) {
          const [a, b] = range.split('-').map(Number);
          if (a !== undefined && slot >= a && slot <= (b ?? a)) return port;
        }
      }
      throw new Error(`no node owns slot ${slot}`);
    },
    stop,
  };
}

async function waitUntil(check: () => Promise<boolean>, ms: number, label: string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`redis cluster: timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
