// Recognises the small intents (greeting, contact, hand-off, thanks) on folded text, so that
// "xin chao", "cam onn" and "so dien thoai" match like their marked forms. An intent matches
// only when the WHOLE message is about it: every content word belongs to the intent's own
// vocabulary and at least one example is fully present. Anything else is a procedure question
// and goes to the search ("chào bạn, cho hỏi đăng ký tạm trú" carries "đăng ký tạm trú").
import { tokenize } from '../search/normalize.js';

export type PhraseIntent = 'greeting' | 'contact' | 'handoff' | 'thanks';

export interface IntentExamples {
  name: PhraseIntent;
  examples: readonly string[];
}

/**
 * Words (folded) that carry no intent of their own in a chat message: particles and forms of
 * address. Folding collides hỏi/hội, so these are only ever ignored, never used to match.
 */
const FILLERS = new Set([
  'a', 'ah', 'ad', 'admin', 'ban', 'oi', 'nhe', 'nha', 'nhi', 'voi', 'vay', 'the', 'em', 'anh',
  'minh', 'toi', 'cho', 'hoi', 'xin', 'vui', 'long', 'giup', 'la', 'gi', 'nao', 'ma', 'thi', 'muon',
]);

/** Salutations that may open any message ("chào ad, gặp cán bộ") without making it a greeting. */
const SALUTATIONS = new Set(['chao', 'hi', 'hello', 'alo']);

/** Ties between intents are broken in this order (a hand-off request must never be lost). */
const PRIORITY: readonly PhraseIntent[] = ['handoff', 'contact', 'thanks', 'greeting'];

/** Folded tokens of a text: marks stripped, Telex residue repaired, stretched letters squeezed. */
export function foldTokens(text: string): string[] {
  // Squeezing doubled letters ("onn", "chaooo") is safe here: both sides are squeezed alike.
  return tokenize(text).map((t) => t.fold.replace(/(.)\1+/g, '$1'));
}

/** One insertion, deletion, substitution or swap of neighbours ("thaoi" for "thoai"). */
function editDistanceAtMostOne(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  if (a.length === b.length) {
    const diff: number[] = [];
    for (let k = 0; k < a.length && diff.length <= 2; k++) if (a[k] !== b[k]) diff.push(k);
    const [p, q] = diff;
    if (diff.length === 2 && p !== undefined && q === p + 1 && a[p] === b[q] && a[q] === b[p]) return true;
  }
  let i = 0;
  let j = 0;
  let edits = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      i++;
      j++;
      continue;
    }
    if (++edits > 1) return false;
    if (a.length > b.length) i++;
    else if (b.length > a.length) j++;
    else {
      i++;
      j++;
    }
  }
  return edits + (a.length - i) + (b.length - j) <= 1;
}

/** Typo tolerance only for longer words: short syllables collide with other real syllables. */
function sameWord(a: string, b: string): boolean {
  if (a === b) return true;
  return a.length >= 4 && b.length >= 4 && editDistanceAtMostOne(a, b);
}

function inVocabulary(word: string, vocabulary: ReadonlySet<string>): boolean {
  if (vocabulary.has(word)) return true;
  for (const v of vocabulary) if (sameWord(word, v)) return true;
  return false;
}

interface CompiledIntent {
  name: PhraseIntent;
  vocabulary: Set<string>;
  examples: string[][];
}

export interface IntentMatcher {
  /** The small intent the whole message expresses, or null for a procedure question. */
  match(text: string): PhraseIntent | null;
}

export function createIntentMatcher(intents: readonly IntentExamples[]): IntentMatcher {
  const compiled: CompiledIntent[] = intents.map((intent) => {
    const examples = intent.examples
      .map((e) => foldTokens(e).filter((w) => !FILLERS.has(w)))
      .filter((e) => e.length > 0);
    return { name: intent.name, vocabulary: new Set(examples.flat()), examples };
  });

  return {
    match(text: string): PhraseIntent | null {
      const words = foldTokens(text);
      if (words.length === 0) return null;
      const content = words.filter((w) => !FILLERS.has(w));
      // Only particles ("ạ", "ad ơi", "cho em hỏi"): the person is opening a conversation.
      if (content.length === 0) return 'greeting';

      let best: { name: PhraseIntent; specificity: number } | null = null;
      for (const intent of compiled) {
        const own = intent.name === 'greeting' ? content : content.filter((w) => !SALUTATIONS.has(w));
        if (own.length === 0) continue;
        if (!own.every((w) => inVocabulary(w, intent.vocabulary))) continue;
        let specificity = 0;
        for (const example of intent.examples) {
          if (example.every((w) => own.some((o) => sameWord(o, w)))) specificity = Math.max(specificity, example.length);
        }
        if (specificity === 0) continue;
        const better =
          !best ||
          specificity > best.specificity ||
          (specificity === best.specificity && PRIORITY.indexOf(intent.name) < PRIORITY.indexOf(best.name));
        if (better) best = { name: intent.name, specificity };
      }
      return best?.name ?? null;
    },
  };
}
