// The officers' announcements (issue #5, DESIGN §8), all scoped to one unit:
//   GET  /admin/units/:unitId/announcements                 the list, with status and counts
//   GET  /admin/units/:unitId/announcements/new             the compose form
//   POST /admin/units/:unitId/announcements                 create a draft from the form
//   GET  /admin/units/:unitId/announcements/:id             a draft: preview per platform and the
//                                                           notice of who will and will not receive
//                                                           it; once sent: live progress
//   POST /admin/units/:unitId/announcements/:id/send        submit (now, or at its time)
//   POST /admin/units/:unitId/announcements/:id/cancel      nothing more is sent
//   GET  /admin/units/:unitId/announcements/:id/report.csv  the delivery report (and .xlsx)
// Server-rendered, escaped, no script: progress refreshes itself with <meta http-equiv="refresh">
// while the announcement runs. Sending, cancelling and exporting are audited. The helpers below
// (compose validation, send, cancel, report download) are shared with the JSON API.
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { authOf, html, raw, type Auth, type AuthContext, type Html } from './auth/index.js';
import { layout } from './admin-layout.js';
import { formatVietnamTime, routeParam } from './handoffs-router.js';
import { AnnouncementInput, BroadcastChannel, type Announcement, type DeliveryCounts, type DeliveryStatus } from '../broadcast/types.js';
import { VN_OFFSET_MS } from '../broadcast/eligibility.js';
import { predictionInstant, type PlatformPrediction, type Predict, type Prediction } from '../broadcast/prediction.js';
import {
  ANNOUNCEMENT_STATUS_LABELS,
  CHANNEL_LABELS,
  DELIVERY_STATUS_LABELS,
  reasonLabel,
  reportFilename,
  writeReportCsv,
  writeReportXlsx,
  type ReportSource,
} from '../broadcast/report-export.js';
import type { AuditInput } from '../store/audit-repository.js';

// --- the ports this router needs (the real ones: BroadcastRepository, SubscriptionRepository,
// previewAnnouncement from broadcast/render.ts, AuditRepository) ------------------------------

export interface AnnouncementStore extends ReportSource {
  create(unitId: string, input: AnnouncementInput, createdBy: number | null): Promise<Announcement>;
  get(id: number, unitId?: string): Promise<Announcement | undefined>;
  list(unitId: string, limit?: number): Promise<Announcement[]>;
  submit(id: number, now: Date): Promise<Announcement | undefined>;
  cancel(id: number, unitId: string, now: Date): Promise<Announcement | undefined>;
}

export interface SubscriberGroup {
  id: number;
  kind: 'village' | 'topic' | 'audience';
  name: string;
  active: boolean;
  subscribers: number;
}

export interface GroupDirectory {
  listGroups(unitId: string): Promise<SubscriberGroup[]>;
}

export interface AnnouncementPreview {
  parts: string[];
  truncated: boolean;
  notes: string[];
}

export interface AnnouncementsDeps {
  auth: Auth;
  broadcasts: AnnouncementStore;
  groups: GroupDirectory;
  predict: Predict;
  /** How the announcement renders on a platform, within its limits (the real renderers). */
  preview: (platform: BroadcastChannel, a: Announcement) => AnnouncementPreview | Promise<AnnouncementPreview>;
  audit: { record(entry: AuditInput): Promise<void> };
  /** Starts the fan-out (or schedules it) once an announcement is submitted. */
  onSubmitted: (a: Announcement) => Promise<void>;
  /** Lets the runtime drop what it has queued; the repository already guarantees nothing more is sent. */
  onCancelled?: (a: Announcement) => Promise<void>;
  /** Keys the citizens' pseudonyms in the reports (a server secret). */
  pseudonymKey: string;
  /**
   * The periodic surveys an announcement of the unit may invite to (a "Tham gia khảo sát"
   * button, issue #6); absent or empty = no invitation offered.
   */
  surveyInvitations?: (unitId: string) => ReadonlyArray<{ id: string; title: string }>;
  now?: () => Date;
}

// --- shared with the API --------------------------------------------------------------------------

const HOUR = 3_600_000;
const MAX_SCHEDULE_AHEAD_MS = 366 * 24 * HOUR;

export const GROUP_KIND_LABELS: Record<SubscriberGroup['kind'], string> = { village: 'Thôn, xóm, tổ dân phố', topic: 'Chủ đề', audience: 'Đối tượng' };

/** Vietnamese messages for the fields whose schema message is a library default. */
const FIELD_MESSAGES: Record<string, string> = {
  title: 'Tiêu đề không hợp lệ.',
  body: 'Nội dung không hợp lệ.',
  linkUrl: 'Liên kết phải là một địa chỉ http(s) đầy đủ, ví dụ https://dichvucong.gov.vn.',
  imageUrl: 'Ảnh phải là một địa chỉ https đầy đủ.',
  groupIds: 'Chọn ít nhất một nhóm người nhận.',
  channels: 'Chọn ít nhất một kênh (Zalo, Facebook Messenger, Website).',
  scheduledAt: 'Thời điểm gửi không hợp lệ.',
  holdDays: 'Số ngày giữ tin phải từ 0 đến 30.',
  survey: 'Khảo sát không hợp lệ.',
  send: 'send phải là true hoặc false.',
};

const capitalise = (s: string): string => (s === '' ? s : s[0]?.toUpperCase() + s.slice(1));

