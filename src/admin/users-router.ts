// The admin pages for staff accounts, API tokens and the audit log:
//   GET/POST /admin/users, POST /admin/users/:id/{disable,enable,reset-password}
//   GET/POST /admin/tokens, POST /admin/tokens/:id/revoke
//   GET /admin/audit
// Unit scope everywhere: a province-wide admin (unitId null) sees and manages everyone; a unit
// admin only the accounts, tokens and log entries of their own unit (another unit's user is
// answered 404, so its existence does not leak). One-time passwords and tokens are shown once,
// in the POST's own response (never in a URL, never logged, never cached). Server-rendered,
// escaped, no script.
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { AUTH_MESSAGES, Role, authOf, sendAuthError, html, type Action, type Auth, type AuthContext, type Html } from './auth/index.js';
import { layout } from './admin-layout.js';
import { formatVietnamTime } from './handoffs-router.js';
import type { AuditEntryWithActor, AuditRepository } from '../store/audit-repository.js';
import { Username, type ApiTokenInfo, type StaffRepository, type StaffUser } from '../store/staff-repository.js';
import type { UnitRepository } from '../store/unit-repository.js';
import type { Unit } from '../units/unit.js';

export interface UsersDeps {
  auth: Auth;
  staff: StaffRepository;
  audit: AuditRepository;
  units: UnitRepository;
  /** The clock (shown on the one-time pages); tests pin it. */
  now?: () => Date;
}

/** The Vietnamese texts of these pages. */
const M = {
  usersTitle: 'Người dùng',
  tokensTitle: 'Mã API',
  auditTitle: 'Nhật ký hoạt động',
  province: 'Toàn tỉnh',
  allUnits: 'Tất cả đơn vị',
  allActions: 'Tất cả hoạt động',
  filter: 'Lọc',
  never: 'Chưa đăng nhập',
  active: 'đang hoạt động',
  disabled: 'đã khoá',
  mustChange: 'phải đổi mật khẩu',
  createUser: 'Tạo người dùng',
  username: 'Tên đăng nhập',
  role: 'Vai trò',
  unit: 'Đơn vị',
  status: 'Trạng thái',
  lastLogin: 'Đăng nhập gần nhất',
  disable: 'Khoá',
  enable: 'Mở khoá',
  resetPassword: 'Đặt lại mật khẩu',
  usernameHelp: 'Chữ thường không dấu, số, dấu chấm, gạch ngang hoặc gạch dưới; tối đa 64 ký tự.',
  badUsername: 'Tên đăng nhập không hợp lệ: chỉ dùng chữ thường không dấu, số, dấu chấm, gạch ngang hoặc gạch dưới (tối đa 64 ký tự).',
  badRole: 'Vai trò không hợp lệ.',
  unknownUnit: 'Không tìm thấy đơn vị đã chọn.',
  duplicate: (u: string) => `Tên đăng nhập “${u}” đã có người dùng. Vui lòng chọn tên khác.`,
  outOfScope: 'Bạn chỉ được tạo người dùng thuộc đơn vị của mình.',
  selfDisable: 'Bạn không thể tự khoá tài khoản của mình.',
  notFoundUser: 'Không tìm thấy người dùng này.',
  notFoundToken: 'Không tìm thấy mã API này.',
  created: (u: string) => `Đã tạo tài khoản “${u}”`,
  reset: (u: string) => `Đã đặt lại mật khẩu cho “${u}”`,
  oneTimePassword: 'Mật khẩu dùng một lần',
  shownOnce:
    'Mật khẩu này chỉ hiển thị một lần, ngay bây giờ. Hãy chuyển cho người dùng qua kênh an toàn; họ phải đổi mật khẩu ngay khi đăng nhập.',
  backToUsers: 'Quay lại danh sách người dùng',
  myTokens: 'Mã API của bạn',
  otherTokens: 'Mã API của người dùng khác',
  tokenName: 'Tên gợi nhớ',
  tokenOwner: 'Người dùng',
  tokenCreated: 'Ngày tạo',
  tokenLastUsed: 'Dùng gần nhất',
  tokenRevoked: 'Thu hồi',
  tokenLive: 'đang dùng',
  revoke: 'Thu hồi',
  createToken: 'Tạo mã API',
  noTokens: 'Chưa có mã API nào.',
  badTokenName: 'Vui lòng đặt tên gợi nhớ cho mã API (tối đa 100 ký tự).',
  tokenShown: (n: string) => `Đã tạo mã API “${n}”`,
  tokenShownOnce:
    'Mã này chỉ hiển thị một lần, ngay bây giờ, và không được lưu lại. Hãy sao chép vào nơi an toàn; dùng trong tiêu đề “Authorization: Bearer …” khi gọi /api.',
  tokenHelp: 'Mã API dùng cho phần mềm gọi /api/v1 thay cho bạn, với đúng quyền của bạn.',
  backToTokens: 'Quay lại danh sách mã API',
  createdAt: 'Thời điểm tạo',
  time: 'Thời gian',
  actor: 'Người thực hiện',
  action: 'Hoạt động',
  target: 'Đối tượng',
  detail: 'Chi tiết',
  noEntries: 'Không có mục nào.',
  older: 'Cũ hơn',
  newest: 'Mới nhất',
  anonymous: '—',
} as const;

