// The notice's numbers: one SQL aggregate per announcement, on both databases, that agrees with
// eligibility.ts decide() recipient by recipient (window, follow state, Zalo hours and caps),
// counts each subscriber once, and only the unit's active groups and accounts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { AccountRepository } from '../../src/store/account-repository.js';
import { BroadcastRepository } from '../../src/store/broadcast-repository.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { SubscriptionRepository } from '../../src/store/subscription-repository.js';
import { AnnouncementInput, type BroadcastChannel } from '../../src/broadcast/types.js';
import { decide, vietnamDayStart, vietnamMonthStart, type EligibilityRules } from '../../src/broadcast/eligibility.js';
import { createPredictor, predictionInstant, type Prediction } from '../../src/broadcast/prediction.js';
import { TEST_DATABASE_URL, isolatedName } from '../helpers/services.js';

const schema = isolatedName('predict');
const bigSchema = isolatedName('predict_big');
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });
const HOUR = 3_600_000;
// 2026-03-10 10:00 in Vietnam.
const NOW = new Date('2026-03-10T03:00:00Z');
const ago = (h: number) => new Date(NOW.getTime() - h * HOUR);
const rules: EligibilityRules = { zaloMonthlyCap: 2 };

afterAll(async () => {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.query(`DROP SCHEMA IF EXISTS ${bigSchema} CASCADE`);
  await client.end();
});

interface Seeded {
  accounts: Record<'messenger' | 'zalo' | 'web', number>;
  groups: { village: number; topic: number; inactive: number; otherUnit: number };
  pastAnnouncement: number;
}

