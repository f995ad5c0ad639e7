// Search bench: motcua's search beside fuse.js 7 (default options, keys: name) over the same
// catalogue and the same dev questions. Prints top-1 / top-3 (with and without diacritics),
// latency p50 / p99 (warm, per question), index build time and heap used.
//   npm run bench                 # the table
//   npm run bench -- --misses     # plus every miss: query, expected, got
// Catalogue: the shipped one (loadCatalogue over procedures/) when present, else the portal gz.
//   --portal          force the portal gz adapter (no curated aliases: measures the general search)
//   --motcua-only     skip fuse.js (fast tuning runs)
//   --explain "q"     print the reranked shortlist of one question with its features
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Fuse from 'fuse.js';
import type { CatalogueProcedure } from '../src/catalogue/schema.js';
import { buildSearchIndex } from '../src/search/index.js';
import { foldMarks } from '../src/search/normalize.js';
import type { SearchOutcome } from '../src/search/types.js';
import { loadPortalCatalogue } from './portal-catalogue.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const QUERIES = process.env['MOTCUA_DEV_QUERIES'] ?? '/work/shared/data/queries-dev.tsv';
// Our own invented questions about procedures that are NOT among the dev set's codes: a guard
// against fitting the dev rows (it must not drop while the dev figures rise).
const PARAPHRASES = fileURLToPath(new URL('./paraphrases.tsv', import.meta.url));
// Questions no procedure answers: a direct answer to any of them is a bug.
const OUT_OF_SCOPE = [
  'giá vàng hôm nay',
  'gia vang hom nay bao nhieu',
  'thời tiết ngày mai thế nào',
  'tỷ số bóng đá tối qua',
  'hello',
  'alo alo',
  '👍',
  '',
  'bạn là ai',
  'tôi yêu em',
  'mua điện thoại ở đâu rẻ',
  'xổ số miền bắc hôm nay',
  'công thức nấu phở bò',
  'lịch chiếu phim cuối tuần',
  'sđt 0912345678',
];
const showMisses = process.argv.includes('--misses');
const motcuaOnly = process.argv.includes('--motcua-only');
const explainArg = process.argv.indexOf('--explain');
const explainQuery = explainArg >= 0 ? process.argv[explainArg + 1] : undefined;

interface Row {
  query: string;
  accept: string[] | null;
}

function readQueries(path: string): Row[] {
  const lines = readFileSync(path, 'utf8').split('\n').slice(1);
  const rows: Row[] = [];
  for (const line of lines) {
    if (!line.trim()) continue;
    const [query = '', accept = ''] = line.split('\t');
    rows.push({ query, accept: accept.trim() === 'NONE' ? null : accept.split(';').map((s) => s.trim()).filter(Boolean) });
  }
  return rows;
}

function isProcedureList(x: unknown): x is CatalogueProcedure[] {
  return Array.isArray(x) && x.every((p) => typeof p === 'object' && p !== null && 'code' in p && 'name' in p && 'aliases' in p);
}