const ROLE_VI: Record<Role, string> = { admin: 'Quản trị', officer: 'Cán bộ', reporter: 'Báo cáo' };

/** Labels of the audit actions; an action not listed is shown as recorded. */
const ACTION_VI: ReadonlyMap<string, string> = new Map([
  ['auth.login', 'Đăng nhập'],
  ['export.announcement_report', 'Tải báo cáo gửi thông báo'],
  ['group.create', 'Tạo nhóm nhận tin'],
  ['group.update', 'Sửa nhóm nhận tin'],
  ['group.deactivate', 'Ngừng nhóm nhận tin'],
  ['group.activate', 'Mở lại nhóm nhận tin'],
  ['auth.login_failed', 'Đăng nhập sai'],
  ['auth.login_blocked', 'Đăng nhập bị chặn (sai quá nhiều lần)'],
  ['auth.logout', 'Đăng xuất'],
  ['auth.password_changed', 'Đổi mật khẩu'],
  ['auth.password_change_failed', 'Đổi mật khẩu không thành công'],
  ['user.create', 'Tạo người dùng'],
  ['user.created', 'Tạo người dùng'],
  ['user.disable', 'Khoá người dùng'],
  ['user.enable', 'Mở khoá người dùng'],
  ['user.reset_password', 'Đặt lại mật khẩu người dùng'],
  ['token.create', 'Tạo mã API'],
  ['token.created', 'Tạo mã API'],
  ['token.revoke', 'Thu hồi mã API'],
  ['unit.create', 'Tạo đơn vị'],
  ['unit.update', 'Sửa đơn vị'],
  ['account.messenger_saved', 'Lưu kết nối Facebook Messenger'],
  ['account.zalo_connect_started', 'Bắt đầu kết nối Zalo OA'],
  ['channel.connect', 'Kết nối kênh'],
  ['channel.disconnect', 'Ngắt kết nối kênh'],
  ['handoff.close', 'Đóng yêu cầu gặp cán bộ'],
  ['handoff.answered', 'Đã trả lời yêu cầu gặp cán bộ'],
  ['handoff.closed', 'Đóng yêu cầu gặp cán bộ'],
  ['catalogue.alias_attach', 'Gắn câu hỏi vào thủ tục'],
  ['catalogue.alias_remove', 'Bỏ gắn cách hỏi'],
  ['export.download', 'Xuất dữ liệu'],
  ['announcement.create', 'Tạo thông báo'],
  ['announcement.schedule', 'Hẹn giờ gửi thông báo'],
  ['announcement.send', 'Gửi thông báo'],
  ['announcement.cancel', 'Huỷ thông báo'],
  ['export.survey_report', 'Tải báo cáo khảo sát'],
]);

