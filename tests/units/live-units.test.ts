// Units and their officers' phrasings are held in memory by every process; a change made in one
// process reaches the others through Redis, without a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { AliasRepository } from '../../src/store/alias-repository.js';
import { LiveUnits } from '../../src/units/live-units.js';
import { buildSearchIndex } from '../../src/search/index.js';
import { smallCatalogue } from '../search/make-procedure.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';

const unit = (id: string, name = `UBND ${id}`) => ({ id, name, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });
const searcher = buildSearchIndex(smallCatalogue());
const channel = isolatedName('units-changed');
let db: Database;
let redis: Redis;
let web: LiveUnits;
let worker: LiveUnits;

async function eventually(check: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  await migrate(db);
  await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b')]);
  redis = new Redis(TEST_REDIS_URL);
  const make = () => new LiveUnits({ units: new UnitRepository(db), aliases: new AliasRepository(db), searcher, redis, channel });
  web = make();
  worker = make();
  await Promise.all([web.load(), worker.load()]);
  await Promise.all([web.subscribe(), worker.subscribe()]);
});

afterAll(async () => {
  await web.close();
  await worker.close();
  redis.disconnect();
  await db.close();
});

describe('LiveUnits', () => {
  it('serves the units from memory', async () => {
    expect((await worker.get('xa-a'))?.name).toBe('UBND xa-a');
    expect(await worker.get('xa-khong-co')).toBeNull();
    expect(worker.has('xa-b')).toBe(true);
  });

  it('carries an alias attached in one process to another at once', async () => {
    const question = 'xin giấy cho bà cụ vào viện dưỡng lão';
    expect(worker.search(searcher, 'xa-a', question).results[0]?.code).not.toBe('1.000656');
    await new AliasRepository(db).attach({ unitId: 'xa-a', code: '1.000656', text: question, key: 'k1', createdBy: null });
    await web.changed('xa-a');
    expect(web.search(searcher, 'xa-a', question).results[0]?.code).toBe('1.000656');
    await eventually(() => worker.search(searcher, 'xa-a', 'xin giay cho ba cu vao vien duong lao').results[0]?.code === '1.000656');
    expect(worker.search(searcher, 'xa-b', question).results[0]?.code).not.toBe('1.000656');
  });

  it('carries a new unit and an edited one', async () => {
    await new UnitRepository(db).upsert([unit('xa-moi', 'UBND xã Mới')]);
    await web.changed('xa-moi');
    await eventually(() => worker.has('xa-moi'));
    await new UnitRepository(db).upsert([{ ...unit('xa-b', 'UBND xã B đổi tên'), procedureCodes: ['1.001193'] }]);
    await web.changed('xa-b');
    await eventually(async () => (await worker.get('xa-b'))?.name === 'UBND xã B đổi tên');
    expect(worker.codes('xa-b')?.has('1.001193')).toBe(true);
    expect(worker.search(searcher, 'xa-b', 'đăng ký kết hôn').results.every((r) => r.code === '1.001193')).toBe(true);
  });
});
