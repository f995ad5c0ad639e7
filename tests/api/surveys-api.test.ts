// Survey figures through /api/v1 with Bearer tokens, on the hand-computed fixture (figures worked
// out in tests/surveys/report.test.ts): the JSON report with the admin's filters, the unit scope
// and roles, the province side by side (or some units), the streamed exports read back, and the
// OpenAPI paths.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { surveysOpenApiPaths, type SurveyReportJson } from '../../src/api/surveys-api.js';
import type { z } from 'zod';
import { startSurveysApp, type SurveysApp, type Who } from '../admin/surveys-app.js';
import { parseCsv } from '../surveys/rfc4180.js';

type Report = z.infer<typeof SurveyReportJson>;

let app: SurveysApp;
beforeAll(async () => {
  app = await startSurveysApp('surveys_api', { login: false, tokens: true });
});
afterAll(async () => {
  await app?.close();
});

const call = (path: string, who?: Who) => fetch(app.base + path, { headers: who ? { authorization: `Bearer ${app.tokens[who]}` } : {} });
const report = async (path: string, who: Who): Promise<Report> => {
  const res = await call(path, who);
  expect(res.status, path).toBe(200);
  return (await res.json()) as Report;
};
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

describe('GET …/surveys/report', () => {
  it('gives a unit’s hand-computed figures', async () => {
    const r = await report('/api/v1/units/xa-a/surveys/report?period=2026-Q3', 'reporterA');
    expect(r.period).toEqual({ code: '2026-Q3', kind: 'quarter', label: 'Quý III/2026', from: '2026-06-30T17:00:00.000Z', to: '2026-09-30T17:00:00.000Z' });
    expect(r.filter).toEqual({ survey: 'dossier-evaluation', procedure: null, field: null, channel: null, units: ['xa-a'] });
    expect(r.total).toEqual({
      responses: 5,
      valid: 4,
      levels: { very_satisfied: 1, satisfied: 2, neutral: 0, dissatisfied: 1, very_dissatisfied: 0 },
      satisfied: 3,
      notSatisfied: 1,
      rate: 0.75,
      ratePercent: 75,
    });
    expect(r.units.map((u) => u.unitId)).toEqual(['xa-a']);
    expect(r.indices).toEqual([
      {
        unitId: 'xa-a',
        unitName: 'UBND xã An',
        dossiers: 4,
        indices: [
          { index: 1, dossiers: 4, points: 4, score: 1 },
          { index: 3, dossiers: 4, points: 4, score: 1 },
          { index: 4, dossiers: 3, points: 3, score: 1 },
          { index: 7, dossiers: 3, points: 2, score: 0.7 },
        ],
        total: 3.7,
        maxTotal: 8,
        band: null,
        bandLabel: null,
        missingIndices: [2, 5, 6, 8, 9],
      },
    ]);
    expect(r.trend.map((m) => [m.month, m.responses, m.valid, m.satisfied, m.ratePercent])).toEqual([
      ['2026-07', 2, 2, 2, 100],
      ['2026-08', 2, 1, 0, 0],
      ['2026-09', 1, 1, 1, 100],
    ]);
    expect(r.elements).toEqual([]);
  });

  it('applies the filters: SIPAS elements, channel, custom range, and the current quarter by default', async () => {
    const sipas = await report('/api/v1/units/xa-a/surveys/report?period=2026-Q3&survey=sipas', 'officerA');
    expect(sipas.elements.map((e) => [e.elementId, e.valid, e.satisfied, e.ratePercent])).toEqual([
      ['access', 3, 2, 66.67],
      ['officials', 1, 0, 0],
    ]);
    expect(sipas.criteria.map((c) => [c.questionId, c.answered, c.positive])).toEqual([
      ['access-seats', 3, 2],
      ['access-equipment', 1, 0],
    ]);
    const web = await report('/api/v1/surveys/report?period=2026-Q3&channel=web', 'reporterProvince');
    expect(web.total).toMatchObject({ responses: 1, valid: 1, satisfied: 1 });
    const lastDay = await report('/api/v1/surveys/report?period=2026-09-30..2026-09-30', 'admin');
    expect(lastDay.total).toMatchObject({ responses: 1, satisfied: 1 });
    expect(lastDay.period.kind).toBe('custom');
    const current = await report('/api/v1/surveys/report', 'admin');
    expect(current.period.code).toBe('2026-Q4');
    expect(current.total).toMatchObject({ responses: 2, valid: 2, satisfied: 2 });
    const bad = await call('/api/v1/units/xa-a/surveys/report?period=2026-Q5', 'reporterA');
    expect(bad.status).toBe(400);
    expect(await errorOf(bad)).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('Kỳ báo cáo không hợp lệ') });
    const channel = await call('/api/v1/units/xa-a/surveys/report?channel=fax', 'reporterA');
    expect(channel.status).toBe(400);
  });

  it('shows the province’s units side by side, or the units asked', async () => {
    const all = await report('/api/v1/surveys/report?period=2026-Q3', 'reporterProvince');
    expect(all.units.map((u) => [u.unitId, u.responses, u.valid, u.ratePercent])).toEqual([
      ['xa-a', 5, 4, 75],
      ['xa-b', 4, 4, 50],
      ['xa-c', 0, 0, null],
    ]);
    expect(all.total.ratePercent).toBe(62.5);
    const some = await report('/api/v1/surveys/report?period=2026-Q3&unit=xa-b&unit=xa-c', 'reporterProvince');
    expect(some.units.map((u) => u.unitId)).toEqual(['xa-b', 'xa-c']);
    expect(some.filter.units).toEqual(['xa-b', 'xa-c']);
    const unknown = await call('/api/v1/surveys/report?unit=xa-khong-co', 'reporterProvince');
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe('UNKNOWN_UNIT');
    expect((await call('/api/v1/units/xa-khong-co/surveys/report', 'admin')).status).toBe(404);
  });

  it('keeps tokens to their scope and role', async () => {
    expect((await call('/api/v1/units/xa-a/surveys/report')).status).toBe(401);
    expect((await call('/api/v1/units/xa-b/surveys/report', 'officerA')).status).toBe(403);
    expect((await call('/api/v1/units/xa-b/surveys/report', 'reporterA')).status).toBe(403);
    expect((await call('/api/v1/surveys/report', 'officerA')).status).toBe(403);
    expect((await call('/api/v1/surveys/report', 'reporterA')).status).toBe(403);
    const forbidden = await call('/api/v1/units/xa-a/surveys/raw.csv', 'officerA');
    expect(forbidden.status).toBe(403);
    expect((await errorOf(forbidden)).code).toBe('FORBIDDEN');
    expect((await call('/api/v1/surveys/summary.csv', 'reporterA')).status).toBe(403);
    expect((await call('/api/v1/units/xa-b/surveys/report', 'officerB')).status).toBe(200);
  });
});

