// The JSON API for automation under /api/v1 (Authorization: Bearer <token from
// `motcua token add`), with the same roles and unit scope as the admin. Every response body is
// described by a zod schema, and /api/v1/openapi.json is generated from those schemas.
import express, { type Router } from 'express';
import { z } from 'zod';
import { authOf, type Auth } from '../admin/auth/index.js';
import type { SearchResult, Searcher } from '../search/types.js';
import type { HandoffRepository } from '../store/handoff-repository.js';
import type { QueryLogRepository } from '../store/query-log-repository.js';
import type { AuditRepository } from '../store/audit-repository.js';
import type { AliasService } from '../units/alias-service.js';
import type { ConversationStateStore } from '../conversation/ports.js';
import { ChannelName } from '../channels/channel.js';
import { groupsOpenApiPaths } from './groups-api.js';
import { announcementsOpenApiPaths } from './announcements-api.js';
import { dossiersOpenApiPaths } from './dossiers-api.js';
import { surveysOpenApiPaths } from './surveys-api.js';

const SearchQuery = z.object({
  q: z.string().min(1).max(500),
  top: z.coerce.number().int().min(1).max(10).default(3),
  unit: z.string().min(1).max(64).optional(),
});
const SearchResponse = z.object({
  query: z.string(),
  outcome: z.enum(['answer', 'choices', 'none']),
  results: z.array(z.object({ code: z.string(), name: z.string(), score: z.number() })),
});
const QuestionsResponse = z.object({
  questions: z.array(
    z.object({ text: z.string(), outcome: z.enum(['answered', 'choices', 'none', 'handoff']), topCode: z.string().nullable(), askedAt: z.string() }),
  ),
});
const HandoffsResponse = z.object({
  handoffs: z.array(z.object({ id: z.number().int(), channel: z.string(), text: z.string(), createdAt: z.string() })),
});
const ErrorResponse = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const UnitsResponse = z.object({ units: z.array(z.object({ id: z.string(), name: z.string() })) });
const Alias = z.object({ id: z.number().int(), text: z.string(), code: z.string(), createdAt: z.string() });
const AliasesResponse = z.object({ aliases: z.array(Alias) });
const AliasInput = z.object({ text: z.string().min(1).max(500), code: z.string().min(1).max(20) }).strict();
const CloseInput = z.object({ resolution: z.enum(['answered', 'closed']).default('closed') }).strict();
const HandoffClosed = z.object({ id: z.number().int(), status: z.enum(['answered', 'closed']) });

export interface ApiDeps {
  auth: Auth;
  searcher: Searcher;
  queryLog: QueryLogRepository;
  handoffs: HandoffRepository;
  /** Searches as the unit's bot does (its subset and own phrasings). */
  unitSearch: (unitId: string, text: string, top: number) => SearchResult;
  /** The units as the bot knows them. */
  units: () => ReadonlyArray<{ id: string; name: string }>;
  aliases: AliasService;
  audit: AuditRepository;
  /** To give a citizen back to the bot when their hand-off is closed. */
  state: ConversationStateStore;
}

