// In-memory implementations of the conversation ports, for tests and the CLI. They keep what
// they receive in public arrays so tests can assert on it. Not for production: one process only.
import type {
  ConversationKey,
  ConversationState,
  ConversationStateStore,
  HandoffQueue,
  HandoffRequest,
  QueryLog,
  QueryLogEntry,
  TranscriptLine,
  TranscriptStore,
  UnitContact,
  UnitDirectory,
} from './ports.js';
import { TRANSCRIPT_LINES } from './ports.js';

function keyString(key: ConversationKey): string {
  // JSON keeps the three parts apart even if an id contains a separator character.
  return JSON.stringify([key.unitId, key.channel, key.userId]);
}

export class MemoryStateStore implements ConversationStateStore {
  private readonly entries = new Map<string, { state: ConversationState; expiresAt: number }>();

  /** `now` is injectable so tests can move time forward past a TTL. */
  constructor(private readonly now: () => number = Date.now) {}

  async get(key: ConversationKey): Promise<ConversationState | null> {
    const k = keyString(key);
    const entry = this.entries.get(k);
    if (!entry) return null;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(k);
      return null;
    }
    // A copy, like a store that serialises, so callers cannot mutate what is stored.
    return structuredClone(entry.state);
  }

  async set(key: ConversationKey, state: ConversationState, ttlSeconds: number): Promise<void> {
    this.entries.set(keyString(key), { state: structuredClone(state), expiresAt: this.now() + ttlSeconds * 1000 });
  }

  async clear(key: ConversationKey): Promise<void> {
    this.entries.delete(keyString(key));
  }
}

export class MemoryTranscriptStore implements TranscriptStore {
  private readonly lines = new Map<string, TranscriptLine[]>();
  constructor(private readonly max = TRANSCRIPT_LINES) {}

  async append(key: ConversationKey, lines: readonly TranscriptLine[]): Promise<void> {
    const k = keyString(key);
    this.lines.set(k, [...(this.lines.get(k) ?? []), ...lines].slice(-this.max));
  }

  async read(key: ConversationKey): Promise<TranscriptLine[]> {
    return [...(this.lines.get(keyString(key)) ?? [])];
  }
}

export class MemoryQueryLog implements QueryLog {
  readonly entries: QueryLogEntry[] = [];

  async record(entry: QueryLogEntry): Promise<void> {
    this.entries.push(entry);
  }
}

export class MemoryHandoffQueue implements HandoffQueue {
  readonly requests: HandoffRequest[] = [];

  async request(request: HandoffRequest): Promise<void> {
    this.requests.push(request);
  }
}

export class MemoryUnitDirectory implements UnitDirectory {
  private readonly units: Map<string, UnitContact>;

  constructor(units: readonly UnitContact[]) {
    this.units = new Map(units.map((u) => [u.id, u]));
  }

  async get(unitId: string): Promise<UnitContact | null> {
    return this.units.get(unitId) ?? null;
  }
}
