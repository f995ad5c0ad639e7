// The procedure search: builds an in-memory index over the catalogue and answers questions.
// Recall: BM25F over folded syllables and syllable pairs (plus their accented twins when the
// question has marks), fields weighted aliases > name > field > documents. Rerank of the short
// list: coverage of the question's content, of its syllable pairs, how much of the procedure's
// name the question explains (prefers the general procedure), commune-level first, a penalty for
// special variants the question does not name and a bonus for those it names (strong triggers
// overrule weak ones: "hết hạn" beats "làm lại"). Confidence → answer / choices / none; a
// question understood only through guessed spellings is never answered directly.
// Everything heavy is precomputed at build time (postings in two flat typed arrays, title
// weights); a query touches postings and ~60 candidates.
import type { CatalogueProcedure } from '../catalogue/schema.js';
import type { CompiledPhrase } from './dictionary.js';
import {
  containsPhrase,
  containsWholePhrase,
  findSpans,
  analyzeQuery,
  buildPhraseTable,
  type AnalyzedQuery,
  type Concept,
  type FillerPolicy,
} from './query-analyzer.js';
import { loadDictionary, type Dictionary } from './dictionary.js';
import { buildVocabularyCorrector } from './fuzzy.js';
import { foldMarks, tokenize, type Token } from './normalize.js';
import type { SearchHit, SearchOptions, SearchOutcome, SearchResult, Searcher } from './types.js';

export type { Searcher, SearchResult, SearchHit, SearchOptions, SearchOutcome, Aspect } from './types.js';

export interface SearchIndexOptions {
  /** Defaults to procedures/dictionary.yaml. */
  dictionary?: Dictionary;
  /** Rank procedures handled by the commune first (default true: the bot serves communes). */
  communeFirst?: boolean;
  /** Debug hook (bench --explain): the reranked shortlist of each query, best first. */
  explain?: (query: string, rows: ExplainRow[]) => void;
}

export interface ExplainRow {
  code: string;
  score: number;
  rank: number;
  qcov: number;
  bcov: number;
  dcov: number;
  penalty: number;
  bm25: number;
}

/** Thresholds of the confidence model, tuned on the dev questions (see bench/). */
export const CONFIDENCE = {
  /** Share of the question's content the best procedure must explain for a direct answer. */
  answerCoverage: 0.7,
  answerScore: 0.6,
  /** Lead over the second candidate required for a direct answer. */
  answerMargin: 0.04,
  /** Below this, no candidate is offered as a choice (results are still returned). */
  choicesScore: 0.45,
} as const;

const FIELD_WEIGHTS = { alias: 3, name: 2, field: 0.6, documents: 0.25 } as const;
type FieldName = keyof typeof FIELD_WEIGHTS;
const FIELD_NAMES: readonly FieldName[] = ['alias', 'name', 'field', 'documents'];
const K1 = 1.2;
const B = 0.75;
const SHORTLIST = 60;
const MAX_DOCUMENT_TOKENS = 200;

interface DocInfo {
  code: string;
  name: string;
  /**
   * Title = name + aliases: folded / accented unigrams and folded bigrams, as distinct ids
   * (foldIds / accIds / bigramIds). The rerank stamps them into scratch arrays and then tests a
   * question's words with one typed-array read each: string-set lookups per (candidate × word)
   * were most of a long question's time.
   */
  titleFold: Int32Array;
  titleAcc: Int32Array;
  titleBigrams: Int32Array;
  fieldFold: Int32Array;
  /** Each title (name, aliases) as folded word ids, for "how much of the name is explained". */
  titles: Int32Array[];
  /** Rarity weight of each title word, and each title's total (filled once titleDf is known). */
  titleWeights: Float64Array[];
  titleDens: Float64Array;
  variants: number[];
  commune: number;
}

const BOUNDARY: Token = Object.freeze({ acc: '|', fold: '|', marked: false, repaired: false });

interface TriggerEntry {
  variant: number;
  phrase: CompiledPhrase;
  weak: boolean;
}

/**
 * Open-addressing hash table from a pair of dense word ids to an id, in three typed arrays: a
 * question's syllable pairs are looked up without building a string per pair.
 */
interface PairTable {
  mask: number;
  first: Int32Array;
  second: Int32Array;
  value: Int32Array;
}

function pairHash(x: number, y: number): number {
  return Math.imul(x, 0x9e3779b1) ^ Math.imul(y + 0x7f4a7c15, 0x85ebca6b);
}

/** entries: flat [x, y, value] triples, x and y ≥ 0, each (x, y) at most once. */
function buildPairTable(entries: readonly number[]): PairTable {
  const n = entries.length / 3;
  let cap = 8;
  while (cap < 2 * n) cap *= 2;
  const table: PairTable = { mask: cap - 1, first: new Int32Array(cap).fill(-1), second: new Int32Array(cap), value: new Int32Array(cap) };
  for (let e = 0; e + 2 < entries.length; e += 3) {
    const x = entries[e] ?? 0;
    const y = entries[e + 1] ?? 0;
    let h = pairHash(x, y) & table.mask;
    while (table.first[h] !== -1) h = (h + 1) & table.mask;
    table.first[h] = x;
    table.second[h] = y;
    table.value[h] = entries[e + 2] ?? 0;
  }
  return table;
}