/**
 * One Vietnamese message per field from a validation error: the schema's own message where it
 * is Vietnamese (it has the marks), else the field's message above.
 */
export function fieldErrors(error: z.ZodError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const field = issue.path.length > 0 ? String(issue.path[0]) : '_';
    if (out[field] !== undefined) continue;
    if (issue.code === 'unrecognized_keys') {
      out[field] = `Trường không được hỗ trợ: ${issue.keys.join(', ')}.`;
      continue;
    }
    const own = /[^\x00-\x7F]/.test(issue.message) ? capitalise(issue.message) + (issue.message.endsWith('.') ? '' : '.') : undefined;
    out[field] = own ?? FIELD_MESSAGES[field] ?? 'Giá trị không hợp lệ.';
  }
  return out;
}

/** The groups an announcement may target: the unit's active ones. Returns an error or null. */
export function checkGroups(groups: readonly SubscriberGroup[], requested: readonly number[]): string | null {
  const allowed = new Set(groups.filter((g) => g.active).map((g) => g.id));
  return requested.every((id) => allowed.has(id)) ? null : 'Có nhóm đã chọn không thuộc đơn vị hoặc đã ngừng hoạt động.';
}

/** A survey invitation must name one of the unit's periodic surveys. Returns an error or null. */
export function checkSurvey(deps: Pick<AnnouncementsDeps, 'surveyInvitations'>, unitId: string, survey: string | null): string | null {
  if (survey === null) return null;
  return (deps.surveyInvitations?.(unitId) ?? []).some((s) => s.id === survey) ? null : 'Không có khảo sát định kỳ này để mời tham gia.';
}

/** A scheduled time must be ahead (and within a year). Returns an error or null. */
export function checkSchedule(at: Date | null, now: Date): string | null {
  if (at === null) return null;
  if (at.getTime() <= now.getTime()) return 'Thời điểm gửi đã qua: chọn một thời điểm sau bây giờ, hoặc chọn “Gửi ngay”.';
  if (at.getTime() - now.getTime() > MAX_SCHEDULE_AHEAD_MS) return 'Chỉ hẹn giờ gửi trong vòng một năm.';
  return null;
}

/** A date (yyyy-MM-dd) and time (HH:mm) read as Vietnam time (UTC+7, no daylight saving). */
export function vietnamLocalToInstant(date: string, time: string): Date | null {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date.trim());
  const t = /^(\d{2}):(\d{2})$/.exec(time.trim());
  if (!d || !t) return null;
  const [y, mo, da, h, mi] = [Number(d[1]), Number(d[2]), Number(d[3]), Number(t[1]), Number(t[2])];
  if (h > 23 || mi > 59) return null;
  const utc = Date.UTC(y, mo - 1, da, h, mi);
  const back = new Date(utc);
  // Reject dates that roll over (31/02 becoming 03/03).
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== da) return null;
  return new Date(utc - VN_OFFSET_MS);
}

/** The same instant as the form's date and time fields (Vietnam time). */
export function instantToVietnamLocal(at: Date): { date: string; time: string } {
  const iso = new Date(at.getTime() + VN_OFFSET_MS).toISOString();
  return { date: iso.slice(0, 10), time: iso.slice(11, 16) };
}

export type SendResult = { kind: 'submitted'; announcement: Announcement } | { kind: 'not_found' } | { kind: 'not_draft'; announcement: Announcement };

/** Submits a draft of the unit: audited, then handed to the runtime exactly once. */
export async function sendAnnouncement(deps: AnnouncementsDeps, unitId: string, id: number, actor: number, via: 'admin' | 'api'): Promise<SendResult> {
  const existing = await deps.broadcasts.get(id, unitId);
  if (!existing) return { kind: 'not_found' };
  const now = (deps.now ?? (() => new Date()))();
  // A scheduled time that passed while the draft waited means "now" (submit decides the same).
  const submitted = await deps.broadcasts.submit(id, now);
  if (!submitted) return { kind: 'not_draft', announcement: (await deps.broadcasts.get(id, unitId)) ?? existing };
  await deps.audit.record({
    actor,
    action: 'announcement.send',
    unitId,
    target: String(id),
    detail: { via, status: submitted.status, scheduledAt: submitted.scheduledAt?.toISOString() ?? null, channels: submitted.channels.join(',') },
  });
  await deps.onSubmitted(submitted);
  return { kind: 'submitted', announcement: submitted };
}

export type CancelResult = { kind: 'cancelled'; announcement: Announcement } | { kind: 'not_found' } | { kind: 'not_cancellable'; announcement: Announcement };

export async function cancelAnnouncement(deps: AnnouncementsDeps, unitId: string, id: number, actor: number, via: 'admin' | 'api'): Promise<CancelResult> {
  const existing = await deps.broadcasts.get(id, unitId);
  if (!existing) return { kind: 'not_found' };
  const now = (deps.now ?? (() => new Date()))();
  const cancelled = await deps.broadcasts.cancel(id, unitId, now);
  if (!cancelled) return { kind: 'not_cancellable', announcement: existing };
  await deps.audit.record({ actor, action: 'announcement.cancel', unitId, target: String(id), detail: { via, from: existing.status } });
  if (deps.onCancelled) await deps.onCancelled(cancelled);
  return { kind: 'cancelled', announcement: cancelled };
}

