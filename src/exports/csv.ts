// Writing spreadsheets people open in Excel: CSV lines (RFC 4180, CRLF) whose cells can never
// run as formulas, and back-pressure on the output stream. Shared by every export (broadcast
// reports, survey reports, dossier reports).
import type { Writable } from 'node:stream';

/** The UTF-8 byte order mark: without it Excel reads a CSV's Vietnamese as mojibake. */
export const BOM = '\ufeff';

export type Cell = string | number | null;

/**
 * A text a spreadsheet would read as a formula (= + - @, or a leading tab / carriage return that
 * some programs strip first) gets a leading apostrophe: shown as text, never run.
 */
export function inertCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** One CSV cell: quoted when needed, a text made inert. */
export function csvCell(value: Cell): string {
  if (value === null) return '';
  const s = typeof value === 'number' ? String(value) : inertCell(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV record, CRLF-terminated, every text cell made inert. */
export const csvLine = (cells: readonly Cell[]): string => cells.map(csvCell).join(',') + '\r\n';

/** Resolves when `out` can take more (or is gone); false when it closed or failed. */
export function drained(out: Writable): Promise<boolean> {
  if (out.destroyed) return Promise.resolve(false);
  if (!out.writableNeedDrain) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      out.off('error', onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    out.on('drain', onDrain);
    out.on('close', onClose);
    out.on('error', onClose);
  });
}
