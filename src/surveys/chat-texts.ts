// The survey's chat wording and phrases (surveys/chat.yaml), validated with zod like
// intents/*.yaml, and the phrase matcher that reads what a citizen typed against them. The
// questions themselves come from the definitions; this is only the conversation around them.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { tokenize } from '../search/normalize.js';
import { MAX_LABEL_CHARS } from './definition.js';
import { SURVEYS_DIR } from './definition-loader.js';

export const SURVEY_CHAT_FILE = path.join(SURVEYS_DIR, 'chat.yaml');

const Text = z
  .string()
  .transform((s) => s.normalize('NFC').trim())
  .pipe(z.string().min(1, 'must not be empty'));
const Title = Text.refine((s) => Array.from(s).length <= MAX_LABEL_CHARS, `at most ${MAX_LABEL_CHARS} characters (a Messenger button title)`);
const Phrases = z.array(Text).min(1);

export const SurveyChatFile = z.strictObject({
  buttons: z.strictObject({
    skip: Title,
    stop: Title,
    restart: Title,
    periodic: Title,
    dossier: Title,
    cancelCode: Title,
  }),
  texts: z.strictObject({
    question: Text,
    resumed: Text,
    alreadyDone: Text,
    occasion: z.strictObject({ dossier: Text, period: Text }),
    cancelled: Text,
    staleQuestion: Text,
    staleButton: Text,
    closedCompleted: Text,
    closedCancelled: Text,
    notSkippable: Text,
    choiceOutOfRange: Text,
    commentNeedsLetters: Text,
    unknownSurvey: Text,
    unavailable: Text,
    askDossierCode: Text,
    badDossierCode: Text,
    codeCancelled: Text,
    choose: Text,
    nothingToResume: Text,
    reminder: Text,
    offer: Text,
  }),
  phrases: z.strictObject({
    fillers: z.array(z.string().regex(/^[a-z]+$/, 'a filler is one folded word (no diacritics)')),
    periodic: Phrases,
    choose: Phrases,
    dossier: Phrases,
    resume: Phrases,
    resumeActive: Phrases,
    skip: Phrases,
    codeLead: Phrases,
    cancel: Phrases,
  }),
});
export type SurveyChatTexts = z.infer<typeof SurveyChatFile>;

export class SurveyChatTextsError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'SurveyChatTextsError';
  }
}

/** Parses the document of surveys/chat.yaml; `file` only names it in errors. */
export function parseSurveyChatTexts(doc: unknown, file = 'chat.yaml'): SurveyChatTexts {
  const parsed = SurveyChatFile.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SurveyChatTextsError(file, `${issue?.path.map(String).join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export function loadSurveyChatTexts(file: string = SURVEY_CHAT_FILE): SurveyChatTexts {
  let doc: unknown;
  try {
    doc = parse(fs.readFileSync(file, 'utf8').normalize('NFC'));
  } catch (err) {
    throw new SurveyChatTextsError(file, `not readable YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseSurveyChatTexts(doc, file);
}

// ---- phrase matching ------------------------------------------------------------------------------

/** One word of a message, with where it ends in the message (to cut the rest off as typed). */
export interface Word {
  /** NFC, lower case, canonical tone placement. */
  acc: string;
  /** Marks stripped. */
  fold: string;
  marked: boolean;
  /** Index just after the word in the NFC text. */
  end: number;
}

export function wordsOf(text: string): Word[] {
  const out: Word[] = [];
  for (const m of text.normalize('NFC').matchAll(/[\p{L}\p{M}\p{N}]+/gu)) {
    const t = tokenize(m[0])[0];
    if (t) out.push({ acc: t.acc, fold: t.fold, marked: t.marked, end: m.index + m[0].length });
  }
  return out;
}

interface Pattern {
  /** Compare marked forms (the phrase was written with diacritics) or folded forms. */
  marked: boolean;
  words: string[];
}

export interface PhraseMatcher {
  /** The whole message (fillers aside) is one of the phrases. */
  matches(text: string): boolean;
  /**
   * The message starts with one of the phrases (fillers before it aside): the index in the NFC
   * text just after the longest matching phrase, or null.
   */
  prefix(text: string): number | null;
}

export function createPhraseMatcher(phrases: readonly string[], fillers: ReadonlySet<string>): PhraseMatcher {
  const patterns: Pattern[] = [];
  for (const phrase of phrases) {
    const words = wordsOf(phrase).filter((w) => !fillers.has(w.fold));
    if (words.length === 0) continue;
    const marked = words.some((w) => w.marked);
    patterns.push({ marked, words: words.map((w) => (marked ? w.acc : w.fold)) });
  }
  patterns.sort((a, b) => b.words.length - a.words.length);
  const same = (p: Pattern, w: Word, i: number) => (p.marked ? w.acc : w.fold) === p.words[i];
  return {
    matches(text) {
      const words = wordsOf(text).filter((w) => !fillers.has(w.fold));
      return words.length > 0 && patterns.some((p) => p.words.length === words.length && words.every((w, i) => same(p, w, i)));
    },
    prefix(text) {
      const all = wordsOf(text);
      let start = 0;
      while (start < all.length && fillers.has(all[start]?.fold ?? '')) start++;
      const words = all.slice(start);
      for (const p of patterns) {
        const head = words.slice(0, p.words.length);
        const last = head.at(-1);
        if (last && head.length === p.words.length && head.every((w, i) => same(p, w, i))) return last.end;
      }
      return null;
    },
  };
}

/** The key an option label is compared on: marked words, or folded, fillers aside. */
export function labelKey(text: string, fillers: ReadonlySet<string>, folded: boolean): string {
  return wordsOf(text)
    .filter((w) => !fillers.has(w.fold))
    .map((w) => (folded ? w.fold : w.acc))
    .join(' ');
}
