// Parses the portal's flattened "Cách thức thực hiện" table (cach_thuc_thuc_hien) into
// submission channels. The crawl glued the cells together:
//   "Hình thức nộpThời gianPhí, lệ phíMô tảTrực tuyến1Miễn phí(ghi chú)Mô tả…Trực tiếp…"
// so each row is: label, time cell, fee cell (+ an optional parenthesised note), description.
// A time that lost its unit is never passed on bare: its unit is recovered from the steps or
// the row's own description when the same number appears there with a unit, else it is unknown.
import type { ChannelKind, Fee, SubmissionChannel, TimeLimit, TimeUnit } from './schema.js';
import { TIME_UNIT_WORDS } from './format.js';
import { clean } from './text.js';

const HEADER = 'Hình thức nộpThời gianPhí, lệ phíMô tả';

const LABELS: ReadonlyArray<readonly [string, ChannelKind]> = [
  ['Trực tiếp', 'direct'],
  ['Trực tuyến', 'online'],
  ['Dịch vụ bưu chính', 'postal'],
];

/** Time cells that are words, not numbers; they carry no usable limit. */
const WORD_TIMES = [
  'Không có thông tin',
  'Không quy định',
  'Không phải trả kết quả cho người nộp thuế',
  'Hệ thống giải quyết thủ tục hành chính ngành Thuế thực hiện phản hồi tự động thông qua phương thức điện tử.',
  'Hệ thống giải quyết thủ tục hành chính ngành Thuế thực hiện phản hồi tự động thông qua phương thức điện tử',
];

// A row starts where a label is directly followed by something that can open a time cell.
// Labels inside descriptions ("Trực tiếp tại Bộ phận Một cửa", "- Trực tuyến: …") are followed
// by a space or a colon and so are not row starts.
const ROW_START = new RegExp(
  `(Trực tiếp|Trực tuyến|Dịch vụ bưu chính)(?=\\d|Không có thông tin|Không quy định|Không phải trả|Không ?(?:Miễn phí|Không có thông tin)|Hệ thống giải quyết thủ tục)`,
  'g',
);

const TABLE_UNITS: ReadonlyArray<readonly [string, TimeUnit]> = [
  ['Ngày làm việc', 'working_day'],
  ['Giờ làm việc', 'working_hour'],
  ['Ngày', 'day'],
  ['Giờ', 'hour'],
  ['Tháng', 'month'],
  ['Năm', 'year'],
  ['Phút', 'minute'],
];



const CURRENCY = '(?:Việt Nam Đồng|VNĐ|Đồng|USD)';
const AMOUNT_CELL = new RegExp(`^(\\d{1,3}(?:,\\d{3})+|\\d+)(?:\\.\\d+)? ?(${CURRENCY})`);

export interface ChannelParseNotes {
  /** Rows whose bare-number time got its unit from the steps or description. */
  recovered: number;
  /** Rows whose time is unknown (no number, or a number whose unit could not be found). */
  unknown: number;
  /** Rows where the source states no fee. */
  feeNotStated: number;
  warnings: string[];
}

export function emptyNotes(): ChannelParseNotes {
  return { recovered: 0, unknown: 0, feeNotStated: 0, warnings: [] };
}

/**
 * Parses the flattened table. `steps` is the record's trinh_tu_thuc_hien, searched for the unit
 * of a bare-number time. Notes are added to `notes`.
 */
export function parseChannels(raw: string, steps: string, notes: ChannelParseNotes = emptyNotes()): SubmissionChannel[] {
  let body = clean(raw);
  if (body.startsWith(HEADER)) body = body.slice(HEADER.length);
  else if (body.length > 0) notes.warnings.push('cach_thuc_thuc_hien: header missing');
  const starts = [...body.matchAll(ROW_START)].map((m) => m.index);
  if (starts.length === 0) {
    if (body.trim().length > 0) notes.warnings.push('cach_thuc_thuc_hien: no channel row recognised');
    return [];
  }
  if ((starts[0] ?? 0) > 0) notes.warnings.push('cach_thuc_thuc_hien: text before the first row dropped');
  const out: SubmissionChannel[] = [];
  const seen = new Set<string>();
  const stepsText = clean(steps);
  for (let i = 0; i < starts.length; i++) {
    const row = body.slice(starts[i], starts[i + 1] ?? body.length);
    const ch = parseRow(row, stepsText, notes);
    if (!ch) continue;
    const key = JSON.stringify(ch);
    if (seen.has(key)) continue; // the portal repeats identical rows; keep one
    seen.add(key);
    out.push(ch);
    if (ch.time.unitFrom === 'steps') notes.recovered++;
    if (ch.time.unit === 'unknown') notes.unknown++;
    if (!ch.fee.stated) notes.feeNotStated++;
  }
  return out;
}

