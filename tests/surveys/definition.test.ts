// The shipped survey definitions load and say what the law says; a bad file names the file, the
// path inside it and the problem; a unit's wording changes labels only.
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { SURVEYS_DIR, SurveyDefinitionError, loadSurveyRegistry } from '../../src/surveys/definition-loader.js';
import { fold3, isSatisfied, meaningHash, optionMeaning, type SurveyDefinition } from '../../src/surveys/definition.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A copy of the shipped surveys folder to break in one place. */
function copyOfSurveys(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'surveys-'));
  dirs.push(dir);
  fs.cpSync(SURVEYS_DIR, dir, { recursive: true });
  return dir;
}

function loadError(dir: string): SurveyDefinitionError {
  try {
    loadSurveyRegistry(dir);
  } catch (err) {
    if (err instanceof SurveyDefinitionError) return err;
    throw err;
  }
  throw new Error('expected the load to fail');
}

/** Rewrites one definition file through a function of its parsed YAML. */
function edit(dir: string, rel: string, fn: (doc: Record<string, unknown>) => void): void {
  const file = path.join(dir, rel);
  const doc = JSON.parse(JSON.stringify(loadSurveyRegistry(dir).all().find((d) => `${d.id}/v${d.version}.yaml` === rel))) as Record<string, unknown>;
  fn(doc);
  fs.writeFileSync(file, stringify(doc));
}

const questions = (doc: Record<string, unknown>) => doc.questions as Array<Record<string, unknown>>;
const optionsOf = (q: Record<string, unknown> | undefined) => (q?.options ?? []) as Array<Record<string, unknown>>;

describe('the shipped definitions', () => {
  const registry = loadSurveyRegistry();
  const dossier = registry.latest('dossier-evaluation') as SurveyDefinition;

  it('has the per-dossier evaluation (3 and 5 levels, one family) and the SIPAS survey', () => {
    expect(registry.all().map((d) => `${d.id}@${d.version}`)).toEqual(['dossier-evaluation@1', 'dossier-evaluation-5@1', 'sipas@1']);
    expect(registry.family('dossier-evaluation').map((d) => d.id).sort()).toEqual(['dossier-evaluation', 'dossier-evaluation-5']);
    const sipas = registry.latest('sipas');
    expect(sipas?.kind).toBe('periodic');
    expect(sipas?.elements.map((e) => e.id)).toEqual(['access', 'procedure', 'officials', 'result', 'feedback']);
    // Each element: criteria, then one satisfaction question on 5 levels.
    for (const e of sipas?.elements ?? []) {
      const qs = sipas?.questions.filter((q) => (q.type === 'criterion' || q.type === 'satisfaction') && q.element === e.id) ?? [];
      expect(qs.filter((q) => q.type === 'criterion').length).toBeGreaterThanOrEqual(2);
      expect(qs.filter((q) => q.type === 'satisfaction' && q.scale === 5)).toHaveLength(1);
    }
    expect(sipas?.questions.find((q) => q.id === 'overall')).toMatchObject({ type: 'satisfaction', role: 'overall', scale: 5 });
  });

  it('asks exactly indices 1, 3, 4 and 7 of TT 01/2018 with the legal names and 2/1/0 points', () => {
    const idx = dossier.questions.filter((q) => q.type === 'index');
    expect(idx.map((q) => (q.type === 'index' ? q.index : 0))).toEqual([1, 3, 4, 7]);
    const byIndex = new Map(idx.map((q) => [q.type === 'index' ? q.index : 0, q]));
    const i1 = byIndex.get(1);
    expect(i1?.type === 'index' && i1.legalName).toBe('Tổng thời gian giải quyết thủ tục hành chính so với thời gian cho phép theo quy định của pháp luật');
    expect(i1?.type === 'index' && i1.options.map((o) => [o.legalText, o.points])).toEqual([
      ['khi tổng thời gian ngắn hơn so với quy định', 2],
      ['khi tổng thời gian bằng thời gian quy định', 1],
      ['khi tổng thời gian dài hơn so với quy định', 0],
    ]);
    const i3 = byIndex.get(3);
    expect(i3?.type === 'index' && i3.legalName).toBe(
      'Số lần phải liên hệ với nơi tiếp nhận hồ sơ để hoàn thiện hồ sơ thủ tục hành chính (kể cả liên hệ theo hình thức trực tuyến)',
    );
    expect(i3?.type === 'index' && i3.options.map((o) => o.points)).toEqual([2, 1, 0]);
    expect(i3?.type === 'index' && i3.options[2]?.legalText).toContain('trừ trường hợp nguyên nhân do lỗi của người nộp hồ sơ');
    const i4 = byIndex.get(4);
    expect(i4?.type === 'index' && i4.options.map((o) => o.points)).toEqual([2, 1, 0]);
    expect(i4?.type === 'index' && i4.options[1]?.legalText).toMatch(/^khi phải liên hệ với một cơ quan, đơn vị, tổ chức là Bộ phận Một cửa/);
    // Index 7 is asked as harassment or unlawful demands, not as a rating of attitude.
    const i7 = byIndex.get(7);
    expect(i7?.type === 'index' && i7.legalName).toBe(
      'Thái độ của cán bộ, công chức, viên chức khi hướng dẫn lập hồ sơ, tiếp nhận hồ sơ và giải quyết thủ tục hành chính',
    );
    expect(i7?.text).toMatch(/nhũng nhiễu/);
    expect(i7?.text).not.toMatch(/hài lòng/);
    expect(i7?.type === 'index' && i7.options.map((o) => [o.id, o.points ?? null, o.pointsFrom ?? null])).toEqual([
      ['not-met', null, 'total-time'],
      ['met', 0, null],
    ]);
  });

  it('rates the service overall on Rất hài lòng / Hài lòng / Không hài lòng, the 5-level variant folding into it', () => {
    const overall = dossier.questions.find((q) => q.id === 'overall');
    expect(overall?.type === 'satisfaction' && overall.options.map((o) => o.label)).toEqual(['Rất hài lòng', 'Hài lòng', 'Không hài lòng']);
    const five = registry.latest('dossier-evaluation-5')?.questions.find((q) => q.id === 'overall');
    expect(five?.type === 'satisfaction' && five.options.map((o) => [o.label, fold3(o.level), isSatisfied(o.level)])).toEqual([
      ['Rất hài lòng', 'very_satisfied', true],
      ['Hài lòng', 'satisfied', true],
      ['Bình thường', 'not_satisfied', false],
      ['Không hài lòng', 'not_satisfied', false],
      ['Rất không hài lòng', 'not_satisfied', false],
    ]);
    expect(overall && overall.type === 'satisfaction' && optionMeaning(overall, 'satisfied')).toEqual({ value: 4, satisfied: true, level: 'satisfied' });
    expect(dossier.questions.at(-1)).toMatchObject({ id: 'comment', type: 'comment', optional: true });
  });

  it('keeps every button label within Messenger’s 20 characters and NFC', () => {
    for (const d of registry.all()) {
      for (const q of d.questions) {
        expect(q.text.normalize('NFC')).toBe(q.text);
        if (q.type === 'comment') continue;
        for (const o of q.options) expect(Array.from(o.label).length).toBeLessThanOrEqual(20);
      }
    }
  });

  it('fingerprints meaning, not wording', () => {
    const reworded: SurveyDefinition = { ...dossier, intro: 'Lời chào khác', questions: dossier.questions.map((q) => ({ ...q, text: `${q.text} (sửa)` })) };
    expect(meaningHash(reworded)).toBe(meaningHash(dossier));
    const repointed: SurveyDefinition = {
      ...dossier,
      questions: dossier.questions.map((q) => (q.type === 'index' && q.index === 1 ? { ...q, options: q.options.map((o) => ({ ...o, points: o.points === 2 ? 1 : o.points })) } : q)),
    };
    expect(meaningHash(repointed)).not.toBe(meaningHash(dossier));
  });
});

