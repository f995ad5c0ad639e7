// Parses the portal's flattened "Căn cứ pháp lý" table (can_cu_phap_ly):
//   "Tên văn bản pháp lýMã văn bản" + (title + number)…, e.g.
//   "…trong công an nhân dân68/2013/TT-BCALuật Khiếu nại  năm 201102/2011/QH13…"
// Titles contain numbers too ("Thông tư số 53/2025/TT-BCAngày 01/7/2025 của…"), so a number is
// only a candidate row end. The rows are chosen together (dynamic programming over the candidate
// numbers) so that each row end fits what follows it (the next title, not "ngày…" or ", …") and
// each row fits the table's habit of repeating a title's own number in the number column.
import type { LegalBasis } from './schema.js';
import { clean } from './text.js';

const HEADER = 'Tên văn bản pháp lýMã văn bản';

// Kinds and issuers seen in legal numbers; longest first so the alternation is greedy and
// "QH13" + "60/2014…" or "NĐ-CP" + "LUẬT…" split in the right place. "C" is the crawl's
// truncated "NĐ-C" (118/2025/NĐ-CQuy định…); one-letter kinds must not eat a title's first
// letter ("05/2007/QH12- Luật…").
const SEGMENTS = [
  'TTLT', 'NQLT', 'TTLB', 'UBTVQH\\d{2}', 'QH\\d{2}', 'PL', 'VBHN', 'NĐ', 'ND', 'TT', 'NQ', 'QĐ', 'QD', 'CT', 'CTN', 'L(?!\\p{Ll})', 'HD',
  'HĐ', 'TB', 'KH', 'TTg', 'CP', 'BTC', 'BTP', 'BCA', 'BQP', 'BNG', 'BNV', 'BYT', 'BCT', 'BXD', 'BGTVT', 'BTNMT', 'BNNMT',
  'BNNPTNT', 'BKHĐT', 'BKHCN', 'BKH', 'BLĐTBXH', 'BGDĐT', 'BTTTT', 'BVHTTDL', 'BDT', 'UBDT', 'NHNN', 'VPCP', 'VPQH', 'TANDTC',
  'VKSNDTC', 'UBND', 'HĐND', 'KTNN', 'HĐTP', 'HĐTĐ', 'BTCTW', 'TLĐ', 'TW', 'BCĐ', 'BT', 'BL', 'BKHDT', 'BGD', 'BNN', 'BTM',
  'BTS', 'BCN', 'BVHTT', 'BLĐ', 'UBCKNN', 'BHXH', 'CSXH', 'UBTƯMTTQVN', 'MTTQ', 'TCHQ', 'TCT', 'KBNN', 'BTTTTT', 'NV', 'C(?!\\p{Ll})',
].sort((a, b) => width(b) - width(a));

/** Letters a segment pattern matches, for the longest-first order. */
function width(segment: string): number {
  return segment.replace(/\\d\{2\}/, 'NN').replace(/\(\?!.*\)$/, '').length;
}

const SEG = `(?:${SEGMENTS.join('|')})`;
// "09/2023/QĐ - TTg", "31/2025/TT_BCA", "198/2016/TT/BTC": separators as typed.
const SEP = '\\s?[-–_/]\\s?';
// Full numbers, with or without the year ("2754/BHXH-CSXH", "90/QĐ-TTg"), and "21/2007/TT-BCA(X13)".
const FULL = `\\d+[a-z]?(?:\\.\\d+|\\.[a-z])?/(?:\\d{4}/)?${SEG}(?:${SEP}${SEG})*(?:\\([A-Z]\\d+\\))?`;
// Truncated number cells ("167/2025", "46/2020") only count at the end or glued to the next
// title; the lookbehind keeps dates ("12/6/2025") out.
// "ngày 26/01/202608/2026Luật…": also right after a date's year.
const SHORT = `(?:(?<![\\d/]|\\d\\.)|(?<=\\d/(?:19|20)\\d\\d))\\d+/\\d{4}(?=\\.?$|\\p{Lu})`;
// Numbers without a year in the old or the Party's style: "73-CP", "13-TB/TW".
const OLD = '(?<![\\d/]|\\d\\.)\\d+-(?:CP|TTg|HĐBT|(?:TB|KL|CT|NQ|QĐ)/TW)(?![\\p{Ll}\\d])';
// A number cell cut to "Luật số 58" glued after a title ("…Luật Đầu tư côngLuật số 58Luật Đất đai…").
const STUB = '(?<=\\p{Ll})(?:Luật|Nghị định|Thông tư|Quyết định|Nghị quyết) số \\d+(?=\\p{Lu}|$)';
const NUMBER = new RegExp(`${FULL}|${SHORT}|${OLD}|${STUB}`, 'gu');

