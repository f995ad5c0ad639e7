// Survey responses and answers in the database (migrations/007_surveys.sql): start a response
// (one per respondent per occasion, enforced by a UNIQUE constraint, so two taps on the same QR
// code in the same second still make one row), answer / skip / comment (idempotent per question:
// the last choice for a question is the one kept), complete, cancel, and resume an unfinished one.
// Every answer stores what it meant under the definition version it was given with.
import { z } from 'zod';
import { maskDigits } from '../conversation/input.js';
import type { Database, Queryable } from '../store/database.js';
import {
  familyOf,
  meaningHash,
  optionMeaning,
  SatisfactionLevel,
  type SurveyDefinition,
  type SurveyQuestion,
} from './definition.js';
import type { SurveyRegistry } from './definition-loader.js';
import { parsePeriod, PeriodError } from './period.js';
import { respondentHash } from './respondent.js';

export const SurveyChannel = z.enum(['messenger', 'zalo', 'web', 'api', 'cli']);
export type SurveyChannel = z.infer<typeof SurveyChannel>;

export type Occasion = { kind: 'dossier'; code: string } | { kind: 'period'; period: string };
export type ResponseStatus = 'in_progress' | 'completed' | 'cancelled';

export interface SurveyResponse {
  id: number;
  unitId: string;
  definitionId: string;
  definitionVersion: number;
  family: string;
  occasionKind: 'dossier' | 'period';
  occasion: string;
  channel: SurveyChannel;
  procedureCode: string | null;
  field: string | null;
  status: ResponseStatus;
  currentQuestion: string | null;
  overallLevel: SatisfactionLevel | null;
  overallSatisfied: boolean | null;
  /** TT 01/2018 points by index number: indexPoints[0] is index 1. Set on completion. */
  indexPoints: Array<number | null> | null;
  dossierCounted: boolean;
  startedAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

export interface StoredAnswer {
  questionId: string;
  position: number;
  kind: 'index' | 'satisfaction' | 'criterion' | 'comment';
  optionId: string | null;
  value: number | null;
  satisfied: boolean | null;
  level: SatisfactionLevel | null;
  skipped: boolean;
  comment: string | null;
}

/** Where a response stands: the definition in the unit's wording and the next question to ask. */
export interface Progress {
  response: SurveyResponse;
  definition: SurveyDefinition;
  /** null when every question has an answer (the caller completes the response). */
  next: SurveyQuestion | null;
}

export interface StartResult extends Progress {
  /** false when the respondent already had a response for this occasion (returned as it is). */
  created: boolean;
}

export type SurveyErrorCode =
  | 'SURVEY_UNKNOWN_DEFINITION'
  | 'SURVEY_BAD_OCCASION'
  | 'SURVEY_NOT_FOUND'
  | 'SURVEY_CLOSED'
  | 'SURVEY_UNKNOWN_QUESTION'
  | 'SURVEY_UNKNOWN_OPTION'
  | 'SURVEY_WRONG_QUESTION_TYPE'
  | 'SURVEY_NOT_SKIPPABLE'
  | 'SURVEY_EMPTY_COMMENT'
  | 'SURVEY_DEFINITION_CHANGED';

export class SurveyError extends Error {
  constructor(
    readonly code: SurveyErrorCode,
    detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'SurveyError';
  }
}

export interface StartInput {
  /** The latest version of this definition is used for a new response. */
  definitionId: string;
  unitId: string;
  channel: SurveyChannel;
  /** Hashed with the key before it reaches the database; never stored. */
  platformUserId: string;
  occasion: Occasion;
  procedureCode?: string | null;
  field?: string | null;
  at?: Date;
}

export interface RespondentRef {
  channel: SurveyChannel;
  platformUserId: string;
  unitId?: string;
  family?: string;
}

interface ResponseRow {
  id: string | number;
  unit_id: string;
  definition_id: string;
  definition_version: number;
  family: string;
  occasion_kind: 'dossier' | 'period';
  occasion: string;
  channel: SurveyChannel;
  procedure_code: string | null;
  field: string | null;
  status: ResponseStatus;
  current_question: string | null;
  overall_level: SatisfactionLevel | null;
  overall_satisfied: boolean | null;
  index_points: Array<number | null> | null;
  dossier_counted: boolean;
  started_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

const COLUMNS = `id, unit_id, definition_id, definition_version, family, occasion_kind, occasion, channel, procedure_code, field,
  status, current_question, overall_level, overall_satisfied, index_points, dossier_counted, started_at, updated_at, completed_at`;

const toResponse = (r: ResponseRow): SurveyResponse => ({
  id: Number(r.id),
  unitId: r.unit_id,
  definitionId: r.definition_id,
  definitionVersion: Number(r.definition_version),
  family: r.family,
  occasionKind: r.occasion_kind,
  occasion: r.occasion,
  channel: r.channel,
  procedureCode: r.procedure_code,
  field: r.field,
  status: r.status,
  currentQuestion: r.current_question,
  overallLevel: r.overall_level,
  overallSatisfied: r.overall_satisfied,
  indexPoints: r.index_points ? r.index_points.map((v) => (v === null ? null : Number(v))) : null,
  dossierCounted: r.dossier_counted,
  startedAt: r.started_at,
  updatedAt: r.updated_at,
  completedAt: r.completed_at,
});

/** Free text as typed, made safe to keep: NFC, no control characters, one line of spaces, digits masked. */
export function cleanComment(raw: string, maxLength: number): string {
  const cleaned = maskDigits(
    raw
      .normalize('NFC')
      .replace(/[\p{Cc}\p{Cf}]+/gu, ' ')
      .replace(/\s+/gu, ' ')
      .trim(),
  );
  return Array.from(cleaned).slice(0, maxLength).join('').trim();
}

/** A dossier code as typed on a receipt: trimmed, inner spaces removed, upper case, printable. */
function dossierCode(raw: string): string {
  const code = raw.normalize('NFC').replace(/\s+/gu, '').toUpperCase();
  if (code.length < 1 || code.length > 100 || /[\p{Cc}\p{Cf}]/u.test(code)) {
    throw new SurveyError('SURVEY_BAD_OCCASION', 'a dossier code has 1 to 100 printable characters');
  }
  return code;
}

export interface SurveyRepositoryOptions {
  /** Keys the respondents' HMAC (the server's SECRET_KEY). */
  respondentKey: string;
}

export class SurveyRepository {
  /** Definition versions already checked against the database in this process. */
  private readonly synced = new Set<string>();

