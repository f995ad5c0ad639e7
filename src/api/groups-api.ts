// Subscriber groups in the JSON API (/api/v1, Bearer tokens, the admin's roles and unit scope):
// list, create and change a unit's groups. Subscribers themselves are never written here:
// they consent in chat. groupsOpenApiPaths() describes the routes for /api/v1/openapi.json.
import express, { type Router } from 'express';
import { z } from 'zod';
import { authOf, type Auth } from '../admin/auth/index.js';
import type { AuditRepository } from '../store/audit-repository.js';
import { DuplicateGroupNameError, GroupKind, type SubscriberGroup, type SubscriptionRepository } from '../store/subscription-repository.js';

export interface GroupsApiDeps {
  auth: Auth;
  subscriptions: SubscriptionRepository;
  audit: AuditRepository;
}

const NAME_MAX = 80;
const DESCRIPTION_MAX = 300;

const Name = z
  .string({ error: 'cần tên nhóm (một chuỗi)' })
  .trim()
  .min(1, 'tên nhóm không được để trống')
  .max(NAME_MAX, `tên nhóm tối đa ${NAME_MAX} ký tự`);
const Description = z
  .string({ error: 'mô tả phải là một chuỗi, hoặc null để xoá' })
  .trim()
  .max(DESCRIPTION_MAX, `mô tả tối đa ${DESCRIPTION_MAX} ký tự`)
  .nullable();
const Kind = z
  .enum(GroupKind.options, { error: 'loại nhóm phải là "village" (thôn/xóm/tổ dân phố), "topic" (chủ đề) hoặc "audience" (đối tượng)' })
  .describe('village: thôn/xóm/tổ dân phố; topic: chủ đề; audience: đối tượng');
const NOT_AN_OBJECT = 'nội dung phải là một đối tượng JSON';

export const GroupInput = z
  .object(
    {
      kind: Kind,
      name: Name,
      description: Description.optional(),
    },
    { error: NOT_AN_OBJECT },
  )
  .strict();

export const GroupPatch = z
  .object(
    {
      kind: Kind.optional(),
      name: Name.optional(),
      description: Description.optional(),
      /** false: no longer offered in chat (subscribers kept); true: offered again. */
      active: z.boolean({ error: 'active phải là true hoặc false' }).optional(),
    },
    { error: NOT_AN_OBJECT },
  )
  .strict()
  .refine((p) => Object.keys(p).length > 0, { message: 'cần ít nhất một trường: kind, name, description hoặc active' });

export const GroupResponse = z.object({
  id: z.number().int(),
  kind: GroupKind,
  name: z.string(),
  description: z.string().nullable(),
  active: z.boolean(),
  subscribers: z.number().int().describe('Số người đang đăng ký nhóm (đã đồng ý trong khung chat)'),
  createdAt: z.string(),
});
const GroupsResponse = z.object({ groups: z.array(GroupResponse) });
const ErrorResponse = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const ListQuery = z.object({ active: z.enum(['true', 'false']).optional() });

const IdParam = z.string().regex(/^\d{1,15}$/).transform(Number);
const unitParam = (req: express.Request): string | null => (typeof req.params.unitId === 'string' ? req.params.unitId : null);

const toJson = (g: SubscriberGroup): z.infer<typeof GroupResponse> =>
  GroupResponse.parse({ id: g.id, kind: g.kind, name: g.name, description: g.description, active: g.active, subscribers: g.subscribers, createdAt: g.createdAt.toISOString() });

const badRequest = (res: express.Response, error: z.ZodError): void => {
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  const message = issue?.code === 'unrecognized_keys' ? `trường không được phép: ${issue.keys.join(', ')}` : (issue?.message ?? 'nội dung không hợp lệ');
  res.status(400).json({ error: { code: 'BAD_REQUEST', message: `${where}${message}` } });
};
const notFound = (res: express.Response): void => void res.status(404).json({ error: { code: 'NOT_FOUND', message: 'Không tìm thấy nhóm này trong đơn vị.' } });
const nameTaken = (res: express.Response, name: string): void =>
  void res.status(409).json({ error: { code: 'GROUP_NAME_TAKEN', message: `Đơn vị đã có nhóm tên “${name}”.` } });