function parseRow(row: string, steps: string, notes: ChannelParseNotes): SubmissionChannel | null {
  const label = LABELS.find(([l]) => row.startsWith(l));
  if (!label) return null;
  const [labelText, kind] = label;
  let rest = row.slice(labelText.length);

  // Time cell.
  let timeRaw: string;
  let value: number | null = null;
  let tableUnit: TimeUnit | null = null;
  let ambiguousSplit: string | null = null;
  const unitMatch = rest.match(/^(\d+(?:[.,]\d+)?) ?(Ngày làm việc|Giờ làm việc|Ngày|Giờ|Tháng|Năm|Phút)/);
  const word = WORD_TIMES.find((w) => rest.startsWith(w)) ?? rest.match(/^Không ?(?=Miễn phí|Không có thông tin)/)?.[0];
  if (unitMatch) {
    timeRaw = unitMatch[0];
    value = Number((unitMatch[1] ?? '').replace(',', '.'));
    tableUnit = TABLE_UNITS.find(([u]) => u === unitMatch[2])?.[1] ?? null;
    rest = rest.slice(timeRaw.length);
  } else if (word !== undefined) {
    timeRaw = word.trim();
    rest = rest.slice(word.length);
  } else {
    const digits = rest.match(/^\d+(?:\.\d+)?/)?.[0] ?? '';
    const after = rest.slice(digits.length);
    if (/^(?:,\d{3}| ?(?:Việt Nam Đồng|VNĐ|Đồng|USD))/.test(after)) {
      // The bare time ran into an amount ("1" + "20,000 VNĐ" → "120,000 VNĐ"): split it only
      // where the fee's own note confirms the amount, else keep neither.
      ambiguousSplit = digits;
      timeRaw = digits;
    } else {
      timeRaw = digits;
      value = Number(digits);
      rest = after;
    }
  }

  let fee: Fee;
  if (ambiguousSplit !== null) {
    const split = splitTimeAndAmount(rest, notes);
    if (split) {
      value = split.time;
      timeRaw = String(split.time);
      fee = split.fee;
      rest = split.rest;
    } else {
      const skipped = skipFeeCell(rest);
      fee = notStated();
      rest = skipped;
      notes.warnings.push(`cach_thuc_thuc_hien: time and fee run together ("${ambiguousSplit}…"), both left unstated`);
    }
  } else {
    const parsed = parseFeeCell(rest);
    fee = parsed.fee;
    rest = parsed.rest;
  }

  const description = clean(rest);
  const time = buildTime(timeRaw, value, tableUnit, [steps, description]);
  return { kind, label: labelText, time, fee, description };
}

/** Builds the time limit, recovering a missing unit from the given texts. */
export function buildTime(raw: string, value: number | null, tableUnit: TimeUnit | null, texts: string[]): TimeLimit {
  const base = raw.length > 0 ? { raw } : {};
  if (value !== null && Number.isFinite(value) && tableUnit !== null && tableUnit !== 'unknown') {
    return { value, unit: tableUnit, text: timeText(value, tableUnit), unitFrom: 'table', ...base };
  }
  if (value !== null && Number.isFinite(value)) {
    const unit = unitFromTexts(value, texts);
    if (unit) return { value, unit, text: timeText(value, unit), unitFrom: 'steps', ...base };
    return { value, unit: 'unknown', text: null, unitFrom: 'none', ...base };
  }
  return { value: null, unit: 'unknown', text: null, unitFrom: 'none', ...base };
}

export function timeText(value: number, unit: Exclude<TimeUnit, 'unknown'>): string {
  return `${String(value).replace('.', ',')} ${TIME_UNIT_WORDS[unit]}`;
}

const TEXT_UNITS: ReadonlyArray<readonly [RegExp, Exclude<TimeUnit, 'unknown'>]> = [
  [/^ngày làm việc/i, 'working_day'],
  [/^giờ làm việc/i, 'working_hour'],
  [/^ngày/i, 'day'],
  [/^giờ/i, 'hour'],
  [/^tiếng/i, 'hour'],
  [/^tháng/i, 'month'],
  [/^năm/i, 'year'],
  [/^phút/i, 'minute'],
];