  constructor(
    private readonly db: Database,
    private readonly registry: SurveyRegistry,
    private readonly opts: SurveyRepositoryOptions,
  ) {
    respondentHash(opts.respondentKey, 'check', 'check'); // fails fast on a short key
  }

  /**
   * Records every loaded definition version (call at start-up to find a changed meaning early);
   * throws SURVEY_DEFINITION_CHANGED naming the first version whose file no longer means what
   * the database recorded.
   */
  async syncDefinitions(): Promise<void> {
    for (const d of this.registry.all()) await this.ensureDefinition(d);
  }

  private async ensureDefinition(d: SurveyDefinition): Promise<void> {
    const key = `${d.id}@${d.version}`;
    if (this.synced.has(key)) return;
    const hash = meaningHash(d);
    await this.db.query(
      `INSERT INTO survey_definitions (id, version, family, kind, meaning_hash, body) VALUES ($1, $2, $3, $4, $5, $6::jsonb)
       ON CONFLICT (id, version) DO NOTHING`,
      [d.id, d.version, familyOf(d), d.kind, hash, JSON.stringify(d)],
    );
    const [row] = await this.db.query<{ meaning_hash: string }>('SELECT meaning_hash FROM survey_definitions WHERE id = $1 AND version = $2', [d.id, d.version]);
    if (row?.meaning_hash !== hash) {
      throw new SurveyError(
        'SURVEY_DEFINITION_CHANGED',
        `${d.id} version ${d.version}: ids, points, levels or classifications differ from the version already used; publish the change as version ${d.version + 1}`,
      );
    }
    this.synced.add(key);
  }

