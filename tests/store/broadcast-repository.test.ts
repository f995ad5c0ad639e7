// Announcements and deliveries on both databases: the delivery state machine never records two
// outcomes, a crashed claim comes back "in doubt", cancel stops what is not yet sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { AccountRepository } from '../../src/store/account-repository.js';
import { ContactRepository } from '../../src/store/contact-repository.js';
import { BroadcastRepository } from '../../src/store/broadcast-repository.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { AnnouncementInput } from '../../src/broadcast/types.js';
import { TEST_DATABASE_URL, isolatedName } from '../helpers/services.js';

const schema = isolatedName('bcast');
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });
const T0 = new Date('2026-03-10T03:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

afterAll(async () => {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

describe.each([
  ['pglite', () => openDatabase({ dataDir: 'memory://' })],
  ['postgres', () => openDatabase({ url: TEST_DATABASE_URL, schema })],
])('BroadcastRepository on %s', (_name, open) => {
  let db: Database;
  let repo: BroadcastRepository;
  let accountId = 0;
  const contacts: number[] = [];
  beforeAll(async () => {
    db = await open();
    await migrate(db);
    await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b')]);
    const account = await new AccountRepository(db, new SecretBox('s'.repeat(40))).upsert({ unitId: 'xa-a', platform: 'messenger', externalId: '1001' });
    accountId = account.id;
    const c = new ContactRepository(db);
    for (let i = 0; i < 5; i++) contacts.push((await c.touch(accountId, `psid-${i}`, T0)).id);
    repo = new BroadcastRepository(db);
  });
  afterAll(() => db.close());

  const input = (over: Partial<AnnouncementInput> = {}) =>
    AnnouncementInput.parse({ title: 'Lịch tiếp dân', body: 'Chủ tịch UBND xã tiếp dân sáng thứ Năm.', groupIds: [1], channels: ['messenger'], ...over });

  it('creates, submits (now or scheduled) and reads an announcement within its unit only', async () => {
    const a = await repo.create('xa-a', input(), null);
    expect(a.status).toBe('draft');
    expect((await repo.get(a.id, 'xa-b'))).toBeUndefined();
    expect((await repo.submit(a.id, T0))?.status).toBe('fanning_out');
    expect(await repo.submit(a.id, T0)).toBeUndefined();
    const later = await repo.create('xa-a', input({ scheduledAt: at(3600) }), null);
    expect((await repo.submit(later.id, T0))?.status).toBe('scheduled');
    expect((await repo.due(at(1800))).map((x) => x.id)).not.toContain(later.id);
    expect((await repo.due(at(3600))).map((x) => x.id)).toContain(later.id);
    expect((await repo.start(later.id, at(3600)))?.status).toBe('fanning_out');
  });

  it('adds deliveries once, claims each once, and records one outcome', async () => {
    const a = await repo.create('xa-a', input(), null);
    await repo.submit(a.id, T0);
    const targets = contacts.map((contactId) => ({ contactId, accountId, platform: 'messenger' as const }));
    expect(await repo.addDeliveries(a.id, targets)).toBe(5);
    expect(await repo.addDeliveries(a.id, targets)).toBe(0);
    const c0 = contacts[0] ?? 0;
    expect((await repo.claim(a.id, c0, at(1), 30_000)).kind).toBe('claimed');
    // A second worker (the same job run twice) cannot claim a live lease.
    expect((await repo.claim(a.id, c0, at(2), 30_000)).kind).toBe('settled');
    expect(await repo.finish(a.id, c0, { status: 'sent', messageId: 'm_1' }, at(3))).toBe(true);
    expect(await repo.finish(a.id, c0, { status: 'failed', reason: 'x' }, at(4))).toBe(false);
    expect((await repo.getDelivery(a.id, c0))?.status).toBe('sent');
    // A worker died mid-send: after the lease the delivery is in doubt, never silently resent.
    const c1 = contacts[1] ?? 0;
    expect((await repo.claim(a.id, c1, at(10), 30_000)).kind).toBe('claimed');
    expect((await repo.claim(a.id, c1, at(20), 30_000)).kind).toBe('settled');
    const doubt = await repo.claim(a.id, c1, at(41), 30_000);
    expect(doubt.kind).toBe('in_doubt');
    expect(doubt.delivery?.attempts).toBe(2);
    // Given back (paused account), it is pending again.
    await repo.release(a.id, c1, at(42));
    expect((await repo.getDelivery(a.id, c1))?.status).toBe('pending');
    await repo.finish(a.id, contacts[2] ?? 0, { status: 'held', reason: 'outside_window' }, at(5));
    await repo.finish(a.id, contacts[3] ?? 0, { status: 'skipped', reason: 'unreachable' }, at(5));
    const counts = await repo.counts(a.id);
    expect(counts).toEqual(
      expect.arrayContaining([
        { status: 'sent', reason: '', count: 1 },
        { status: 'pending', reason: '', count: 2 },
        { status: 'held', reason: 'outside_window', count: 1 },
        { status: 'skipped', reason: 'unreachable', count: 1 },
      ]),
    );
    expect(await repo.completeIfSettled(a.id, at(6))).toBe(false);
    // Cancel: pending and held become cancelled; the sent one stays sent.
    expect((await repo.cancel(a.id, 'xa-b', at(7)))).toBeUndefined();
    expect((await repo.cancel(a.id, 'xa-a', at(7)))?.status).toBe('cancelled');
    const after = await repo.counts(a.id);
    expect(after, JSON.stringify(after)).toEqual(expect.arrayContaining([{ status: 'cancelled', reason: '', count: 2 }, { status: 'cancelled', reason: 'outside_window', count: 1 }]));
    expect(after.find((c) => c.status === 'sent')?.count).toBe(1);
    expect((await repo.claim(a.id, c1, at(8), 30_000)).kind).toBe('settled');
  });

  it('gives held announcements to a returning citizen while fresh, then expires them', async () => {
    const a = await repo.create('xa-a', input({ holdDays: 7 }), null);
    await repo.submit(a.id, T0);
    const c4 = contacts[4] ?? 0;
    await repo.addDeliveries(a.id, [{ contactId: c4, accountId, platform: 'messenger' }]);
    await repo.finish(a.id, c4, { status: 'held', reason: 'outside_window' }, at(1));
    expect((await repo.heldFor(c4, at(6 * 86400))).map((h) => h.announcement.id)).toContain(a.id);
    expect((await repo.heldFor(c4, at(8 * 86400))).map((h) => h.announcement.id)).not.toContain(a.id);
    expect(await repo.settleHeld(a.id, c4, 'sent', at(2), 'm_9')).toBe(true);
    expect(await repo.settleHeld(a.id, c4, 'sent', at(3), 'm_9')).toBe(false);
    const b = await repo.create('xa-a', input({ holdDays: 1 }), null);
    await repo.submit(b.id, T0);
    await repo.addDeliveries(b.id, [{ contactId: c4, accountId, platform: 'messenger' }]);
    await repo.finish(b.id, c4, { status: 'held', reason: 'outside_window' }, at(1));
    expect(await repo.expireHeld(at(2 * 86400))).toBeGreaterThanOrEqual(1);
    expect((await repo.getDelivery(b.id, c4))?.status).toBe('expired');
    expect(await repo.sentSince(c4, 'messenger', T0)).toBe(1);
  });
});
