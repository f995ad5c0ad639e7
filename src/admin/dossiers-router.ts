// The officers' dossier pages (issue #7) under /admin/units/:unitId/dossiers: the list (search by
// code, filter by status), a dossier with its history and the status-change form, the create
// form, the spreadsheet import (upload or paste → dry-run preview → confirm, all or nothing), the
// unit's column mapping of its one-stop system export, and the per-period report (with a CSV
// export). Every write is audited (dossier.create, dossier.status, dossier.import,
// dossier.mapping). Server-rendered, escaped, no script.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { authOf, html, raw, type Action, type Auth, type AuthContext, type Html } from './auth/index.js';
import { errorPage } from './auth/pages.js';
import { layout } from './admin-layout.js';
import { formatVietnamTime, routeParam } from './handoffs-router.js';
import { messengerLink, widgetLink, zaloLink } from './catalogue-router.js';
import { qrSvg } from './qr.js';
import type { AccountRepository } from '../store/account-repository.js';
import { dossierLookupPayload } from '../dossiers/chat-payload.js';
import type { AuditRepository } from '../store/audit-repository.js';
import { CODE_MAX, DossierCode } from '../dossiers/code.js';
import type { ChangedField, Dossier, DossierRepository, HistoryEntry, WriteOutcome } from '../dossiers/dossier-repository.js';
import { DossierImporter, IMPORT_MAX_BYTES, PREVIEW_TTL_MINUTES, type ImportPreview } from '../dossiers/import.js';
import { DEFAULT_COLUMNS, EMPTY_MAPPING, FIELD_VI, ImportField, ImportMapping, effectiveColumns, type ImportMappingRepository } from '../dossiers/import-mapping.js';
import { localInstant, parseLocalDate } from '../dossiers/local-time.js';
import { multipartBoundary, parseMultipart } from '../dossiers/multipart-form.js';
import { DossierStatus, OPEN_STATUSES, STATUS_VI, parseStatusText } from '../dossiers/status.js';
import { dossierReportCsv, dossierReportFileName, onTimeShare, evaluatedShare, satisfiedShare, shareText, writeDossierReportXlsx, DEFINITIONS_NOTE } from '../dossiers/report-export.js';
import { parsePeriod, PeriodError, quarterOf, vietnamDate, type Period } from '../surveys/period.js';

/**
 * Who may keep a unit's dossiers: its officers (and admins). roles.ts has no dossier action yet;
 * 'handoffs.manage' is the one granted to exactly those people. Switch to 'dossiers.manage'
 * here once roles.ts has it (the API uses this constant too).
 */
export const DOSSIERS_ACTION: Action = 'dossiers.manage';

export interface DossiersDeps {
  auth: Auth;
  dossiers: DossierRepository;
  importer: DossierImporter;
  mappings: ImportMappingRepository;
  audit: AuditRepository;
  /**
   * The unit's chat accounts, where citizens reach the widget and the unit's name: the QR codes
   * and links on a dossier's page that open its look-up in chat. Without it the page only shows
   * the words to send.
   */
  chat?: {
    accounts: Pick<AccountRepository, 'listByUnit'>;
    publicBaseUrl: string;
    units?: { get(unitId: string): Promise<{ name: string } | undefined> };
  };
  /** The clock (tests pin it). */
  now?: () => Date;
}

const PAGE_SIZE = 100;
const PREVIEW_ROWS_SHOWN = 300;
const ERRORS_SHOWN = 200;

const SOURCE_VI: Record<HistoryEntry['source'], string> = { admin: 'Cán bộ', import: 'Nhập từ tệp', api: 'Hệ thống một cửa (API)' };
const OUTCOME_VI: Record<WriteOutcome, string> = { created: 'Thêm mới', updated: 'Cập nhật', unchanged: 'Không đổi', stale: 'Bỏ qua (cũ hơn dữ liệu hiện có)' };
const CHANGED_VI: Record<ChangedField, string> = {
  procedure: 'thủ tục',
  receivedAt: 'ngày tiếp nhận',
  dueAt: 'ngày hẹn trả',
  status: 'trạng thái',
  missing: 'nội dung bổ sung',
  pickupPlace: 'nơi trả kết quả',
  verification: 'số xác minh',
};

const IdParam = z.string().regex(/^\d{1,15}$/).transform(Number);
const text = (max: number) => z.string().max(max).transform((s) => s.normalize('NFC').trim());
const StatusField = z.enum(DossierStatus.options);

const ListQuery = z.object({
  q: z.string().max(CODE_MAX).optional(),
  status: StatusField.optional().catch(undefined),
  before: z.string().regex(/^\d{1,15}$/).transform(Number).optional().catch(undefined),
});

const CreateForm = z.object({
  code: z.string().max(200),
  procedure_code: text(50).default(''),
  procedure_name: text(500).default(''),
  received_at: text(40).default(''),
  due_at: text(40).default(''),
  status: StatusField.default('received'),
  missing: text(1000).default(''),
  pickup_place: text(300).default(''),
  phone_last4: text(10).default(''),
});

const StatusForm = z.object({
  status: StatusField,
  missing: text(1000).default(''),
  pickup_place: text(300).default(''),
  note: text(1000).default(''),
});

const ConfirmForm = z.object({ token: z.string().min(10).max(100) });
const ExportedAtField = z.object({ exported_at: text(40).default('') });

const unitPath = (unitId: string): string => `/admin/units/${encodeURIComponent(unitId)}`;
const dossiersPath = (unitId: string): string => `${unitPath(unitId)}/dossiers`;
const dateOrDash = (d: Date | null): string => (d === null ? '—' : formatVietnamTime(d));

/** "Quá hạn" when still open past its due date. */
function overdue(d: Dossier, now: Date): boolean {
  return OPEN_STATUSES.has(d.status) && d.dueAt !== null && d.dueAt < now;
}

function statusOptions(selected: DossierStatus): Html {
  return html`${DossierStatus.options.map((s) => html`<option value="${s}"${s === selected ? html` selected` : ''}>${STATUS_VI[s]}</option>`)}`;
}

function procedureLabel(d: { procedureCode: string | null; procedureName: string | null }): string {
  return [d.procedureCode, d.procedureName].filter((x): x is string => x !== null && x !== '').join(' — ');
}

