// Reporting periods in Vietnam time (Asia/Ho_Chi_Minh): a month, a quarter, six months, a year
// or a custom range of days, turned into a half-open UTC interval [from, to). Vietnam has kept
// UTC+7 without daylight saving since 1975, so a local midnight is 17:00 UTC the day before.
// Codes: 2026-09 (month), 2026-Q3 (quarter), 2026-H1 / 2026-H2 (six months), 2026 (year),
// 2026-09-01..2026-09-15 (custom, both days included).

export const VIETNAM_TZ = 'Asia/Ho_Chi_Minh';
const OFFSET_MS = 7 * 3600_000;

export type PeriodKind = 'month' | 'quarter' | 'half' | 'year' | 'custom';

export interface Period {
  kind: PeriodKind;
  /** The canonical code (what parsePeriod accepts). */
  code: string;
  /** First instant inside the period. */
  from: Date;
  /** First instant after it. */
  to: Date;
  /** How a Vietnamese report names it: "Quý III/2026", "6 tháng đầu năm 2026"… */
  label: string;
}

export class PeriodError extends Error {
  constructor(input: string) {
    super(`kỳ báo cáo không hợp lệ: "${input}" (ví dụ 2026-09, 2026-Q3, 2026-H1, 2026, 2026-09-01..2026-09-15)`);
    this.name = 'PeriodError';
  }
}

/** The UTC instant of local midnight at the start of that local day. */
export function vietnamMidnight(year: number, month1: number, day: number): Date {
  return new Date(Date.UTC(year, month1 - 1, day) - OFFSET_MS);
}

/** The local calendar fields of an instant. */
export function vietnamParts(at: Date): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const l = new Date(at.getTime() + OFFSET_MS);
  return { year: l.getUTCFullYear(), month: l.getUTCMonth() + 1, day: l.getUTCDate(), hour: l.getUTCHours(), minute: l.getUTCMinutes(), second: l.getUTCSeconds() };
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const ROMAN = ['I', 'II', 'III', 'IV'] as const;

/** dd/MM/yyyy in Vietnam time. */
export function vietnamDate(at: Date): string {
  const p = vietnamParts(at);
  return `${pad(p.day)}/${pad(p.month)}/${p.year}`;
}

/** dd/MM/yyyy HH:mm:ss in Vietnam time. */
export function vietnamDateTime(at: Date): string {
  const p = vietnamParts(at);
  return `${pad(p.day)}/${pad(p.month)}/${p.year} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
}

function validDay(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

const YEAR_OK = (y: number) => y >= 2000 && y <= 2100;

export function parsePeriod(input: string): Period {
  const s = input.trim().toUpperCase();
  let m: RegExpExecArray | null;
  if ((m = /^(\d{4})$/.exec(s))) {
    const y = Number(m[1]);
    if (!YEAR_OK(y)) throw new PeriodError(input);
    return { kind: 'year', code: `${y}`, from: vietnamMidnight(y, 1, 1), to: vietnamMidnight(y + 1, 1, 1), label: `Năm ${y}` };
  }
  if ((m = /^(\d{4})-Q([1-4])$/.exec(s))) {
    const y = Number(m[1]);
    const q = Number(m[2]);
    if (!YEAR_OK(y)) throw new PeriodError(input);
    const start = (q - 1) * 3 + 1;
    const to = q === 4 ? vietnamMidnight(y + 1, 1, 1) : vietnamMidnight(y, start + 3, 1);
    return { kind: 'quarter', code: `${y}-Q${q}`, from: vietnamMidnight(y, start, 1), to, label: `Quý ${ROMAN[q - 1]}/${y}` };
  }
  if ((m = /^(\d{4})-H([12])$/.exec(s))) {
    const y = Number(m[1]);
    const h = Number(m[2]);
    if (!YEAR_OK(y)) throw new PeriodError(input);
    return h === 1
      ? { kind: 'half', code: `${y}-H1`, from: vietnamMidnight(y, 1, 1), to: vietnamMidnight(y, 7, 1), label: `6 tháng đầu năm ${y}` }
      : { kind: 'half', code: `${y}-H2`, from: vietnamMidnight(y, 7, 1), to: vietnamMidnight(y + 1, 1, 1), label: `6 tháng cuối năm ${y}` };
  }
  if ((m = /^(\d{4})-(\d{2})$/.exec(s))) {
    const y = Number(m[1]);
    const mo = Number(m[2]);
    if (!YEAR_OK(y) || mo < 1 || mo > 12) throw new PeriodError(input);
    const to = mo === 12 ? vietnamMidnight(y + 1, 1, 1) : vietnamMidnight(y, mo + 1, 1);
    return { kind: 'month', code: `${y}-${pad(mo)}`, from: vietnamMidnight(y, mo, 1), to, label: `Tháng ${mo}/${y}` };
  }
  if ((m = /^(\d{4})-(\d{2})-(\d{2})\.\.(\d{4})-(\d{2})-(\d{2})$/.exec(s))) {
    const [a, b, c, d, e, f] = m.slice(1).map(Number) as [number, number, number, number, number, number];
    if (!YEAR_OK(a) || !YEAR_OK(d) || !validDay(a, b, c) || !validDay(d, e, f)) throw new PeriodError(input);
    const from = vietnamMidnight(a, b, c);
    const to = vietnamMidnight(d, e, f + 1); // Date.UTC carries day 32 into the next month
    if (to <= from) throw new PeriodError(input);
    return {
      kind: 'custom',
      code: `${a}-${pad(b)}-${pad(c)}..${d}-${pad(e)}-${pad(f)}`,
      from,
      to,
      label: `Từ ${pad(c)}/${pad(b)}/${a} đến ${pad(f)}/${pad(e)}/${d}`,
    };
  }
  throw new PeriodError(input);
}

/** The period code of the quarter containing `at` (local time), e.g. for a periodic survey's occasion. */
export function quarterOf(at: Date): string {
  const p = vietnamParts(at);
  return `${p.year}-Q${Math.floor((p.month - 1) / 3) + 1}`;
}

/** The local months overlapping [from, to): their codes and UTC starts, plus the final end. */
export function monthsOf(from: Date, to: Date): { codes: string[]; bounds: Date[] } {
  const codes: string[] = [];
  const bounds: Date[] = [from];
  let { year, month } = vietnamParts(from);
  for (;;) {
    codes.push(`${year}-${pad(month)}`);
    month += 1;
    if (month === 13) {
      month = 1;
      year += 1;
    }
    const next = vietnamMidnight(year, month, 1);
    if (next >= to) break;
    bounds.push(next);
  }
  bounds.push(to);
  return { codes, bounds };
}