describe('validation errors name the file, the path and the problem', () => {
  it('points outside 0/1/2', () => {
    const dir = copyOfSurveys();
    edit(dir, 'dossier-evaluation/v1.yaml', (doc) => {
      const o = optionsOf(questions(doc)[0])[0];
      if (o) o.points = 3;
    });
    const err = loadError(dir);
    expect(err.file).toBe(path.join(dir, 'dossier-evaluation/v1.yaml'));
    expect(err.at).toBe('questions.0.options.0.points');
    expect(err.message).toContain(`${path.join(dir, 'dossier-evaluation/v1.yaml')}: questions.0.options.0.points:`);
  });

  it('a duplicate option id, a label too long for a button, a wrong scale', () => {
    let dir = copyOfSurveys();
    edit(dir, 'dossier-evaluation/v1.yaml', (doc) => {
      const q = questions(doc)[1];
      const opts = optionsOf(q);
      if (opts[1] && opts[0]) opts[1].id = opts[0].id;
    });
    expect(loadError(dir)).toMatchObject({ at: 'questions.1.options.1.id', problem: 'duplicate option id "none"' });

    dir = copyOfSurveys();
    edit(dir, 'sipas/v1.yaml', (doc) => {
      const o = optionsOf(questions(doc)[0])[0];
      if (o) o.label = 'Có, đầy đủ chỗ ngồi cho mọi người';
    });
    const long = loadError(dir);
    expect(long.at).toBe('questions.0.options.0.label');
    expect(long.problem).toMatch(/20 characters/);

    dir = copyOfSurveys();
    edit(dir, 'dossier-evaluation/v1.yaml', (doc) => {
      const overall = questions(doc).find((q) => q.id === 'overall');
      const o = optionsOf(overall)[2];
      if (o) o.level = 'neutral';
    });
    const scale = loadError(dir);
    expect(scale.at).toBe('questions.4.options');
    expect(scale.problem).toMatch(/3-level scale needs exactly the levels very_satisfied, satisfied, dissatisfied/);
  });

  it('pointsFrom naming a later or unknown question; an unknown element; a stray key', () => {
    let dir = copyOfSurveys();
    edit(dir, 'dossier-evaluation/v1.yaml', (doc) => {
      const o = optionsOf(questions(doc)[3])[0];
      if (o) o.pointsFrom = 'overall';
    });
    expect(loadError(dir)).toMatchObject({ at: 'questions.3.options.0.pointsFrom', problem: '"overall" is not an index question asked before this one' });

    dir = copyOfSurveys();
    edit(dir, 'sipas/v1.yaml', (doc) => {
      const q = questions(doc)[0];
      if (q) q.element = 'parking';
    });
    expect(loadError(dir)).toMatchObject({ at: 'questions.0.element', problem: 'unknown element "parking" (declare it under elements)' });

    dir = copyOfSurveys();
    edit(dir, 'sipas/v1.yaml', (doc) => {
      const q = questions(doc)[0];
      if (q) q.wieght = 2;
    });
    expect(loadError(dir).at).toBe('questions.0');
    expect(loadError(dir).problem).toMatch(/wieght/);
  });

  it('a file whose id or version disagrees with its place, and YAML that does not parse', () => {
    let dir = copyOfSurveys();
    fs.renameSync(path.join(dir, 'sipas/v1.yaml'), path.join(dir, 'sipas/v2.yaml'));
    expect(loadError(dir)).toMatchObject({ at: 'version', problem: 'version 1 differs from the file name v2.yaml' });

    dir = copyOfSurveys();
    fs.writeFileSync(path.join(dir, 'sipas/v1.yaml'), 'id: sipas\nversion: [1\n');
    const bad = loadError(dir);
    expect(bad.at).toBe('(root)');
    expect(bad.problem).toMatch(/^not valid YAML/);
  });
});

