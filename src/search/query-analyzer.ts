// Turns a citizen's question into what the ranker matches: content "concepts" (a word, or a
// synonym with the catalogue's wording and the citizen's own wording as alternatives), the
// aspects asked about (fee, time, documents …), and whether the question was typed with marks.
// Dictionary phrases are matched on the accented form of a token when it carries marks and on
// the folded form otherwise, so "hỏi" is never mistaken for "hội" but "cho em hoi" still goes.
// A letter is split into sentences: the story around the question and a condition clause before
// "thì" weigh less than the request; personal details (numbers, e-mails, names) are not content.
import type { Aspect } from './types.js';
import type { CompiledPhrase, Dictionary } from './dictionary.js';
import { MAX_QUERY_CHARS, tokenize, type Token } from './normalize.js';

/** A unit of meaning in the question. The first alternative is the catalogue's wording. */
export interface Concept {
  alts: Token[][];
  /** How many leading alternatives are the catalogue's wording (the rest: the citizen's own). */
  canonical: number;
  /** Function word kept for matching but not counted in coverage. */
  weak: boolean;
  /**
   * How much the concept counts (1 = the request itself). The story around a question in a
   * letter, and a condition clause before "thì", count less.
   */
  weight: number;
  /** Sentence of the question the concept comes from (syllable pairs do not cross sentences). */
  sentence: number;
}

export interface AnalyzedQuery {
  /** The question's tokens after abbreviation expansion and spelling repair (before removals). */
  tokens: Token[];
  concepts: Concept[];
  aspects: Aspect[];
  /** The question was typed with Vietnamese marks (most syllables carry them). */
  marked: boolean;
}

/** Which single words are fillers, decided by the index from the catalogue's vocabulary. */
export interface FillerPolicy {
  /** Dropped entirely (keyed by accented form; by folded form when the token has no marks). */
  dropAcc: ReadonlySet<string>;
  dropFold: ReadonlySet<string>;
  /** Kept for matching, not counted in coverage. */
  weakAcc: ReadonlySet<string>;
  weakFold: ReadonlySet<string>;
  /** Whether a folded word occurs in the catalogue at all (unknown proper names are details). */
  known?: (fold: string) => boolean;
}

/** Optional spelling correction of one token against the catalogue's vocabulary. */
export type TokenCorrector = (token: Token, prev: Token | undefined, next: Token | undefined) => Token | null;

type PhraseKind = 'synonym' | 'aspect' | 'stop';
interface PhraseEntry {
  kind: PhraseKind;
  phrase: CompiledPhrase;
  /** Index into dict.synonyms or the aspect name. */
  synonym?: number;
  aspect?: Aspect;
}

/** Precompiled phrase lookup, keyed by the folded first token. */
export interface PhraseTable {
  byFirst: Map<string, PhraseEntry[]>;
  /** Every folded syllable of a dictionary phrase: never "corrected" into another word. */
  words: Set<string>;
}

const KIND_RANK: Record<PhraseKind, number> = { synonym: 0, aspect: 1, stop: 2 };

export function buildPhraseTable(dict: Dictionary): PhraseTable {
  const byFirst = new Map<string, PhraseEntry[]>();
  const words = new Set<string>();
  const add = (e: PhraseEntry): void => {
    for (const w of e.phrase.fold) words.add(w);
    const first = e.phrase.fold[0];
    if (first === undefined) return;
    const list = byFirst.get(first) ?? [];
    list.push(e);
    byFirst.set(first, list);
  };
  dict.synonyms.forEach((s, i) => s.from.forEach((p) => add({ kind: 'synonym', phrase: p, synonym: i })));
  for (const a of dict.aspects) for (const p of a.phrases) add({ kind: 'aspect', phrase: p, aspect: a.aspect });
  for (const p of dict.stopPhrases) add({ kind: 'stop', phrase: p });
  for (const list of byFirst.values()) {
    list.sort((x, y) => y.phrase.fold.length - x.phrase.fold.length || KIND_RANK[x.kind] - KIND_RANK[y.kind]);
  }
  return { byFirst, words };
}

/** A question token matches a dictionary word: on marks when the token has them, else folded. */
export function tokenMatches(t: Token, acc: string, fold: string): boolean {
  return t.marked ? t.acc === acc : t.fold === fold;
}

export function phraseAt(tokens: readonly Token[], i: number, p: CompiledPhrase): boolean {
  if (i + p.fold.length > tokens.length) return false;
  for (let j = 0; j < p.fold.length; j++) {
    const t = tokens[i + j];
    if (!t || !tokenMatches(t, p.acc[j] ?? '', p.fold[j] ?? '')) return false;
  }
  return true;
}