  private definitionOf(r: Pick<SurveyResponse, 'definitionId' | 'definitionVersion'>): SurveyDefinition {
    const d = this.registry.get(r.definitionId, r.definitionVersion);
    if (!d) throw new SurveyError('SURVEY_UNKNOWN_DEFINITION', `${r.definitionId} version ${r.definitionVersion} is no longer in surveys/`);
    return d;
  }

  private progress(response: SurveyResponse): Progress {
    const definition = this.registry.forUnit(this.definitionOf(response), response.unitId);
    const next = response.currentQuestion === null ? null : (definition.questions.find((q) => q.id === response.currentQuestion) ?? null);
    return { response, definition, next };
  }

  async start(input: StartInput): Promise<StartResult> {
    const def = this.registry.latest(input.definitionId);
    if (!def) throw new SurveyError('SURVEY_UNKNOWN_DEFINITION', `no survey definition "${input.definitionId}"`);
    const channel = SurveyChannel.parse(input.channel);
    let occasion: string;
    if (def.kind === 'dossier') {
      if (input.occasion.kind !== 'dossier') throw new SurveyError('SURVEY_BAD_OCCASION', `${def.id} is answered per dossier: give a dossier code`);
      occasion = dossierCode(input.occasion.code);
    } else {
      if (input.occasion.kind !== 'period') throw new SurveyError('SURVEY_BAD_OCCASION', `${def.id} is periodic: give a period such as 2026-Q3`);
      try {
        occasion = parsePeriod(input.occasion.period).code;
      } catch (err) {
        if (err instanceof PeriodError) throw new SurveyError('SURVEY_BAD_OCCASION', err.message);
        throw err;
      }
    }
    await this.ensureDefinition(def);
    const respondent = respondentHash(this.opts.respondentKey, channel, input.platformUserId);
    const at = input.at ?? new Date();
    const first = def.questions[0]?.id ?? null;
    const family = familyOf(def);
    const procedureCode = input.procedureCode?.trim() || null;
    const field = input.field?.normalize('NFC').trim() || null;

    const { row, created } = await this.db.transaction(async (tx) => {
      // A cancelled response is reopened from the start with the current version: the person
      // stopped, and is now answering again.
      const reopened = await tx.query<ResponseRow>(
        `UPDATE survey_responses SET status = 'in_progress', cancelled_at = NULL, definition_id = $5, definition_version = $6,
           current_question = $7, channel = $8, procedure_code = $9, field = $10, started_at = $11, updated_at = $11,
           overall_level = NULL, overall_satisfied = NULL, index_points = NULL, dossier_counted = true
         WHERE respondent = $1 AND unit_id = $2 AND family = $3 AND occasion = $4 AND status = 'cancelled'
         RETURNING ${COLUMNS}`,
        [respondent, input.unitId, family, occasion, def.id, def.version, first, channel, procedureCode, field, at],
      );
      if (reopened[0]) {
        await tx.query('DELETE FROM survey_answers WHERE response_id = $1', [reopened[0].id]);
        return { row: reopened[0], created: true };
      }
      const inserted = await tx.query<ResponseRow>(
        `INSERT INTO survey_responses (unit_id, definition_id, definition_version, family, occasion_kind, occasion, respondent,
           channel, procedure_code, field, current_question, started_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
         ON CONFLICT ON CONSTRAINT survey_responses_one_per_occasion DO NOTHING
         RETURNING ${COLUMNS}`,
        [input.unitId, def.id, def.version, family, input.occasion.kind, occasion, respondent, channel, procedureCode, field, first, at],
      );
      if (inserted[0]) return { row: inserted[0], created: true };
      // Someone (another tap, another process) got there first: theirs is the response.
      const existing = await tx.query<ResponseRow>(
        `SELECT ${COLUMNS} FROM survey_responses WHERE respondent = $1 AND unit_id = $2 AND family = $3 AND occasion = $4`,
        [respondent, input.unitId, family, occasion],
      );
      if (!existing[0]) throw new Error('survey response vanished between insert and select');
      return { row: existing[0], created: false };
    });
    return { ...this.progress(toResponse(row)), created };
  }

