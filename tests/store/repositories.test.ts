import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Redis } from 'ioredis';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { QueryLogRepository, maskDigits } from '../../src/store/query-log-repository.js';
import { HandoffRepository } from '../../src/store/handoff-repository.js';
import { RedisConversationStateStore } from '../../src/store/conversation-state-store.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const schema = isolatedName('repo');
const unit = {
  id: 'xa-a',
  name: 'UBND xã A',
  province: null,
  address: null,
  phone: null,
  email: null,
  hours: null,
  portalUrl: null,
  website: null,
  procedureCodes: null,
};

afterAll(async () => {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

describe('maskDigits', () => {
  it('masks every run of digits', () => {
    expect(maskDigits('sđt 0912 345 678, cccd 001200012345')).toBe('sđt # # #, cccd #');
    expect(maskDigits('không có số')).toBe('không có số');
  });
});

describe.each([
  ['pglite', () => openDatabase({ dataDir: 'memory://' })],
  ['postgres', () => openDatabase({ url: TEST_DATABASE_URL, schema })],
] as const)('repositories on %s', (_name, open) => {
  let db: Database;
  beforeAll(async () => {
    db = await open();
    await migrate(db);
    await new UnitRepository(db).upsert([unit]);
  });
  afterAll(() => db.close());

  it('logs questions with digits masked and lists them by outcome', async () => {
    const log = new QueryLogRepository(db);
    await log.record({ unitId: 'xa-a', channel: 'web', text: 'gọi 0912345678 giúp em', outcome: 'none', confidence: 0.1, topCode: null, at: new Date() });
    await log.record({ unitId: 'xa-a', channel: 'web', text: 'đăng ký khai sinh', outcome: 'answered', confidence: 0.9, topCode: '1.001193', at: new Date() });
    const none = await log.recent('xa-a', { outcome: 'none' });
    expect(none).toHaveLength(1);
    expect(none[0]?.text).toBe('gọi # giúp em');
    expect(await log.recent('xa-a')).toHaveLength(2);
  });

  it('purges questions past retention', async () => {
    const log = new QueryLogRepository(db);
    await log.record({ unitId: 'xa-a', channel: 'web', text: 'cũ', outcome: 'none', confidence: 0, topCode: null, at: new Date(Date.now() - 400 * 86400_000) });
    expect(await log.purgeOlderThan(365)).toBe(1);
    expect((await log.recent('xa-a')).some((q) => q.text === 'cũ')).toBe(false);
  });

  it('keeps one open hand-off per citizen, masked', async () => {
    const h = new HandoffRepository(db);
    await h.request({ unitId: 'xa-a', channel: 'web', userId: 'sess-1', text: 'số 123', at: new Date() });
    await h.request({ unitId: 'xa-a', channel: 'web', userId: 'sess-1', text: 'lần hai 456', at: new Date() });
    await h.request({ unitId: 'xa-a', channel: 'web', userId: 'sess-2', text: 'khác', at: new Date() });
    const open = await h.open('xa-a');
    expect(open.map((o) => [o.userRef, o.text])).toEqual([
      ['sess-1', 'lần hai #'],
      ['sess-2', 'khác'],
    ]);
  });
});

describe('RedisConversationStateStore', () => {
  const redis = new Redis(TEST_REDIS_URL);
  const prefix = isolatedName('conv');
  const store = new RedisConversationStateStore(redis, prefix, 'k'.repeat(32));
  const key = { unitId: 'xa-a', channel: 'zalo' as const, userId: '8400123456789' };
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('stores, reads, expires and clears a state', async () => {
    expect(await store.get(key)).toBeNull();
    await store.set(key, { mode: 'choosing', codes: ['1.001193', '1.000656'] }, 60);
    expect(await store.get(key)).toEqual({ mode: 'choosing', codes: ['1.001193', '1.000656'] });
    const keys = await redis.keys(`${prefix}:*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain(key.userId); // pseudonymised
    expect(await redis.ttl(keys[0] ?? '')).toBeGreaterThan(50);
    await store.clear(key);
    expect(await store.get(key)).toBeNull();
  });

  it('treats an unreadable stored state as none', async () => {
    await store.set(key, { mode: 'idle' }, 60);
    const [k] = await redis.keys(`${prefix}:*`);
    await redis.set(k ?? '', '{"mode":"flying"}');
    expect(await store.get(key)).toBeNull();
  });
});
