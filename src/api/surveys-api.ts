// Satisfaction survey figures through the JSON API (Authorization: Bearer), with the filters,
// scope and roles of the admin pages (src/admin/surveys-router.ts, whose helpers this reuses):
//   GET /api/v1/units/:unitId/surveys/report            the unit's figures as JSON
//   GET /api/v1/units/:unitId/surveys/raw.csv           every answer (streamed)
//   GET /api/v1/units/:unitId/surveys/summary.csv       the per-unit table
//   GET /api/v1/units/:unitId/surveys/report.xlsx       the workbook (summary + raw, streamed)
//   GET /api/v1/surveys/report (+ the three files)      province-wide (every unit, or ?unit=…)
// Query: period (2026-09, 2026-Q3, 2026-H1, 2026, 2026-09-01..2026-09-15; Vietnam time;
// default the current quarter), survey (a family or "all"; default dossier-evaluation),
// procedure, field, channel. surveysOpenApiPaths() describes the routes for /api/v1/openapi.json.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { authOf, sendAuthError, type Auth } from '../admin/auth/index.js';
import { canExportSurveys, canViewSurveys } from '../admin/survey-access.js';
import { ALL_SURVEYS, readSurveyFilter, reportFilter, sendSurveyExport, SURVEY_EXPORTS, type SurveyExport } from '../admin/surveys-router.js';
import type { AuditInput } from '../store/audit-repository.js';
import type { Queryable } from '../store/database.js';
import { SATISFACTION_LEVELS, type SatisfactionLevel } from '../surveys/definition.js';
import type { SurveyRegistry } from '../surveys/definition-loader.js';
import { buildSurveyReport, percent, type SurveyReport } from '../surveys/report.js';
import { UNIT_BAND_LABELS, type UnitBand } from '../surveys/scoring.js';
import { SurveyChannel } from '../surveys/survey-repository.js';

export interface SurveysApiDeps {
  auth: Auth;
  db: Queryable;
  registry: SurveyRegistry;
  units: { list(): Promise<Array<{ id: string; name: string }>> };
  audit: { record(entry: AuditInput): Promise<void> };
  now?: () => Date;
}

const int = z.number().int();
const Levels = z.object(Object.fromEntries(SATISFACTION_LEVELS.map((l) => [l, int])) as Record<SatisfactionLevel, typeof int>);
const Rate = z.number().nullable().describe('Tỷ lệ 0–1; null khi không có phiếu hợp lệ');
const RatePercent = z.number().nullable().describe('Tỷ lệ phần trăm, 2 chữ số thập phân');
const Figures = z.object({
  responses: int.describe('Số phiếu (đã hoàn thành)'),
  valid: int.describe('Số phiếu hợp lệ (có trả lời câu đánh giá tổng thể)'),
  levels: Levels,
  satisfied: int.describe('Rất hài lòng + Hài lòng'),
  notSatisfied: int,
  rate: Rate,
  ratePercent: RatePercent,
});
const UnitFigures = Figures.extend({ unitId: z.string(), unitName: z.string() });
const IndexFigures = z.object({
  unitId: z.string(),
  unitName: z.string(),
  dossiers: int.describe('Số hồ sơ được đánh giá'),
  indices: z.array(z.object({ index: int, dossiers: int, points: int, score: z.number().describe('Làm tròn 1 chữ số thập phân (TT 01/2018, Điều 15)') })),
  total: z.number(),
  maxTotal: int,
  band: z.enum(['xuat-sac', 'tot', 'kha', 'trung-binh', 'yeu']).nullable().describe('null: chưa đủ 9 chỉ số để xếp loại'),
  bandLabel: z.string().nullable(),
  missingIndices: z.array(int),
});
const ElementFigures = z.object({ elementId: z.string(), name: z.string(), valid: int, levels: Levels, satisfied: int, rate: Rate, ratePercent: RatePercent });
const CriterionFigures = z.object({ questionId: z.string(), elementId: z.string().nullable(), text: z.string(), answered: int, positive: int, rate: Rate, ratePercent: RatePercent });
const MonthFigures = z.object({ month: z.string(), label: z.string(), responses: int, valid: int, satisfied: int, rate: Rate, ratePercent: RatePercent });
export const SurveyReportJson = z.object({
  period: z.object({ code: z.string(), kind: z.enum(['month', 'quarter', 'half', 'year', 'custom']), label: z.string(), from: z.string(), to: z.string().describe('Thời điểm đầu tiên sau kỳ') }),
  filter: z.object({ survey: z.string(), procedure: z.string().nullable(), field: z.string().nullable(), channel: SurveyChannel.nullable(), units: z.array(z.string()).nullable() }),
  total: Figures,
  units: z.array(UnitFigures),
  indices: z.array(IndexFigures),
  elements: z.array(ElementFigures),
  criteria: z.array(CriterionFigures),
  trend: z.array(MonthFigures),
});
const ErrorResponse = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

