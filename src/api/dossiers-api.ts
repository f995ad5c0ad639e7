// Dossiers in the JSON API (/api/v1, Bearer tokens, the admin's roles and unit scope), for a
// province's one-stop system to push what happens at the desk: create or update a dossier
// (POST), change its status (PATCH), read it with its history (GET). POST and PATCH need an
// `Idempotency-Key` header: a replay with the same key and body gets the stored response (and
// changes nothing), the same key with another body is refused with 422. Every write carries the
// source's time (`at`): an update older than the newest one applied is acknowledged as "stale"
// and changes nothing. Phone numbers never come here: only `phoneLast4`, hashed at once.
// dossiersOpenApiPaths() describes the routes for /api/v1/openapi.json.
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { authOf, type Auth } from '../admin/auth/index.js';
import { DOSSIERS_ACTION } from '../admin/dossiers-router.js';
import { DossierCode, codeKey } from '../dossiers/code.js';
import type { Dossier, DossierRepository, DossierWriter, HistoryEntry, WriteResult } from '../dossiers/dossier-repository.js';
import { IdempotencyKey, requestHash, type IdempotencyStore } from '../dossiers/idempotency-store.js';
import type { Queryable } from '../store/database.js';
import { localInstant, parseLocalDate } from '../dossiers/local-time.js';
import { DossierStatus, STATUS_VI } from '../dossiers/status.js';
import { dossierReportCsv, dossierReportFileName, evaluatedShare, onTimeShare, satisfiedShare, writeDossierReportXlsx } from '../dossiers/report-export.js';
import { parsePeriod, PeriodError, quarterOf } from '../surveys/period.js';
import type { AuditRepository } from '../store/audit-repository.js';

export interface DossiersApiDeps {
  auth: Auth;
  dossiers: DossierRepository;
  idempotency: IdempotencyStore;
  /** Records report downloads (optional: tests without an audit log). */
  audit?: Pick<AuditRepository, 'record'>;
  /** The unit's name for the spreadsheet heading (optional: the unit id otherwise). */
  units?: { get(unitId: string): Promise<{ name: string } | undefined | null> };
  /** The clock (tests pin it). */
  now?: () => Date;
}

/** How far ahead of the server's clock `at` may be (clock skew of the sender). */
const FUTURE_SLACK_MS = 10 * 60_000;

const NOT_AN_OBJECT = 'nội dung phải là một đối tượng JSON';
const Instant = z.iso.datetime({ offset: true, error: 'cần thời điểm ISO 8601 có múi giờ, ví dụ 2024-03-15T14:30:00+07:00' });
/** A date-time, or a date alone (yyyy-MM-dd, Vietnam time: a due date means the end of that day). */
const InstantOrDate = z.union([z.iso.datetime({ offset: true }), z.iso.date()], {
  error: 'cần ngày yyyy-MM-dd (giờ Việt Nam) hoặc thời điểm ISO 8601 có múi giờ',
});
const Text = (max: number, what: string) => z.string({ error: `${what} phải là một chuỗi` }).trim().min(1, `${what} không được để trống`).max(max, `${what} tối đa ${max} ký tự`);
const Status = z.enum(DossierStatus.options, { error: `trạng thái phải là một trong: ${DossierStatus.options.join(', ')}` }).describe(
  DossierStatus.options.map((s) => `${s}: ${STATUS_VI[s]}`).join('; '),
);

export const DossierUpsertInput = z
  .object(
    {
      code: DossierCode.describe('Mã hồ sơ như trên Giấy tiếp nhận, ví dụ 000.00.01.H56-240101-0001 (không phân biệt hoa thường, khoảng trắng)'),
      procedureCode: Text(50, 'mã thủ tục').optional(),
      procedureName: Text(500, 'tên thủ tục').optional(),
      receivedAt: InstantOrDate,
      dueAt: InstantOrDate.nullable().optional(),
      status: Status.default('received'),
      missing: Text(1000, 'nội dung cần bổ sung').optional().describe('Bắt buộc khi status = needs_supplement'),
      pickupPlace: Text(300, 'nơi trả kết quả').nullable().optional(),
      phoneLast4: z.string().regex(/^\d{4}$/, 'phoneLast4: đúng 4 chữ số').optional().describe('4 số cuối điện thoại người nộp; chỉ lưu dạng mã hoá'),
      at: Instant.optional().describe('Thời điểm của thông tin theo đồng hồ hệ thống gửi; mặc định: lúc nhận'),
      note: Text(1000, 'ghi chú').optional(),
    },
    { error: NOT_AN_OBJECT },
  )
  .strict()
  .refine((b) => b.procedureCode !== undefined || b.procedureName !== undefined, { message: 'cần procedureCode hoặc procedureName', path: ['procedureCode'] })
  .refine((b) => b.status !== 'needs_supplement' || b.missing !== undefined, { message: 'hồ sơ chờ bổ sung cần missing (nội dung cần bổ sung)', path: ['missing'] });

