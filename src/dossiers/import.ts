// Import of the dossier spreadsheet a one-stop system exports (CSV or XLSX), in two steps:
// 1. preview (dry run): read the file with the unit's column mapping, validate every row (errors
//    name the file's line, in Vietnamese), and say what would be created, updated, left unchanged
//    or skipped as older than what is stored. Only a file without a single error is kept, as a
//    pending import behind a one-time token (its verification digits already hashed);
// 2. confirm: apply every row of the pending import in one transaction — all or nothing.
// The phone column is read only for its last 4 digits, hashed at once; the applicant's name and
// every other column not mapped are never read.
import { createHash, randomBytes } from 'node:crypto';
import ExcelJS from 'exceljs';
import { z } from 'zod';
import type { Queryable } from '../store/database.js';
import { codeKey, DossierCode } from './code.js';
import { CsvError, parseCsv } from './csv.js';
import { planWrite, type ChangedField, type DossierRepository, type WriteOutcome } from './dossier-repository.js';
import { ImportField, matchHeader, type ImportMapping, type ImportMappingRepository } from './import-mapping.js';
import { fromExcelSerial, fromSpreadsheetDate, localInstant, parseLocalDate, type DayEdge, type LocalDateTime } from './local-time.js';
import { DossierStatus, parseStatusText, STATUS_VI } from './status.js';
import { lastFourDigits, type VerificationDigest } from './verification.js';

export const IMPORT_MAX_BYTES = 5 * 1024 * 1024;
export const IMPORT_MAX_ROWS = 20_000;
export const PREVIEW_TTL_MINUTES = 60;
/** How far ahead of the server's clock a date may be (clocks of desks and servers differ). */
const FUTURE_SLACK_MS = 10 * 60_000;
/** The header row is looked for among the first rows (exports put titles above it). */
const HEADER_SEARCH_ROWS = 30;
const TEXT_MAX = { procedureCode: 50, procedureName: 500, pickupPlace: 300, missing: 1000 } as const;

// --- reading the file ------------------------------------------------------------------------------

export interface Cell {
  text: string;
  /** A spreadsheet date cell (wall-clock fields) or a number that may be an Excel date. */
  date?: LocalDateTime;
  number?: number;
}

export interface SheetRow {
  /** The file's line (CSV) or row number (XLSX). */
  line: number;
  cells: Cell[];
}

/** A file that cannot be read at all; the message is for the officer. */
export class SpreadsheetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpreadsheetError';
  }
}

const clean = (s: string): string => s.normalize('NFC').replace(/\u00a0/g, ' ').trim();

function cellOf(value: ExcelJS.CellValue): Cell {
  if (value === null || value === undefined) return { text: '' };
  if (value instanceof Date) {
    const date = fromSpreadsheetDate(value);
    return date ? { text: '', date } : { text: '' };
  }
  if (typeof value === 'number') return { text: Number.isInteger(value) ? String(value) : String(value), number: value };
  if (typeof value === 'string') return { text: clean(value) };
  if (typeof value === 'boolean') return { text: value ? 'TRUE' : 'FALSE' };
  if ('richText' in value) return { text: clean(value.richText.map((r) => r.text).join('')) };
  if ('formula' in value || 'sharedFormula' in value) {
    const result: unknown = 'result' in value ? value.result : undefined;
    if (result instanceof Date || typeof result === 'number' || typeof result === 'string' || typeof result === 'boolean') return cellOf(result);
    return { text: '' };
  }
  if ('hyperlink' in value && 'text' in value) return { text: clean(typeof value.text === 'string' ? value.text : '') };
  return { text: '' };
}

