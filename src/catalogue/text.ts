// Small text helpers shared by the portal parsers: NFC, whitespace, the portal's "no data" marks.

/** NFC plus the whitespace the crawl leaves: NBSP, zero-width marks, runs of spaces and tabs. */
export function clean(s: string): string {
  return s
    .normalize('NFC')
    .replace(/[\u200B-\u200F\u2060\uFEFF]/g, '')
    .replace(/\u00A0/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

const NO_DATA = /^(không có thông tin|không có|không|-+|\.+)$/i;

/** Empty strings and the portal's "Không có thông tin" become null. */
export function orNull(s: string): string | null {
  const c = clean(s);
  if (c === '' || NO_DATA.test(c)) return null;
  return c;
}

/** Splits on commas that are not inside parentheses ("Tổ chức (không bao gồm doanh nghiệp, HTX)"). */
export function splitTopLevelCommas(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')' && depth > 0) depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x.length > 0);
}