export const DossierStatusInput = z
  .object(
    {
      status: Status,
      missing: Text(1000, 'nội dung cần bổ sung').optional(),
      pickupPlace: Text(300, 'nơi trả kết quả').nullable().optional(),
      dueAt: InstantOrDate.nullable().optional(),
      at: Instant.optional(),
      note: Text(1000, 'ghi chú').optional(),
    },
    { error: NOT_AN_OBJECT },
  )
  .strict()
  .refine((b) => b.status !== 'needs_supplement' || b.missing !== undefined, { message: 'hồ sơ chờ bổ sung cần missing (nội dung cần bổ sung)', path: ['missing'] });

export const DossierResponse = z.object({
  id: z.number().int(),
  code: z.string(),
  procedureCode: z.string().nullable(),
  procedureName: z.string().nullable(),
  receivedAt: z.string(),
  dueAt: z.string().nullable(),
  status: DossierStatus,
  statusLabel: z.string(),
  statusAt: z.string(),
  missing: z.string().nullable(),
  pickupPlace: z.string().nullable(),
  hasVerification: z.boolean().describe('Đã có 4 số xác minh (người dân tra cứu được trong khung chat)'),
  updatedAt: z.string(),
});
export const WriteResponse = z.object({
  outcome: z.enum(['created', 'updated', 'unchanged', 'stale']).describe('stale: cũ hơn cập nhật đã áp dụng, không thay đổi gì'),
  changed: z.array(z.string()),
  dossier: DossierResponse,
});
const HistoryEvent = z.object({ at: z.string(), from: DossierStatus.nullable(), to: DossierStatus, source: z.enum(['admin', 'import', 'api']), note: z.string().nullable() });
export const DossierWithHistory = DossierResponse.extend({ history: z.array(HistoryEvent) });
const ErrorResponse = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

type Body = { status: number; body: unknown };

const toJson = (d: Dossier): z.infer<typeof DossierResponse> =>
  DossierResponse.parse({
    id: d.id,
    code: d.code,
    procedureCode: d.procedureCode,
    procedureName: d.procedureName,
    receivedAt: d.receivedAt.toISOString(),
    dueAt: d.dueAt?.toISOString() ?? null,
    status: d.status,
    statusLabel: STATUS_VI[d.status],
    statusAt: d.statusAt.toISOString(),
    missing: d.missing,
    pickupPlace: d.pickupPlace,
    hasVerification: d.hasVerification,
    updatedAt: d.updatedAt.toISOString(),
  });
const writeJson = (w: WriteResult) => WriteResponse.parse({ outcome: w.outcome, changed: w.changed, dossier: toJson(w.dossier) });
const historyJson = (e: HistoryEntry) => ({ at: e.at.toISOString(), from: e.fromStatus, to: e.toStatus, source: e.source, note: e.note });

const error = (status: number, code: string, message: string): Body => ({ status, body: { error: { code, message } } });
const badRequest = (err: z.ZodError): Body => {
  const issue = err.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  const message = issue?.code === 'unrecognized_keys' ? `trường không được phép: ${issue.keys.join(', ')}` : (issue?.message ?? 'nội dung không hợp lệ');
  return error(400, 'BAD_REQUEST', `${where}${message}`);
};
const NOT_FOUND = error(404, 'NOT_FOUND', 'Không tìm thấy hồ sơ mã này trong đơn vị.');

/** A date or date-time of the API as an instant; a date alone is the start or end of that local day. */
function instant(value: string, edge: 'start' | 'end'): Date {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const l = parseLocalDate(value);
    if (l) return localInstant(l, edge);
  }
  return new Date(value);
}

/** Thrown inside the transaction to roll it back and answer without storing the key. */
class Unstored {
  constructor(readonly response: Body) {}
}

const unitParam = (req: Request): string | null => (typeof req.params.unitId === 'string' ? req.params.unitId : null);

