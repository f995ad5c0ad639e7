import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { AccountRepository } from '../../src/store/account-repository.js';
import { ContactRepository } from '../../src/store/contact-repository.js';
import { SecretBox, SecretBoxError } from '../../src/store/secret-box.js';
import { TEST_DATABASE_URL, isolatedName } from '../helpers/services.js';

const schema = isolatedName('acct');
const box = new SecretBox('s'.repeat(40));
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });

afterAll(async () => {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

describe('SecretBox', () => {
  it('opens what it sealed, and refuses a wrong key or a tampered value', () => {
    const sealed = box.seal('EAAG-page-token');
    expect(sealed).not.toContain('EAAG');
    expect(box.open(sealed)).toBe('EAAG-page-token');
    expect(() => new SecretBox('t'.repeat(40)).open(sealed)).toThrow(SecretBoxError);
    const parts = sealed.split('.');
    const body = parts[3] ?? '';
    const tampered = [...parts.slice(0, 3), (body[0] === 'A' ? 'B' : 'A') + body.slice(1)].join('.');
    expect(() => box.open(tampered)).toThrow(SecretBoxError);
    expect(() => new SecretBox('short')).toThrow(/32/);
  });
});

describe.each([
  ['pglite', () => openDatabase({ dataDir: 'memory://' })],
  ['postgres', () => openDatabase({ url: TEST_DATABASE_URL, schema })],
] as const)('accounts and contacts on %s', (_n, open) => {
  let db: Database;
  beforeAll(async () => {
    db = await open();
    await migrate(db);
    await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b')]);
  });
  afterAll(() => db.close());

  it('stores secrets sealed, routes by platform and external id, merges secret updates', async () => {
    const accounts = new AccountRepository(db, box);
    const a = await accounts.upsert({ unitId: 'xa-a', platform: 'zalo', externalId: '579745863508352884', secrets: { accessToken: 'access-token-one', refreshToken: 'refresh-token-one' } });
    await accounts.upsert({ unitId: 'xa-b', platform: 'messenger', externalId: '106000000000001', secrets: { pageAccessToken: 'EAAG1' } });
    const raw = await db.query<{ secrets: string }>('SELECT secrets FROM channel_accounts WHERE id = $1', [a.id]);
    expect(raw[0]?.secrets).not.toMatch(/access-token-one|refresh-token-one/);
    expect((await accounts.find('zalo', '579745863508352884'))?.unitId).toBe('xa-a');
    expect(await accounts.find('messenger', '579745863508352884')).toBeUndefined();
    await accounts.upsert({ unitId: 'xa-a', platform: 'zalo', externalId: '579745863508352884', secrets: { accessToken: 'AT2' } });
    expect((await accounts.find('zalo', '579745863508352884'))?.secrets).toEqual({ accessToken: 'AT2', refreshToken: 'refresh-token-one' });
    await accounts.setStatus(a.id, 'reconnect_required', 'refresh token rejected');
    expect((await accounts.find('zalo', '579745863508352884'))?.status).toBe('reconnect_required');
  });

  it('keeps the newest interaction time and makes a returning citizen reachable', async () => {
    const accounts = new AccountRepository(db, box);
    const contacts = new ContactRepository(db);
    const acc = await accounts.upsert({ unitId: 'xa-a', platform: 'messenger', externalId: '106000000000009' });
    const t1 = new Date('2026-11-20T01:00:00Z');
    const t2 = new Date('2026-11-21T01:00:00Z');
    await contacts.touch(acc.id, '7000000000000001', t2);
    await contacts.touch(acc.id, '7000000000000001', t1); // a retried older event
    expect((await contacts.find(acc.id, '7000000000000001'))?.lastInteractionAt.toISOString()).toBe(t2.toISOString());
    await contacts.markUnreachable(acc.id, '7000000000000001', 'user_blocked');
    expect((await contacts.find(acc.id, '7000000000000001'))?.reachable).toBe(false);
    await contacts.touch(acc.id, '7000000000000001', new Date('2026-11-22T01:00:00Z'));
    expect((await contacts.find(acc.id, '7000000000000001'))?.reachable).toBe(true);
  });
});
