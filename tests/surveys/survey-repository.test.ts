// Responses and answers in the database: one response per respondent per occasion (also under
// concurrent double submissions, on real PostgreSQL), answers idempotent per question, skip,
// comments with digits masked, index 7 scored by timeliness, resumption after an interruption,
// complete / cancel / reopen, and a definition whose meaning changed under a published version.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { Database } from '../../src/store/database.js';
import { loadSurveyRegistry, type SurveyRegistry } from '../../src/surveys/definition-loader.js';
import { respondentHash } from '../../src/surveys/respondent.js';
import { SurveyError, SurveyRepository, cleanComment, type StartInput } from '../../src/surveys/survey-repository.js';
import { isolatedName } from '../helpers/services.js';
import { KEY, dropSchema, openTestDatabase, surveysCopy, unit, type Backend } from './harness.js';

const T0 = new Date('2026-08-10T02:00:00Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

const dossier = (userId: string, code = 'HS-001', extra: Partial<StartInput> = {}): StartInput => ({
  definitionId: 'dossier-evaluation',
  unitId: 'xa-a',
  channel: 'zalo',
  platformUserId: userId,
  occasion: { kind: 'dossier', code },
  procedureCode: '1.001193',
  field: 'Hộ tịch',
  at: T0,
  ...extra,
});

async function expectSurveyError(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(SurveyError);
  await expect(p).rejects.toMatchObject({ code });
}

const schemas: string[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const s of schemas) await dropSchema(s);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

let registry: SurveyRegistry;
beforeAll(() => {
  const dir = surveysCopy();
  dirs.push(dir);
  fs.writeFileSync(
    path.join(dir, 'overrides/xa-a.yaml'),
    stringify({ unit: 'xa-a', surveys: { 'dossier-evaluation': { questions: { 'agency-count': { text: 'Bà con đã phải liên hệ mấy nơi?' } } } } }),
  );
  // A survey with a question that cannot be skipped.
  fs.mkdirSync(path.join(dir, 'strict'));
  fs.writeFileSync(
    path.join(dir, 'strict/v1.yaml'),
    stringify({
      id: 'strict',
      version: 1,
      kind: 'periodic',
      title: 'Khảo sát thử',
      intro: 'Mời trả lời.',
      thanks: 'Cảm ơn.',
      questions: [
        { id: 'overall', type: 'satisfaction', role: 'overall', scale: 3, optional: false, text: 'Hài lòng không?', options: [
          { id: 'a', label: 'Rất hài lòng', level: 'very_satisfied' },
          { id: 'b', label: 'Hài lòng', level: 'satisfied' },
          { id: 'c', label: 'Không hài lòng', level: 'dissatisfied' },
        ] },
      ],
    }),
  );
  registry = loadSurveyRegistry(dir);
});

describe.each(['pglite', 'postgres'] as const)('survey repository on %s', (backend: Backend) => {
  let db: Database;
  let repo: SurveyRepository;
  const schema = isolatedName('surveys_repo');
  beforeAll(async () => {
    if (backend === 'postgres') schemas.push(schema);
    db = await openTestDatabase(backend, schema, [unit('xa-a'), unit('xa-b')]);
    repo = new SurveyRepository(db, registry, { respondentKey: KEY });
    await repo.syncDefinitions();
  });
  afterAll(() => db?.close());

  it('starts once per respondent and dossier; the respondent is stored only as a keyed hash', async () => {
    const first = await repo.start(dossier('zalo-user-8841', ' hs-001 '));
    expect(first.created).toBe(true);
    expect(first.response).toMatchObject({ status: 'in_progress', occasionKind: 'dossier', occasion: 'HS-001', definitionVersion: 1, currentQuestion: 'total-time', family: 'dossier-evaluation' });
    expect(first.next?.id).toBe('total-time');
    const again = await repo.start(dossier('zalo-user-8841', 'HS-001', { at: at(5) }));
    expect(again.created).toBe(false);
    expect(again.response.id).toBe(first.response.id);
    // The 5-level form is the same family: still the same response for this dossier.
    const five = await repo.start(dossier('zalo-user-8841', 'HS-001', { definitionId: 'dossier-evaluation-5' }));
    expect(five.response.id).toBe(first.response.id);
    // Another person, another dossier, another unit, another channel: new responses.
    expect((await repo.start(dossier('zalo-user-9999'))).created).toBe(true);
    expect((await repo.start(dossier('zalo-user-8841', 'HS-002'))).created).toBe(true);
    expect((await repo.start(dossier('zalo-user-8841', 'HS-001', { unitId: 'xa-b' }))).created).toBe(true);
    expect((await repo.start(dossier('zalo-user-8841', 'HS-001', { channel: 'messenger' }))).created).toBe(true);

    const rows = await db.query<Record<string, unknown>>('SELECT * FROM survey_responses WHERE id = $1', [first.response.id]);
    expect(rows[0]?.respondent).toBe(respondentHash(KEY, 'zalo', 'zalo-user-8841'));
    expect(JSON.stringify(rows)).not.toContain('8841');
    expect(respondentHash(KEY, 'zalo', 'zalo-user-8841')).not.toBe(respondentHash('một-khóa-khác-hẳn-0123456789', 'zalo', 'zalo-user-8841'));
  });

  it('refuses an occasion of the wrong kind, a bad period and an unknown definition', async () => {
    await expectSurveyError(repo.start(dossier('u1', 'HS-9', { definitionId: 'sipas' })), 'SURVEY_BAD_OCCASION');
    await expectSurveyError(repo.start({ ...dossier('u1'), definitionId: 'sipas', occasion: { kind: 'period', period: '2026-Q5' } }), 'SURVEY_BAD_OCCASION');
    await expectSurveyError(repo.start(dossier('u1', 'HS-9', { occasion: { kind: 'period', period: '2026-Q3' } })), 'SURVEY_BAD_OCCASION');
    await expectSurveyError(repo.start(dossier('u1', 'HS-9', { definitionId: 'khong-co' })), 'SURVEY_UNKNOWN_DEFINITION');
    const sipas = await repo.start({ ...dossier('u1'), definitionId: 'sipas', occasion: { kind: 'period', period: '2026-q3' } });
    expect(sipas.response).toMatchObject({ occasionKind: 'period', occasion: '2026-Q3', family: 'sipas' });
  });

  it('answers idempotently per question, skips, masks digits, and scores index 7 by timeliness', async () => {
    const { response } = await repo.start(dossier('citizen-answers', 'HS-100'));
    const id = response.id;
    // Index 7 answered before index 1: no timeliness yet, so no points.
    await repo.answer(id, 'harassment', 'not-met', at(1));
    expect((await repo.answers(id)).find((a) => a.questionId === 'harassment')?.value).toBeNull();
    let p = await repo.answer(id, 'total-time', 'equal', at(2));
    expect(p.next?.id).toBe('contact-count');
    // …and when it comes, index 7 follows: on time, no harassment → 1 point.
    expect((await repo.answers(id)).find((a) => a.questionId === 'harassment')?.value).toBe(1);
    // Changing the answer (a second tap) keeps one row, the last choice, and index 7 follows again.
    await repo.answer(id, 'total-time', 'shorter', at(3));
    await repo.answer(id, 'total-time', 'shorter', at(3));
    let answers = await repo.answers(id);
    expect(answers.filter((a) => a.questionId === 'total-time')).toHaveLength(1);
    expect(answers.find((a) => a.questionId === 'total-time')).toMatchObject({ optionId: 'shorter', value: 2, skipped: false, kind: 'index' });
    expect(answers.find((a) => a.questionId === 'harassment')?.value).toBe(2);

    p = await repo.skip(id, 'contact-count', at(4));
    expect(p.next?.id).toBe('agency-count');
    // The unit's wording of the next question.
    expect(p.next?.text).toBe('Bà con đã phải liên hệ mấy nơi?');
    await repo.answer(id, 'agency-count', 'one-stop-only', at(5));
    p = await repo.answer(id, 'overall', 'satisfied', at(6));
    expect(p.response).toMatchObject({ overallLevel: 'satisfied', overallSatisfied: true });
    expect(p.next?.id).toBe('comment');
    p = await repo.comment(id, 'comment', '  Cán bộ "Lan" nhiệt tình;\n gọi lại 0912 345 678 hoặc ０９１２, CCCD 001200012345  ', at(7));
    expect(p.next).toBeNull();
    answers = await repo.answers(id);
    expect(answers.find((a) => a.questionId === 'comment')?.comment).toBe('Cán bộ "Lan" nhiệt tình; gọi lại # # # hoặc #, CCCD #');
    expect(answers.find((a) => a.questionId === 'contact-count')).toMatchObject({ skipped: true, optionId: null, value: null });
    expect(answers.find((a) => a.questionId === 'overall')).toMatchObject({ value: 4, satisfied: true, level: 'satisfied' });
    const stored = await db.query<{ comment: string | null }>('SELECT comment FROM survey_answers WHERE response_id = $1', [id]);
    expect(stored.map((r) => r.comment ?? '').join(' ')).not.toMatch(/\d/);

    // Skipping index 1 takes index 7's points away (no timeliness, no data for the dossier).
    await repo.skip(id, 'total-time', at(8));
    expect((await repo.answers(id)).find((a) => a.questionId === 'harassment')?.value).toBeNull();
    await repo.answer(id, 'total-time', 'longer', at(9));
    expect((await repo.answers(id)).find((a) => a.questionId === 'harassment')?.value).toBe(0);

    const done = await repo.complete(id, at(10));
    // Index points by index number: 1 → 0 (late), 3 skipped, 4 → 1, 7 → 0 (late without harassment).
    expect(done).toMatchObject({ status: 'completed', completedAt: at(10), currentQuestion: null, dossierCounted: true });
    expect(done.indexPoints).toEqual([0, null, null, 1, null, null, 0, null, null]);
    expect((await repo.complete(id, at(20))).completedAt).toEqual(at(10));
    await expectSurveyError(repo.answer(id, 'overall', 'dissatisfied'), 'SURVEY_CLOSED');
    await expectSurveyError(repo.cancel(id), 'SURVEY_CLOSED');
    // Starting again for this dossier gives the completed response back.
    const again = await repo.start(dossier('citizen-answers', 'HS-100'));
    expect(again).toMatchObject({ created: false, response: { id, status: 'completed' }, next: null });
  });

  it('refuses what the definition does not allow', async () => {
    const { response } = await repo.start(dossier('citizen-errors', 'HS-200'));
    await expectSurveyError(repo.answer(response.id, 'total-time', 'very-late'), 'SURVEY_UNKNOWN_OPTION');
    await expectSurveyError(repo.answer(response.id, 'speed', 'shorter'), 'SURVEY_UNKNOWN_QUESTION');
    await expectSurveyError(repo.answer(response.id, 'comment', 'shorter'), 'SURVEY_WRONG_QUESTION_TYPE');
    await expectSurveyError(repo.comment(response.id, 'overall', 'tốt'), 'SURVEY_WRONG_QUESTION_TYPE');
    await expectSurveyError(repo.comment(response.id, 'comment', ' \u200b\n '), 'SURVEY_EMPTY_COMMENT');
    await expectSurveyError(repo.answer(999_999, 'total-time', 'shorter'), 'SURVEY_NOT_FOUND');
    const strict = await repo.start({ ...dossier('citizen-errors'), definitionId: 'strict', occasion: { kind: 'period', period: '2026-Q3' } });
    await expectSurveyError(repo.skip(strict.response.id, 'overall'), 'SURVEY_NOT_SKIPPABLE');
    expect(await repo.answers(response.id)).toEqual([]);
  });

  it('resumes an interrupted response where it stopped, in a new process', async () => {
    const { response } = await repo.start(dossier('citizen-resume', 'HS-300', { channel: 'messenger' }));
    await repo.answer(response.id, 'total-time', 'shorter', at(1));
    await repo.skip(response.id, 'contact-count', at(2));
    // The conversation is interrupted; later another process (another repository) picks it up.
    const later = new SurveyRepository(db, registry, { respondentKey: KEY });
    const resumed = await later.resume({ channel: 'messenger', platformUserId: 'citizen-resume' });
    expect(resumed?.response.id).toBe(response.id);
    expect(resumed?.next?.id).toBe('agency-count');
    expect(resumed?.definition.id).toBe('dossier-evaluation');
    expect(await later.resume({ channel: 'zalo', platformUserId: 'citizen-resume' })).toBeUndefined();
    expect(await later.resume({ channel: 'messenger', platformUserId: 'citizen-resume', unitId: 'xa-b' })).toBeUndefined();
    expect(await later.resume({ channel: 'messenger', platformUserId: 'citizen-resume', family: 'sipas' })).toBeUndefined();
    // A different key cannot find it.
    expect(await new SurveyRepository(db, registry, { respondentKey: 'một-khóa-khác-hẳn-0123456789' }).resume({ channel: 'messenger', platformUserId: 'citizen-resume' })).toBeUndefined();
    // Answers out of order: the next question is the first one without an answer.
    await later.answer(response.id, 'overall', 'very-satisfied', at(3));
    expect((await later.resume({ channel: 'messenger', platformUserId: 'citizen-resume' }))?.next?.id).toBe('agency-count');
    await later.complete(response.id, at(4));
    expect(await later.resume({ channel: 'messenger', platformUserId: 'citizen-resume' })).toBeUndefined();
  });

  it('cancels, and a later start reopens the cancelled response from the beginning', async () => {
    const { response } = await repo.start(dossier('citizen-cancel', 'HS-400'));
    await repo.answer(response.id, 'total-time', 'equal', at(1));
    const cancelled = await repo.cancel(response.id, at(2));
    expect(cancelled).toMatchObject({ status: 'cancelled', currentQuestion: null });
    expect((await repo.cancel(response.id, at(3))).status).toBe('cancelled');
    await expectSurveyError(repo.answer(response.id, 'total-time', 'equal'), 'SURVEY_CLOSED');
    await expectSurveyError(repo.complete(response.id), 'SURVEY_CLOSED');
    expect(await repo.resume({ channel: 'zalo', platformUserId: 'citizen-cancel' })).toBeUndefined();
    const reopened = await repo.start(dossier('citizen-cancel', 'HS-400', { at: at(10) }));
    expect(reopened).toMatchObject({ created: true, response: { id: response.id, status: 'in_progress', currentQuestion: 'total-time' } });
    expect(await repo.answers(response.id)).toEqual([]);
  });

  it('counts the latest completed response of a dossier for Điều 15', async () => {
    const a = await repo.start(dossier('citizen-dup-1', 'HS-500'));
    const b = await repo.start(dossier('citizen-dup-2', 'HS-500', { channel: 'web' }));
    await repo.answer(a.response.id, 'total-time', 'shorter');
    await repo.answer(b.response.id, 'total-time', 'longer');
    expect((await repo.complete(a.response.id, at(1))).dossierCounted).toBe(true);
    expect((await repo.complete(b.response.id, at(2))).dossierCounted).toBe(true);
    expect((await repo.get(a.response.id))?.dossierCounted).toBe(false);
  });

  it('refuses to use a published version whose meaning was changed in its file', async () => {
    const dir = surveysCopy();
    dirs.push(dir);
    const file = path.join(dir, 'dossier-evaluation/v1.yaml');
    // Wording only: fine.
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('label: Đúng hẹn', 'label: Đúng ngày hẹn'));
    const reworded = new SurveyRepository(db, loadSurveyRegistry(dir), { respondentKey: KEY });
    expect((await reworded.start(dossier('citizen-version', 'HS-600'))).next?.type).toBe('index');
    // Points changed under the same version: refused, at start-up and on use.
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/(id: equal[\s\S]*?points: )1/, '$12'));
    const changed = new SurveyRepository(db, loadSurveyRegistry(dir), { respondentKey: KEY });
    await expectSurveyError(changed.syncDefinitions(), 'SURVEY_DEFINITION_CHANGED');
    await expectSurveyError(changed.start(dossier('citizen-version', 'HS-601')), 'SURVEY_DEFINITION_CHANGED');
  });
});