export function createDossiersApiRouter(deps: DossiersApiDeps): Router {
  const router = express.Router();
  const now = deps.now ?? (() => new Date());
  const jsonBody = express.json({ limit: '16kb', strict: true });
  const scope = deps.auth.requireUser({ action: DOSSIERS_ACTION, unit: unitParam });

  const send = (res: Response, r: Body, replayed?: boolean): void => {
    if (replayed !== undefined) res.setHeader('Idempotency-Replayed', String(replayed));
    res.status(r.status).json(r.body);
  };

  /**
   * Runs a write under the request's idempotency key: claim the key, do the work and store its
   * response in one transaction. Errors (4xx) are answered without keeping the key, so the same
   * key can be used again once the request is fixed.
   */
  async function idempotent(req: Request, res: Response, unitId: string, route: string, target: string, work: (w: DossierWriter, tx: Queryable) => Promise<Body>): Promise<void> {
    const key = IdempotencyKey.safeParse(req.get('Idempotency-Key'));
    if (!key.success) {
      return send(res, error(400, 'IDEMPOTENCY_KEY_REQUIRED', 'Cần header Idempotency-Key (1–255 ký tự ASCII in được), mỗi thao tác một giá trị riêng.'));
    }
    const hash = requestHash({ method: req.method, route, target, body: req.body });
    try {
      const out = await deps.dossiers.transaction(async (w, tx) => {
        const claim = await deps.idempotency.claim(tx, unitId, key.data, hash);
        if (claim.kind === 'conflict') {
          throw new Unstored(error(422, 'IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key này đã được dùng cho một yêu cầu khác: dùng một khoá mới cho mỗi thao tác.'));
        }
        if (claim.kind === 'replay') return { response: { status: claim.status, body: claim.body }, replayed: true };
        const response = await work(w, tx);
        if (response.status >= 400) throw new Unstored(response);
        await deps.idempotency.complete(tx, unitId, key.data, response.status, response.body);
        return { response, replayed: false };
      });
      send(res, out.response, out.replayed);
    } catch (err) {
      if (err instanceof Unstored) return send(res, err.response);
      throw err;
    }
  }

  /** `at` of a body, or now; undefined (with the answer sent) when it is in the future. */
  const asOf = (res: Response, at: string | undefined): Date | undefined => {
    const t = now();
    if (at === undefined) return t;
    const d = new Date(at);
    if (d.getTime() > t.getTime() + FUTURE_SLACK_MS) {
      send(res, error(400, 'BAD_REQUEST', 'at: thời điểm ở tương lai (đồng hồ của hệ thống gửi bị lệch?)'));
      return undefined;
    }
    return d;
  };

  router.post('/api/v1/units/:unitId/dossiers', jsonBody, scope, async (req, res) => {
    const unitId = unitParam(req) ?? '';
    const actor = authOf(res).user.id;
    const input = DossierUpsertInput.safeParse(req.body);
    if (!input.success) return send(res, badRequest(input.error));
    const b = input.data;
    const at = asOf(res, b.at);
    if (!at) return;
    const receivedAt = instant(b.receivedAt, 'start');
    const dueAt = b.dueAt === undefined || b.dueAt === null ? b.dueAt : instant(b.dueAt, 'end');
    if (dueAt instanceof Date && dueAt < receivedAt) return send(res, error(400, 'BAD_REQUEST', 'dueAt: ngày hẹn trả ở trước ngày tiếp nhận'));
    await idempotent(req, res, unitId, 'dossiers', '', async (w) => {
      const written = await w.upsert(
        {
          unitId,
          code: b.code,
          ...(b.procedureCode !== undefined ? { procedureCode: b.procedureCode } : {}),
          ...(b.procedureName !== undefined ? { procedureName: b.procedureName } : {}),
          receivedAt,
          ...(dueAt !== undefined ? { dueAt } : {}),
          status: b.status,
          ...(b.missing !== undefined ? { missing: b.missing } : {}),
          ...(b.pickupPlace !== undefined ? { pickupPlace: b.pickupPlace } : {}),
          ...(b.phoneLast4 !== undefined ? { verification: deps.dossiers.digest(unitId, b.code, b.phoneLast4) } : {}),
        },
        { source: 'api', actor, at, ...(b.note !== undefined ? { note: b.note } : {}) },
      );
      return { status: written.outcome === 'created' ? 201 : 200, body: writeJson(written) };
    });
  });

  router.patch('/api/v1/units/:unitId/dossiers/:code', jsonBody, scope, async (req, res) => {
    const unitId = unitParam(req) ?? '';
    const actor = authOf(res).user.id;
    const code = DossierCode.safeParse(req.params.code);
    if (!code.success) return send(res, NOT_FOUND);
    const input = DossierStatusInput.safeParse(req.body);
    if (!input.success) return send(res, badRequest(input.error));
    const b = input.data;
    const at = asOf(res, b.at);
    if (!at) return;
    await idempotent(req, res, unitId, 'dossiers/:code', codeKey(code.data), async (w, tx) => {
      const d = await deps.dossiers.getByCode(unitId, code.data, tx);
      if (!d) return NOT_FOUND;
      const written = await w.changeStatus(
        unitId,
        d.id,
        {
          status: b.status,
          ...(b.missing !== undefined ? { missing: b.missing } : {}),
          ...(b.pickupPlace !== undefined ? { pickupPlace: b.pickupPlace } : {}),
          ...(b.dueAt !== undefined ? { dueAt: b.dueAt === null ? null : instant(b.dueAt, 'end') } : {}),
        },
        { source: 'api', actor, at, ...(b.note !== undefined ? { note: b.note } : {}) },
      );
      return written ? { status: 200, body: writeJson(written) } : NOT_FOUND;
    });
  });

  // The per-period report (received, on time, late, by procedure, evaluated, satisfied): JSON,
  // CSV or XLSX. Not under /dossiers/ so that no dossier code can shadow it.
  const reportView = deps.auth.requireUser({ action: 'reports.view', unit: unitParam });
  const reportExport = deps.auth.requireUser({ action: 'exports.download', unit: unitParam });
  router.get('/api/v1/units/:unitId/dossier-report', reportView, async (req, res, next) => {
    const format = typeof req.query.format === 'string' ? req.query.format : 'json';
    if (format !== 'json') return reportExport(req, res, next);
    next();
  }, async (req, res) => {
    const unitId = unitParam(req) ?? '';
    const format = typeof req.query.format === 'string' ? req.query.format : 'json';
    if (!['json', 'csv', 'xlsx'].includes(format)) return send(res, error(400, 'BAD_REQUEST', 'format: json, csv hoặc xlsx'));
    let period;
    try {
      period = parsePeriod(typeof req.query.period === 'string' && req.query.period.trim() !== '' ? req.query.period : quarterOf(now()));
    } catch (err) {
      if (err instanceof PeriodError) return send(res, error(400, 'BAD_REQUEST', 'period: ví dụ 2026-09 (tháng), 2026-Q3 (quý), 2026-H1 (6 tháng), 2026 (năm)'));
      throw err;
    }
    const r = await deps.dossiers.report(unitId, period, now());
    res.setHeader('Cache-Control', 'no-store');
    if (format === 'json') {
      const figures = (f: typeof r.totals) => ({ ...f, onTimeShare: onTimeShare(f), evaluatedShare: evaluatedShare(f), satisfiedShare: satisfiedShare(f) });
      return void res.json({
        unitId,
        period: { code: period.code, label: period.label, from: period.from.toISOString(), to: period.to.toISOString() },
        asOf: r.asOf.toISOString(),
        totals: figures(r.totals),
        byProcedure: r.byProcedure.map((p) => ({ procedureCode: p.procedureCode, procedureName: p.procedureName, ...figures(p) })),
      });
    }
    await deps.audit?.record({ actor: authOf(res).user.id, action: 'dossier.report.export', unitId, detail: { period: period.code, format, via: 'api' } });
    res.setHeader('Content-Disposition', `attachment; filename="${dossierReportFileName(unitId, period, format === 'csv' ? 'csv' : 'xlsx')}"`);
    if (format === 'csv') return void res.type('text/csv; charset=utf-8').send(dossierReportCsv(r));
    const unitName = (await deps.units?.get(unitId))?.name ?? unitId;
    res.type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    await writeDossierReportXlsx(r, res, { unitName, period, now: now() });
  });

  router.get('/api/v1/units/:unitId/dossiers/:code', scope, async (req, res) => {
    const unitId = unitParam(req) ?? '';
    const d = await deps.dossiers.getByCode(unitId, typeof req.params.code === 'string' ? req.params.code : '');
    if (!d) return send(res, NOT_FOUND);
    const history = await deps.dossiers.history(d.id);
    res.json(DossierWithHistory.parse({ ...toJson(d), history: history.map(historyJson) }));
  });

  return router;
}

