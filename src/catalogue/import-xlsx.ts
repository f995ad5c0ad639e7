// Imports a portal "Danh sách thủ tục hành chính" workbook (columns Mã số, Tên, Cơ quan ban
// hành, Cơ quan thực hiện, Lĩnh vực under a title block) and merges it with the full records:
// codes already in the catalogue are left untouched (name mismatches are reported), codes the
// crawl lacks become list-only procedures in list-only.json so the bot can at least name them.
// Codes whose catalogue record is list-only (the crawl lacks them, or the portal import found
// their crawl content belonged to another procedure) take the workbook's name, field and agency.
// Like the portal import, nothing is written unless every row validated, and the national
// directory is swapped in whole. `catalogueDir` may be the catalogue root (procedures/, as the
// CLI passes it) or its national directory; only the national directory is ever rewritten.
import { readFile, readdir } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import ExcelJS from 'exceljs';
import { CatalogueError, formatIssuePath } from './catalogue-error.js';
import { readNationalFile } from './import-portal.js';
import { LIST_ONLY_FIELD, LIST_ONLY_FILE, listOnlyProcedure, serializeNationalFile } from './national-file.js';
import { Procedure } from './schema.js';
import { compareCodes, slugify } from './slugify.js';
import { nameSimilarity } from './name-similarity.js';
import { clean } from './text.js';
import { writeDirAtomically } from './write-dir-atomically.js';

export interface XlsxNameMismatch {
  code: string;
  row: number;
  catalogue: string;
  list: string;
  /**
   * similar: the names share most of their words (a rewording, a level suffix); different: they
   * name different procedures, so the record's content is suspect and needs an officer first.
   */
  similarity: 'similar' | 'different';
  /** Share of syllables in common (Dice coefficient, 0–1, two decimals). */
  overlap: number;
}

export interface XlsxReport {
  input: string;
  sheet: string;
  headerRow: number;
  /** Data rows read (non-empty). */
  rows: number;
  /** Codes already in the catalogue with full records (left as they are). */
  inCatalogue: number;
  /** The national directory read and written. */
  nationalDir: string;
  /** Codes this workbook added as list-only procedures. */
  listOnlyAdded: number;
  /** List-only procedures already in the catalogue whose name, field or agency this workbook set. */
  listOnlyUpdated: number;
  /** List-only procedures in the catalogue after the import. */
  listOnlyTotal: number;
  /** Full records whose name differs from the workbook's, "different" ones first. */
  nameMismatches: XlsxNameMismatch[];
  warnings: string[];
}

type ColumnKey = 'code' | 'name' | 'issuer' | 'executing' | 'field';

const COLUMNS: ReadonlyArray<readonly [ColumnKey, string, boolean]> = [
  ['code', 'Mã số', true],
  ['name', 'Tên', true],
  ['issuer', 'Cơ quan ban hành', false],
  ['executing', 'Cơ quan thực hiện', false],
  ['field', 'Lĩnh vực', true],
];