/** The action filter of the audit page: a key, its label, the action prefixes it covers. */
const ACTION_GROUPS = {
  auth: { label: 'Đăng nhập', prefixes: ['auth.'] },
  users: { label: 'Người dùng', prefixes: ['user.', 'users.'] },
  tokens: { label: 'Mã API', prefixes: ['token.', 'tokens.'] },
  units: { label: 'Đơn vị / kênh', prefixes: ['unit.', 'units.', 'channel.', 'channels.', 'account.', 'accounts.'] },
  handoffs: { label: 'Gặp cán bộ', prefixes: ['handoff.', 'handoffs.'] },
  catalogue: { label: 'Câu hỏi và thủ tục', prefixes: ['catalogue.'] },
  exports: { label: 'Xuất dữ liệu', prefixes: ['export.', 'exports.'] },
  announcements: { label: 'Thông báo', prefixes: ['announcement.', 'announcements.', 'broadcast.', 'broadcasts.', 'group.'] },
} as const satisfies Record<string, { label: string; prefixes: readonly string[] }>;
const ActionGroup = z.enum(['auth', 'users', 'tokens', 'units', 'handoffs', 'catalogue', 'exports', 'announcements']);

const AUDIT_PAGE_SIZE = 50;

const IdParam = z.string().regex(/^\d{1,15}$/).transform(Number);
const UnitFilter = z.string().min(1).max(100);
const UsersQuery = z.object({ unit: UnitFilter.optional().catch(undefined) });
const AuditQuery = z.object({
  before: IdParam.optional().catch(undefined),
  action: ActionGroup.optional().catch(undefined),
  unit: UnitFilter.optional().catch(undefined),
});
const CreateUserForm = z.object({
  username: z.string().max(200).default(''),
  role: z.string().max(20).default(''),
  unit: z.string().max(100).default(''),
});
const TokenForm = z.object({
  name: z
    .string()
    .transform((s) => s.normalize('NFC').trim())
    .pipe(z.string().min(1).max(100)),
});

/** The form values shown again after a refused creation. */
interface UserFormValues {
  username: string;
  role: string;
  unit: string;
}

function notFound(res: Response, message: string): void {
  res.status(404).json({ error: { code: 'NOT_FOUND', message } });
}

/**
 * Lets the request through when the signed-in user may do `action` within their own scope (a
 * unit admin on their unit, a province-wide admin on everything); 403 otherwise. Mounted after
 * requireUser(): requireUser's unit requirement has no access to the user's own unit.
 */
function withinOwnScope(action: Action): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const auth = authOf(res);
    if (!auth.can(action, auth.user.unitId)) {
      sendAuthError(res, 'FORBIDDEN', req);
      return;
    }
    next();
  };
}

function sendPage(res: Response, status: number, title: string, auth: AuthContext, body: Html): void {
  res.setHeader('Cache-Control', 'no-store');
  res.status(status).type('html').send(layout(title, auth, body));
}

function csrfField(auth: AuthContext): Html {
  return html`<input type="hidden" name="_csrf" value="${auth.csrfToken}">`;
}

function unitLabel(unitId: string | null, names: ReadonlyMap<string, string>, none: string = M.province): string {
  if (unitId === null) return none;
  return names.get(unitId) ?? unitId;
}

function statusLabel(u: StaffUser): Html {
  if (u.disabled) return html`<span class="warn">${M.disabled}</span>`;
  if (u.mustChangePassword) return html`<span>${M.mustChange}</span>`;
  return html`<span class="ok">${M.active}</span>`;
}

function when(at: Date | null, none = ''): string {
  return at ? formatVietnamTime(at) : none;
}

