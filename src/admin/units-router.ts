// The units (communes) and their channel accounts in the admin web: GET /admin/units lists the
// units with their accounts' health and adds one (province-wide admins); GET /admin/units/:unitId
// shows a unit's contact details (editable), its Facebook Pages, Zalo OAs and widget, with
// status and token expiry — never a secret value. Accounts are paused and resumed here, a Page
// is added with its token, and an OA is connected through the signed-link OAuth flow.
// Server-rendered, escaped, no script.
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { AUTH_ERRORS, authOf, sendAuthError, html, type Auth, type AuthContext, type Html } from './auth/index.js';
import { layout } from './admin-layout.js';
import { formatVietnamTime, routeParam } from './handoffs-router.js';
import { Unit } from '../units/unit.js';
import type { UnitRepository, UnitUpdate } from '../store/unit-repository.js';
import type { AccountPlatform, AccountRepository, AccountStatus, ChannelAccount } from '../store/account-repository.js';
import type { AuditRepository } from '../store/audit-repository.js';

export interface UnitsDeps {
  auth: Auth;
  units: UnitRepository;
  accounts: AccountRepository;
  audit: AuditRepository;
  /** The public address of this deployment (the widget's script is served from it). */
  publicBaseUrl: string;
  /** A signed, short-lived link that starts the Zalo OA OAuth flow for the unit. */
  connectLink: (unitId: string) => string;
  /** Called after a unit was created or changed, so caches of the unit list can refresh. */
  onUnitsChanged: (unitId: string) => Promise<void>;
  now?: () => Date;
}

/** A Zalo access token that expires within this long (or has expired) is flagged. */
// Zalo access tokens live about 25 hours and are refreshed before a send, so only the last hour
// is worth a warning (matches the token manager's refresh margin).
export const TOKEN_WARNING_MS = 3600 * 1000;
// The widget accepts unit ids of at most 64 characters (public/widget.js).
const MAX_UNIT_ID = 64;

const PLATFORM_VI: Record<AccountPlatform, string> = { messenger: 'Facebook', zalo: 'Zalo', web: 'Website' };
const STATUS_VI: Record<AccountStatus, string> = { active: 'đang hoạt động', reconnect_required: 'cần kết nối lại', paused: 'tạm dừng' };

// The texts staff read on these pages.
const T = {
  listTitle: 'Đơn vị và kênh',
  forbidden: AUTH_ERRORS.FORBIDDEN.message,
  notFoundTitle: 'Không tìm thấy',
  unitNotFound: 'Không tìm thấy đơn vị này.',
  accountNotFound: 'Không tìm thấy kênh này trong đơn vị.',
  duplicateId: (id: string) => `Mã đơn vị “${id}” đã được dùng. Vui lòng chọn mã khác.`,
  pageTaken: 'Trang Facebook này đã được gắn với một đơn vị khác. Liên hệ quản trị cấp tỉnh nếu cần chuyển.',
  tokenRequired: 'Trang mới cần có mã truy cập Trang (Page access token).',
  invalidForm: 'Thông tin chưa hợp lệ:',
  done: {
    created: 'Đã thêm đơn vị.',
    saved: 'Đã lưu thông tin đơn vị.',
    messenger: 'Đã lưu Trang Facebook.',
    paused: 'Đã tạm dừng kênh.',
    resumed: 'Đã cho kênh hoạt động trở lại.',
  },
  healthOk: 'Bình thường',
  noAccounts: 'Chưa có kênh',
  tokenExpired: 'đã hết hạn — hệ thống sẽ tự gia hạn bằng mã làm mới khi gửi tin; nếu không được, trạng thái chuyển sang “cần kết nối lại”',
  tokenSoon: 'hết hạn trong vòng 1 giờ (hệ thống tự gia hạn khi gửi tin)',
  noZaloToken: 'chưa có mã truy cập — cần kết nối',
  pageTokenStored: 'đã lưu mã truy cập Trang',
  noPageToken: 'chưa có mã truy cập Trang',
  pausedBy: (username: string) => `Tạm dừng bởi ${username}`,
} as const;

type Done = keyof typeof T.done;
const DoneParam = z.enum(['created', 'saved', 'messenger', 'paused', 'resumed']);

