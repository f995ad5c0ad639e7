// Announcements through the JSON API (Authorization: Bearer), with the same rules, unit scope and
// audit as the admin pages (src/admin/announcements-router.ts, whose helpers this reuses):
//   POST /api/v1/units/:unitId/announcements            create a draft (send: true submits it)
//   GET  /api/v1/units/:unitId/announcements            the unit's announcements
//   GET  /api/v1/units/:unitId/announcements/:id        one, with its counts; a draft or a
//                                                       scheduled one also with the prediction
//   POST /api/v1/units/:unitId/announcements/:id/send   submit a draft
//   POST /api/v1/units/:unitId/announcements/:id/cancel nothing more is sent
//   GET  /api/v1/units/:unitId/announcements/:id/report.csv (and .xlsx)
// announcementsOpenApiPaths() describes them for /api/v1/openapi.json.
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { authOf } from '../admin/auth/index.js';
import {
  cancelAnnouncement,
  checkGroups,
  checkSchedule,
  checkSurvey,
  downloadReport,
  fieldErrors,
  sendAnnouncement,
  type AnnouncementsDeps,
} from '../admin/announcements-router.js';
import { AnnouncementInput, AnnouncementStatus, BroadcastChannel, DeliveryStatus, type Announcement, type DeliveryCounts } from '../broadcast/types.js';
import { predictionInstant, type Prediction } from '../broadcast/prediction.js';
import { ANNOUNCEMENT_STATUS_LABELS } from '../broadcast/report-export.js';

export type AnnouncementsApiDeps = AnnouncementsDeps;

/** The body of POST …/announcements: the compose fields, a time with its offset, and `send`. */
export const ApiAnnouncementInput = AnnouncementInput.omit({ scheduledAt: true })
  .extend({
    /** ISO 8601 with an offset, e.g. 2026-03-10T08:00:00+07:00; null or absent = when sent. */
    scheduledAt: z.iso.datetime({ offset: true, message: 'cần thời điểm ISO 8601 có múi giờ, ví dụ 2026-03-10T08:00:00+07:00' }).nullable().default(null),
    /** Submit at once instead of leaving a draft. */
    send: z.boolean().default(false),
  })
  .strict();
const EmptyBody = z.object({}).strict();

