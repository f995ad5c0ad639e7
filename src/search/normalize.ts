// Vietnamese text normalisation shared by the index and the query side: NFC, lower case, one
// tone-placement spelling, a folded (unmarked) twin of every syllable, and the repair of Telex /
// VNI keystrokes left in text typed without an input method. Both sides of the search go through
// the same functions, so a procedure name and a citizen's question meet in the same form.
// Dictionary-driven steps (abbreviations, synonyms, stop phrases, aspects) live in query-analyzer.ts.

/** One syllable (or other word-like token) of a text. */
export interface Token {
  /** NFC, lower case, canonical tone placement. */
  acc: string;
  /** Marks stripped, đ → d. */
  fold: string;
  /** The token carries Vietnamese marks (acc differs from fold). */
  marked: boolean;
  /** The token was rebuilt from Telex / VNI residue. */
  repaired: boolean;
  /** The token was replaced by a close catalogue word (edit distance): a guess. */
  guessed?: boolean;
}

// Combining tone marks (NFD): huyền, sắc, hỏi, ngã, nặng.
const TONE_MARKS = ['\u0300', '\u0301', '\u0309', '\u0303', '\u0323'] as const;
const TONE_RE = /[\u0300\u0301\u0309\u0303\u0323]/g;
const BASE_VOWELS = 'aăâeêioôơuưy';
// Vowels that carry a modifier attract the tone (ơ before â/ê/ô/ă before ư).
const MODIFIED_PRIORITY = ['ơ', 'ê', 'â', 'ă', 'ô', 'ư'];

/** Strips every mark and maps đ to d: "Đăng ký" → "dang ky". */
export function foldMarks(text: string): string {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/đ/g, 'd').replace(/Đ/g, 'D');
}

/** NFC and lower case. */
export function nfcLower(text: string): string {
  return text.normalize('NFC').toLowerCase();
}

function splitTone(syllable: string): { bare: string; tone: string | null } {
  const nfd = syllable.normalize('NFD');
  const found = nfd.match(TONE_RE);
  const tone = found && found.length > 0 ? (found[found.length - 1] ?? null) : null;
  return { bare: nfd.replace(TONE_RE, '').normalize('NFC'), tone };
}

/**
 * Index of the vowel that carries the tone in a bare (toneless, lower-case) syllable, by the
 * traditional rule the portal uses ("hòa", "thúy", "khỏe"): a modified vowel wins; otherwise the
 * last vowel when a final consonant follows; otherwise the first of two / the middle of three.
 * "qu" and "gi" + vowel count as onsets. Returns -1 when there is no vowel.
 */
function toneIndex(bare: string): number {
  let start = 0;
  while (start < bare.length && !BASE_VOWELS.includes(bare[start] ?? '')) start++;
  if (start >= bare.length) return -1;
  let end = start;
  while (end < bare.length && BASE_VOWELS.includes(bare[end] ?? '')) end++;
  // qu-, gi- onsets: the u / i belongs to the onset when another vowel follows.
  const prev = start > 0 ? bare[start - 1] : '';
  if (end - start >= 2 && ((prev === 'q' && bare[start] === 'u') || (prev === 'g' && bare[start] === 'i'))) start++;
  const cluster = bare.slice(start, end);
  for (const v of MODIFIED_PRIORITY) {
    // "ươ": the tone goes on ơ; "ưa", "ưu": on ư (ơ absent, ư is the only modified vowel).
    const at = cluster.lastIndexOf(v);
    if (at >= 0) return start + at;
  }
  const hasCoda = end < bare.length;
  if (cluster.length === 1) return start;
  if (hasCoda) return end - 1;
  if (cluster.length === 2) return start;
  return start + 1;
}

/** Puts the tone mark of one syllable on its canonical vowel: "hoà" → "hòa", "thuý" → "thúy". */
export function canonicalTone(syllable: string): string {
  const { bare, tone } = splitTone(syllable);
  if (tone === null) return syllable.normalize('NFC');
  const at = toneIndex(bare);
  if (at < 0) return syllable.normalize('NFC');
  return (bare.slice(0, at) + (bare[at] ?? '') + tone).normalize('NFC') + bare.slice(at + 1);
}

// Folded vowel nuclei (with their glides) that occur in Vietnamese syllables.
const NUCLEI = new Set(
  ('a e i o u y ai ao au ay eo eu ia ie iu oa oai oay oe oi oo ua ue ui uo uoi uou uu uy uya uye uyu ' +
    'ye yeu ieu oao oeo uay uai ue uao').split(' '),
);
const SYLLABLE_RE = /^(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnpqrstvx])?([aeiouy]+)(ch|ng|nh|[cmnpt])?$/;

/**
 * True when the token could be a Vietnamese syllable: a known onset, a known vowel nucleus, a
 * known final, at most one tone mark, and đ only as onset. Used to decide whether a token may be
 * Telex / VNI residue (only tokens that are not syllables are repaired: "trên" must stay "trên").
 */
export function isVietnameseSyllable(token: string): boolean {
  const acc = nfcLower(token);
  const nfd = acc.normalize('NFD');
  const tones = nfd.match(TONE_RE);
  if (tones && tones.length > 1) return false;
  if (acc.includes('đ') && !acc.startsWith('đ')) return false;
  const f = foldMarks(acc);
  const m = SYLLABLE_RE.exec(f);
  if (!m) return false;
  let nucleus = m[2] ?? '';
  const onset = m[1] ?? '';
  // "gi" + nothing else: "gì"; "qu" requires a vowel after it.
  if (onset === 'gi' && nucleus === '') return true;
  if (!NUCLEI.has(nucleus)) {
    // "gia", "giu": the i of gi- may be doubled in the regex split ("giê" → gi + e).
    if (onset === 'qu' && NUCLEI.has('u' + nucleus)) nucleus = 'u' + nucleus;
    else return false;
  }
  return true;
}