const FIELD_VI: Record<string, string> = {
  id: 'Mã đơn vị',
  name: 'Tên đơn vị',
  province: 'Tỉnh/thành phố',
  address: 'Địa chỉ',
  phone: 'Điện thoại',
  email: 'Thư điện tử',
  hours: 'Giờ làm việc',
  website: 'Trang thông tin điện tử',
  portalUrl: 'Cổng dịch vụ công',
  pageId: 'Mã Trang (Page ID)',
  pageName: 'Tên Trang',
  pageAccessToken: 'Mã truy cập Trang',
};

/** A form field: NFC, trimmed, at most `max` characters; empty becomes null. */
const optionalText = (max: number) =>
  z
    .string()
    .optional()
    .transform((v) => (v ?? '').normalize('NFC').trim())
    .pipe(z.string().max(max, `tối đa ${max} ký tự`))
    .transform((v) => (v === '' ? null : v));

// Only web addresses: a javascript: or data: link must never reach an officer's or citizen's screen.
const webAddress = z.url({ protocol: /^https?$/, message: 'phải là địa chỉ web bắt đầu bằng http:// hoặc https://' });

const ContactForm = z.object({
  name: z
    .string()
    .optional()
    .transform((v) => (v ?? '').normalize('NFC').trim())
    .pipe(z.string().min(1, 'không được để trống').max(200, 'tối đa 200 ký tự')),
  province: optionalText(200),
  address: optionalText(500),
  phone: optionalText(100),
  email: optionalText(200).pipe(z.email('không đúng định dạng').nullable()),
  hours: optionalText(500),
  website: optionalText(500).pipe(webAddress.nullable()),
  portalUrl: optionalText(500).pipe(webAddress.nullable()),
});
type ContactFields = z.infer<typeof ContactForm>;

const CreateForm = ContactForm.extend({
  id: z
    .string()
    .optional()
    .transform((v) => (v ?? '').trim())
    .pipe(z.string().min(1, 'không được để trống').max(MAX_UNIT_ID, `tối đa ${MAX_UNIT_ID} ký tự`))
    .pipe(Unit.shape.id),
});

const MessengerForm = z.object({
  pageId: z
    .string()
    .optional()
    .transform((v) => (v ?? '').trim())
    .pipe(z.string().regex(/^\d{1,32}$/, 'chỉ gồm chữ số')),
  pageName: optionalText(200),
  // Write-only: empty keeps the stored token.
  pageAccessToken: z
    .string()
    .optional()
    .transform((v) => (v ?? '').trim())
    .pipe(z.string().max(1000, 'quá dài').regex(/^\S*$/, 'không được chứa khoảng trắng')),
});

const AccountIdParam = z.string().regex(/^\d{1,15}$/).transform(Number);

/** The raw text fields of a submitted form, to fill the form again after an error. */
type FormValues = Record<string, string>;

function formValues(body: unknown, keys: readonly string[]): FormValues {
  const parsed = z.record(z.string(), z.unknown()).safeParse(body);
  const out: FormValues = {};
  for (const k of keys) {
    const v = parsed.success ? parsed.data[k] : undefined;
    out[k] = typeof v === 'string' ? v : '';
  }
  return out;
}

function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((i) => `${FIELD_VI[String(i.path[0] ?? '')] ?? 'Biểu mẫu'}: ${i.message}`);
}

function unitValues(u: Unit): FormValues {
  return {
    id: u.id,
    name: u.name,
    province: u.province ?? '',
    address: u.address ?? '',
    phone: u.phone ?? '',
    email: u.email ?? '',
    hours: u.hours ?? '',
    website: u.website ?? '',
    portalUrl: u.portalUrl ?? '',
  };
}

const unitPath = (unitId: string): string => `/admin/units/${encodeURIComponent(unitId)}`;

/** What is wrong with an account's credentials, if anything (never their values). */
export interface TokenHealth {
  text: string;
  warn: boolean;
}

export function tokenHealth(a: ChannelAccount, now: Date): TokenHealth | null {
  if (a.platform === 'messenger') {
    return a.secrets.pageAccessToken ? { text: T.pageTokenStored, warn: false } : { text: T.noPageToken, warn: true };
  }
  if (a.platform !== 'zalo') return null;
  if (!a.secrets.accessToken && !a.secrets.refreshToken) return { text: T.noZaloToken, warn: true };
  if (!a.secrets.accessExpiresAt) return null;
  const at = new Date(a.secrets.accessExpiresAt);
  const left = at.getTime() - now.getTime();
  const when = formatVietnamTime(at);
  if (left <= 0) return { text: `${when} — ${T.tokenExpired}`, warn: true };
  if (left <= TOKEN_WARNING_MS) return { text: `${when} — ${T.tokenSoon}`, warn: true };
  return { text: when, warn: false };
}