export function createUsersRouter(deps: UsersDeps): Router {
  const router = express.Router();
  const now = deps.now ?? (() => new Date());

  /** The units a user may pick in filters and forms: all for a province-wide user, else theirs. */
  function unitsInScope(auth: AuthContext, units: readonly Unit[]): Unit[] {
    const own = auth.user.unitId;
    return own === null ? [...units] : units.filter((u) => u.id === own);
  }

  // ---------------------------------------------------------------- users

  function createUserForm(auth: AuthContext, units: readonly Unit[], values: UserFormValues): Html {
    const province = auth.user.unitId === null;
    const roleOptions = Role.options.map((r) => html`<option value="${r}"${r === values.role ? html` selected` : ''}>${ROLE_VI[r]}</option>`);
    const unitOptions = unitsInScope(auth, units).map(
      (u) => html`<option value="${u.id}"${u.id === values.unit ? html` selected` : ''}>${u.name}</option>`,
    );
    return html`<h2>${M.createUser}</h2>
<form method="post" action="/admin/users">${csrfField(auth)}
<p><label>${M.username}<br><input name="username" value="${values.username}" required maxlength="64" autocomplete="off"></label><br><small>${M.usernameHelp}</small></p>
<p><label>${M.role}<br><select name="role">${roleOptions}</select></label></p>
<p><label>${M.unit}<br><select name="unit">${province ? html`<option value=""${values.unit === '' ? html` selected` : ''}>${M.province}</option>` : ''}${unitOptions}</select></label></p>
<p><button type="submit">${M.createUser}</button></p></form>`;
  }

  async function usersPage(
    req: Request,
    res: Response,
    opts: { status?: number; error?: string; values?: UserFormValues } = {},
  ): Promise<void> {
    const auth = authOf(res);
    const units = await deps.units.list();
    const names = new Map(units.map((u) => [u.id, u.name]));
    const province = auth.user.unitId === null;
    const filter = province ? (UsersQuery.parse(req.query).unit ?? null) : null;
    const scope = province ? filter : auth.user.unitId;
    const users = await deps.staff.list(scope);
    const rows = users.map((u) => {
      const self = u.id === auth.user.id;
      const action = (path: string, label: string) =>
        html`<form method="post" action="/admin/users/${u.id}/${path}" style="display:inline;margin:0">${csrfField(auth)}<button type="submit">${label}</button></form>`;
      return html`<tr class="user"><td>${u.username}</td><td>${ROLE_VI[u.role]}</td><td>${unitLabel(u.unitId, names)}</td><td>${statusLabel(u)}</td><td>${when(u.lastLoginAt, M.never)}</td>
<td>${u.disabled ? action('enable', M.enable) : self ? '' : action('disable', M.disable)} ${action('reset-password', M.resetPassword)}</td></tr>`;
    });
    const filterForm = province
      ? html`<form method="get" action="/admin/users"><label>${M.unit} <select name="unit"><option value="">${M.allUnits}</option>${units.map(
          (u) => html`<option value="${u.id}"${u.id === filter ? html` selected` : ''}>${u.name}</option>`,
        )}</select></label> <button type="submit">${M.filter}</button></form>`
      : html`<p>${M.unit}: ${unitLabel(auth.user.unitId, names)}</p>`;
    const values = opts.values ?? { username: '', role: 'officer', unit: auth.user.unitId ?? '' };
    sendPage(
      res,
      opts.status ?? 200,
      M.usersTitle,
      auth,
      html`<h1>${M.usersTitle}</h1>
${opts.error ? html`<p class="warn" role="alert">${opts.error}</p>` : ''}
${filterForm}
<table><thead><tr><th>${M.username}</th><th>${M.role}</th><th>${M.unit}</th><th>${M.status}</th><th>${M.lastLogin}</th><th></th></tr></thead>
<tbody>${rows}</tbody></table>
${createUserForm(auth, units, values)}`,
    );
  }

  /** The user behind :id when the signed-in admin may act on them; undefined otherwise (404). */
  async function userInScope(req: Request, auth: AuthContext): Promise<StaffUser | undefined> {
    const id = IdParam.safeParse(req.params.id);
    if (!id.success) return undefined;
    const user = await deps.staff.findById(id.data);
    return user && auth.can('users.manage', user.unitId) ? user : undefined;
  }

  function oneTimePasswordPage(res: Response, auth: AuthContext, title: string, user: StaffUser, password: string): void {
    sendPage(
      res,
      200,
      title,
      auth,
      html`<h1>${title}</h1>
<p>${M.username}: <strong>${user.username}</strong></p>
<p>${M.oneTimePassword}: <code id="one-time-password">${password}</code></p>
<p class="warn">${M.shownOnce}</p>
<p><small>${M.createdAt}: ${formatVietnamTime(now())}</small></p>
<p><a href="/admin/users">${M.backToUsers}</a></p>`,
    );
  }

  router.get('/admin/users', deps.auth.requireUser(), withinOwnScope('users.manage'), async (req, res) => {
    await usersPage(req, res);
  });

  router.post('/admin/users', deps.auth.requireUser(), withinOwnScope('users.manage'), async (req, res) => {
    const auth = authOf(res);
    const form = CreateUserForm.safeParse(req.body ?? {});
    const values: UserFormValues = form.success ? form.data : { username: '', role: 'officer', unit: '' };
    const again = (status: number, error: string) => usersPage(req, res, { status, error, values });
    if (!form.success) return again(400, M.badUsername);
    const unitId = values.unit === '' ? null : values.unit;
    // Scope before anything else: a unit admin learns nothing about other units from errors.
    if (!auth.can('users.manage', unitId)) return again(403, M.outOfScope);
    const username = Username.safeParse(values.username.normalize('NFC'));
    if (!username.success) return again(400, M.badUsername);
    const role = Role.safeParse(values.role);
    if (!role.success) return again(400, M.badRole);
    if (unitId !== null && !(await deps.units.get(unitId))) return again(400, M.unknownUnit);
    const created = await deps.staff.create({ username: username.data, role: role.data, unitId });
    if (!created) return again(409, M.duplicate(username.data));
    await deps.audit.record({
      actor: auth.user.id,
      action: 'user.create',
      unitId,
      target: created.user.username,
      detail: { role: created.user.role, unit: unitId },
    });
    oneTimePasswordPage(res, auth, M.created(created.user.username), created.user, created.oneTimePassword);
  });

  router.post('/admin/users/:id/disable', deps.auth.requireUser(), withinOwnScope('users.manage'), async (req, res) => {
    const auth = authOf(res);
    const user = await userInScope(req, auth);
    if (!user) return notFound(res, M.notFoundUser);
    if (user.id === auth.user.id) return usersPage(req, res, { status: 400, error: M.selfDisable });
    // The middleware refuses a disabled user's sessions and tokens from their next request on.
    await deps.staff.setDisabled(user.id, true);
    await deps.audit.record({ actor: auth.user.id, action: 'user.disable', unitId: user.unitId, target: user.username });
    res.redirect(303, '/admin/users');
  });

  router.post('/admin/users/:id/enable', deps.auth.requireUser(), withinOwnScope('users.manage'), async (req, res) => {
    const auth = authOf(res);
    const user = await userInScope(req, auth);
    if (!user) return notFound(res, M.notFoundUser);
    await deps.staff.setDisabled(user.id, false);
    await deps.audit.record({ actor: auth.user.id, action: 'user.enable', unitId: user.unitId, target: user.username });
    res.redirect(303, '/admin/users');
  });

  router.post('/admin/users/:id/reset-password', deps.auth.requireUser(), withinOwnScope('users.manage'), async (req, res) => {
    const auth = authOf(res);
    const user = await userInScope(req, auth);
    if (!user) return notFound(res, M.notFoundUser);
    const password = await deps.staff.resetPassword(user.id);
    if (password === undefined) return notFound(res, M.notFoundUser);
    await deps.audit.record({ actor: auth.user.id, action: 'user.reset_password', unitId: user.unitId, target: user.username });
    oneTimePasswordPage(res, auth, M.reset(user.username), user, password);
  });

  // ---------------------------------------------------------------- API tokens

  /** May the signed-in user revoke (and see) this token: their own, or an admin in scope. */
  const mayManageToken = (auth: AuthContext, t: ApiTokenInfo): boolean => t.userId === auth.user.id || auth.can('users.manage', t.unitId);

  function tokensTable(auth: AuthContext, tokens: readonly ApiTokenInfo[], withOwner: boolean): Html {
    if (tokens.length === 0) return html`<p>${M.noTokens}</p>`;
    const rows = tokens.map(
      (t) => html`<tr class="token">${withOwner ? html`<td>${t.username}</td>` : ''}<td>${t.name}</td><td>${formatVietnamTime(t.createdAt)}</td><td>${when(t.lastUsedAt, 'Chưa dùng')}</td>
<td>${
        t.revokedAt
          ? formatVietnamTime(t.revokedAt)
          : html`<span class="ok">${M.tokenLive}</span> <form method="post" action="/admin/tokens/${t.id}/revoke" style="display:inline;margin:0">${csrfField(auth)}<button type="submit">${M.revoke}</button></form>`
      }</td></tr>`,
    );
    return html`<table><thead><tr>${withOwner ? html`<th>${M.tokenOwner}</th>` : ''}<th>${M.tokenName}</th><th>${M.tokenCreated}</th><th>${M.tokenLastUsed}</th><th>${M.tokenRevoked}</th></tr></thead>
<tbody>${rows}</tbody></table>`;
  }

  async function tokensPage(res: Response, opts: { status?: number; error?: string; name?: string } = {}): Promise<void> {
    const auth = authOf(res);
    const own = await deps.staff.listApiTokens({ userId: auth.user.id });
    const admin = auth.can('users.manage', auth.user.unitId);
    const others = admin
      ? (await deps.staff.listApiTokens(auth.user.unitId === null ? {} : { unitId: auth.user.unitId })).filter((t) => t.userId !== auth.user.id)
      : [];
    sendPage(
      res,
      opts.status ?? 200,
      M.tokensTitle,
      auth,
      html`<h1>${M.tokensTitle}</h1>
<p>${M.tokenHelp}</p>
${opts.error ? html`<p class="warn" role="alert">${opts.error}</p>` : ''}
<h2>${M.myTokens}</h2>
${tokensTable(auth, own, false)}
<form method="post" action="/admin/tokens">${csrfField(auth)}
<p><label>${M.tokenName}<br><input name="name" value="${opts.name ?? ''}" required maxlength="100" autocomplete="off"></label> <button type="submit">${M.createToken}</button></p></form>
${admin ? html`<h2>${M.otherTokens}</h2>${tokensTable(auth, others, true)}` : ''}`,
    );
  }

  router.get('/admin/tokens', deps.auth.requireUser(), async (_req, res) => {
    await tokensPage(res);
  });

  router.post('/admin/tokens', deps.auth.requireUser(), async (req, res) => {
    const auth = authOf(res);
    const form = TokenForm.safeParse(req.body ?? {});
    if (!form.success) return tokensPage(res, { status: 400, error: M.badTokenName });
    const token = await deps.staff.createApiToken(auth.user.id, form.data.name);
    // Never the token's value: only its id and name.
    await deps.audit.record({ actor: auth.user.id, action: 'token.create', unitId: auth.user.unitId, target: form.data.name, detail: { id: token.id } });
    sendPage(
      res,
      200,
      M.tokensTitle,
      auth,
      html`<h1>${M.tokenShown(form.data.name)}</h1>
<p><code id="api-token">${token.token}</code></p>
<p class="warn">${M.tokenShownOnce}</p>
<p><small>${M.createdAt}: ${formatVietnamTime(now())}</small></p>
<p><a href="/admin/tokens">${M.backToTokens}</a></p>`,
    );
  });

  router.post('/admin/tokens/:id/revoke', deps.auth.requireUser(), async (req, res) => {
    const auth = authOf(res);
    const id = IdParam.safeParse(req.params.id);
    const token = id.success ? await deps.staff.findApiToken(id.data) : undefined;
    if (!token || !mayManageToken(auth, token)) return notFound(res, M.notFoundToken);
    if (token.revokedAt === null) {
      await deps.staff.revokeApiToken(token.id);
      await deps.audit.record({ actor: auth.user.id, action: 'token.revoke', unitId: token.unitId, target: token.name, detail: { id: token.id, owner: token.username } });
    }
    res.redirect(303, '/admin/tokens');
  });

  // ---------------------------------------------------------------- audit log

  function auditRow(e: AuditEntryWithActor, names: ReadonlyMap<string, string>): Html {
    const label = ACTION_VI.get(e.action);
    const detail = Object.keys(e.detail).length > 0 ? JSON.stringify(e.detail) : '';
    return html`<tr class="entry"><td>${formatVietnamTime(e.at)}</td><td>${e.actorUsername ?? M.anonymous}</td>
<td>${label ? html`<span title="${e.action}">${label}</span>` : html`<code>${e.action}</code>`}</td><td>${unitLabel(e.unitId, names, M.anonymous)}</td><td>${e.target ?? ''}</td><td><code>${detail}</code></td></tr>`;
  }

  router.get('/admin/audit', deps.auth.requireUser(), withinOwnScope('audit.view'), async (req, res) => {
    const auth = authOf(res);
    const query = AuditQuery.parse(req.query);
    const province = auth.user.unitId === null;
    const unitId = province ? (query.unit ?? null) : auth.user.unitId;
    const entries = await deps.audit.page({
      unitId,
      ...(query.before !== undefined ? { before: query.before } : {}),
      ...(query.action ? { actionPrefixes: ACTION_GROUPS[query.action].prefixes } : {}),
      limit: AUDIT_PAGE_SIZE + 1,
    });
    const shown = entries.slice(0, AUDIT_PAGE_SIZE);
    const last = shown[shown.length - 1];
    const link = (before: number | undefined): string => {
      const p = new URLSearchParams();
      if (query.action) p.set('action', query.action);
      if (province && query.unit) p.set('unit', query.unit);
      if (before !== undefined) p.set('before', String(before));
      const s = p.toString();
      return '/admin/audit' + (s ? '?' + s : '');
    };
    const allUnits = await deps.units.list();
    const names = new Map(allUnits.map((u) => [u.id, u.name]));
    const units = unitsInScope(auth, allUnits);
    const actionOptions = ActionGroup.options.map(
      (k) => html`<option value="${k}"${k === query.action ? html` selected` : ''}>${ACTION_GROUPS[k].label}</option>`,
    );
    sendPage(
      res,
      200,
      M.auditTitle,
      auth,
      html`<h1>${M.auditTitle}</h1>
<form method="get" action="/admin/audit">
<label>${M.action} <select name="action"><option value="">${M.allActions}</option>${actionOptions}</select></label>
${
  province
    ? html`<label>${M.unit} <select name="unit"><option value="">${M.allUnits}</option>${units.map(
        (u) => html`<option value="${u.id}"${u.id === query.unit ? html` selected` : ''}>${u.name}</option>`,
      )}</select></label>`
    : html`<span>${M.unit}: ${unitLabel(auth.user.unitId, names)}</span>`
}
<button type="submit">${M.filter}</button></form>
${
  shown.length === 0
    ? html`<p>${M.noEntries}</p>`
    : html`<table><thead><tr><th>${M.time}</th><th>${M.actor}</th><th>${M.action}</th><th>${M.unit}</th><th>${M.target}</th><th>${M.detail}</th></tr></thead>
<tbody>${shown.map((e) => auditRow(e, names))}</tbody></table>`
}
<p>${query.before !== undefined ? html`<a href="${link(undefined)}">${M.newest}</a> ` : ''}${
        entries.length > AUDIT_PAGE_SIZE && last ? html`<a rel="next" href="${link(last.id)}">${M.older}</a>` : ''
      }</p>`,
    );
  });

  return router;
}