/** Form dates: the browser's date / datetime-local value, or dd/MM/yyyy [HH:mm] typed. */
function formDate(value: string, edge: 'start' | 'end'): Date | 'blank' | 'invalid' {
  if (value === '') return 'blank';
  const l = parseLocalDate(value);
  return l ? localInstant(l, edge) : 'invalid';
}

export function createDossiersRouter(deps: DossiersDeps): Router {
  const router = express.Router();
  const now = deps.now ?? (() => new Date());
  const officer = deps.auth.requireUser(DOSSIERS_ACTION);

  const page = (res: Response, auth: AuthContext, status: number, title: string, body: Html): void => {
    res.setHeader('Cache-Control', 'no-store');
    res.status(status).type('html').send(layout(title, auth, body));
  };
  const failure = (res: Response, auth: AuthContext, unitId: string, status: number, title: string, messages: readonly string[], back = dossiersPath(unitId)): void =>
    page(
      res,
      auth,
      status,
      title,
      html`<h1>${title}</h1>${messages.map((m) => html`<p class="warn" role="alert">${m}</p>`)}<p><a href="${back}">Quay lại</a></p>`,
    );
  const notFound = (res: Response): void => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'Không tìm thấy hồ sơ này.' } });
  };

  // --- the list --------------------------------------------------------------------------------

  router.get('/admin/units/:unitId/dossiers', officer, async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) return notFound(res);
    const query = ListQuery.safeParse(req.query);
    const q = query.success ? query.data : {};
    const list = await deps.dossiers.list(unitId, {
      ...(q.status ? { status: q.status } : {}),
      ...(q.q ? { code: q.q } : {}),
      ...(q.before ? { beforeId: q.before } : {}),
      limit: PAGE_SIZE,
    });
    const total = await deps.dossiers.count(unitId);
    const at = now();
    const base = dossiersPath(unitId);
    const rows = list.map(
      (d) => html`<tr><td><a href="${base}/${d.id}">${d.code}</a></td><td>${procedureLabel(d)}</td><td>${formatVietnamTime(d.receivedAt)}</td>
<td>${dateOrDash(d.dueAt)}${overdue(d, at) ? html` <span class="warn">Quá hạn</span>` : ''}</td><td>${STATUS_VI[d.status]}</td></tr>`,
    );
    const last = list.at(-1);
    const nextLink =
      list.length === PAGE_SIZE && last
        ? html`<p><a href="${base}?${new URLSearchParams({ ...(q.q ? { q: q.q } : {}), ...(q.status ? { status: q.status } : {}), before: String(last.id) }).toString()}">Xem tiếp</a></p>`
        : '';
    const notice = typeof req.query.notice === 'string' && req.query.notice === 'created' ? html`<p class="ok" role="status">Đã thêm hồ sơ.</p>` : '';
    page(
      res,
      auth,
      200,
      'Hồ sơ',
      html`<h1>Hồ sơ</h1>${notice}
<p>Đơn vị: ${unitId} · ${total} hồ sơ · <a href="${base}/import">Nhập từ tệp (CSV, XLSX)</a> · <a href="${base}/mapping">Cấu hình cột của tệp</a>${
        auth.can('reports.view', unitId) ? html` · <a href="${base}/report">Báo cáo</a>` : ''
      }</p>
<form method="get" action="${base}"><label>Mã hồ sơ <input type="search" name="q" value="${q.q ?? ''}" maxlength="${CODE_MAX}"></label>
<label>Trạng thái <select name="status"><option value="">Tất cả</option>${DossierStatus.options.map(
        (s) => html`<option value="${s}"${s === q.status ? html` selected` : ''}>${STATUS_VI[s]}</option>`,
      )}</select></label> <button type="submit">Tìm</button></form>
${
  list.length === 0
    ? html`<p>Không có hồ sơ nào${q.q || q.status ? ' khớp điều kiện tìm' : ''}.</p>`
    : html`<table><thead><tr><th>Mã hồ sơ</th><th>Thủ tục</th><th>Tiếp nhận</th><th>Hẹn trả</th><th>Trạng thái</th></tr></thead><tbody>${rows}</tbody></table>${nextLink}`
}
<details><summary>Thêm hồ sơ</summary>${createForm(unitId, auth, at)}</details>`,
    );
  });

  function createForm(unitId: string, auth: AuthContext, at: Date): Html {
    const today = vietnamDate(at).split('/').reverse().join('-');
    return html`<form method="post" action="${dossiersPath(unitId)}">
<input type="hidden" name="_csrf" value="${auth.csrfToken}">
<p><label>Mã hồ sơ (như trên Giấy tiếp nhận) <input type="text" name="code" required maxlength="${CODE_MAX}" size="32" placeholder="000.00.01.H56-240101-0001"></label></p>
<p><label>Mã thủ tục <input type="text" name="procedure_code" maxlength="50" placeholder="1.001234"></label>
<label>Tên thủ tục <input type="text" name="procedure_name" maxlength="500" size="40"></label> <small>(cần ít nhất một trong hai)</small></p>
<p><label>Ngày tiếp nhận <input type="date" name="received_at" value="${today}" required></label>
<label>Ngày hẹn trả <input type="date" name="due_at"></label></p>
<p><label>Trạng thái <select name="status">${statusOptions('received')}</select></label>
<label>Nội dung cần bổ sung (nếu chờ bổ sung) <input type="text" name="missing" maxlength="1000" size="40"></label></p>
<p><label>Nơi trả kết quả <input type="text" name="pickup_place" maxlength="300" size="40" placeholder="Bộ phận một cửa UBND xã"></label></p>
<p><label>4 số cuối điện thoại người nộp <input type="text" name="phone_last4" inputmode="numeric" pattern="[0-9]{4}" maxlength="4" size="6" autocomplete="off"></label>
<small>Người dân nhập 4 số này để tra cứu hồ sơ trong khung chat. Chỉ lưu dạng mã hoá, không lưu số.</small></p>
<button type="submit">Thêm hồ sơ</button></form>`;
  }

  router.post('/admin/units/:unitId/dossiers', officer, async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) return notFound(res);
    const form = CreateForm.safeParse(req.body ?? {});
    const problems: string[] = [];
    if (!form.success) return failure(res, auth, unitId, 400, 'Không thêm được hồ sơ', ['Biểu mẫu không hợp lệ.']);
    const f = form.data;
    const code = DossierCode.safeParse(f.code);
    if (!code.success) problems.push(`Mã hồ sơ: ${code.error.issues[0]?.message ?? 'không hợp lệ'}.`);
    if (f.procedure_code === '' && f.procedure_name === '') problems.push('Cần mã thủ tục hoặc tên thủ tục.');
    const receivedAt = formDate(f.received_at, 'start');
    const dueAt = formDate(f.due_at, 'end');
    if (receivedAt === 'blank' || receivedAt === 'invalid') problems.push('Ngày tiếp nhận không hợp lệ (dd/MM/yyyy).');
    else if (receivedAt.getTime() > now().getTime() + 86_400_000) problems.push('Ngày tiếp nhận ở tương lai.');
    if (dueAt === 'invalid') problems.push('Ngày hẹn trả không hợp lệ (dd/MM/yyyy).');
    if (receivedAt instanceof Date && dueAt instanceof Date && dueAt < receivedAt) problems.push('Ngày hẹn trả ở trước ngày tiếp nhận.');
    if (f.status === 'needs_supplement' && f.missing === '') problems.push('Hồ sơ chờ bổ sung: hãy ghi nội dung cần bổ sung.');
    if (f.phone_last4 !== '' && !/^\d{4}$/.test(f.phone_last4)) problems.push('4 số cuối điện thoại phải là đúng 4 chữ số.');
    if (problems.length > 0 || !code.success || !(receivedAt instanceof Date)) return failure(res, auth, unitId, 400, 'Không thêm được hồ sơ', problems);
    const at = now();
    const outcome = await deps.dossiers.transaction(async (w, tx) => {
      const existing = await deps.dossiers.getByCode(unitId, code.data, tx);
      if (existing) return { kind: 'exists' as const, existing };
      return {
        kind: 'written' as const,
        written: await w.upsert(
          {
            unitId,
            code: code.data,
            procedureCode: f.procedure_code === '' ? null : f.procedure_code,
            procedureName: f.procedure_name === '' ? null : f.procedure_name,
            receivedAt,
            dueAt: dueAt instanceof Date ? dueAt : null,
            status: f.status,
            missing: f.missing === '' ? null : f.missing,
            pickupPlace: f.pickup_place === '' ? null : f.pickup_place,
            ...(f.phone_last4 !== '' ? { verification: deps.dossiers.digest(unitId, code.data, f.phone_last4) } : {}),
          },
          { source: 'admin', actor: auth.user.id, at },
        ),
      };
    });
    if (outcome.kind === 'exists') {
      return page(
        res,
        auth,
        409,
        'Không thêm được hồ sơ',
        html`<h1>Không thêm được hồ sơ</h1><p class="warn" role="alert">Đơn vị đã có hồ sơ mã “${outcome.existing.code}”.</p>
<p><a href="${dossiersPath(unitId)}/${outcome.existing.id}">Xem hồ sơ đó</a> · <a href="${dossiersPath(unitId)}">Quay lại</a></p>`,
      );
    }
    const d = outcome.written.dossier;
    await deps.audit.record({ actor: auth.user.id, action: 'dossier.create', unitId, target: String(d.id), detail: { code: d.code, status: d.status } });
    res.redirect(303, `${dossiersPath(unitId)}/${d.id}?notice=created`);
  });

  // --- import ----------------------------------------------------------------------------------

  const multipartBody = express.raw({ type: 'multipart/form-data', limit: IMPORT_MAX_BYTES + 64 * 1024 });
  const pasteBody = express.urlencoded({ extended: false, limit: IMPORT_MAX_BYTES + 64 * 1024, parameterLimit: 10 });
  /**
   * The upload's body is read before requireUser (whose CSRF check needs the `_csrf` field): a
   * multipart form becomes its text fields in req.body and its file in res.locals.upload.
   */
  const importBody = (req: Request, res: Response, next: NextFunction): void => {
    const tooLarge = (err: unknown): boolean => {
      const status = typeof err === 'object' && err !== null && 'status' in err ? err.status : undefined;
      if (status === 413) {
        res.status(413).setHeader('Cache-Control', 'no-store');
        res.type('html').send(errorPage(`Tệp quá lớn: tối đa ${IMPORT_MAX_BYTES / 1024 / 1024} MB mỗi lần nhập.`));
        return true;
      }
      return false;
    };
    const boundary = multipartBoundary(req.headers['content-type']);
    if (boundary === undefined) {
      pasteBody(req, res, (err?: unknown) => (err === undefined ? next() : tooLarge(err) ? undefined : next(err)));
      return;
    }
    multipartBody(req, res, (err?: unknown) => {
      if (err !== undefined) return tooLarge(err) ? undefined : next(err);
      const form = Buffer.isBuffer(req.body) ? parseMultipart(req.body, boundary) : undefined;
      req.body = form ? form.fields : {};
      res.locals.upload = form?.files.find((f) => f.fieldName === 'file' && f.data.length > 0);
      next();
    });
  };

  function importForm(unitId: string, auth: AuthContext): Html {
    const base = dossiersPath(unitId);
    return html`<form method="post" action="${base}/import" enctype="multipart/form-data">
<input type="hidden" name="_csrf" value="${auth.csrfToken}">
<p><label>Tệp xuất từ hệ thống một cửa (.xlsx hoặc .csv, tối đa ${IMPORT_MAX_BYTES / 1024 / 1024} MB) <input type="file" name="file" accept=".xlsx,.csv,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" required></label></p>
<p><label>Thời điểm xuất tệp <input type="datetime-local" name="exported_at"></label> <small>Để trống: lúc tải lên. Cập nhật nào mới hơn thời điểm này (cán bộ sửa, hệ thống gửi qua API) được giữ nguyên.</small></p>
<button type="submit">Xem trước</button></form>
<details><summary>Hoặc dán nội dung CSV</summary><form method="post" action="${base}/import">
<input type="hidden" name="_csrf" value="${auth.csrfToken}">
<p><textarea name="csv" rows="12" cols="100" required placeholder="Mã hồ sơ,Thủ tục,Ngày tiếp nhận,Ngày hẹn trả,Trạng thái,Số điện thoại"></textarea></p>
<p><label>Thời điểm xuất tệp <input type="datetime-local" name="exported_at"></label></p>
<button type="submit">Xem trước</button></form></details>`;
  }

  router.get('/admin/units/:unitId/dossiers/import', officer, (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) return notFound(res);
    const columns = effectiveColumns(EMPTY_MAPPING);
    page(
      res,
      auth,
      200,
      'Nhập hồ sơ từ tệp',
      html`<h1>Nhập hồ sơ từ tệp</h1>
<p>Bước 1: tải tệp lên để <b>xem trước</b> (chưa ghi gì). Bước 2: nếu không có lỗi, bấm “Nhập” để ghi tất cả trong một lần; có một dòng lỗi thì không ghi dòng nào.</p>
<p>Cột cần có: ${columns.code[0]}, ${columns.receivedAt[0]}, ${columns.status[0]}, và ${columns.procedureCode[0]} hoặc ${columns.procedureName[0]}. Nên có: ${columns.dueAt[0]}, ${columns.phone[0]} (chỉ 4 số cuối được dùng để người dân tra cứu, lưu dạng mã hoá). Ngày dạng dd/MM/yyyy hoặc dd/MM/yyyy HH:mm, giờ Việt Nam. Tên cột khác: <a href="${dossiersPath(unitId)}/mapping">cấu hình cột</a>. Họ tên, địa chỉ người nộp không được đọc.</p>
${importForm(unitId, auth)}
<p><a href="${dossiersPath(unitId)}">Quay lại danh sách hồ sơ</a></p>`,
    );
  });

  // Signed in with the right role before the upload (up to 5 MB) is read; CSRF is checked after.
  router.post('/admin/units/:unitId/dossiers/import', deps.auth.requireSignedIn(DOSSIERS_ACTION), importBody, officer, async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) return notFound(res);
    const upload: unknown = res.locals.upload;
    const fields = z.object({ csv: z.string().optional() }).safeParse(req.body ?? {});
    let file: { name: string; data: Buffer } | undefined;
    if (upload && typeof upload === 'object' && 'data' in upload && Buffer.isBuffer(upload.data) && 'fileName' in upload && typeof upload.fileName === 'string') {
      file = { name: upload.fileName, data: upload.data };
    } else if (fields.success && fields.data.csv !== undefined && fields.data.csv.trim() !== '') {
      file = { name: 'dan-noi-dung.csv', data: Buffer.from(fields.data.csv, 'utf8') };
    }
    if (!file) return failure(res, auth, unitId, 400, 'Chưa có tệp', ['Hãy chọn tệp .xlsx hoặc .csv (hoặc dán nội dung CSV).'], `${dossiersPath(unitId)}/import`);
    const exported = ExportedAtField.safeParse(req.body ?? {});
    const exportedAt = exported.success ? formDate(exported.data.exported_at, 'start') : 'invalid';
    if (exportedAt === 'invalid') return failure(res, auth, unitId, 400, 'Thời điểm xuất tệp không hợp lệ', ['Nhập dạng dd/MM/yyyy HH:mm hoặc để trống.'], `${dossiersPath(unitId)}/import`);
    const preview = await deps.importer.preview({
      unitId,
      actor: auth.user.id,
      fileName: file.name,
      data: file.data,
      now: now(),
      ...(exportedAt instanceof Date ? { exportedAt } : {}),
    });
    page(res, auth, preview.errors.length > 0 ? 422 : 200, 'Xem trước khi nhập', previewBody(unitId, auth, preview));
  });

  function previewBody(unitId: string, auth: AuthContext, p: ImportPreview): Html {
    const base = dossiersPath(unitId);
    const total = p.rows.length;
    const counts = html`<ul><li>Thêm mới: ${p.counts.created}</li><li>Cập nhật: ${p.counts.updated}</li><li>Không đổi: ${p.counts.unchanged}</li><li>Bỏ qua vì cũ hơn dữ liệu hiện có: ${p.counts.stale}</li></ul>`;
    const errorList =
      p.errors.length === 0
        ? ''
        : html`<h2>Lỗi (${p.errors.length})</h2><p class="warn" role="alert">Không có gì được ghi. Sửa các dòng dưới đây trong tệp rồi tải lên lại.</p>
<ul>${p.errors.slice(0, ERRORS_SHOWN).map((e) => html`<li>${e.message}</li>`)}</ul>${p.errors.length > ERRORS_SHOWN ? html`<p>… và ${p.errors.length - ERRORS_SHOWN} lỗi khác.</p>` : ''}`;
    const notes = p.notes.length === 0 ? '' : html`<h2>Ghi chú</h2><ul>${p.notes.slice(0, ERRORS_SHOWN).map((n) => html`<li>${n}</li>`)}</ul>`;
    const rows = p.rows.slice(0, PREVIEW_ROWS_SHOWN).map(
      (r) => html`<tr><td>${r.line}</td><td>${r.code}</td><td>${STATUS_VI[r.status]}</td><td>${OUTCOME_VI[r.outcome]}</td><td>${r.changed.map((c) => CHANGED_VI[c]).join(', ')}</td></tr>`,
    );
    const confirm = p.token
      ? html`<form method="post" action="${base}/import/confirm"><input type="hidden" name="_csrf" value="${auth.csrfToken}"><input type="hidden" name="token" value="${p.token}">
<button type="submit">Nhập ${total} hồ sơ</button> <small>(trong ${PREVIEW_TTL_MINUTES} phút)</small></form>`
      : '';
    return html`<h1>Xem trước khi nhập</h1>
<p>Tệp: ${p.fileName} · Dòng tiêu đề: ${p.headerLine ?? '—'} · Thời điểm xuất tệp: ${formatVietnamTime(p.exportedAt)} · ${total} hồ sơ đọc được</p>
${p.errors.length === 0 ? counts : ''}${errorList}${notes}${confirm}
${total > 0 ? html`<table><thead><tr><th>Dòng</th><th>Mã hồ sơ</th><th>Trạng thái</th><th>Kết quả</th><th>Thay đổi</th></tr></thead><tbody>${rows}</tbody></table>${total > PREVIEW_ROWS_SHOWN ? html`<p>… và ${total - PREVIEW_ROWS_SHOWN} dòng khác.</p>` : ''}` : ''}
<p><a href="${base}/import">Tải tệp khác</a> · <a href="${base}">Quay lại danh sách hồ sơ</a></p>`;
  }

  router.post('/admin/units/:unitId/dossiers/import/confirm', officer, async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) return notFound(res);
    const form = ConfirmForm.safeParse(req.body ?? {});
    const result = form.success ? await deps.importer.confirm({ unitId, actor: auth.user.id, token: form.data.token }) : ({ ok: false, reason: 'not_found' } as const);
    if (!result.ok) {
      const message = {
        not_found: 'Không tìm thấy lần xem trước này (chỉ người đã tải tệp lên mới nhập được).',
        expired: `Lần xem trước đã quá ${PREVIEW_TTL_MINUTES} phút: hãy tải tệp lên lại.`,
        applied: 'Tệp này đã được nhập rồi.',
      }[result.reason];
      return failure(res, auth, unitId, result.reason === 'applied' ? 409 : 404, 'Không nhập được', [message], `${dossiersPath(unitId)}/import`);
    }
    await deps.audit.record({
      actor: auth.user.id,
      action: 'dossier.import',
      unitId,
      target: String(result.importId),
      detail: { file: result.fileName, rows: result.rows, ...result.counts },
    });
    page(
      res,
      auth,
      200,
      'Đã nhập hồ sơ',
      html`<h1>Đã nhập hồ sơ</h1><p class="ok" role="status">Đã nhập ${result.rows} hồ sơ từ tệp ${result.fileName ?? ''}.</p>
<ul><li>Thêm mới: ${result.counts.created}</li><li>Cập nhật: ${result.counts.updated}</li><li>Không đổi: ${result.counts.unchanged}</li><li>Bỏ qua vì cũ hơn dữ liệu hiện có: ${result.counts.stale}</li></ul>
<p><a href="${dossiersPath(unitId)}">Danh sách hồ sơ</a></p>`,
    );
  });

  // --- column mapping --------------------------------------------------------------------------

  router.get('/admin/units/:unitId/dossiers/mapping', officer, async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) return notFound(res);
    const mapping = await deps.mappings.get(unitId);
    const saved = req.query.notice === 'saved' ? html`<p class="ok" role="status">Đã lưu cấu hình cột.</p>` : '';
    page(res, auth, 200, 'Cấu hình cột của tệp', mappingBody(unitId, auth, mapping, saved));
  });

  function mappingBody(unitId: string, auth: AuthContext, mapping: ImportMapping, notice: Html | string): Html {
    const columns = effectiveColumns(mapping);
    const statuses = Object.entries(mapping.statuses)
      .map(([spelling, status]) => `${spelling} = ${STATUS_VI[status]}`)
      .join('\n');
    return html`<h1>Cấu hình cột của tệp</h1>${notice}
<p>Với mỗi thông tin, ghi tên cột trong tệp xuất của hệ thống một cửa; nhiều tên cách nhau bằng dấu chấm phẩy (;). Không phân biệt hoa thường, dấu tiếng Việt hay phần trong ngoặc. Để trống một ô: dùng tên mặc định.</p>
<form method="post" action="${dossiersPath(unitId)}/mapping"><input type="hidden" name="_csrf" value="${auth.csrfToken}">
<table><tbody>${ImportField.options.map(
      (f) => html`<tr><th><label for="col-${f}">${FIELD_VI[f]}</label></th><td><input id="col-${f}" type="text" name="${f}" value="${columns[f].join('; ')}" size="70"></td></tr>`,
    )}</tbody></table>
<p><label>Cách ghi trạng thái riêng của hệ thống, mỗi dòng “cách ghi = trạng thái” (trạng thái là một trong: ${DossierStatus.options.map((s) => STATUS_VI[s]).join(', ')})<br>
<textarea name="statuses" rows="6" cols="80" placeholder="Đang chờ ký = Đang xử lý">${statuses}</textarea></label></p>
<button type="submit">Lưu</button></form>
<p><a href="${dossiersPath(unitId)}/import">Nhập từ tệp</a> · <a href="${dossiersPath(unitId)}">Danh sách hồ sơ</a></p>`;
  }

  router.post('/admin/units/:unitId/dossiers/mapping', officer, async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) return notFound(res);
    const body = z.record(z.string(), z.string().max(2000)).safeParse(req.body ?? {});
    if (!body.success) return failure(res, auth, unitId, 400, 'Không lưu được cấu hình', ['Biểu mẫu không hợp lệ.'], `${dossiersPath(unitId)}/mapping`);
    const problems: string[] = [];
    const columns: Partial<Record<ImportField, string[]>> = {};
    for (const f of ImportField.options) {
      const headers = (body.data[f] ?? '')
        .split(/[;\n]/)
        .map((h) => h.normalize('NFC').trim())
        .filter((h) => h !== '');
      if (headers.length > 20 || headers.some((h) => h.length > 100)) problems.push(`${FIELD_VI[f]}: tối đa 20 tên, mỗi tên tối đa 100 ký tự.`);
      // The defaults are not stored, so a later improvement of them reaches the unit.
      if (headers.length > 0 && headers.join('\n') !== DEFAULT_COLUMNS[f].join('\n')) columns[f] = headers;
    }
    const statuses: Record<string, DossierStatus> = {};
    for (const [i, line] of (body.data.statuses ?? '').split('\n').entries()) {
      if (line.trim() === '') continue;
      const eq = line.lastIndexOf('=');
      const spelling = eq < 0 ? '' : line.slice(0, eq).normalize('NFC').trim();
      const target = eq < 0 ? undefined : parseStatusText(line.slice(eq + 1));
      if (spelling === '' || target === undefined || spelling.length > 100) problems.push(`Dòng ${i + 1} của cách ghi trạng thái: cần dạng “cách ghi = trạng thái”.`);
      else statuses[spelling] = target;
    }
    const mapping = ImportMapping.safeParse({ columns, statuses });
    if (problems.length > 0 || !mapping.success) return failure(res, auth, unitId, 400, 'Không lưu được cấu hình', problems.length ? problems : ['Cấu hình không hợp lệ.'], `${dossiersPath(unitId)}/mapping`);
    await deps.mappings.set(unitId, mapping.data, auth.user.id);
    await deps.audit.record({ actor: auth.user.id, action: 'dossier.mapping', unitId, detail: { fields: Object.keys(columns).length, statuses: Object.keys(statuses).length } });
    res.redirect(303, `${dossiersPath(unitId)}/mapping?notice=saved`);
  });

  // --- report ----------------------------------------------------------------------------------

  const reportPeriod = (req: Request): Period | undefined => {
    const raw = typeof req.query.period === 'string' && req.query.period.trim() !== '' ? req.query.period : quarterOf(now());
    try {
      return parsePeriod(raw);
    } catch (err) {
      if (err instanceof PeriodError) return undefined;
      throw err;
    }
  };

  router.get('/admin/units/:unitId/dossiers/report', deps.auth.requireUser('reports.view'), async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) return notFound(res);
    const period = reportPeriod(req);
    if (!period) return failure(res, auth, unitId, 400, 'Kỳ báo cáo không hợp lệ', ['Ví dụ: 2026-09 (tháng), 2026-Q3 (quý), 2026-H1 (6 tháng), 2026 (năm).'], `${dossiersPath(unitId)}/report`);
    const r = await deps.dossiers.report(unitId, period, now());
    const row = (label: Html | string, f: typeof r.totals) =>
      html`<tr><td>${label}</td><td>${f.received}</td><td>${f.onTime}</td><td>${f.resolvedLate}</td><td>${f.openOnTime}</td><td>${f.openOverdue}</td><td>${f.late}</td><td>${shareText(onTimeShare(f))}</td><td>${f.closed}</td><td>${f.returned}</td><td>${f.evaluated}</td><td>${shareText(evaluatedShare(f))}</td><td>${f.satisfied}</td><td>${shareText(satisfiedShare(f))}</td></tr>`;
    page(
      res,
      auth,
      200,
      'Báo cáo hồ sơ',
      html`<h1>Báo cáo hồ sơ — ${period.label}</h1>
<form method="get" action="${dossiersPath(unitId)}/report"><label>Kỳ <input type="text" name="period" value="${period.code}" size="24"></label> <button type="submit">Xem</button>
<small>2026-09 (tháng), 2026-Q3 (quý), 2026-H1 (6 tháng), 2026 (năm)</small></form>
<p>Đơn vị: ${unitId} · Từ ${formatVietnamTime(period.from)} đến trước ${formatVietnamTime(period.to)} · Hồ sơ đang giải quyết tính tại ${formatVietnamTime(r.asOf)}
${auth.can('exports.download', unitId) ? html`· <a href="${dossiersPath(unitId)}/report.xlsx?period=${encodeURIComponent(period.code)}">Tải Excel (XLSX)</a> · <a href="${dossiersPath(unitId)}/report.csv?period=${encodeURIComponent(period.code)}">Tải CSV</a>` : ''}</p>
<table><thead><tr><th>Thủ tục</th><th>Tiếp nhận</th><th>Giải quyết đúng hạn</th><th>Giải quyết quá hạn</th><th>Đang giải quyết trong hạn</th><th>Đang giải quyết quá hạn</th><th>Trễ hạn (tổng)</th><th>Tỷ lệ đúng hạn</th><th>Từ chối / rút</th><th>Đã trả kết quả</th><th>Được đánh giá</th><th>Tỷ lệ được đánh giá</th><th>Hài lòng</th><th>Tỷ lệ hài lòng</th></tr></thead>
<tbody>${r.byProcedure.map((p) => row(procedureLabel(p), p))}${row(html`<b>Tổng</b>`, r.totals)}</tbody></table>
<p><small>${DEFINITIONS_NOTE}</small></p>`,
    );
  });

  router.get('/admin/units/:unitId/dossiers/report.csv', deps.auth.requireUser('exports.download'), async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) return notFound(res);
    const period = reportPeriod(req);
    if (!period) return failure(res, auth, unitId, 400, 'Kỳ báo cáo không hợp lệ', ['Ví dụ: 2026-Q3.'], `${dossiersPath(unitId)}/report`);
    const r = await deps.dossiers.report(unitId, period, now());
    await deps.audit.record({ actor: auth.user.id, action: 'dossier.report.export', unitId, detail: { period: period.code, format: 'csv' } });
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Disposition', `attachment; filename="${dossierReportFileName(unitId, period, 'csv')}"`);
    res.type('text/csv; charset=utf-8').send(dossierReportCsv(r));
  });

  router.get('/admin/units/:unitId/dossiers/report.xlsx', deps.auth.requireUser('exports.download'), async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) return notFound(res);
    const period = reportPeriod(req);
    if (!period) return failure(res, auth, unitId, 400, 'Kỳ báo cáo không hợp lệ', ['Ví dụ: 2026-Q3.'], `${dossiersPath(unitId)}/report`);
    const r = await deps.dossiers.report(unitId, period, now());
    await deps.audit.record({ actor: auth.user.id, action: 'dossier.report.export', unitId, detail: { period: period.code, format: 'xlsx' } });
    const unitName = (await deps.chat?.units?.get(unitId))?.name ?? unitId;
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Disposition', `attachment; filename="${dossierReportFileName(unitId, period, 'xlsx')}"`);
    res.type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    await writeDossierReportXlsx(r, res, { unitName, period, now: now() });
  });

  // --- the look-up in chat: QR codes and links for the receipt ---------------------------------

  /** How a citizen opens this dossier's look-up: per channel, a link (QR code) and/or words to send. */
  interface LookupCode {
    channel: string;
    account: string | null;
    url: string | null;
    how: string;
    say: string | null;
  }

  async function lookupCodes(unitId: string, d: Dossier): Promise<LookupCode[]> {
    let payload: string | null;
    try {
      payload = dossierLookupPayload(d.code);
    } catch {
      payload = null; // a code too long for a link: the words still work
    }
    const say = `tra cứu hồ sơ ${d.code}`;
    const chat = deps.chat;
    if (!chat) return [{ channel: 'Zalo, Messenger', account: null, url: null, how: 'Nhắn cho Zalo OA hoặc Trang Facebook của đơn vị:', say }];
    const accounts = (await chat.accounts.listByUnit(unitId)).filter((a) => a.status === 'active');
    const codes: LookupCode[] = [];
    for (const a of accounts.filter((x) => x.platform === 'messenger')) {
      // An m.me ref should keep to these characters (PLATFORMS.md §2); otherwise the words.
      const linkable = payload !== null && /^[A-Za-z0-9+/=.:_-]{1,140}$/.test(payload);
      codes.push({
        channel: 'Facebook Messenger',
        account: a.name,
        url: messengerLink(a.externalId, linkable ? (payload ?? undefined) : undefined),
        how: linkable ? 'Quét mã để mở Messenger: trợ lý hỏi 4 số cuối số điện thoại rồi cho biết tình trạng hồ sơ.' : 'Quét mã để mở Messenger rồi gửi:',
        say: linkable ? null : say,
      });
    }
    for (const a of accounts.filter((x) => x.platform === 'zalo')) {
      codes.push({ channel: 'Zalo', account: a.name, url: zaloLink(a.externalId), how: 'Quét mã bằng Zalo, bấm “Nhắn tin” rồi gửi:', say });
    }
    codes.push({
      channel: 'Trang web',
      account: null,
      url: widgetLink(chat.publicBaseUrl, unitId, payload ?? undefined),
      how: payload !== null ? 'Quét mã bằng camera điện thoại: trợ lý hỏi 4 số cuối số điện thoại rồi cho biết tình trạng hồ sơ.' : 'Quét mã bằng camera điện thoại rồi gửi:',
      say: payload !== null ? null : say,
    });
    return codes;
  }

  async function lookupFigures(codes: readonly LookupCode[]): Promise<Html> {
    const svgs = await Promise.all(codes.map((c) => (c.url === null ? Promise.resolve(null) : qrSvg(c.url))));
    return html`${codes.map(
      (c, i) => html`<figure class="qr" data-channel="${c.channel}">${svgs[i] ? raw(svgs[i] ?? '') : ''}<figcaption>
<p class="channel">${c.channel}${c.account ? html` · ${c.account}` : ''}</p><p class="how">${c.how}</p>${c.say ? html`<p class="say">${c.say}</p>` : ''}${
        c.url ? html`<p class="url"><a href="${c.url}">${c.url}</a></p>` : ''
      }</figcaption></figure>`,
    )}`;
  }

  // --- one dossier -----------------------------------------------------------------------------

  router.get('/admin/units/:unitId/dossiers/:id', officer, async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    const id = IdParam.safeParse(req.params.id);
    const d = unitId !== null && id.success ? await deps.dossiers.getById(unitId, id.data) : undefined;
    if (!d || unitId === null) return notFound(res);
    const history = await deps.dossiers.history(d.id);
    const links = await deps.dossiers.linksOf(d.id);
    const lookup = await lookupFigures(await lookupCodes(unitId, d));
    const at = now();
    const noticeKey = typeof req.query.notice === 'string' ? req.query.notice : '';
    const notice = { created: 'Đã thêm hồ sơ.', status: 'Đã cập nhật trạng thái.', unchanged: 'Trạng thái không đổi.' }[noticeKey];
    page(
      res,
      auth,
      200,
      `Hồ sơ ${d.code}`,
      html`<h1>Hồ sơ ${d.code}</h1>${notice ? html`<p class="ok" role="status">${notice}</p>` : ''}
<table><tbody>
<tr><th>Thủ tục</th><td>${procedureLabel(d)}</td></tr>
<tr><th>Ngày tiếp nhận</th><td>${formatVietnamTime(d.receivedAt)}</td></tr>
<tr><th>Ngày hẹn trả</th><td>${dateOrDash(d.dueAt)}${overdue(d, at) ? html` <span class="warn">Quá hạn</span>` : ''}</td></tr>
<tr><th>Trạng thái</th><td>${STATUS_VI[d.status]} (từ ${formatVietnamTime(d.statusAt)})</td></tr>
${d.status === 'needs_supplement' ? html`<tr><th>Cần bổ sung</th><td>${d.missing ?? '—'}</td></tr>` : ''}
<tr><th>Nơi trả kết quả</th><td>${d.pickupPlace ?? '—'}</td></tr>
<tr><th>Số xác minh (4 số cuối điện thoại)</th><td>${d.hasVerification ? 'Đã có (lưu dạng mã hoá)' : 'Chưa có: người dân chưa tra cứu được trong khung chat'}</td></tr>
<tr><th>Người dân nhận thông báo</th><td>${links.length}</td></tr>
</tbody></table>
<h2>Tra cứu trong khung chat</h2>
<p>Người dân quét mã QR hoặc nhắn như dưới đây để xem tình trạng hồ sơ; trợ lý hỏi 4 số cuối số điện thoại đã khai khi nộp hồ sơ.
<a href="${dossiersPath(unitId)}/${d.id}/qr">In phiếu tra cứu (kèm Giấy tiếp nhận)</a></p>${
        d.hasVerification ? '' : html`<p class="warn">Hồ sơ chưa có 4 số cuối điện thoại: người dân chưa tra cứu được cho đến khi có.</p>`
      }
<style>.lookup{display:flex;flex-wrap:wrap;gap:1rem}.lookup .qr{margin:0;width:12rem;background:#fff;padding:.5rem;text-align:center}.lookup svg{width:10rem;height:10rem}
.lookup .say{font-weight:700;border:1px solid #333;border-radius:4px;padding:.2rem}.lookup .url{font-size:.7rem;word-break:break-all}</style>
<div class="lookup">${lookup}</div>
<h2>Đổi trạng thái</h2>
<form method="post" action="${dossiersPath(unitId)}/${d.id}/status"><input type="hidden" name="_csrf" value="${auth.csrfToken}">
<p><label>Trạng thái mới <select name="status">${statusOptions(d.status)}</select></label></p>
<p><label>Nội dung cần bổ sung (bắt buộc khi chờ bổ sung) <input type="text" name="missing" value="${d.missing ?? ''}" maxlength="1000" size="60"></label></p>
<p><label>Nơi trả kết quả <input type="text" name="pickup_place" value="${d.pickupPlace ?? ''}" maxlength="300" size="60"></label></p>
<p><label>Ghi chú <input type="text" name="note" maxlength="1000" size="60"></label></p>
<button type="submit">Lưu</button></form>
<h2>Lịch sử</h2>
<table><thead><tr><th>Thời điểm</th><th>Từ</th><th>Sang</th><th>Nguồn</th><th>Người thực hiện</th><th>Ghi chú</th></tr></thead><tbody>${history.map(
        (e) => html`<tr><td>${formatVietnamTime(e.at)}</td><td>${e.fromStatus ? STATUS_VI[e.fromStatus] : '—'}</td><td>${STATUS_VI[e.toStatus]}</td>
<td>${SOURCE_VI[e.source]}${e.importId !== null ? html` (lần nhập #${e.importId})` : ''}</td><td>${e.actorUsername ?? '—'}</td><td>${e.note ?? ''}</td></tr>`,
      )}</tbody></table>
<p><a href="${dossiersPath(unitId)}">Quay lại danh sách hồ sơ</a></p>`,
    );
  });

  router.get('/admin/units/:unitId/dossiers/:id/qr', officer, async (req, res) => {
    const unitId = routeParam(req.params.unitId);
    const id = IdParam.safeParse(req.params.id);
    const d = unitId !== null && id.success ? await deps.dossiers.getById(unitId, id.data) : undefined;
    if (!d || unitId === null) return notFound(res);
    const unitName = (await deps.chat?.units?.get(unitId))?.name ?? null;
    const figures = await lookupFigures(await lookupCodes(unitId, d));
    const back = `${dossiersPath(unitId)}/${d.id}`;
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(
      html`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Phiếu tra cứu hồ sơ ${d.code}</title>
<style>
@page{size:A5 portrait;margin:10mm}
*{box-sizing:border-box}
body{font-family:system-ui,"Segoe UI",Roboto,Arial,sans-serif;margin:0;color:#111;background:#e9ecef}
.toolbar{background:#a4161a;color:#fff;padding:.6rem 1rem}.toolbar a{color:#fff}
.sheet{background:#fff;width:148mm;margin:1rem auto;padding:8mm;display:flex;flex-direction:column;gap:4mm}
.unit{margin:0;font-size:12pt;font-weight:700;text-transform:uppercase;color:#a4161a;text-align:center}
h1{margin:0;font-size:16pt;text-align:center}.code{margin:0;font-size:15pt;font-weight:700;text-align:center;font-family:ui-monospace,Menlo,Consolas,monospace}
.lead{margin:0;font-size:10.5pt;text-align:center}
.codes{display:flex;flex-wrap:wrap;gap:5mm;justify-content:center}
.qr{margin:0;width:42mm;text-align:center;break-inside:avoid}.qr svg{width:38mm;height:38mm;display:block;margin:0 auto}
.qr .channel{font-size:10.5pt;font-weight:700;margin:1mm 0 0}.qr .how{font-size:8.5pt;margin:1mm 0 0}
.qr .say{font-size:10pt;font-weight:700;margin:1mm 0 0;border:1.2px solid #111;border-radius:2mm;padding:1mm}
.qr .url{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:6pt;word-break:break-all;margin:1mm 0 0;color:#333}
@media print{body{background:#fff}.toolbar{display:none}.sheet{margin:0;width:auto;padding:0}}
</style></head>
<body>
<div class="toolbar"><a href="${back}">← Quay lại hồ sơ</a> · In phiếu: bấm Ctrl+P (⌘P trên máy Mac), khổ A5 hoặc cắt từ A4, kèm Giấy tiếp nhận hồ sơ.</div>
<main class="sheet">
${unitName ? html`<p class="unit">${unitName}</p>` : ''}
<h1>Tra cứu tình trạng hồ sơ</h1>
<p class="code">${d.code}</p>
<p class="lead">Quét mã QR hoặc nhắn tin như dưới đây. Trợ lý sẽ hỏi 4 số cuối của số điện thoại bạn đã khai khi nộp hồ sơ, rồi cho biết hồ sơ đang ở bước nào, ngày hẹn trả và nơi nhận kết quả. Bấm “Nhận thông báo” để được báo khi có kết quả.</p>
<div class="codes">${figures}</div>
</main></body></html>`.value,
    );
  });

  router.post('/admin/units/:unitId/dossiers/:id/status', officer, async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    const id = IdParam.safeParse(req.params.id);
    if (unitId === null || !id.success) return notFound(res);
    const form = StatusForm.safeParse(req.body ?? {});
    if (!form.success) return failure(res, auth, unitId, 400, 'Không đổi được trạng thái', ['Hãy chọn một trạng thái.'], `${dossiersPath(unitId)}/${id.data}`);
    const f = form.data;
    if (f.status === 'needs_supplement' && f.missing === '') {
      return failure(res, auth, unitId, 400, 'Không đổi được trạng thái', ['Hồ sơ chờ bổ sung: hãy ghi nội dung cần bổ sung.'], `${dossiersPath(unitId)}/${id.data}`);
    }
    const before = await deps.dossiers.getById(unitId, id.data);
    if (!before) return notFound(res);
    const written = await deps.dossiers.changeStatus(
      unitId,
      id.data,
      { status: f.status, missing: f.missing === '' ? null : f.missing, pickupPlace: f.pickup_place === '' ? null : f.pickup_place },
      { source: 'admin', actor: auth.user.id, at: now(), note: f.note === '' ? null : f.note },
    );
    if (!written) return notFound(res);
    if (written.outcome === 'updated') {
      await deps.audit.record({
        actor: auth.user.id,
        action: 'dossier.status',
        unitId,
        target: String(written.dossier.id),
        detail: { code: written.dossier.code, from: before.status, to: written.dossier.status, changed: written.changed.join(',') },
      });
    }
    res.redirect(303, `${dossiersPath(unitId)}/${written.dossier.id}?notice=${written.outcome === 'updated' ? 'status' : 'unchanged'}`);
  });

  return router;
}
