// The dossier report of one unit and period as the spreadsheets staff hand in (issue #7):
// received, resolved on time / late, still open within / past the due date, returned, and of
// the returned dossiers the share evaluated by the citizen and the satisfaction of those
// evaluations — per procedure and in total. CSV (UTF-8 with BOM) and XLSX, every text cell
// made inert (procedure names come from imported spreadsheets). Shared by the admin and the API.
import type { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import { BOM, csvLine, inertCell, type Cell } from '../exports/csv.js';
import { vietnamDate, type Period } from '../surveys/period.js';
import type { DossierFigures, DossierReport } from './dossier-repository.js';

/** part / whole as a percentage with one decimal ("75,0"), or null when whole is 0. */
export function share(part: number, whole: number): number | null {
  return whole > 0 ? Math.round((part / whole) * 1000) / 10 : null;
}

/** "75,0%" / "—": how a share reads in Vietnamese. */
export function shareText(value: number | null): string {
  return value === null ? '—' : `${value.toFixed(1).replace('.', ',')}%`;
}

export const DOSSIER_REPORT_HEADERS = [
  'Mã thủ tục',
  'Tên thủ tục',
  'Tiếp nhận',
  'Giải quyết đúng hạn',
  'Giải quyết quá hạn',
  'Đang giải quyết trong hạn',
  'Đang giải quyết quá hạn',
  'Trễ hạn (tổng)',
  'Tỷ lệ đúng hạn (%)',
  'Từ chối / rút',
  'Đã trả kết quả',
  'Được đánh giá',
  'Tỷ lệ được đánh giá (%)',
  'Hài lòng',
  'Tỷ lệ hài lòng (%)',
] as const;

/** Of the dossiers resolved in the period, the share resolved on time. */
export const onTimeShare = (f: DossierFigures): number | null => share(f.resolvedOnTime, f.resolvedOnTime + f.resolvedLate);
/** Of the dossiers returned in the period, the share the citizen evaluated. */
export const evaluatedShare = (f: DossierFigures): number | null => share(f.evaluated, f.returned);
/** Of the evaluations, the share rated Rất hài lòng or Hài lòng. */
export const satisfiedShare = (f: DossierFigures): number | null => share(f.satisfied, f.evaluated);

/** One row of the report: numbers as numbers, shares as numbers (null: nothing to divide). */
export function reportCells(code: string | null, name: string | null, f: DossierFigures): Cell[] {
  return [
    code,
    name,
    f.received,
    f.resolvedOnTime,
    f.resolvedLate,
    f.openOnTime,
    f.openOverdue,
    f.late,
    onTimeShare(f),
    f.closed,
    f.returned,
    f.evaluated,
    evaluatedShare(f),
    f.satisfied,
    satisfiedShare(f),
  ];
}

function allRows(r: DossierReport): Cell[][] {
  return [...r.byProcedure.map((p) => reportCells(p.procedureCode, p.procedureName, p)), reportCells(null, 'Tổng', r.totals)];
}

export const DEFINITIONS_NOTE =
  'Đúng hạn: có kết quả trong kỳ, không muộn hơn ngày hẹn trả. Quá hạn: có kết quả sau ngày hẹn trả, hoặc chưa có kết quả khi đã qua ngày hẹn trả (tính tại cuối kỳ). ' +
  'Tỷ lệ được đánh giá = hồ sơ được người dân đánh giá / hồ sơ đã trả kết quả trong kỳ; tỷ lệ hài lòng = đánh giá Rất hài lòng hoặc Hài lòng / hồ sơ được đánh giá. Giờ Việt Nam.';

/** The CSV file (BOM, CRLF), the whole report at once: one row per procedure, then the total. */
export function dossierReportCsv(r: DossierReport): string {
  return BOM + csvLine([...DOSSIER_REPORT_HEADERS]) + allRows(r).map(csvLine).join('');
}

/** A file name safe in a Content-Disposition header. */
export function dossierReportFileName(unitId: string, period: Period, ext: 'csv' | 'xlsx'): string {
  return `ho-so-${unitId.replace(/[^a-z0-9-]/gi, '')}-${period.code.replace(/[^0-9A-Z-]/g, '_')}.${ext}`;
}

const BORDER = { top: { style: 'thin' }, left: { style: 'thin' }, bottom: { style: 'thin' }, right: { style: 'thin' } } as const;

/** The workbook: a heading with unit, period and definitions, then the table. Ends `out`. */
export async function writeDossierReportXlsx(r: DossierReport, out: Writable, opts: { unitName: string; period: Period; now?: Date }): Promise<void> {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  wb.creator = 'motcua';
  wb.created = opts.now ?? new Date();
  const ws = wb.addWorksheet('Hồ sơ', { pageSetup: { orientation: 'landscape', fitToPage: true, fitToWidth: 1, fitToHeight: 0 } });
  ws.columns = [{ width: 12 }, { width: 40 }, ...Array.from({ length: DOSSIER_REPORT_HEADERS.length - 2 }, () => ({ width: 13 }))];
  const add = (cells: Cell[], style: 'title' | 'header' | 'body' | 'total' | 'note') => {
    const row = ws.addRow(cells.map((c) => (c === null ? null : typeof c === 'string' ? inertCell(c) : c)));
    if (style === 'title' || style === 'header' || style === 'total') row.font = { bold: true };
    if (style === 'note') row.font = { italic: true };
    if (style === 'header' || style === 'body' || style === 'total') {
      row.eachCell({ includeEmpty: true }, (cell) => {
        cell.border = BORDER;
        if (style === 'header') cell.alignment = { wrapText: true, vertical: 'middle', horizontal: 'center' };
      });
    }
    row.commit();
  };
  const p = opts.period;
  add(['BIỂU TỔNG HỢP TÌNH HÌNH GIẢI QUYẾT HỒ SƠ THỦ TỤC HÀNH CHÍNH'], 'title');
  add([`Đơn vị: ${opts.unitName}`], 'title');
  add([`Kỳ báo cáo: ${p.label} (từ ngày ${vietnamDate(p.from)} đến ngày ${vietnamDate(new Date(p.to.getTime() - 1))}); hồ sơ đang giải quyết tính tại ${vietnamDate(r.asOf)}`], 'title');
  add([DEFINITIONS_NOTE], 'note');
  add([], 'note');
  add([...DOSSIER_REPORT_HEADERS], 'header');
  const rows = allRows(r);
  // A share with nothing to divide reads "—" (the CSV leaves it empty for programs).
  const SHARE_COLUMNS = new Set([8, 12, 14]);
  rows.forEach((cells, i) => add(cells.map((c, col) => (c === null && SHARE_COLUMNS.has(col) ? '—' : c)), i === rows.length - 1 ? 'total' : 'body'));
  await wb.commit();
}
