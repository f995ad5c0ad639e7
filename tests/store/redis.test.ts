import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { connectRedis, redactRedisUrl, RedisUnavailableError, type RedisHandle } from '../../src/store/redis.js';
import { TEST_REDIS_URL } from '../helpers/services.js';

const handles: RedisHandle[] = [];
afterAll(async () => {
  for (const h of handles) await h.close();
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

describe('connectRedis', () => {
  it('connects to the running Redis', async () => {
    const h = await connectRedis({ url: TEST_REDIS_URL, autostart: false, dataDir: os.tmpdir() });
    handles.push(h);
    expect(await h.client.ping()).toBe('PONG');
    expect(h.child).toBeUndefined();
  });

  it('says how to start Redis when none answers and autostart is off', async () => {
    const port = await freePort();
    const err = await connectRedis({ url: `redis://127.0.0.1:${port}`, autostart: false, dataDir: os.tmpdir() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect(String(err)).toMatch(/redis-server/);
  });

  it('never shows the password a REDIS_URL holds', async () => {
    const port = await freePort();
    const err = await connectRedis({ url: `redis://app:s3cr3t-Pa55@127.0.0.1:${port}/0`, autostart: false, dataDir: os.tmpdir() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect(String(err)).not.toContain('s3cr3t-Pa55');
    expect(String(err)).toContain(`redis://***:***@127.0.0.1:${port}/0`);
    expect(redactRedisUrl(`rediss://:pw1@a:1,rediss://:pw2@b:2`)).toBe('rediss://:***@a:1,rediss://:***@b:2');
  });

  it('starts a child redis-server under DATA_DIR when one is on the PATH', async () => {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'motcua-redis-'));
    const h = await connectRedis({ url: `redis://127.0.0.1:${port}`, autostart: true, dataDir: dir });
    handles.push(h);
    expect(h.child).toBeDefined();
    expect(await h.client.ping()).toBe('PONG');
    expect(fs.existsSync(path.join(dir, 'redis'))).toBe(true);
  });
});
