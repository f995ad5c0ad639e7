// The officers' subscriber-groups page: GET /admin/units/:unitId/groups lists the unit's groups
// (thôn/xóm/tổ dân phố, chủ đề, đối tượng) with their subscriber counts, and the POST routes
// create, rename / describe, deactivate and reactivate a group, each audited. There is no
// import of subscribers: citizens subscribe themselves in chat, which is their consent.
// Server-rendered, escaped, no script.
import express, { type Router } from 'express';
import { z } from 'zod';
import { authOf, html, type Auth, type AuthContext, type Html } from './auth/index.js';
import { layout } from './admin-layout.js';
import { routeParam } from './handoffs-router.js';
import type { AuditRepository } from '../store/audit-repository.js';
import { DuplicateGroupNameError, GroupKind, type SubscriberGroup, type SubscriptionRepository } from '../store/subscription-repository.js';

export interface GroupsDeps {
  auth: Auth;
  subscriptions: SubscriptionRepository;
  audit: AuditRepository;
}

export const GROUP_KIND_VI: Record<GroupKind, string> = {
  village: 'Thôn/xóm/tổ dân phố',
  topic: 'Chủ đề',
  audience: 'Đối tượng',
};

export const GROUP_NAME_MAX = 80;
export const GROUP_DESCRIPTION_MAX = 300;

const GroupForm = z.object({
  kind: GroupKind,
  name: z.string().trim().min(1).max(GROUP_NAME_MAX),
  description: z.string().trim().max(GROUP_DESCRIPTION_MAX).default(''),
});

const IdParam = z.string().regex(/^\d{1,15}$/).transform(Number);

const NOTICES: Record<string, string> = {
  created: 'Đã tạo nhóm. Người dân thấy nhóm này ngay khi nhắn “đăng ký nhận tin”.',
  updated: 'Đã lưu thay đổi của nhóm.',
  deactivated: 'Đã ngừng nhóm: nhóm không còn được giới thiệu trong khung chat; người đã đăng ký vẫn được giữ.',
  activated: 'Đã mở lại nhóm.',
};


const unitPath = (unitId: string): string => `/admin/units/${encodeURIComponent(unitId)}`;

function kindOptions(selected: GroupKind | null): Html {
  return html`${GroupKind.options.map((k) => html`<option value="${k}"${k === selected ? html` selected` : ''}>${GROUP_KIND_VI[k]}</option>`)}`;
}

function groupRow(unitId: string, auth: AuthContext, g: SubscriberGroup): Html {
  const base = `${unitPath(unitId)}/groups/${g.id}`;
  const toggle = g.active
    ? html`<form method="post" action="${base}/deactivate" style="margin:0"><input type="hidden" name="_csrf" value="${auth.csrfToken}"><button type="submit">Ngừng nhóm</button></form>`
    : html`<form method="post" action="${base}/activate" style="margin:0"><input type="hidden" name="_csrf" value="${auth.csrfToken}"><button type="submit">Mở lại</button></form>`;
  return html`<tr><td>${g.name}</td><td>${GROUP_KIND_VI[g.kind]}</td><td>${g.description ?? ''}</td><td>${g.subscribers}</td>
<td>${g.active ? html`<span class="ok">Đang mở</span>` : html`<span class="warn">Đã ngừng</span>`}</td>
<td><details><summary>Sửa</summary><form method="post" action="${base}" style="margin:0">
<input type="hidden" name="_csrf" value="${auth.csrfToken}">
<label>Tên <input type="text" name="name" value="${g.name}" required maxlength="${GROUP_NAME_MAX}"></label>
<label>Loại <select name="kind">${kindOptions(g.kind)}</select></label>
<label>Mô tả <input type="text" name="description" value="${g.description ?? ''}" maxlength="${GROUP_DESCRIPTION_MAX}"></label>
<button type="submit">Lưu</button></form></details>${toggle}</td></tr>`;
}

