// The global search dictionary (procedures/dictionary.yaml): abbreviations, synonyms, stop
// phrases, filler words, aspect words and variant markers, kept as data so officers can extend
// it. Parsed with zod on load; a malformed file fails naming the field. Also compiles the
// phrases into token sequences (accented + folded) ready for matching.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Aspect } from './types.js';
import { tokenize, type Token } from './normalize.js';

const Phrase = z.string().trim().min(1, 'empty phrase');

const AspectName = z.enum(['documents', 'fee', 'time', 'where', 'online', 'steps', 'legal', 'form', 'result']);

export const DictionaryFile = z.object({
  abbreviations: z.record(z.string().min(1), Phrase).default({}),
  synonyms: z.array(z.object({ from: z.array(Phrase).min(1), to: Phrase })).default([]),
  stopPhrases: z.array(Phrase).default([]),
  fillerWords: z.array(Phrase).default([]),
  aspects: z.partialRecord(AspectName, z.array(Phrase)).default({}),
  variants: z.array(z.object({ marks: z.array(Phrase).min(1), triggers: z.array(Phrase).default([]) })).default([]),
});
export type DictionaryFile = z.infer<typeof DictionaryFile>;

/** A phrase as token sequences, for matching against tokenised text. */
export interface CompiledPhrase {
  acc: string[];
  fold: string[];
}

export interface CompiledSynonym {
  from: CompiledPhrase[];
  to: Token[];
}

export interface CompiledVariant {
  marks: CompiledPhrase[];
  triggers: CompiledPhrase[];
}

/** The dictionary in matchable form. */
export interface Dictionary {
  /** Keyed by the accented and by the folded token. */
  abbreviations: Map<string, Token[]>;
  abbreviationsFolded: Map<string, Token[]>;
  synonyms: CompiledSynonym[];
  stopPhrases: CompiledPhrase[];
  fillerWords: Set<string>;
  aspects: Array<{ aspect: Aspect; phrases: CompiledPhrase[] }>;
  variants: CompiledVariant[];
}

export function compilePhrase(text: string): CompiledPhrase {
  const toks = tokenize(text);
  return { acc: toks.map((t) => t.acc), fold: toks.map((t) => t.fold) };
}

/** Turns a parsed dictionary file into its matchable form. */
export function compileDictionary(file: DictionaryFile): Dictionary {
  const abbreviations = new Map<string, Token[]>();
  const abbreviationsFolded = new Map<string, Token[]>();
  for (const [short, long] of Object.entries(file.abbreviations)) {
    const key = tokenize(short)[0];
    if (!key) continue;
    const expansion = tokenize(long);
    abbreviations.set(key.acc, expansion);
    if (!abbreviationsFolded.has(key.fold)) abbreviationsFolded.set(key.fold, expansion);
  }
  const aspects: Dictionary['aspects'] = [];
  for (const aspect of AspectName.options) {
    const phrases = file.aspects[aspect];
    if (phrases) aspects.push({ aspect, phrases: phrases.map(compilePhrase) });
  }
  return {
    abbreviations,
    abbreviationsFolded,
    synonyms: file.synonyms.map((s) => ({ from: s.from.map(compilePhrase), to: tokenize(s.to) })),
    stopPhrases: file.stopPhrases.map(compilePhrase),
    fillerWords: new Set(file.fillerWords.flatMap((w) => tokenize(w).map((t) => t.acc))),
    aspects,
    variants: file.variants.map((v) => ({ marks: v.marks.map(compilePhrase), triggers: v.triggers.map(compilePhrase) })),
  };
}

/** Thrown when the dictionary file does not parse; the message names the field. */
export class DictionaryError extends Error {
  override readonly name = 'DictionaryError';
}

/** Parses dictionary YAML text (throws DictionaryError naming the bad field). */
export function parseDictionary(yamlText: string, source = 'dictionary.yaml'): Dictionary {
  let raw: unknown;
  try {
    raw = parseYaml(yamlText);
  } catch (err) {
    throw new DictionaryError(`${source}: YAML không hợp lệ: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = DictionaryFile.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.map(String).join('.') : '?';
    throw new DictionaryError(`${source}: field "${where}": ${issue?.message ?? 'invalid'}`);
  }
  return compileDictionary(parsed.data);
}

/** procedures/dictionary.yaml of this repository. */
export const DEFAULT_DICTIONARY_PATH = fileURLToPath(new URL('../../procedures/dictionary.yaml', import.meta.url));

let cached: Dictionary | null = null;

/** Loads (and caches, for the default path) the dictionary file. */
export function loadDictionary(path: string = DEFAULT_DICTIONARY_PATH): Dictionary {
  if (path === DEFAULT_DICTIONARY_PATH && cached) return cached;
  const dict = parseDictionary(readFileSync(path, 'utf8'), path);
  if (path === DEFAULT_DICTIONARY_PATH) cached = dict;
  return dict;
}