/** One line about a unit's accounts for the list of units. */
function healthSummary(accounts: readonly ChannelAccount[], now: Date): Html {
  if (accounts.length === 0) return html`<span>${T.noAccounts}</span>`;
  const reconnect = accounts.filter((a) => a.status === 'reconnect_required').length;
  const paused = accounts.filter((a) => a.status === 'paused').length;
  const tokens = accounts.filter((a) => a.status === 'active' && tokenHealth(a, now)?.warn).length;
  const parts = [
    reconnect ? `${reconnect} cần kết nối lại` : '',
    paused ? `${paused} tạm dừng` : '',
    tokens ? `${tokens} cần xem mã truy cập` : '',
  ].filter(Boolean);
  return parts.length ? html`<span class="warn">${parts.join(' · ')}</span>` : html`<span class="ok">${T.healthOk}</span>`;
}

function field(name: string, label: string, values: FormValues, opts: { type?: string; required?: boolean; pattern?: string; hint?: string } = {}): Html {
  return html`<p><label>${label}${opts.required ? ' *' : ''}<br>
<input name="${name}" type="${opts.type ?? 'text'}" value="${values[name] ?? ''}" size="50"${opts.required ? html` required` : ''}${opts.pattern ? html` pattern="${opts.pattern}"` : ''}></label>${opts.hint ? html`<br><small>${opts.hint}</small>` : ''}</p>`;
}

function contactFields(values: FormValues): Html {
  return html`${field('name', FIELD_VI.name ?? '', values, { required: true })}
${field('province', FIELD_VI.province ?? '', values)}
${field('address', FIELD_VI.address ?? '', values)}
${field('phone', FIELD_VI.phone ?? '', values)}
${field('email', FIELD_VI.email ?? '', values, { type: 'email' })}
${field('hours', FIELD_VI.hours ?? '', values)}
${field('website', FIELD_VI.website ?? '', values, { type: 'url', hint: 'Ví dụ: https://tanphu.example.gov.vn' })}
${field('portalUrl', FIELD_VI.portalUrl ?? '', values, { type: 'url', hint: 'Địa chỉ nộp hồ sơ trực tuyến của đơn vị' })}`;
}

function errorBox(errors: readonly string[]): Html {
  if (errors.length === 0) return html``;
  return html`<div class="warn" role="alert"><p>${T.invalidForm}</p><ul>${errors.map((e) => html`<li>${e}</li>`)}</ul></div>`;
}

function doneBox(req: Request): Html {
  const done = DoneParam.safeParse(req.query.done);
  return done.success ? html`<p class="ok" role="status">${T.done[done.data satisfies Done]}</p>` : html``;
}

function pageHeaders(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  // No form-action here: the Zalo connect form is answered with redirects to the OAuth server,
  // which a browser would check against form-action.
  res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'");
  res.setHeader('X-Frame-Options', 'DENY');
  res.type('html');
}

function forbidden(req: Request, res: Response): void {
  sendAuthError(res, 'FORBIDDEN', req);
}

