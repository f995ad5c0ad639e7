// The search module's public contract, used by the conversation engine and the CLI.
// Kept stable: `motcua search --json` prints these fields.

export type SearchOutcome = 'answer' | 'choices' | 'none';

/** Which part of a procedure the question asks about; stripped from matching, kept for the reply. */
export type Aspect = 'documents' | 'fee' | 'time' | 'where' | 'online' | 'steps' | 'legal' | 'form' | 'result';

export interface SearchHit {
  code: string;
  name: string;
  /** 0..1, comparable across queries (used by the confidence model). */
  score: number;
}

export interface SearchResult {
  query: string;
  outcome: SearchOutcome;
  /** 0..1: how sure the top hit is the one meant. */
  confidence: number;
  results: SearchHit[];
  aspects: Aspect[];
}

export interface SearchOptions {
  /** How many results to return (default 3). */
  top?: number;
  /** Restrict to a unit's subset of the catalogue; undefined = the whole catalogue. */
  codes?: ReadonlySet<string>;
  /**
   * A unit's own phrasings (contentKey → procedure code) that officers attached to procedures:
   * a question with the same content is answered with that procedure.
   */
  aliases?: ReadonlyMap<string, string>;
}

export interface Searcher {
  search(query: string, options?: SearchOptions): SearchResult;
  /** The wording-independent key of a question's content (see SearchOptions.aliases); null if none. */
  contentKey(query: string): string | null;
  /** Number of indexed procedures. */
  readonly size: number;
}
