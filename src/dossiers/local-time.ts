// Dates as Vietnamese offices write them, read in Vietnam time (UTC+7, no daylight saving):
// "15/03/2024", "15/03/2024 14:30", "14:30 15/03/2024", "15-03-2024", a spreadsheet's date cell
// (its wall-clock fields), or an Excel serial number. A date without a time is the start of that
// local day, or its last second when it is a due date (a result handed over at 16:00 on the due
// day is on time). Pure.
import { vietnamMidnight } from '../surveys/period.js';

/** Wall-clock fields in Vietnam, as a spreadsheet cell holds them. */
export interface LocalDateTime {
  year: number;
  month: number;
  day: number;
  /** null: the cell had a date only. */
  time: { hour: number; minute: number; second: number } | null;
}

export type DayEdge = 'start' | 'end';

function validDay(y: number, m: number, d: number): boolean {
  if (y < 1990 || y > 2100 || m < 1 || m > 12 || d < 1) return false;
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

const validTime = (h: number, mi: number, s: number) => h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 59;

/** The instant of local wall-clock fields; a date alone is the start or the end of that day. */
export function localInstant(l: LocalDateTime, edge: DayEdge): Date {
  const midnight = vietnamMidnight(l.year, l.month, l.day).getTime();
  if (l.time === null) return new Date(edge === 'start' ? midnight : midnight + 86_400_000 - 1000);
  return new Date(midnight + ((l.time.hour * 60 + l.time.minute) * 60 + l.time.second) * 1000);
}

const TIME = String.raw`(\d{1,2})[:hH](\d{2})(?:[:](\d{2}))?`;
const DATE = String.raw`(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})`;
const DATE_TIME = new RegExp(String.raw`^${DATE}(?:[\sT,]+${TIME})?$`);
const TIME_DATE = new RegExp(String.raw`^${TIME}[\s,]+(?:ngày\s+)?${DATE}$`, 'i');
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T\s](\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/** dd/MM/yyyy [HH:mm[:ss]] (or HH:mm dd/MM/yyyy, or yyyy-MM-dd[THH:mm]) as local fields; undefined if not a date. */
export function parseLocalDate(text: string): LocalDateTime | undefined {
  const s = text.normalize('NFC').trim().replace(/\s+/g, ' ');
  let m: RegExpExecArray | null;
  let y: number, mo: number, d: number;
  let h: number | null = null, mi = 0, sec = 0;
  if ((m = DATE_TIME.exec(s))) {
    [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (m[4] !== undefined) [h, mi, sec] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  } else if ((m = TIME_DATE.exec(s))) {
    [h, mi, sec] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
    [d, mo, y] = [Number(m[4]), Number(m[5]), Number(m[6])];
  } else if ((m = ISO.exec(s))) {
    [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (m[4] !== undefined) [h, mi, sec] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  } else {
    return undefined;
  }
  if (!validDay(y, mo, d)) return undefined;
  if (h !== null && !validTime(h, mi, sec)) return undefined;
  return { year: y, month: mo, day: d, time: h === null ? null : { hour: h, minute: mi, second: sec } };
}

/**
 * A spreadsheet date cell: spreadsheets have no time zone, and exceljs hands the wall clock back
 * as a Date whose UTC fields are the cell's fields. Midnight exactly is read as a date alone.
 */
export function fromSpreadsheetDate(cell: Date): LocalDateTime | undefined {
  if (Number.isNaN(cell.getTime())) return undefined;
  const [y, mo, d] = [cell.getUTCFullYear(), cell.getUTCMonth() + 1, cell.getUTCDate()];
  if (!validDay(y, mo, d)) return undefined;
  const [h, mi, s] = [cell.getUTCHours(), cell.getUTCMinutes(), cell.getUTCSeconds()];
  return { year: y, month: mo, day: d, time: h === 0 && mi === 0 && s === 0 ? null : { hour: h, minute: mi, second: s } };
}

/** An Excel serial day number (1900 date system) as local fields; undefined outside 1990–2100. */
export function fromExcelSerial(serial: number): LocalDateTime | undefined {
  if (!Number.isFinite(serial) || serial < 32874 || serial > 73051) return undefined;
  const ms = Math.round((serial - 25569) * 86_400_000);
  return fromSpreadsheetDate(new Date(Math.round(ms / 1000) * 1000));
}
