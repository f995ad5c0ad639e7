// The catalogue's one error class: every import or load failure names where the bad input is
// (file, and line / sheet+row+column / zod path) so an officer can fix the source file.

export type CatalogueErrorCode =
  | 'CATALOGUE_READ_FAILED' // the file cannot be read or decompressed
  | 'CATALOGUE_BAD_JSON' // a line or file is not JSON
  | 'CATALOGUE_BAD_YAML'
  | 'CATALOGUE_INVALID_RECORD' // a field is missing or has the wrong shape
  | 'CATALOGUE_DUPLICATE_CODE'
  | 'CATALOGUE_UNKNOWN_CODE' // a curated entry for a code nobody imported
  | 'CATALOGUE_BAD_SHEET'; // a workbook without the expected header or cells

export interface CatalogueErrorWhere {
  file: string;
  line?: number;
  field?: string;
  sheet?: string;
  row?: number;
  column?: string;
}

export class CatalogueError extends Error {
  readonly code: CatalogueErrorCode;
  readonly file: string;
  readonly line: number | undefined;
  readonly field: string | undefined;
  readonly sheet: string | undefined;
  readonly row: number | undefined;
  readonly column: string | undefined;

  constructor(code: CatalogueErrorCode, where: CatalogueErrorWhere, detail: string) {
    super(`${describeWhere(where)}: ${detail}`);
    this.name = 'CatalogueError';
    this.code = code;
    this.file = where.file;
    this.line = where.line;
    this.field = where.field;
    this.sheet = where.sheet;
    this.row = where.row;
    this.column = where.column;
  }
}

function describeWhere(w: CatalogueErrorWhere): string {
  const parts = [w.file];
  if (w.sheet !== undefined) parts.push(`sheet "${w.sheet}"`);
  if (w.line !== undefined) parts.push(`line ${w.line}`);
  if (w.row !== undefined) parts.push(`row ${w.row}`);
  if (w.column !== undefined) parts.push(`column "${w.column}"`);
  if (w.field !== undefined) parts.push(`field ${w.field}`);
  return parts.join(', ');
}

/** Joins a zod issue path the way the error messages show it: `procedures.3.channels.0.time`. */
export function formatIssuePath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p) => String(p)).join('.') || '(root)';
}