export function createUnitsRouter(deps: UnitsDeps): Router {
  const router = express.Router();
  const now = deps.now ?? (() => new Date());
  const base = deps.publicBaseUrl.replace(/\/+$/, '');

  const notFound = (res: Response, auth: AuthContext, text: string): void => {
    pageHeaders(res);
    res.status(404).send(layout(T.notFoundTitle, auth, html`<h1>${T.notFoundTitle}</h1><p>${text}</p>`));
  };

  async function listPage(res: Response, auth: AuthContext, form: { values: FormValues; errors: string[]; status: number }, notice: Html = html``): Promise<void> {
    const [units, accounts] = await Promise.all([deps.units.list(), deps.accounts.list(null)]);
    const at = now();
    const byUnit = new Map<string, ChannelAccount[]>();
    for (const a of accounts) byUnit.set(a.unitId, [...(byUnit.get(a.unitId) ?? []), a]);
    const count = (list: readonly ChannelAccount[], p: AccountPlatform): number => list.filter((a) => a.platform === p).length;
    const rows = units.map((u) => {
      const own = byUnit.get(u.id) ?? [];
      return html`<tr><td><a href="${unitPath(u.id)}">${u.name}</a><br><small>${u.id}</small></td><td>${u.province ?? '—'}</td>
<td>${count(own, 'messenger')}</td><td>${count(own, 'zalo')}</td><td>${count(own, 'web')}</td><td>${healthSummary(own, at)}</td></tr>`;
    });
    pageHeaders(res);
    res.status(form.status).send(
      layout(
        T.listTitle,
        auth,
        html`<h1>${T.listTitle}</h1>
${notice}
<table><thead><tr><th>Đơn vị</th><th>Tỉnh/thành phố</th><th>Facebook</th><th>Zalo</th><th>Website</th><th>Tình trạng kênh</th></tr></thead>
<tbody>${rows}</tbody></table>
<h2 id="them">Thêm đơn vị</h2>
${errorBox(form.errors)}
<form method="post" action="/admin/units">
<input type="hidden" name="_csrf" value="${auth.csrfToken}">
${field('id', FIELD_VI.id ?? '', form.values, { required: true, pattern: '[a-z0-9\\-]{1,64}', hint: 'Chữ thường không dấu, số và dấu gạch ngang, ví dụ: xa-tan-phu. Không đổi được sau khi tạo.' })}
${contactFields(form.values)}
<p><button type="submit">Thêm đơn vị</button></p>
</form>`,
      ),
    );
  }

  async function unitPage(
    req: Request,
    res: Response,
    auth: AuthContext,
    unit: Unit,
    opts: { status?: number; contact?: { values: FormValues; errors: string[] }; messenger?: { values: FormValues; errors: string[] } } = {},
  ): Promise<void> {
    const accounts = await deps.accounts.listByUnit(unit.id);
    const at = now();
    const path = unitPath(unit.id);
    const canEdit = auth.can('units.manage', unit.id);
    const rows = accounts.map((a) => {
      const health = tokenHealth(a, at);
      const action = a.status === 'paused' ? 'resume' : 'pause';
      return html`<tr><td>${PLATFORM_VI[a.platform]}</td><td>${a.externalId}</td><td>${a.name ?? '—'}</td>
<td class="${a.status === 'active' ? 'ok' : 'warn'}">${STATUS_VI[a.status]}${a.statusReason ? html`<br><small>${a.statusReason}</small>` : ''}</td>
<td${health?.warn ? html` class="warn"` : ''}>${health ? health.text : '—'}</td>
<td><form method="post" action="${path}/accounts/${a.id}/${action}" style="margin:0"><input type="hidden" name="_csrf" value="${auth.csrfToken}">
<button type="submit">${action === 'resume' ? 'Cho hoạt động lại' : 'Tạm dừng'}</button></form></td></tr>`;
    });
    const contact = opts.contact ?? { values: unitValues(unit), errors: [] };
    const messenger = opts.messenger ?? { values: {}, errors: [] };
    const snippet = `<script src="${base}/widget.js" data-unit="${unit.id}" defer></script>`;
    pageHeaders(res);
    res.status(opts.status ?? 200).send(
      layout(
        unit.name,
        auth,
        html`${auth.can('units.manage', null) ? html`<p><a href="/admin/units">← Tất cả đơn vị</a></p>` : ''}
<h1>${unit.name}</h1>
<p>Mã đơn vị: ${unit.id} · <a href="${path}/handoffs">Yêu cầu gặp cán bộ</a> · <a href="${path}/questions">Câu hỏi chưa trả lời</a></p>
${doneBox(req)}
<h2>Kênh của đơn vị</h2>
${
  accounts.length === 0
    ? html`<p>Đơn vị chưa có kênh nào.</p>`
    : html`<table><thead><tr><th>Nền tảng</th><th>Mã</th><th>Tên</th><th>Trạng thái</th><th>Mã truy cập</th><th></th></tr></thead><tbody>${rows}</tbody></table>`
}
<p><small>Kênh “tạm dừng” không gửi tin cho người dân. Kênh “cần kết nối lại” cần mã truy cập mới: Trang Facebook — nhập mã mới bên dưới; Zalo OA — bấm “Kết nối Zalo OA”.</small></p>

<h2>Trang Facebook (Messenger)</h2>
${errorBox(messenger.errors)}
<form method="post" action="${path}/accounts/messenger" autocomplete="off">
<input type="hidden" name="_csrf" value="${auth.csrfToken}">
${field('pageId', FIELD_VI.pageId ?? '', messenger.values, { required: true, pattern: '[0-9]{1,32}', hint: 'Dãy số trong phần “Giới thiệu” của Trang. Nhập mã của Trang đã có để cập nhật.' })}
${field('pageName', FIELD_VI.pageName ?? '', messenger.values)}
<p><label>${FIELD_VI.pageAccessToken}<br><input name="pageAccessToken" type="password" value="" size="50" autocomplete="new-password"></label><br>
<small>Không hiển thị lại sau khi lưu. Để trống nếu giữ mã đang lưu.</small></p>
<p><small>Khóa bí mật của ứng dụng Meta (App Secret) là cấu hình chung của hệ thống (FB_APP_SECRET), không nhập ở đây.</small></p>
<p><button type="submit">Lưu Trang Facebook</button></p>
</form>

<h2>Zalo Official Account</h2>
<p>Người quản trị Zalo OA của đơn vị bấm nút dưới đây, đăng nhập Zalo và đồng ý cấp quyền; trợ lý lưu mã truy cập của OA cho đơn vị này.</p>
<form method="post" action="${path}/accounts/zalo/connect">
<input type="hidden" name="_csrf" value="${auth.csrfToken}">
<button type="submit">Kết nối Zalo OA</button>
</form>

<h2>Khung hỏi đáp trên trang web của đơn vị</h2>
<p>Dán đoạn mã sau vào trang web của đơn vị, trước thẻ &lt;/body&gt;:</p>
<pre><code>${snippet}</code></pre>

${
  canEdit
    ? html`<h2>Thông tin liên hệ</h2>
<p>Trợ lý dùng các thông tin này khi trả lời người dân.</p>
${errorBox(contact.errors)}
<form method="post" action="${path}">
<input type="hidden" name="_csrf" value="${auth.csrfToken}">
${contactFields(contact.values)}
<p><button type="submit">Lưu thông tin</button></p>
</form>`
    : ''
}`,
      ),
    );
  }

  // Every signed-in user may ask; the handler decides (a unit's admin is sent to their unit).
  router.get('/admin/units', deps.auth.requireUser(), async (req, res) => {
    const auth = authOf(res);
    const own = auth.user.unitId;
    if (own !== null && auth.can('channels.manage', own)) {
      res.redirect(302, unitPath(own));
      return;
    }
    if (!auth.can('units.manage', null)) {
      forbidden(req, res);
      return;
    }
    await listPage(res, auth, { values: {}, errors: [], status: 200 }, doneBox(req));
  });

  router.post('/admin/units', deps.auth.requireUser({ action: 'units.manage', unit: () => null }), async (req, res) => {
    const auth = authOf(res);
    const values = formValues(req.body, ['id', ...Object.keys(ContactForm.shape)]);
    const parsed = CreateForm.safeParse(values);
    if (!parsed.success) {
      await listPage(res, auth, { values, errors: issuesOf(parsed.error), status: 400 });
      return;
    }
    const unit = Unit.parse({ ...parsed.data, procedureCodes: null });
    if (!(await deps.units.create(unit))) {
      await listPage(res, auth, { values, errors: [T.duplicateId(unit.id)], status: 409 });
      return;
    }
    await deps.audit.record({ actor: auth.user.id, action: 'unit.create', unitId: unit.id, target: unit.id });
    await deps.onUnitsChanged(unit.id);
    res.redirect(303, `${unitPath(unit.id)}?done=created`);
  });

  router.get('/admin/units/:unitId', deps.auth.requireUser('channels.manage'), async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    const unit = unitId === null ? undefined : await deps.units.get(unitId);
    if (!unit) return notFound(res, auth, T.unitNotFound);
    await unitPage(req, res, auth, unit);
  });

  router.post('/admin/units/:unitId', deps.auth.requireUser('units.manage'), async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    const unit = unitId === null ? undefined : await deps.units.get(unitId);
    if (!unit) return notFound(res, auth, T.unitNotFound);
    const values = formValues(req.body, Object.keys(ContactForm.shape));
    const parsed = ContactForm.safeParse(values);
    if (!parsed.success) {
      await unitPage(req, res, auth, unit, { status: 400, contact: { values: { ...values, id: unit.id }, errors: issuesOf(parsed.error) } });
      return;
    }
    const keys = Object.keys(ContactForm.shape) as Array<keyof ContactFields>;
    const changed = keys.filter((k) => parsed.data[k] !== unit[k]);
    const update: UnitUpdate = parsed.data;
    await deps.units.update(unit.id, update);
    await deps.audit.record({ actor: auth.user.id, action: 'unit.update', unitId: unit.id, target: unit.id, detail: { fields: changed.join(',') } });
    await deps.onUnitsChanged(unit.id);
    res.redirect(303, `${unitPath(unit.id)}?done=saved`);
  });

  router.post('/admin/units/:unitId/accounts/messenger', deps.auth.requireUser('channels.manage'), async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    const unit = unitId === null ? undefined : await deps.units.get(unitId);
    if (!unit) return notFound(res, auth, T.unitNotFound);
    // The token is never put back into the form.
    const values = formValues(req.body, ['pageId', 'pageName']);
    const again = (status: number, errors: string[]) => unitPage(req, res, auth, unit, { status, messenger: { values, errors } });
    const parsed = MessengerForm.safeParse(formValues(req.body, ['pageId', 'pageName', 'pageAccessToken']));
    if (!parsed.success) return again(400, issuesOf(parsed.error));
    const { pageId, pageName, pageAccessToken } = parsed.data;
    const existing = await deps.accounts.find('messenger', pageId);
    // upsert() moves an account to the unit it is given: never let one unit take another's Page.
    if (existing && existing.unitId !== unit.id) return again(409, [T.pageTaken]);
    if (!existing && pageAccessToken === '') return again(400, [T.tokenRequired]);
    const account = await deps.accounts.upsert({
      unitId: unit.id,
      platform: 'messenger',
      externalId: pageId,
      name: pageName,
      ...(pageAccessToken ? { secrets: { pageAccessToken } } : {}),
    });
    // A new token is what "reconnect" means for a Page; a pause set by an officer stays.
    if (pageAccessToken && account.status === 'reconnect_required') await deps.accounts.setStatus(account.id, 'active', null);
    await deps.audit.record({
      actor: auth.user.id,
      action: 'account.messenger_saved',
      unitId: unit.id,
      target: pageId,
      detail: { accountId: account.id, created: !existing, tokenChanged: pageAccessToken !== '' },
    });
    res.redirect(303, `${unitPath(unit.id)}?done=messenger`);
  });

  router.post('/admin/units/:unitId/accounts/zalo/connect', deps.auth.requireUser('channels.manage'), async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    const unit = unitId === null ? undefined : await deps.units.get(unitId);
    if (!unit) return notFound(res, auth, T.unitNotFound);
    await deps.audit.record({ actor: auth.user.id, action: 'account.zalo_connect_started', unitId: unit.id, target: unit.id });
    res.redirect(303, deps.connectLink(unit.id));
  });

  for (const action of ['pause', 'resume'] as const) {
    router.post(`/admin/units/:unitId/accounts/:accountId/${action}`, deps.auth.requireUser('channels.manage'), async (req, res) => {
      const auth = authOf(res);
      const unitId = routeParam(req.params.unitId);
      const id = AccountIdParam.safeParse(req.params.accountId);
      const account = id.success ? await deps.accounts.get(id.data) : undefined;
      // The permission was checked for :unitId; the account must be one of that unit's.
      if (!account || unitId === null || account.unitId !== unitId) return notFound(res, auth, T.accountNotFound);
      // Pausing twice changes nothing; only a pause is undone here ("reconnect required" needs
      // new credentials, not a button).
      const change = action === 'pause' ? account.status !== 'paused' : account.status === 'paused';
      if (change) {
        if (action === 'pause') await deps.accounts.setStatus(account.id, 'paused', T.pausedBy(auth.user.username));
        else await deps.accounts.setStatus(account.id, 'active', null);
        await deps.audit.record({
          actor: auth.user.id,
          action: action === 'pause' ? 'account.paused' : 'account.resumed',
          unitId,
          target: `${account.platform}:${account.externalId}`,
          detail: { accountId: account.id, from: account.status },
        });
      }
      res.redirect(303, `${unitPath(unitId)}?done=${action === 'pause' ? 'paused' : 'resumed'}`);
    });
  }

  return router;
}