describe('a unit’s wording', () => {
  it('changes labels and texts for that unit only, never ids, points or levels', () => {
    const dir = copyOfSurveys();
    fs.writeFileSync(
      path.join(dir, 'overrides/xa-tan-phu.yaml'),
      stringify({
        unit: 'xa-tan-phu',
        surveys: {
          'dossier-evaluation': {
            intro: 'Kính mời bà con đánh giá.',
            questions: { 'total-time': { text: 'Bà con nhận kết quả sớm, đúng hay trễ hẹn?', options: { shorter: { label: 'Trước ngày hẹn' } } } },
          },
          sipas: { elements: { access: { name: 'Đến làm thủ tục' } } },
        },
      }),
    );
    const registry = loadSurveyRegistry(dir);
    const national = registry.latest('dossier-evaluation') as SurveyDefinition;
    const local = registry.forUnit(national, 'xa-tan-phu');
    expect(local.intro).toBe('Kính mời bà con đánh giá.');
    const q = local.questions[0];
    expect(q?.text).toBe('Bà con nhận kết quả sớm, đúng hay trễ hẹn?');
    expect(q?.type === 'index' && q.options.map((o) => [o.id, o.label, o.points])).toEqual([
      ['shorter', 'Trước ngày hẹn', 2],
      ['equal', 'Đúng hẹn', 1],
      ['longer', 'Trễ hẹn', 0],
    ]);
    expect(meaningHash(local)).toBe(meaningHash(national));
    expect(registry.forUnit(national, 'xa-khac')).toBe(national);
    expect(registry.forUnit(registry.latest('sipas') as SurveyDefinition, 'xa-tan-phu').elements[0]?.name).toBe('Đến làm thủ tục');
  });

  it('refuses an override that changes points or names what does not exist', () => {
    let dir = copyOfSurveys();
    fs.writeFileSync(
      path.join(dir, 'overrides/xa-a.yaml'),
      stringify({ unit: 'xa-a', surveys: { 'dossier-evaluation': { questions: { 'total-time': { options: { shorter: { points: 1 } } } } } } }),
    );
    const changed = loadError(dir);
    expect(changed.file).toBe(path.join(dir, 'overrides/xa-a.yaml'));
    expect(changed.at).toBe('surveys.dossier-evaluation.questions.total-time.options.shorter');
    expect(changed.problem).toMatch(/points/);

    dir = copyOfSurveys();
    fs.writeFileSync(path.join(dir, 'overrides/xa-a.yaml'), stringify({ unit: 'xa-a', surveys: { 'dossier-evaluation': { questions: { 'total-tme': { text: 'x' } } } } }));
    expect(loadError(dir)).toMatchObject({ at: 'surveys.dossier-evaluation.questions.total-tme', problem: 'no question "total-tme" in any version of dossier-evaluation' });

    dir = copyOfSurveys();
    fs.writeFileSync(path.join(dir, 'overrides/xa-b.yaml'), stringify({ unit: 'xa-a', surveys: {} }));
    expect(loadError(dir)).toMatchObject({ at: 'unit', problem: 'unit "xa-a" differs from the file name xa-b.yaml' });
  });
});