describe('concurrent double submissions on PostgreSQL', () => {
  const schema = isolatedName('surveys_race');
  let one: Database;
  let two: Database;
  beforeAll(async () => {
    schemas.push(schema);
    one = await openTestDatabase('postgres', schema, [unit('xa-a')]);
    // A second pool on the same schema: another process of the same deployment.
    two = await openTestDatabase('postgres', schema, [unit('xa-a')]);
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
  });

  it('makes exactly one response of 24 simultaneous starts from two processes', async () => {
    const repos = [new SurveyRepository(one, registry, { respondentKey: KEY }), new SurveyRepository(two, registry, { respondentKey: KEY })];
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => repos[i % 2]?.start(dossier('double-tap', 'HS-777', { at: at(i) }))));
    const ids = new Set(results.map((r) => r?.response.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r?.created)).toHaveLength(1);
    const [count] = await one.query<{ n: string }>(`SELECT count(*) AS n FROM survey_responses WHERE occasion = 'HS-777'`);
    expect(Number(count?.n)).toBe(1);
  });

  it('keeps one answer per question under simultaneous taps, and one counted dossier under simultaneous completes', async () => {
    const repo = new SurveyRepository(one, registry, { respondentKey: KEY });
    const other = new SurveyRepository(two, registry, { respondentKey: KEY });
    const { response } = await repo.start(dossier('tapper', 'HS-778'));
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? repo : other).answer(response.id, 'overall', i % 3 ? 'satisfied' : 'very-satisfied', at(i))));
    const [n] = await one.query<{ n: string }>('SELECT count(*) AS n FROM survey_answers WHERE response_id = $1', [response.id]);
    expect(Number(n?.n)).toBe(1);

    const starts = await Promise.all(['p1', 'p2', 'p3', 'p4'].map((u) => repo.start(dossier(u, 'HS-779'))));
    await Promise.all(starts.map((s, i) => (i % 2 ? repo : other).complete(s.response.id, at(100))));
    const counted = await one.query<{ id: string }>(`SELECT id FROM survey_responses WHERE occasion = 'HS-779' AND dossier_counted`);
    expect(counted).toHaveLength(1);
  });
});

describe('cleanComment', () => {
  it('normalises, removes control characters, masks digits of every script and cuts to length', () => {
    expect(cleanComment('Tốt\u0000 lắm\t\r\n 0912', 1000)).toBe('Tốt lắm #');
    expect(cleanComment('Số ٣٤٥ và ５６', 1000)).toBe('Số # và #');
    expect(cleanComment('Hoa\u0300', 1000)).toBe('Hoà');
    expect(cleanComment('a'.repeat(60), 50)).toHaveLength(50);
  });
});