async function seed(db: Database): Promise<Seeded> {
  await migrate(db);
  await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b')]);
  const accountsRepo = new AccountRepository(db, new SecretBox('s'.repeat(40)));
  const accounts = {
    messenger: (await accountsRepo.upsert({ unitId: 'xa-a', platform: 'messenger', externalId: 'page-1' })).id,
    zalo: (await accountsRepo.upsert({ unitId: 'xa-a', platform: 'zalo', externalId: 'oa-1' })).id,
    web: (await accountsRepo.upsert({ unitId: 'xa-a', platform: 'web', externalId: 'widget-1' })).id,
  };
  // A second Zalo OA of the unit, paused: the notice warns about it.
  const paused = await accountsRepo.upsert({ unitId: 'xa-a', platform: 'zalo', externalId: 'oa-2' });
  await accountsRepo.setStatus(paused.id, 'paused', 'token');
  const otherAccount = (await accountsRepo.upsert({ unitId: 'xa-b', platform: 'messenger', externalId: 'page-b' })).id;
  const group = async (unitId: string, name: string, active = true): Promise<number> => {
    const rows = await db.query<{ id: string | number }>(`INSERT INTO subscriber_groups (unit_id, kind, name, active) VALUES ($1, 'topic', $2, $3) RETURNING id`, [unitId, name, active]);
    return Number(rows[0]?.id);
  };
  const groups = { village: await group('xa-a', 'Thôn Đông'), topic: await group('xa-a', 'CCHC'), inactive: await group('xa-a', 'Cũ', false), otherUnit: await group('xa-b', 'Xã B') };
  const repo = new BroadcastRepository(db);
  const past = await repo.create('xa-a', AnnouncementInput.parse({ title: 'Cũ', body: 'Cũ', groupIds: [groups.topic], channels: ['zalo'] }), null);

  const contact = async (
    account: number,
    ref: string,
    over: { last?: Date; following?: boolean | null; reachable?: boolean; groups?: number[]; withdrawn?: boolean; zaloSent?: Date[] } = {},
  ): Promise<number> => {
    const rows = await db.query<{ id: string | number }>(
      `INSERT INTO contacts (account_id, platform_user_id, last_interaction_at, following, reachable) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
      [account, ref, over.last ?? ago(1), over.following === undefined ? null : over.following, over.reachable ?? true],
    );
    const id = Number(rows[0]?.id);
    for (const g of over.groups ?? [groups.village]) {
      await db.query(`INSERT INTO subscriptions (contact_id, group_id, consented_at, withdrawn_at) VALUES ($1, $2, $3, $4)`, [id, g, ago(100), over.withdrawn ? ago(2) : null]);
    }
    // Promotions sent earlier: one delivery per announcement and contact, so one announcement each.
    for (const at of over.zaloSent ?? []) {
      const a = await repo.create('xa-a', AnnouncementInput.parse({ title: 'x', body: 'x', groupIds: [groups.topic], channels: ['zalo'] }), null);
      await db.query(`INSERT INTO deliveries (announcement_id, contact_id, account_id, platform, status, updated_at) VALUES ($1, $2, $3, 'zalo', 'sent', $4)`, [a.id, id, account, at]);
    }
    return id;
  };
  const { messenger: m, zalo: z, web: w } = accounts;
  // Messenger: 3 inside the 24-hour window (the edge is inside, as in decide()), 2 outside, 1 unreachable.
  await contact(m, 'psid-1', { last: ago(1) });
  await contact(m, 'psid-2', { last: ago(23) });
  await contact(m, 'psid-3', { last: ago(24), groups: [groups.village, groups.topic] }); // two groups, counted once
  await contact(m, 'psid-4', { last: ago(25) });
  await contact(m, 'psid-5', { last: ago(240) });
  await contact(m, 'psid-6', { last: ago(1), reachable: false });
  await contact(m, 'psid-gone', { last: ago(1), withdrawn: true }); // unsubscribed
  // Only in a group deactivated since: the fan-out still pages through it (as audiencePage does).
  await contact(m, 'psid-old-group', { last: ago(1), groups: [groups.inactive] });
  // Zalo (cap 2 a month): follower, unknown follow state, non-follower, already one today,
  // two this month already, one yesterday (still sendable), one last month (sendable).
  await contact(z, 'zalo-1', { following: true, last: ago(2000) });
  await contact(z, 'zalo-2', { following: null });
  await contact(z, 'zalo-3', { following: false });
  await contact(z, 'zalo-4', { following: true, zaloSent: [new Date('2026-03-10T01:00:00Z')] }); // 08:00 VN today
  await contact(z, 'zalo-5', { following: true, zaloSent: [new Date('2026-03-02T03:00:00Z'), new Date('2026-03-05T03:00:00Z')] });
  await contact(z, 'zalo-6', { following: true, zaloSent: [new Date('2026-03-09T16:59:00Z')] }); // 23:59 VN yesterday
  await contact(z, 'zalo-7', { following: true, zaloSent: [new Date('2026-02-28T16:00:00Z')] }); // 23:00 VN 28/02
  // Website: always held for the next visit.
  await contact(w, 'web-1');
  await contact(w, 'web-2', { last: ago(500) });
  // Another unit's subscriber of another unit's group: never in xa-a's numbers.
  await contact(otherAccount, 'psid-b', { groups: [groups.otherUnit] });
  return { accounts, groups, pastAnnouncement: past.id };
}

describe.each([
  ['pglite', () => openDatabase({ dataDir: 'memory://' })],
  ['postgres', () => openDatabase({ url: TEST_DATABASE_URL, schema })],
])('prediction on %s', (_name, open) => {
  let db: Database;
  let s: Seeded;
  beforeAll(async () => {
    db = await open();
    s = await seed(db);
  });
  afterAll(() => db.close());

  const predict = (at: Date, channels: BroadcastChannel[] = ['messenger', 'zalo', 'web'], groupIds?: number[]) =>
    createPredictor(db, rules)({ unitId: 'xa-a', groupIds: groupIds ?? [s.groups.village, s.groups.topic, s.groups.inactive, s.groups.otherUnit], channels, at });
  const platform = (p: Prediction, name: BroadcastChannel) => {
    const found = p.platforms.find((x) => x.platform === name);
    if (!found) throw new Error(`no ${name}`);
    return found;
  };

  it('counts per platform and outcome by the platforms’ rules', async () => {
    const p = await predict(NOW);
    expect(p.at).toEqual(NOW);
    expect(p.platforms.map((x) => x.platform)).toEqual(['messenger', 'zalo', 'web']);
    expect(p.audience).toBe(7 + 7 + 2);
    expect(platform(p, 'messenger')).toMatchObject({
      total: 7,
      send: 4,
      held: { outside_window: 2, web_next_visit: 0 },
      skipped: { unreachable: 1, not_following: 0, zalo_daily_limit: 0, zalo_monthly_limit: 0 },
      deferred: 0,
      accounts: { active: 1, inactive: 0 },
    });
    expect(platform(p, 'zalo')).toMatchObject({
      total: 7,
      send: 4,
      held: { outside_window: 0, web_next_visit: 0 },
      skipped: { unreachable: 0, not_following: 1, zalo_daily_limit: 1, zalo_monthly_limit: 1 },
      deferred: 0,
      deferredUntil: null,
      accounts: { active: 1, inactive: 1 },
    });
    expect(platform(p, 'web')).toMatchObject({ total: 2, send: 0, held: { outside_window: 0, web_next_visit: 2 } });
  });

  it('counts the audience the fan-out pages through (SubscriptionRepository)', async () => {
    const subscriptions = new SubscriptionRepository(db);
    for (const groupIds of [[s.groups.village], [s.groups.topic, s.groups.inactive], [s.groups.village, s.groups.topic, s.groups.inactive, s.groups.otherUnit]]) {
      for (const channels of [['messenger', 'zalo', 'web'], ['zalo'], ['web', 'messenger']] as BroadcastChannel[][]) {
        const p = await predict(NOW, channels, groupIds);
        const expected = await subscriptions.audienceCount({ unitId: 'xa-a', groupIds, platforms: channels });
        expect(Object.fromEntries(p.platforms.map((x) => [x.platform, x.total]))).toEqual(Object.fromEntries(channels.map((c) => [c, expected[c]])));
      }
    }
  });

  it('counts only the chosen channels and groups', async () => {
    const p = await predict(NOW, ['zalo']);
    expect(p.platforms.map((x) => x.platform)).toEqual(['zalo']);
    expect(p.audience).toBe(7);
    const topicOnly = await predict(NOW, ['messenger'], [s.groups.topic]);
    expect(platform(topicOnly, 'messenger').total).toBe(1);
    const none = await predict(NOW, ['messenger'], [s.groups.otherUnit]);
    expect(none.audience).toBe(0);
    expect(platform(none, 'messenger').send).toBe(0);
  });

  it('defers Zalo at night to 06:00 and keeps Messenger’s window at that instant', async () => {
    const night = new Date('2026-03-10T16:30:00Z'); // 23:30 VN
    const p = await predict(night);
    const zalo = platform(p, 'zalo');
    // zalo-4's promotion was today (the 10th, Vietnam calendar): still over the daily limit at 23:30.
    expect(zalo).toMatchObject({ send: 0, deferred: 4, skipped: { not_following: 1, zalo_daily_limit: 1, zalo_monthly_limit: 1, unreachable: 0 } });
    expect(zalo.deferredUntil).toEqual(new Date('2026-03-10T23:00:00Z')); // 06:00 VN on the 11th
    // 13.5 hours later only psid-1 and psid-old-group (14.5 h) are inside; psid-2 and psid-3 went out.
    expect(platform(p, 'messenger')).toMatchObject({ send: 2, held: { outside_window: 4 } });
  });

  it('starts a new Zalo month and day on the Vietnam calendar', async () => {
    // 00:30 VN on 01/04: a new day and a new month, but night.
    const p = await predict(new Date('2026-03-31T17:30:00Z'));
    expect(platform(p, 'zalo')).toMatchObject({ send: 0, deferred: 6, skipped: { not_following: 1, zalo_daily_limit: 0, zalo_monthly_limit: 0 } });
    // 06:00 VN the next day: zalo-4 may receive again (yesterday's promotion no longer counts).
    const morning = await predict(new Date('2026-03-10T23:00:00Z'));
    expect(platform(morning, 'zalo')).toMatchObject({ send: 5, deferred: 0, skipped: { zalo_daily_limit: 0, zalo_monthly_limit: 1 } });
  });

  it('agrees with decide() recipient by recipient at any instant', async () => {
    const rows = await db.query<{ id: string | number; platform: BroadcastChannel; reachable: boolean; following: boolean | null; last_interaction_at: Date }>(
      `SELECT DISTINCT c.id, ca.platform, c.reachable, c.following, c.last_interaction_at FROM contacts c
       JOIN channel_accounts ca ON ca.id = c.account_id JOIN subscriptions s ON s.contact_id = c.id JOIN subscriber_groups g ON g.id = s.group_id
       WHERE ca.unit_id = 'xa-a' AND g.unit_id = 'xa-a' AND s.withdrawn_at IS NULL`,
    );
    const sent = await db.query<{ contact_id: string | number; updated_at: Date }>(`SELECT contact_id, updated_at FROM deliveries WHERE status = 'sent' AND platform = 'zalo'`);
    const instants = ['2026-03-10T03:00:00Z', '2026-03-10T14:59:00Z', '2026-03-10T15:00:00Z', '2026-03-09T22:59:00Z', '2026-03-09T03:00:00Z', '2026-02-28T20:00:00Z', '2026-03-11T02:59:59Z'];
    for (const iso of instants) {
      const at = new Date(iso);
      const expected = new Map<string, number>();
      for (const r of rows) {
        const mine = sent.filter((x) => Number(x.contact_id) === Number(r.id) && x.updated_at.getTime() <= at.getTime());
        const d = decide(
          {
            platform: r.platform,
            reachable: r.reachable,
            following: r.following,
            lastInteractionAt: r.last_interaction_at,
            sentToday: mine.filter((x) => x.updated_at >= vietnamDayStart(at)).length,
            sentThisMonth: mine.filter((x) => x.updated_at >= vietnamMonthStart(at)).length,
          },
          at,
          rules,
        );
        const key = `${r.platform}:${d.kind}:${d.kind === 'send' ? '' : d.reason}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
      // Promotions "sent" after the instant do not exist yet at that instant: predict from a copy without them.
      const got = new Map<string, number>();
      const p = await createPredictor(
        {
          query: (sql, params) => {
            if (sql.includes('FROM deliveries')) expect(sql).toContain("d.status = 'sent'");
            return db.query(sql.replace("d.status = 'sent'", `d.status = 'sent' AND d.updated_at <= '${at.toISOString()}'`), params);
          },
        },
        rules,
      )({ unitId: 'xa-a', groupIds: [s.groups.village, s.groups.topic, s.groups.inactive], channels: ['messenger', 'zalo', 'web'], at });
      for (const x of p.platforms) {
        const add = (key: string, v: number) => v > 0 && got.set(`${x.platform}:${key}`, v);
        add('send:', x.send);
        for (const [r, v] of Object.entries(x.held)) add(`hold:${r}`, v);
        for (const [r, v] of Object.entries(x.skipped)) add(`skip:${r}`, v);
        add('defer:zalo_night', x.deferred);
      }
      expect(Object.fromEntries(got), iso).toEqual(Object.fromEntries(expected));
    }
  });

  it('predicts for the scheduled time when it is ahead', () => {
    expect(predictionInstant(null, NOW)).toEqual(NOW);
    expect(predictionInstant(ago(1), NOW)).toEqual(NOW);
    expect(predictionInstant(ago(-5), NOW)).toEqual(ago(-5));
  });
});

