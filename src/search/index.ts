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
import { tokenize, type Token } from './normalize.js';
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
  /** Title = name + aliases: folded / accented unigrams and folded bigrams. */
  titleFold: Set<string>;
  titleAcc: Set<string>;
  titleBigrams: Set<string>;
  fieldFold: Set<string>;
  /** Each title (name, aliases) as folded token lists, for "how much of the name is explained". */
  titles: string[][];
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
    docs.push({
      code: p.code,
      name: p.name,
      titleFold,
      titleAcc,
      titleBigrams,
      fieldFold,
      titles: titles.map((toks) => toks.map((t) => t.fold)),
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

  // Weight of a word in coverage: its rarity in titles. Unknown words weigh the most.
  const maxIdf = Math.log(1 + N);
  const titleIdf = (fold: string): number => {
    const df = titleDf.get(fold) ?? 0;
    return df === 0 ? maxIdf : Math.log(1 + N / df);
  };
  // Title weights are fixed once the catalogue is read: precomputed for the rerank.
  for (const d of docs) {
    d.titleWeights = d.titles.map((title) => Float64Array.from(title, titleIdf));
    d.titleDens = Float64Array.from(d.titleWeights, (ws) => ws.reduce((a, b) => a + b, 0));
  }

  // --- filler policy from the catalogue's vocabulary --------------------------------------
  const titleAccWords = new Set<string>();
  const foldToAcc = new Map<string, Set<string>>();
  for (const d of docs) {
    for (const a of d.titleAcc) {
      titleAccWords.add(a);
    }
  }
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
  const fillers: FillerPolicy = { dropAcc, dropFold, weakAcc, weakFold, known: (fold) => vocabulary.has(fold) || termIds.has('f:' + fold) };
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
  const touched = new Int32Array(N);
  const isTouched = new Uint8Array(N);

  function search(query: string, opts: SearchOptions = {}): SearchResult {
    const top = Math.max(1, Math.min(50, Math.floor(opts.top ?? 3)));
    const q = typeof query === 'string' ? query : '';
    let analysis: AnalyzedQuery;
    try {
      analysis = analyzeQuery(q, dict, table, fillers, (t, p, n) => corrector.correct(t, p, n));
    } catch {
      return { query: q, outcome: 'none', confidence: 0, results: [], aspects: [] };
    }
    const { concepts, marked } = analysis;
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
    const content = concepts.filter((c) => !c.weak);
    if (content.length === 0) return { query: q, outcome: 'none', confidence: 0, results: [], aspects: analysis.aspects };

    // --- recall -----------------------------------------------------------------------------
    const qterms = new Map<string, number>();
    const addTerm = (term: string, w: number): void => {
      if (w > (qterms.get(term) ?? 0)) qterms.set(term, w);
    };
    const seq: Token[] = [];
    let lastSentence = -1;
    for (const c of concepts) {
      c.alts.forEach((alt, ai) => {
        const aw = (ai < c.canonical ? 1 : 0.6) * (c.weak ? 0.2 : 1) * c.weight;
        alt.forEach((t, i) => {
          addTerm('f:' + t.fold, aw);
          if (marked && t.marked) addTerm('a:' + t.acc, 0.5 * aw);
          const n = alt[i + 1];
          if (n) {
            addTerm('F:' + t.fold + ' ' + n.fold, 1.5 * aw);
            if (marked && (t.marked || n.marked)) addTerm('A:' + t.acc + ' ' + n.acc, 0.75 * aw);
          }
        });
      });
      if (!c.weak) {
        // A new sentence: two boundary marks, so no pair is formed across it.
        if (c.sentence !== lastSentence && seq.length > 0) seq.push(BOUNDARY);
        lastSentence = c.sentence;
        const primary = c.alts[0];
        if (primary) seq.push(...primary);
        seq.push(BOUNDARY);
      }
    }
    // Pairs across concept boundaries ("cấp" + "sổ đỏ" → "cấp giấy").
    const qBigrams: string[] = [];
    for (const c of content) {
      for (const alt of c.alts) for (let i = 0; i + 1 < alt.length; i++) qBigrams.push(`${alt[i]?.fold} ${alt[i + 1]?.fold}`);
    }
    for (let i = 0; i + 1 < seq.length; i++) {
      const a = seq[i];
      let b = seq[i + 1];
      if (b?.fold === '|') b = seq[i + 2];
      if (!a || !b || a.fold === '|' || b.fold === '|') continue;
      const key = `${a.fold} ${b.fold}`;
      addTerm('F:' + key, 1.2);
      if (marked && (a.marked || b.marked)) addTerm('A:' + a.acc + ' ' + b.acc, 0.6);
      qBigrams.push(key);
    }
    const uniqueBigrams = [...new Set(qBigrams)];

    let nTouched = 0;
    const restrict = opts.codes;
    // Rare terms first; a term found in a quarter of the catalogue or more ("cấp", "giấy") only
    // adds to procedures a rarer term already found, so it cannot flood the shortlist (nor the
    // time) with thousands of procedures — unless the question has nothing rarer.
    const terms: Array<[number, number, number]> = []; // [start, end, query weight]
    for (const [term, qw] of qterms) {
      const id = termIds.get(term);
      if (id !== undefined) terms.push([offsets[id] ?? 0, offsets[id + 1] ?? 0, qw]);
    }
    terms.sort((a, b) => a[1] - a[0] - (b[1] - b[0]));
    const common = Math.max(50, Math.floor(N / 4));
    for (const [start, end, qw] of terms) {
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
    const conceptWeights = content.map((c) => {
      let w = 0;
      for (let ai = 0; ai < c.canonical; ai++) for (const t of c.alts[ai] ?? []) w = Math.max(w, titleIdf(t.fold));
      return (c.alts.length > c.canonical ? 2 * w : w) * c.weight;
    });
    const queryFolds = new Set<string>();
    for (const c of concepts) for (const alt of c.alts) for (const t of alt) queryFolds.add(t.fold);
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
    const totalWeight = conceptWeights.reduce((a, b) => a + b, 0) || 1;

    const ranked = short.map((di) => {
      const d = docs[di];
      if (!d) return { di, score: 0, rank: 0, qcov: 0, bcov: 0, dcov: 0, penalty: 0 };
      let covered = 0;
      content.forEach((c, ci) => {
        let best = 0;
        const only = c.alts.length === 1 ? c.alts[0] : undefined;
        const tw = only && only.length === 1 && only[0] ? triggerWords.get(only[0].fold) : undefined;
        if (tw && tw.some((vi) => d.variants.includes(vi))) best = 1;
        for (let ai = 0; ai < c.alts.length; ai++) {
          const alt = c.alts[ai];
          if (!alt || alt.length === 0) continue;
          let sum = 0;
          for (const t of alt) {
            if (d.titleFold.has(t.fold)) sum += !marked || !t.marked || d.titleAcc.has(t.acc) ? 1 : 0.75;
            else if (d.fieldFold.has(t.fold)) sum += 0.5;
          }
          // The catalogue's wording (first alternative) beats the citizen's own words.
          best = Math.max(best, ((ai < c.canonical ? 1 : 0.85) * sum) / alt.length);
        }
        covered += best * (conceptWeights[ci] ?? 0);
      });
      const qcov = covered / totalWeight;
      let bcov = qcov;
      if (uniqueBigrams.length > 0) {
        let hit = 0;
        for (const b of uniqueBigrams) if (d.titleBigrams.has(b)) hit++;
        bcov = hit / uniqueBigrams.length;
      }
      let dcov = 0;
      for (let ti = 0; ti < d.titles.length; ti++) {
        const title = d.titles[ti] ?? [];
        const ws = d.titleWeights[ti];
        const den = d.titleDens[ti] ?? 0;
        if (!ws || den <= 0) continue;
        let num = 0;
        for (let k = 0; k < title.length; k++) if (queryFolds.has(title[k] ?? '')) num += ws[k] ?? 0;
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
      return { di, score, rank, qcov, bcov, dcov, penalty };
    });
    ranked.sort((a, b) => b.rank - a.rank);
    if (options.explain) {
      options.explain(
        q,
        ranked.slice(0, 60).map((r) => ({
          code: docs[r.di]?.code ?? '',
          score: r.score,
          rank: r.rank,
          qcov: r.qcov,
          bcov: r.bcov,
          dcov: r.dcov,
          penalty: r.penalty,
          bm25: scores[r.di] ?? 0,
        })),
      );
    }

    const best = ranked[0];
    const second = ranked[1];
    const confidence = best ? best.score : 0;
    const margin = best ? best.rank - (second?.rank ?? 0) : 0;
    let outcome: SearchOutcome = 'none';
    // A special variant the question did not name is offered as a choice, never asserted.
    if (
      best &&
      best.qcov >= CONFIDENCE.answerCoverage &&
      best.score >= CONFIDENCE.answerScore &&
      margin >= CONFIDENCE.answerMargin &&
      best.penalty <= 0 &&
      // A question understood only through guessed spellings is offered, never asserted.
      content.some((c) => c.alts.some((alt) => alt.length > 0 && alt.every((t) => t.guessed !== true)))
    ) {
      outcome = 'answer';
    } else if (best && best.score >= CONFIDENCE.choicesScore && best.qcov >= 0.4) {
      outcome = 'choices';
    }
    const results: SearchHit[] = ranked.slice(0, top).map((r) => ({
      code: docs[r.di]?.code ?? '',
      name: docs[r.di]?.name ?? '',
      score: Math.round(r.score * 1000) / 1000,
    }));
    return { query: q, outcome, confidence: Math.round(confidence * 1000) / 1000, results, aspects: analysis.aspects };
  }

  return {
    size: N,
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
