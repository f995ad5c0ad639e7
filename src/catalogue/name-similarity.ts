// How close two procedure names are, for the workbook import's name-mismatch report: a
// rewording ("Thủ tục đăng ký khai sinh" / "Đăng ký khai sinh") shares most syllables, while a
// record holding another procedure's page ("Khóa căn cước điện tử" / "Hỗ trợ phát triển sản
// xuất cộng đồng") shares almost none.
import { clean } from './text.js';

/** Words that open many names and say nothing about which procedure it is. */
const FILLER = new Set(['thủ', 'tục']);

function syllables(name: string): Set<string> {
  const words = clean(name)
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0 && !FILLER.has(w));
  return new Set(words);
}

/** Dice coefficient of the two names' syllable sets: 1 for the same words, 0 for none shared. */
export function nameSimilarity(a: string, b: string): number {
  const sa = syllables(a);
  const sb = syllables(b);
  if (sa.size === 0 && sb.size === 0) return 1;
  let common = 0;
  for (const w of sa) if (sb.has(w)) common++;
  return (2 * common) / (sa.size + sb.size);
}