export async function importXlsx(opts: { input: string; catalogueDir: string; outDir?: string }): Promise<XlsxReport> {
  const nationalDir = resolveNationalDir(opts.catalogueDir);
  const outDir = opts.outDir ?? nationalDir;
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.readFile(opts.input);
  } catch (err) {
    throw new CatalogueError('CATALOGUE_READ_FAILED', { file: opts.input }, err instanceof Error ? err.message : String(err));
  }

  const found = findHeader(wb);
  if (!found) {
    const sheet = wb.worksheets[0]?.name;
    throw new CatalogueError(
      'CATALOGUE_BAD_SHEET',
      sheet === undefined ? { file: opts.input } : { file: opts.input, sheet },
      `no header row with ${COLUMNS.filter(([, , req]) => req).map(([, l]) => `"${l}"`).join(', ')}`,
    );
  }
  const { ws, headerRow, columns } = found;

  // Read the catalogue: full records by code, and the list-only file.
  const full = new Map<string, Procedure>();
  const keptFiles = new Map<string, string>();
  let listOnly: Procedure[] = [];
  if (existsSync(nationalDir)) {
    for (const name of (await readdir(nationalDir)).filter((f) => f.endsWith('.json') && !f.startsWith('.')).sort()) {
      const file = join(nationalDir, name);
      const parsed = await readNationalFile(file);
      if (name === LIST_ONLY_FILE) {
        listOnly = parsed.procedures;
        continue;
      }
      for (const p of parsed.procedures) full.set(p.code, p);
      keptFiles.set(name, await readFile(file, 'utf8'));
    }
  }

  const report: XlsxReport = {
    input: opts.input,
    sheet: ws.name,
    headerRow,
    rows: 0,
    inCatalogue: 0,
    nationalDir,
    listOnlyAdded: 0,
    listOnlyUpdated: 0,
    listOnlyTotal: 0,
    nameMismatches: [],
    warnings: [],
  };
  const listOnlyByCode = new Map(listOnly.filter((p) => !full.has(p.code)).map((p) => [p.code, p]));
  const seenInSheet = new Map<string, { row: number; name: string }>();

  for (let r = headerRow + 1; r <= ws.rowCount; r++) {
    const row = ws.getRow(r);
    const cells = {
      code: cellText(row.getCell(columns.code)),
      name: cellText(row.getCell(columns.name)),
      issuer: columns.issuer === undefined ? '' : cellText(row.getCell(columns.issuer)),
      executing: columns.executing === undefined ? '' : cellText(row.getCell(columns.executing)),
      field: cellText(row.getCell(columns.field)),
    };
    if (Object.values(cells).every((v) => v === '')) continue;
    report.rows++;
    const where = (key: ColumnKey) => ({ file: opts.input, sheet: ws.name, row: r, column: COLUMNS.find(([k]) => k === key)?.[1] ?? key });
    if (!/^\d+\.\d+$/.test(cells.code)) {
      throw new CatalogueError('CATALOGUE_INVALID_RECORD', where('code'), `not a procedure code: "${cells.code}"`);
    }
    if (cells.name === '') throw new CatalogueError('CATALOGUE_INVALID_RECORD', where('name'), 'empty name');
    if (cells.field === '') throw new CatalogueError('CATALOGUE_INVALID_RECORD', where('field'), 'empty field');

    const prior = seenInSheet.get(cells.code);
    if (prior) {
      if (sameName(prior.name, cells.name)) continue; // the portal's export repeats rows
      report.warnings.push(`row ${r}: code ${cells.code} repeats row ${prior.row} with another name`);
      continue;
    }
    seenInSheet.set(cells.code, { row: r, name: cells.name });

    const existing = full.get(cells.code);
    if (existing) {
      report.inCatalogue++;
      if (!sameName(existing.name, cells.name)) {
        const overlap = nameSimilarity(existing.name, cells.name);
        report.nameMismatches.push({
          code: cells.code,
          row: r,
          catalogue: existing.name,
          list: cells.name,
          similarity: overlap >= SIMILAR_NAMES ? 'similar' : 'different',
          overlap: Math.round(overlap * 100) / 100,
        });
      }
      continue;
    }
    const executing = cells.executing === '' ? null : cells.executing.split('\n').map((s) => s.trim()).filter(Boolean).join('; ');
    const priorList = listOnlyByCode.get(cells.code);
    const candidate = priorList
      ? {
          // A list record already here (from an earlier workbook, or a code whose crawl content was
          // another procedure's): the workbook's name, field and agency replace what it had.
          ...priorList,
          name: cells.name,
          field: cells.field,
          agencies: { ...priorList.agencies, executing: executing ?? priorList.agencies.executing },
          ministry: cells.issuer === '' ? priorList.ministry : slugify(cells.issuer),
          communeCore: priorList.communeCore || namesCommuneAgency(executing),
        }
      : listOnlyProcedure({
          code: cells.code,
          name: cells.name,
          field: cells.field,
          executing,
          ministry: cells.issuer === '' ? null : slugify(cells.issuer),
          communeCore: namesCommuneAgency(executing),
        });
    const parsed = Procedure.safeParse(candidate);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new CatalogueError(
        'CATALOGUE_INVALID_RECORD',
        { ...where('code'), field: formatIssuePath(issue?.path ?? []) },
        issue?.message ?? 'invalid procedure',
      );
    }
    if (!priorList) report.listOnlyAdded++;
    else if (JSON.stringify(priorList) !== JSON.stringify(parsed.data)) report.listOnlyUpdated++;
    listOnlyByCode.set(parsed.data.code, parsed.data);
  }
  // The serious ones first: a different name means the record may hold another procedure.
  report.nameMismatches.sort((a, b) => (a.similarity === b.similarity ? a.row - b.row : a.similarity === 'different' ? -1 : 1));

  const files = new Map(keptFiles);
  const merged = [...listOnlyByCode.values()].sort((a, b) => compareCodes(a.code, b.code));
  if (merged.length > 0) files.set(LIST_ONLY_FILE, serializeNationalFile({ field: LIST_ONLY_FIELD, procedures: merged }));
  report.listOnlyTotal = merged.length;
  await writeDirAtomically(outDir, files);
  return report;
}