async function readXlsx(data: Buffer): Promise<SheetRow[]> {
  const wb = new ExcelJS.Workbook();
  try {
    // exceljs declares its own Buffer (an ArrayBuffer); give it a copy of the bytes as one.
    await wb.xlsx.load(new Uint8Array(data).buffer);
  } catch {
    throw new SpreadsheetError('Không đọc được tệp XLSX (tệp hỏng hoặc không phải Excel).');
  }
  const ws = wb.worksheets.find((w) => w.actualRowCount > 0);
  if (!ws) throw new SpreadsheetError('Tệp XLSX không có trang tính nào có dữ liệu.');
  if (ws.actualRowCount > IMPORT_MAX_ROWS + HEADER_SEARCH_ROWS) throw new SpreadsheetError(`Tệp có quá nhiều dòng (tối đa ${IMPORT_MAX_ROWS} hồ sơ mỗi lần nhập).`);
  const rows: SheetRow[] = [];
  ws.eachRow({ includeEmpty: false }, (row, line) => {
    const cells: Cell[] = [];
    const count = row.cellCount;
    for (let c = 1; c <= count; c += 1) cells.push(cellOf(row.getCell(c).value));
    rows.push({ line, cells });
  });
  return rows;
}

function readCsvFile(data: Buffer): SheetRow[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new SpreadsheetError('Tệp CSV không phải mã UTF-8. Trong Excel, hãy chọn “Lưu thành” → “CSV UTF-8 (Comma delimited)”.');
  }
  let records;
  try {
    records = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvError) throw new SpreadsheetError(`Tệp CSV sai định dạng: ${err.message}.`);
    throw err;
  }
  if (records.length > IMPORT_MAX_ROWS + HEADER_SEARCH_ROWS) throw new SpreadsheetError(`Tệp có quá nhiều dòng (tối đa ${IMPORT_MAX_ROWS} hồ sơ mỗi lần nhập).`);
  return records.map((r) => ({ line: r.line, cells: r.fields.map((f) => ({ text: clean(f) })) }));
}

/** The rows of a CSV or XLSX file (told apart by content, then by name). */
export async function readSpreadsheet(data: Buffer, fileName: string): Promise<SheetRow[]> {
  if (data.length === 0) throw new SpreadsheetError('Tệp rỗng.');
  if (data.length > IMPORT_MAX_BYTES) throw new SpreadsheetError(`Tệp quá lớn (tối đa ${IMPORT_MAX_BYTES / 1024 / 1024} MB).`);
  const zip = data.length >= 4 && data[0] === 0x50 && data[1] === 0x4b && data[2] === 0x03 && data[3] === 0x04;
  const ole = data.length >= 4 && data[0] === 0xd0 && data[1] === 0xcf && data[2] === 0x11 && data[3] === 0xe0;
  if (ole || /\.xls$/i.test(fileName)) {
    throw new SpreadsheetError('Tệp .xls (Excel 97–2003) chưa được hỗ trợ: hãy mở bằng Excel và lưu lại dưới dạng .xlsx hoặc CSV UTF-8.');
  }
  return zip ? readXlsx(data) : readCsvFile(data);
}

// --- validating rows -------------------------------------------------------------------------------

/** A row ready to write, as kept between the preview and the confirmation (JSON). */
export const ImportRow = z.object({
  line: z.number().int().positive(),
  code: z.string(),
  procedureCode: z.string().optional(),
  procedureName: z.string().optional(),
  receivedAt: z.iso.datetime(),
  dueAt: z.iso.datetime().optional(),
  status: DossierStatus,
  statusSince: z.iso.datetime().optional(),
  missing: z.string().optional(),
  pickupPlace: z.string().optional(),
  /** The keyed digest of the phone's last 4 digits (never the digits). */
  verification: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});
export type ImportRow = z.infer<typeof ImportRow>;

export interface RowError {
  /** The file's line; null for a problem of the whole file (a missing column). */
  line: number | null;
  message: string;
}

export interface ReadResult {
  rows: ImportRow[];
  errors: RowError[];
  /** Lines skipped on purpose (repeated identical rows), in Vietnamese. */
  notes: string[];
  headerLine: number | null;
  columns: Partial<Record<ImportField, number>>;
}

export interface ReadContext {
  unitId: string;
  mapping: ImportMapping;
  /** As of when the file tells the truth (the export time); dates after it are refused. */
  exportedAt: Date;
  /** The keyed digest of 4 digits for a code key. */
  digest: (codeKey: string, digits: string) => VerificationDigest;
}