async function loadShippedCatalogue(): Promise<{ procedures: CatalogueProcedure[]; source: string }> {
  const loader = `${ROOT}src/catalogue/load.ts`;
  const national = `${ROOT}procedures/national`;
  if (!process.argv.includes('--portal') && existsSync(loader) && existsSync(national) && readdirSync(national).some((f) => f.endsWith('.json'))) {
    try {
      const mod: unknown = await import(pathToFileURL(loader).href);
      if (typeof mod === 'object' && mod !== null && 'loadCatalogue' in mod && typeof mod.loadCatalogue === 'function') {
        const cat: unknown = await mod.loadCatalogue(`${ROOT}procedures`);
        if (typeof cat === 'object' && cat !== null && 'procedures' in cat && isProcedureList(cat.procedures)) {
          return { procedures: cat.procedures, source: 'loadCatalogue(procedures/)' };
        }
      }
      console.error('bench: loadCatalogue present but unusable; falling back to the portal gz');
    } catch (err) {
      console.error(`bench: loadCatalogue failed (${err instanceof Error ? err.message : String(err)}); falling back to the portal gz`);
    }
  }
  return { procedures: loadPortalCatalogue(), source: 'portal gz adapter (bench/portal-catalogue.ts)' };
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

interface Engine {
  name: string;
  run(q: string): string[];
}

interface Measured {
  top1: number;
  top3: number;
  top1Folded: number;
  top3Folded: number;
  p50: number;
  p99: number;
  /** Per question, the best of three runs: the code's own time, less the machine's load spikes. */
  p50Best: number;
  p99Best: number;
  misses: string[];
}

function measure(engine: Engine, rows: Row[], warmUp: readonly string[] = [], bestOf = 3): Measured {
  const answerable = rows.filter((r) => r.accept !== null);
  // Warm up the JIT on OTHER questions (so the measured ones are not already in any cache),
  // a few rounds, as a server is warm after its first few hundred questions.
  for (let round = 0; round < 5; round++) for (const q of warmUp) engine.run(q);
  for (const r of answerable.slice(0, 20)) engine.run(r.query);
  const times: number[] = [];
  let top1 = 0;
  let top3 = 0;
  let top1Folded = 0;
  let top3Folded = 0;
  const misses: string[] = [];
  for (const r of answerable) {
    const accept = r.accept ?? [];
    const t0 = process.hrtime.bigint();
    const got = engine.run(r.query);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (accept.includes(got[0] ?? '')) top1++;
    else misses.push(`  ${r.query.slice(0, 110)}\n      expected ${accept.join(';')}  got ${got.slice(0, 3).join(', ')}`);
    if (got.slice(0, 3).some((c) => accept.includes(c))) top3++;
    const t1 = process.hrtime.bigint();
    const gotF = engine.run(foldMarks(r.query));
    times.push(Number(process.hrtime.bigint() - t1) / 1e6);
    if (accept.includes(gotF[0] ?? '')) top1Folded++;
    if (gotF.slice(0, 3).some((c) => accept.includes(c))) top3Folded++;
  }
  const best: number[] = [];
  if (bestOf > 0)
  for (const r of answerable) {
    for (const q of [r.query, foldMarks(r.query)]) {
      let min = Number.POSITIVE_INFINITY;
      for (let k = 0; k < bestOf; k++) {
        const t = process.hrtime.bigint();
        engine.run(q);
        min = Math.min(min, Number(process.hrtime.bigint() - t) / 1e6);
      }
      best.push(min);
    }
  }
  const n = answerable.length || 1;
  return {
    p50Best: pct(best, 50),
    p99Best: pct(best, 99),
    top1: top1 / n,
    top3: top3 / n,
    top1Folded: top1Folded / n,
    top3Folded: top3Folded / n,
    p50: pct(times, 50),
    p99: pct(times, 99),
    misses,
  };
}

const f1 = (x: number): string => `${(x * 100).toFixed(1)}%`;
const ms = (x: number): string => `${x.toFixed(x < 10 ? 3 : 1)} ms`;

async function main(): Promise<void> {
  const { procedures, source } = await loadShippedCatalogue();
  const rows = readQueries(QUERIES);
  if (explainQuery !== undefined) {
    const names = new Map(procedures.map((p) => [p.code, p.name]));
    const s = buildSearchIndex(procedures, {
      explain: (q, list) => {
        console.log(`\n${q}`);
        for (const r of list) {
          const f = (x: number): string => x.toFixed(2);
          console.log(`  ${r.code} score ${f(r.score)} rank ${f(r.rank)} qcov ${f(r.qcov)} bcov ${f(r.bcov)} dcov ${f(r.dcov)} pen ${f(r.penalty)} bm25 ${f(r.bm25)}  ${(names.get(r.code) ?? '').slice(0, 90)}`);
        }
      },
    });
    const res = s.search(explainQuery);
    console.log(`  → ${res.outcome} confidence ${res.confidence} aspects ${res.aspects.join(',')}`);
    return;
  }
  const answerable = rows.filter((r) => r.accept !== null).length;
  console.log(`catalogue: ${procedures.length} procedures from ${source}`);
  console.log(`questions: ${rows.length} (${answerable} answerable, ${rows.length - answerable} NONE) from ${QUERIES}\n`);

  // With NODE_OPTIONS=--expose-gc the heap figures are what the index retains (garbage collected
  // first); without it they include the build's garbage.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const tb0 = process.hrtime.bigint();
  const searcher = buildSearchIndex(procedures);
  const buildMotcua = Number(process.hrtime.bigint() - tb0) / 1e6;
  gc?.();
  const heapMotcua = process.memoryUsage().heapUsed - heap0;

  const heap1 = process.memoryUsage().heapUsed;
  const tf0 = process.hrtime.bigint();
  const fuse = new Fuse(procedures, { keys: ['name'] });
  const buildFuse = Number(process.hrtime.bigint() - tf0) / 1e6;
  gc?.();
  const heapFuse = process.memoryUsage().heapUsed - heap1;

  const paraRows = existsSync(PARAPHRASES) ? readQueries(PARAPHRASES) : [];
  const runMotcua = (q: string): string[] => searcher.search(q, { top: 3 }).results.map((r) => r.code);
  const warm = (list: Row[]): string[] => [...OUT_OF_SCOPE, ...list.flatMap((r) => [r.query, foldMarks(r.query)])];
  const motcua = measure({ name: 'motcua', run: runMotcua }, rows, warm(paraRows));
  const motcuaPara = measure({ name: 'motcua', run: runMotcua }, paraRows, warm(rows));
  const fuseM = motcuaOnly
    ? { top1: 0, top3: 0, top1Folded: 0, top3Folded: 0, p50: 0, p99: 0, p50Best: 0, p99Best: 0, misses: [] }
    : measure({ name: 'fuse.js', run: (q) => fuse.search(q, { limit: 3 }).map((r) => r.item.code) }, rows, warm(paraRows).slice(0, 40), 0);

  const header = ['engine', 'top-1', 'top-3', 'top-1 no marks', 'top-3 no marks', 'p50', 'p99', 'build', gc ? 'heap retained' : 'heap Δ'];
  const line = (name: string, m: Measured, build: number, heap: number): string[] => [
    name,
    f1(m.top1),
    f1(m.top3),
    f1(m.top1Folded),
    f1(m.top3Folded),
    ms(m.p50),
    ms(m.p99),
    ms(build),
    `${(heap / 1048576).toFixed(1)} MB`,
  ];
  const table = [
    header,
    line('motcua', motcua, buildMotcua, heapMotcua),
    line('fuse.js 7 (defaults, keys: name)', fuseM, buildFuse, heapFuse),
    line(`motcua, own paraphrases (${paraRows.length})`, motcuaPara, buildMotcua, heapMotcua),
  ];
  const widths = header.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
  for (const r of table) console.log('| ' + r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ') + ' |');
  console.log(
    `\nmotcua latency, best of 3 runs per question: dev p50 ${ms(motcua.p50Best)} p99 ${ms(motcua.p99Best)}; own paraphrases p50 ${ms(motcuaPara.p50Best)} p99 ${ms(motcuaPara.p99Best)}`,
  );
  console.log(
    `latency: per question, with and without marks (${answerable * 2} timings each), after a warm-up on the other set's questions; heap used after build: ${(process.memoryUsage().heapUsed / 1048576).toFixed(0)} MB`,
  );

  // Outcomes: the answerable questions, and the NONE rows apart.
  const outcomes = (list: Row[], fold = false): Record<SearchOutcome, number> => {
    const c: Record<SearchOutcome, number> = { answer: 0, choices: 0, none: 0 };
    for (const r of list) c[searcher.search(fold ? foldMarks(r.query) : r.query).outcome]++;
    return c;
  };
  const okRows = rows.filter((r) => r.accept !== null);
  const noneRows = rows.filter((r) => r.accept === null);
  const o = outcomes(okRows);
  // Precision of direct answers (a wrong direct answer is worse than offering choices), with and
  // without marks; and how often the right procedure is at least among the offered choices.
  const precision = (list: Row[], label: string): void => {
    let right = 0;
    let wrong = 0;
    let choicesRight = 0;
    let choices = 0;
    const wrongOnes: string[] = [];
    for (const r of list) {
      for (const q of [r.query, foldMarks(r.query)]) {
        const res = searcher.search(q);
        const ok = (r.accept ?? []).includes(res.results[0]?.code ?? '');
        if (res.outcome === 'answer') {
          if (ok) right++;
          else {
            wrong++;
            wrongOnes.push(`    ${q.slice(0, 90)} → ${res.results[0]?.code ?? '-'} (expected ${(r.accept ?? []).join(';')})`);
          }
        } else if (res.outcome === 'choices') {
          choices++;
          if (res.results.slice(0, 3).some((h) => (r.accept ?? []).includes(h.code))) choicesRight++;
        }
      }
    }
    const n = list.length * 2;
    console.log(
      `${label}: answer ${right + wrong}/${n} (precision ${f1(right / Math.max(1, right + wrong))}, wrong ${wrong}), choices ${choices} (right one offered ${choicesRight}), none ${n - right - wrong - choices}`,
    );
    if (showMisses) for (const w of wrongOnes) console.log(w);
  };
  console.log('');
  precision(okRows, 'motcua direct answers, dev (marked + unmarked)');
  precision(paraRows, 'motcua direct answers, own paraphrases (marked + unmarked)');
  console.log(`motcua outcomes on answerable dev questions (marked): answer ${o.answer}, choices ${o.choices}, none ${o.none}`);
  const oos = OUT_OF_SCOPE.map((q) => ({ q, res: searcher.search(q) }));
  const oosAnswered = oos.filter((x) => x.res.outcome === 'answer');
  console.log(`out-of-scope questions: ${oos.length}, answered directly ${oosAnswered.length}, offered choices ${oos.filter((x) => x.res.outcome === 'choices').length}`);
  for (const x of oosAnswered) console.log(`  [answer] ${x.q} → ${x.res.results[0]?.code ?? '-'}`);
  const on = outcomes(noneRows);
  console.log(`motcua outcomes on NONE questions (procedure not in the catalogue): answer ${on.answer}, choices ${on.choices}, none ${on.none}`);
  for (const r of noneRows) {
    const res = searcher.search(r.query);
    console.log(`  [${res.outcome}] ${r.query.slice(0, 80)} → ${res.results[0]?.code ?? '-'} ${res.results[0]?.name.slice(0, 60) ?? ''}`);
  }
  if (showMisses) {
    console.log(`\nmotcua top-1 misses (${motcua.misses.length}):`);
    for (const m of motcua.misses) console.log(m);
    console.log(`\nmotcua top-1 misses on own paraphrases (${motcuaPara.misses.length}):`);
    for (const m of motcuaPara.misses) console.log(m);
  }
}

await main();