const TELEX_TONES: Record<string, string> = { s: '\u0301', f: '\u0300', r: '\u0309', x: '\u0303', j: '\u0323' };
const VNI_TONES: Record<string, string> = { '1': '\u0301', '2': '\u0300', '3': '\u0309', '4': '\u0303', '5': '\u0323' };

function applyTone(bare: string, tone: string | null): string {
  if (tone === null) return bare;
  const at = toneIndex(bare);
  if (at < 0) return bare;
  return (bare.slice(0, at) + (bare[at] ?? '') + tone).normalize('NFC') + bare.slice(at + 1);
}

/** Decodes Telex keystrokes ("ddawngs" → "đắng", "sinhf" → "sình"); null when nothing to decode. */
function decodeTelex(raw: string): string | null {
  let s = raw;
  let tone: string | null = null;
  // Tone keys: s f r x j after the first vowel cannot belong to a syllable (no such finals).
  const firstVowel = s.search(/[aeiouy]/);
  if (firstVowel < 0) return null;
  let body = s.slice(0, firstVowel + 1);
  for (const ch of s.slice(firstVowel + 1)) {
    const t = TELEX_TONES[ch];
    if (t !== undefined) tone = t;
    else if (ch === 'z') tone = null;
    else body += ch;
  }
  s = body
    .replace(/^dd/, 'đ')
    .replace(/uow/, 'ươ')
    .replace(/aa/, 'â')
    .replace(/ee/, 'ê')
    .replace(/oo/, 'ô')
    .replace(/aw/, 'ă')
    .replace(/ow/, 'ơ')
    .replace(/uw/, 'ư')
    .replace(/w/, 'ư');
  if (s === raw && tone === null) return null;
  return applyTone(s, tone);
}

/** Decodes VNI keystrokes ("ky1" → "ký", "d9ang8" → "đăng"); null when there are no VNI digits. */
function decodeVni(raw: string): string | null {
  if (!/^[a-z]+[0-9][a-z0-9]*$/.test(raw) || !/[a-z]/.test(raw)) return null;
  let tone: string | null = null;
  let out = '';
  for (const ch of raw) {
    const t = VNI_TONES[ch];
    if (t !== undefined) {
      tone = t;
      continue;
    }
    if (ch === '0') {
      tone = null;
      continue;
    }
    if (ch === '6') out = replaceLast(out, /[aeo](?=[^aeo]*$)/, { a: 'â', e: 'ê', o: 'ô' });
    else if (ch === '7') out = out.includes('uo') ? out.replace('uo', 'ươ') : replaceLast(out, /[ou](?=[^ou]*$)/, { o: 'ơ', u: 'ư' });
    else if (ch === '8') out = replaceLast(out, /a(?=[^a]*$)/, { a: 'ă' });
    else if (ch === '9') out = out.replace(/^d/, 'đ');
    else if (/[0-9]/.test(ch)) return null;
    else out += ch;
  }
  return applyTone(out, tone);
}

function replaceLast(s: string, re: RegExp, map: Record<string, string>): string {
  return s.replace(re, (c) => map[c] ?? c);
}

/**
 * Recovers the intended syllable from Telex / VNI residue, but only in a token that is not
 * already a Vietnamese syllable and only when the decoded form is one. Otherwise returns null.
 */
export function repairTypingResidue(token: string): string | null {
  const t = nfcLower(token);
  if (isVietnameseSyllable(t)) return null;
  if (!/^[a-z0-9]+$/.test(t) || /^[0-9]+$/.test(t)) return null;
  for (const decoded of [decodeVni(t), decodeTelex(t)]) {
    if (decoded !== null && decoded !== t && isVietnameseSyllable(decoded)) return decoded;
  }
  return null;
}

/** Input beyond this many characters is ignored: a question is not an essay. */
export const MAX_QUERY_CHARS = 500;

/**
 * Splits a text into normalised tokens: NFC, lower case, canonical tone placement, a folded twin,
 * Telex / VNI residue repaired. Punctuation, emoji and symbols separate tokens and are dropped.
 */
export function tokenize(text: string, maxChars = Number.POSITIVE_INFINITY): Token[] {
  const src = nfcLower(text.length > maxChars ? text.slice(0, maxChars) : text);
  const out: Token[] = [];
  for (const m of src.matchAll(/[\p{L}\p{M}\p{N}]+/gu)) out.push(normalizeWord(m[0]));
  return out;
}

// Words repeat endlessly (catalogue and questions alike): memoise their normal form. Bounded so
// a stream of junk input cannot grow it without limit.
const wordCache = new Map<string, Token>();
const WORD_CACHE_MAX = 100_000;

function normalizeWord(word: string): Token {
  const hit = wordCache.get(word);
  if (hit) return hit;
  const raw = word.normalize('NFC');
  const fixed = repairTypingResidue(raw);
  const acc = canonicalTone(fixed ?? raw);
  const fold = foldMarks(acc);
  const token: Token = Object.freeze({ acc, fold, marked: acc !== fold, repaired: fixed !== null });
  if (wordCache.size >= WORD_CACHE_MAX) wordCache.clear();
  wordCache.set(word, token);
  return token;
}
