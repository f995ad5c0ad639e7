// The survey figures on the hand-computed fixture (tests/surveys/fixture.ts), on PGlite and on
// PostgreSQL. Every expected number below is worked out by hand from the fixture, not by the code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/database.js';
import { loadSurveyRegistry } from '../../src/surveys/definition-loader.js';
import { parsePeriod } from '../../src/surveys/period.js';
import { buildSurveyReport, percent, type ReportFilter, type SurveyReport } from '../../src/surveys/report.js';
import { SurveyRepository } from '../../src/surveys/survey-repository.js';
import { isolatedName } from '../helpers/services.js';
import { giveFixture } from './fixture.js';
import { KEY, dropSchema, openTestDatabase, unit, type Backend } from './harness.js';

const registry = loadSurveyRegistry();
const Q3 = parsePeriod('2026-Q3');
const dossierQ3: ReportFilter = { period: Q3, family: 'dossier-evaluation' };
const unitRow = (r: SurveyReport, id: string) => r.units.find((u) => u.unitId === id);
const indexRow = (r: SurveyReport, id: string) => r.indices.find((u) => u.unitId === id);
const scores = (r: SurveyReport, id: string) => Object.fromEntries((indexRow(r, id)?.indices ?? []).map((s) => [s.index, [s.points, s.dossiers, s.score]]));

const schemas: string[] = [];
afterAll(async () => {
  for (const s of schemas) await dropSchema(s);
});