const REQUIRED: ReadonlyArray<ImportField> = ['code', 'receivedAt', 'status'];
const FIELD_NAME: Record<ImportField, string> = {
  code: 'Mã hồ sơ',
  procedureCode: 'Mã thủ tục',
  procedureName: 'Thủ tục',
  receivedAt: 'Ngày tiếp nhận',
  dueAt: 'Ngày hẹn trả',
  status: 'Trạng thái',
  statusAt: 'Ngày trả kết quả / cập nhật',
  phone: 'Số điện thoại',
  pickupPlace: 'Nơi trả kết quả',
  missing: 'Nội dung bổ sung',
};

function dateOf(cell: Cell | undefined): LocalDateTime | 'blank' | 'invalid' {
  if (!cell) return 'blank';
  if (cell.date) return cell.date;
  if (cell.number !== undefined) return fromExcelSerial(cell.number) ?? 'invalid';
  if (cell.text === '') return 'blank';
  return parseLocalDate(cell.text) ?? 'invalid';
}

/** Reads and validates the rows of a sheet; never throws for a row (row errors are collected). */
export function readRows(sheet: readonly SheetRow[], ctx: ReadContext): ReadResult {
  const errors: RowError[] = [];
  const notes: string[] = [];
  let header: { index: number; columns: Partial<Record<ImportField, number>> } | undefined;
  for (let i = 0; i < Math.min(sheet.length, HEADER_SEARCH_ROWS); i += 1) {
    const row = sheet[i];
    if (!row) continue;
    const columns = matchHeader(
      row.cells.map((c) => c.text),
      ctx.mapping,
    );
    if (columns.code !== undefined && columns.receivedAt !== undefined) {
      header = { index: i, columns };
      break;
    }
  }
  if (!header) {
    errors.push({
      line: null,
      message: `Không tìm thấy dòng tiêu đề có cột “${FIELD_NAME.code}” và cột “${FIELD_NAME.receivedAt}” trong ${HEADER_SEARCH_ROWS} dòng đầu. Kiểm tra tệp, hoặc khai báo tên cột của hệ thống một cửa ở trang “Cấu hình cột”.`,
    });
    return { rows: [], errors, notes, headerLine: null, columns: {} };
  }
  const { columns } = header;
  const headerLine = sheet[header.index]?.line ?? null;
  const missingColumns = REQUIRED.filter((f) => columns[f] === undefined);
  if (columns.procedureCode === undefined && columns.procedureName === undefined) missingColumns.push('procedureName');
  if (missingColumns.length > 0) {
    errors.push({ line: headerLine, message: `Thiếu cột: ${missingColumns.map((f) => `“${FIELD_NAME[f]}”`).join(', ')}.` });
    return { rows: [], errors, notes, headerLine, columns };
  }

  const rows: ImportRow[] = [];
  const seen = new Map<string, { line: number; fingerprint: string }>();
  const latest = ctx.exportedAt.getTime() + FUTURE_SLACK_MS;
  for (const row of sheet.slice(header.index + 1)) {
    const cell = (f: ImportField): Cell | undefined => {
      const at = columns[f];
      return at === undefined ? undefined : row.cells[at];
    };
    const text = (f: ImportField): string => cell(f)?.text ?? '';
    const rowErrors: string[] = [];
    const fail = (message: string) => rowErrors.push(message);

    const rawCode = cell('code')?.text || (cell('code')?.number !== undefined ? String(cell('code')?.number) : '');
    // Totals and signatures under the table ("Tổng cộng", "Người lập biểu") have no date, no
    // status and no procedure: not data. Said in a note when something stands in the code column.
    const aboutADossier = dateOf(cell('receivedAt')) !== 'blank' || text('status') !== '' || text('procedureCode') !== '' || text('procedureName') !== '';
    if (!aboutADossier) {
      if (rawCode !== '') notes.push(`Dòng ${row.line}: không có ngày tiếp nhận, trạng thái hay thủ tục, bỏ qua (“${rawCode.slice(0, 40)}”).`);
      continue;
    }
    if (rows.length + errors.length >= IMPORT_MAX_ROWS) {
      errors.push({ line: row.line, message: `Tệp có quá nhiều dòng: tối đa ${IMPORT_MAX_ROWS} hồ sơ mỗi lần nhập.` });
      break;
    }

    const code = DossierCode.safeParse(rawCode);
    if (!code.success) fail(code.error.issues[0]?.message ?? 'mã hồ sơ không hợp lệ');

    const instant = (f: ImportField, edge: DayEdge, required: boolean): Date | undefined => {
      const d = dateOf(cell(f));
      if (d === 'blank') {
        if (required) fail(`thiếu ${FIELD_NAME[f].toLowerCase()}`);
        return undefined;
      }
      if (d === 'invalid') {
        fail(`${FIELD_NAME[f]} “${text(f)}” không phải ngày hợp lệ (cần dd/MM/yyyy hoặc dd/MM/yyyy HH:mm)`);
        return undefined;
      }
      const at = localInstant(d, edge);
      if (f !== 'dueAt' && at.getTime() > latest) {
        fail(`${FIELD_NAME[f]} ${text(f) || 'này'} ở sau thời điểm xuất tệp`);
        return undefined;
      }
      return at;
    };
    const receivedAt = instant('receivedAt', 'start', true);
    const dueAt = instant('dueAt', 'end', false);
    const statusSince = instant('statusAt', 'start', false);
    if (receivedAt && dueAt && dueAt < receivedAt) fail('ngày hẹn trả ở trước ngày tiếp nhận');

    const statusText = text('status');
    const status = statusText === '' ? undefined : parseStatusText(statusText, ctx.mapping.statuses);
    if (statusText === '') fail('thiếu trạng thái');
    else if (status === undefined) {
      fail(`trạng thái “${statusText}” không nhận ra (dùng: ${DossierStatus.options.map((s) => STATUS_VI[s]).join(', ')}; hoặc khai báo cách viết này ở trang “Cấu hình cột”)`);
    }

    const procedureCode = text('procedureCode');
    const procedureName = text('procedureName');
    if (procedureCode === '' && procedureName === '') fail('thiếu thủ tục (mã hoặc tên thủ tục)');
    const bounded = (f: 'procedureCode' | 'procedureName' | 'pickupPlace' | 'missing'): string | undefined => {
      const v = text(f);
      if (v === '') return undefined;
      if (v.length > TEXT_MAX[f]) {
        fail(`${FIELD_NAME[f]} dài quá ${TEXT_MAX[f]} ký tự`);
        return undefined;
      }
      return v;
    };

    let verification: string | undefined;
    const phoneCell = cell('phone');
    const phoneText = phoneCell?.text || (phoneCell?.number !== undefined ? String(phoneCell.number) : '');
    if (phoneText !== '') {
      const digits = lastFourDigits(phoneText);
      // The number itself is never repeated in a message.
      if (digits === null) fail('số điện thoại không đọc được (cần ít nhất 8 chữ số)');
      else if (code.success) verification = ctx.digest(codeKey(code.data), digits);
    }

    const fields = {
      procedureCode: bounded('procedureCode'),
      procedureName: bounded('procedureName'),
      pickupPlace: bounded('pickupPlace'),
      missing: bounded('missing'),
    };
    if (rowErrors.length > 0 || !code.success || !receivedAt || !status) {
      for (const message of rowErrors) errors.push({ line: row.line, message: `Dòng ${row.line}: ${message}.` });
      continue;
    }
    const parsed: ImportRow = {
      line: row.line,
      code: code.data,
      ...(fields.procedureCode ? { procedureCode: fields.procedureCode } : {}),
      ...(fields.procedureName ? { procedureName: fields.procedureName } : {}),
      receivedAt: receivedAt.toISOString(),
      ...(dueAt ? { dueAt: dueAt.toISOString() } : {}),
      status,
      ...(statusSince ? { statusSince: statusSince.toISOString() } : {}),
      ...(fields.missing ? { missing: fields.missing } : {}),
      ...(fields.pickupPlace ? { pickupPlace: fields.pickupPlace } : {}),
      ...(verification ? { verification } : {}),
    };
    const key = codeKey(parsed.code);
    const { line: _line, ...content } = parsed;
    const fingerprint = JSON.stringify(content);
    const prior = seen.get(key);
    if (prior) {
      if (prior.fingerprint === fingerprint) notes.push(`Dòng ${row.line} lặp lại y hệt dòng ${prior.line}: bỏ qua.`);
      else errors.push({ line: row.line, message: `Dòng ${row.line}: mã hồ sơ “${parsed.code}” đã có ở dòng ${prior.line} với nội dung khác.` });
      continue;
    }
    seen.set(key, { line: row.line, fingerprint });
    rows.push(parsed);
  }
  if (rows.length === 0 && errors.length === 0) errors.push({ line: null, message: 'Tệp không có hồ sơ nào dưới dòng tiêu đề.' });
  return { rows, errors, notes, headerLine, columns };
}

