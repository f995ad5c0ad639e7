// Turns a citizen's question into what the ranker matches: content "concepts" (a word, or a
// synonym with the catalogue's wording and the citizen's own wording as alternatives), the
// aspects asked about (fee, time, documents …), and whether the question was typed with marks.
// Dictionary phrases are matched on the accented form of a token when it carries marks and on
// the folded form otherwise, so "hỏi" is never mistaken for "hội" but "cho em hoi" still goes.
import type { Aspect } from './types.js';
import type { CompiledPhrase, Dictionary } from './dictionary.js';
import { MAX_QUERY_CHARS, tokenize, type Token } from './normalize.js';

/** A unit of meaning in the question. The first alternative is the catalogue's wording. */
export interface Concept {
  alts: Token[][];
  /** Function word kept for matching but not counted in coverage. */
  weak: boolean;
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
}

const KIND_RANK: Record<PhraseKind, number> = { synonym: 0, aspect: 1, stop: 2 };

export function buildPhraseTable(dict: Dictionary): PhraseTable {
  const byFirst = new Map<string, PhraseEntry[]>();
  const add = (e: PhraseEntry): void => {
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
  return { byFirst };
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

function expandAbbreviations(tokens: readonly Token[], dict: Dictionary): Token[] {
  const out: Token[] = [];
  for (const t of tokens) {
    const exp = t.marked ? dict.abbreviations.get(t.acc) : dict.abbreviationsFolded.get(t.fold);
    if (exp) out.push(...exp);
    else out.push(t);
  }
  return out;
}

/** Analyses one question. Never throws: any input yields a (possibly empty) analysis. */
export function analyzeQuery(
  text: string,
  dict: Dictionary,
  table: PhraseTable,
  fillers: FillerPolicy,
  correct?: TokenCorrector,
): AnalyzedQuery {
  let tokens = expandAbbreviations(tokenize(text, MAX_QUERY_CHARS), dict);
  if (correct) {
    tokens = tokens.map((t, i) => correct(t, tokens[i - 1], tokens[i + 1]) ?? t);
  }
  const letterTokens = tokens.filter((t) => /\p{L}/u.test(t.fold));
  const markedCount = letterTokens.filter((t) => t.marked).length;
  const marked = markedCount > 0 && markedCount >= 0.25 * letterTokens.length;

  const concepts: Concept[] = [];
  const aspects: Aspect[] = [];
  let i = 0;
  while (i < tokens.length) {
    const t = tokens[i];
    if (!t) break;
    const entries = table.byFirst.get(t.fold);
    let hit: PhraseEntry | undefined;
    if (entries) hit = entries.find((e) => phraseAt(tokens, i, e.phrase));
    if (hit) {
      const len = hit.phrase.fold.length;
      if (hit.kind === 'synonym' && hit.synonym !== undefined) {
        const syn = dict.synonyms[hit.synonym];
        const own = tokens.slice(i, i + len);
        if (syn) concepts.push({ alts: [syn.to, own], weak: false });
      } else if (hit.kind === 'aspect' && hit.aspect !== undefined) {
        if (!aspects.includes(hit.aspect)) aspects.push(hit.aspect);
      }
      i += len;
      continue;
    }
    i++;
    if (!/[\p{L}\p{N}]/u.test(t.fold)) continue;
    const drop = t.marked ? fillers.dropAcc.has(t.acc) : fillers.dropFold.has(t.fold);
    if (drop) continue;
    const weak = t.marked ? fillers.weakAcc.has(t.acc) : fillers.weakFold.has(t.fold);
    concepts.push({ alts: [[t]], weak });
  }
  return { tokens, concepts, aspects, marked };
}