  async get(id: number): Promise<SurveyResponse | undefined> {
    const [row] = await this.db.query<ResponseRow>(`SELECT ${COLUMNS} FROM survey_responses WHERE id = $1`, [id]);
    return row && toResponse(row);
  }

  async answers(id: number): Promise<StoredAnswer[]> {
    const rows = await this.db.query<{
      question_id: string;
      position: number;
      kind: StoredAnswer['kind'];
      option_id: string | null;
      value: number | null;
      satisfied: boolean | null;
      level: SatisfactionLevel | null;
      skipped: boolean;
      comment: string | null;
    }>(
      `SELECT question_id, position, kind, option_id, value, satisfied, level, skipped, comment
       FROM survey_answers WHERE response_id = $1 ORDER BY position`,
      [id],
    );
    return rows.map((r) => ({
      questionId: r.question_id,
      position: Number(r.position),
      kind: r.kind,
      optionId: r.option_id,
      value: r.value === null ? null : Number(r.value),
      satisfied: r.satisfied,
      level: r.level,
      skipped: r.skipped,
      comment: r.comment,
    }));
  }

  /** Records the chosen option (again: the same row, last choice kept). */
  answer(id: number, questionId: string, optionId: string, at: Date = new Date()): Promise<Progress> {
    return this.record(id, questionId, at, (q) => {
      if (q.type === 'comment') throw new SurveyError('SURVEY_WRONG_QUESTION_TYPE', `"${questionId}" takes text, not an option`);
      const meaning = optionMeaning(q, optionId);
      if (!meaning) throw new SurveyError('SURVEY_UNKNOWN_OPTION', `"${optionId}" is not an option of "${questionId}"`);
      const pointsFrom = q.type === 'index' ? q.options.find((o) => o.id === optionId)?.pointsFrom : undefined;
      return { optionId, ...meaning, skipped: false, comment: null, pointsFrom };
    });
  }

  /** Records a free-text answer, digits masked, cut to the question's length. */
  comment(id: number, questionId: string, text: string, at: Date = new Date()): Promise<Progress> {
    return this.record(id, questionId, at, (q) => {
      if (q.type !== 'comment') throw new SurveyError('SURVEY_WRONG_QUESTION_TYPE', `"${questionId}" takes an option, not text`);
      const comment = cleanComment(text, q.maxLength);
      if (comment === '') throw new SurveyError('SURVEY_EMPTY_COMMENT', 'the comment is empty');
      return { optionId: null, value: null, satisfied: null, level: null, skipped: false, comment, pointsFrom: undefined };
    });
  }

  /** "Bỏ qua": the question is answered as skipped (and counts in no figure). */
  skip(id: number, questionId: string, at: Date = new Date()): Promise<Progress> {
    return this.record(id, questionId, at, (q) => {
      if (!q.optional) throw new SurveyError('SURVEY_NOT_SKIPPABLE', `"${questionId}" cannot be skipped`);
      return { optionId: null, value: null, satisfied: null, level: null, skipped: true, comment: null, pointsFrom: undefined };
    });
  }