// --- preview and confirm ---------------------------------------------------------------------------

export interface PreviewRow {
  line: number;
  code: string;
  status: DossierStatus;
  outcome: WriteOutcome;
  changed: ChangedField[];
}

export type OutcomeCounts = Record<WriteOutcome, number>;

export interface ImportPreview {
  fileName: string;
  exportedAt: Date;
  headerLine: number | null;
  rows: PreviewRow[];
  counts: OutcomeCounts;
  errors: RowError[];
  notes: string[];
  /** The one-time token to confirm with; only when there is no error. */
  token: string | null;
}

export type ConfirmResult =
  | { ok: true; importId: number; counts: OutcomeCounts; rows: number; fileName: string | null }
  | { ok: false; reason: 'not_found' | 'expired' | 'applied' };

export interface ImporterDeps {
  db: Queryable;
  dossiers: DossierRepository;
  mappings: ImportMappingRepository;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const zeroCounts = (): OutcomeCounts => ({ created: 0, updated: 0, unchanged: 0, stale: 0 });

const PendingRow = z.object({
  id: z.union([z.number(), z.string(), z.bigint()]).transform(Number),
  rows: z.union([z.array(z.unknown()), z.string().transform((s): unknown => JSON.parse(s))]).pipe(z.array(ImportRow)),
  summary: z.union([z.record(z.string(), z.unknown()), z.string().transform((s): unknown => JSON.parse(s))]).pipe(z.object({ exportedAt: z.iso.datetime(), fileName: z.string().nullable() })),
});
const StatusRow = z.object({ status: z.enum(['previewed', 'applied']), expired: z.boolean() });

export class DossierImporter {
  constructor(private readonly deps: ImporterDeps) {}