/** Answers with the report file, streamed, after auditing the export. */
export async function downloadReport(deps: AnnouncementsDeps, res: Response, a: Announcement, format: 'csv' | 'xlsx', actor: number, via: 'admin' | 'api'): Promise<void> {
  await deps.audit.record({ actor, action: 'export.announcement_report', unitId: a.unitId, target: String(a.id), detail: { via, format } });
  res.status(200);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
  res.setHeader('Content-Disposition', `attachment; filename="${reportFilename(a, format)}"`);
  const opts = { source: deps.broadcasts, announcement: a, pseudonymKey: deps.pseudonymKey };
  try {
    if (format === 'csv') await writeReportCsv(res, opts);
    else await writeReportXlsx(res, opts);
  } catch (err) {
    // Headers are gone already: cut the download short rather than send a truncated file as whole.
    res.destroy(err instanceof Error ? err : new Error('report export failed'));
  }
}

/** Sums of a delivery count list: done (settled), in flight, total, by status. */
export function summariseCounts(counts: DeliveryCounts): { total: number; inFlight: number; byStatus: Record<DeliveryStatus, number> } {
  const byStatus: Record<DeliveryStatus, number> = { pending: 0, sending: 0, sent: 0, held: 0, skipped: 0, failed: 0, expired: 0, cancelled: 0 };
  let total = 0;
  for (const c of counts) {
    byStatus[c.status] += c.count;
    total += c.count;
  }
  return { total, inFlight: byStatus.pending + byStatus.sending, byStatus };
}

// --- pages ----------------------------------------------------------------------------------------

const ADMIN_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const REFRESH_SECONDS = 3;
const LIST_LIMIT = 100;
const CHANNELS: readonly BroadcastChannel[] = ['zalo', 'messenger', 'web'];

const STYLE = raw(`<style>form.compose textarea{font:inherit}
.bubble{background:#fff;border:1px solid #ccd;border-radius:12px;padding:.5rem .8rem;margin:.3rem 0;max-width:34rem;white-space:pre-wrap;overflow-wrap:anywhere}
.platform{background:#fff;border-radius:8px;padding:.6rem 1rem;margin:.8rem 0;box-shadow:0 1px 3px #0002}
.bar{background:#dde3e8;border-radius:6px;height:1.2rem;overflow:hidden;max-width:40rem}.bar>div{background:#1e7b34;height:100%}
.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#555}.err{color:#a4161a;font-weight:600;display:block}
form.compose label{display:block;margin:.5rem 0 .2rem;font-weight:600}form.compose fieldset{margin:.6rem 0;background:#fff}
form.compose input[type=text],form.compose input[type=url],form.compose textarea{width:100%;max-width:40rem;box-sizing:border-box}
form.compose fieldset label{font-weight:400;display:block}
</style>`);

const IdParam = z.string().regex(/^\d{1,15}$/).transform(Number);
const asArray = (v: unknown): unknown => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const ComposeForm = z.object({
  title: z.string().max(2000).default(''),
  body: z.string().max(20_000).default(''),
  linkUrl: z.string().max(2000).default(''),
  imageUrl: z.string().max(2000).default(''),
  groupIds: z.preprocess(asArray, z.array(z.string().max(20)).max(200)),
  channels: z.preprocess(asArray, z.array(z.string().max(20)).max(10)),
  when: z.string().max(10).default('now'),
  date: z.string().max(20).default(''),
  time: z.string().max(20).default(''),
  holdDays: z.string().max(10).default('7'),
  survey: z.string().max(80).default(''),
});
type ComposeValues = z.infer<typeof ComposeForm>;
const EMPTY_FORM: ComposeValues = {
  title: '',
  body: '',
  linkUrl: '',
  imageUrl: '',
  groupIds: [],
  channels: [...CHANNELS],
  when: 'now',
  date: '',
  time: '',
  holdDays: '7',
  survey: '',
};

/** Forms with many group checkboxes: more fields than the default admin parser allows. */
const composeParser = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 300 });

const NOTICES: Record<string, string> = {
  created: 'Đã lưu bản nháp. Xem trước và đọc kỹ phần “Ai sẽ nhận được” trước khi bấm Gửi.',
  sent: 'Đã bắt đầu gửi. Trang này tự cập nhật tiến độ.',
  scheduled: 'Đã hẹn giờ gửi. Có thể hủy trước giờ gửi.',
  already: 'Thông báo này đã được gửi hoặc hủy trước đó, không gửi lại.',
  cancelled: 'Đã hủy: không gửi thêm tin nào nữa.',
  not_cancellable: 'Thông báo đã xong hoặc đã hủy, không còn gì để hủy.',
};

const unitPath = (unitId: string): string => `/admin/units/${encodeURIComponent(unitId)}`;
const annPath = (unitId: string, id: number): string => `${unitPath(unitId)}/announcements/${id}`;
const nf = new Intl.NumberFormat('vi-VN');
const n = (v: number): string => nf.format(v);

function pageHeaders(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', ADMIN_CSP);
  res.setHeader('X-Frame-Options', 'DENY');
  res.type('html');
}

/** The admin frame, with a self-refresh while something is running (no script needed). */
function page(title: string, auth: AuthContext, body: Html, refresh = false): string {
  const out = layout(title, auth, html`${STYLE}${body}`);
  return refresh ? out.replace('<meta charset="utf-8">', `<meta charset="utf-8"><meta http-equiv="refresh" content="${REFRESH_SECONDS}">`) : out;
}