describe.each(['pglite', 'postgres'] as const)('survey report on %s', (backend: Backend) => {
  let db: Database;
  const schema = isolatedName('surveys_report');
  beforeAll(async () => {
    if (backend === 'postgres') schemas.push(schema);
    db = await openTestDatabase(backend, schema, [unit('xa-a', 'UBND xã An'), unit('xa-b', 'UBND xã Bình'), unit('xa-c', 'UBND xã Châu')]);
    await giveFixture(new SurveyRepository(db, registry, { respondentKey: KEY }));
  });
  afterAll(() => db?.close());

  it('computes the satisfaction rate per unit and in total, every unit side by side', async () => {
    const r = await buildSurveyReport(db, dossierQ3, { registry });
    expect(r.units.map((u) => [u.unitId, u.unitName])).toEqual([
      ['xa-a', 'UBND xã An'],
      ['xa-b', 'UBND xã Bình'],
      ['xa-c', 'UBND xã Châu'],
    ]);
    // xa-a: phiếu = A1, A2, A3, A4, A1' = 5 (A5 in progress and A6 cancelled are not phiếu);
    // valid = 4 (A4 skipped the overall rating); Rất hài lòng 1 (A1) + Hài lòng 2 (A2, A1') = 3;
    // Không hài lòng 1 (A3); rate = 3 / 4 = 75 %.
    expect(unitRow(r, 'xa-a')).toEqual({
      unitId: 'xa-a',
      unitName: 'UBND xã An',
      responses: 5,
      valid: 4,
      levels: { very_satisfied: 1, satisfied: 2, neutral: 0, dissatisfied: 1, very_dissatisfied: 0 },
      satisfied: 3,
      notSatisfied: 1,
      rate: 0.75,
    });
    // xa-b (5 levels): B1 Rất hài lòng, B2 Bình thường, B3 Rất không hài lòng, B4 Hài lòng
    // (30/09 23:30 local, still Q3); B5 (01/10 00:10 local) is Q4. valid 4, satisfied 1 + 1 = 2,
    // not satisfied 2 (Bình thường counts as not satisfied); rate = 2 / 4 = 50 %.
    expect(unitRow(r, 'xa-b')).toMatchObject({
      responses: 4,
      valid: 4,
      levels: { very_satisfied: 1, satisfied: 1, neutral: 1, dissatisfied: 0, very_dissatisfied: 1 },
      satisfied: 2,
      notSatisfied: 2,
      rate: 0.5,
    });
    // xa-c has no responses: shown with zeros and no rate.
    expect(unitRow(r, 'xa-c')).toMatchObject({ responses: 0, valid: 0, satisfied: 0, rate: null });
    // Total: phiếu 5 + 4 = 9, valid 4 + 4 = 8, satisfied 3 + 2 = 5, rate 5 / 8 = 62.5 %.
    expect(r.total).toEqual({
      responses: 9,
      valid: 8,
      levels: { very_satisfied: 2, satisfied: 3, neutral: 1, dissatisfied: 1, very_dissatisfied: 1 },
      satisfied: 5,
      notSatisfied: 3,
      rate: 0.625,
    });
    expect(percent(r.total.rate)).toBe(62.5);
  });

  it('scores TT 01/2018 indices per unit over dossiers (Điều 15)', async () => {
    const r = await buildSurveyReport(db, dossierQ3, { registry });
    // xa-a dossiers: HS-A1 (scored by A1', the later response), HS-A2, HS-A3, HS-A4 = 4.
    // index 1: A2 1 + A3 0 + A4 2 + A1' 1 = 4 over 4 → 1.0
    // index 3: A2 1 + A3 0 + A4 2 + A1' 1 = 4 over 4 → 1.0
    // index 4: A2 1 + A3 0 + A1' 2 = 3 over 3 (A4 skipped) → 1.0
    // index 7: A2 1 (on time, no harassment) + A3 0 (harassment) + A1' 1 = 2 over 3 (A4 skipped) → 0.667 → 0.7
    // total 1.0 + 1.0 + 1.0 + 0.7 = 3.7 of at most 8; no band: indices 2, 5, 6, 8, 9 are not the citizens'.
    expect(scores(r, 'xa-a')).toEqual({ 1: [4, 4, 1], 3: [4, 4, 1], 4: [3, 3, 1], 7: [2, 3, 0.7] });
    expect(indexRow(r, 'xa-a')).toMatchObject({ dossiers: 4, total: 3.7, maxTotal: 8, classification: { band: null, missing: [2, 5, 6, 8, 9] } });
    // xa-b: index 1: B1 1 + B3 0 + B4 2 = 3 over 3 (B2 skipped) → 1.0
    // index 3: B2 1 + B3 0 + B4 2 = 3 over 3 (B1 skipped) → 1.0
    // index 4: B1 2 + B2 1 + B3 0 + B4 2 = 5 over 4 → 1.25 → 1.3 (half up)
    // index 7: B1 1 + B3 0 + B4 2 = 3 over 3 (B2 has no timeliness) → 1.0
    // total 1.0 + 1.0 + 1.3 + 1.0 = 4.3.
    expect(scores(r, 'xa-b')).toEqual({ 1: [3, 3, 1], 3: [3, 3, 1], 4: [5, 4, 1.3], 7: [3, 3, 1] });
    expect(indexRow(r, 'xa-b')).toMatchObject({ dossiers: 4, total: 4.3 });
    expect(indexRow(r, 'xa-c')).toMatchObject({ dossiers: 0, indices: [], total: 0 });
  });

  it('gives the same figures without a registry (every index aggregated, element query run)', async () => {
    const withRegistry = await buildSurveyReport(db, dossierQ3, { registry });
    const without = await buildSurveyReport(db, dossierQ3);
    expect(without.units).toEqual(withRegistry.units);
    expect(without.indices).toEqual(withRegistry.indices);
    expect(without.trend).toEqual(withRegistry.trend);
    expect(without.elements).toEqual([]);
  });

  it('gives the trend by local month', async () => {
    const r = await buildSurveyReport(db, dossierQ3, { registry });
    // July: A1 RHL, A2 HL, B1 RHL → 3 phiếu, 3 valid, 3 satisfied.
    // August: A3 KHL, A4 (no overall), B2 Bình thường → 3 phiếu, 2 valid, 0 satisfied.
    // September: A1' HL, B3 RKHL, B4 HL (23:30 on the 30th) → 3 phiếu, 3 valid, 2 satisfied.
    expect(r.trend.map((m) => [m.month, m.label, m.responses, m.valid, m.satisfied, percent(m.rate)])).toEqual([
      ['2026-07', 'Tháng 7/2026', 3, 3, 3, 100],
      ['2026-08', 'Tháng 8/2026', 3, 2, 0, 0],
      ['2026-09', 'Tháng 9/2026', 3, 3, 2, 66.67],
    ]);
  });

  it('draws the quarter boundary in Vietnam time', async () => {
    const q4 = await buildSurveyReport(db, { period: parsePeriod('2026-Q4'), family: 'dossier-evaluation' }, { registry });
    // Only B5, completed 01/10/2026 00:10 local (30/09 17:10 UTC).
    expect(q4.total).toMatchObject({ responses: 1, valid: 1, satisfied: 1 });
    expect(unitRow(q4, 'xa-b')?.levels.very_satisfied).toBe(1);
    const lastDay = await buildSurveyReport(db, { period: parsePeriod('2026-09-30..2026-09-30'), family: 'dossier-evaluation' }, { registry });
    // Only B4, completed 30/09/2026 23:30 local.
    expect(lastDay.total).toMatchObject({ responses: 1, valid: 1, satisfied: 1, levels: { satisfied: 1 } });
    const october = await buildSurveyReport(db, { period: parsePeriod('2026-10'), family: 'dossier-evaluation' }, { registry });
    expect(october.trend).toEqual([{ month: '2026-10', label: 'Tháng 10/2026', responses: 1, valid: 1, satisfied: 1, rate: 1 }]);
  });

  it('filters by unit, channel, field and procedure', async () => {
    const b = await buildSurveyReport(db, { ...dossierQ3, unitIds: ['xa-b'] }, { registry });
    expect(b.units.map((u) => u.unitId)).toEqual(['xa-b']);
    expect(b.total).toMatchObject({ responses: 4, valid: 4, satisfied: 2, rate: 0.5 });
    // Web: only A1'.
    const web = await buildSurveyReport(db, { ...dossierQ3, channel: 'web' }, { registry });
    expect(web.total).toMatchObject({ responses: 1, valid: 1, satisfied: 1 });
    expect(unitRow(web, 'xa-a')?.responses).toBe(1);
    expect(scores(web, 'xa-a')).toEqual({ 1: [1, 1, 1], 3: [1, 1, 1], 4: [2, 1, 2], 7: [1, 1, 1] });
    // Hộ tịch / 1.001193: only A2.
    for (const f of [{ field: 'Hộ tịch' }, { procedureCode: '1.001193' }]) {
      const one = await buildSurveyReport(db, { ...dossierQ3, ...f }, { registry });
      expect(one.total).toMatchObject({ responses: 1, valid: 1, satisfied: 1, levels: { satisfied: 1 } });
    }
    const none = await buildSurveyReport(db, { ...dossierQ3, channel: 'cli' }, { registry });
    expect(none.total).toMatchObject({ responses: 0, valid: 0, rate: null });
  });

  it('gives SIPAS figures per element and per criterion', async () => {
    const r = await buildSurveyReport(db, { period: Q3, family: 'sipas' }, { registry });
    // Overall: S1 RHL, S2 HL, S3 KHL → 2 / 3.
    expect(unitRow(r, 'xa-a')).toMatchObject({ responses: 3, valid: 3, satisfied: 2 });
    // Access: S1 Hài lòng, S2 Bình thường, S3 Rất hài lòng → valid 3, satisfied 2.
    // Officials: S3 Không hài lòng → valid 1, satisfied 0. Other elements unanswered: absent.
    expect(r.elements.map((e) => [e.elementId, e.name, e.valid, e.satisfied, percent(e.rate)])).toEqual([
      ['access', 'Tiếp cận dịch vụ hành chính công', 3, 2, 66.67],
      ['officials', 'Công chức trực tiếp giải quyết công việc', 1, 0, 0],
    ]);
    expect(r.elements[0]?.levels).toEqual({ very_satisfied: 1, satisfied: 1, neutral: 1, dissatisfied: 0, very_dissatisfied: 0 });
    // Seats: yes, yes, no → 2 of 3. Equipment: no (S1), skipped (S2), not asked (S3) → 0 of 1.
    expect(r.criteria.map((c) => [c.questionId, c.elementId, c.answered, c.positive, percent(c.rate)])).toEqual([
      ['access-seats', 'access', 3, 2, 66.67],
      ['access-equipment', 'access', 1, 0, 0],
    ]);
    expect(r.criteria[0]?.text).toBe('Nơi ngồi chờ tại Bộ phận Một cửa có đủ chỗ ngồi không?');
    expect(r.indices.every((u) => u.indices.length === 0)).toBe(true);
    // The dossier report has no element figures.
    const dossierReport = await buildSurveyReport(db, dossierQ3, { registry });
    expect(dossierReport.elements).toEqual([]);
    expect(dossierReport.criteria).toEqual([]);
  });
});
