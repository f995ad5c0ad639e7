// Reads the survey definitions (surveys/<id>/v<version>.yaml) and the units' wording
// (surveys/overrides/<unit>.yaml) into a registry. A bad file fails the load with an error that
// names the file, the path inside it and the problem, so a bad edit never reaches a citizen.
// Every version stays loaded: a response is always read with the version it was given under.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { SurveyDefinition, UnitOverrides, applyWording, familyOf, type DefinitionWording } from './definition.js';

export const SURVEYS_DIR = path.resolve(import.meta.dirname, '../../surveys');
const OVERRIDES = 'overrides';

export class SurveyDefinitionError extends Error {
  constructor(
    readonly file: string,
    /** Path inside the document, e.g. `questions.3.options.0.points`; '(root)' for the whole file. */
    readonly at: string,
    readonly problem: string,
  ) {
    super(`${file}: ${at}: ${problem}`);
    this.name = 'SurveyDefinitionError';
  }
}

export interface SurveyRegistry {
  /** One version of a definition, in its national wording. */
  get(id: string, version: number): SurveyDefinition | undefined;
  /** The highest version of a definition. */
  latest(id: string): SurveyDefinition | undefined;
  /** The definition as `unitId` words it (the unit's overrides applied, if any). */
  forUnit(definition: SurveyDefinition, unitId: string): SurveyDefinition;
  /** Every loaded version, sorted by id then version. */
  all(): SurveyDefinition[];
  /** The latest version of each definition in a family. */
  family(family: string): SurveyDefinition[];
}

export function loadSurveyRegistry(dir: string = SURVEYS_DIR): SurveyRegistry {
  if (!existsSync(dir)) throw new SurveyDefinitionError(dir, '(root)', 'no such folder (survey definitions)');
  const byKey = new Map<string, SurveyDefinition>();
  const latest = new Map<string, SurveyDefinition>();
  const familyKind = new Map<string, { kind: string; file: string }>();

  for (const entry of readdirSync(dir).sort()) {
    const sub = path.join(dir, entry);
    if (entry === OVERRIDES || !statSync(sub).isDirectory()) continue;
    for (const name of readdirSync(sub).sort()) {
      if (!/\.ya?ml$/.test(name)) continue;
      const file = path.join(sub, name);
      const m = /^v([1-9]\d*)\.ya?ml$/.exec(name);
      if (!m) throw new SurveyDefinitionError(file, '(root)', 'a definition file is named v<version>.yaml, e.g. v1.yaml');
      const def = parseFile(file, SurveyDefinition);
      if (def.id !== entry) throw new SurveyDefinitionError(file, 'id', `id "${def.id}" differs from its folder "${entry}"`);
      if (def.version !== Number(m[1])) throw new SurveyDefinitionError(file, 'version', `version ${def.version} differs from the file name ${name}`);
      const key = `${def.id}@${def.version}`;
      if (byKey.has(key)) throw new SurveyDefinitionError(file, 'version', `${key} is defined twice (.yaml and .yml?)`);
      const fam = familyOf(def);
      const prior = familyKind.get(fam);
      if (prior && prior.kind !== def.kind) {
        throw new SurveyDefinitionError(file, 'kind', `family "${fam}" is "${prior.kind}" in ${prior.file}; a family has one kind`);
      }
      familyKind.set(fam, { kind: def.kind, file });
      byKey.set(key, def);
      const cur = latest.get(def.id);
      if (!cur || cur.version < def.version) latest.set(def.id, def);
    }
  }

  const wording = new Map<string, Map<string, DefinitionWording>>();
  const overridesDir = path.join(dir, OVERRIDES);
  if (existsSync(overridesDir)) {
    for (const name of readdirSync(overridesDir).sort()) {
      if (!/\.ya?ml$/.test(name)) continue;
      const file = path.join(overridesDir, name);
      const doc = parseFile(file, UnitOverrides);
      const unitFromName = name.replace(/\.ya?ml$/, '');
      if (doc.unit !== unitFromName) throw new SurveyDefinitionError(file, 'unit', `unit "${doc.unit}" differs from the file name ${name}`);
      for (const [defId, w] of Object.entries(doc.surveys)) {
        checkWording(file, defId, w, [...byKey.values()].filter((d) => d.id === defId));
      }
      wording.set(doc.unit, new Map(Object.entries(doc.surveys)));
    }
  }

  const sorted = [...byKey.values()].sort((a, b) => (a.id === b.id ? a.version - b.version : a.id < b.id ? -1 : 1));
  return {
    get: (id, version) => byKey.get(`${id}@${version}`),
    latest: (id) => latest.get(id),
    forUnit: (d, unitId) => applyWording(d, wording.get(unitId)?.get(d.id)),
    all: () => [...sorted],
    family: (fam) => [...latest.values()].filter((d) => familyOf(d) === fam),
  };
}

function parseFile<T extends z.ZodType>(file: string, schema: T): z.output<T> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SurveyDefinitionError(file, '(root)', `not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = schema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SurveyDefinitionError(file, issue ? issue.path.map(String).join('.') || '(root)' : '(root)', issue?.message ?? 'invalid');
  }
  return parsed.data;
}

/** Overrides may only word what exists: an unknown definition, question, option or element is a typo. */
function checkWording(file: string, defId: string, w: DefinitionWording, versions: readonly SurveyDefinition[]): void {
  const at = (...p: string[]) => ['surveys', defId, ...p].join('.');
  if (versions.length === 0) throw new SurveyDefinitionError(file, at(), `no survey definition "${defId}"`);
  for (const [qid, qw] of Object.entries(w.questions ?? {})) {
    const qs = versions.flatMap((d) => d.questions.filter((q) => q.id === qid));
    if (qs.length === 0) throw new SurveyDefinitionError(file, at('questions', qid), `no question "${qid}" in any version of ${defId}`);
    for (const oid of Object.keys(qw.options ?? {})) {
      if (!qs.some((q) => q.type !== 'comment' && q.options.some((o) => o.id === oid))) {
        throw new SurveyDefinitionError(file, at('questions', qid, 'options', oid), `no option "${oid}" in question "${qid}"`);
      }
    }
  }
  for (const eid of Object.keys(w.elements ?? {})) {
    if (!versions.some((d) => d.elements.some((e) => e.id === eid))) {
      throw new SurveyDefinitionError(file, at('elements', eid), `no element "${eid}" in any version of ${defId}`);
    }
  }
}