function notFound(res: Response, message = 'Không tìm thấy thông báo này.'): void {
  res.status(404).json({ error: { code: 'NOT_FOUND', message } });
}

function noticeBox(req: Request): Html {
  const key = typeof req.query.notice === 'string' ? req.query.notice : '';
  const text = NOTICES[key];
  return text ? html`<p class="${key === 'already' || key === 'not_cancellable' ? 'warn' : 'ok'}" role="status">${text}</p>` : html``;
}

function countsSummary(counts: DeliveryCounts): string {
  const s = summariseCounts(counts);
  if (s.total === 0) return '';
  const parts = [`Đã gửi ${n(s.byStatus.sent)}`, `Giữ lại ${n(s.byStatus.held)}`, `Không gửi ${n(s.byStatus.skipped)}`, `Lỗi ${n(s.byStatus.failed)}`];
  if (s.inFlight > 0) parts.push(`Đang chờ ${n(s.inFlight)}`);
  if (s.byStatus.expired > 0) parts.push(`Hết hạn ${n(s.byStatus.expired)}`);
  if (s.byStatus.cancelled > 0) parts.push(`Đã hủy ${n(s.byStatus.cancelled)}`);
  return `${parts.join(' · ')} / ${n(s.total)} người`;
}

function composeForm(
  unitId: string,
  auth: AuthContext,
  groups: readonly SubscriberGroup[],
  v: ComposeValues,
  errors: Record<string, string>,
  invitations: ReadonlyArray<{ id: string; title: string }>,
): Html {
  const err = (field: string): Html => (errors[field] ? html`<span class="err" role="alert">${errors[field]}</span>` : html``);
  const active = groups.filter((g) => g.active);
  const groupBoxes =
    active.length === 0
      ? html`<p class="warn">Đơn vị chưa có nhóm người nhận tin nào đang hoạt động. Người dân tự đăng ký nhận tin trong khung chat (“đăng ký nhận tin”); cần tạo nhóm trước.</p>`
      : html`${active.map(
          (g) =>
            html`<label><input type="checkbox" name="groupIds" value="${g.id}"${v.groupIds.includes(String(g.id)) ? raw(' checked') : ''}> ${g.name} <small class="muted">(${GROUP_KIND_LABELS[g.kind]} · ${n(g.subscribers)} người đăng ký)</small></label>`,
        )}`;
  const channelBoxes = CHANNELS.map(
    (c) => html`<label><input type="checkbox" name="channels" value="${c}"${v.channels.includes(c) ? raw(' checked') : ''}> ${CHANNEL_LABELS[c]}</label>`,
  );
  return html`<form class="compose" method="post" action="${unitPath(unitId)}/announcements">
<input type="hidden" name="_csrf" value="${auth.csrfToken}">
<label for="title">Tiêu đề</label>${err('title')}
<input type="text" id="title" name="title" maxlength="120" required value="${v.title}">
<label for="body">Nội dung</label>${err('body')}
<textarea id="body" name="body" rows="8" maxlength="2000" required>${v.body}</textarea>
<label for="linkUrl">Liên kết (không bắt buộc)</label>${err('linkUrl')}
<input type="url" id="linkUrl" name="linkUrl" placeholder="https://dichvucong.gov.vn/…" value="${v.linkUrl}">
<label for="imageUrl">Địa chỉ ảnh https (không bắt buộc)</label>${err('imageUrl')}
<input type="url" id="imageUrl" name="imageUrl" placeholder="https://…/anh.jpg" value="${v.imageUrl}">
<fieldset><legend>Nhóm người nhận</legend>${err('groupIds')}${groupBoxes}</fieldset>
<fieldset><legend>Kênh gửi</legend>${err('channels')}${channelBoxes}</fieldset>
<fieldset><legend>Thời điểm gửi (giờ Việt Nam)</legend>${err('scheduledAt')}
<label><input type="radio" name="when" value="now"${v.when !== 'later' ? raw(' checked') : ''}> Gửi ngay khi bấm “Gửi”</label>
<label><input type="radio" name="when" value="later"${v.when === 'later' ? raw(' checked') : ''}> Hẹn giờ:
<input type="date" name="date" value="${v.date}" aria-label="Ngày gửi"> <input type="time" name="time" value="${v.time}" aria-label="Giờ gửi"></label>
</fieldset>
${
  invitations.length > 0
    ? html`<fieldset><legend>Mời tham gia khảo sát sự hài lòng</legend>${err('survey')}
<label><input type="radio" name="survey" value=""${v.survey === '' ? raw(' checked') : ''}> Không kèm lời mời</label>
${invitations.map(
  (s) => html`<label><input type="radio" name="survey" value="${s.id}"${v.survey === s.id ? raw(' checked') : ''}> Kèm nút “Tham gia khảo sát”: ${s.title}</label>`,
)}<small class="muted">Người dân bấm nút để trả lời phiếu ngay trong khung chat (Zalo, Messenger, Website); mỗi người một lần mỗi kỳ.</small></fieldset>`
    : ''
}
<label for="holdDays">Giữ tin cho người chưa nhận được (Messenger, Website) tối đa bao nhiêu ngày</label>${err('holdDays')}
<input type="number" id="holdDays" name="holdDays" min="0" max="30" value="${v.holdDays}"> ngày
<p><button type="submit">Lưu nháp và xem trước</button></p>
</form>`;
}

