// Spelling repair of single misspelt syllables against the catalogue's own vocabulary, by
// Damerau–Levenshtein distance 1 through a precomputed deletion map (no per-query allocation of
// big structures). Only longer or malformed tokens are repaired: one typo often turns a syllable
// into another real one (bằng/đăng/bản), and there the syllable pairs do the work instead.
import { isVietnameseSyllable, type Token } from './normalize.js';

export interface VocabularyCorrector {
  /** A corrected token, or null when the token is known, short and valid, or has no close word. */
  correct(token: Token, prev: Token | undefined, next: Token | undefined): Token | null;
}

/** The folded form of one accented syllable (marks stripped, đ → d). */
function foldKey(acc: string): string {
  return acc.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/đ/g, 'd');
}

function deletes(word: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < word.length; i++) out.push(word.slice(0, i) + word.slice(i + 1));
  return out;
}

function withinOne(a: string, b: string): boolean {
  if (a === b) return true;
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > 1) return false;
  if (la === lb) {
    const diffs: number[] = [];
    for (let i = 0; i < la; i++) if (a[i] !== b[i]) diffs.push(i);
    if (diffs.length === 1) return true;
    const [x, y] = diffs;
    // Transposition of two adjacent letters.
    return diffs.length === 2 && x !== undefined && y === x + 1 && a[x] === b[y] && a[y] === b[x];
  }
  const [s, l] = la < lb ? [a, b] : [b, a];
  let i = 0;
  while (i < s.length && s[i] === l[i]) i++;
  return s.slice(i) === l.slice(i + 1);
}

/**
 * @param vocabulary folded word → how many procedures use it
 * @param bigrams folded "a b" pairs found in procedure titles (to choose between candidates)
 */
export function buildVocabularyCorrector(
  vocabulary: ReadonlyMap<string, number>,
  bigrams: ReadonlySet<string>,
  accentedBigrams?: ReadonlySet<string>,
  /** Words of the dictionary's phrases ("sđt", "ko"): never edited into a catalogue word. */
  protectedWords?: ReadonlySet<string>,
  /** Filler words (accented): their marks are never doubted ("có cần" is not "có căn"). */
  fillers?: ReadonlySet<string>,
): VocabularyCorrector {
  // A wrong mark turns a syllable into another real one ("tạm trụ" for "tạm trú"): when the
  // syllable with its neighbour forms a pair of the catalogue only without marks, the marks are
  // the typo, and the token is matched on its folded form.
  // Title pairs keyed by one side exact and the other folded: "tạm tru" → the catalogue has
  // "tạm" followed by some marking of "tru".
  const halfMarked = new Set<string>();
  for (const pair of accentedBigrams ?? []) {
    const [a = '', b = ''] = pair.split(' ');
    halfMarked.add(`${a} >${foldKey(b)}`);
    halfMarked.add(`${foldKey(a)}< ${b}`);
  }
  const misMarked = (t: Token, prev: Token | undefined, next: Token | undefined): boolean => {
    if (!accentedBigrams || !t.marked || fillers?.has(t.acc)) return false;
    const ok = (n: Token | undefined): n is Token => n !== undefined && n.marked && !fillers?.has(n.acc);
    // Any accented pair the catalogue knows: the marks are right.
    if ((prev && accentedBigrams.has(`${prev.acc} ${t.acc}`)) || (next && accentedBigrams.has(`${t.acc} ${next.acc}`))) return false;
    return (ok(prev) && halfMarked.has(`${prev.acc} >${t.fold}`)) || (ok(next) && halfMarked.has(`${t.fold}< ${next.acc}`));
  };
  const byDelete = new Map<string, string[]>();
  const push = (key: string, word: string): void => {
    const list = byDelete.get(key);
    if (list) {
      if (!list.includes(word)) list.push(word);
    } else byDelete.set(key, [word]);
  };
  for (const word of vocabulary.keys()) {
    if (word.length < 3 || /\d/.test(word)) continue;
    push(word, word);
    for (const d of deletes(word)) push(d, word);
  }
  return {
    correct(token, prev, next) {
      const f = token.fold;
      if (misMarked(token, prev, next)) return { acc: f, fold: f, marked: false, repaired: true };
      // Three letters leave too little to guess from ("alo" is not "lao").
      if (vocabulary.has(f) || /\d/.test(f) || f.length < 4 || protectedWords?.has(f)) return null;
      // Short valid syllables are left alone: "bằng" vs "đăng" is not ours to guess.
      if (f.length < 5 && isVietnameseSyllable(token.acc)) return null;
      const candidates = new Set<string>();
      for (const key of [f, ...deletes(f)]) {
        const list = byDelete.get(key);
        if (list) for (const w of list) if (withinOne(f, w)) candidates.add(w);
      }
      if (candidates.size === 0) return null;
      let best: string | null = null;
      let bestScore = -1;
      for (const w of candidates) {
        let s = Math.log1p(vocabulary.get(w) ?? 0);
        if (prev && bigrams.has(`${prev.fold} ${w}`)) s += 10;
        if (next && bigrams.has(`${w} ${next.fold}`)) s += 10;
        if (s > bestScore) {
          bestScore = s;
          best = w;
        }
      }
      if (best === null) return null;
      return { acc: best, fold: best, marked: false, repaired: true, guessed: true };
    },
  };
}
