import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { AccountRepository } from '../../src/store/account-repository.js';
import { ContactRepository } from '../../src/store/contact-repository.js';
import { SecretBox } from '../../src/store/secret-box.js';
import {
  DuplicateGroupNameError,
  SubscriptionRepository,
  normaliseGroupName,
  subscriptionPort,
  type AudienceMember,
} from '../../src/store/subscription-repository.js';
import { TEST_DATABASE_URL, isolatedName } from '../helpers/services.js';

const schema = isolatedName('subs');
const box = new SecretBox('s'.repeat(40));
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });
const T0 = new Date('2026-11-20T02:00:00Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

afterAll(async () => {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

describe('normaliseGroupName', () => {
  it('takes NFC, trims and collapses spaces', () => {
    expect(normaliseGroupName('  Tho\u0302n   Đông \n')).toBe('Thôn Đông');
  });
});

describe.each([
  ['pglite', () => openDatabase({ dataDir: 'memory://' })],
  ['postgres', () => openDatabase({ url: TEST_DATABASE_URL, schema })],
] as const)('subscriber groups and consent on %s', (_n, open) => {
  let db: Database;
  let repo: SubscriptionRepository;
  let contacts: ContactRepository;
  let accounts: AccountRepository;
  /** Account ids: A's Messenger Page, A's Zalo OA, A's web widget, B's Messenger Page. */
  const acc = { aFb: 0, aZalo: 0, aWeb: 0, bFb: 0 };

  beforeAll(async () => {
    db = await open();
    await migrate(db);
    await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b')]);
    repo = new SubscriptionRepository(db);
    contacts = new ContactRepository(db);
    accounts = new AccountRepository(db, box);
    acc.aFb = (await accounts.upsert({ unitId: 'xa-a', platform: 'messenger', externalId: '106000000000101' })).id;
    acc.aZalo = (await accounts.upsert({ unitId: 'xa-a', platform: 'zalo', externalId: '388613280900000101' })).id;
    acc.aWeb = (await accounts.upsert({ unitId: 'xa-a', platform: 'web', externalId: 'web-xa-a' })).id;
    acc.bFb = (await accounts.upsert({ unitId: 'xa-b', platform: 'messenger', externalId: '106000000000102' })).id;
  });
  afterAll(() => db.close());

  async function contact(accountId: number, userId: string): Promise<number> {
    return (await contacts.touch(accountId, userId, T0)).id;
  }

  describe('groups', () => {
    it('creates groups of the three kinds, one name per unit (case and spaces ignored)', async () => {
      const g = await repo.createGroup({ unitId: 'xa-a', kind: 'village', name: ' Thôn  Đông ', description: 'Các hộ thôn Đông' });
      expect(g).toMatchObject({ unitId: 'xa-a', kind: 'village', name: 'Thôn Đông', description: 'Các hộ thôn Đông', active: true, subscribers: 0 });
      await expect(repo.createGroup({ unitId: 'xa-a', kind: 'topic', name: 'Thôn Đông' })).rejects.toBeInstanceOf(DuplicateGroupNameError);
      await expect(repo.createGroup({ unitId: 'xa-a', kind: 'topic', name: 'THÔN ĐÔNG' })).rejects.toBeInstanceOf(DuplicateGroupNameError);
      // Another unit may use the same name.
      expect((await repo.createGroup({ unitId: 'xa-b', kind: 'village', name: 'Thôn Đông' }))?.unitId).toBe('xa-b');
      // An unknown unit: nothing created.
      expect(await repo.createGroup({ unitId: 'xa-khong-co', kind: 'topic', name: 'Hộ tịch' })).toBeUndefined();
      expect(await repo.createGroup({ unitId: 'xa-a', kind: 'topic', name: 'Hộ tịch', description: '   ' })).toMatchObject({ description: null });
    });

    it('lists villages, topics, audiences in Vietnamese order, with active counts; filters inactive', async () => {
      await repo.createGroup({ unitId: 'xa-a', kind: 'audience', name: 'Người cao tuổi' });
      await repo.createGroup({ unitId: 'xa-a', kind: 'village', name: 'Thôn 10' });
      await repo.createGroup({ unitId: 'xa-a', kind: 'village', name: 'Thôn 2' });
      await repo.createGroup({ unitId: 'xa-a', kind: 'topic', name: 'Cải cách hành chính' });
      const all = await repo.listGroups('xa-a');
      expect(all.map((g) => g.name)).toEqual(['Thôn 2', 'Thôn 10', 'Thôn Đông', 'Cải cách hành chính', 'Hộ tịch', 'Người cao tuổi']);
      const t10 = all.find((g) => g.name === 'Thôn 10');
      expect(await repo.setGroupActive('xa-a', t10?.id ?? 0, false)).toMatchObject({ active: false });
      expect((await repo.listGroups('xa-a', { activeOnly: true })).map((g) => g.name)).not.toContain('Thôn 10');
      expect((await repo.activeGroups('xa-a')).map((g) => g.name)).toEqual(['Thôn 2', 'Thôn Đông', 'Cải cách hành chính', 'Hộ tịch', 'Người cao tuổi']);
      expect(await repo.setGroupActive('xa-a', t10?.id ?? 0, true)).toMatchObject({ active: true });
      expect((await repo.listGroups('xa-b')).map((g) => g.name)).toEqual(['Thôn Đông']);
    });

    it('renames and describes within the unit only, refusing a name already taken', async () => {
      const [g2] = (await repo.listGroups('xa-a')).filter((g) => g.name === 'Thôn 2');
      const id = g2?.id ?? 0;
      expect(await repo.updateGroup('xa-a', id, { name: 'Thôn Hai', description: 'Thôn 2 cũ' })).toMatchObject({ id, name: 'Thôn Hai', description: 'Thôn 2 cũ', kind: 'village' });
      expect(await repo.updateGroup('xa-a', id, { description: null })).toMatchObject({ name: 'Thôn Hai', description: null });
      expect(await repo.updateGroup('xa-a', id, { name: 'thôn hai' })).toMatchObject({ name: 'thôn hai' }); // its own name, recased
      await expect(repo.updateGroup('xa-a', id, { name: 'Hộ Tịch' })).rejects.toBeInstanceOf(DuplicateGroupNameError);
      expect(await repo.updateGroup('xa-b', id, { name: 'Chiếm' })).toBeUndefined();
      expect(await repo.getGroup('xa-b', id)).toBeUndefined();
      expect(await repo.setGroupActive('xa-b', id, false)).toBeUndefined();
      expect((await repo.getGroup('xa-a', id))?.active).toBe(true);
      await repo.updateGroup('xa-a', id, { name: 'Thôn 2' });
    });
  });

  describe('consent', () => {
    const groupId = async (unitId: string, name: string): Promise<number> => (await repo.listGroups(unitId)).find((g) => g.name === name)?.id ?? 0;

    it('subscribes only to active groups of the contact’s own unit, with one consent event per change', async () => {
      const c = await contact(acc.aFb, '7000000000000101');
      const dong = await groupId('xa-a', 'Thôn Đông');
      const hoTich = await groupId('xa-a', 'Hộ tịch');
      const t10 = await groupId('xa-a', 'Thôn 10');
      const otherUnit = await groupId('xa-b', 'Thôn Đông');
      await repo.setGroupActive('xa-a', t10, false);
      expect(await repo.subscribe({ contactId: c, groupIds: [dong, hoTich, t10, otherUnit, 999_999], via: 'chat:button', at: at(1) })).toEqual([dong, hoTich].sort((a, b) => a - b));
      expect(await repo.subscriptionsOf(c)).toEqual([dong, hoTich].sort((a, b) => a - b));
      // Again: nothing changes, no new event.
      expect(await repo.subscribe({ contactId: c, groupIds: [dong], via: 'chat:button', at: at(2) })).toEqual([]);
      const events = await repo.consentEvents(c);
      expect(events).toHaveLength(2);
      expect(events.every((e) => e.action === 'subscribe' && e.via === 'chat:button' && e.at.getTime() === at(1).getTime())).toBe(true);
      expect((await repo.getGroup('xa-a', dong))?.subscribers).toBe(1);
      expect((await repo.followedGroups(c)).map((g) => g.name)).toEqual(['Thôn Đông', 'Hộ tịch']);
      await repo.setGroupActive('xa-a', t10, true);
    });

    it('withdraws one group, then all; re-subscribing re-activates with a new consent time', async () => {
      const c = await contact(acc.aZalo, '246845883529190101');
      const dong = await groupId('xa-a', 'Thôn Đông');
      const hoTich = await groupId('xa-a', 'Hộ tịch');
      const cchc = await groupId('xa-a', 'Cải cách hành chính');
      await repo.subscribe({ contactId: c, groupIds: [dong, hoTich, cchc], via: 'chat:button', at: at(10) });
      expect(await repo.unsubscribe({ contactId: c, groupId: hoTich, via: 'chat:button', at: at(11) })).toEqual([hoTich]);
      expect(await repo.unsubscribe({ contactId: c, groupId: hoTich, via: 'chat:button', at: at(12) })).toEqual([]);
      expect(await repo.subscriptionsOf(c)).toEqual([dong, cchc].sort((a, b) => a - b));
      expect(await repo.unsubscribe({ contactId: c, groupId: 'all', via: 'chat:text', at: at(13) })).toEqual([dong, cchc].sort((a, b) => a - b));
      expect(await repo.subscriptionsOf(c)).toEqual([]);
      expect(await repo.unsubscribe({ contactId: c, groupId: 'all', via: 'chat:text', at: at(14) })).toEqual([]);
      // The rows stay as the record.
      const kept = await db.query<{ n: unknown }>('SELECT count(*) AS n FROM subscriptions WHERE contact_id = $1 AND withdrawn_at IS NOT NULL', [c]);
      expect(Number(kept[0]?.n)).toBe(3);
      expect(await repo.subscribe({ contactId: c, groupIds: [hoTich], via: 'chat:button', at: at(20) })).toEqual([hoTich]);
      const row = await db.query<{ consented_at: Date; withdrawn_at: Date | null }>('SELECT consented_at, withdrawn_at FROM subscriptions WHERE contact_id = $1 AND group_id = $2', [c, hoTich]);
      expect(row[0]?.consented_at.getTime()).toBe(at(20).getTime());
      expect(row[0]?.withdrawn_at).toBeNull();
      const events = await repo.consentEvents(c);
      expect(events.map((e) => [e.action, e.via])).toEqual([
        ['subscribe', 'chat:button'],
        ['subscribe', 'chat:button'],
        ['subscribe', 'chat:button'],
        ['unsubscribe', 'chat:button'],
        ['unsubscribe_all', 'chat:text'],
        ['unsubscribe_all', 'chat:text'],
        ['subscribe', 'chat:button'],
      ]);
      expect(events.filter((e) => e.action === 'unsubscribe_all').map((e) => e.groupId).sort()).toEqual([dong, cchc].sort());
    });
  });

  describe('the chat port', () => {
    const key = (channel: 'messenger' | 'zalo' | 'web', accountId: string, userId: string, unitId = 'xa-a') => ({ unitId, channel, accountId, userId });

    it('finds the contact from the Page / OA id and user id, and refuses an account of another unit', async () => {
      const port = subscriptionPort(repo);
      const c = await contact(acc.aFb, '7000000000000201');
      const overview = await port.overview(key('messenger', '106000000000101', '7000000000000201'));
      expect(overview?.groups.map((g) => g.name)).toContain('Thôn Đông');
      expect(overview?.following).toEqual([]);
      const dong = overview?.groups.find((g) => g.name === 'Thôn Đông')?.id ?? 0;
      expect(await port.subscribe(key('messenger', '106000000000101', '7000000000000201'), [dong], 'chat:button', at(30))).toEqual([dong]);
      expect(await repo.subscriptionsOf(c)).toEqual([dong]);
      expect((await port.overview(key('messenger', '106000000000101', '7000000000000201')))?.following.map((g) => g.id)).toEqual([dong]);
      // A Page of unit B named with unit A: no account there.
      expect(await port.overview(key('messenger', '106000000000102', '7000000000000201'))).toBeNull();
      expect(await port.unsubscribe(key('messenger', '106000000000101', '7000000000000201'), 'all', 'chat:text', at(31))).toEqual([dong]);
    });

    it('creates a widget visitor’s contact on the unit’s web account at the first subscription', async () => {
      const port = subscriptionPort(repo);
      const visitor = key('web', 'web', 'session-abcdefghijklmnop');
      const overview = await port.overview(visitor);
      expect(overview?.following).toEqual([]);
      expect(await contacts.find(acc.aWeb, 'session-abcdefghijklmnop')).toBeUndefined();
      expect(await port.unsubscribe(visitor, 'all', 'chat:text', at(40))).toEqual([]);
      const hoTich = overview?.groups.find((g) => g.name === 'Hộ tịch')?.id ?? 0;
      expect(await port.subscribe(visitor, [hoTich], 'chat:button', at(41))).toEqual([hoTich]);
      const created = await contacts.find(acc.aWeb, 'session-abcdefghijklmnop');
      expect(created?.lastInteractionAt.getTime()).toBe(at(41).getTime());
      expect(await repo.subscriptionsOf(created?.id ?? 0)).toEqual([hoTich]);
    });

    it('answers null where the widget’s unit has no web account', async () => {
      const port = subscriptionPort(repo);
      const visitor = key('web', 'web', 'session-zzzzzzzzzzzzzzzz', 'xa-b');
      expect(await port.overview(visitor)).toBeNull();
      expect(await port.subscribe(visitor, [1], 'chat:button', at(50))).toBeNull();
      expect(await port.unsubscribe(visitor, 'all', 'chat:text', at(50))).toBeNull();
    });
  });

  describe('audience', () => {
    /** A fresh unit with its own accounts, so these counts are exact. */
    let g1 = 0;
    let g2 = 0;
    let g3 = 0;
    const expected: number[] = [];
    const members = new Map<number, { platform: string; userId: string }>();

    beforeAll(async () => {
      await new UnitRepository(db).upsert([unit('xa-aud'), unit('xa-aud-2')]);
      const fb = (await accounts.upsert({ unitId: 'xa-aud', platform: 'messenger', externalId: '106000000000901' })).id;
      const zl = (await accounts.upsert({ unitId: 'xa-aud', platform: 'zalo', externalId: '388613280900000901' })).id;
      const web = (await accounts.upsert({ unitId: 'xa-aud', platform: 'web', externalId: 'web-xa-aud' })).id;
      const other = (await accounts.upsert({ unitId: 'xa-aud-2', platform: 'zalo', externalId: '388613280900000902' })).id;
      g1 = (await repo.createGroup({ unitId: 'xa-aud', kind: 'village', name: 'Thôn 1' }))?.id ?? 0;
      g2 = (await repo.createGroup({ unitId: 'xa-aud', kind: 'topic', name: 'Đất đai' }))?.id ?? 0;
      g3 = (await repo.createGroup({ unitId: 'xa-aud', kind: 'audience', name: 'Hộ kinh doanh' }))?.id ?? 0;
      const otherGroup = (await repo.createGroup({ unitId: 'xa-aud-2', kind: 'topic', name: 'Đất đai' }))?.id ?? 0;
      const accountOf = [fb, zl, web];
      for (let i = 0; i < 60; i++) {
        const account = accountOf[i % 3] ?? fb;
        const userId = `${account}-${String(i).padStart(4, '0')}`;
        const c = await contact(account, userId);
        // Some in g1, some in g2, some in both (distinct once), some in g3 only, some withdrawn.
        const groups = i % 5 === 0 ? [g1, g2] : i % 5 === 1 ? [g1] : i % 5 === 2 ? [g2] : [g3];
        await repo.subscribe({ contactId: c, groupIds: groups, via: 'chat:button', at: at(i) });
        const withdrawn = i % 7 === 0;
        if (withdrawn) await repo.unsubscribe({ contactId: c, groupId: 'all', via: 'chat:text', at: at(100 + i) });
        if (!withdrawn && (groups.includes(g1) || groups.includes(g2))) {
          expected.push(c);
          members.set(c, { platform: account === fb ? 'messenger' : account === zl ? 'zalo' : 'web', userId });
        }
      }
      // A contact of another unit in that unit's group: never in this audience.
      const stranger = await contact(other, 'stranger-1');
      await repo.subscribe({ contactId: stranger, groupIds: [otherGroup], via: 'chat:button', at: at(0) });
      expected.sort((a, b) => a - b);
    });

    async function pageAll(platforms: Array<'messenger' | 'zalo' | 'web'>, limit: number, groupIds = [g1, g2]): Promise<AudienceMember[][]> {
      const pages: AudienceMember[][] = [];
      let after = 0;
      for (;;) {
        const page = await repo.audiencePage({ unitId: 'xa-aud', groupIds, platforms, afterContactId: after, limit });
        if (page.length === 0) return pages;
        pages.push(page);
        after = page[page.length - 1]?.contactId ?? after;
      }
    }

    it('pages through each subscribed contact exactly once, in id order, pages full until the last', async () => {
      const pages = await pageAll(['messenger', 'zalo', 'web'], 7);
      const ids = pages.flat().map((m) => m.contactId);
      expect(ids).toEqual(expected);
      expect(pages.slice(0, -1).every((p) => p.length === 7)).toBe(true);
      for (const m of pages.flat()) {
        expect(m.platform).toBe(members.get(m.contactId)?.platform);
        expect(m.platformUserId).toBe(members.get(m.contactId)?.userId);
        expect(m.reachable).toBe(true);
        expect(m.lastInteractionAt.getTime()).toBe(T0.getTime());
      }
    });

    it('filters by platform, carries reachability, and counts per platform', async () => {
      const zaloOnly = (await pageAll(['zalo'], 1000)).flat();
      expect(zaloOnly.map((m) => m.contactId)).toEqual(expected.filter((c) => members.get(c)?.platform === 'zalo'));
      const first = zaloOnly[0];
      await contacts.markUnreachable(first?.accountId ?? 0, first?.platformUserId ?? '', 'user_unfollowed');
      const again = await repo.audiencePage({ unitId: 'xa-aud', groupIds: [g1, g2], platforms: ['zalo'], afterContactId: 0, limit: 1 });
      expect(again).toEqual([{ ...first, reachable: false }]);
      const counts = await repo.audienceCount({ unitId: 'xa-aud', groupIds: [g1, g2], platforms: ['messenger', 'zalo', 'web'] });
      const byPlatform = (p: string) => expected.filter((c) => members.get(c)?.platform === p).length;
      expect(counts).toEqual({ messenger: byPlatform('messenger'), zalo: byPlatform('zalo'), web: byPlatform('web') });
      expect(await repo.audienceCount({ unitId: 'xa-aud', groupIds: [g1, g2], platforms: ['web'] })).toEqual({ messenger: 0, zalo: 0, web: byPlatform('web') });
    });

    it('keeps to the unit: another unit’s group ids or unit id give nothing', async () => {
      expect(await repo.audiencePage({ unitId: 'xa-aud-2', groupIds: [g1, g2], platforms: ['messenger', 'zalo', 'web'], afterContactId: 0, limit: 100 })).toEqual([]);
      const otherGroup = (await repo.listGroups('xa-aud-2'))[0]?.id ?? 0;
      expect(await repo.audiencePage({ unitId: 'xa-aud', groupIds: [otherGroup], platforms: ['zalo'], afterContactId: 0, limit: 100 })).toEqual([]);
      expect((await repo.audiencePage({ unitId: 'xa-aud-2', groupIds: [otherGroup], platforms: ['zalo'], afterContactId: 0, limit: 100 })).map((m) => m.platformUserId)).toEqual(['stranger-1']);
      expect(await repo.audiencePage({ unitId: 'xa-aud', groupIds: [], platforms: ['zalo'], afterContactId: 0, limit: 100 })).toEqual([]);
      expect(await repo.audiencePage({ unitId: 'xa-aud', groupIds: [g1], platforms: [], afterContactId: 0, limit: 100 })).toEqual([]);
    });

    it('starts after the given contact id and honours the limit', async () => {
      const mid = expected[10] ?? 0;
      const page = await repo.audiencePage({ unitId: 'xa-aud', groupIds: [g1, g2, g3], platforms: ['messenger', 'zalo', 'web'], afterContactId: mid, limit: 5 });
      expect(page).toHaveLength(5);
      expect(page.every((m) => m.contactId > mid)).toBe(true);
      expect(page.map((m) => m.contactId)).toEqual([...page.map((m) => m.contactId)].sort((a, b) => a - b));
    });
  });
});