/** Parses the compose form into an AnnouncementInput, or field errors in Vietnamese. */
function readCompose(
  deps: AnnouncementsDeps,
  unitId: string,
  values: ComposeValues,
  groups: readonly SubscriberGroup[],
): { ok: true; input: AnnouncementInput } | { ok: false; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  let scheduledAt: Date | null = null;
  if (values.when === 'later') {
    scheduledAt = vietnamLocalToInstant(values.date, values.time);
    if (scheduledAt === null) errors.scheduledAt = 'Chọn ngày và giờ gửi (giờ Việt Nam), hoặc chọn “Gửi ngay”.';
    else {
      const problem = checkSchedule(scheduledAt, (deps.now ?? (() => new Date()))());
      if (problem) errors.scheduledAt = problem;
    }
  }
  const holdDays = /^\d{1,2}$/.test(values.holdDays.trim()) ? Number(values.holdDays.trim()) : NaN;
  const parsed = AnnouncementInput.safeParse({
    title: values.title.normalize('NFC'),
    body: values.body.normalize('NFC').replace(/\r\n/g, '\n'),
    linkUrl: values.linkUrl.trim() === '' ? null : values.linkUrl,
    imageUrl: values.imageUrl.trim() === '' ? null : values.imageUrl,
    groupIds: [...new Set(values.groupIds)].map((g) => (/^\d{1,15}$/.test(g) ? Number(g) : NaN)),
    channels: [...new Set(values.channels)],
    scheduledAt,
    holdDays,
    survey: values.survey.trim() === '' ? null : values.survey,
  });
  if (!parsed.success) Object.assign(errors, { ...fieldErrors(parsed.error), ...errors });
  else {
    const groupProblem = checkGroups(groups, parsed.data.groupIds);
    if (groupProblem) errors.groupIds = groupProblem;
    const surveyProblem = checkSurvey(deps, unitId, parsed.data.survey);
    if (surveyProblem) errors.survey = surveyProblem;
  }
  return parsed.success && Object.keys(errors).length === 0 ? { ok: true, input: parsed.data } : { ok: false, errors };
}

// The plain notice: per platform, who receives it now, who waits, who will not receive it, why.
function platformNotice(p: PlatformPrediction, a: Announcement): Html {
  const items: Html[] = [];
  const hold = a.holdDays === 0 ? 'Bản tin đặt giữ 0 ngày: những người này sẽ không nhận được.' : `Tin được giữ tối đa ${a.holdDays} ngày; quá hạn thì không gửi nữa.`;
  const skipped = p.skipped.unreachable + p.skipped.not_following + p.skipped.zalo_daily_limit + p.skipped.zalo_monthly_limit;
  switch (p.platform) {
    case 'messenger':
      items.push(html`<li><b>Nhận ngay: ${n(p.send)}</b> — người đã nhắn tin cho Trang trong 24 giờ qua (Messenger chỉ cho phép gửi trong 24 giờ kể từ tin nhắn cuối của người dân).</li>`);
      items.push(
        html`<li><b>Giữ lại, chờ người dân nhắn lại: ${n(p.held.outside_window)}</b> — đã quá 24 giờ. Tin chỉ đến được khi người đó nhắn tin lại cho Trang. ${hold}</li>`,
      );
      break;
    case 'zalo':
      items.push(html`<li><b>Nhận ngay: ${n(p.send)}</b> — người quan tâm (theo dõi) OA, gửi bằng tin truyền thông.</li>`);
      if (p.deferred > 0 || p.deferredUntil)
        items.push(
          html`<li><b>Gửi lúc 06:00${p.deferredUntil ? ` ngày ${formatVietnamTime(p.deferredUntil).slice(0, 10)}` : ''}: ${n(p.deferred)}</b> — Zalo không cho gửi tin truyền thông từ 22:00 đến 06:00.</li>`,
        );
      break;
    case 'web':
      items.push(
        html`<li><b>Giữ lại, chờ lần ghé sau: ${n(p.held.web_next_visit)}</b> — website không có cách gửi chủ động; tin hiện ra khi người dân mở lại khung chat. ${hold}</li>`,
      );
      break;
  }
  const why: Html[] = [];
  if (p.skipped.not_following > 0) why.push(html`<li>${n(p.skipped.not_following)} người không quan tâm OA (Zalo chỉ gửi tin truyền thông cho người quan tâm)</li>`);
  if (p.skipped.zalo_daily_limit > 0) why.push(html`<li>${n(p.skipped.zalo_daily_limit)} người đã nhận 1 tin truyền thông hôm nay (Zalo: tối đa 1 tin mỗi ngày)</li>`);
  if (p.skipped.zalo_monthly_limit > 0) why.push(html`<li>${n(p.skipped.zalo_monthly_limit)} người đã hết số tin truyền thông trong tháng theo gói OA</li>`);
  if (p.skipped.unreachable > 0) why.push(html`<li>${n(p.skipped.unreachable)} người không liên lạc được (đã chặn, bỏ quan tâm hoặc xóa tài khoản)</li>`);
  items.push(html`<li><b>Không gửi: ${n(skipped)}</b>${why.length > 0 ? html`<ul>${why}</ul>` : ''}</li>`);
  const accounts =
    p.accounts.active + p.accounts.inactive === 0
      ? html`<p class="warn">Đơn vị chưa kết nối kênh này: không ai nhận được qua ${CHANNEL_LABELS[p.platform]}.</p>`
      : p.accounts.inactive > 0
        ? html`<p class="warn">Có ${n(p.accounts.inactive)} tài khoản kênh này đang tạm dừng hoặc cần kết nối lại: tin qua tài khoản đó chờ đến khi kết nối lại.</p>`
        : html``;
  return html`<div class="platform"><h3>${CHANNEL_LABELS[p.platform]} — ${n(p.total)} người đăng ký</h3>${accounts}<ul>${items}</ul></div>`;
}

