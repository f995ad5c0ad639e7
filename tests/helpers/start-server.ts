// Starts the real `serve` role for end-to-end tests: embedded PGlite in a temporary DATA_DIR,
// the real Redis under a key prefix of its own, an ephemeral port.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { start, type Running } from '../../src/main.js';
import { createLogger } from '../../src/logger.js';
import { TEST_REDIS_URL, isolatedName } from './services.js';

export interface TestServer {
  running: Running;
  url: string;
  stop(): Promise<void>;
}

export async function startTestServer(extraEnv: Record<string, string> = {}, options: { fetch?: typeof fetch } = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'motcua-e2e-'));
  const prefix = isolatedName('e2e');
  const running = await start(
    'serve',
    {
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_AUTOSTART: 'false',
      REDIS_KEY_PREFIX: prefix,
      ...extraEnv,
    },
    { logger: createLogger('silent'), ...options },
  );
  const addr = running.server?.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    running,
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await running.stop();
      const redis = new Redis(TEST_REDIS_URL);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