// Words that open a title; a number cell sometimes carries one ("…tại Việt NamLuật 47/2014/QH13").
// "Luất" is a typo the portal carries.
const KIND = '(?:Văn bản hợp nhất|Thông tư liên tịch|Thông tư|Nghị định|Nghị quyết|Quyết định|Bộ luật|Luật|Luất|Pháp lệnh|Chỉ thị|Công văn|NĐ|TT|QĐ|NQ)';
// Glued to the title ("…Việt NamLuật", "…ĐẤTNghị định số", "…thực vậtsố") or after a space.
const CELL_PREFIX = new RegExp(`(?:(?<=\\S)\\s?(?:${KIND}(?:\\s?số)?|Số)|(?<=[\\p{L}.])số)\\s*$`, 'u');
const BARE_KIND = new RegExp(`^${KIND}(?:\\s?số)?$`, 'u');
// "Luật Nhà ở số ", "NGHỊ ĐỊNH ", "Thông tư liên tịch ": a kind and at most a few words.
const OPENS_WITH_KIND = new RegExp(`^${KIND}(?:\\s+[\\p{L}]+){0,4}?\\s*(?:số)?\\s*$`, 'iu');

// "TT-BTС" with a Cyrillic Es: look-alike letters typed into numbers.
const CYRILLIC: Readonly<Record<string, string>> = {
  А: 'A', В: 'B', Е: 'E', К: 'K', М: 'M', Н: 'H', О: 'O', Р: 'P', С: 'C', Т: 'T', Х: 'X', а: 'a', е: 'e', о: 'o', р: 'p', с: 'c', х: 'x',
};

interface Candidate {
  start: number;
  end: number;
  text: string;
  /** Score for ending a row here; null when what follows shows the number is inside a title. */
  split: number | null;
}

export function parseLegalBasis(raw: string): LegalBasis[] {
  const full = clean(raw).replace(/[\u0400-\u04FF]/g, (ch) => CYRILLIC[ch] ?? ch);
  if (!full.startsWith(HEADER)) return [];
  // The crawl sometimes runs on into the next section of the page.
  const s = full.slice(HEADER.length).replace(/Cơ quan thực hiện[\s\S]*$/, '');
  const cands: Candidate[] = [...s.matchAll(NUMBER)].map((m) => ({
    start: m.index,
    end: m.index + m[0].length,
    text: m[0],
    split: splitScore(s.slice(m.index + m[0].length)),
  }));

  // best[i + 1]: best score for s[0 .. cands[i].end) cut into rows, the last ending at cands[i].
  const NONE = Number.NEGATIVE_INFINITY;
  const best: number[] = [0];
  const back: number[] = [-1];
  for (let j = 0; j < cands.length; j++) {
    const c = cands[j];
    let top = NONE;
    let from = -1;
    if (c !== undefined && c.split !== null) {
      for (let i = -1; i < j; i++) {
        const prev = i < 0 ? 0 : (cands[i]?.end ?? 0);
        const base = best[i + 1] ?? NONE;
        if (base === NONE || prev > c.start) continue;
        // The same number twice in a row is one document whose title cell ends with its number.
        const again = i >= 0 && cands[i]?.text === c.text ? -1.5 : 0;
        const score = base + rowScore(s.slice(prev, c.start), c.text) + c.split + again;
        if (score > top) {
          top = score;
          from = i;
        }
      }
    }
    best.push(top);
    back.push(from);
  }
  // The text after the last row end is a row without a number.
  let last = -1;
  let total = NONE;
  for (let i = -1; i < cands.length; i++) {
    const base = best[i + 1] ?? NONE;
    if (base === NONE) continue;
    const tail = clean(s.slice(i < 0 ? 0 : (cands[i]?.end ?? 0)));
    const score = base + (tail.replace(/^[.;,\s]+/, '') === '' ? 0 : -2);
    if (score >= total) {
      total = score;
      last = i;
    }
  }

  const ends: number[] = [];
  for (let k = last; k >= 0; k = back[k + 1] ?? -1) ends.unshift(k);
  const out: LegalBasis[] = [];
  let prev = 0;
  for (const k of ends) {
    const c = cands[k];
    if (c === undefined) continue;
    out.push(toRow(s.slice(prev, c.start), c.text));
    prev = c.end;
  }
  const tail = tidyTitle(s.slice(prev).replace(/^[.;,\s]+/, ''));
  if (tail !== '') out.push({ title: halfIfDoubled(tail), number: null });
  return out;
}

