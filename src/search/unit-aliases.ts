// A unit's own phrasings, attached by its officers to procedures ("questions without an
// answer" → "this is procedure X"), compiled into the map SearchOptions.aliases expects.
import { foldMarks } from './normalize.js';
import type { Searcher } from './types.js';

export interface UnitAliasInput {
  code: string;
  text: string;
}

/** The keys a phrasing is known by: as written and folded (see Searcher.contentKey). */
export function aliasKeys(searcher: Pick<Searcher, 'contentKey'>, text: string): string[] {
  const keys = new Set<string>();
  for (const t of [text, foldMarks(text.normalize('NFC'))]) {
    const k = searcher.contentKey(t);
    if (k !== null) keys.add(k);
  }
  return [...keys];
}

/** contentKey → code; a later alias with the same key wins (the newest decision of the officers). */
export function compileUnitAliases(searcher: Pick<Searcher, 'contentKey'>, aliases: readonly UnitAliasInput[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const a of aliases) for (const k of aliasKeys(searcher, a.text)) map.set(k, a.code);
  return map;
}