export function createGroupsApiRouter(deps: GroupsApiDeps): Router {
  const router = express.Router();
  const jsonBody = express.json({ limit: '16kb', strict: true });
  const scope = deps.auth.requireUser({ action: 'announcements.manage', unit: unitParam });

  router.get('/api/v1/units/:unitId/groups', scope, async (req, res) => {
    const query = ListQuery.safeParse(req.query);
    if (!query.success) return badRequest(res, query.error);
    const groups = await deps.subscriptions.listGroups(unitParam(req) ?? '', { activeOnly: query.data.active === 'true' });
    const shown = query.data.active === 'false' ? groups.filter((g) => !g.active) : groups;
    res.json(GroupsResponse.parse({ groups: shown.map(toJson) }));
  });

  router.post('/api/v1/units/:unitId/groups', jsonBody, scope, async (req, res) => {
    const unitId = unitParam(req) ?? '';
    const input = GroupInput.safeParse(req.body);
    if (!input.success) return badRequest(res, input.error);
    let created: SubscriberGroup | undefined;
    try {
      created = await deps.subscriptions.createGroup({ unitId, kind: input.data.kind, name: input.data.name, description: input.data.description ?? null });
    } catch (err) {
      if (err instanceof DuplicateGroupNameError) return nameTaken(res, err.groupName);
      throw err;
    }
    if (!created) {
      res.status(404).json({ error: { code: 'UNKNOWN_UNIT', message: 'Không tìm thấy đơn vị (xã/phường) này.' } });
      return;
    }
    await deps.audit.record({ actor: authOf(res).user.id, action: 'group.create', unitId, target: String(created.id), detail: { kind: created.kind, name: created.name } });
    res.status(201).json(toJson(created));
  });

  router.patch('/api/v1/units/:unitId/groups/:id', jsonBody, scope, async (req, res) => {
    const unitId = unitParam(req) ?? '';
    const actor = authOf(res).user.id;
    const id = IdParam.safeParse(req.params.id);
    if (!id.success) return notFound(res);
    const patch = GroupPatch.safeParse(req.body);
    if (!patch.success) return badRequest(res, patch.error);
    const { active, ...fields } = patch.data;
    const before = await deps.subscriptions.getGroup(unitId, id.data);
    if (!before) return notFound(res);
    let group: SubscriberGroup | undefined = before;
    if (Object.keys(fields).length > 0) {
      try {
        group = await deps.subscriptions.updateGroup(unitId, id.data, fields);
      } catch (err) {
        if (err instanceof DuplicateGroupNameError) return nameTaken(res, err.groupName);
        throw err;
      }
      if (!group) return notFound(res);
      await deps.audit.record({ actor, action: 'group.update', unitId, target: String(group.id), detail: { kind: group.kind, name: group.name } });
    }
    if (active !== undefined && active !== before.active) {
      group = await deps.subscriptions.setGroupActive(unitId, id.data, active);
      if (!group) return notFound(res);
      await deps.audit.record({ actor, action: active ? 'group.activate' : 'group.deactivate', unitId, target: String(group.id), detail: { name: group.name } });
    }
    res.json(toJson(group));
  });

  return router;
}

const json = (schema: z.ZodType) => ({ 'application/json': { schema: z.toJSONSchema(schema, { io: 'output' }) } });

/** The OpenAPI 3.1 path objects of these routes, to merge into openApiDocument().paths. */
export function groupsOpenApiPaths(): Record<string, unknown> {
  const errors = {
    '401': { description: 'Chưa đăng nhập (thiếu hoặc sai token)', content: json(ErrorResponse) },
    '403': { description: 'Không có quyền với đơn vị này', content: json(ErrorResponse) },
  };
  const unit = { name: 'unitId', in: 'path', required: true, schema: { type: 'string' } };
  const id = { name: 'id', in: 'path', required: true, schema: { type: 'integer' } };
  const body = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema: z.toJSONSchema(schema, { io: 'input' }) } } });
  return {
    '/api/v1/units/{unitId}/groups': {
      get: {
        summary: 'Nhóm nhận tin của đơn vị, với số người đăng ký',
        parameters: [unit, { name: 'active', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false'] }, description: 'Chỉ nhóm đang mở (true) hoặc đã ngừng (false)' }],
        responses: { '200': { description: 'Danh sách', content: json(GroupsResponse) }, '400': { description: 'Tham số sai', content: json(ErrorResponse) }, ...errors },
      },
      post: {
        summary: 'Tạo nhóm nhận tin (người dân tự đăng ký trong khung chat; không nhập danh sách)',
        parameters: [unit],
        requestBody: body(GroupInput),
        responses: {
          '201': { description: 'Đã tạo', content: json(GroupResponse) },
          '400': { description: 'Nội dung sai (trường thiếu, thừa hoặc quá dài)', content: json(ErrorResponse) },
          '404': { description: 'Không có đơn vị này', content: json(ErrorResponse) },
          '409': { description: 'Đơn vị đã có nhóm cùng tên', content: json(ErrorResponse) },
          ...errors,
        },
      },
    },
    '/api/v1/units/{unitId}/groups/{id}': {
      patch: {
        summary: 'Đổi tên, loại, mô tả; ngừng (active: false) hoặc mở lại nhóm',
        parameters: [unit, id],
        requestBody: body(GroupPatch),
        responses: {
          '200': { description: 'Nhóm sau khi đổi', content: json(GroupResponse) },
          '400': { description: 'Nội dung sai', content: json(ErrorResponse) },
          '404': { description: 'Không có nhóm này trong đơn vị', content: json(ErrorResponse) },
          '409': { description: 'Đơn vị đã có nhóm cùng tên', content: json(ErrorResponse) },
          ...errors,
        },
      },
    },
  };
}
