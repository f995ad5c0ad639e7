// Survey results as files staff download or a scheduled job writes: CSV (UTF-8 with a BOM so
// Excel shows the Vietnamese; a cell a spreadsheet would run as a formula made inert) and XLSX
// (a summary sheet laid out like the annex tables of a commune's quarterly CCHC report, then the
// raw answers). Raw rows are read in keyset pages of responses (completion time, id) and written
// as they come, waiting for the destination to drain, so a year of a province never sits in
// memory. Respondents never appear: not even their pseudonym.
import type { Writable } from 'node:stream';
import { csvCell, csvLine, drained, inertCell, type Cell } from '../exports/csv.js';

export { csvLine, inertCell };
import ExcelJS from 'exceljs';
import type { Queryable } from '../store/database.js';
import { LEVEL_LABELS, SATISFACTION_LEVELS, type SatisfactionLevel, type SurveyDefinition } from './definition.js';
import type { SurveyRegistry } from './definition-loader.js';
import { vietnamDate, vietnamDateTime } from './period.js';
import { buildSurveyReport, percent, responseWhere, type ReportFilter, type SurveyReport } from './report.js';
import { CITIZEN_INDICES, UNIT_BAND_LABELS } from './scoring.js';

// --- cells ---------------------------------------------------------------------------------------

