// The survey figures staff hand in, computed by SQL aggregates over completed responses:
// satisfaction per unit (every unit of the scope side by side, with none left out for having no
// responses), the distribution of every level, per element and criterion (SIPAS), the TT 01/2018
// index scores per unit (Điều 15), and the trend by month, for a period in Vietnam time and
// optional filters (units, procedure, field, channel, survey family).
//
// Definitions used by every figure:
// - số phiếu (responses): completed responses in the period (completed_at, Vietnam time);
//   in-progress and cancelled responses are not phiếu;
// - số phiếu hợp lệ (valid): completed responses whose overall rating "Đánh giá tổng thể dịch vụ"
//   was answered (a skipped overall rating is a phiếu, but not a valid one for the rate);
// - tỷ lệ hài lòng = (Rất hài lòng + Hài lòng) / số phiếu hợp lệ (SURVEYS.md §4), counted with the
//   "satisfied" classification stored with each answer; 5-level answers fold into the 3 levels
//   (Bình thường, Không hài lòng, Rất không hài lòng → Không hài lòng). Per element, "valid" is
//   the responses that answered that element's rating; per criterion, those that answered it.
// - Điều 15: per index, the points over evaluated dossiers (one response per dossier: the latest
//   completed), averaged and rounded to one decimal; the total sums the index scores present.
import type { Queryable, SqlParam } from '../store/database.js';
import { SATISFACTION_LEVELS, familyOf, type SatisfactionLevel } from './definition.js';
import type { SurveyRegistry } from './definition-loader.js';
import { monthsOf, type Period } from './period.js';
import { ALL_INDICES, classifyUnit, indexScoreTenths, type Classification, type UnitBand } from './scoring.js';
import type { SurveyChannel } from './survey-repository.js';

export interface ReportFilter {
  period: Period;
  /** Survey family (e.g. dossier-evaluation, sipas); null = every survey. */
  family?: string | null;
  /** null = every unit (a province). */
  unitIds?: readonly string[] | null;
  procedureCode?: string | null;
  field?: string | null;
  channel?: SurveyChannel | null;
}

export type LevelCounts = Record<SatisfactionLevel, number>;

export interface SatisfactionFigures {
  /** Số phiếu: completed responses. */
  responses: number;
  /** Số phiếu hợp lệ: with the overall rating answered. */
  valid: number;
  levels: LevelCounts;
  /** Rất hài lòng + Hài lòng. */
  satisfied: number;
  /** valid − satisfied (Bình thường, Không hài lòng, Rất không hài lòng). */
  notSatisfied: number;
  /** satisfied / valid (0–1); null without valid responses. */
  rate: number | null;
}

export interface UnitFigures extends SatisfactionFigures {
  unitId: string;
  unitName: string;
}

export interface IndexScore {
  index: number;
  /** Dossiers with points on this index. */
  dossiers: number;
  points: number;
  /** Rounded to one decimal (Điều 15). */
  score: number;
}

export interface UnitIndexFigures {
  unitId: string;
  unitName: string;
  /** Dossiers evaluated (counted responses with any index answered). */
  dossiers: number;
  indices: IndexScore[];
  /** Sum of the index scores present. */
  total: number;
  /** Highest total those indices allow (2 per index). */
  maxTotal: number;
  classification: Classification<UnitBand>;
}

export interface ElementFigures {
  elementId: string;
  name: string;
  valid: number;
  levels: LevelCounts;
  satisfied: number;
  rate: number | null;
}

export interface CriterionFigures {
  questionId: string;
  elementId: string | null;
  text: string;
  answered: number;
  positive: number;
  rate: number | null;
}

export interface MonthFigures {
  month: string;
  label: string;
  responses: number;
  valid: number;
  satisfied: number;
  rate: number | null;
}

export interface SurveyReport {
  filter: ReportFilter;
  period: Period;
  units: UnitFigures[];
  total: SatisfactionFigures;
  indices: UnitIndexFigures[];
  elements: ElementFigures[];
  criteria: CriterionFigures[];
  trend: MonthFigures[];
}