const withPercent = <T extends { rate: number | null }>(x: T): T & { ratePercent: number | null } => ({ ...x, ratePercent: percent(x.rate) });

export function reportJson(r: SurveyReport): z.infer<typeof SurveyReportJson> {
  return SurveyReportJson.parse({
    period: { code: r.period.code, kind: r.period.kind, label: r.period.label, from: r.period.from.toISOString(), to: r.period.to.toISOString() },
    filter: {
      survey: r.filter.family ?? ALL_SURVEYS,
      procedure: r.filter.procedureCode ?? null,
      field: r.filter.field ?? null,
      channel: r.filter.channel ?? null,
      units: r.filter.unitIds ? [...r.filter.unitIds] : null,
    },
    total: withPercent(r.total),
    units: r.units.map(withPercent),
    indices: r.indices.map((u) => ({
      unitId: u.unitId,
      unitName: u.unitName,
      dossiers: u.dossiers,
      indices: u.indices,
      total: u.total,
      maxTotal: u.maxTotal,
      band: u.classification.band,
      bandLabel: u.classification.band ? UNIT_BAND_LABELS[u.classification.band satisfies UnitBand] : null,
      missingIndices: u.classification.missing,
    })),
    elements: r.elements.map(withPercent),
    criteria: r.criteria.map(withPercent),
    trend: r.trend.map(withPercent),
  });
}

const unitParam = (req: Request): string | null => (typeof req.params.unitId === 'string' && req.params.unitId !== '' ? req.params.unitId : null);
const UNIT_ID = /^[a-z0-9-]{1,64}$/;

export function createSurveysApiRouter(deps: SurveysApiDeps): Router {
  const router = express.Router();
  const now = deps.now ?? (() => new Date());

  const allowed = (check: typeof canViewSurveys, scope: 'unit' | 'province') => [
    deps.auth.requireUser(),
    (req: Request, res: Response, next: NextFunction): void => {
      const unitId = scope === 'unit' ? unitParam(req) : null;
      if ((scope === 'unit' && unitId === null) || !check(authOf(res), unitId)) return sendAuthError(res, 'FORBIDDEN', req);
      next();
    },
  ];

  const badRequest = (res: Response, message: string): void => void res.status(400).json({ error: { code: 'BAD_REQUEST', message } });
  const unknownUnit = (res: Response, ids: readonly string[]): void =>
    void res.status(404).json({ error: { code: 'UNKNOWN_UNIT', message: `Không tìm thấy đơn vị: ${ids.join(', ')}` } });

  /** The units the request covers: the route's unit, or the province's (all, or ?unit=…); undefined when answered. */
  async function scopeOf(req: Request, res: Response, scope: 'unit' | 'province'): Promise<string[] | null | undefined> {
    const known = new Set((await deps.units.list()).map((u) => u.id));
    if (scope === 'unit') {
      const unitId = unitParam(req) ?? '';
      if (!known.has(unitId)) return void unknownUnit(res, [unitId]);
      return [unitId];
    }
    const raw = req.query.unit;
    const asked = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((u): u is string => typeof u === 'string');
    if (asked.length === 0) return null;
    const bad = asked.filter((u) => !UNIT_ID.test(u));
    if (bad.length > 0 || asked.length > 500) return void badRequest(res, 'unit: mã đơn vị không hợp lệ');
    const unknown = asked.filter((u) => !known.has(u));
    if (unknown.length > 0) return void unknownUnit(res, unknown);
    return [...new Set(asked)].sort();
  }

  for (const scope of ['unit', 'province'] as const) {
    const base = scope === 'unit' ? '/api/v1/units/:unitId/surveys' : '/api/v1/surveys';

    router.get(`${base}/report`, ...allowed(canViewSurveys, scope), async (req, res) => {
      const read = readSurveyFilter(req.query, deps.registry, now());
      if (!read.ok) return badRequest(res, Object.entries(read.errors).map(([k, v]) => `${k}: ${v}`).join(' '));
      const units = await scopeOf(req, res, scope);
      if (units === undefined) return;
      const report = await buildSurveyReport(deps.db, reportFilter(read.filter, units), { registry: deps.registry });
      res.setHeader('Cache-Control', 'no-store');
      res.json(reportJson(report));
    });

    for (const kind of SURVEY_EXPORTS) {
      router.get(`${base}/${kind}`, ...allowed(canExportSurveys, scope), async (req, res) => {
        const read = readSurveyFilter(req.query, deps.registry, now());
        if (!read.ok) return badRequest(res, Object.entries(read.errors).map(([k, v]) => `${k}: ${v}`).join(' '));
        const units = await scopeOf(req, res, scope);
        if (units === undefined) return;
        await sendSurveyExport(res, kind satisfies SurveyExport, {
          db: deps.db,
          registry: deps.registry,
          filter: reportFilter(read.filter, units),
          unitId: scope === 'unit' ? (unitParam(req) ?? null) : null,
          actor: authOf(res).user.id,
          via: 'api',
          audit: deps.audit,
          now: now(),
        });
      });
    }
  }

  return router;
}