  private async record(
    id: number,
    questionId: string,
    at: Date,
    decide: (q: SurveyQuestion) => {
      optionId: string | null;
      value: number | null;
      satisfied: boolean | null;
      level: SatisfactionLevel | null;
      skipped: boolean;
      comment: string | null;
      pointsFrom: string | undefined;
    },
  ): Promise<Progress> {
    const row = await this.db.transaction(async (tx) => {
      const response = await lockOpen(tx, id);
      const def = this.definitionOf(response);
      const position = def.questions.findIndex((q) => q.id === questionId);
      const q = def.questions[position];
      if (!q) throw new SurveyError('SURVEY_UNKNOWN_QUESTION', `"${questionId}" is not a question of ${def.id} version ${def.version}`);
      const a = decide(q);
      let value = a.value;
      if (a.pointsFrom !== undefined) {
        const [ref] = await tx.query<{ value: number | null }>(
          'SELECT value FROM survey_answers WHERE response_id = $1 AND question_id = $2 AND NOT skipped',
          [id, a.pointsFrom],
        );
        value = ref?.value === undefined || ref.value === null ? null : Number(ref.value);
      }
      await tx.query(
        `INSERT INTO survey_answers (response_id, question_id, position, kind, role, element_id, index_no, option_id, value, satisfied, level, skipped, comment, answered_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (response_id, question_id) DO UPDATE SET option_id = $8, value = $9, satisfied = $10, level = $11, skipped = $12, comment = $13, answered_at = $14`,
        [
          id,
          q.id,
          position,
          q.type,
          q.type === 'satisfaction' ? q.role : null,
          q.type === 'satisfaction' || q.type === 'criterion' ? (q.element ?? null) : null,
          q.type === 'index' ? q.index : null,
          a.optionId,
          value,
          a.satisfied,
          a.level,
          a.skipped,
          a.comment,
          at,
        ],
      );
      // Options worth what this answer is worth (index 7 by timeliness) follow it.
      for (const dep of def.questions) {
        if (dep.type !== 'index') continue;
        const following = dep.options.filter((o) => o.pointsFrom === q.id).map((o) => o.id);
        if (following.length === 0) continue;
        await tx.query('UPDATE survey_answers SET value = $3 WHERE response_id = $1 AND question_id = $2 AND option_id = ANY($4::text[])', [
          id,
          dep.id,
          a.skipped ? null : value,
          following,
        ]);
      }
      const answered = new Set((await tx.query<{ question_id: string }>('SELECT question_id FROM survey_answers WHERE response_id = $1', [id])).map((r) => r.question_id));
      const next = def.questions.find((x) => !answered.has(x.id))?.id ?? null;
      const overall = q.type === 'satisfaction' && q.role === 'overall';
      const [updated] = await tx.query<ResponseRow>(
        `UPDATE survey_responses SET current_question = $2, updated_at = $3,
           overall_level = CASE WHEN $4::boolean THEN $5::text ELSE overall_level END,
           overall_satisfied = CASE WHEN $4::boolean THEN $6::boolean ELSE overall_satisfied END
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, next, at, overall, overall ? a.level : null, overall ? a.satisfied : null],
      );
      if (!updated) throw new SurveyError('SURVEY_NOT_FOUND', `no survey response ${id}`);
      return updated;
    });
    return this.progress(toResponse(row));
  }

  /**
   * Completes the response (again: returns it unchanged). Its index points are summed up here;
   * of several completed responses on the same dossier, the latest is the one Điều 15 counts.
   */
  async complete(id: number, at: Date = new Date()): Promise<SurveyResponse> {
    const row = await this.db.transaction(async (tx) => {
      // The occasion of a response never changes: read it, then lock the dossier's responses
      // (this one included) in id order, so two completing at once neither deadlock nor both count.
      const [peek] = await tx.query<Pick<ResponseRow, 'unit_id' | 'family' | 'occasion' | 'occasion_kind'>>(
        'SELECT unit_id, family, occasion, occasion_kind FROM survey_responses WHERE id = $1',
        [id],
      );
      if (!peek) throw new SurveyError('SURVEY_NOT_FOUND', `no survey response ${id}`);
      if (peek.occasion_kind === 'dossier') {
        await tx.query('SELECT id FROM survey_responses WHERE unit_id = $1 AND family = $2 AND occasion = $3 ORDER BY id FOR UPDATE', [
          peek.unit_id,
          peek.family,
          peek.occasion,
        ]);
      }
      const [current] = await tx.query<ResponseRow>(`SELECT ${COLUMNS} FROM survey_responses WHERE id = $1 FOR UPDATE`, [id]);
      if (!current) throw new SurveyError('SURVEY_NOT_FOUND', `no survey response ${id}`);
      if (current.status === 'completed') return current;
      if (current.status === 'cancelled') throw new SurveyError('SURVEY_CLOSED', `survey response ${id} was cancelled`);
      if (current.occasion_kind === 'dossier') {
        await tx.query(
          `UPDATE survey_responses SET dossier_counted = false
           WHERE unit_id = $1 AND family = $2 AND occasion = $3 AND id <> $4 AND status = 'completed' AND dossier_counted`,
          [current.unit_id, current.family, current.occasion, id],
        );
      }
      const [done] = await tx.query<ResponseRow>(
        `UPDATE survey_responses r SET status = 'completed', completed_at = $2, updated_at = $2, current_question = NULL, dossier_counted = true,
           index_points = (
             SELECT CASE WHEN count(a.value) = 0 THEN NULL ELSE array_agg(a.value ORDER BY i) END
             FROM generate_series(1, 9) AS i
             LEFT JOIN survey_answers a ON a.response_id = r.id AND a.kind = 'index' AND a.index_no = i AND NOT a.skipped
           )
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, at],
      );
      if (!done) throw new SurveyError('SURVEY_NOT_FOUND', `no survey response ${id}`);
      return done;
    });
    return toResponse(row);
  }