/** Below this share of common syllables two names are taken to name different procedures. */
const SIMILAR_NAMES = 0.5;

/**
 * The catalogue root (holding national/, curated/…) or the national directory itself: a
 * directory that directly holds national *.json files, or is named "national", is the national
 * directory; anything else is a root, whose national/ is used. Never rewrite a root: that would
 * swap out curated/ and the dictionary with it.
 */
export function resolveNationalDir(catalogueDir: string): string {
  if (basename(catalogueDir) === 'national') return catalogueDir;
  if (existsSync(join(catalogueDir, 'national'))) return join(catalogueDir, 'national');
  if (existsSync(catalogueDir) && readdirSync(catalogueDir).some((f) => f.endsWith('.json') && !f.startsWith('.'))) return catalogueDir;
  return join(catalogueDir, 'national');
}

/** "Công an cấp Xã", "Ủy ban nhân dân cấp xã": the workbook says a commune body handles it. */
function namesCommuneAgency(executing: string | null): boolean {
  return executing !== null && /(công an|ủy ban nhân dân|uỷ ban nhân dân|ubnd) (cấp )?xã/iu.test(executing);
}

function findHeader(wb: ExcelJS.Workbook): { ws: ExcelJS.Worksheet; headerRow: number; columns: Partial<Record<ColumnKey, number>> & Record<'code' | 'name' | 'field', number> } | null {
  for (const ws of wb.worksheets) {
    const last = Math.min(ws.rowCount, 50);
    for (let r = 1; r <= last; r++) {
      const row = ws.getRow(r);
      const found: Partial<Record<ColumnKey, number>> = {};
      for (let c = 1; c <= Math.max(row.cellCount, ws.columnCount); c++) {
        const label = normaliseLabel(cellText(row.getCell(c)));
        const col = COLUMNS.find(([, l]) => normaliseLabel(l) === label);
        if (col && found[col[0]] === undefined) found[col[0]] = c;
      }
      const { code, name, field } = found;
      if (code !== undefined && name !== undefined && field !== undefined) {
        return { ws, headerRow: r, columns: { ...found, code, name, field } };
      }
    }
  }
  return null;
}

function normaliseLabel(s: string): string {
  return clean(s).toLowerCase().replace(/\s+/g, ' ').replace(/[.:]$/, '');
}

/** The text of a cell: strings, rich text, numbers (codes typed as numbers keep 6 decimals). */
function cellText(cell: ExcelJS.Cell): string {
  const v = cell.value;
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(6);
  if (typeof v === 'string') return clean(v);
  return clean(cell.text ?? '');
}

function sameName(a: string, b: string): boolean {
  const n = (s: string) => clean(s).toLowerCase().replace(/\s+/g, ' ').replace(/[.;]+$/, '');
  return n(a) === n(b);
}
