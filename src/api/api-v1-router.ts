// The JSON API for automation under /api/v1 (Authorization: Bearer <token from
// `motcua token add`), with the same roles and unit scope as the admin. Every response body is
// described by a zod schema, and /api/v1/openapi.json is generated from those schemas.
import express, { type Router } from 'express';
import { z } from 'zod';
import type { Auth } from '../admin/auth/index.js';
import type { Searcher } from '../search/types.js';
import type { HandoffRepository } from '../store/handoff-repository.js';
import type { QueryLogRepository } from '../store/query-log-repository.js';

const SearchQuery = z.object({ q: z.string().min(1).max(500), top: z.coerce.number().int().min(1).max(10).default(3) });
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

export interface ApiDeps {
  auth: Auth;
  searcher: Searcher;
  queryLog: QueryLogRepository;
  handoffs: HandoffRepository;
}

const unitParam = (req: express.Request): string | null => (typeof req.params.unitId === 'string' ? req.params.unitId : null);

export function createApiV1Router(deps: ApiDeps): Router {
  const router = express.Router();

  router.get('/api/v1/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });

  router.get('/api/v1/search', deps.auth.requireUser(), (req, res) => {
    const q = SearchQuery.safeParse(req.query);
    if (!q.success) {
      res.status(400).json({ error: { code: 'BAD_REQUEST', message: `${q.error.issues[0]?.path.join('.') ?? ''}: ${q.error.issues[0]?.message ?? ''}` } });
      return;
    }
    const r = deps.searcher.search(q.data.q, { top: q.data.top });
    res.json(SearchResponse.parse({ query: r.query, outcome: r.outcome, results: r.results.map((h) => ({ code: h.code, name: h.name, score: Math.round(h.score * 1000) / 1000 })) }));
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
      '/api/v1/search': {
        get: {
          summary: 'Tìm thủ tục như trợ lý',
          parameters: [
            { name: 'q', in: 'query', required: true, schema: { type: 'string', maxLength: 500 } },
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
    },
  };
}