describe('exports through the API', () => {
  it('streams the raw CSV (BOM, inert formulas), the summary CSV and the workbook', async () => {
    const raw = await call('/api/v1/units/xa-a/surveys/raw.csv?period=2026-Q3', 'reporterA');
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-disposition')).toBe('attachment; filename="khao-sat-xa-a-2026-Q3-chi-tiet.csv"');
    const bytes = Buffer.from(await raw.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const table = parseCsv(bytes.subarray(3).toString('utf8'));
    const comment = (table[0] ?? []).indexOf('Ý kiến');
    expect(table.slice(1).map((r) => r[comment]).filter((c) => c)).toEqual([`'=HYPERLINK("http://x.example","bấm") gọi # # #`, `'+ phải đi lại, "rất" mệt, nhiều lần`]);

    const summary = parseCsv((await (await call('/api/v1/surveys/summary.csv?period=2026-Q3&unit=xa-b', 'reporterProvince')).text()).replace(/^\uFEFF/, ''));
    expect(summary.slice(1).map((r) => r.slice(1, 9))).toEqual([
      ['xa-b', 'UBND xã Bình', '4', '4', '1', '1', '2', '50'],
      ['', 'Tổng cộng', '4', '4', '1', '1', '2', '50'],
    ]);

    const xlsx = await call('/api/v1/surveys/report.xlsx?period=2026-Q3&survey=sipas', 'admin');
    expect(xlsx.headers.get('content-disposition')).toBe('attachment; filename="khao-sat-toan-tinh-2026-Q3-bao-cao.xlsx"');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(Buffer.from(await xlsx.arrayBuffer()) as unknown as ArrayBuffer);
    const lines: string[] = [];
    wb.getWorksheet('Tổng hợp')?.eachRow((row) => lines.push((row.values as unknown[]).slice(1).join('|')));
    expect(lines).toContain('1|Tiếp cận dịch vụ hành chính công|3|1|1|1|0|0|66.67');
    const audited = (await app.audit.list(null, 50)).filter((e) => e.action === 'export.survey_report');
    expect(audited.map((e) => e.detail)).toEqual(expect.arrayContaining([expect.objectContaining({ via: 'api', format: 'report.xlsx', survey: 'sipas' })]));
  });

  it('describes its paths for the OpenAPI document', () => {
    const paths = surveysOpenApiPaths();
    expect(Object.keys(paths)).toEqual([
      '/api/v1/units/{unitId}/surveys/report',
      '/api/v1/units/{unitId}/surveys/raw.csv',
      '/api/v1/units/{unitId}/surveys/summary.csv',
      '/api/v1/units/{unitId}/surveys/report.xlsx',
      '/api/v1/surveys/report',
      '/api/v1/surveys/raw.csv',
      '/api/v1/surveys/summary.csv',
      '/api/v1/surveys/report.xlsx',
    ]);
    const text = JSON.stringify(paths);
    expect(text).toContain('"ratePercent"');
    expect(text).toContain('2026-Q3');
  });
});