/** True when the phrase occurs anywhere in the tokens. */
export function containsPhrase(tokens: readonly Token[], p: CompiledPhrase): boolean {
  for (let i = 0; i + p.fold.length <= tokens.length; i++) if (phraseAt(tokens, i, p)) return true;
  return false;
}

/** Where the phrases (keyed by their first folded syllable) occur: [start, end) token spans. */
export function findSpans(tokens: readonly Token[], byFirst: ReadonlyMap<string, readonly CompiledPhrase[]>): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  tokens.forEach((t, i) => {
    for (const p of byFirst.get(t.fold) ?? []) if (phraseAt(tokens, i, p)) spans.push([i, i + p.fold.length]);
  });
  return spans;
}

/**
 * True when the phrase occurs and that occurrence is not just a part of a longer compound
 * ("dịch" inside "dịch vụ", "nhà" inside "nhà nước").
 */
export function containsWholePhrase(tokens: readonly Token[], p: CompiledPhrase, compounds: ReadonlyArray<readonly [number, number]>): boolean {
  const len = p.fold.length;
  for (let i = 0; i + len <= tokens.length; i++) {
    if (!phraseAt(tokens, i, p)) continue;
    // Indexed loop, no destructuring: this runs per trigger × occurrence × compound, and array
    // destructuring goes through the iterator protocol (garbage on every call).
    let inside = false;
    for (let k = 0; k < compounds.length && !inside; k++) {
      const span = compounds[k];
      if (!span) continue;
      const a = span[0];
      const b = span[1];
      inside = a <= i && i + len <= b && b - a > len;
    }
    if (!inside) return true;
  }
  return false;
}

/** Weight of the story sentences of a letter, and of a condition clause, against the request. */
export const STORY_WEIGHT = 0.5;
export const CONDITION_WEIGHT = 0.6;

// Sentence ends: . ! ? ; … followed by a space, or a line break ("TP.HCM" stays whole).
const SENTENCE_SPLIT = /(?<=[.!?;…])\s+|[\r\n]+/u;
const WORD_RE = /[\p{L}\p{M}\p{N}]+/gu;
// Title case: an upper-case letter then lower-case ones ("Lan"; not "UBND", not "VNeID").
const PROPER_RE = /^\p{Lu}[\p{Ll}\p{M}]+$/u;
// Personal details carry no meaning for the search: e-mail addresses, links.
const NOISE_RE = /\S+@\S+|https?:\/\/\S+|www\.\S+/giu;
// Per-token tests, compiled once (a regex literal in a loop builds a new RegExp object on every
// evaluation). None has the g or y flag, so test() keeps no state between calls.
const QUESTION_END_RE = /\?\s*$/u;
const LETTER_RE = /\p{L}/u;
const LETTER_OR_DIGIT_RE = /[\p{L}\p{N}]/u;
const DIGITS_RE = /^\d+$/;