const badRequest = (res: express.Response, error: z.ZodError): void => {
  const issue = error.issues[0];
  res.status(400).json({ error: { code: 'BAD_REQUEST', message: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}` } });
};
const notFound = (res: express.Response, message: string): void => void res.status(404).json({ error: { code: 'NOT_FOUND', message } });
const IdParam = z.string().regex(/^\d{1,15}$/).transform(Number);

const unitParam = (req: express.Request): string | null => (typeof req.params.unitId === 'string' ? req.params.unitId : null);

export function createApiV1Router(deps: ApiDeps): Router {
  const router = express.Router();

  router.get('/api/v1/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });

  const jsonBody = express.json({ limit: '16kb', strict: true });

  router.get('/api/v1/search', deps.auth.requireUser(), (req, res) => {
    const q = SearchQuery.safeParse(req.query);
    if (!q.success) return void badRequest(res, q.error);
    const { unit } = q.data;
    if (unit !== undefined && !deps.units().some((u) => u.id === unit)) {
      res.status(404).json({ error: { code: 'UNKNOWN_UNIT', message: 'Không tìm thấy đơn vị (xã/phường) này.' } });
      return;
    }
    const r = unit !== undefined ? deps.unitSearch(unit, q.data.q, q.data.top) : deps.searcher.search(q.data.q, { top: q.data.top });
    res.json(SearchResponse.parse({ query: r.query, outcome: r.outcome, results: r.results.map((h) => ({ code: h.code, name: h.name, score: Math.round(h.score * 1000) / 1000 })) }));
  });

  router.get('/api/v1/units', deps.auth.requireUser(), (_req, res) => {
    const auth = authOf(res);
    const units = deps.units().filter((u) => auth.user.unitId === null || auth.user.unitId === u.id);
    res.json(UnitsResponse.parse({ units: units.map((u) => ({ id: u.id, name: u.name })) }));
  });

  router.get('/api/v1/units/:unitId/aliases', deps.auth.requireUser({ action: 'catalogue.notes', unit: unitParam }), async (req, res) => {
    const list = await deps.aliases.list(unitParam(req) ?? '');
    res.json(AliasesResponse.parse({ aliases: list.map((a) => ({ id: a.id, text: a.text, code: a.code, createdAt: a.createdAt.toISOString() })) }));
  });

  router.post('/api/v1/units/:unitId/aliases', jsonBody, deps.auth.requireUser({ action: 'catalogue.notes', unit: unitParam }), async (req, res) => {
    const input = AliasInput.safeParse(req.body);
    if (!input.success) return void badRequest(res, input.error);
    const result = await deps.aliases.attach({ unitId: unitParam(req) ?? '', text: input.data.text, code: input.data.code, actor: authOf(res).user.id });
    if (!result.ok) {
      const message =
        result.reason === 'unknown_code'
          ? 'Không có thủ tục mã này trong danh mục của đơn vị.'
          : 'Câu hỏi không đủ nội dung để nhận diện một thủ tục.';
      res.status(400).json({ error: { code: result.reason === 'unknown_code' ? 'UNKNOWN_PROCEDURE' : 'NO_CONTENT', message } });
      return;
    }
    const a = result.alias;
    res.status(201).json(Alias.parse({ id: a.id, text: a.text, code: a.code, createdAt: a.createdAt.toISOString() }));
  });

  router.delete('/api/v1/units/:unitId/aliases/:id', deps.auth.requireUser({ action: 'catalogue.notes', unit: unitParam }), async (req, res) => {
    const id = IdParam.safeParse(req.params.id);
    const removed = id.success ? await deps.aliases.remove({ unitId: unitParam(req) ?? '', id: id.data, actor: authOf(res).user.id }) : undefined;
    if (!removed) return notFound(res, 'Không tìm thấy cách hỏi này.');
    res.status(204).end();
  });

  router.post('/api/v1/units/:unitId/handoffs/:id/close', jsonBody, deps.auth.requireUser({ action: 'handoffs.manage', unit: unitParam }), async (req, res) => {
    const auth = authOf(res);
    const unitId = unitParam(req) ?? '';
    const id = IdParam.safeParse(req.params.id);
    const input = CloseInput.safeParse(req.body ?? {});
    if (!input.success) return void badRequest(res, input.error);
    const closed = id.success ? await deps.handoffs.close({ id: id.data, unitId, by: auth.user.username, resolution: input.data.resolution }) : undefined;
    if (!closed) return notFound(res, 'Không tìm thấy yêu cầu đang mở này.');
    await deps.audit.record({ actor: auth.user.id, action: `handoff.${input.data.resolution}`, unitId, target: String(closed.id) });
    const channel = ChannelName.safeParse(closed.channel);
    if (channel.success) await deps.state.clear({ unitId: closed.unitId, channel: channel.data, userId: closed.userRef });
    res.json(HandoffClosed.parse({ id: closed.id, status: input.data.resolution }));
  });

  router.get('/api/v1/units/:unitId/questions', deps.auth.requireUser({ action: 'catalogue.notes', unit: unitParam }), async (req, res) => {
    const unitId = unitParam(req) ?? '';
    const outcome = z.enum(['answered', 'choices', 'none', 'handoff']).optional().safeParse(req.query.outcome);
    const rows = await deps.queryLog.recent(unitId, { ...(outcome.success && outcome.data ? { outcome: outcome.data } : {}), limit: 500 });
    res.json(QuestionsResponse.parse({ questions: rows.map((r) => ({ text: r.text, outcome: r.outcome, topCode: r.topCode, askedAt: r.createdAt.toISOString() })) }));
  });

  router.get('/api/v1/units/:unitId/handoffs', deps.auth.requireUser({ action: 'handoffs.manage', unit: unitParam }), async (req, res) => {
    const rows = await deps.handoffs.open(unitParam(req) ?? '');
    res.json(HandoffsResponse.parse({ handoffs: rows.map((h) => ({ id: h.id, channel: h.channel, text: h.text, createdAt: h.createdAt.toISOString() })) }));
  });

  return router;
}

const json = (schema: z.ZodType) => ({ 'application/json': { schema: z.toJSONSchema(schema, { io: 'output' }) } });

/** OpenAPI 3.1 document built from the zod schemas the routes use. */
export function openApiDocument(): Record<string, unknown> {
  const errors = { '401': { description: 'Chưa đăng nhập (thiếu hoặc sai token)', content: json(ErrorResponse) }, '403': { description: 'Không có quyền', content: json(ErrorResponse) } };
  const unit = { name: 'unitId', in: 'path', required: true, schema: { type: 'string' } };
  return {
    openapi: '3.1.0',
    info: { title: 'motcua API', version: '1', description: 'API cho tự động hoá: tìm thủ tục, câu hỏi của người dân, yêu cầu gặp cán bộ.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Token tạo bằng `motcua token add`' } } },
    security: [{ bearer: [] }],
    paths: {
      ...groupsOpenApiPaths(),
      ...announcementsOpenApiPaths(),
      ...dossiersOpenApiPaths(),
      ...surveysOpenApiPaths(),
      '/api/v1/search': {
        get: {
          summary: 'Tìm thủ tục như trợ lý',
          parameters: [
            { name: 'q', in: 'query', required: true, schema: { type: 'string', maxLength: 500 } },
            { name: 'unit', in: 'query', required: false, schema: { type: 'string' }, description: 'Tìm như trợ lý của đơn vị này (danh mục và cách hỏi riêng của đơn vị)' },
            { name: 'top', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 10, default: 3 } },
          ],
          responses: { '200': { description: 'Kết quả', content: json(SearchResponse) }, '400': { description: 'Tham số sai', content: json(ErrorResponse) }, ...errors },
        },
      },
      '/api/v1/units/{unitId}/questions': {
        get: {
          summary: 'Câu hỏi của người dân (đã che số)',
          parameters: [unit, { name: 'outcome', in: 'query', required: false, schema: { type: 'string', enum: ['answered', 'choices', 'none', 'handoff'] } }],
          responses: { '200': { description: 'Danh sách', content: json(QuestionsResponse) }, ...errors },
        },
      },
      '/api/v1/units/{unitId}/handoffs': {
        get: { summary: 'Yêu cầu gặp cán bộ đang mở', parameters: [unit], responses: { '200': { description: 'Danh sách', content: json(HandoffsResponse) }, ...errors } },
      },
      '/api/v1/units': {
        get: { summary: 'Các đơn vị trong phạm vi của token', responses: { '200': { description: 'Danh sách', content: json(UnitsResponse) }, ...errors } },
      },
      '/api/v1/units/{unitId}/aliases': {
        get: { summary: 'Cách hỏi riêng của đơn vị', parameters: [unit], responses: { '200': { description: 'Danh sách', content: json(AliasesResponse) }, ...errors } },
        post: {
          summary: 'Gắn một cách hỏi vào thủ tục (có hiệu lực ngay)',
          parameters: [unit],
          requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(AliasInput, { io: 'input' }) } } },
          responses: { '201': { description: 'Đã gắn', content: json(Alias) }, '400': { description: 'Mã thủ tục không có trong danh mục của đơn vị, hoặc câu hỏi không đủ nội dung', content: json(ErrorResponse) }, ...errors },
        },
      },
      '/api/v1/units/{unitId}/aliases/{id}': {
        delete: {
          summary: 'Bỏ gắn một cách hỏi',
          parameters: [unit, { name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
          responses: { '204': { description: 'Đã bỏ' }, '404': { description: 'Không có', content: json(ErrorResponse) }, ...errors },
        },
      },
      '/api/v1/units/{unitId}/handoffs/{id}/close': {
        post: {
          summary: 'Đánh dấu yêu cầu gặp cán bộ đã trả lời / đóng; trợ lý trả lời lại người dân',
          parameters: [unit, { name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
          requestBody: { required: false, content: { 'application/json': { schema: z.toJSONSchema(CloseInput, { io: 'input' }) } } },
          responses: { '200': { description: 'Đã đóng', content: json(HandoffClosed) }, '404': { description: 'Không có yêu cầu đang mở này', content: json(ErrorResponse) }, ...errors },
        },
      },
    },
  };
}
