import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { AccountRepository } from '../../src/store/account-repository.js';
import { ContactRepository } from '../../src/store/contact-repository.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { DossierRepository, type Provenance } from '../../src/dossiers/dossier-repository.js';
import { DossierVerifier } from '../../src/dossiers/verification.js';
import { parsePeriod } from '../../src/surveys/period.js';
import { TEST_DATABASE_URL, isolatedName } from '../helpers/services.js';

const schema = isolatedName('dossiers');
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });
/** An instant given by its Vietnam wall clock (UTC+7). */
const local = (y: number, m: number, d: number, h = 0, mi = 0, s = 0) => new Date(Date.UTC(y, m - 1, d, h - 7, mi, s));
/** The last second of a local day: how a due date without a time is stored. */
const endOfDay = (y: number, m: number, d: number) => local(y, m, d, 23, 59, 59);
const api = (at: Date, note?: string): Provenance => ({ source: 'api', actor: null, at, ...(note ? { note } : {}) });
const CODE = '000.00.01.H56-240101-0001';

afterAll(async () => {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

describe.each([
  ['pglite', () => openDatabase({ dataDir: 'memory://' })],
  ['postgres', () => openDatabase({ url: TEST_DATABASE_URL, schema })],
] as const)('dossiers on %s', (_name, open) => {
  let db: Database;
  let repo: DossierRepository;
  let contactId = 0;

  beforeAll(async () => {
    db = await open();
    await migrate(db);
    await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b'), unit('xa-r')]);
    repo = new DossierRepository(db, new DossierVerifier('k'.repeat(40)));
    const account = await new AccountRepository(db, new SecretBox('s'.repeat(40))).upsert({ unitId: 'xa-a', platform: 'zalo', externalId: '388613280900000101' });
    contactId = (await new ContactRepository(db).touch(account.id, '5012345678901234567', new Date())).id;
  });
  afterAll(() => db.close());

  const base = { unitId: 'xa-a', procedureCode: '1.001234', procedureName: 'Đăng ký khai sinh', receivedAt: local(2024, 1, 1, 8), dueAt: endOfDay(2024, 1, 5) };

  it('creates a dossier with one creation event, and a repeat changes nothing and adds no event', async () => {
    const first = await repo.upsert({ ...base, code: CODE, status: 'received', verification: repo.digest('xa-a', CODE, '4821') }, api(local(2024, 1, 1, 8, 5)));
    expect(first.outcome).toBe('created');
    expect(first.dossier).toMatchObject({ code: CODE, codeKey: CODE.toUpperCase(), status: 'received', hasVerification: true });
    // A dossier received and recorded later starts its history when it was received.
    expect(first.event).toMatchObject({ fromStatus: null, toStatus: 'received', source: 'api' });
    expect(first.event?.at.toISOString()).toBe(local(2024, 1, 1, 8).toISOString());
    const again = await repo.upsert({ ...base, code: CODE, status: 'received', verification: repo.digest('xa-a', CODE, '4821') }, api(local(2024, 1, 1, 9)));
    expect(again.outcome).toBe('unchanged');
    expect(again.event).toBeNull();
    expect(await repo.history(first.dossier.id)).toHaveLength(1);
  });

  it('changes the status with history, and records no event when the status stays', async () => {
    const d = await repo.getByCode('xa-a', CODE);
    if (!d) throw new Error('missing');
    const changed = await repo.changeStatus('xa-a', d.id, { status: 'needs_supplement', missing: 'Bản sao giấy chứng sinh' }, { source: 'admin', actor: null, at: local(2024, 1, 2, 10) });
    expect(changed?.outcome).toBe('updated');
    expect(changed?.dossier).toMatchObject({ status: 'needs_supplement', missing: 'Bản sao giấy chứng sinh' });
    expect(changed?.event).toMatchObject({ fromStatus: 'received', toStatus: 'needs_supplement', source: 'admin' });
    const same = await repo.changeStatus('xa-a', d.id, { status: 'needs_supplement' }, { source: 'admin', actor: null, at: local(2024, 1, 2, 11) });
    expect(same?.outcome).toBe('unchanged');
    expect(same?.event).toBeNull();
    const back = await repo.changeStatus('xa-a', d.id, { status: 'processing' }, { source: 'admin', actor: null, at: local(2024, 1, 3, 9) });
    // Leaving "chờ bổ sung" clears what was missing.
    expect(back?.dossier).toMatchObject({ status: 'processing', missing: null });
    const history = await repo.history(d.id);
    expect(history.map((e) => `${e.fromStatus ?? '-'}>${e.toStatus}`)).toEqual(['->received', 'received>needs_supplement', 'needs_supplement>processing']);
  });

  it('ignores an update older than the newest one applied (out of order), and keeps it out of the history', async () => {
    const d = await repo.getByCode('xa-a', CODE);
    if (!d) throw new Error('missing');
    const ready = await repo.upsert({ ...base, code: CODE, status: 'result_ready', pickupPlace: 'Bộ phận một cửa UBND xã' }, api(local(2024, 1, 4, 15)));
    expect(ready.outcome).toBe('updated');
    expect(ready.changed).toEqual(expect.arrayContaining(['status', 'pickupPlace']));
    // The "processing" push sent at 14:00 arrives after the 15:00 "result ready".
    const late = await repo.upsert({ ...base, code: CODE, status: 'processing' }, api(local(2024, 1, 4, 14)));
    expect(late.outcome).toBe('stale');
    expect(late.dossier.status).toBe('result_ready');
    const lateById = await repo.changeStatus('xa-a', d.id, { status: 'received' }, api(local(2024, 1, 4, 14, 30)));
    expect(lateById?.outcome).toBe('stale');
    const now = await repo.getByCode('xa-a', CODE);
    expect(now).toMatchObject({ status: 'result_ready', resolvedAt: local(2024, 1, 4, 15) });
    expect((await repo.history(d.id)).map((e) => e.toStatus)).toEqual(['received', 'needs_supplement', 'processing', 'result_ready']);
  });

  it('finds a code trimmed and whatever its case and spacing, only in its own unit', async () => {
    expect((await repo.getByCode('xa-a', `  ${CODE.toLowerCase()} `))?.code).toBe(CODE);
    expect((await repo.getByCode('xa-a', '000.00.01.h56 - 240101 - 0001'))?.code).toBe(CODE);
    // Dots and dashes are part of the code: no fuzzy match.
    expect(await repo.getByCode('xa-a', '000.00.01.H56-240101-001')).toBeUndefined();
    expect(await repo.getByCode('xa-a', '0000001H562401010001')).toBeUndefined();
    expect(await repo.getByCode('xa-b', CODE)).toBeUndefined();
    const d = await repo.getByCode('xa-a', CODE);
    expect(await repo.getById('xa-b', d?.id ?? 0)).toBeUndefined();
    expect(await repo.changeStatus('xa-b', d?.id ?? 0, { status: 'returned' }, api(new Date()))).toBeUndefined();
  });

  it('verifies the last 4 digits in its unit only, and stores no digits anywhere', async () => {
    expect((await repo.verify('xa-a', CODE.toLowerCase(), '4821'))?.code).toBe(CODE);
    expect(await repo.verify('xa-a', CODE, '4822')).toBeUndefined();
    expect(await repo.verify('xa-a', CODE, '482')).toBeUndefined();
    expect(await repo.verify('xa-a', CODE, 'abcd')).toBeUndefined();
    expect(await repo.verify('xa-b', CODE, '4821')).toBeUndefined();
    expect(await repo.verify('xa-a', 'KHONG-CO-MA-NAY', '4821')).toBeUndefined();
    // A second dossier with the same digits: another salt, another verifier.
    const other = await repo.upsert({ ...base, code: 'HS-2', status: 'received', verification: repo.digest('xa-a', 'HS-2', '4821') }, api(new Date()));
    const none = await repo.upsert({ ...base, code: 'HS-3', status: 'received' }, api(new Date()));
    expect(await repo.verify('xa-a', 'HS-3', '0000')).toBeUndefined();
    expect(none.dossier.hasVerification).toBe(false);
    const rows = await db.query<{ code: string; verifier: string | null; everything: string }>(
      `SELECT code, verifier, row_to_json(d)::text AS everything FROM dossiers d WHERE unit_id = 'xa-a' AND verifier IS NOT NULL ORDER BY id`,
    );
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.verifier).toMatch(/^v1\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
      // Every column but the verifier (whose hex may contain any 4 digits by chance).
      expect(r.everything.replace(r.verifier ?? '', '')).not.toContain('4821');
    }
    expect(rows[0]?.verifier).not.toBe(rows[1]?.verifier);
    const events = await db.query<{ t: string }>('SELECT row_to_json(e)::text AS t FROM dossier_events e');
    for (const e of events) expect(e.t).not.toContain('4821');
    // A repeat with the same digits keeps the stored verifier (idempotent); new digits replace it.
    const before = rows.find((r) => r.code === 'HS-2')?.verifier;
    const repeat = await repo.upsert({ ...base, code: 'HS-2', status: 'received', verification: repo.digest('xa-a', 'HS-2', '4821') }, api(new Date()));
    expect(repeat.outcome).toBe('unchanged');
    const changed = await repo.upsert({ ...base, code: 'HS-2', status: 'received', verification: repo.digest('xa-a', 'HS-2', '1357') }, api(new Date()));
    expect(changed.changed).toEqual(['verification']);
    expect((await db.query<{ verifier: string }>(`SELECT verifier FROM dossiers WHERE id = $1`, [other.dossier.id]))[0]?.verifier).not.toBe(before);
    expect(await repo.verify('xa-a', 'HS-2', '1357')).toBeDefined();
    expect(await repo.verify('xa-a', 'HS-2', '4821')).toBeUndefined();
  });

  it('lists a unit’s dossiers by status and part of a code', async () => {
    const all = await repo.list('xa-a');
    expect(all.map((d) => d.code)).toEqual(['HS-3', 'HS-2', CODE]);
    expect((await repo.list('xa-a', { status: 'result_ready' })).map((d) => d.code)).toEqual([CODE]);
    expect((await repo.list('xa-a', { code: 'h56-2401' })).map((d) => d.code)).toEqual([CODE]);
    expect((await repo.list('xa-a', { code: '%' })).map((d) => d.code)).toEqual([]);
    expect(await repo.list('xa-b')).toEqual([]);
    expect((await repo.list('xa-a', { limit: 1, beforeId: all[0]?.id })).map((d) => d.code)).toEqual(['HS-2']);
  });

  it('links a contact, offers the evaluation and the result notice once each, even across a re-link', async () => {
    const d = await repo.getByCode('xa-a', CODE);
    if (!d) throw new Error('missing');
    const link = await repo.link(d.id, contactId);
    expect(link).toMatchObject({ notifyResult: true, notifyChanges: false, evaluationOfferedAt: null });
    expect((await repo.linksOf(d.id)).map((l) => l.contactId)).toEqual([contactId]);
    expect((await repo.dossiersOf(contactId)).map((x) => x.code)).toEqual([CODE]);
    expect(await repo.markEvaluationOffered(d.id, contactId)).toBe(true);
    expect(await repo.markEvaluationOffered(d.id, contactId)).toBe(false);
    expect(await repo.markResultNotified(d.id, contactId)).toBe(true);
    expect(await repo.unlink(d.id, contactId)).toBe(true);
    expect(await repo.unlink(d.id, contactId)).toBe(false);
    expect(await repo.linksOf(d.id)).toEqual([]);
    expect(await repo.getLink(d.id, contactId)).toBeUndefined();
    const again = await repo.link(d.id, contactId, { notifyChanges: true });
    expect(again.notifyChanges).toBe(true);
    expect(again.evaluationOfferedAt).not.toBeNull();
    expect(await repo.markEvaluationOffered(d.id, contactId)).toBe(false);
    expect(await repo.markResultNotified(d.id, contactId)).toBe(false);
  });

  it('hands the result events to a notifier in id order (outbox)', async () => {
    const ready = await repo.eventsAfter(0, { toStatuses: ['result_ready', 'returned'] });
    expect(ready.map((e) => [e.code, e.toStatus])).toEqual([[CODE, 'result_ready']]);
    expect(await repo.eventsAfter(ready[0]?.id ?? 0, { toStatuses: ['result_ready'] })).toEqual([]);
    expect((await repo.eventsAfter(0)).length).toBeGreaterThan(3);
  });

  it('counts received, on time and late by procedure per local quarter, with a due date on the quarter boundary', async () => {
    const u = 'xa-r';
    const P1 = { procedureCode: '1.000001', procedureName: 'Chứng thực bản sao' };
    const P2 = { procedureCode: '1.000002', procedureName: 'Đăng ký kết hôn' };
    const make = async (code: string, p: typeof P1, receivedAt: Date, dueAt: Date, steps: Array<[Parameters<DossierRepository['changeStatus']>[2]['status'], Date]>) => {
      const created = await repo.upsert({ unitId: u, code, ...p, receivedAt, dueAt, status: 'received' }, api(receivedAt));
      for (const [status, at] of steps) await repo.changeStatus(u, created.dossier.id, { status, ...(status === 'needs_supplement' ? { missing: 'x' } : {}) }, api(at));
    };
    // A: result ready 20:00 on the due day, 31/03 — on time, in Q1.
    await make('A', P1, local(2024, 1, 5, 8), endOfDay(2024, 3, 31), [['processing', local(2024, 1, 6)], ['result_ready', local(2024, 3, 31, 20)]]);
    // B: result ready 00:30 on 01/04 local (still 31/03 in UTC): late, and in Q2; open overdue at the end of Q1.
    await make('B', P1, local(2024, 2, 10, 9), endOfDay(2024, 3, 31), [['result_ready', local(2024, 4, 1, 0, 30)]]);
    // C: still being processed, due 15/04: open on time at the end of Q1, overdue at the end of Q2.
    await make('C', P2, local(2024, 3, 20, 10), endOfDay(2024, 4, 15), [['processing', local(2024, 3, 21)]]);
    // D: received in December, result 04/01, returned 05/01: resolved on time and returned in Q1.
    await make('D', P1, local(2023, 12, 15, 8), endOfDay(2024, 1, 10), [['result_ready', local(2024, 1, 4, 9)], ['returned', local(2024, 1, 5, 9)]]);
    // E: received 01/04 06:00 local (31/03 in UTC) and withdrawn the next day: Q2.
    await make('E', P2, local(2024, 4, 1, 6), endOfDay(2024, 4, 20), [['withdrawn', local(2024, 4, 2, 9)]]);
    // F: received and rejected in March.
    await make('F', P2, local(2024, 3, 1, 8), endOfDay(2024, 3, 20), [['rejected', local(2024, 3, 5, 9)]]);

    const now = local(2026, 1, 1);
    const q1 = await repo.report(u, parsePeriod('2024-Q1'), now);
    expect(q1.asOf.toISOString()).toBe('2024-03-31T17:00:00.000Z');
    expect(q1.totals).toMatchObject({ received: 4, resolvedOnTime: 2, resolvedLate: 0, openOnTime: 1, openOverdue: 1, closed: 1, returned: 1, onTime: 2, late: 1 });
    const p1 = q1.byProcedure.find((p) => p.procedureCode === P1.procedureCode);
    const p2 = q1.byProcedure.find((p) => p.procedureCode === P2.procedureCode);
    expect(p1).toMatchObject({ procedureName: P1.procedureName, received: 2, onTime: 2, late: 1, openOverdue: 1, returned: 1 });
    expect(p2).toMatchObject({ received: 2, onTime: 0, late: 0, openOnTime: 1, closed: 1 });

    const q2 = await repo.report(u, parsePeriod('2024-Q2'), now);
    expect(q2.totals).toMatchObject({ received: 1, resolvedOnTime: 0, resolvedLate: 1, openOnTime: 0, openOverdue: 1, closed: 1, onTime: 0, late: 2 });

    const march = await repo.report(u, parsePeriod('2024-03'), now);
    expect(march.totals).toMatchObject({ received: 2, resolvedOnTime: 1, closed: 1, openOverdue: 1, openOnTime: 1 });
    const year = await repo.report(u, parsePeriod('2024'), now);
    // By the end of 2024: A, D on time; B late; C overdue; E withdrawn, F rejected.
    expect(year.totals).toMatchObject({ received: 5, resolvedOnTime: 2, resolvedLate: 1, openOverdue: 1, closed: 2, onTime: 2, late: 2 });
    // The current period is judged now, not at its end.
    const current = await repo.report(u, parsePeriod('2024-Q2'), local(2024, 4, 10));
    expect(current.asOf.toISOString()).toBe(local(2024, 4, 10).toISOString());
    expect(current.totals).toMatchObject({ openOnTime: 1, openOverdue: 0, resolvedLate: 1 });
    expect((await repo.report('xa-b', parsePeriod('2024-Q1'), now)).totals.received).toBe(0);

    // D was evaluated by the citizen (a completed per-dossier survey, its code typed in lower case).
    await db.query(`INSERT INTO survey_definitions (id, version, family, kind, meaning_hash, body) VALUES ('ho-so', 1, 'ho-so', 'dossier', 'x', '{}')`);
    const respond = (occasion: string, satisfied: boolean, respondent: string) =>
      db.query(
        `INSERT INTO survey_responses (unit_id, definition_id, definition_version, family, occasion_kind, occasion, respondent, channel, status,
           overall_level, overall_satisfied, started_at, updated_at, completed_at)
         VALUES ($1, 'ho-so', 1, 'ho-so', 'dossier', $2, $3, 'zalo', 'completed', $4, $5, now(), now(), now())`,
        [u, occasion, respondent, satisfied ? 'satisfied' : 'dissatisfied', satisfied],
      );
    await respond(' d ', true, 'a'.repeat(64));
    // A response on a dossier of another code does not count.
    await respond('A-KHAC', false, 'b'.repeat(64));
    expect((await repo.report(u, parsePeriod('2024-Q1'), now)).totals).toMatchObject({ returned: 1, evaluated: 1, satisfied: 1 });
  });
});