const Counts = z.array(z.object({ status: DeliveryStatus, reason: z.string(), count: z.number().int() }));
const PlatformPrediction = z.object({
  platform: BroadcastChannel,
  total: z.number().int(),
  send: z.number().int(),
  held: z.object({ outside_window: z.number().int(), web_next_visit: z.number().int() }),
  skipped: z.object({ unreachable: z.number().int(), not_following: z.number().int(), zalo_daily_limit: z.number().int(), zalo_monthly_limit: z.number().int() }),
  deferred: z.number().int(),
  deferredUntil: z.string().nullable(),
  accounts: z.object({ active: z.number().int(), inactive: z.number().int() }),
});
const PredictionJson = z.object({ at: z.string(), audience: z.number().int(), platforms: z.array(PlatformPrediction) });
const AnnouncementJson = z.object({
  id: z.number().int(),
  unitId: z.string(),
  title: z.string(),
  body: z.string(),
  linkUrl: z.string().nullable(),
  imageUrl: z.string().nullable(),
  survey: z.string().nullable().describe('Khảo sát định kỳ được mời tham gia (mã phiếu, ví dụ sipas): tin có nút “Tham gia khảo sát”'),
  groupIds: z.array(z.number().int()),
  channels: z.array(BroadcastChannel),
  status: AnnouncementStatus,
  statusLabel: z.string(),
  scheduledAt: z.string().nullable(),
  holdDays: z.number().int(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  cancelledAt: z.string().nullable(),
});
const AnnouncementDetail = AnnouncementJson.extend({ counts: Counts, prediction: PredictionJson.nullable() });
const AnnouncementList = z.object({ announcements: z.array(AnnouncementJson) });
const ErrorResponse = z.object({ error: z.object({ code: z.string(), message: z.string(), fields: z.record(z.string(), z.string()).optional() }) });

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

function toJson(a: Announcement): z.infer<typeof AnnouncementJson> {
  return {
    id: a.id,
    unitId: a.unitId,
    title: a.title,
    body: a.body,
    linkUrl: a.linkUrl,
    imageUrl: a.imageUrl,
    survey: a.survey,
    groupIds: a.groupIds,
    channels: a.channels,
    status: a.status,
    statusLabel: ANNOUNCEMENT_STATUS_LABELS[a.status],
    scheduledAt: iso(a.scheduledAt),
    holdDays: a.holdDays,
    createdAt: a.createdAt.toISOString(),
    startedAt: iso(a.startedAt),
    finishedAt: iso(a.finishedAt),
    cancelledAt: iso(a.cancelledAt),
  };
}

function predictionJson(p: Prediction): z.infer<typeof PredictionJson> {
  return { at: p.at.toISOString(), audience: p.audience, platforms: p.platforms.map((x) => ({ ...x, deferredUntil: iso(x.deferredUntil) })) };
}

const IdParam = z.string().regex(/^\d{1,15}$/).transform(Number);
const unitParam = (req: Request): string | null => (typeof req.params.unitId === 'string' && req.params.unitId !== '' ? req.params.unitId : null);

function badRequest(res: Response, fields: Record<string, string>): void {
  const [field, message] = Object.entries(fields)[0] ?? ['', 'Yêu cầu không hợp lệ.'];
  res.status(400).json({ error: { code: 'BAD_REQUEST', message: field === '_' ? message : `${field}: ${message}`, fields } });
}
const notFound = (res: Response): void => void res.status(404).json({ error: { code: 'NOT_FOUND', message: 'Không tìm thấy thông báo này trong đơn vị.' } });
const conflict = (res: Response, code: string, message: string): void => void res.status(409).json({ error: { code, message } });

export function createAnnouncementsApiRouter(deps: AnnouncementsApiDeps): Router {
  const router = express.Router();
  const now = deps.now ?? (() => new Date());
  const guard = deps.auth.requireUser({ action: 'announcements.manage', unit: unitParam });
  // Bodies are small: the text is at most 2,000 characters.
  const jsonBody = express.json({ limit: '32kb', strict: true });

  async function detail(a: Announcement): Promise<z.infer<typeof AnnouncementDetail>> {
    const counts: DeliveryCounts = a.status === 'draft' ? [] : await deps.broadcasts.counts(a.id);
    const prediction =
      a.status === 'draft' || a.status === 'scheduled'
        ? predictionJson(await deps.predict({ unitId: a.unitId, groupIds: a.groupIds, channels: a.channels, at: predictionInstant(a.scheduledAt, now()) }))
        : null;
    return AnnouncementDetail.parse({ ...toJson(a), counts, prediction });
  }

  const load = async (req: Request): Promise<Announcement | undefined> => {
    const unitId = unitParam(req);
    const id = IdParam.safeParse(req.params.id);
    return unitId !== null && id.success ? deps.broadcasts.get(id.data, unitId) : undefined;
  };

  router.post('/api/v1/units/:unitId/announcements', jsonBody, guard, async (req, res) => {
    const auth = authOf(res);
    const unitId = unitParam(req) ?? '';
    const parsed = ApiAnnouncementInput.safeParse(req.body ?? {});
    if (!parsed.success) return badRequest(res, fieldErrors(parsed.error));
    const { send, scheduledAt: at, ...rest } = parsed.data;
    const scheduledAt = at === null ? null : new Date(at);
    const scheduleProblem = checkSchedule(scheduledAt, now());
    if (scheduleProblem) return badRequest(res, { scheduledAt: scheduleProblem });
    const input: AnnouncementInput = { ...rest, groupIds: [...new Set(rest.groupIds)], channels: [...new Set(rest.channels)], scheduledAt };
    const groupProblem = checkGroups(await deps.groups.listGroups(unitId), input.groupIds);
    if (groupProblem) return badRequest(res, { groupIds: groupProblem });
    const surveyProblem = checkSurvey(deps, unitId, input.survey);
    if (surveyProblem) return badRequest(res, { survey: surveyProblem });
    let a = await deps.broadcasts.create(unitId, input, auth.user.id);
    await deps.audit.record({ actor: auth.user.id, action: 'announcement.create', unitId, target: String(a.id), detail: { via: 'api' } });
    if (send) {
      const r = await sendAnnouncement(deps, unitId, a.id, auth.user.id, 'api');
      if (r.kind !== 'not_found') a = r.announcement;
    }
    res.status(201).json(await detail(a));
  });

  router.get('/api/v1/units/:unitId/announcements', guard, async (req, res) => {
    const list = await deps.broadcasts.list(unitParam(req) ?? '', 100);
    res.json(AnnouncementList.parse({ announcements: list.map(toJson) }));
  });

  router.get('/api/v1/units/:unitId/announcements/:id', guard, async (req, res) => {
    const a = await load(req);
    if (!a) return notFound(res);
    res.json(await detail(a));
  });

  router.post('/api/v1/units/:unitId/announcements/:id/send', jsonBody, guard, async (req, res) => {
    if (!EmptyBody.safeParse(req.body ?? {}).success) return badRequest(res, { _: 'Yêu cầu này không nhận nội dung.' });
    const a = await load(req);
    if (!a) return notFound(res);
    const r = await sendAnnouncement(deps, a.unitId, a.id, authOf(res).user.id, 'api');
    if (r.kind === 'not_found') return notFound(res);
    if (r.kind === 'not_draft') return conflict(res, 'NOT_DRAFT', 'Thông báo này đã được gửi hoặc hủy trước đó, không gửi lại.');
    res.json(await detail(r.announcement));
  });

  router.post('/api/v1/units/:unitId/announcements/:id/cancel', jsonBody, guard, async (req, res) => {
    if (!EmptyBody.safeParse(req.body ?? {}).success) return badRequest(res, { _: 'Yêu cầu này không nhận nội dung.' });
    const a = await load(req);
    if (!a) return notFound(res);
    const r = await cancelAnnouncement(deps, a.unitId, a.id, authOf(res).user.id, 'api');
    if (r.kind === 'not_found') return notFound(res);
    if (r.kind === 'not_cancellable') return conflict(res, 'NOT_CANCELLABLE', 'Thông báo đã xong hoặc đã hủy, không còn gì để hủy.');
    res.json(await detail(r.announcement));
  });

  for (const format of ['csv', 'xlsx'] as const) {
    router.get(`/api/v1/units/:unitId/announcements/:id/report.${format}`, guard, async (req, res) => {
      const a = await load(req);
      if (!a) return notFound(res);
      await downloadReport(deps, res, a, format, authOf(res).user.id, 'api');
    });
  }

  return router;
}

const json = (schema: z.ZodType) => ({ 'application/json': { schema: z.toJSONSchema(schema, { io: 'output' }) } });

/** The OpenAPI 3.1 path objects of these routes, to merge into openApiDocument().paths. */
export function announcementsOpenApiPaths(): Record<string, unknown> {
  const errors = {
    '401': { description: 'Chưa đăng nhập (thiếu hoặc sai token)', content: json(ErrorResponse) },
    '403': { description: 'Không có quyền (cần vai trò cán bộ hoặc quản trị của đơn vị)', content: json(ErrorResponse) },
  };
  const unit = { name: 'unitId', in: 'path', required: true, schema: { type: 'string' } };
  const id = { name: 'id', in: 'path', required: true, schema: { type: 'integer' } };
  const notFoundResponse = { '404': { description: 'Không có thông báo này trong đơn vị', content: json(ErrorResponse) } };
  const base = '/api/v1/units/{unitId}/announcements';
  const file = (type: string) => ({ '200': { description: 'Báo cáo (người dân chỉ hiện bằng mã ẩn danh)', content: { [type]: { schema: { type: 'string', format: 'binary' } } } }, ...notFoundResponse, ...errors });
  return {
    [base]: {
      get: { summary: 'Các thông báo của đơn vị (mới nhất trước)', parameters: [unit], responses: { '200': { description: 'Danh sách', content: json(AnnouncementList) }, ...errors } },
      post: {
        summary: 'Soạn thông báo (bản nháp; send: true để gửi ngay hoặc hẹn giờ theo scheduledAt)',
        parameters: [unit],
        requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(ApiAnnouncementInput, { io: 'input' }) } } },
        responses: {
          '201': { description: 'Đã tạo; kèm dự tính ai sẽ nhận được', content: json(AnnouncementDetail) },
          '400': { description: 'Nội dung không hợp lệ (lỗi theo từng trường, tiếng Việt)', content: json(ErrorResponse) },
          ...errors,
        },
      },
    },
    [`${base}/{id}`]: {
      get: {
        summary: 'Một thông báo: trạng thái, số người theo kết quả; bản nháp và thông báo hẹn giờ kèm dự tính theo kênh',
        parameters: [unit, id],
        responses: { '200': { description: 'Thông báo', content: json(AnnouncementDetail) }, ...notFoundResponse, ...errors },
      },
    },
    [`${base}/{id}/send`]: {
      post: {
        summary: 'Gửi một bản nháp (ngay, hoặc vào giờ đã hẹn); được ghi nhật ký',
        parameters: [unit, id],
        responses: {
          '200': { description: 'Đã gửi hoặc đã hẹn giờ', content: json(AnnouncementDetail) },
          '409': { description: 'Không còn là bản nháp', content: json(ErrorResponse) },
          ...notFoundResponse,
          ...errors,
        },
      },
    },
    [`${base}/{id}/cancel`]: {
      post: {
        summary: 'Hủy: không gửi thêm tin nào nữa',
        parameters: [unit, id],
        responses: {
          '200': { description: 'Đã hủy', content: json(AnnouncementDetail) },
          '409': { description: 'Đã xong hoặc đã hủy', content: json(ErrorResponse) },
          ...notFoundResponse,
          ...errors,
        },
      },
    },
    [`${base}/{id}/report.csv`]: { get: { summary: 'Báo cáo gửi tin (CSV, UTF-8 có BOM)', parameters: [unit, id], responses: file('text/csv') } },
    [`${base}/{id}/report.xlsx`]: {
      get: { summary: 'Báo cáo gửi tin (Excel: trang tổng hợp và trang chi tiết)', parameters: [unit, id], responses: file('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet') },
    },
  };
}