describe('prediction over 100,000 subscribers (PostgreSQL)', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase({ url: TEST_DATABASE_URL, schema: bigSchema });
    await migrate(db);
    await new UnitRepository(db).upsert([unit('xa-lon')]);
    const accounts = new AccountRepository(db, new SecretBox('s'.repeat(40)));
    const m = (await accounts.upsert({ unitId: 'xa-lon', platform: 'messenger', externalId: 'page-lon' })).id;
    const z = (await accounts.upsert({ unitId: 'xa-lon', platform: 'zalo', externalId: 'oa-lon' })).id;
    await db.query(`INSERT INTO subscriber_groups (unit_id, kind, name) VALUES ('xa-lon', 'village', 'Toàn xã')`);
    // 60,000 Messenger contacts, every third inside the window; 40,000 Zalo followers, every tenth not following.
    await db.query(
      `INSERT INTO contacts (account_id, platform_user_id, last_interaction_at, following)
       SELECT $1, 'p' || i, CASE WHEN i % 3 = 0 THEN $2::timestamptz - interval '1 hour' ELSE $2::timestamptz - interval '3 days' END, NULL FROM generate_series(1, 60000) i`,
      [m, NOW],
    );
    await db.query(`INSERT INTO contacts (account_id, platform_user_id, last_interaction_at, following) SELECT $1, 'z' || i, $2, i % 10 <> 0 FROM generate_series(1, 40000) i`, [z, NOW]);
    await db.query(`INSERT INTO subscriptions (contact_id, group_id, consented_at) SELECT c.id, g.id, $1 FROM contacts c, subscriber_groups g WHERE g.unit_id = 'xa-lon'`, [NOW]);
    await db.query('ANALYZE');
  }, 120_000);
  afterAll(() => db.close());

  it('answers with one aggregate, the counts exact', async () => {
    const [g] = await db.query<{ id: string | number }>(`SELECT id FROM subscriber_groups WHERE unit_id = 'xa-lon'`);
    const p = await createPredictor(db, rules)({ unitId: 'xa-lon', groupIds: [Number(g?.id)], channels: ['messenger', 'zalo'], at: NOW });
    expect(p.audience).toBe(100_000);
    expect(p.platforms[0]).toMatchObject({ platform: 'messenger', total: 60_000, send: 20_000, held: { outside_window: 40_000 } });
    expect(p.platforms[1]).toMatchObject({ platform: 'zalo', total: 40_000, send: 36_000, skipped: { not_following: 4_000 } });
  });
});