function noticeSection(pred: Prediction, a: Announcement): Html {
  let send = 0;
  let held = 0;
  let deferred = 0;
  for (const p of pred.platforms) {
    send += p.send;
    held += p.held.outside_window + p.held.web_next_visit;
    deferred += p.deferred;
  }
  const skipped = pred.audience - send - held - deferred;
  return html`<h2>Ai sẽ nhận được</h2>
<p>Dự tính cho lúc gửi ${formatVietnamTime(pred.at)} (giờ Việt Nam). Con số có thể đổi nếu trước lúc đó người dân nhắn tin, đăng ký hoặc hủy đăng ký.</p>
<table><thead><tr><th>Kênh</th><th class="num">Người đăng ký</th><th class="num">Nhận ngay</th><th class="num">Giữ lại</th><th class="num">Gửi lúc 06:00</th><th class="num">Không gửi</th></tr></thead><tbody>
${pred.platforms.map((p) => {
  const h = p.held.outside_window + p.held.web_next_visit;
  return html`<tr><td>${CHANNEL_LABELS[p.platform]}</td><td class="num">${n(p.total)}</td><td class="num">${n(p.send)}</td><td class="num">${n(h)}</td><td class="num">${n(p.deferred)}</td><td class="num">${n(p.total - p.send - h - p.deferred)}</td></tr>`;
})}
<tr><th>Tổng cộng</th><th class="num">${n(pred.audience)}</th><th class="num">${n(send)}</th><th class="num">${n(held)}</th><th class="num">${n(deferred)}</th><th class="num">${n(skipped)}</th></tr>
</tbody></table>
${pred.platforms.map((p) => platformNotice(p, a))}`;
}

async function previewSection(deps: AnnouncementsDeps, a: Announcement): Promise<Html> {
  const blocks: Html[] = [];
  for (const platform of a.channels) {
    const p = await deps.preview(platform, a);
    blocks.push(html`<div class="platform"><h3>${CHANNEL_LABELS[platform]}</h3>
${p.parts.map((part) => html`<div class="bubble">${part}</div>`)}
${p.truncated ? html`<p class="warn">Nội dung quá dài so với giới hạn của ${CHANNEL_LABELS[platform]}: phần cuối bị cắt.</p>` : ''}
${p.notes.length > 0 ? html`<ul class="muted">${p.notes.map((x) => html`<li>${x}</li>`)}</ul>` : ''}</div>`);
  }
  return html`<h2>Xem trước trên từng kênh</h2>${blocks}`;
}

function progressSection(a: Announcement, counts: DeliveryCounts): Html {
  const s = summariseCounts(counts);
  const settled = s.total - s.inFlight;
  const pct = s.total === 0 ? 0 : Math.floor((settled * 100) / s.total);
  const running = a.status === 'fanning_out' || a.status === 'sending';
  const rows = counts.map(
    (c) => html`<tr><td>${DELIVERY_STATUS_LABELS[c.status]}</td><td>${reasonLabel(c.status, c.reason) || '—'}</td><td class="num">${n(c.count)}</td></tr>`,
  );
  const head =
    a.status === 'fanning_out'
      ? html`<p>Đang lập danh sách người nhận: đã có ${n(s.total)} người.</p>`
      : a.status === 'scheduled'
        ? html`<p>Chưa đến giờ gửi.</p>`
        : html``;
  return html`<h2>Tiến độ</h2>${head}
<p>Đã xử lý ${n(settled)} / ${n(s.total)} người (${pct}%)${running ? ' · trang tự cập nhật mỗi vài giây' : ''}.</p>
<div class="bar" role="img" aria-label="Đã xử lý ${pct}%"><div style="width:${pct}%"></div></div>
<table><thead><tr><th>Kết quả</th><th>Lý do</th><th class="num">Số người</th></tr></thead><tbody>${rows}
<tr><th colspan="2">Tổng cộng</th><th class="num">${n(s.total)}</th></tr></tbody></table>
${s.byStatus.held > 0 ? html`<p class="muted">“Giữ lại”: tin sẽ được gửi kèm khi người dân quay lại trong ${a.holdDays} ngày; quá hạn thì chuyển thành “Hết hạn giữ”.</p>` : ''}`;
}

