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
  /** Named word classes, used as "{name}" slots in any phrase below ("mất {giấy tờ}"). */
  classes: z.record(z.string().min(1), z.array(Phrase).min(1)).default({}),
  abbreviations: z.record(z.string().min(1), Phrase).default({}),
  /** `to` may list several catalogue wordings: the question matches whichever a procedure uses. */
  synonyms: z
    .array(
      z.object({
        from: z.array(Phrase).min(1),
        to: z.union([Phrase, z.array(Phrase).min(1)]),
        /** The phrase does not apply when one of these follows it ("mẹ tôi mất" but not "… mất giấy"). */
        notBefore: z.array(Phrase).default([]),
      }),
    )
    .default([]),
  stopPhrases: z.array(Phrase).default([]),
  fillerWords: z.array(Phrase).default([]),
  /** Multi-syllable words whose syllables mean something else alone ("dịch vụ" is not "dịch"). */
  compounds: z.array(Phrase).default([]),
  aspects: z.partialRecord(AspectName, z.array(Phrase)).default({}),
  /** Words that make a sentence the question of a letter (the rest is the story around it). */
  questionMarkers: z.array(Phrase).default([]),
  /** Words that end a condition clause ("người không có hộ khẩu THÌ đăng ký khai tử ở đâu"). */
  conditionMarkers: z.array(Phrase).default([]),
  variants: z
    .array(
      z.object({
        marks: z.array(Phrase).min(1),
        triggers: z.array(Phrase).default([]),
        /** Name the variant only when no other variant is named strongly ("làm lại" vs "hết hạn"). */
        weakTriggers: z.array(Phrase).default([]),
        /** A title that also contains one of these is not the variant ("cấp tỉnh, cấp xã"). */
        unless: z.array(Phrase).default([]),
        /** false: a reason marker only, pulled up when named, never pushed down when not. */
        penalty: z.boolean().default(true),
      }),
    )
    .default([]),
});
export type DictionaryFile = z.infer<typeof DictionaryFile>;

/** A phrase as token sequences, for matching against tokenised text. */
export interface CompiledPhrase {
  acc: string[];
  fold: string[];
}

export interface CompiledSynonym {
  from: CompiledPhrase[];
  /** The catalogue's wordings (one or more). */
  to: Token[][];
  notBefore: CompiledPhrase[];
}

export interface CompiledVariant {
  marks: CompiledPhrase[];
  triggers: CompiledPhrase[];
  weakTriggers: CompiledPhrase[];
  unless: CompiledPhrase[];
  penalty: boolean;
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
  compounds: CompiledPhrase[];
  questionMarkers: CompiledPhrase[];
  conditionMarkers: CompiledPhrase[];
}

export function compilePhrase(text: string): CompiledPhrase {
  const toks = tokenize(text);
  return { acc: toks.map((t) => t.acc), fold: toks.map((t) => t.fold) };
}

const SLOT_RE = /\{([^{}]+)\}/;
/** Bounds the expansion of phrases with several slots. */
const MAX_EXPANSIONS = 2000;

/** Expands "{class}" slots into every member of the class: "mất {giấy tờ}" → "mất giấy", "mất sổ" … */
export function expandSlots(phrase: string, classes: Readonly<Record<string, readonly string[]>>): string[] {
  const out: string[] = [];
  const queue = [phrase];
  while (queue.length > 0 && out.length < MAX_EXPANSIONS) {
    const p = queue.pop() ?? '';
    const m = SLOT_RE.exec(p);
    if (!m) {
      out.push(p);
      continue;
    }
    const members = classes[(m[1] ?? '').trim()];
    if (!members) throw new DictionaryError(`unknown class {${m[1] ?? ''}} in "${phrase}"`);
    for (const w of members) queue.push(p.slice(0, m.index) + w + p.slice(m.index + m[0].length));
  }
  return out.reverse();
}

/** Turns a parsed dictionary file into its matchable form. */
export function compileDictionary(file: DictionaryFile): Dictionary {
  const phrases = (list: readonly string[]): CompiledPhrase[] =>
    list.flatMap((p) => expandSlots(p, file.classes)).map(compilePhrase).filter((p) => p.fold.length > 0);
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
    const list = file.aspects[aspect];
    if (list) aspects.push({ aspect, phrases: phrases(list) });
  }
  return {
    abbreviations,
    abbreviationsFolded,
    synonyms: file.synonyms.map((s) => ({
      from: phrases(s.from),
      to: (typeof s.to === 'string' ? [s.to] : s.to).map((t) => tokenize(t)).filter((t) => t.length > 0),
      notBefore: phrases(s.notBefore),
    })),
    stopPhrases: phrases(file.stopPhrases),
    fillerWords: new Set(file.fillerWords.flatMap((w) => tokenize(w).map((t) => t.acc))),
    aspects,
    variants: file.variants.map((v) => ({
      marks: phrases(v.marks),
      triggers: phrases(v.triggers),
      weakTriggers: phrases(v.weakTriggers),
      unless: phrases(v.unless),
      penalty: v.penalty,
    })),
    compounds: phrases(file.compounds),
    questionMarkers: phrases(file.questionMarkers),
    conditionMarkers: phrases(file.conditionMarkers),
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
