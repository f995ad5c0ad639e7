// The frame of every admin page: Vietnamese, self-contained (inline style, no CDN, no script),
// with the signed-in user and a sign-out form carrying the CSRF token.
import { html, raw, type AuthContext, type Html } from './auth/index.js';
import { canViewSurveys } from './survey-access.js';

const STYLE = raw(`body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1b1f23}
header{background:#a4161a;color:#fff;display:flex;gap:1rem;align-items:center;padding:.6rem 1rem;flex-wrap:wrap}
header a,header button{color:#fff;background:none;border:0;font:inherit;cursor:pointer;text-decoration:underline}
header .brand{font-weight:700;text-decoration:none}main{max-width:64rem;margin:1rem auto;padding:0 1rem}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{background:#fff;border-radius:8px;padding:1rem;min-width:14rem;box-shadow:0 1px 3px #0002}
.card h2{font-size:1rem;margin:0}.big{font-size:2rem;margin:.4rem 0}table{border-collapse:collapse;background:#fff;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.5rem;text-align:left}.ok{color:#1e7b34}.warn{color:#a4161a;font-weight:600}`);

const ROLE_VI = { admin: 'Quản trị', officer: 'Cán bộ', reporter: 'Báo cáo' } as const;

/** The links a user may follow: only pages their role and unit allow. */
function nav(auth: AuthContext): Html {
  const u = auth.user;
  const unit = u.unitId;
  const links: Html[] = [];
  if (unit !== null) {
    const base = `/admin/units/${encodeURIComponent(unit)}`;
    if (auth.can('catalogue.notes', unit)) links.push(html`<a href="${base}/catalogue">Tra cứu thủ tục</a>`);
    if (auth.can('handoffs.manage', unit)) links.push(html`<a href="${base}/handoffs">Gặp cán bộ</a>`);
    if (auth.can('announcements.manage', unit)) links.push(html`<a href="${base}/announcements">Thông báo</a>`, html`<a href="${base}/groups">Nhóm nhận tin</a>`);
    if (auth.can('catalogue.notes', unit)) links.push(html`<a href="${base}/questions">Câu hỏi chưa trả lời</a>`);
    if (auth.can('dossiers.manage', unit)) links.push(html`<a href="${base}/dossiers">Hồ sơ</a>`);
    if (auth.can('reports.view', unit)) links.push(html`<a href="${base}/dossiers/report">Báo cáo hồ sơ</a>`);
    if (canViewSurveys(auth, unit)) links.push(html`<a href="${base}/surveys">Khảo sát hài lòng</a>`);
    if (auth.can('channels.manage', unit)) links.push(html`<a href="${base}">Đơn vị và kênh</a>`);
  } else if (u.role === 'admin') {
    links.push(html`<a href="/admin/units">Đơn vị và kênh</a>`);
  }
  if (unit === null && canViewSurveys(auth, null)) links.push(html`<a href="/admin/surveys">Khảo sát hài lòng</a>`);
  if (u.role === 'admin') links.push(html`<a href="/admin/users">Người dùng</a>`, html`<a href="/admin/audit">Nhật ký</a>`);
  if (u.role === 'admin' && unit === null) links.push(html`<a href="/admin/queues">Hàng đợi</a>`);
  links.push(html`<a href="/admin/tokens">Mã API</a>`);
  return html`${links}`;
}

export function layout(title: string, auth: AuthContext, body: Html): string {
  return html`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} — motcua</title><style>${STYLE}</style></head>
<body><header><a class="brand" href="/admin">motcua · Quản trị</a>
<span>${auth.user.username} (${ROLE_VI[auth.user.role]}${auth.user.unitId ? html` · ${auth.user.unitId}` : ''})</span>
${nav(auth)}
<a href="/admin/password">Đổi mật khẩu</a>
<form method="post" action="/admin/logout" style="margin:0"><input type="hidden" name="_csrf" value="${auth.csrfToken}"><button type="submit">Đăng xuất</button></form>
</header><main>${body}</main></body></html>`.value;
}