/** Analyses one question. Never throws: any input yields a (possibly empty) analysis. */
export function analyzeQuery(
  text: string,
  dict: Dictionary,
  table: PhraseTable,
  fillers: FillerPolicy,
  correct?: TokenCorrector,
): AnalyzedQuery {
  const clean = (text.length > MAX_QUERY_CHARS ? text.slice(0, MAX_QUERY_CHARS) : text).replace(NOISE_RE, ' ');
  const sentences: Array<{ tokens: Token[]; question: boolean; isName: boolean[] }> = [];
  for (const raw of clean.split(SENTENCE_SPLIT)) {
    // A capitalised word inside a sentence ("Lan", "Nghệ An") that the catalogue does not know is
    // a person's or place's name: a detail, not content.
    const words = [...raw.normalize('NFC').matchAll(WORD_RE)].map((m) => m[0]);
    const toks: Token[] = [];
    const isName: boolean[] = [];
    const base = tokenize(raw);
    base.forEach((t, wi) => {
      const w = words[wi] ?? '';
      // Unknown to the catalogue, or introduced as a name ("tên Lan", "là Mai"), or following one.
      const prev = base[wi - 1]?.fold;
      const introduced = prev === 'ten' || prev === 'la' || isName[isName.length - 1] === true;
      if (wi > 0 && PROPER_RE.test(w) && fillers.known && (introduced || !fillers.known(t.fold)) && !dict.abbreviationsFolded.has(t.fold)) {
        toks.push(t);
        isName.push(true);
        return;
      }
      // An abbreviation expands to its phrase (looked up by accented form when marked).
      const exp = t.marked ? dict.abbreviations.get(t.acc) : dict.abbreviationsFolded.get(t.fold);
      if (exp) {
        for (let k = 0; k < exp.length; k++) {
          const e = exp[k];
          if (!e) continue;
          toks.push(e);
          isName.push(false);
        }
      } else {
        toks.push(t);
        isName.push(false);
      }
    });
    if (toks.length === 0) continue;
    if (correct) {
      const before = [...toks];
      for (let k = 0; k < toks.length; k++) {
        const t = before[k];
        if (t && !isName[k]) toks[k] = correct(t, before[k - 1], before[k + 1]) ?? t;
      }
    }
    const last = toks[toks.length - 1]?.fold;
    const question =
      QUESTION_END_RE.test(raw) || last === 'khong' || last === 'chua' || dict.questionMarkers.some((m) => containsPhrase(toks, m));
    sentences.push({ tokens: toks, question, isName });
  }
  const tokens = sentences.flatMap((x) => x.tokens);
  const letterTokens = tokens.filter((t) => LETTER_RE.test(t.fold));
  const markedCount = letterTokens.filter((t) => t.marked).length;
  const marked = markedCount > 0 && markedCount >= 0.25 * letterTokens.length;

  const concepts: Concept[] = [];
  const aspects: Aspect[] = [];
  sentences.forEach((sentence, si) => {
    const toks = sentence.tokens;
    const first = concepts.length;
    let condition = -1; // concepts before this index sit in a condition clause
    let i = 0;
    while (i < toks.length) {
        const t = toks[i];
      if (!t) break;
      let marker: CompiledPhrase | undefined;
      for (const m of dict.conditionMarkers) {
        if (phraseAt(toks, i, m)) {
          marker = m;
          break;
        }
      }
      if (marker) {
        condition = concepts.length;
        i += marker.fold.length;
        continue;
      }
      const entries = table.byFirst.get(t.fold);
      let hit: PhraseEntry | undefined;
      if (entries) {
        hit = entries.find((e) => {
          if (!phraseAt(toks, i, e.phrase)) return false;
          const syn = e.kind === 'synonym' && e.synonym !== undefined ? dict.synonyms[e.synonym] : undefined;
          const end = i + e.phrase.fold.length;
          return !syn || !syn.notBefore.some((nb) => phraseAt(toks, end, nb));
        });
      }
      if (hit) {
        const len = hit.phrase.fold.length;
        if (hit.kind === 'synonym' && hit.synonym !== undefined) {
          const syn = dict.synonyms[hit.synonym];
          const own = toks.slice(i, i + len);
          if (syn) concepts.push({ alts: [...syn.to, own], canonical: syn.to.length, weak: false, weight: 1, sentence: si });
        } else if (hit.kind === 'aspect' && hit.aspect !== undefined) {
          if (!aspects.includes(hit.aspect)) aspects.push(hit.aspect);
        }
        i += len;
        continue;
      }
      const name = sentence.isName[i] === true;
      i++;
      if (!LETTER_OR_DIGIT_RE.test(t.fold)) continue;
      const drop = t.marked ? fillers.dropAcc.has(t.acc) : fillers.dropFold.has(t.fold);
      if (drop) continue;
      // Bare numbers (phone, ID, dates, amounts) are details, not names of procedures.
      const weak = (t.marked ? fillers.weakAcc.has(t.acc) : fillers.weakFold.has(t.fold)) || DIGITS_RE.test(t.fold) || name;
      concepts.push({ alts: [[t]], canonical: 1, weak, weight: 1, sentence: si });
    }
    // "A thì B": B is the request when it has content of its own.
    const hasContent = (from: number, to: number): boolean => concepts.slice(from, to).some((c) => !c.weak);
    if (condition > first && hasContent(first, condition) && hasContent(condition, concepts.length)) {
      for (let k = first; k < condition; k++) {
        const c = concepts[k];
        if (c) c.weight = CONDITION_WEIGHT;
      }
    }
  });
  // A letter: the sentences that ask weigh more than the story around them.
  const contentSentences = new Set(concepts.filter((c) => !c.weak).map((c) => c.sentence));
  const asking = [...contentSentences].filter((si) => sentences[si]?.question);
  if (asking.length > 0 && asking.length < contentSentences.size) {
    for (const c of concepts) if (!sentences[c.sentence]?.question) c.weight *= STORY_WEIGHT;
  }
  return { tokens, concepts, aspects, marked };
}