export function createGroupsRouter(deps: GroupsDeps): Router {
  const router = express.Router();

  const page = (res: express.Response, auth: AuthContext, status: number, title: string, body: Html): void => {
    res.setHeader('Cache-Control', 'no-store');
    res.status(status).type('html').send(layout(title, auth, body));
  };

  const failure = (res: express.Response, auth: AuthContext, unitId: string, status: number, message: string): void =>
    page(
      res,
      auth,
      status,
      'Không lưu được',
      html`<h1>Không lưu được nhóm</h1><p class="warn" role="alert">${message}</p><p><a href="${unitPath(unitId)}/groups">Quay lại danh sách nhóm</a></p>`,
    );

  const notFound = (res: express.Response): void => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'Không tìm thấy nhóm này.' } });
  };

  /** A form's problem in words an officer understands. */
  function formError(error: z.ZodError): string {
    const field = error.issues[0]?.path[0];
    if (field === 'name') return `Tên nhóm cần từ 1 đến ${GROUP_NAME_MAX} ký tự.`;
    if (field === 'description') return `Mô tả tối đa ${GROUP_DESCRIPTION_MAX} ký tự.`;
    return 'Hãy chọn loại nhóm: thôn/xóm/tổ dân phố, chủ đề hoặc đối tượng.';
  }

  router.get('/admin/units/:unitId/groups', deps.auth.requireUser('announcements.manage'), async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) return notFound(res);
    const groups = await deps.subscriptions.listGroups(unitId);
    const counts = await deps.subscriptions.audienceCount({ unitId, groupIds: groups.map((g) => g.id), platforms: ['zalo', 'messenger', 'web'] });
    const people = counts.zalo + counts.messenger + counts.web;
    const noticeKey = typeof req.query.notice === 'string' ? req.query.notice : '';
    const notice = NOTICES[noticeKey];
    page(
      res,
      auth,
      200,
      'Nhóm nhận tin',
      html`<h1>Nhóm nhận tin</h1>
${notice ? html`<p class="ok" role="status">${notice}</p>` : ''}
<p>Đơn vị: ${unitId} · ${groups.length} nhóm · ${people} người đăng ký (mỗi người tính một lần: Zalo ${counts.zalo}, Facebook Messenger ${counts.messenger}, trang web ${counts.web}).</p>
<p><b>Không nhập được danh sách người nhận.</b> Người dân tự đăng ký trong khung chat (nhắn “đăng ký nhận tin” rồi chọn nhóm) và tự hủy bất cứ lúc nào (“hủy đăng ký” hoặc STOP). Như vậy mỗi người nhận tin đều đã tự đồng ý, đúng yêu cầu về sự đồng ý của chủ thể dữ liệu tại Nghị định 13/2023/NĐ-CP về bảo vệ dữ liệu cá nhân; thời điểm và kênh đồng ý được lưu lại.</p>
${
  groups.length === 0
    ? html`<p>Chưa có nhóm nào. Hãy tạo nhóm đầu tiên bên dưới.</p>`
    : html`<table><thead><tr><th>Tên nhóm</th><th>Loại</th><th>Mô tả</th><th>Người đăng ký</th><th>Trạng thái</th><th></th></tr></thead><tbody>${groups.map((g) =>
        groupRow(unitId, auth, g),
      )}</tbody></table>`
}
<h2>Tạo nhóm mới</h2>
<form method="post" action="${unitPath(unitId)}/groups">
<input type="hidden" name="_csrf" value="${auth.csrfToken}">
<p><label>Loại <select name="kind">${kindOptions('village')}</select></label></p>
<p><label>Tên nhóm <input type="text" name="name" required maxlength="${GROUP_NAME_MAX}" placeholder="Thôn Đông"></label>
<small>Ngắn gọn: Messenger chỉ hiện khoảng 20 ký tự trên nút bấm.</small></p>
<p><label>Mô tả (người dân đọc khi đăng ký) <input type="text" name="description" maxlength="${GROUP_DESCRIPTION_MAX}" size="60" placeholder="Lịch họp thôn, lịch tiếp dân, thông báo của thôn"></label></p>
<button type="submit">Tạo nhóm</button>
</form>`,
    );
  });

  router.post('/admin/units/:unitId/groups', deps.auth.requireUser('announcements.manage'), async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) return notFound(res);
    const form = GroupForm.safeParse(req.body ?? {});
    if (!form.success) return failure(res, auth, unitId, 400, formError(form.error));
    let created: SubscriberGroup | undefined;
    try {
      created = await deps.subscriptions.createGroup({ unitId, kind: form.data.kind, name: form.data.name, description: form.data.description });
    } catch (err) {
      if (err instanceof DuplicateGroupNameError) return failure(res, auth, unitId, 409, `Đơn vị đã có nhóm tên “${err.groupName}”.`);
      throw err;
    }
    if (!created) return failure(res, auth, unitId, 404, 'Không tìm thấy đơn vị này.');
    await deps.audit.record({ actor: auth.user.id, action: 'group.create', unitId, target: String(created.id), detail: { kind: created.kind, name: created.name } });
    res.redirect(303, `${unitPath(unitId)}/groups?notice=created`);
  });

  router.post('/admin/units/:unitId/groups/:id', deps.auth.requireUser('announcements.manage'), async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    const id = IdParam.safeParse(req.params.id);
    if (unitId === null || !id.success) return notFound(res);
    const form = GroupForm.safeParse(req.body ?? {});
    if (!form.success) return failure(res, auth, unitId, 400, formError(form.error));
    let updated: SubscriberGroup | undefined;
    try {
      updated = await deps.subscriptions.updateGroup(unitId, id.data, { name: form.data.name, kind: form.data.kind, description: form.data.description });
    } catch (err) {
      if (err instanceof DuplicateGroupNameError) return failure(res, auth, unitId, 409, `Đơn vị đã có nhóm tên “${err.groupName}”.`);
      throw err;
    }
    if (!updated) return notFound(res);
    await deps.audit.record({ actor: auth.user.id, action: 'group.update', unitId, target: String(updated.id), detail: { kind: updated.kind, name: updated.name } });
    res.redirect(303, `${unitPath(unitId)}/groups?notice=updated`);
  });

  for (const [path, active] of [['deactivate', false], ['activate', true]] as const) {
    router.post(`/admin/units/:unitId/groups/:id/${path}`, deps.auth.requireUser('announcements.manage'), async (req, res) => {
      const auth = authOf(res);
      const unitId = routeParam(req.params.unitId);
      const id = IdParam.safeParse(req.params.id);
      const group = unitId !== null && id.success ? await deps.subscriptions.setGroupActive(unitId, id.data, active) : undefined;
      if (!group || unitId === null) return notFound(res);
      await deps.audit.record({ actor: auth.user.id, action: `group.${path}`, unitId, target: String(group.id), detail: { name: group.name } });
      res.redirect(303, `${unitPath(unitId)}/groups?notice=${active ? 'activated' : 'deactivated'}`);
    });
  }

  return router;
}
