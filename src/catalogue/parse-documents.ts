// Parses the portal's flattened "Thành phần hồ sơ" table (thanh_phan_ho_so). Each table is
// "Tên giấy tờMẫu đơn, tờ khaiSố lượng" followed by rows glued together, every row ending in
// its quantity cell ("1 bản chính", "0 bản chính,1 bản sao"); a case heading ("* Giấy tờ phải
// xuất trình:") may stand before a table. The form cell, when present, is a file name glued
// between the document's name and its quantity ("…Mẫu số 01.docx1 bản chính").
import type { DocumentItem } from './schema.js';
import { clean } from './text.js';

const HEADER = 'Tên giấy tờMẫu đơn, tờ khaiSố lượng';

// The quantity cell is glued to the cell before it, so "Nghị định 1161 bản chính" is
// "Nghị định 116" + "1 bản chính" and "Mẫu số 181 bản chính" is "Mẫu số 18" + "1". A run of
// digits is read whole (10–99) only where the name cannot go on with a number: after a closing
// parenthesis, after a sentence mark glued to a word ("…hợp lệ.10 bản chính") or after a form
// file name ("Mẫu 01.docx12 bản chính"); otherwise its last digit is the quantity and the rest
// stays with the name. Prose ("01 bản chính văn bản…") is followed by a lower-case word, or
// opens a bracket ("…theo Mẫu số 04a tại Phụ lục (01 bản chính).").
const QUANTITY = /(?<![\d(])(\d+) bản chính(?:, ?(\d+) bản sao)?(?! [\p{Ll}])/gu;

/** Where the name cell may end and a whole quantity begin. */
const CELL_END = /(?:\)|[\p{L}][.;:]|\.(?:docx?|pdf|xlsx?|rar|zip|odt))$/iu;

const FORM_FILE = /\.(?:docx?|pdf|xlsx?|rar|zip|odt)$/i;

export interface DocumentParseNotes {
  warnings: string[];
}

export function parseDocuments(raw: string, notes: DocumentParseNotes = { warnings: [] }): DocumentItem[] {
  const s = clean(raw);
  if (/^[-\s]*$/.test(s) || /^không có thông tin$/i.test(s)) return [];
  const parts = s.split(HEADER);
  const out: DocumentItem[] = [];
  if (parts.length === 1) {
    // No table header: keep rows only if quantities show a table shape.
    const rows = splitRows(s);
    if (rows.rows.length === 0) {
      notes.warnings.push('thanh_phan_ho_so: no documents table recognised');
      return [];
    }
    for (const r of rows.rows) pushRow(out, r.text, r.quantity, null);
    return out;
  }
  let heading = headingOf(parts[0] ?? '');
  for (let i = 1; i < parts.length; i++) {
    const { rows, tail } = splitRows(parts[i] ?? '');
    for (const r of rows) pushRow(out, r.text, r.quantity, heading);
    if (i < parts.length - 1) {
      heading = headingOf(tail);
    } else if (clean(tail).replace(/^[-\s]+$/, '').length > 0) {
      // A last row without a quantity cell.
      pushRow(out, tail, null, heading);
    }
  }
  return out;
}

function splitRows(body: string): { rows: Array<{ text: string; quantity: string }>; tail: string } {
  const rows: Array<{ text: string; quantity: string; start: number; glued: boolean }> = [];
  let from = 0;
  for (const m of body.matchAll(QUANTITY)) {
    const digits = m[1] ?? '';
    const whole = digits.length === 1 || (/^[1-9]\d$/.test(digits) && CELL_END.test(body.slice(0, m.index)));
    const originals = whole ? digits : digits.slice(-1);
    const cellStart = m.index + digits.length - originals.length;
    const copies = m[2];
    const quantity = copies === undefined ? `${Number(originals)} bản chính` : `${Number(originals)} bản chính, ${copies} bản sao`;
    const text = body.slice(from, cellStart);
    if (!whole && digits.length > 1 && !/\p{L}/u.test(body.slice(from, m.index))) {
      // "01 bản chính Báo cáo…" right after a row or a bullet: prose opening the next name.
      continue;
    }
    if (!/\p{L}/u.test(text)) {
      // Only marks since the last row. After "Tờ khai hải quan: 02 bản chính" (a run glued to the
      // name) that "quantity" was prose inside the name and this is the real cell, so the two
      // join; otherwise it is a repeated cell ("…1 bản chính1 bản chính") and is dropped.
      const last = rows.at(-1);
      if (last?.glued) {
        rows.pop();
        rows.push({ text: body.slice(last.start, cellStart), quantity, start: last.start, glued: false });
      }
      from = m.index + m[0].length;
      continue;
    }
    rows.push({ text, quantity, start: from, glued: !whole && digits.length > 1 });
    from = m.index + m[0].length;
  }
  return { rows: rows.map(({ text, quantity }) => ({ text, quantity })), tail: body.slice(from) };
}

function headingOf(s: string): string | null {
  const h = clean(s)
    .replace(/^[-*•\s]+/, '')
    .replace(/[:\s]+$/, '')
    .trim();
  return h.length > 0 ? h : null;
}

function pushRow(out: DocumentItem[], text: string, quantity: string | null, group: string | null): void {
  let name = clean(text);
  let form: string | null = null;
  if (FORM_FILE.test(name)) {
    const split = splitForm(name);
    name = split.name;
    form = split.form;
  }
  name = name.replace(/^[-+*•]+\s*/, '').trim();
  if (name.length === 0) {
    if (form === null) return;
    name = form;
  }
  const show = (group !== null && /xuất trình/i.test(group)) || /^xuất trình/i.test(name);
  out.push({ name, kind: show ? 'show' : 'submit', quantity, form, group });
}

/**
 * "Đơn đề nghị … Nghị định số 121/2021/NĐ-CP;Mus08.docx" → name + "Mus08.docx". The file name
 * starts after the last sentence break (";", ". ", ")" or a lower→upper glue), at most 80 chars.
 */
function splitForm(s: string): { name: string; form: string } {
  const limit = Math.max(0, s.length - 80);
  let cut = -1;
  for (let i = s.length - 6; i >= limit; i--) {
    const ch = s[i] ?? '';
    const prev = s[i - 1] ?? '';
    if (ch === ';' || ch === ':' || ch === '\n' || (ch === '.' && /\s/.test(s[i + 1] ?? ''))) {
      cut = i + 1;
      break;
    }
    if (ch === ')' && i < s.length - 8) {
      cut = i + 1;
      break;
    }
    // "…Nghị định số 21/2021/NĐ-CP.Mus09.docx": a sentence end glued to the file name.
    if (/[.)]/.test(prev) && /\S/.test(ch)) {
      cut = i;
      break;
    }
    // "…258/2025/NĐ-CPMẫu số 01.docx": a capital glued to the previous word opens the name.
    if (/\p{Lu}/u.test(ch) && /\p{Ll}/u.test(s[i + 1] ?? '') && /[\p{L}\d]/u.test(prev)) {
      cut = i;
      break;
    }
  }
  // "1. Tờ khai đăng ký tàu biển theo Mẫu247-N-CP-2025TKNGK.docx": a cut that leaves no name
  // (only the row's numbering) took the name with the file.
  if (cut === -1 || !/\p{L}/u.test(s.slice(0, cut))) {
    // Fall back to the last token without spaces.
    const m = s.match(/(\S+)$/);
    const form = m?.[1] ?? s;
    return { name: s.slice(0, s.length - form.length).trim(), form };
  }
  return { name: s.slice(0, cut).trim(), form: s.slice(cut).trim() };
}