  /** Dry run: reads, validates and compares with what is stored; keeps a clean file for confirm. */
  async preview(input: { unitId: string; actor: number; fileName: string; data: Buffer; exportedAt?: Date; now?: Date }): Promise<ImportPreview> {
    const now = input.now ?? new Date();
    const exportedAt = input.exportedAt ?? now;
    const fileName = input.fileName.normalize('NFC').slice(0, 255);
    const base = { fileName, exportedAt, rows: [], counts: zeroCounts(), notes: [], token: null };
    if (exportedAt.getTime() > now.getTime() + FUTURE_SLACK_MS) {
      return { ...base, headerLine: null, errors: [{ line: null, message: 'Thời điểm xuất tệp ở tương lai.' }] };
    }
    let sheet: SheetRow[];
    try {
      sheet = await readSpreadsheet(input.data, fileName);
    } catch (err) {
      if (err instanceof SpreadsheetError) return { ...base, headerLine: null, errors: [{ line: null, message: err.message }] };
      throw err;
    }
    const mapping = await this.deps.mappings.get(input.unitId);
    const verifier = this.deps.dossiers.verifier;
    const read = readRows(sheet, { unitId: input.unitId, mapping, exportedAt, digest: (key, digits) => verifier.digest(input.unitId, key, digits) });
    const existing = await this.deps.dossiers.statesByKey(input.unitId, read.rows.map((r) => codeKey(r.code)));
    const counts = zeroCounts();
    const rows: PreviewRow[] = read.rows.map((r) => {
      const digest = r.verification === undefined ? undefined : verifier.parseDigest(r.verification);
      const plan = planWrite(
        existing.get(codeKey(r.code)),
        {
          ...writeFields(r),
          ...(digest ? { verifier: (current: string | null) => (current !== null && verifier.matches(current, digest) ? current : 'new') } : {}),
        },
        exportedAt,
        r.statusSince ? new Date(r.statusSince) : exportedAt,
      );
      counts[plan.outcome] += 1;
      return { line: r.line, code: r.code, status: r.status, outcome: plan.outcome, changed: plan.changed };
    });
    let token: string | null = null;
    if (read.errors.length === 0) {
      token = randomBytes(24).toString('base64url');
      await this.deps.db.query(`DELETE FROM dossier_imports WHERE status = 'previewed' AND created_at < now() - make_interval(mins => $1)`, [PREVIEW_TTL_MINUTES]);
      await this.deps.db.query('INSERT INTO dossier_imports (unit_id, token_hash, created_by, file_name, rows, summary) VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)', [
        input.unitId,
        sha256(token),
        input.actor,
        fileName,
        JSON.stringify(read.rows),
        JSON.stringify({ exportedAt: exportedAt.toISOString(), fileName, previewCounts: counts }),
      ]);
    }
    return { fileName, exportedAt, headerLine: read.headerLine, rows, counts, errors: read.errors, notes: read.notes, token };
  }

