// Imports the national portal crawl (.jsonl or .jsonl.gz) into procedures/national/: one JSON
// file per field, procedures sorted by code, stable bytes across runs. All records are parsed
// and validated before anything is written; a bad line fails the whole import with the file,
// line and field named, and the existing catalogue is left exactly as it was.
// Records that carry another procedure's page (see detect-content-mismatch.ts) are written as
// list-only procedures: code and name, no steps, channels, documents or legal basis, so the bot
// never shows a citizen the wrong procedure's content. A name a workbook import gave such a
// record is kept across re-imports.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CatalogueError, formatIssuePath } from './catalogue-error.js';
import { detectContentMismatch, normaliseName } from './detect-content-mismatch.js';
import { mapPortalRecord } from './map-portal-record.js';
import { emptyNotes } from './parse-channels.js';
import { LIST_ONLY_FIELD, LIST_ONLY_FILE, listOnlyProcedure, NationalFile, serializeNationalFile } from './national-file.js';
import { PortalRecord } from './portal-record.js';
import { Procedure } from './schema.js';
import { compareCodes, slugify } from './slugify.js';
import { writeDirAtomically } from './write-dir-atomically.js';

export const DEFAULT_NATIONAL_DIR = 'procedures/national';

export interface ImportReport {
  input: string;
  outDir: string;
  /** Non-empty lines read. */
  records: number;
  /** Procedures written (equals records: a bad record fails the import), full and list-only. */
  written: number;
  /** Procedures written with their full portal content. */
  full: number;
  /** Field name → number of procedures. */
  perField: Record<string, number>;
  /** Field name → file name. */
  files: Record<string, string>;
  channels: number;
  /** Channel times whose unit came from the steps text or the row's description. */
  timesRecoveredFromSteps: number;
  /** Channel times left without a usable unit (never shown to citizens). */
  timesUnknown: number;
  /** Channel fees the source does not state. */
  feesNotStated: number;
  communeCore: number;
  /** List-only procedures kept from a previous workbook import (codes the crawl lacks or flagged codes). */
  listOnlyKept: number;
  /**
   * Codes whose crawl record carries another procedure's page: written as list-only records
   * (name only) instead of showing that content. Reasons are in `warnings`.
   */
  contentMismatch: string[];
  warnings: string[];
}