/** How well a number fits as a row end, judged by the text that follows it. */
function splitScore(after: string): number | null {
  if (/^[\s.;,]*$/.test(after)) return 0;
  // "…TT-BCAngày 01/7/2025", "… NGÀY 10 THÁNG 01": the date belongs to the title.
  if (/^[\s.,;]*(?:ngày|NGÀY|Ngày)(?![\p{L}])/u.test(after)) return null;
  if (/^\p{Lu}/u.test(after)) return 3;
  // Another number: usually this one ends a title that cites it ("…của Thông tư số
  // 17/2015/TT-NHNN11/2025/TT-NHNN"), the next being the number cell.
  if (/^\d/.test(after)) return 0.5;
  if (/^\p{Ll}/u.test(after)) return 1.5;
  if (/^ \p{Lu}/u.test(after)) return 1;
  if (/^\.\s?[\p{Lu}\d]/u.test(after)) return 1;
  // "32/2025/TT-BXD- Nghị định số 261/2025…": a dash before the next title; but also
  // "Nghị định 12/2007/NĐ-CP - Quy định về…" inside one, which the row scores tell apart.
  if (/^\s?[-–]\s?\p{Lu}/u.test(after)) return 0.5;
  // ", ", " của…", " quy định…", ")": the number is cited inside the sentence.
  return null;
}

/** How plausible a row (title text, number) is. */
function rowScore(titleText: string, numberText: string): number {
  const { title, number, bare, repeated } = readRow(titleText, numberText);
  if (title === '') return Number.NEGATIVE_INFINITY;
  if (repeated) return 2;
  let score = 0;
  if (/^(?:ngày|số\s|\(|\)|[,;:.])/iu.test(title)) score -= 3;
  if (!/\p{L}/u.test(title)) score -= 1;
  // A title cut just after "số" has lost the number it cites; a title of only a kind
  // ("Nghị định" + "76/2012/NĐ-CP") is real but rare.
  if (/(?:^|\s)số$/iu.test(title)) score -= 2;
  else if (bare) score -= 0.5;
  // "Thông tư số 22/2023/TT-BCA22/2023/TT-BCA": the title names its own number.
  else if (mentions(title, number)) score += 2;
  return score;
}

function toRow(titleText: string, numberText: string): LegalBasis {
  const { title, number, bare } = readRow(titleText, numberText);
  // "Nghị định" + "76/2012/NĐ-CP": the title cell held only the kind of document.
  return { title: bare ? `${title} ${number}` : title, number };
}

interface Row {
  title: string;
  number: string;
  /** The title is only a kind of document ("Nghị định"). */
  bare: boolean;
  /** Both cells hold the number ("14/2025/TT-BNNMT" + "14/2025/TT-BNNMT"). */
  repeated: boolean;
}

