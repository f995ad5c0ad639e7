// The shape of a survey definition (surveys/<id>/v<version>.yaml) and of a unit's wording
// overrides (surveys/overrides/<unit>.yaml), as zod schemas, plus the fixed vocabulary that
// gives stored answers their meaning: satisfaction levels, their numeric values and which of
// them count as "hài lòng" (SURVEYS.md §4), and the TT 01/2018 points of an index option.
// Pure: no I/O here (the loader reads the files).
import { createHash } from 'node:crypto';
import { z } from 'zod';

// --- satisfaction levels ---------------------------------------------------------------------------

/** Canonical levels: every scale's options map to these, so 3- and 5-level answers aggregate. */
export const SATISFACTION_LEVELS = ['very_satisfied', 'satisfied', 'neutral', 'dissatisfied', 'very_dissatisfied'] as const;
export const SatisfactionLevel = z.enum(SATISFACTION_LEVELS);
export type SatisfactionLevel = z.infer<typeof SatisfactionLevel>;

/** Stored as the answer's numeric value (5 = best), whatever the scale. */
export const LEVEL_VALUE: Record<SatisfactionLevel, number> = {
  very_satisfied: 5,
  satisfied: 4,
  neutral: 3,
  dissatisfied: 2,
  very_dissatisfied: 1,
};

/** The labels reports use (definitions may word their buttons differently, e.g. "Chưa hài lòng"). */
export const LEVEL_LABELS: Record<SatisfactionLevel, string> = {
  very_satisfied: 'Rất hài lòng',
  satisfied: 'Hài lòng',
  neutral: 'Bình thường',
  dissatisfied: 'Không hài lòng',
  very_dissatisfied: 'Rất không hài lòng',
};

/** SURVEYS.md §4: only "Rất hài lòng" and "Hài lòng" are satisfied; "Bình thường" is not. */
export function isSatisfied(level: SatisfactionLevel): boolean {
  return level === 'very_satisfied' || level === 'satisfied';
}

/** The 3-level scale of the NĐ 61 / QĐ 766 reports; the 5-level answers fold into it. */
export type Level3 = 'very_satisfied' | 'satisfied' | 'not_satisfied';
export function fold3(level: SatisfactionLevel): Level3 {
  return level === 'very_satisfied' || level === 'satisfied' ? level : 'not_satisfied';
}

const SCALE_LEVELS: Record<3 | 5, readonly SatisfactionLevel[]> = {
  3: ['very_satisfied', 'satisfied', 'dissatisfied'],
  5: SATISFACTION_LEVELS,
};

// --- building blocks ---------------------------------------------------------------------------------

const Slug = z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'must be lower-case ASCII letters, digits and single dashes (a stable id)');

/** Text a person reads: trimmed, NFC (so marks compare and render the same everywhere). */
const Text = z
  .string()
  .transform((s) => s.normalize('NFC').trim())
  .pipe(z.string().min(1, 'must not be empty'));

/** A chat button title: Messenger truncates postback / quick-reply titles after 20 characters. */
export const MAX_LABEL_CHARS = 20;
const Label = Text.refine((s) => Array.from(s).length <= MAX_LABEL_CHARS, `at most ${MAX_LABEL_CHARS} characters (a Messenger button title)`);

/** A button template holds at most 640 characters of text (Messenger). */
const QuestionText = Text.refine((s) => Array.from(s).length <= 640, 'at most 640 characters (a Messenger button template)');

/** Zalo shows at most 5 buttons in a message. */
const MAX_OPTIONS = 5;

const optionBase = {
  id: Slug,
  /** The button title. */
  label: Label,
  /** A longer wording where the button cannot hold it (shown in reports and lists). */
  text: Text.optional(),
  /** The wording of the legal text this option corresponds to, where there is one. */
  legalText: Text.optional(),
};

const IndexOption = z
  .strictObject({
    ...optionBase,
    /** TT 01/2018 points of this option. */
    points: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
    /**
     * The option is worth the points the respondent's answer to that (earlier) index question
     * was worth: index 7 without harassment scores by timeliness (2 early, 1 on time), the
     * timeliness that index 1 asked.
     */
    pointsFrom: Slug.optional(),
  })
  .refine((o) => (o.points === undefined) !== (o.pointsFrom === undefined), 'give exactly one of points or pointsFrom');

const SatisfactionOption = z.strictObject({ ...optionBase, level: SatisfactionLevel });
const CriterionOption = z.strictObject({ ...optionBase, positive: z.boolean() });

const questionBase = {
  id: Slug,
  /** What the bot asks. */
  text: QuestionText,
  /** A citizen may skip it ("Bỏ qua"). */
  optional: z.boolean().default(true),
};

const IndexQuestion = z.strictObject({
  ...questionBase,
  type: z.literal('index'),
  /** The TT 01/2018/TT-VPCP index number (Điều 13). */
  index: z.number().int().min(1).max(9),
  /** The exact name of the index in Điều 13. */
  legalName: Text,
  options: z.array(IndexOption).min(2).max(MAX_OPTIONS),
});