const emptyLevels = (): LevelCounts => ({ very_satisfied: 0, satisfied: 0, neutral: 0, dissatisfied: 0, very_dissatisfied: 0 });
const rateOf = (n: number, d: number): number | null => (d > 0 ? n / d : null);

/** The WHERE clause over survey_responses `r` for a filter (values as parameters, never in the SQL). */
export function responseWhere(filter: ReportFilter, first = 1): { sql: string; params: SqlParam[] } {
  const params: SqlParam[] = [filter.period.from, filter.period.to];
  const parts = [`r.status = 'completed'`, `r.completed_at >= $${first}`, `r.completed_at < $${first + 1}`];
  const add = (cond: (p: string) => string, value: SqlParam) => {
    params.push(value);
    parts.push(cond(`$${first + params.length - 1}`));
  };
  if (filter.family) add((p) => `r.family = ${p}`, filter.family);
  if (filter.unitIds) add((p) => `r.unit_id = ANY(${p}::text[])`, [...filter.unitIds]);
  if (filter.procedureCode) add((p) => `r.procedure_code = ${p}`, filter.procedureCode);
  if (filter.field) add((p) => `r.field = ${p}`, filter.field);
  if (filter.channel) add((p) => `r.channel = ${p}`, filter.channel);
  return { sql: parts.join(' AND '), params };
}

type Num = string | number | null;
const num = (v: Num | undefined): number => (v === null || v === undefined ? 0 : Number(v));

export interface ReportOptions {
  /** For the names of elements and criteria, and to skip element queries a family cannot need. */
  registry?: SurveyRegistry;
}