/** A stream inside exceljs's zip: readable-stream 2 or 3, neither with writableNeedDrain. */
interface DrainSource {
  once(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
  removeListener(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
}

function isDrainSource(x: unknown): x is DrainSource {
  return typeof x === 'object' && x !== null && 'once' in x && typeof x.once === 'function' && 'removeListener' in x && typeof x.removeListener === 'function';
}

/** Bytes waiting in a stream's writable side (readable-stream 2 has no writableLength). */
function pendingBytes(x: object): number {
  if ('writableLength' in x && typeof x.writableLength === 'number') return x.writableLength;
  if ('_writableState' in x && typeof x._writableState === 'object' && x._writableState !== null) {
    const state: object = x._writableState;
    if ('length' in state && typeof state.length === 'number') return state.length;
  }
  return 0;
}

/** Bytes the zip's input may hold before the next rows wait for it. */
const ZIP_BACKLOG_BYTES = 1 << 20;

/**
 * exceljs's WorksheetWriter hands each committed 64 KB of XML to the zip entry's input stream
 * (`worksheet.stream.pipes`, archiver's PassThrough) without waiting, so rows produced faster
 * than zlib compresses pile up in memory (1.1 GB for a million rows, measured). Wait until that
 * input drains. If a later exceljs hides these streams, none is found and the export still
 * works, only without the bound.
 */
async function zipDrained(worksheet: unknown): Promise<void> {
  if (typeof worksheet !== 'object' || worksheet === null || !('stream' in worksheet)) return;
  const stream: unknown = worksheet.stream;
  if (typeof stream !== 'object' || stream === null || !('pipes' in stream) || !Array.isArray(stream.pipes)) return;
  for (const dest of stream.pipes.filter(isDrainSource)) {
    // Above the stream's high-water mark, its last write set needDrain: 'drain' will come.
    if (pendingBytes(dest) <= ZIP_BACKLOG_BYTES) continue;
    await new Promise<void>((resolve) => {
      const done = () => {
        dest.removeListener('drain', done);
        dest.removeListener('close', done);
        dest.removeListener('error', done);
        resolve();
      };
      dest.once('drain', done);
      dest.once('close', done);
      dest.once('error', done);
    });
  }
}

// --- labels --------------------------------------------------------------------------------------

export const CHANNEL_LABELS: Record<string, string> = { messenger: 'Facebook Messenger', zalo: 'Zalo OA', web: 'Website', api: 'API', cli: 'Dòng lệnh' };
const OCCASION_LABELS: Record<string, string> = { dossier: 'Hồ sơ', period: 'Kỳ khảo sát' };
const yesNo = (b: boolean | null): string => (b === null ? '' : b ? 'Có' : 'Không');

interface QuestionLabels {
  text: string;
  element: string;
  options: Map<string, string>;
}

/** Question texts and option labels of each version, as the definition words them nationally. */
class Labels {
  private readonly cache = new Map<string, Map<string, QuestionLabels>>();
  constructor(private readonly registry: SurveyRegistry | undefined) {}
  of(defId: string, version: number, questionId: string): QuestionLabels | undefined {
    const key = `${defId}@${version}`;
    let qs = this.cache.get(key);
    if (!qs) {
      qs = new Map();
      const d: SurveyDefinition | undefined = this.registry?.get(defId, version);
      for (const q of d?.questions ?? []) {
        const element = q.type === 'criterion' || q.type === 'satisfaction' ? (d?.elements.find((e) => e.id === q.element)?.name ?? '') : '';
        qs.set(q.id, { text: q.text, element, options: new Map(q.type === 'comment' ? [] : q.options.map((o) => [o.id, o.label])) });
      }
      this.cache.set(key, qs);
    }
    return qs.get(questionId);
  }
}

// --- raw rows ------------------------------------------------------------------------------------

export const RAW_HEADERS = [
  'Mã phiếu',
  'Mã đơn vị',
  'Đơn vị',
  'Phiếu khảo sát',
  'Phiên bản',
  'Đánh giá theo',
  'Mã hồ sơ / Kỳ khảo sát',
  'Kênh',
  'Mã thủ tục',
  'Lĩnh vực',
  'Hoàn thành lúc (giờ Việt Nam)',
  'STT câu hỏi',
  'Mã câu hỏi',
  'Câu hỏi',
  'Chỉ số (TT 01/2018)',
  'Yếu tố',
  'Mã lựa chọn',
  'Lựa chọn',
  'Giá trị (điểm / mức)',
  'Hài lòng / Đạt',
  'Mức hài lòng',
  'Bỏ qua',
  'Ý kiến',
] as const;

interface RawRow {
  id: string | number;
  cursor_at: string;
  local_at: string;
  unit_id: string;
  definition_id: string;
  definition_version: number;
  occasion_kind: string;
  occasion: string;
  channel: string;
  procedure_code: string | null;
  field: string | null;
  question_id: string | null;
  position: number | null;
  index_no: number | null;
  option_id: string | null;
  value: number | null;
  satisfied: boolean | null;
  level: SatisfactionLevel | null;
  skipped: boolean | null;
  comment: string | null;
}

export interface ExportOptions {
  filter: ReportFilter;
  /** For question texts, option labels and element names (ids alone without it). */
  registry?: SurveyRegistry;
  /**
   * Responses read per query (default 250, about 1,250 answer rows): measured, larger pages are no
   * faster and let the garbage of a page reach the old generation (peak RSS 370 MB at 2,000).
   */
  pageSize?: number;
  /** When the file was made (shown in the summary); default now. */
  now?: Date;
}

/** The completed responses of the filter with their answers, page by page (keyset on completion time, id). */
export async function* rawPages(db: Queryable, opts: ExportOptions): AsyncGenerator<RawRow[]> {
  const where = responseWhere(opts.filter);
  const size = opts.pageSize ?? 250;
  const n = where.params.length;
  let cursorAt = '-infinity';
  let cursorId = 0;
  for (;;) {
    const rows = await db.query<RawRow>(
      `WITH page AS (
         SELECT r.id, r.completed_at, r.completed_at::text AS cursor_at,
           to_char(r.completed_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'DD/MM/YYYY HH24:MI:SS') AS local_at,
           r.unit_id, r.definition_id, r.definition_version, r.occasion_kind, r.occasion, r.channel, r.procedure_code, r.field
         FROM survey_responses r
         WHERE ${where.sql} AND (r.completed_at, r.id) > ($${n + 1}::timestamptz, $${n + 2}::bigint)
         ORDER BY r.completed_at, r.id
         LIMIT $${n + 3}
       )
       SELECT p.id, p.cursor_at, p.local_at, p.unit_id, p.definition_id, p.definition_version, p.occasion_kind, p.occasion, p.channel,
         p.procedure_code, p.field, a.question_id, a.position, a.index_no, a.option_id, a.value, a.satisfied, a.level, a.skipped, a.comment
       FROM page p LEFT JOIN survey_answers a ON a.response_id = p.id
       ORDER BY p.completed_at, p.id, a.position`,
      [...where.params, cursorAt, cursorId, size],
    );
    if (rows.length === 0) return;
    yield rows;
    const last = rows[rows.length - 1];
    if (!last) return;
    cursorAt = last.cursor_at;
    cursorId = Number(last.id);
    // Fewer responses than a page: that was the last one (a page's row count also counts answers).
    if (new Set(rows.map((r) => r.id)).size < size) return;
  }
}

function unitNames(db: Queryable): Promise<Map<string, string>> {
  return db.query<{ id: string; name: string }>('SELECT id, name FROM units').then((rows) => new Map(rows.map((r) => [r.id, r.name])));
}

/** The columns that describe the response (the same for each of its answers). */
function responseCells(r: RawRow, units: Map<string, string>): Cell[] {
  return [
    Number(r.id),
    r.unit_id,
    units.get(r.unit_id) ?? r.unit_id,
    r.definition_id,
    Number(r.definition_version),
    OCCASION_LABELS[r.occasion_kind] ?? r.occasion_kind,
    r.occasion,
    CHANNEL_LABELS[r.channel] ?? r.channel,
    r.procedure_code,
    r.field,
    r.local_at,
  ];
}

/** The question and option columns (the same for every answer choosing that option). */
function questionCells(r: RawRow, labels: Labels): Cell[] {
  const q = r.question_id === null ? undefined : labels.of(r.definition_id, Number(r.definition_version), r.question_id);
  return [
    r.position === null ? null : Number(r.position) + 1,
    r.question_id,
    q?.text ?? null,
    r.index_no === null ? null : Number(r.index_no),
    q?.element || null,
    r.option_id,
    r.option_id === null ? null : (q?.options.get(r.option_id) ?? r.option_id),
  ];
}

/** The columns of the answer itself. */
function answerCells(r: RawRow): Cell[] {
  return [r.value === null ? null : Number(r.value), yesNo(r.satisfied), r.level ? LEVEL_LABELS[r.level] : '', r.skipped ? 'Có' : '', r.comment];
}

function rawCells(r: RawRow, units: Map<string, string>, labels: Labels): Cell[] {
  return [...responseCells(r, units), ...questionCells(r, labels), ...answerCells(r)];
}

/** Writes every answer of the filter as CSV to `out` and ends it (unless the client went away). */
export async function writeRawCsv(db: Queryable, out: Writable, opts: ExportOptions): Promise<number> {
  const [units, labels] = [await unitNames(db), new Labels(opts.registry)];
  out.write('\uFEFF' + csvLine(RAW_HEADERS));
  let count = 0;
  // A response's columns are escaped once for its answers; a question's and option's once for the file.
  let prefixOf: string | number = '';
  let prefix = '';
  const questionPart = new Map<string, string>();
  for await (const rows of rawPages(db, opts)) {
    if (!(await drained(out))) return count;
    let chunk = '';
    for (const r of rows) {
      if (r.id !== prefixOf) {
        prefixOf = r.id;
        prefix = responseCells(r, units).map(csvCell).join(',');
      }
      const key = `${r.definition_id}@${r.definition_version}:${r.question_id ?? ''}:${r.option_id ?? ''}:${r.position ?? ''}`;
      let middle = questionPart.get(key);
      if (middle === undefined) {
        middle = questionCells(r, labels).map(csvCell).join(',');
        questionPart.set(key, middle);
      }
      chunk += `${prefix},${middle},${answerCells(r).map(csvCell).join(',')}\r\n`;
    }
    count += rows.length;
    out.write(chunk);
  }
  out.end();
  return count;
}

// --- summary -------------------------------------------------------------------------------------

export const SUMMARY_HEADERS = [
  'STT',
  'Mã đơn vị',
  'Đơn vị',
  'Số phiếu',
  'Số phiếu hợp lệ',
  'Rất hài lòng',
  'Hài lòng',
  'Không hài lòng',
  'Tỷ lệ hài lòng (%)',
  'Trong đó: Bình thường',
  'Trong đó: Không hài lòng',
  'Trong đó: Rất không hài lòng',
  'Số hồ sơ được đánh giá (TT 01/2018)',
  ...CITIZEN_INDICES.map((i) => `Điểm chỉ số ${i}`),
  'Tổng điểm các chỉ số trên',
] as const;

function summaryCells(report: SurveyReport): Cell[][] {
  return report.units.map((u, i) => {
    const idx = report.indices.find((x) => x.unitId === u.unitId);
    return [
      i + 1,
      u.unitId,
      u.unitName,
      u.responses,
      u.valid,
      u.levels.very_satisfied,
      u.levels.satisfied,
      u.notSatisfied,
      percent(u.rate),
      u.levels.neutral,
      u.levels.dissatisfied,
      u.levels.very_dissatisfied,
      idx?.dossiers ?? 0,
      ...CITIZEN_INDICES.map((n) => idx?.indices.find((s) => s.index === n)?.score ?? null),
      idx && idx.indices.length > 0 ? idx.total : null,
    ];
  });
}

/** The per-unit table (one row per unit and a total row) as CSV. */
export async function writeSummaryCsv(db: Queryable, out: Writable, opts: ExportOptions): Promise<SurveyReport> {
  const report = await buildSurveyReport(db, opts.filter, opts.registry ? { registry: opts.registry } : {});
  let text = '\uFEFF' + csvLine(SUMMARY_HEADERS);
  for (const row of summaryCells(report)) text += csvLine(row);
  const t = report.total;
  text += csvLine(['', '', 'Tổng cộng', t.responses, t.valid, t.levels.very_satisfied, t.levels.satisfied, t.notSatisfied, percent(t.rate), t.levels.neutral, t.levels.dissatisfied, t.levels.very_dissatisfied]);
  out.end(text);
  return report;
}

// --- XLSX ----------------------------------------------------------------------------------------

/** Excel's row limit; the raw answers continue on another sheet past it. */
const MAX_SHEET_ROWS = 1_048_576;
const BOLD = { bold: true } as const;
const THIN = { style: 'thin' } as const;
const BORDER = { top: THIN, left: THIN, bottom: THIN, right: THIN } as const;

export interface XlsxOptions extends ExportOptions {
  /** Rows per raw sheet before it continues on the next (default: Excel's limit). */
  maxSheetRows?: number;
  /** Survey title for the heading (default: the family's). */
  title?: string;
}

/** Writes the workbook (summary, then the raw answers) to `out` and ends it. */
export async function writeReportXlsx(db: Queryable, out: Writable, opts: XlsxOptions): Promise<SurveyReport> {
  const report = await buildSurveyReport(db, opts.filter, opts.registry ? { registry: opts.registry } : {});
  const now = opts.now ?? new Date();
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  wb.creator = 'motcua';
  wb.created = now;

  // The summary is committed before the raw sheet starts: the zip writes entries one after
  // another, so an open summary would keep the raw rows in memory.
  const ws = wb.addWorksheet('Tổng hợp', { pageSetup: { orientation: 'landscape', fitToPage: true, fitToWidth: 1, fitToHeight: 0 } });
  ws.columns = [{ width: 6 }, { width: 36 }, ...Array.from({ length: 10 }, () => ({ width: 14 }))];
  const line = (cells: Cell[], style: 'title' | 'header' | 'body' | 'total' | 'note' = 'body') => {
    const row = ws.addRow(cells.map((c) => (c === null || c === '' ? null : typeof c === 'string' ? inertCell(c) : c)));
    if (style === 'title' || style === 'header' || style === 'total') row.font = BOLD;
    if (style === 'header' || style === 'body' || style === 'total') {
      row.eachCell((cell) => {
        cell.border = BORDER;
        if (style === 'header') cell.alignment = { wrapText: true, vertical: 'middle', horizontal: 'center' };
      });
    }
    if (style === 'note') row.font = { italic: true };
    row.commit();
  };
  const pct = (rate: number | null): Cell => (rate === null ? '—' : percent(rate));
  const familyTitle = opts.title ?? (opts.filter.family ? (opts.registry?.family(opts.filter.family)[0]?.title ?? opts.filter.family) : 'Tất cả các phiếu khảo sát');
  const p = report.period;

  line(['BIỂU TỔNG HỢP KẾT QUẢ KHẢO SÁT, ĐÁNH GIÁ MỨC ĐỘ HÀI LÒNG CỦA TỔ CHỨC, CÁ NHÂN'], 'title');
  line([`Kỳ báo cáo: ${p.label} (từ ngày ${vietnamDate(p.from)} đến ngày ${vietnamDate(new Date(p.to.getTime() - 1))})`], 'title');
  line([`Phiếu: ${familyTitle}`]);
  const filters = [
    opts.filter.procedureCode ? `Thủ tục: ${opts.filter.procedureCode}` : null,
    opts.filter.field ? `Lĩnh vực: ${opts.filter.field}` : null,
    opts.filter.channel ? `Kênh: ${CHANNEL_LABELS[opts.filter.channel] ?? opts.filter.channel}` : null,
  ].filter((x): x is string => x !== null);
  if (filters.length > 0) line([`Lọc theo: ${filters.join('; ')}`]);
  line(['Tỷ lệ hài lòng (%) = (Số phiếu Rất hài lòng + Hài lòng) / Số phiếu hợp lệ × 100. Phiếu hợp lệ: phiếu đã hoàn thành có trả lời câu đánh giá tổng thể. Đánh giá 5 mức: Bình thường, Không hài lòng và Rất không hài lòng được tính là Không hài lòng.'], 'note');
  line([]);

  line(['I. MỨC ĐỘ HÀI LÒNG THEO ĐƠN VỊ'], 'title');
  line(['STT', 'Đơn vị', 'Số phiếu', 'Số phiếu hợp lệ', 'Rất hài lòng', 'Hài lòng', 'Không hài lòng', 'Tỷ lệ hài lòng (%)'], 'header');
  report.units.forEach((u, i) => line([i + 1, u.unitName, u.responses, u.valid, u.levels.very_satisfied, u.levels.satisfied, u.notSatisfied, pct(u.rate)]));
  const t = report.total;
  line(['', 'Tổng cộng', t.responses, t.valid, t.levels.very_satisfied, t.levels.satisfied, t.notSatisfied, pct(t.rate)], 'total');
  line([]);

  line(['II. PHÂN BỐ THEO MỨC ĐÁNH GIÁ'], 'title');
  line(['STT', 'Đơn vị', ...SATISFACTION_LEVELS.map((l) => LEVEL_LABELS[l]), 'Số phiếu hợp lệ'], 'header');
  report.units.forEach((u, i) => line([i + 1, u.unitName, ...SATISFACTION_LEVELS.map((l) => u.levels[l]), u.valid]));
  line(['', 'Tổng cộng', ...SATISFACTION_LEVELS.map((l) => t.levels[l]), t.valid], 'total');
  line([]);

  const shown = [...new Set([...CITIZEN_INDICES, ...report.indices.flatMap((u) => u.indices.map((s) => s.index))])].sort((a, b) => a - b);
  if (report.indices.some((u) => u.indices.length > 0)) {
    line(['III. ĐIỂM CÁC CHỈ SỐ ĐÁNH GIÁ VIỆC GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH (Thông tư 01/2018/TT-VPCP, Điều 15)'], 'title');
    line(['Điểm mỗi chỉ số = tổng điểm của các hồ sơ ÷ số hồ sơ được đánh giá, làm tròn 1 chữ số thập phân; tổng điểm = tổng các chỉ số có dữ liệu.'], 'note');
    line(['STT', 'Đơn vị', 'Số hồ sơ được đánh giá', ...shown.map((i) => `Chỉ số ${i}`), 'Tổng điểm', 'Xếp loại'], 'header');
    report.indices.forEach((u, i) => {
      const c = u.classification;
      const band = c.band
        ? UNIT_BAND_LABELS[c.band]
        : u.indices.length === 0
          ? ''
          : `Chưa xếp loại: thiếu chỉ số ${c.missing.join(', ')} (từ Hệ thống thông tin một cửa điện tử, kiểm tra)`;
      line([i + 1, u.unitName, u.dossiers, ...shown.map((n) => u.indices.find((s) => s.index === n)?.score ?? '—'), u.indices.length > 0 ? u.total : '—', band]);
    });
    line([]);
  }

  if (report.elements.length > 0 || report.criteria.length > 0) {
    line(['IV. MỨC ĐỘ HÀI LÒNG THEO YẾU TỐ'], 'title');
    line(['STT', 'Yếu tố', 'Số phiếu hợp lệ', ...SATISFACTION_LEVELS.map((l) => LEVEL_LABELS[l]), 'Tỷ lệ hài lòng (%)'], 'header');
    report.elements.forEach((e, i) => line([i + 1, e.name, e.valid, ...SATISFACTION_LEVELS.map((l) => e.levels[l]), pct(e.rate)]));
    line([]);
    line(['STT', 'Tiêu chí', 'Số trả lời', 'Số đánh giá tích cực', 'Tỷ lệ (%)'], 'header');
    report.criteria.forEach((c, i) => line([i + 1, c.text, c.answered, c.positive, pct(c.rate)]));
    line([]);
  }

  line(['V. DIỄN BIẾN THEO THÁNG'], 'title');
  line(['STT', 'Tháng', 'Số phiếu', 'Số phiếu hợp lệ', 'Hài lòng (Rất hài lòng + Hài lòng)', 'Tỷ lệ hài lòng (%)'], 'header');
  report.trend.forEach((m, i) => line([i + 1, m.label, m.responses, m.valid, m.satisfied, pct(m.rate)]));
  line([]);
  line([`Số liệu lập lúc ${vietnamDateTime(now)} (giờ Việt Nam).`], 'note');
  ws.commit();

  const labels = new Labels(opts.registry);
  const units = await unitNames(db);
  const limit = Math.max(2, Math.min(opts.maxSheetRows ?? MAX_SHEET_ROWS, MAX_SHEET_ROWS));
  let sheetNo = 0;
  let raw: ExcelJS.Worksheet | null = null;
  let rowsInSheet = 0;
  const openSheet = () => {
    raw?.commit();
    sheetNo += 1;
    raw = wb.addWorksheet(sheetNo === 1 ? 'Dữ liệu' : `Dữ liệu (${sheetNo})`, { views: [{ state: 'frozen', ySplit: 1 }] });
    raw.columns = RAW_HEADERS.map((h) => ({ width: Math.min(40, Math.max(10, h.length + 2)) }));
    const head = raw.addRow([...RAW_HEADERS]);
    head.font = BOLD;
    head.commit();
    rowsInSheet = 1;
    return raw;
  };
  let sheet = openSheet();
  for await (const rows of rawPages(db, opts)) {
    if (!(await drained(out))) return report;
    await zipDrained(sheet);
    for (const r of rows) {
      if (rowsInSheet >= limit) sheet = openSheet();
      sheet.addRow(rawCells(r, units, labels).map((c) => (c === null ? null : typeof c === 'string' ? inertCell(c) : c))).commit();
      rowsInSheet += 1;
    }
  }
  sheet.commit();
  await wb.commit();
  return report;
}