const SatisfactionQuestion = z.strictObject({
  ...questionBase,
  type: z.literal('satisfaction'),
  /** overall = "Đánh giá tổng thể dịch vụ"; element = one SIPAS element. */
  role: z.enum(['overall', 'element']),
  element: Slug.optional(),
  scale: z.union([z.literal(3), z.literal(5)]),
  options: z.array(SatisfactionOption).min(3).max(MAX_OPTIONS),
});

const CriterionQuestion = z.strictObject({
  ...questionBase,
  type: z.literal('criterion'),
  element: Slug,
  options: z.array(CriterionOption).min(2).max(MAX_OPTIONS),
});

const CommentQuestion = z.strictObject({
  ...questionBase,
  type: z.literal('comment'),
  maxLength: z.number().int().min(50).max(2000).default(1000),
});

export const SurveyQuestion = z.discriminatedUnion('type', [IndexQuestion, SatisfactionQuestion, CriterionQuestion, CommentQuestion]);
export type SurveyQuestion = z.infer<typeof SurveyQuestion>;
export type ChoiceQuestion = Exclude<SurveyQuestion, { type: 'comment' }>;
export type SurveyOption = ChoiceQuestion['options'][number];

export const SurveyElement = z.strictObject({ id: Slug, name: Text });

export const SurveyKind = z.enum(['dossier', 'periodic']);
export type SurveyKind = z.infer<typeof SurveyKind>;

export const SurveyDefinition = z
  .strictObject({
    id: Slug,
    version: z.number().int().min(1),
    /**
     * Definitions of one family answer the same occasion: a respondent gives one response per
     * occasion per family (the 3- and 5-level dossier evaluations are one family). Default: id.
     */
    family: Slug.optional(),
    /** dossier: the occasion is a dossier code; periodic: a period such as 2026-Q3. */
    kind: SurveyKind,
    title: Text,
    intro: QuestionText,
    thanks: QuestionText,
    /** Where the questions come from (legal basis), for officers. */
    source: Text.optional(),
    elements: z.array(SurveyElement).default([]),
    questions: z.array(SurveyQuestion).min(1),
  })
  .superRefine((d, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const elementIds = new Set<string>();
    d.elements.forEach((e, i) => {
      if (elementIds.has(e.id)) issue(['elements', i, 'id'], `duplicate element id "${e.id}"`);
      elementIds.add(e.id);
    });
    const seen = new Map<string, SurveyQuestion>();
    const indices = new Set<number>();
    const elementSatisfaction = new Set<string>();
    let overall = 0;
    d.questions.forEach((q, qi) => {
      const at = (...rest: PropertyKey[]) => ['questions', qi, ...rest];
      if (seen.has(q.id)) issue(at('id'), `duplicate question id "${q.id}"`);
      if (q.type !== 'comment') {
        const optionIds = new Set<string>();
        q.options.forEach((o, oi) => {
          if (optionIds.has(o.id)) issue(at('options', oi, 'id'), `duplicate option id "${o.id}"`);
          optionIds.add(o.id);
        });
      }
      if (q.type === 'index') {
        if (indices.has(q.index)) issue(at('index'), `index ${q.index} is asked twice`);
        indices.add(q.index);
        q.options.forEach((o, oi) => {
          if (o.pointsFrom === undefined) return;
          const ref = seen.get(o.pointsFrom);
          if (!ref || ref.type !== 'index') {
            issue(at('options', oi, 'pointsFrom'), `"${o.pointsFrom}" is not an index question asked before this one`);
          } else if (ref.options.some((r) => r.points === undefined)) {
            issue(at('options', oi, 'pointsFrom'), `"${o.pointsFrom}" must give fixed points on every option`);
          }
        });
      }
      if (q.type === 'satisfaction') {
        const want = SCALE_LEVELS[q.scale];
        const got = q.options.map((o) => o.level);
        if (got.length !== want.length || want.some((l) => !got.includes(l))) {
          issue(at('options'), `a ${q.scale}-level scale needs exactly the levels ${want.join(', ')} (got ${got.join(', ')})`);
        }
        if (q.role === 'overall') {
          overall += 1;
          if (overall > 1) issue(at('role'), 'only one overall question per definition');
          if (q.element !== undefined) issue(at('element'), 'the overall question belongs to no element');
        } else if (q.element === undefined) {
          issue(at('element'), 'an element question names its element');
        } else {
          if (elementSatisfaction.has(q.element)) issue(at('element'), `element "${q.element}" already has a satisfaction question`);
          elementSatisfaction.add(q.element);
        }
      }
      if ((q.type === 'satisfaction' || q.type === 'criterion') && q.element !== undefined && !elementIds.has(q.element)) {
        issue(at('element'), `unknown element "${q.element}" (declare it under elements)`);
      }
      seen.set(q.id, q);
    });
    if (d.kind === 'periodic' && indices.size > 0) issue(['kind'], 'TT 01/2018 indices are scored per dossier: index questions need kind "dossier"');
  });