export async function importPortal(opts: { input: string; outDir?: string; coreCodesFile?: string }): Promise<ImportReport> {
  const outDir = opts.outDir ?? DEFAULT_NATIONAL_DIR;
  const coreCodes = opts.coreCodesFile ? await readCoreCodes(opts.coreCodesFile) : new Set<string>();
  const lines = await readLines(opts.input);

  const notes = emptyNotes();
  const procedures: Procedure[] = [];
  const rawRecords: PortalRecord[] = [];
  // Per-code channel figures, so that flagged records (whose channels are dropped) leave the totals.
  const channelCounts = new Map<string, { recovered: number; unknown: number; feeNotStated: number }>();
  const seen = new Map<string, number>();
  let records = 0;
  for (let i = 0; i < lines.length; i++) {
    const lineText = lines[i] ?? '';
    const line = i + 1;
    if (lineText.trim() === '') continue;
    records++;
    let json: unknown;
    try {
      json = JSON.parse(lineText);
    } catch (err) {
      throw new CatalogueError('CATALOGUE_BAD_JSON', { file: opts.input, line }, `not JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    const raw = PortalRecord.safeParse(json);
    if (!raw.success) {
      const issue = raw.error.issues[0];
      throw new CatalogueError(
        'CATALOGUE_INVALID_RECORD',
        { file: opts.input, line, field: formatIssuePath(issue?.path ?? []) },
        issue?.message ?? 'invalid record',
      );
    }
    const before = notes.warnings.length;
    const counted = { recovered: notes.recovered, unknown: notes.unknown, feeNotStated: notes.feeNotStated };
    const mapped = Procedure.safeParse(mapPortalRecord(raw.data, coreCodes, notes));
    // Prefix this record's warnings with where they come from.
    for (let w = before; w < notes.warnings.length; w++) notes.warnings[w] = `${raw.data.ma_thu_tuc.trim()} (line ${line}): ${notes.warnings[w]}`;
    if (!mapped.success) {
      const issue = mapped.error.issues[0];
      throw new CatalogueError(
        'CATALOGUE_INVALID_RECORD',
        { file: opts.input, line, field: formatIssuePath(issue?.path ?? []) },
        issue?.message ?? 'invalid procedure',
      );
    }
    const first = seen.get(mapped.data.code);
    if (first !== undefined) {
      throw new CatalogueError('CATALOGUE_DUPLICATE_CODE', { file: opts.input, line, field: 'ma_thu_tuc' }, `code ${mapped.data.code} already on line ${first}`);
    }
    seen.set(mapped.data.code, line);
    procedures.push(mapped.data);
    rawRecords.push(raw.data);
    channelCounts.set(mapped.data.code, {
      recovered: notes.recovered - counted.recovered,
      unknown: notes.unknown - counted.unknown,
      feeNotStated: notes.feeNotStated - counted.feeNotStated,
    });
  }

  const mismatches = detectContentMismatch(rawRecords);
  const flagged = new Map(mismatches.map((m) => [m.code, m]));
  const full = procedures.filter((p) => !flagged.has(p.code));
  const listOnly = await readListOnly(outDir);
  const priorList = new Map((listOnly?.procedures ?? []).map((p) => [p.code, p]));
  const flaggedOut: Procedure[] = [];
  let keptFlagged = 0;
  for (const p of procedures) {
    const m = flagged.get(p.code);
    if (!m) continue;
    const counts = channelCounts.get(p.code);
    if (counts) {
      notes.recovered -= counts.recovered;
      notes.unknown -= counts.unknown;
      notes.feeNotStated -= counts.feeNotStated;
    }
    notes.warnings.push(`${p.code}: content mismatch, written as list-only (${m.reason})`);
    if (coreCodes.has(p.code)) notes.warnings.push(`${p.code}: listed as commune core, but that was judged on another procedure's content; not marked commune core on that word (a workbook naming a commune agency marks it)`);
    const prior = priorList.get(p.code);
    // A workbook name is better than the crawl's, which is the other procedure's name.
    if (prior && prior.detail === 'list' && normaliseName(prior.name) !== normaliseName(p.name)) {
      flaggedOut.push(prior);
      keptFlagged++;
    } else {
      flaggedOut.push(listOnlyFromMismatch(p));
    }
  }

  const files = new Map<string, string>();
  const fileOfField = assignFileNames(full.map((p) => p.field));
  const byField = new Map<string, Procedure[]>();
  for (const p of full) {
    const list = byField.get(p.field) ?? [];
    list.push(p);
    byField.set(p.field, list);
  }
  const perField: Record<string, number> = {};
  const fileRecord: Record<string, string> = {};
  for (const field of [...byField.keys()].sort()) {
    const list = (byField.get(field) ?? []).sort((a, b) => compareCodes(a.code, b.code));
    const name = fileOfField.get(field) ?? `${slugify(field)}.json`;
    files.set(name, serializeNationalFile({ field, procedures: list }));
    perField[field] = list.length;
    fileRecord[field] = name;
  }

  // Keep what a workbook import added for codes the crawl still lacks, beside the flagged codes.
  const keptListOnly = listOnly ? listOnly.procedures.filter((p) => !seen.has(p.code)) : [];
  const listOut = [...keptListOnly, ...flaggedOut].sort((a, b) => compareCodes(a.code, b.code));
  if (listOut.length > 0) {
    files.set(LIST_ONLY_FILE, serializeNationalFile({ field: listOnly?.field ?? LIST_ONLY_FIELD, procedures: listOut }));
  }

  await writeDirAtomically(outDir, files);

  const channels = full.reduce((n, p) => n + p.channels.length, 0);
  return {
    input: opts.input,
    outDir,
    records,
    written: procedures.length,
    full: full.length,
    perField,
    files: fileRecord,
    channels,
    timesRecoveredFromSteps: notes.recovered,
    timesUnknown: notes.unknown,
    feesNotStated: notes.feeNotStated,
    communeCore: [...full, ...flaggedOut].filter((p) => p.communeCore).length,
    listOnlyKept: keptListOnly.length + keptFlagged,
    contentMismatch: mismatches.map((m) => m.code),
    warnings: notes.warnings,
  };
}

/**
 * What can be said of a flagged code: its code, its ministry folder (the crawl's own grouping,
 * not the page) and, until a workbook gives a better one, the name the crawl stored. Everything
 * read from the page (field, levels, agencies, steps, link…) belongs to another procedure.
 */
export function listOnlyFromMismatch(p: Procedure): Procedure {
  return listOnlyProcedure({ code: p.code, name: p.name, ministry: p.ministry, communeCore: false });
}

/** Field → file name; distinct fields whose slugs collide get -2, -3… in name order. */
export function assignFileNames(fields: Iterable<string>): Map<string, string> {
  const used = new Set<string>([LIST_ONLY_FILE]);
  const out = new Map<string, string>();
  for (const field of [...new Set(fields)].sort()) {
    const base = slugify(field);
    let name = `${base}.json`;
    for (let n = 2; used.has(name); n++) name = `${base}-${n}.json`;
    used.add(name);
    out.set(field, name);
  }
  return out;
}

async function readLines(file: string): Promise<string[]> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    throw new CatalogueError('CATALOGUE_READ_FAILED', { file }, err instanceof Error ? err.message : String(err));
  }
  if (buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      throw new CatalogueError('CATALOGUE_READ_FAILED', { file }, `bad gzip (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  return buf.toString('utf8').split(/\r?\n/);
}

export async function readCoreCodes(file: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CatalogueError('CATALOGUE_READ_FAILED', { file }, err instanceof Error ? err.message : String(err));
  }
  const codes = new Set<string>();
  text.split(/\r?\n/).forEach((l, i) => {
    const c = l.replace(/#.*$/, '').trim();
    if (c === '') return;
    if (!/^\d+\.\d+$/.test(c)) throw new CatalogueError('CATALOGUE_INVALID_RECORD', { file, line: i + 1 }, `not a procedure code: "${c}"`);
    codes.add(c);
  });
  return codes;
}

/** The list-only file of a catalogue directory, validated; null when there is none. */
export async function readListOnly(dir: string): Promise<NationalFile | null> {
  const file = join(dir, LIST_ONLY_FILE);
  if (!existsSync(file)) return null;
  return readNationalFile(file);
}

export async function readNationalFile(file: string): Promise<NationalFile> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new CatalogueError('CATALOGUE_BAD_JSON', { file }, err instanceof Error ? err.message : String(err));
  }
  const parsed = NationalFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CatalogueError('CATALOGUE_INVALID_RECORD', { file, field: formatIssuePath(issue?.path ?? []) }, issue?.message ?? 'invalid file');
  }
  return parsed.data;
}
