// The admin dashboard (GET /admin): questions today and this month, the share answered
// directly, open hand-offs, and the health of the channel accounts — for the user's unit, or
// every unit for a province-wide user. Server-rendered, escaped, no script.
import express, { type Router } from 'express';
import { authOf, html, type Auth } from './auth/index.js';
import { layout } from './admin-layout.js';
import type { QueryLogRepository } from '../store/query-log-repository.js';
import type { HandoffRepository } from '../store/handoff-repository.js';
import type { AccountRepository } from '../store/account-repository.js';

export interface DashboardDeps {
  auth: Auth;
  queryLog: QueryLogRepository;
  handoffs: HandoffRepository;
  accounts: AccountRepository;
  now?: () => Date;
}

const TZ = 'Asia/Ho_Chi_Minh';
const STATUS_VI = { active: 'Hoạt động', reconnect_required: 'Cần kết nối lại', paused: 'Tạm dừng' } as const;
const PLATFORM_VI = { messenger: 'Facebook Messenger', zalo: 'Zalo OA', web: 'Website' } as const;

/** Midnight of today and the 1st of this month in Vietnam time, as instants. */
export function periodStarts(now: Date): { today: Date; month: Date } {
  const ymd = new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
  const [y, m] = ymd.split('-');
  return { today: new Date(`${ymd}T00:00:00+07:00`), month: new Date(`${y}-${m}-01T00:00:00+07:00`) };
}

const pct = (part: number, whole: number): string => (whole === 0 ? '—' : `${Math.round((100 * part) / whole)}%`);

export function createDashboardRouter(deps: DashboardDeps): Router {
  const router = express.Router();
  // Every signed-in user sees the dashboard of their own scope (their unit, or every unit).
  router.get('/admin', deps.auth.requireUser(), async (_req, res) => {
    const auth = authOf(res);
    const unitId = auth.user.unitId;
    const { today, month } = periodStarts((deps.now ?? (() => new Date()))());
    const [d, m, open, accounts] = await Promise.all([
      deps.queryLog.countByOutcome(unitId, today),
      deps.queryLog.countByOutcome(unitId, month),
      deps.handoffs.countOpen(unitId),
      deps.accounts.list(unitId),
    ]);
    const total = (c: Record<string, number>): number => Object.values(c).reduce((a, b) => a + b, 0);
    const rows = accounts.map(
      (a) => html`<tr><td>${a.unitId}</td><td>${PLATFORM_VI[a.platform]}</td><td>${a.externalId}</td>
<td class="${a.status === 'active' ? 'ok' : 'warn'}">${STATUS_VI[a.status]}</td>
<td>${a.secrets.accessExpiresAt ? new Date(a.secrets.accessExpiresAt).toLocaleString('vi-VN', { timeZone: TZ }) : '—'}</td></tr>`,
    );
    res.type('html').send(
      layout(
        'Tổng quan',
        auth,
        html`<h1>Tổng quan</h1>
<section class="cards">
  <div class="card"><h2>Câu hỏi hôm nay</h2><p class="big">${total(d)}</p><p>Trả lời trực tiếp: ${pct(d.answered, total(d))}</p></div>
  <div class="card"><h2>Câu hỏi tháng này</h2><p class="big">${total(m)}</p><p>Trả lời trực tiếp: ${pct(m.answered, total(m))} · Chưa hiểu: ${m.none}</p></div>
  <div class="card"><h2>Yêu cầu gặp cán bộ đang mở</h2><p class="big">${open}</p></div>
</section>
<h2>Tài khoản kênh</h2>
${
  accounts.length === 0
    ? html`<p>Chưa kết nối Fanpage hay Zalo OA nào.</p>`
    : html`<table><thead><tr><th>Đơn vị</th><th>Kênh</th><th>Mã</th><th>Trạng thái</th><th>Token hết hạn</th></tr></thead><tbody>${rows}</tbody></table>`
}`,
      ),
    );
  });
  return router;
}