function contentSection(a: Announcement, groups: readonly SubscriberGroup[], surveyTitle?: string): Html {
  const names = a.groupIds.map((id) => {
    const g = groups.find((x) => x.id === id);
    return !g ? `Nhóm #${id}` : g.active ? g.name : `${g.name} (đã ngừng hoạt động, vẫn gửi cho người đã đăng ký)`;
  });
  return html`<table>
<tr><th>Trạng thái</th><td>${ANNOUNCEMENT_STATUS_LABELS[a.status]}</td></tr>
<tr><th>Nội dung</th><td style="white-space:pre-wrap">${a.body}</td></tr>
${a.linkUrl ? html`<tr><th>Liên kết</th><td>${a.linkUrl}</td></tr>` : ''}
${a.imageUrl ? html`<tr><th>Ảnh</th><td>${a.imageUrl}</td></tr>` : ''}
${a.survey ? html`<tr><th>Mời tham gia khảo sát</th><td>${surveyTitle ?? a.survey}</td></tr>` : ''}
<tr><th>Nhóm người nhận</th><td>${names.join(', ')}</td></tr>
<tr><th>Kênh</th><td>${a.channels.map((c) => CHANNEL_LABELS[c]).join(', ')}</td></tr>
<tr><th>Thời điểm gửi</th><td>${a.scheduledAt ? `${formatVietnamTime(a.scheduledAt)} (giờ Việt Nam)` : 'Ngay khi bấm Gửi'}</td></tr>
<tr><th>Giữ tin tối đa</th><td>${a.holdDays} ngày</td></tr>
<tr><th>Soạn lúc</th><td>${formatVietnamTime(a.createdAt)}</td></tr>
${a.startedAt ? html`<tr><th>Bắt đầu gửi</th><td>${formatVietnamTime(a.startedAt)}</td></tr>` : ''}
${a.finishedAt ? html`<tr><th>Xong lúc</th><td>${formatVietnamTime(a.finishedAt)}</td></tr>` : ''}
${a.cancelledAt ? html`<tr><th>Hủy lúc</th><td>${formatVietnamTime(a.cancelledAt)}</td></tr>` : ''}
</table>`;
}

function actionForm(unitId: string, a: Announcement, auth: AuthContext, action: 'send' | 'cancel', label: string, note: string): Html {
  return html`<form method="post" action="${annPath(unitId, a.id)}/${action}" style="margin:.8rem 0">
<input type="hidden" name="_csrf" value="${auth.csrfToken}"><button type="submit">${label}</button> <small class="muted">${note}</small></form>`;
}