const json = (schema: z.ZodType) => ({ 'application/json': { schema: z.toJSONSchema(schema, { io: 'output' }) } });

/** The OpenAPI 3.1 path objects of these routes, to merge into openApiDocument().paths. */
export function surveysOpenApiPaths(): Record<string, unknown> {
  const errors = {
    '400': { description: 'Tham số không hợp lệ (kỳ báo cáo, phiếu, kênh…)', content: json(ErrorResponse) },
    '401': { description: 'Chưa đăng nhập (thiếu hoặc sai token)', content: json(ErrorResponse) },
    '403': { description: 'Không có quyền với đơn vị này (hoặc toàn tỉnh)', content: json(ErrorResponse) },
    '404': { description: 'Không có đơn vị này', content: json(ErrorResponse) },
  };
  const query = (name: string, description: string, schema: Record<string, unknown> = { type: 'string' }) => ({ name, in: 'query', required: false, schema, description });
  const filters = [
    query('period', 'Kỳ báo cáo theo giờ Việt Nam: 2026-09 (tháng), 2026-Q3 (quý), 2026-H1 (6 tháng), 2026 (năm), 2026-09-01..2026-09-15 (khoảng ngày); mặc định quý hiện tại'),
    query('survey', `Họ phiếu khảo sát (dossier-evaluation, sipas…) hoặc "${ALL_SURVEYS}"; mặc định dossier-evaluation`),
    query('procedure', 'Mã thủ tục, ví dụ 1.001193'),
    query('field', 'Lĩnh vực'),
    query('channel', 'Kênh', { type: 'string', enum: [...SurveyChannel.options] }),
  ];
  const unit = { name: 'unitId', in: 'path', required: true, schema: { type: 'string' } };
  const units = { name: 'unit', in: 'query', required: false, schema: { type: 'array', items: { type: 'string' } }, style: 'form', explode: true, description: 'Chỉ các đơn vị này (lặp lại tham số); mặc định mọi đơn vị' };
  const file = (type: string, description: string) => ({ '200': { description, content: { [type]: { schema: { type: 'string', format: 'binary' } } } }, ...errors });
  const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  const paths: Record<string, unknown> = {};
  for (const scope of ['unit', 'province'] as const) {
    const base = scope === 'unit' ? '/api/v1/units/{unitId}/surveys' : '/api/v1/surveys';
    const parameters = scope === 'unit' ? [unit, ...filters] : [units, ...filters];
    const who = scope === 'unit' ? 'của đơn vị' : 'toàn tỉnh, các đơn vị cạnh nhau';
    paths[`${base}/report`] = {
      get: {
        summary: `Kết quả khảo sát sự hài lòng ${who}: tỷ lệ hài lòng, phân bố các mức, theo tháng, theo yếu tố, điểm chỉ số (TT 01/2018)`,
        parameters,
        responses: { '200': { description: 'Số liệu', content: json(SurveyReportJson) }, ...errors },
      },
    };
    paths[`${base}/raw.csv`] = { get: { summary: `Dữ liệu chi tiết từng câu trả lời ${who} (CSV, UTF-8 có BOM)`, parameters, responses: file('text/csv', 'Tệp CSV, gửi dần khi đọc') } };
    paths[`${base}/summary.csv`] = { get: { summary: `Bảng tổng hợp theo đơn vị ${who} (CSV, UTF-8 có BOM)`, parameters, responses: file('text/csv', 'Tệp CSV') } };
    paths[`${base}/report.xlsx`] = { get: { summary: `Báo cáo Excel ${who}: bảng tổng hợp và dữ liệu chi tiết`, parameters, responses: file(XLSX, 'Tệp XLSX, gửi dần khi ghi') } };
  }
  return paths;
}