/**
 * The unit the texts give to this number ("trong 03 ngày làm việc", "05 (năm) ngày làm việc"),
 * or null when they give none or disagree. Dates ("ngày 28 tháng 7 năm 2020") are skipped.
 */
export function unitFromTexts(value: number, texts: string[]): Exclude<TimeUnit, 'unknown'> | null {
  const numberPattern = Number.isInteger(value) ? `0*${value}` : String(value).replace('.', '[.,]');
  const re = new RegExp(
    `(?<![\\d/.,])(?<!(?:ngày|tháng|Ngày|Tháng|số|Số|khoản|Khoản|Điều|điều|mục|Mục) )${numberPattern}(?![\\d/]|[.,]\\d)\\s*(?:\\([^()]{1,20}\\)\\s*)?(ngày làm việc|giờ làm việc|ngày|giờ|tiếng|tháng|năm|phút)(?!\\s*\\d)`,
    'gi',
  );
  const units = new Set<Exclude<TimeUnit, 'unknown'>>();
  for (const t of texts) {
    for (const m of t.matchAll(re)) {
      const word = m[1] ?? '';
      const unit = TEXT_UNITS.find(([r]) => r.test(word))?.[1];
      if (unit) units.add(unit);
    }
  }
  if (units.size !== 1) return null;
  return [...units][0] ?? null;
}

function notStated(): Fee {
  return { stated: false, free: false, setByProvince: false, amountVnd: null, text: null };
}

const PROVINCE = /HĐND|Hội đồng nhân dân/i;
const CHARGE_HINT = /mức (?:thu|phí|lệ phí)|\d[\d.,]*\s*(?:đồng|đ(?!\p{L})|vnđ|usd)|triệu đồng|nghìn đồng|\d{1,3}(?:\.\d{3})+/iu;
const NOTHING_NOTE = /^(?:không|không có|không thu|không thu (?:phí|lệ phí)|không quy định|chưa quy định|miễn phí|miễn lệ phí|không có thông tin)\.?$/i;

/** Reads the fee cell at the start of `s`; returns the fee and what follows (the description). */
export function parseFeeCell(s: string): { fee: Fee; rest: string } {
  if (s.startsWith('Không có thông tin')) {
    return { fee: notStated(), rest: s.slice('Không có thông tin'.length) };
  }
  if (s.startsWith('Miễn phí')) {
    const { note, rest } = takeNote(s.slice('Miễn phí'.length));
    return { fee: feeFromFree(note), rest };
  }
  const amount = s.match(AMOUNT_CELL);
  if (amount) {
    const { note, rest } = takeNote(s.slice(amount[0].length));
    return { fee: feeFromAmount(amount[1] ?? '', amount[2] ?? '', note), rest };
  }
  return { fee: notStated(), rest: s };
}

function skipFeeCell(s: string): string {
  const m = s.match(/^[\d,.]+ ?(?:Việt Nam Đồng|VNĐ|Đồng|USD)/);
  const after = m ? s.slice(m[0].length) : s;
  return takeNote(after).rest;
}

function feeFromFree(note: string | null): Fee {
  if (note === null || NOTHING_NOTE.test(note)) {
    return { stated: true, free: true, setByProvince: false, amountVnd: null, text: 'Miễn phí' };
  }
  // The portal's fee column says "Miễn phí" but the note sets a charge: trust the note.
  if (PROVINCE.test(note)) {
    return { stated: true, free: false, setByProvince: true, amountVnd: null, text: note };
  }
  if (CHARGE_HINT.test(note)) {
    return { stated: true, free: false, setByProvince: false, amountVnd: singleAmount(note), text: note };
  }
  return { stated: true, free: true, setByProvince: false, amountVnd: null, text: `Miễn phí (${note})` };
}