  /** Stops an unfinished response ("dừng"); its answers stay but count in no figure. */
  async cancel(id: number, at: Date = new Date()): Promise<SurveyResponse> {
    const [row] = await this.db.query<ResponseRow>(
      `UPDATE survey_responses SET status = 'cancelled', cancelled_at = $2, updated_at = $2, current_question = NULL
       WHERE id = $1 AND status = 'in_progress' RETURNING ${COLUMNS}`,
      [id, at],
    );
    if (row) return toResponse(row);
    const current = await this.get(id);
    if (!current) throw new SurveyError('SURVEY_NOT_FOUND', `no survey response ${id}`);
    if (current.status === 'completed') throw new SurveyError('SURVEY_CLOSED', `survey response ${id} is already completed`);
    return current;
  }

  /** The respondent's most recent unfinished response (optionally of one unit / family), where it stopped. */
  async resume(who: RespondentRef): Promise<Progress | undefined> {
    const respondent = respondentHash(this.opts.respondentKey, SurveyChannel.parse(who.channel), who.platformUserId);
    const [row] = await this.db.query<ResponseRow>(
      `SELECT ${COLUMNS} FROM survey_responses
       WHERE respondent = $1 AND status = 'in_progress' AND ($2::text IS NULL OR unit_id = $2) AND ($3::text IS NULL OR family = $3)
       ORDER BY updated_at DESC, id DESC LIMIT 1`,
      [respondent, who.unitId ?? null, who.family ?? null],
    );
    return row && this.progress(toResponse(row));
  }
}

async function lockOpen(tx: Queryable, id: number): Promise<SurveyResponse> {
  const [row] = await tx.query<ResponseRow>(`SELECT ${COLUMNS} FROM survey_responses WHERE id = $1 FOR UPDATE`, [id]);
  if (!row) throw new SurveyError('SURVEY_NOT_FOUND', `no survey response ${id}`);
  if (row.status !== 'in_progress') throw new SurveyError('SURVEY_CLOSED', `survey response ${id} is ${row.status}`);
  return toResponse(row);
}