  /**
   * Applies a pending import of this unit, previewed by this officer within the last hour, in one
   * transaction: every row is written or none is (a failure rolls the whole import back).
   */
  async confirm(input: { unitId: string; actor: number; token: string }): Promise<ConfirmResult> {
    const hash = sha256(input.token);
    const result = await this.deps.dossiers.transaction(async (w, tx): Promise<ConfirmResult> => {
      const claimed = await tx.query(
        `UPDATE dossier_imports SET status = 'applied', applied_at = now()
         WHERE token_hash = $1 AND unit_id = $2 AND created_by = $3 AND status = 'previewed'
           AND created_at >= now() - make_interval(mins => $4)
         RETURNING id, rows, summary`,
        [hash, input.unitId, input.actor, PREVIEW_TTL_MINUTES],
      );
      if (claimed[0] === undefined) {
        const found = await tx.query(
          `SELECT status, created_at < now() - make_interval(mins => $4) AS expired FROM dossier_imports
           WHERE token_hash = $1 AND unit_id = $2 AND created_by = $3`,
          [hash, input.unitId, input.actor, PREVIEW_TTL_MINUTES],
        );
        if (found[0] === undefined) return { ok: false, reason: 'not_found' };
        const s = StatusRow.parse(found[0]);
        return { ok: false, reason: s.status === 'applied' ? 'applied' : 'expired' };
      }
      const pending = PendingRow.parse(claimed[0]);
      const exportedAt = new Date(pending.summary.exportedAt);
      const verifier = this.deps.dossiers.verifier;
      const counts = zeroCounts();
      for (const r of pending.rows) {
        const digest = r.verification === undefined ? undefined : verifier.parseDigest(r.verification);
        const written = await w.upsert(
          { unitId: input.unitId, code: r.code, ...writeFields(r), ...(digest ? { verification: digest } : {}) },
          { source: 'import', actor: input.actor, importId: pending.id, at: exportedAt, ...(r.statusSince ? { since: new Date(r.statusSince) } : {}) },
        );
        counts[written.outcome] += 1;
      }
      await tx.query(`UPDATE dossier_imports SET rows = NULL, summary = summary || $2::jsonb WHERE id = $1`, [pending.id, JSON.stringify({ counts, rows: pending.rows.length })]);
      return { ok: true, importId: pending.id, counts, rows: pending.rows.length, fileName: pending.summary.fileName };
    });
    return result;
  }
}

function writeFields(r: ImportRow) {
  return {
    ...(r.procedureCode !== undefined ? { procedureCode: r.procedureCode } : {}),
    ...(r.procedureName !== undefined ? { procedureName: r.procedureName } : {}),
    receivedAt: new Date(r.receivedAt),
    ...(r.dueAt !== undefined ? { dueAt: new Date(r.dueAt) } : {}),
    status: r.status,
    ...(r.missing !== undefined ? { missing: r.missing } : {}),
    ...(r.pickupPlace !== undefined ? { pickupPlace: r.pickupPlace } : {}),
  };
}