const json = (schema: z.ZodType) => ({ 'application/json': { schema: z.toJSONSchema(schema, { io: 'output' }) } });

/** The OpenAPI 3.1 path objects of these routes, to merge into openApiDocument().paths. */
export function dossiersOpenApiPaths(): Record<string, unknown> {
  const errors = {
    '401': { description: 'Chưa đăng nhập (thiếu hoặc sai token)', content: json(ErrorResponse) },
    '403': { description: 'Không có quyền với đơn vị này', content: json(ErrorResponse) },
  };
  const unit = { name: 'unitId', in: 'path', required: true, schema: { type: 'string' } };
  const code = { name: 'code', in: 'path', required: true, schema: { type: 'string' }, description: 'Mã hồ sơ (mã hoá URL), không phân biệt hoa thường' };
  const key = {
    name: 'Idempotency-Key',
    in: 'header',
    required: true,
    schema: { type: 'string', minLength: 1, maxLength: 255 },
    description: 'Một giá trị riêng cho mỗi thao tác; gửi lại cùng khoá và cùng nội dung nhận lại đúng phản hồi cũ (header Idempotency-Replayed: true)',
  };
  const body = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema: z.toJSONSchema(schema, { io: 'input' }) } } });
  const keyErrors = {
    '400': { description: 'Nội dung sai, hoặc thiếu Idempotency-Key', content: json(ErrorResponse) },
    '422': { description: 'Idempotency-Key đã dùng cho một yêu cầu khác', content: json(ErrorResponse) },
  };
  return {
    '/api/v1/units/{unitId}/dossiers': {
      post: {
        summary: 'Thêm hoặc cập nhật một hồ sơ (theo mã hồ sơ)',
        parameters: [unit, key],
        requestBody: body(DossierUpsertInput),
        responses: { '201': { description: 'Đã thêm', content: json(WriteResponse) }, '200': { description: 'Đã cập nhật, không đổi, hoặc bỏ qua vì cũ', content: json(WriteResponse) }, ...keyErrors, ...errors },
      },
    },
    '/api/v1/units/{unitId}/dossier-report': {
      get: {
        summary: 'Báo cáo hồ sơ theo kỳ: tiếp nhận, đúng hạn, trễ hạn, theo thủ tục, tỷ lệ được đánh giá và hài lòng',
        parameters: [
          unit,
          { name: 'period', in: 'query', required: false, schema: { type: 'string' }, description: '2026-09 (tháng), 2026-Q3 (quý), 2026-H1 (6 tháng), 2026 (năm), khoảng ngày 2026-09-01..2026-09-15; mặc định quý hiện tại (giờ Việt Nam)' },
          { name: 'format', in: 'query', required: false, schema: { type: 'string', enum: ['json', 'csv', 'xlsx'] }, description: 'json (mặc định; quyền xem báo cáo), csv hoặc xlsx (quyền tải tệp)' },
        ],
        responses: {
          '200': {
            description: 'Báo cáo (JSON), hoặc tệp CSV (UTF-8 có BOM) / XLSX',
            content: {
              'application/json': { schema: { type: 'object' } },
              'text/csv': { schema: { type: 'string', format: 'binary' } },
              'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { schema: { type: 'string', format: 'binary' } },
            },
          },
          ...errors,
        },
      },
    },
    '/api/v1/units/{unitId}/dossiers/{code}': {
      get: {
        summary: 'Một hồ sơ và lịch sử trạng thái',
        parameters: [unit, code],
        responses: { '200': { description: 'Hồ sơ', content: json(DossierWithHistory) }, '404': { description: 'Không có hồ sơ này trong đơn vị', content: json(ErrorResponse) }, ...errors },
      },
      patch: {
        summary: 'Đổi trạng thái hồ sơ (đã có kết quả, chờ bổ sung…)',
        parameters: [unit, code, key],
        requestBody: body(DossierStatusInput),
        responses: {
          '200': { description: 'Đã đổi, không đổi, hoặc bỏ qua vì cũ', content: json(WriteResponse) },
          '404': { description: 'Không có hồ sơ này trong đơn vị', content: json(ErrorResponse) },
          ...keyErrors,
          ...errors,
        },
      },
    },
  };
}