function feeFromAmount(digits: string, currency: string, note: string | null): Fee {
  const n = Number(digits.replace(/,/g, ''));
  const setByProvince = note !== null && PROVINCE.test(note);
  const shown = currency === 'USD' ? `${digits} USD` : `${formatVnd(n)} đồng`;
  const text = note === null ? shown : `${shown} (${note})`;
  if (currency === 'USD') {
    return { stated: true, free: false, setByProvince, amountVnd: null, text };
  }
  // Amounts below 1,000 without separators ("20 VNĐ") are thousands in the portal's notation
  // only sometimes; take the number from the note when it gives exactly one, else none.
  const plausible = digits.includes(',') || n >= 1000;
  if (n === 0) return { stated: true, free: true, setByProvince: false, amountVnd: null, text: 'Miễn phí' };
  if (plausible) return { stated: true, free: false, setByProvince, amountVnd: n, text };
  const fromNote = note === null ? null : singleAmount(note);
  if (fromNote !== null) {
    return { stated: true, free: false, setByProvince, amountVnd: fromNote, text: `${formatVnd(fromNote)} đồng (${note ?? ''})` };
  }
  if (note !== null) return { stated: true, free: false, setByProvince, amountVnd: null, text: note };
  return notStated();
}

/**
 * "120,000 VNĐ(20.000 vnđ/tờ khai)": the bare time "1" ran into the amount. Accept a split only
 * where the note confirms the remaining digits as the amount.
 */
function splitTimeAndAmount(s: string, _notes: ChannelParseNotes): { time: number; fee: Fee; rest: string } | null {
  const m = s.match(/^([\d,]+)(?:\.\d+)? ?(Việt Nam Đồng|VNĐ|Đồng|USD)/);
  if (!m) return null;
  const run = m[1] ?? '';
  const { note, rest } = takeNote(s.slice(m[0].length));
  if (note === null || (m[2] ?? '') === 'USD') return null;
  const noteAmounts = amountsIn(note);
  const firstComma = run.indexOf(',');
  const head = firstComma === -1 ? run : run.slice(0, firstComma);
  const tail = firstComma === -1 ? '' : run.slice(firstComma);
  for (let k = 1; k < head.length; k++) {
    const feeDigits = head.slice(k) + tail;
    if (feeDigits.startsWith('0')) continue;
    const grouped = firstComma === -1 || head.slice(k).length <= 3;
    if (!grouped) continue;
    const n = Number(feeDigits.replace(/,/g, ''));
    const candidates = [n, n * 1000];
    const hit = candidates.find((c) => noteAmounts.includes(c));
    if (hit !== undefined) {
      return {
        time: Number(head.slice(0, k)),
        fee: { stated: true, free: false, setByProvince: PROVINCE.test(note), amountVnd: hit, text: `${formatVnd(hit)} đồng (${note})` },
        rest,
      };
    }
  }
  return null;
}

/** Takes a balanced "(…)" note at the start of s; strips doubled parentheses. */
function takeNote(s: string): { note: string | null; rest: string } {
  if (!s.startsWith('(')) return { note: null, rest: s };
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '(') depth++;
    else if (ch === ')') {
      depth--;
      if (depth === 0) {
        let note = s.slice(1, i).trim();
        while (note.startsWith('(') && note.endsWith(')') && balanced(note.slice(1, -1))) note = note.slice(1, -1).trim();
        return { note: note.length > 0 ? clean(note) : null, rest: s.slice(i + 1) };
      }
    }
  }
  // Unbalanced: the note swallows the row; keep it as the note, nothing as description.
  return { note: clean(s.slice(1)) || null, rest: '' };
}

function balanced(s: string): boolean {
  let d = 0;
  for (const ch of s) {
    if (ch === '(') d++;
    else if (ch === ')') {
      d--;
      if (d < 0) return false;
    }
  }
  return d === 0;
}

/** Amounts in đồng written in a note: "20.000 đồng", "2.000.000/lần", "10 triệu đồng". */
function amountsIn(note: string): number[] {
  const out: number[] = [];
  for (const m of note.matchAll(/(\d{1,3}(?:[.,]\d{3})+|\d+)\s*(triệu\s*đồng|nghìn\s*đồng|đồng|vnđ|đ(?!\p{L}))?/giu)) {
    const digits = m[1] ?? '';
    const unit = (m[2] ?? '').toLowerCase();
    const grouped = /[.,]\d{3}/.test(digits);
    const n = Number(digits.replace(/[.,]/g, ''));
    if (unit.startsWith('triệu')) out.push(n * 1_000_000);
    else if (unit.startsWith('nghìn')) out.push(n * 1000);
    else if (unit !== '' || grouped) out.push(n);
  }
  return out;
}

function singleAmount(note: string): number | null {
  const found = [...new Set(amountsIn(note).filter((n) => n >= 1000))];
  return found.length === 1 ? (found[0] ?? null) : null;
}

export function formatVnd(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, '.');
}
