// Recognises the subscription commands ("đăng ký nhận tin", "hủy đăng ký", "STOP") exactly:
// after folding (marks stripped, "kí" read as "ký", "dk"/"đk" as "đăng ký") and dropping
// politeness words, the message must BE one of the examples. No typo tolerance and no partial
// match, because the same words start procedure questions ("đăng ký khai sinh", "hủy đăng ký
// thường trú") and because a command changes a citizen's consent.
import { foldTokens } from './intent-matcher.js';

export type Command = 'subscribe' | 'unsubscribe' | 'stop';

export interface CommandExamples {
  name: Command;
  examples: readonly string[];
}

export interface CommandMatcher {
  match(text: string): Command | null;
}

/**
 * Words that add nothing to a command: particles, forms of address, "please", and where the
 * news comes from ("của xã", "từ UBND"). Only dropped, never matched on.
 */
const IGNORED = new Set([
  'a', 'ah', 'ad', 'admin', 'ban', 'oi', 'nhe', 'nha', 'nhi', 'voi', 'vay', 'em', 'anh', 'chi', 'minh', 'toi',
  'cho', 'xin', 'vui', 'long', 'giup', 'muon', 'duoc', 'hay', 'la', 'thi', 'chao', 'hi', 'hello', 'alo',
  'cua', 'tu', 'xa', 'phuong', 'ubnd', 'uy',
]);

/** One spelling for words people write two ways. */
function canonical(tokens: readonly string[]): string[] {
  const out: string[] = [];
  for (const t of tokens) {
    if (t === 'dk' || t === 'dky') out.push('dang', 'ky');
    else if (t === 'ki') out.push('ky');
    else out.push(t);
  }
  return out;
}

/** The comparison key of a text: folded, canonical, politeness words dropped. */
export function commandKey(text: string): string {
  return canonical(foldTokens(text))
    .filter((w) => !IGNORED.has(w))
    .join(' ');
}

/** Throws when one phrase is given to two commands (an intents file mistake, caught at start). */
export function createCommandMatcher(commands: readonly CommandExamples[]): CommandMatcher {
  const byKey = new Map<string, Command>();
  for (const command of commands) {
    for (const example of command.examples) {
      const key = commandKey(example);
      if (key === '') continue;
      const other = byKey.get(key);
      if (other !== undefined && other !== command.name) {
        throw new Error(`"${example}" is an example of both "${other}" and "${command.name}"`);
      }
      byKey.set(key, command.name);
    }
  }
  return {
    match(text: string): Command | null {
      const key = commandKey(text);
      return key === '' ? null : (byKey.get(key) ?? null);
    },
  };
}
