// The per-announcement delivery report as a file an officer downloads: CSV (UTF-8 with a BOM so
// Excel reads the Vietnamese, cells that a spreadsheet would run as a formula made inert) and
// XLSX (a summary sheet of counts by outcome, then one row per recipient). Both stream: the
// deliveries are read page by page with the repository's keyset page() and written as they come,
// waiting for the client to drain, so 100,000 rows never sit in memory at once.
// A citizen appears only as a keyed pseudonym of the contact id: no platform user id, no
// platform message id, nothing that identifies a person outside this report.
import { createHmac } from 'node:crypto';
import type { Writable } from 'node:stream';
import { csvLine, drained, inertCell } from '../exports/csv.js';
import ExcelJS from 'exceljs';
import { VN_OFFSET_MS } from './eligibility.js';
import type { Announcement, AnnouncementStatus, BroadcastChannel, Delivery, DeliveryCounts, DeliveryStatus } from './types.js';

// --- Vietnamese labels (also used by the admin pages and the API) ------------------------------

export const CHANNEL_LABELS: Record<BroadcastChannel, string> = { zalo: 'Zalo OA', messenger: 'Facebook Messenger', web: 'Website' };

export const ANNOUNCEMENT_STATUS_LABELS: Record<AnnouncementStatus, string> = {
  draft: 'Nháp',
  scheduled: 'Đã hẹn giờ',
  fanning_out: 'Đang chuẩn bị',
  sending: 'Đang gửi',
  done: 'Đã xong',
  cancelled: 'Đã hủy',
};

export const DELIVERY_STATUS_LABELS: Record<DeliveryStatus, string> = {
  pending: 'Đang chờ gửi',
  sending: 'Đang gửi',
  sent: 'Đã gửi',
  held: 'Giữ lại, chờ người dân quay lại',
  skipped: 'Không gửi',
  failed: 'Gửi lỗi',
  expired: 'Hết hạn giữ, không gửi được',
  cancelled: 'Đã hủy',
};

const REASON_LABELS: Record<string, string> = {
  outside_window: 'Messenger: quá 24 giờ kể từ lần cuối người dân nhắn tin',
  web_next_visit: 'Website không gửi chủ động được: hiện khi người dân mở lại khung chat',
  unreachable: 'Không liên lạc được (đã chặn, bỏ quan tâm hoặc xóa tài khoản)',
  not_following: 'Zalo: người dân không quan tâm (theo dõi) OA',
  zalo_daily_limit: 'Zalo: người dân đã nhận 1 tin truyền thông hôm nay',
  zalo_monthly_limit: 'Zalo: hết số tin truyền thông trong tháng theo gói OA',
  zalo_night: 'Zalo không gửi tin truyền thông từ 22:00 đến 06:00',
  zalo_oa_quota: 'Zalo: OA đã hết hạn mức gửi tin truyền thông hôm nay',
  in_doubt: 'Không xác nhận được đã gửi hay chưa (máy chủ dừng giữa chừng, không hỏi lại được nền tảng)',
};

/** Platform error codes an officer may meet in a report (PLATFORMS.md §5 and §8). */
const ERROR_CODE_LABELS: Record<string, string> = {
  '-213': 'người dân không quan tâm OA',
  '-227': 'tài khoản Zalo bị khóa hoặc không hoạt động',
  '-244': 'người dân chặn loại tin này',
  '-218': 'người dân hết lượt nhận tin hôm nay',
  '-211': 'OA hết hạn mức gửi',
  '-234': 'không gửi được ban đêm',
  '-32': 'vượt giới hạn tốc độ',
  '551': 'người dân không nhận tin từ Trang',
  '10': 'ngoài khung 24 giờ',
  '2018278': 'ngoài khung 24 giờ',
};

/** The reason as stored, without an optional 'skipped:' / 'failed:' prefix. */
function bareReason(reason: string | null): string {
  return (reason ?? '').replace(/^(skipped|failed|held):/, '');
}

export function reasonLabel(status: DeliveryStatus, reason: string | null): string {
  const r = bareReason(reason);
  if (r === '') return '';
  const known = REASON_LABELS[r];
  if (known) return known;
  if (status === 'failed') {
    const meaning = ERROR_CODE_LABELS[r];
    return meaning ? `Mã lỗi ${r}: ${meaning}` : `Mã lỗi ${r}`;
  }
  return r;
}

/** One readable line for a (status, reason) pair. */
export function outcomeLabel(status: DeliveryStatus, reason: string | null): string {
  const r = reasonLabel(status, reason);
  return r === '' ? DELIVERY_STATUS_LABELS[status] : `${DELIVERY_STATUS_LABELS[status]} — ${r}`;
}

// --- helpers ------------------------------------------------------------------------------------

/**
 * A short stable pseudonym of a contact, keyed so that nobody without the key can go from the
 * (small, sequential) contact id to the pseudonym or back.
 */