export type SurveyDefinition = z.infer<typeof SurveyDefinition>;

/** The family a definition belongs to (one response per respondent per occasion per family). */
export const familyOf = (d: Pick<SurveyDefinition, 'id' | 'family'>): string => d.family ?? d.id;

/**
 * A fingerprint of what stored answers mean (ids, kinds, points, levels, classifications) and
 * not of the wording: a version whose fingerprint changes after answers exist must become a new
 * version (the repository refuses it).
 */
export function meaningHash(d: SurveyDefinition): string {
  const meaning = {
    family: familyOf(d),
    kind: d.kind,
    questions: d.questions.map((q) => ({
      id: q.id,
      type: q.type,
      ...(q.type === 'index' ? { index: q.index } : {}),
      ...(q.type === 'satisfaction' ? { role: q.role, element: q.element ?? null, scale: q.scale } : {}),
      ...(q.type === 'criterion' ? { element: q.element } : {}),
      options:
        q.type === 'comment'
          ? []
          : q.options.map((o) => ({
              id: o.id,
              ...('points' in o ? { points: o.points ?? null, pointsFrom: o.pointsFrom ?? null } : {}),
              ...('level' in o ? { level: o.level } : {}),
              ...('positive' in o ? { positive: o.positive } : {}),
            })),
    })),
  };
  return createHash('sha256').update(JSON.stringify(meaning)).digest('hex');
}

// --- what an answer stores ---------------------------------------------------------------------------

/** The classification of an option, fixed when the answer is given. */
export interface OptionMeaning {
  /** Points (index), 1–5 (satisfaction), 1/0 (criterion); null when it depends on another answer. */
  value: number | null;
  /** Satisfaction: Rất hài lòng or Hài lòng; criterion: the positive answer; index: null. */
  satisfied: boolean | null;
  level: SatisfactionLevel | null;
}

export function optionMeaning(q: ChoiceQuestion, optionId: string): OptionMeaning | undefined {
  switch (q.type) {
    case 'index': {
      const o = q.options.find((x) => x.id === optionId);
      return o && { value: o.points ?? null, satisfied: null, level: null };
    }
    case 'satisfaction': {
      const o = q.options.find((x) => x.id === optionId);
      return o && { value: LEVEL_VALUE[o.level], satisfied: isSatisfied(o.level), level: o.level };
    }
    case 'criterion': {
      const o = q.options.find((x) => x.id === optionId);
      return o && { value: o.positive ? 1 : 0, satisfied: o.positive, level: null };
    }
  }
}

// --- per-unit wording ----------------------------------------------------------------------------------

const OptionWording = z.strictObject({ label: Label.optional(), text: Text.optional() });
const QuestionWording = z.strictObject({
  text: QuestionText.optional(),
  options: z.record(Slug, OptionWording).optional(),
});

/** A unit's wording for one definition id (every version): labels and texts only, never ids or values. */
export const DefinitionWording = z.strictObject({
  title: Text.optional(),
  intro: QuestionText.optional(),
  thanks: QuestionText.optional(),
  elements: z.record(Slug, z.strictObject({ name: Text })).optional(),
  questions: z.record(Slug, QuestionWording).optional(),
});
export type DefinitionWording = z.infer<typeof DefinitionWording>;

/** surveys/overrides/<unit>.yaml (the same document could later live in a table, per unit). */
export const UnitOverrides = z.strictObject({
  unit: z.string().regex(/^[a-z0-9-]+$/, 'a unit id'),
  surveys: z.record(Slug, DefinitionWording),
});
export type UnitOverrides = z.infer<typeof UnitOverrides>;

/** The definition as a unit words it. Ids, points, levels and order are untouched. */
export function applyWording(d: SurveyDefinition, w: DefinitionWording | undefined): SurveyDefinition {
  if (!w) return d;
  return {
    ...d,
    title: w.title ?? d.title,
    intro: w.intro ?? d.intro,
    thanks: w.thanks ?? d.thanks,
    elements: d.elements.map((e) => ({ ...e, name: w.elements?.[e.id]?.name ?? e.name })),
    questions: d.questions.map((q): SurveyQuestion => {
      const qw = w.questions?.[q.id];
      if (!qw) return q;
      const text = qw.text ?? q.text;
      switch (q.type) {
        case 'comment':
          return { ...q, text };
        case 'index':
          return { ...q, text, options: q.options.map((o) => ({ ...o, ...pickWording(qw.options?.[o.id]) })) };
        case 'satisfaction':
          return { ...q, text, options: q.options.map((o) => ({ ...o, ...pickWording(qw.options?.[o.id]) })) };
        case 'criterion':
          return { ...q, text, options: q.options.map((o) => ({ ...o, ...pickWording(qw.options?.[o.id]) })) };
      }
    }),
  };
}

function pickWording(w: z.infer<typeof OptionWording> | undefined): { label?: string; text?: string } {
  return { ...(w?.label !== undefined ? { label: w.label } : {}), ...(w?.text !== undefined ? { text: w.text } : {}) };
}