/** The value stored for (x, y), or -1 (also when either id is -1: an unknown word). */
function pairLookup(table: PairTable, x: number, y: number): number {
  if (x < 0 || y < 0) return -1;
  let h = pairHash(x, y) & table.mask;
  for (;;) {
    const k = table.first[h];
    if (k === -1 || k === undefined) return -1;
    if (k === x && table.second[h] === y) return table.value[h] ?? -1;
    h = (h + 1) & table.mask;
  }
}

function docTokens(text: string, dict: Dictionary): Token[] {
  const out: Token[] = [];
  for (const t of tokenize(text)) {
    const exp = dict.abbreviations.get(t.acc);
    if (exp && !t.marked) out.push(...exp);
    else out.push(t);
  }
  // "Thủ tục" opens many names and says nothing.
  if (out[0]?.fold === 'thu' && out[1]?.fold === 'tuc') out.splice(0, 2);
  return out;
}

/** Builds the searcher over a catalogue (or a unit's subset of it). */
export function buildSearchIndex(procedures: readonly CatalogueProcedure[], options: SearchIndexOptions = {}): Searcher {
  const dict = options.dictionary ?? loadDictionary();
  const communeFirst = options.communeFirst ?? true;
  const table = buildPhraseTable(dict);
  const N = procedures.length;

  // --- term frequencies per field, BM25F -------------------------------------------------
  // First pass: token lists per field (kept only until the postings are built).
  const fieldLenSum: Record<FieldName, number> = { alias: 0, name: 0, field: 0, documents: 0 };
  const fieldToks: Array<Record<FieldName, Token[][]>> = [];
  const docs: DocInfo[] = [];
  const titleDf = new Map<string, number>(); // folded unigram → #procedures with it in a title
  const vocabulary = new Map<string, number>(); // folded unigram in titles/fields → df
  const allTitleBigrams = new Set<string>();
  const allTitleAccBigrams = new Set<string>();
  // Interned ids of title / field words and title pairs (see DocInfo).
  const foldIds = new Map<string, number>();
  const accIds = new Map<string, number>();
  const bigramIds = new Map<string, number>();
  const intern = (ids: Map<string, number>, key: string): number => {
    let id = ids.get(key);
    if (id === undefined) {
      id = ids.size;
      ids.set(key, id);
    }
    return id;
  };
  const internAll = (ids: Map<string, number>, keys: Iterable<string>): Int32Array => Int32Array.from(keys, (k) => intern(ids, k));
  const titleAccWords = new Set<string>();

  for (const p of procedures) {
    const nameToks = docTokens(p.name, dict);
    const aliasToks = p.aliases.map((a) => docTokens(a, dict));
    const fieldTokens = docTokens(p.field, dict);
    // Document names help recall a little; cap them so a long table cannot dominate memory.
    const documentToks: Token[][] = [];
    let docBudget = MAX_DOCUMENT_TOKENS;
    for (const d of p.documents) {
      if (docBudget <= 0) break;
      const toks = docTokens(d.name, dict).slice(0, docBudget);
      docBudget -= toks.length;
      documentToks.push(toks);
    }
    const entry: Record<FieldName, Token[][]> = { alias: aliasToks, name: [nameToks], field: [fieldTokens], documents: documentToks };
    for (const f of FIELD_NAMES) for (const list of entry[f]) fieldLenSum[f] += list.length;
    fieldToks.push(entry);

    const titles = [nameToks, ...aliasToks];
    const titleFold = new Set<string>();
    const titleAcc = new Set<string>();
    const titleBigrams = new Set<string>();
    for (const toks of titles) {
      toks.forEach((t, i) => {
        titleFold.add(t.fold);
        titleAcc.add(t.acc);
        const n = toks[i + 1];
        if (n) {
          titleBigrams.add(t.fold + ' ' + n.fold);
          allTitleAccBigrams.add(t.acc + ' ' + n.acc);
        }
      });
    }
    const fieldFold = new Set(fieldTokens.map((t) => t.fold));
    for (const w of titleFold) titleDf.set(w, (titleDf.get(w) ?? 0) + 1);
    for (const w of new Set([...titleFold, ...fieldFold])) vocabulary.set(w, (vocabulary.get(w) ?? 0) + 1);
    for (const b of titleBigrams) allTitleBigrams.add(b);

    const variants: number[] = [];
    dict.variants.forEach((v, vi) => {
      const named = (list: readonly CompiledPhrase[]): boolean => list.some((m) => titles.some((toks) => containsPhrase(toks, m)));
      if (named(v.marks) && !named(v.unless)) variants.push(vi);
    });
    const isCommune = p.communeCore ? 1 : p.levels.includes('Cấp xã') ? 0.5 : 0;
    for (const a of titleAcc) titleAccWords.add(a);
    docs.push({
      code: p.code,
      name: p.name,
      titleFold: internAll(foldIds, titleFold),
      titleAcc: internAll(accIds, titleAcc),
      titleBigrams: internAll(bigramIds, titleBigrams),
      fieldFold: internAll(foldIds, fieldFold),
      titles: titles.map((toks) => Int32Array.from(toks, (t) => intern(foldIds, t.fold))),
      titleWeights: [],
      titleDens: new Float64Array(0),
      variants,
      commune: communeFirst ? isCommune : 0,
    });
  }

  const avgLen: Record<FieldName, number> = { alias: 1, name: 1, field: 1, documents: 1 };
  for (const f of FIELD_NAMES) avgLen[f] = Math.max(1, fieldLenSum[f] / Math.max(1, N));

  // Second pass: tf' = Σ w_f · tf_f / (1 − b + b · len_f / avg_f), accumulated per document and
  // appended to growable posting lists keyed by term.
  const postDocs = new Map<string, number[]>();
  const postTf = new Map<string, number[]>();
  const local = new Map<string, number>();
  fieldToks.forEach((entry, di) => {
    local.clear();
    for (const f of FIELD_NAMES) {
      let len = 0;
      for (const list of entry[f]) len += list.length;
      const w = FIELD_WEIGHTS[f] / (1 - B + (B * len) / avgLen[f]);
      for (const list of entry[f]) {
        for (let i = 0; i < list.length; i++) {
          const t = list[i];
          if (!t) continue;
          local.set('f:' + t.fold, (local.get('f:' + t.fold) ?? 0) + w);
          if (t.marked && f !== 'documents') local.set('a:' + t.acc, (local.get('a:' + t.acc) ?? 0) + w);
          const n = list[i + 1];
          if (!n) continue;
          const fb = 'F:' + t.fold + ' ' + n.fold;
          local.set(fb, (local.get(fb) ?? 0) + w);
          if (f !== 'documents' && (t.marked || n.marked)) {
            const ab = 'A:' + t.acc + ' ' + n.acc;
            local.set(ab, (local.get(ab) ?? 0) + w);
          }
        }
      }
    }
    for (const [term, tf] of local) {
      const d = postDocs.get(term);
      if (d) {
        d.push(di);
        postTf.get(term)?.push(tf);
      } else {
        postDocs.set(term, [di]);
        postTf.set(term, [tf]);
      }
    }
  });
  fieldToks.length = 0;
  // All posting lists in two flat typed arrays (term id → [offsets[id], offsets[id + 1])): one
  // object per term instead of three keeps the index small and the garbage collector quick.
  const termIds = new Map<string, number>();
  let total = 0;
  for (const d of postDocs.values()) total += d.length;
  const offsets = new Int32Array(postDocs.size + 1);
  const postingDocs = new Int32Array(total);
  const postingWeights = new Float32Array(total);
  let at = 0;
  for (const [term, d] of postDocs) {
    const id = termIds.size;
    termIds.set(term, id);
    offsets[id] = at;
    const tfs = postTf.get(term) ?? [];
    const df = d.length;
    const idf = Math.log(1 + (N - df + 0.5) / (df + 0.5));
    for (let k = 0; k < df; k++) {
      const tf = tfs[k] ?? 0;
      postingDocs[at] = d[k] ?? 0;
      postingWeights[at] = (idf * tf * (K1 + 1)) / (tf + K1);
      at++;
    }
  }
  offsets[termIds.size] = at;
  postDocs.clear();
  postTf.clear();

  // Term ids reachable from dense word ids, so a question's terms are found without building a
  // 'F:' + fold + ' ' + fold string per syllable pair: words (folded, and accented) get dense ids,
  // unigram terms are arrays over them, pair terms hash tables over id pairs.
  const wordIds = new Map<string, number>(); // folded word of any field
  const accWordIds = new Map<string, number>(); // accented word of an 'a:' / 'A:' term
  const wordTermList: number[] = [];
  const accWordTermList: number[] = [];
  const foldPairEntries: number[] = [];
  const accPairEntries: number[] = [];
  for (const [term, id] of termIds) {
    const kind = term.slice(0, 2);
    const body = term.slice(2);
    if (kind === 'f:') wordTermList[intern(wordIds, body)] = id;
    else if (kind === 'a:') accWordTermList[intern(accWordIds, body)] = id;
    else {
      // Words are runs of letters and digits: the one space separates the pair.
      const sp = body.indexOf(' ');
      const ids = kind === 'F:' ? wordIds : accWordIds;
      const entries = kind === 'F:' ? foldPairEntries : accPairEntries;
      entries.push(intern(ids, body.slice(0, sp)), intern(ids, body.slice(sp + 1)), id);
    }
  }
  const wordTerm = new Int32Array(wordIds.size).fill(-1);
  wordTermList.forEach((id, w) => (wordTerm[w] = id));
  const accWordTerm = new Int32Array(accWordIds.size).fill(-1);
  accWordTermList.forEach((id, w) => (accWordTerm[w] = id));
  const foldPairTerms = buildPairTable(foldPairEntries);
  const accPairTerms = buildPairTable(accPairEntries);
  // Title pairs by word ids (every title word is a name / alias word, so it has an id).
  const titlePairEntries: number[] = [];
  for (const [bigram, id] of bigramIds) {
    const sp = bigram.indexOf(' ');
    titlePairEntries.push(intern(wordIds, bigram.slice(0, sp)), intern(wordIds, bigram.slice(sp + 1)), id);
  }
  const titlePairs = buildPairTable(titlePairEntries);

  // Weight of a word in coverage: its rarity in titles. Unknown words weigh the most.
  const maxIdf = Math.log(1 + N);
  const titleIdf = (fold: string): number => {
    const df = titleDf.get(fold) ?? 0;
    return df === 0 ? maxIdf : Math.log(1 + N / df);
  };
  // Title weights are fixed once the catalogue is read: precomputed for the rerank.
  const foldById: string[] = [];
  for (const [fold, id] of foldIds) foldById[id] = fold;
  for (const d of docs) {
    d.titleWeights = d.titles.map((title) => Float64Array.from(title, (id) => titleIdf(foldById[id] ?? '')));
    d.titleDens = Float64Array.from(d.titleWeights, (ws) => ws.reduce((a, b) => a + b, 0));
  }

  // --- filler policy from the catalogue's vocabulary --------------------------------------
  const foldToAcc = new Map<string, Set<string>>();
  for (const a of titleAccWords) {
    const f = tokenize(a)[0]?.fold ?? a;
    const set = foldToAcc.get(f) ?? new Set<string>();
    set.add(a);
    foldToAcc.set(f, set);
  }
  const dropAcc = new Set<string>();
  const weakAcc = new Set<string>();
  const dropFold = new Set<string>();
  const weakFold = new Set<string>();
  for (const w of dict.fillerWords) {
    const fold = tokenize(w)[0]?.fold ?? w;
    if (titleAccWords.has(w)) weakAcc.add(w);
    else dropAcc.add(w);
    // Unmarked question: the folded form is a filler only if no content word of the catalogue
    // folds to it too ("can" may be cần or căn, "hoi" hỏi or hội).
    const twins = foldToAcc.get(fold);
    const collides = twins !== undefined && [...twins].some((a) => !dict.fillerWords.has(a));
    if (collides || titleAccWords.has(w)) weakFold.add(fold);
    else dropFold.add(fold);
  }
  // wordIds holds exactly the words of the 'f:' terms; asking it (not termIds) lets the term
  // strings be collected once the index is built: a smaller heap for the collector to mark.
  const fillers: FillerPolicy = { dropAcc, dropFold, weakAcc, weakFold, known: (fold) => vocabulary.has(fold) || wordIds.has(fold) };
  const corrector = buildVocabularyCorrector(vocabulary, allTitleBigrams, allTitleAccBigrams, table.words, dict.fillerWords);

  // Variant triggers and compounds, keyed by their first folded syllable (a query tries only the
  // few whose first syllable it contains).
  const triggersByFirst = new Map<string, TriggerEntry[]>();
  dict.variants.forEach((v, variant) => {
    const add = (phrase: CompiledPhrase, weak: boolean): void => {
      const first = phrase.fold[0];
      if (first === undefined) return;
      const list = triggersByFirst.get(first) ?? [];
      list.push({ variant, phrase, weak });
      triggersByFirst.set(first, list);
    };
    for (const p of v.triggers) add(p, false);
    for (const p of v.weakTriggers) add(p, true);
  });
  const compoundsByFirst = new Map<string, CompiledPhrase[]>();
  for (const p of dict.compounds) {
    const first = p.fold[0];
    if (first === undefined) continue;
    compoundsByFirst.set(first, [...(compoundsByFirst.get(first) ?? []), p]);
  }

  const scores = new Float64Array(N);
  // Rerank scratch, reused across questions (no per-question allocation): a candidate's title /
  // field words are stamped with docEpoch, the question's words and pairs with queryEpoch, so a
  // membership test is one typed-array read and nothing needs clearing between uses.
  const titleFoldStamp = new Int32Array(foldIds.size);
  const fieldFoldStamp = new Int32Array(foldIds.size);
  const titleAccStamp = new Int32Array(accIds.size);
  const queryFoldStamp = new Int32Array(foldIds.size);
  const queryBigramStamp = new Int32Array(bigramIds.size);
  let docEpoch = 0;
  let queryEpoch = 0;
  // The question's terms: best weight per term id, stamped with queryEpoch, in first-seen order
  // (the order of the BM25 sums, kept so scores stay bit-identical).
  const termCount = termIds.size;
  const queryTermWeight = new Float64Array(termCount);
  const queryTermStamp = new Int32Array(termCount);
  const queryTerms: number[] = [];
  const termOrder: number[] = [];
  const queryPairKeys = new Set<number>();
  const queryOddPairs = new Set<string>();
  const wordCount = wordIds.size;
  const EPOCH_LIMIT = 0x3fffffff;
  const rowDoc = new Int32Array(SHORTLIST);
  const rowScore = new Float64Array(SHORTLIST);
  const rowRank = new Float64Array(SHORTLIST);
  const rowQcov = new Float64Array(SHORTLIST);
  const rowBcov = new Float64Array(SHORTLIST);
  const rowDcov = new Float64Array(SHORTLIST);
  const rowPenalty = new Float64Array(SHORTLIST);
  const rowOrder: number[] = [];
  const touched = new Int32Array(N);
  const isTouched = new Uint8Array(N);

  /** The question analysed, with its content concepts (null when it cannot be analysed). */
  function prepare(q: string): { analysis: AnalyzedQuery; concepts: Concept[]; content: Concept[] } | null {
    let analysis: AnalyzedQuery;
    try {
      analysis = analyzeQuery(q, dict, table, fillers, (t, p, n) => corrector.correct(t, p, n));
    } catch {
      return null;
    }
    const { concepts } = analysis;
    // An unmarked syllable kept weak because its folded form is both a filler and a content word
    // ("can": cần / cận) is content when it forms a catalogue pair with its neighbour ("ho can
    // ngheo" → hộ cận nghèo).
    concepts.forEach((c, ci) => {
      const t = c.weak && c.alts.length === 1 && c.alts[0]?.length === 1 ? c.alts[0][0] : undefined;
      if (!t || t.marked || !fillers.weakFold.has(t.fold) || titleAccWords.has(t.fold)) return;
      // The end of a sentence is where question particles sit ("… khong?").
      if (concepts[ci + 1]?.sentence !== c.sentence) return;
      const near = [concepts[ci - 1], concepts[ci + 1]];
      // The neighbour must be content itself: two fillers ("co can") make no word.
      const usable = (n: Concept | undefined): n is Concept =>
        n !== undefined && !n.weak && n.sentence === c.sentence && n.alts.length === 1 && n.alts[0]?.length === 1;
      const prev = usable(near[0]) ? near[0].alts[near[0].alts.length - 1]?.at(-1) : undefined;
      const next = usable(near[1]) ? near[1].alts[near[1].alts.length - 1]?.[0] : undefined;
      if ((prev && allTitleBigrams.has(`${prev.fold} ${t.fold}`)) || (next && allTitleBigrams.has(`${t.fold} ${next.fold}`))) {
        concepts[ci] = { ...c, weak: false };
      }
    });
    return { analysis, concepts, content: concepts.filter((c) => !c.weak) };
  }

  /**
   * What a question asks, independent of wording: its content words in the catalogue's terms
   * (abbreviations expanded, synonyms mapped, fillers and aspect words removed), folded, sorted,
   * distinct. "cho em hỏi làm giấy khai sinh cần gì ạ" and "lam giay khai sinh" meet here.
   */
  function contentKey(query: string): string | null {
    const p = prepare(typeof query === 'string' ? query : '');
    if (!p) return null;
    const words = new Set<string>();
    for (const c of p.content) for (const t of c.alts[0] ?? []) if (t.fold !== '') words.add(t.fold);
    return words.size === 0 ? null : [...words].sort().join(' ');
  }

  const docByCode = new Map<string, DocInfo>();
  for (const d of docs) docByCode.set(d.code, d);

  function search(query: string, opts: SearchOptions = {}): SearchResult {
    const result = rank(query, opts);
    const aliases = opts.aliases;
    if (!aliases || aliases.size === 0) return result;
    // The question as typed, and folded: an alias attached from an unmarked question matches a
    // marked one and the other way round (fillers are decided differently with and without marks).
    let code: string | undefined;
    for (const text of [result.query, foldMarks(result.query)]) {
      const key = contentKey(text);
      code = key === null ? undefined : aliases.get(key);
      if (code !== undefined) break;
    }
    const doc = code === undefined ? undefined : docByCode.get(code);
    if (!doc || (opts.codes && !opts.codes.has(doc.code))) return result;
    // A phrasing an officer attached to this procedure for the unit: answered directly.
    const top = Math.max(1, Math.min(50, Math.floor(opts.top ?? 3)));
    const rest = result.results.filter((h) => h.code !== doc.code);
    return {
      query: result.query,
      outcome: 'answer',
      confidence: 1,
      results: [{ code: doc.code, name: doc.name, score: 1 }, ...rest].slice(0, top),
      aspects: result.aspects,
    };
  }

  function rank(query: string, opts: SearchOptions): SearchResult {
    const top = Math.max(1, Math.min(50, Math.floor(opts.top ?? 3)));
    const q = typeof query === 'string' ? query : '';
    const prepared = prepare(q);
    if (!prepared) return { query: q, outcome: 'none', confidence: 0, results: [], aspects: [] };
    const { analysis, concepts, content } = prepared;
    const { marked } = analysis;
    if (content.length === 0) return { query: q, outcome: 'none', confidence: 0, results: [], aspects: analysis.aspects };

    // --- recall -----------------------------------------------------------------------------
    if (queryEpoch >= EPOCH_LIMIT) {
      queryFoldStamp.fill(0);
      queryBigramStamp.fill(0);
      queryTermStamp.fill(0);
      queryEpoch = 0;
    }
    queryEpoch++;
    queryTerms.length = 0;
    queryPairKeys.clear();
    queryOddPairs.clear();
    // A term the catalogue does not have (id -1) is skipped: it could never score.
    const addTerm = (term: number, w: number): void => {
      if (term < 0) return;
      if (queryTermStamp[term] !== queryEpoch) {
        if (w > 0) {
          queryTermStamp[term] = queryEpoch;
          queryTermWeight[term] = w;
          queryTerms.push(term);
        }
      } else if (w > (queryTermWeight[term] ?? 0)) queryTermWeight[term] = w;
    };
    const wordOf = (t: Token): number => wordIds.get(t.fold) ?? -1;
    const accWordOf = (t: Token): number => accWordIds.get(t.acc) ?? -1;
    // A syllable pair of the question, for bcov: distinct pairs are counted (by word ids, or by
    // text when a word is unknown to the catalogue), those some title has are stamped.
    const notePair = (a: Token, wa: number, b: Token, wb: number): void => {
      if (wa < 0 || wb < 0) {
        queryOddPairs.add(a.fold + ' ' + b.fold);
        return;
      }
      queryPairKeys.add(wa * wordCount + wb);
      const id = pairLookup(titlePairs, wa, wb);
      if (id >= 0) queryBigramStamp[id] = queryEpoch;
    };
    const seq: Token[] = [];
    let lastSentence = -1;
    for (const c of concepts) {
      for (let ai = 0; ai < c.alts.length; ai++) {
        const alt = c.alts[ai];
        if (!alt) continue;
        const aw = (ai < c.canonical ? 1 : 0.6) * (c.weak ? 0.2 : 1) * c.weight;
        let n = alt[0];
        let wn = n ? wordOf(n) : -1;
        let an = n && marked ? accWordOf(n) : -1;
        for (let i = 0; i < alt.length; i++) {
          const t = n;
          const wt = wn;
          const at = an;
          if (!t) break;
          n = alt[i + 1];
          wn = n ? wordOf(n) : -1;
          an = n && marked ? accWordOf(n) : -1;
          addTerm(wt >= 0 ? (wordTerm[wt] ?? -1) : -1, aw);
          if (marked && t.marked) addTerm(at >= 0 ? (accWordTerm[at] ?? -1) : -1, 0.5 * aw);
          if (n) {
            addTerm(pairLookup(foldPairTerms, wt, wn), 1.5 * aw);
            if (marked && (t.marked || n.marked)) addTerm(pairLookup(accPairTerms, at, an), 0.75 * aw);
            if (!c.weak) notePair(t, wt, n, wn);
          }
        }
      }
      if (!c.weak) {
        // A new sentence: two boundary marks, so no pair is formed across it.
        if (c.sentence !== lastSentence && seq.length > 0) seq.push(BOUNDARY);
        lastSentence = c.sentence;
        const primary = c.alts[0];
        if (primary) for (const t of primary) seq.push(t);
        seq.push(BOUNDARY);
      }
    }
    // Pairs across concept boundaries ("cấp" + "sổ đỏ" → "cấp giấy").
    for (let i = 0; i + 1 < seq.length; i++) {
      const a = seq[i];
      let b = seq[i + 1];
      if (b?.fold === '|') b = seq[i + 2];
      if (!a || !b || a.fold === '|' || b.fold === '|') continue;
      const wa = wordOf(a);
      const wb = wordOf(b);
      addTerm(pairLookup(foldPairTerms, wa, wb), 1.2);
      if (marked && (a.marked || b.marked)) addTerm(pairLookup(accPairTerms, accWordOf(a), accWordOf(b)), 0.6);
      notePair(a, wa, b, wb);
    }
    // Distinct pairs: the denominator of bcov.
    const uniqueBigramCount = queryPairKeys.size + queryOddPairs.size;

    let nTouched = 0;
    const restrict = opts.codes;
    // Rare terms first; a term found in a quarter of the catalogue or more ("cấp", "giấy") only
    // adds to procedures a rarer term already found, so it cannot flood the shortlist (nor the
    // time) with thousands of procedures — unless the question has nothing rarer. Ties keep the
    // order in which the question named the terms.
    const order = termOrder;
    order.length = queryTerms.length;
    for (let i = 0; i < queryTerms.length; i++) order[i] = i;
    const postingLength = (i: number): number => {
      const id = queryTerms[i] ?? 0;
      return (offsets[id + 1] ?? 0) - (offsets[id] ?? 0);
    };
    order.sort((x, y) => postingLength(x) - postingLength(y) || x - y);
    const common = Math.max(50, Math.floor(N / 4));
    for (const i of order) {
      const id = queryTerms[i] ?? 0;
      const start = offsets[id] ?? 0;
      const end = offsets[id + 1] ?? 0;
      const qw = queryTermWeight[id] ?? 0;
      const addNew = end - start < common || nTouched === 0;
      // A very common term adds almost nothing (its idf is near 0) once rarer ones have spoken.
      if (!addNew && end - start > 2 * common) continue;
      for (let k = start; k < end; k++) {
        const di = postingDocs[k] ?? 0;
        if (!isTouched[di]) {
          if (!addNew) continue;
          if (restrict && !restrict.has(docs[di]?.code ?? '')) continue;
          isTouched[di] = 1;
          scores[di] = 0;
          touched[nTouched++] = di;
        }
        scores[di] = (scores[di] ?? 0) + qw * (postingWeights[k] ?? 0);
      }
    }
    // Shortlist by BM25.
    const short: number[] = [];
    for (let k = 0; k < nTouched; k++) {
      const di = touched[k] ?? 0;
      isTouched[di] = 0;
      const s = scores[di] ?? 0;
      if (short.length < SHORTLIST) {
        short.push(di);
        if (short.length === SHORTLIST) short.sort((x, y) => (scores[y] ?? 0) - (scores[x] ?? 0));
      } else if (s > (scores[short[SHORTLIST - 1] ?? 0] ?? 0)) {
        let pos = SHORTLIST - 1;
        while (pos > 0 && (scores[short[pos - 1] ?? 0] ?? 0) < s) pos--;
        short.splice(pos, 0, di);
        short.pop();
      }
    }
    if (short.length === 0) return { query: q, outcome: 'none', confidence: 0, results: [], aspects: analysis.aspects };
    let bmMax = 0;
    for (const di of short) bmMax = Math.max(bmMax, scores[di] ?? 0);

    // --- rerank -----------------------------------------------------------------------------
    const compoundSpans = findSpans(analysis.tokens, compoundsByFirst);
    // A recognised term (synonym) weighs double: it names a procedure's object or action.
    // A Float64Array: a plain array mixing small integers and doubles changed its elements kind
    // between questions and deoptimised the search function.
    const conceptWeights = Float64Array.from(content, (c) => {
      let w = 0;
      for (let ai = 0; ai < c.canonical; ai++) for (const t of c.alts[ai] ?? []) w = Math.max(w, titleIdf(t.fold));
      return (c.alts.length > c.canonical ? 2 * w : w) * c.weight;
    });
    // The question's words (for "how much of the name is explained"); a word no title has
    // cannot explain any name, so it needs no id.
    for (const c of concepts) {
      for (const alt of c.alts) {
        for (const t of alt) {
          const id = foldIds.get(t.fold);
          if (id !== undefined) queryFoldStamp[id] = queryEpoch;
        }
      }
    }
    // Variants the question names, and the words that named them ("mất" is explained by a
    // "cấp lại" procedure, "rách" by a "cấp đổi" one).
    // A weak trigger ("làm lại") names its variant only when no other variant is named by a
    // strong one ("hết hạn" → cấp đổi); its bonus is smaller.
    const triggered = new Map<number, number>(); // variant → bonus weight (1 strong, 0.5 weak)
    const triggerWords = new Map<string, number[]>();
    const noteTrigger = (vi: number, t: CompiledPhrase): void => {
      for (const f of t.fold) {
        const list = triggerWords.get(f) ?? [];
        list.push(vi);
        triggerWords.set(f, list);
      }
    };
    const strongHits: Array<[number, CompiledPhrase]> = [];
    const weakHits: Array<[number, CompiledPhrase]> = [];
    // Only triggers whose first syllable occurs in the question are tried.
    const tried = new Set<TriggerEntry>();
    for (const t of analysis.tokens) {
      for (const e of triggersByFirst.get(t.fold) ?? []) {
        if (tried.has(e)) continue;
        tried.add(e);
        if (containsWholePhrase(analysis.tokens, e.phrase, compoundSpans)) (e.weak ? weakHits : strongHits).push([e.variant, e.phrase]);
      }
    }
    for (const [vi, t] of strongHits) {
      triggered.set(vi, 1);
      noteTrigger(vi, t);
    }
    // Syllables of weak triggers that were overruled: they named no variant, so they are not
    // content either ("lại" in "làm lại thẻ hết hạn" must not pull "cấp lại" up).
    const overruled = new Set<string>();
    for (const [vi, t] of weakHits) {
      if (strongHits.length === 0) {
        triggered.set(vi, 0.5);
        noteTrigger(vi, t);
      } else if (!triggered.has(vi)) for (const f of t.fold) if (!triggerWords.has(f)) overruled.add(f);
    }
    content.forEach((c, ci) => {
      const only = c.alts.length === 1 && c.alts[0]?.length === 1 ? c.alts[0][0] : undefined;
      if (only && overruled.has(only.fold)) conceptWeights[ci] = 0;
    });
    // A plain loop, same order of additions as reduce.
    let weightSum = 0;
    for (let ci = 0; ci < conceptWeights.length; ci++) weightSum += conceptWeights[ci] ?? 0;
    const totalWeight = weightSum || 1;

    // Per question, once: the content words as ids in (concept, alternative, word) order (-1: no
    // title / field has it, so it is never covered), and the trigger variants of each one-word
    // concept.
    const wordFold: number[] = [];
    const wordAcc: number[] = [];
    const conceptTriggers: Array<number[] | undefined> = [];
    for (const c of content) {
      const only = c.alts.length === 1 ? c.alts[0] : undefined;
      conceptTriggers.push(only && only.length === 1 && only[0] ? triggerWords.get(only[0].fold) : undefined);
      for (const alt of c.alts) {
        for (const t of alt) {
          wordFold.push(foldIds.get(t.fold) ?? -1);
          wordAcc.push(accIds.get(t.acc) ?? -1);
        }
      }
    }

    // The shortlist's features go to typed scratch rows, not one object per candidate: objects
    // whose number fields were sometimes small integers, sometimes doubles changed shape and
    // deoptimised the search function.
    const nRows = short.length;
    for (let r = 0; r < nRows; r++) {
      const di = short[r] ?? 0;
      const d = docs[di];
      rowDoc[r] = di;
      if (!d) {
        rowScore[r] = 0;
        rowRank[r] = 0;
        rowQcov[r] = 0;
        rowBcov[r] = 0;
        rowDcov[r] = 0;
        rowPenalty[r] = 0;
        continue;
      }
      if (docEpoch >= EPOCH_LIMIT) {
        titleFoldStamp.fill(0);
        fieldFoldStamp.fill(0);
        titleAccStamp.fill(0);
        docEpoch = 0;
      }
      const epoch = ++docEpoch;
      const { titleFold, titleAcc, fieldFold } = d;
      for (let k = 0; k < titleFold.length; k++) titleFoldStamp[titleFold[k] ?? 0] = epoch;
      for (let k = 0; k < titleAcc.length; k++) titleAccStamp[titleAcc[k] ?? 0] = epoch;
      for (let k = 0; k < fieldFold.length; k++) fieldFoldStamp[fieldFold[k] ?? 0] = epoch;
      let covered = 0;
      let w = 0; // cursor into wordFold / wordAcc
      for (let ci = 0; ci < content.length; ci++) {
        const c = content[ci];
        if (!c) continue;
        let best = 0;
        const tw = conceptTriggers[ci];
        if (tw) for (let k = 0; k < tw.length; k++) if (d.variants.includes(tw[k] ?? -1)) best = 1;
        for (let ai = 0; ai < c.alts.length; ai++) {
          const alt = c.alts[ai];
          if (!alt || alt.length === 0) continue;
          let sum = 0;
          for (let k = 0; k < alt.length; k++) {
            const t = alt[k];
            const f = wordFold[w] ?? -1;
            const a = wordAcc[w] ?? -1;
            w++;
            if (!t) continue;
            if (f >= 0 && titleFoldStamp[f] === epoch) sum += !marked || !t.marked || (a >= 0 && titleAccStamp[a] === epoch) ? 1 : 0.75;
            else if (f >= 0 && fieldFoldStamp[f] === epoch) sum += 0.5;
          }
          // The catalogue's wording (first alternative) beats the citizen's own words.
          best = Math.max(best, ((ai < c.canonical ? 1 : 0.85) * sum) / alt.length);
        }
        covered += best * (conceptWeights[ci] ?? 0);
      }
      const qcov = covered / totalWeight;
      let bcov = qcov;
      if (uniqueBigramCount > 0) {
        // The title's pairs are distinct, so counting those the question has counts the
        // question's distinct pairs found in the title.
        let hit = 0;
        const pairs = d.titleBigrams;
        for (let k = 0; k < pairs.length; k++) if (queryBigramStamp[pairs[k] ?? 0] === queryEpoch) hit++;
        bcov = hit / uniqueBigramCount;
      }
      let dcov = 0;
      for (let ti = 0; ti < d.titles.length; ti++) {
        const title = d.titles[ti];
        const ws = d.titleWeights[ti];
        const den = d.titleDens[ti] ?? 0;
        if (!title || !ws || den <= 0) continue;
        let num = 0;
        for (let k = 0; k < title.length; k++) if (queryFoldStamp[title[k] ?? -1] === queryEpoch) num += ws[k] ?? 0;
        dcov = Math.max(dcov, num / den);
      }
      // Variants the question does not name are pushed down; those it names are pulled up.
      let penalty = 0;
      let bonus = 0;
      for (const vi of d.variants) {
        const strength = triggered.get(vi);
        if (strength !== undefined) bonus += 0.08 * strength;
        else if (dict.variants[vi]?.penalty !== false) penalty += 0.12;
      }
      penalty = Math.min(0.3, penalty) - Math.min(0.12, bonus);
      // Ranked on the raw sum: clamping to 1 first would erase what still separates two fully
      // covering candidates ("xóa đăng ký tạm trú" vs "đăng ký tạm trú": how much of the name is
      // explained). The clamped value is the confidence.
      const raw = 0.6 * qcov + 0.25 * bcov + 0.15 * dcov - penalty + 0.06 * d.commune;
      const score = Math.max(0, Math.min(1, raw));
      const rank = raw + (bmMax > 0 ? 0.08 * ((scores[di] ?? 0) / bmMax) : 0);
      rowScore[r] = score;
      rowRank[r] = rank;
      rowQcov[r] = qcov;
      rowBcov[r] = bcov;
      rowDcov[r] = dcov;
      rowPenalty[r] = penalty;
    }
    // Best rank first; equal ranks keep the shortlist's order (as the stable sort of rows did).
    rowOrder.length = nRows;
    for (let r = 0; r < nRows; r++) rowOrder[r] = r;
    rowOrder.sort((x, y) => (rowRank[y] ?? 0) - (rowRank[x] ?? 0) || x - y);
    const best = rowOrder[0];
    const second = rowOrder[1];
    const confidence = best !== undefined ? (rowScore[best] ?? 0) : 0;
    const margin = best !== undefined ? (rowRank[best] ?? 0) - (second !== undefined ? (rowRank[second] ?? 0) : 0) : 0;
    let outcome: SearchOutcome = 'none';
    // A special variant the question did not name is offered as a choice, never asserted.
    if (
      best !== undefined &&
      (rowQcov[best] ?? 0) >= CONFIDENCE.answerCoverage &&
      (rowScore[best] ?? 0) >= CONFIDENCE.answerScore &&
      margin >= CONFIDENCE.answerMargin &&
      (rowPenalty[best] ?? 0) <= 0 &&
      // A question understood only through guessed spellings is offered, never asserted.
      content.some((c) => c.alts.some((alt) => alt.length > 0 && alt.every((t) => t.guessed !== true)))
    ) {
      outcome = 'answer';
    } else if (best !== undefined && (rowScore[best] ?? 0) >= CONFIDENCE.choicesScore && (rowQcov[best] ?? 0) >= 0.4) {
      outcome = 'choices';
    }
    const results: SearchHit[] = [];
    for (let k = 0; k < top && k < nRows; k++) {
      const r = rowOrder[k] ?? 0;
      const d = docs[rowDoc[r] ?? 0];
      results.push({ code: d?.code ?? '', name: d?.name ?? '', score: Math.round((rowScore[r] ?? 0) * 1000) / 1000 });
    }
    // Last: the scratch rows are reused, so nothing is read from them after the hook runs.
    if (options.explain) {
      options.explain(
        q,
        rowOrder.slice(0, 60).map((r) => ({
          code: docs[rowDoc[r] ?? 0]?.code ?? '',
          score: rowScore[r] ?? 0,
          rank: rowRank[r] ?? 0,
          qcov: rowQcov[r] ?? 0,
          bcov: rowBcov[r] ?? 0,
          dcov: rowDcov[r] ?? 0,
          penalty: rowPenalty[r] ?? 0,
          bm25: scores[rowDoc[r] ?? 0] ?? 0,
        })),
      );
    }

    return { query: q, outcome, confidence: Math.round(confidence * 1000) / 1000, results, aspects: analysis.aspects };
  }

  return {
    size: N,
    contentKey(query: string): string | null {
      try {
        return contentKey(query);
      } catch {
        return null;
      }
    },
    search(query: string, opts?: SearchOptions): SearchResult {
      try {
        return search(query, opts);
      } catch {
        // The search must never take the conversation down; a failed search is a "none".
        return { query: typeof query === 'string' ? query : '', outcome: 'none', confidence: 0, results: [], aspects: [] };
      }
    },
  };
}