export function contactPseudonym(key: string, contactId: number): string {
  // The letters in front keep a spreadsheet from reading an all-digit or '12e45' value as a number.
  return 'ND-' + createHmac('sha256', key).update(`contact:${contactId}`).digest('hex').slice(0, 12);
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** dd/MM/yyyy HH:mm:ss in Vietnam time (no daylight saving: a fixed offset). */
export function vietnamDateTime(at: Date): string {
  const l = new Date(at.getTime() + VN_OFFSET_MS);
  return `${pad(l.getUTCDate())}/${pad(l.getUTCMonth() + 1)}/${l.getUTCFullYear()} ${pad(l.getUTCHours())}:${pad(l.getUTCMinutes())}:${pad(l.getUTCSeconds())}`;
}

/** A download name of ASCII letters, digits and dashes only. */
export function reportFilename(a: Pick<Announcement, 'id' | 'createdAt'>, ext: 'csv' | 'xlsx'): string {
  const l = new Date(a.createdAt.getTime() + VN_OFFSET_MS);
  return `bao-cao-thong-bao-${a.id}-${l.getUTCFullYear()}${pad(l.getUTCMonth() + 1)}${pad(l.getUTCDate())}.${ext}`;
}

export { inertCell };

// --- the report -----------------------------------------------------------------------------------

/** What the export reads (BroadcastRepository has both). */
export interface ReportSource {
  page(announcementId: number, afterContactId: number, limit: number): Promise<Delivery[]>;
  counts(announcementId: number): Promise<DeliveryCounts>;
}

export interface ReportOptions {
  source: ReportSource;
  announcement: Announcement;
  /** Keys the citizens' pseudonyms (a server secret). */
  pseudonymKey: string;
  /** Rows read per query; default 1,000. */
  pageSize?: number;
}

export const REPORT_HEADERS = ['Mã người nhận (ẩn danh)', 'Kênh', 'Kết quả', 'Lý do', 'Mã lý do', 'Số lần gửi', 'Cập nhật lúc (giờ Việt Nam)'] as const;

function rowOf(d: Delivery, key: string): Array<string | number> {
  return [
    contactPseudonym(key, d.contactId),
    CHANNEL_LABELS[d.platform],
    DELIVERY_STATUS_LABELS[d.status],
    reasonLabel(d.status, d.reason),
    bareReason(d.reason),
    d.attempts,
    vietnamDateTime(d.updatedAt),
  ];
}

async function* pages(opts: ReportOptions): AsyncGenerator<Delivery[]> {
  const size = opts.pageSize ?? 1000;
  let after = 0;
  for (;;) {
    const rows = await opts.source.page(opts.announcement.id, after, size);
    if (rows.length === 0) return;
    yield rows;
    const last = rows[rows.length - 1];
    if (!last || rows.length < size) return;
    after = last.contactId;
  }
}

/** Writes the CSV to `out` and ends it (unless the client went away first). */
export async function writeReportCsv(out: Writable, opts: ReportOptions): Promise<void> {
  out.write('\uFEFF' + csvLine(REPORT_HEADERS));
  for await (const rows of pages(opts)) {
    if (!(await drained(out))) return;
    out.write(rows.map((d) => csvLine(rowOf(d, opts.pseudonymKey))).join(''));
  }
  out.end();
}

/** Writes the XLSX workbook (summary sheet, then the rows) to `out` and ends it. */
export async function writeReportXlsx(out: Writable, opts: ReportOptions): Promise<void> {
  const a = opts.announcement;
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  wb.creator = 'motcua';
  wb.created = a.createdAt;

  // The summary goes first and is committed before any row of the detail sheet is written: the
  // zip writes entries one after another, so an open summary would hold the detail in memory.
  const summary = wb.addWorksheet('Tổng hợp');
  summary.columns = [{ width: 34 }, { width: 70 }, { width: 14 }];
  const counts = await opts.source.counts(a.id);
  const total = counts.reduce((s, c) => s + c.count, 0);
  const info: Array<[string, string]> = [
    ['Thông báo', a.title],
    ['Đơn vị', a.unitId],
    ['Kênh', a.channels.map((c) => CHANNEL_LABELS[c]).join(', ')],
    ['Trạng thái', ANNOUNCEMENT_STATUS_LABELS[a.status]],
    ['Soạn lúc', vietnamDateTime(a.createdAt)],
    ['Hẹn gửi lúc', a.scheduledAt ? vietnamDateTime(a.scheduledAt) : 'Gửi ngay'],
    ['Bắt đầu gửi', a.startedAt ? vietnamDateTime(a.startedAt) : ''],
    ['Kết thúc', a.finishedAt ? vietnamDateTime(a.finishedAt) : a.cancelledAt ? `Hủy lúc ${vietnamDateTime(a.cancelledAt)}` : ''],
    ['Giờ trong báo cáo', 'Giờ Việt Nam (UTC+7)'],
  ];
  for (const [k, v] of info) summary.addRow([k, v]).commit();
  summary.addRow([]).commit();
  const head = summary.addRow(['Kết quả', 'Lý do', 'Số người']);
  head.font = { bold: true };
  head.commit();
  for (const c of counts) summary.addRow([DELIVERY_STATUS_LABELS[c.status], reasonLabel(c.status, c.reason), c.count]).commit();
  const totalRow = summary.addRow(['Tổng cộng', '', total]);
  totalRow.font = { bold: true };
  totalRow.commit();
  summary.commit();

  const detail = wb.addWorksheet('Chi tiết', { views: [{ state: 'frozen', ySplit: 1 }] });
  detail.columns = [{ width: 20 }, { width: 20 }, { width: 30 }, { width: 60 }, { width: 20 }, { width: 12 }, { width: 24 }];
  const header = detail.addRow([...REPORT_HEADERS]);
  header.font = { bold: true };
  header.commit();
  for await (const rows of pages(opts)) {
    if (!(await drained(out))) return;
    for (const d of rows) detail.addRow(rowOf(d, opts.pseudonymKey)).commit();
  }
  detail.commit();
  await wb.commit();
}