export async function buildSurveyReport(db: Queryable, filter: ReportFilter, opts: ReportOptions = {}): Promise<SurveyReport> {
  const where = responseWhere(filter);
  const familyDefs = opts.registry ? (filter.family ? opts.registry.family(filter.family) : latestOfEach(opts.registry)) : null;
  const needElements = familyDefs === null || familyDefs.some((d) => d.questions.some((q) => q.type === 'criterion' || (q.type === 'satisfaction' && q.role === 'element')));
  // Only the indices the family's definitions ask are aggregated (all nine without a registry).
  const askedIndices = familyDefs === null ? [...ALL_INDICES] : ALL_INDICES.filter((i) => familyDefs.some((d) => d.questions.some((q) => q.type === 'index' && q.index === i)));
  const months = monthsOf(filter.period.from, filter.period.to);

  // One scan for the unit table, the distribution, Điều 15 and the trend: grouped by unit and by
  // the stored level and classification (columns with statistics, so the planner aggregates in
  // parallel), with one FILTER count per local month. Every figure is a sum of these groups.
  const params: SqlParam[] = [...where.params];
  const bound = (d: Date) => {
    params.push(d);
    return `$${params.length}`;
  };
  const monthColumns = months.codes.map((_, i) => {
    const lo = bound(months.bounds[i] ?? filter.period.from);
    const hi = bound(months.bounds[i + 1] ?? filter.period.to);
    return `count(*) FILTER (WHERE r.completed_at >= ${lo} AND r.completed_at < ${hi}) AS m${i}`;
  });
  const indexColumns = askedIndices.map(
    (i) => `count(r.index_points[${i}]) FILTER (WHERE r.dossier_counted) AS n${i}, sum(r.index_points[${i}]) FILTER (WHERE r.dossier_counted) AS s${i}`,
  );
  const groupSql = `SELECT r.unit_id, r.overall_level, r.overall_satisfied, count(*) AS responses,
      count(*) FILTER (WHERE r.dossier_counted AND r.index_points IS NOT NULL) AS dossiers
      ${[...indexColumns, ...monthColumns].map((c) => `, ${c}`).join('')}
    FROM survey_responses r WHERE ${where.sql}
    GROUP BY r.unit_id, r.overall_level, r.overall_satisfied`;

  const [unitRows, groups, elementRows] = await Promise.all([
    filter.unitIds
      ? db.query<{ id: string; name: string }>('SELECT id, name FROM units WHERE id = ANY($1::text[]) ORDER BY id', [[...filter.unitIds]])
      : db.query<{ id: string; name: string }>('SELECT id, name FROM units ORDER BY id'),
    db.query<Record<string, Num> & { unit_id: string; overall_level: SatisfactionLevel | null; overall_satisfied: boolean | null }>(groupSql, params),
    needElements
      ? db.query<{ kind: 'satisfaction' | 'criterion'; element_id: string | null; question_id: string; level: SatisfactionLevel | null; satisfied: boolean | null; n: Num }>(
          `SELECT a.kind, a.element_id, a.question_id, a.level, a.satisfied, count(*) AS n
           FROM survey_responses r JOIN survey_answers a ON a.response_id = r.id
           WHERE ${where.sql} AND NOT a.skipped AND (a.kind = 'criterion' OR (a.kind = 'satisfaction' AND a.role = 'element'))
           GROUP BY 1, 2, 3, 4, 5`,
          where.params,
        )
      : Promise.resolve([]),
  ]);

  // Sum the groups per unit and per month.
  interface Acc {
    responses: number;
    valid: number;
    satisfied: number;
    levels: LevelCounts;
    dossiers: number;
    n: Map<number, number>;
    s: Map<number, number>;
  }
  const newAcc = (): Acc => ({ responses: 0, valid: 0, satisfied: 0, levels: emptyLevels(), dossiers: 0, n: new Map(), s: new Map() });
  const byUnitAcc = new Map<string, Acc>();
  const monthAcc = months.codes.map(() => ({ responses: 0, valid: 0, satisfied: 0 }));
  for (const g of groups) {
    const acc = byUnitAcc.get(g.unit_id) ?? newAcc();
    byUnitAcc.set(g.unit_id, acc);
    const count = num(g.responses);
    const level = g.overall_level;
    acc.responses += count;
    if (level !== null) {
      acc.valid += count;
      acc.levels[level] += count;
    }
    if (g.overall_satisfied === true) acc.satisfied += count;
    acc.dossiers += num(g.dossiers);
    for (const i of askedIndices) {
      acc.n.set(i, (acc.n.get(i) ?? 0) + num(g[`n${i}`]));
      acc.s.set(i, (acc.s.get(i) ?? 0) + num(g[`s${i}`]));
    }
    monthAcc.forEach((m, i) => {
      const c = num(g[`m${i}`]);
      m.responses += c;
      if (level !== null) m.valid += c;
      if (g.overall_satisfied === true) m.satisfied += c;
    });
  }

  const names = new Map(unitRows.map((u) => [u.id, u.name]));
  // Every unit of the scope, with or without responses; a unit id that is not (or no longer) in
  // the units table still shows if it has responses.
  const unitIds = [...new Set([...unitRows.map((u) => u.id), ...byUnitAcc.keys()])].sort();

  const units: UnitFigures[] = unitIds.map((unitId) => {
    const a = byUnitAcc.get(unitId) ?? newAcc();
    return {
      unitId,
      unitName: names.get(unitId) ?? unitId,
      responses: a.responses,
      valid: a.valid,
      levels: a.levels,
      satisfied: a.satisfied,
      notSatisfied: a.valid - a.satisfied,
      rate: rateOf(a.satisfied, a.valid),
    };
  });

  const total: SatisfactionFigures = units.reduce<SatisfactionFigures>(
    (t, u) => {
      const levels = { ...t.levels };
      for (const l of SATISFACTION_LEVELS) levels[l] += u.levels[l];
      return { responses: t.responses + u.responses, valid: t.valid + u.valid, satisfied: t.satisfied + u.satisfied, notSatisfied: t.notSatisfied + u.notSatisfied, levels, rate: null };
    },
    { responses: 0, valid: 0, satisfied: 0, notSatisfied: 0, levels: emptyLevels(), rate: null },
  );
  total.rate = rateOf(total.satisfied, total.valid);

  const indices: UnitIndexFigures[] = unitIds.map((unitId) => {
    const a = byUnitAcc.get(unitId) ?? newAcc();
    const scores: IndexScore[] = [];
    const tenths = new Map<number, number>();
    for (const i of askedIndices) {
      const n = a.n.get(i) ?? 0;
      if (n === 0) continue;
      const points = a.s.get(i) ?? 0;
      const t = indexScoreTenths(points, n);
      tenths.set(i, t);
      scores.push({ index: i, dossiers: n, points, score: t / 10 });
    }
    const classification = classifyUnit(tenths);
    return {
      unitId,
      unitName: names.get(unitId) ?? unitId,
      dossiers: a.dossiers,
      indices: scores,
      total: classification.totalTenths / 10,
      maxTotal: scores.length * 2,
      classification,
    };
  });

  const elementName = new Map<string, string>();
  const questionText = new Map<string, { text: string; order: number }>();
  let order = 0;
  for (const d of familyDefs ?? []) {
    for (const e of d.elements) if (!elementName.has(e.id)) elementName.set(e.id, e.name);
    for (const q of d.questions) if (!questionText.has(q.id)) questionText.set(q.id, { text: q.text, order: order++ });
  }
  const elements = new Map<string, ElementFigures>();
  const criteria = new Map<string, CriterionFigures>();
  for (const row of elementRows) {
    const n = num(row.n);
    if (row.kind === 'satisfaction' && row.element_id !== null) {
      const e = elements.get(row.element_id) ?? { elementId: row.element_id, name: elementName.get(row.element_id) ?? row.element_id, valid: 0, levels: emptyLevels(), satisfied: 0, rate: null };
      e.valid += n;
      if (row.level) e.levels[row.level] += n;
      if (row.satisfied) e.satisfied += n;
      elements.set(row.element_id, e);
    } else if (row.kind === 'criterion') {
      const c = criteria.get(row.question_id) ?? { questionId: row.question_id, elementId: row.element_id, text: questionText.get(row.question_id)?.text ?? row.question_id, answered: 0, positive: 0, rate: null };
      c.answered += n;
      if (row.satisfied) c.positive += n;
      criteria.set(row.question_id, c);
    }
  }
  for (const e of elements.values()) e.rate = rateOf(e.satisfied, e.valid);
  for (const c of criteria.values()) c.rate = rateOf(c.positive, c.answered);
  const elementOrder = (id: string | null) => {
    const i = (familyDefs ?? []).flatMap((d) => d.elements.map((e) => e.id)).indexOf(id ?? '');
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };

  const trend: MonthFigures[] = months.codes.map((month, i) => {
    const m = monthAcc[i] ?? { responses: 0, valid: 0, satisfied: 0 };
    const [y, mo] = month.split('-').map(Number) as [number, number];
    return { month, label: `Tháng ${mo}/${y}`, responses: m.responses, valid: m.valid, satisfied: m.satisfied, rate: rateOf(m.satisfied, m.valid) };
  });

  return {
    filter,
    period: filter.period,
    units,
    total,
    indices,
    elements: [...elements.values()].sort((a, b) => elementOrder(a.elementId) - elementOrder(b.elementId) || a.elementId.localeCompare(b.elementId)),
    criteria: [...criteria.values()].sort(
      (a, b) =>
        elementOrder(a.elementId) - elementOrder(b.elementId) ||
        (questionText.get(a.questionId)?.order ?? 1e9) - (questionText.get(b.questionId)?.order ?? 1e9) ||
        a.questionId.localeCompare(b.questionId),
    ),
    trend,
  };
}

function latestOfEach(registry: SurveyRegistry) {
  const families = new Set(registry.all().map((d) => familyOf(d)));
  return [...families].flatMap((f) => registry.family(f));
}

/** A rate as a percentage with two decimals (92.5 for 0.925), or null. */
export function percent(rate: number | null): number | null {
  return rate === null ? null : Math.round(rate * 10000) / 100;
}