function readRow(titleText: string, numberText: string): Row {
  let number = normNumber(numberText);
  let text = titleText;
  // "Luật Khiếu nại năm 201102/2011/QH13", "giai đoạn 2026 - 2030182/2025/NQ-HĐND": a year glued
  // to the number belongs to the title; real numbers do not run to five digits.
  // "ngày 15/5/2026.55/2026/TT-BTC": the same with a full stop between.
  // "118/2025/NĐ-C": a decree's number always ends "NĐ-CP"; the crawl cut the last letter.
  number = number.replace(/NĐ-C$/, 'NĐ-CP');
  const glued = number.match(/^((?:19|20)\d{2})\.?(\d{1,4}[a-z]?(?:\.\d+)?\/.*)$/);
  if (glued?.[1] !== undefined && glued[2] !== undefined) {
    text += glued[1];
    number = glued[2];
  }
  const title = tidyTitle(text);
  // "Nghị định số 167/2025/NĐ-CP ngày 30/6/2025 của Chính phủ" + "167/2025", "Luật số
  // 58/2024/QH15 của Quốc hội: …" + "Luật số 58": the number cell was cut short; the title
  // cites it whole.
  const cut = number.match(/^(?:\d+\/\d{4}|\D+ số (\d+))$/u);
  if (cut !== null) {
    const lead = cut[1] ?? number;
    const whole = [...title.matchAll(NUMBER)].map((m) => m[0]).find((n) => n.startsWith(`${lead}/`));
    if (whole !== undefined) number = normNumber(whole);
  }
  // "47/2019/TT-BTC" + "Thông tư 47/2019/TT-BTC", "61/2025/TT-NHNN" + "số 61/2025/TT-NHNN": the
  // columns hold the number and the kind with the number; the row is that document.
  if (title.startsWith(number)) {
    const rest = title.slice(number.length).trim();
    if (rest === '' || /^số$/i.test(rest) || BARE_KIND.test(rest)) {
      const kind = rest.replace(/\s?số$/i, '');
      return { title: kind === '' ? number : `${kind} ${number}`, number, bare: false, repeated: true };
    }
  }
  return { title, number, bare: BARE_KIND.test(title), repeated: false };
}

/** The title without the kind word a number cell sometimes opens with, nor trailing separators. */
function tidyTitle(text: string): string {
  let t = clean(text);
  t = t.replace(CELL_PREFIX, '').trim();
  // "Luật Giám định tư pháp số 13/2012/QH13 của Quốc hội…Việt NamLuật Giám định tư pháp số": the
  // number cell repeats the title's opening words up to "số".
  const glue = t.match(/(?<=\p{Ll})\p{Lu}[^\n]*\ssố$/u);
  if (glue !== null && glue.index !== undefined && glue.index > 0 && t.startsWith(glue[0])) t = t.slice(0, glue.index).trim();
  // "- Nghị định số 261/2025/NĐ-CP…": a dash left before a title.
  t = t.replace(/^[-–]\s*/, '').replace(/[\s;,]+$/, '').trim();
  // "Thông tư số 53/2025/TT-BCAngày 01/7/2025": the space the crawl lost.
  return t.replace(/(?<=\d\/\d{4}\/[\p{Lu}\d-]*\p{Lu})(?=ngày )/gu, ' ');
}

/**
 * Whether the title opens or ends with the number ("Nghị định số 167/2025/NĐ-CP ngày…" +
 * "167/2025", "Luật Nhà ở số 27/2023/QH15" + "27/2023/QH15"): the table's way of repeating a
 * document's own number. A number cited further in ("Sửa đổi Nghị định 30/2013/NĐ-CP…") proves
 * nothing.
 */
function mentions(title: string, number: string): boolean {
  const t = normNumber(title);
  const at = t.indexOf(number);
  if (at < 0) return false;
  // "Luật Nhà ở số 27/2023/QH15", not "Luật28/2023/QH1514/2025/TT-BNNMT".
  if (at + number.length === t.length) return /\p{L}\s?$/u.test(t.slice(0, at));
  return OPENS_WITH_KIND.test(t.slice(0, at));
}

/**
 * "09/2023/QĐ - TTg", "31/2025/TT_BCA", "198/2016/TT/BTC" → "09/2023/QĐ-TTg", "31/2025/TT-BCA",
 * "198/2016/TT-BTC"; the Party's "13-TB/TW" is written with its slash.
 */
function normNumber(s: string): string {
  return s.replace(/\s?[-–_]\s?/g, '-').replace(/(?<=\p{Lu})\/(?=\p{Lu})(?!TW(?!\p{L}))/gu, '-');
}

/** "BỘ LUẬT HÀNG HẢI VIỆT NAMBỘ LUẬT HÀNG HẢI VIỆT NAM": the title repeated in the number column. */
function halfIfDoubled(t: string): string {
  const half = t.length / 2;
  return Number.isInteger(half) && t.slice(0, half) === t.slice(half) ? t.slice(0, half).trim() : t;
}