export function createAnnouncementsRouter(deps: AnnouncementsDeps): Router {
  const router = express.Router();
  const now = deps.now ?? (() => new Date());
  const guard = deps.auth.requireUser('announcements.manage');

  router.get('/admin/units/:unitId/announcements', guard, async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) return notFound(res, 'Không tìm thấy đơn vị.');
    const list = await deps.broadcasts.list(unitId, LIST_LIMIT);
    const counts = await Promise.all(list.map((a) => (a.status === 'draft' ? Promise.resolve([]) : deps.broadcasts.counts(a.id))));
    const rows = list.map(
      (a, i) =>
        html`<tr><td><a href="${annPath(unitId, a.id)}">${a.title}</a></td><td>${ANNOUNCEMENT_STATUS_LABELS[a.status]}</td><td>${formatVietnamTime(a.createdAt)}</td><td>${a.channels.map((c) => CHANNEL_LABELS[c]).join(', ')}</td><td>${countsSummary(counts[i] ?? [])}</td></tr>`,
    );
    pageHeaders(res);
    res.send(
      page(
        'Thông báo',
        auth,
        html`<h1>Thông báo cho người dân</h1>${noticeBox(req)}
<p>Đơn vị: ${unitId}</p>
<p><a href="${unitPath(unitId)}/announcements/new">Soạn thông báo</a></p>
${
  list.length === 0
    ? html`<p>Chưa có thông báo nào.</p>`
    : html`<table><thead><tr><th>Tiêu đề</th><th>Trạng thái</th><th>Soạn lúc</th><th>Kênh</th><th>Kết quả</th></tr></thead><tbody>${rows}</tbody></table>`
}`,
      ),
    );
  });

  const renderCompose = async (res: Response, auth: AuthContext, unitId: string, values: ComposeValues, errors: Record<string, string>, status: number) => {
    const groups = await deps.groups.listGroups(unitId);
    pageHeaders(res);
    res.status(status).send(
      page(
        'Soạn thông báo',
        auth,
        html`<h1>Soạn thông báo</h1>
${Object.keys(errors).length > 0 ? html`<p class="warn" role="alert">Chưa lưu được: xem các lỗi bên dưới.</p>` : ''}
<p>Thông báo được lưu thành bản nháp. Trước khi gửi, trang sau cho xem trước trên từng kênh và cho biết ai sẽ nhận được, ai phải chờ, ai không nhận được và vì sao.</p>
${composeForm(unitId, auth, groups, values, errors, deps.surveyInvitations?.(unitId) ?? [])}
<p><a href="${unitPath(unitId)}/announcements">Quay lại danh sách</a></p>`,
      ),
    );
  };

  router.get('/admin/units/:unitId/announcements/new', guard, async (req, res) => {
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) return notFound(res, 'Không tìm thấy đơn vị.');
    await renderCompose(res, authOf(res), unitId, EMPTY_FORM, {}, 200);
  });

  router.post('/admin/units/:unitId/announcements', composeParser, guard, async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) return notFound(res, 'Không tìm thấy đơn vị.');
    const form = ComposeForm.safeParse(req.body ?? {});
    const values = form.success ? form.data : EMPTY_FORM;
    if (!form.success) return renderCompose(res, auth, unitId, values, { title: 'Biểu mẫu không hợp lệ hoặc quá dài.' }, 400);
    const groups = await deps.groups.listGroups(unitId);
    const read = readCompose(deps, unitId, values, groups);
    if (!read.ok) return renderCompose(res, auth, unitId, values, read.errors, 400);
    const a = await deps.broadcasts.create(unitId, read.input, auth.user.id);
    await deps.audit.record({ actor: auth.user.id, action: 'announcement.create', unitId, target: String(a.id), detail: { via: 'admin' } });
    res.redirect(303, `${annPath(unitId, a.id)}?notice=created`);
  });

  /** The announcement of this unit named in the URL; another unit's id is "not found". */
  const load = async (req: Request): Promise<{ unitId: string; a: Announcement } | undefined> => {
    const unitId = routeParam(req.params.unitId);
    const id = IdParam.safeParse(req.params.id);
    if (unitId === null || !id.success) return undefined;
    const a = await deps.broadcasts.get(id.data, unitId);
    return a ? { unitId, a } : undefined;
  };

  router.get('/admin/units/:unitId/announcements/:id', guard, async (req, res) => {
    const auth = authOf(res);
    const found = await load(req);
    if (!found) return notFound(res);
    const { unitId, a } = found;
    const groups = await deps.groups.listGroups(unitId);
    const sections: Html[] = [contentSection(a, groups, deps.surveyInvitations?.(unitId).find((s) => s.id === a.survey)?.title)];
    const cancelNote = 'Không gửi thêm tin nào nữa; tin đang chờ (kể cả tin đang giữ chờ người dân quay lại) bị hủy. Tin đã gửi thì không thu hồi được.';
    if (a.status === 'draft' || a.status === 'scheduled') {
      const at = predictionInstant(a.scheduledAt, now());
      const [preview, prediction] = await Promise.all([previewSection(deps, a), deps.predict({ unitId, groupIds: a.groupIds, channels: a.channels, at })]);
      sections.push(preview, noticeSection(prediction, a));
      if (a.status === 'draft') {
        sections.push(
          actionForm(
            unitId,
            a,
            auth,
            'send',
            a.scheduledAt && a.scheduledAt > now() ? `Gửi (hẹn lúc ${formatVietnamTime(a.scheduledAt)})` : 'Gửi',
            'Mỗi lần gửi được ghi vào nhật ký.',
          ),
          actionForm(unitId, a, auth, 'cancel', 'Hủy bản nháp', 'Bản nháp chuyển sang “Đã hủy”, không gửi.'),
        );
      } else {
        sections.push(progressSection(a, await deps.broadcasts.counts(a.id)), actionForm(unitId, a, auth, 'cancel', 'Hủy gửi', cancelNote));
      }
    } else {
      sections.push(progressSection(a, await deps.broadcasts.counts(a.id)));
      if (a.status === 'fanning_out' || a.status === 'sending') sections.push(actionForm(unitId, a, auth, 'cancel', 'Hủy gửi', cancelNote));
      sections.push(
        html`<h2>Báo cáo</h2><p>Tải danh sách người nhận và kết quả (người dân chỉ hiện bằng mã ẩn danh): <a href="${annPath(unitId, a.id)}/report.csv">CSV</a> · <a href="${annPath(unitId, a.id)}/report.xlsx">Excel (XLSX)</a></p>`,
      );
    }
    const running = a.status === 'fanning_out' || a.status === 'sending';
    pageHeaders(res);
    res.send(
      page(
        a.title,
        auth,
        // "Sending started, this page updates itself" is only true while it runs (the refresh keeps the URL).
        html`<h1>${a.title}</h1>${req.query.notice === 'sent' && !running ? '' : noticeBox(req)}${sections}<p><a href="${unitPath(unitId)}/announcements">Quay lại danh sách thông báo</a></p>`,
        running,
      ),
    );
  });

  router.post('/admin/units/:unitId/announcements/:id/send', guard, async (req, res) => {
    const auth = authOf(res);
    const found = await load(req);
    if (!found) return notFound(res);
    const r = await sendAnnouncement(deps, found.unitId, found.a.id, auth.user.id, 'admin');
    if (r.kind === 'not_found') return notFound(res);
    const notice = r.kind === 'not_draft' ? 'already' : r.announcement.status === 'scheduled' ? 'scheduled' : 'sent';
    res.redirect(303, `${annPath(found.unitId, found.a.id)}?notice=${notice}`);
  });

  router.post('/admin/units/:unitId/announcements/:id/cancel', guard, async (req, res) => {
    const auth = authOf(res);
    const found = await load(req);
    if (!found) return notFound(res);
    const r = await cancelAnnouncement(deps, found.unitId, found.a.id, auth.user.id, 'admin');
    if (r.kind === 'not_found') return notFound(res);
    res.redirect(303, `${annPath(found.unitId, found.a.id)}?notice=${r.kind === 'cancelled' ? 'cancelled' : 'not_cancellable'}`);
  });

  for (const format of ['csv', 'xlsx'] as const) {
    router.get(`/admin/units/:unitId/announcements/:id/report.${format}`, guard, async (req, res) => {
      const found = await load(req);
      if (!found) return notFound(res);
      await downloadReport(deps, res, found.a, format, authOf(res).user.id, 'admin');
    });
  }

  return router;
}
