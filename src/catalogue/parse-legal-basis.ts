// Parses the portal's flattened "Căn cứ pháp lý" table (can_cu_phap_ly):
//   "Tên văn bản pháp lýMã văn bản" + (title + number)…, e.g.
//   "…trong công an nhân dân68/2013/TT-BCALuật Khiếu nại năm 201102/2011/QH13…"
// A row ends at a document number glued to the next title. Numbers are matched against the
// issuer codes Vietnamese legal numbers use, so "QH13" + "60/2014…" or "NĐ-CP" + "LUẬT…" split
// in the right place.
import type { LegalBasis } from './schema.js';
import { clean } from './text.js';

const HEADER = 'Tên văn bản pháp lýMã văn bản';

// Kinds and issuers seen in legal numbers; longest first so the alternation is greedy.
const SEGMENTS = [
  'TTLT', 'NQLT', 'UBTVQH\\d{2}', 'QH\\d{2}', 'PL', 'VBHN', 'NĐ', 'ND', 'TT', 'NQ', 'QĐ', 'QD', 'CT', 'CTN', 'L', 'HD', 'HĐ', 'TB',
  'TTg', 'CP', 'BTC', 'BTP', 'BCA', 'BQP', 'BNG', 'BNV', 'BYT', 'BCT', 'BXD', 'BGTVT', 'BTNMT', 'BNNMT', 'BNNPTNT', 'BKHĐT', 'BKHCN',
  'BKH', 'BLĐTBXH', 'BGDĐT', 'BTTTT', 'BVHTTDL', 'BDT', 'UBDT', 'NHNN', 'VPCP', 'TANDTC', 'VKSNDTC', 'UBND', 'HĐND', 'KTNN', 'HĐTP',
  'HĐTĐ', 'BTCTW', 'TLĐ', 'TW', 'BCĐ', 'BT', 'BL', 'BKHDT', 'BGD', 'BNN', 'BTM', 'BTS', 'BXD', 'BCN', 'BVHTT', 'BLĐ', 'UBCKNN',
].sort((a, b) => b.replace(/\\d\{2\}/, 'NN').length - a.replace(/\\d\{2\}/, 'NN').length);

const SEG = `(?:${SEGMENTS.join('|')})`;
const NUMBER = new RegExp(`\\d+[a-z]?(?:\\.\\d+)?/\\d{4}/${SEG}(?:[-/]${SEG})*`, 'gu');

export function parseLegalBasis(raw: string): LegalBasis[] {
  let s = clean(raw);
  if (!s.startsWith(HEADER)) return [];
  s = s.slice(HEADER.length);
  const out: LegalBasis[] = [];
  let from = 0;
  for (const m of s.matchAll(NUMBER)) {
    const end = m.index + m[0].length;
    const next = s.slice(end, end + 2);
    // A row ends where the number is glued to the next title or ends the text; a number in
    // the middle of a title is followed by a space and lower case ("… ngày 12/6/2025"),
    // punctuation, or more of the same sentence.
    const rowEnd = end === s.length || /^[^\s,;.:)]/u.test(next) || /^\s\p{Lu}/u.test(next);
    // "Luật 60/2014/QH1360/2014/QH13": the title ends with the number the next cell repeats.
    const repeated = s.startsWith(m[0], end) || s.startsWith(m[0], end + 1);
    if (!rowEnd || repeated) continue;
    const rowText = s.slice(from, end);
    from = end;
    let number = m[0];
    // "Luật Khiếu nại năm 201102/2011/QH13": a year glued to the number belongs to the title.
    const glued = number.match(/^((?:19|20)\d{2})(\d{1,4}[a-z]?(?:\.\d+)?\/.*)$/);
    const year = number.match(/\/(\d{4})\//)?.[1];
    if (glued && (glued[1] === year || /năm\s*$/.test(rowText.slice(0, rowText.length - number.length)))) number = glued[2] ?? number;
    let title = clean(rowText.slice(0, rowText.length - number.length));
    // "…Bộ Tư phápThông tư số 03/2023/TT-BTP": the number cell carried a prefix; drop it.
    title = title.replace(/(?<=\p{Ll}|\))(?:Thông tư|Nghị định|Luật|Quyết định|Nghị quyết|Pháp lệnh)(?: số)?\s*$/u, '').trim();
    if (title.length === 0) title = number;
    out.push({ title, number });
  }
  const tail = clean(s.slice(from));
  if (tail.length > 0) out.push({ title: tail, number: null });
  return out;
}
