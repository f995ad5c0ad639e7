// In-memory implementations of the conversation ports, for tests and the CLI. They keep what
// they receive in public arrays so tests can assert on it. Not for production: one process only.
import type {
  ConversationKey,
  ConversationState,
  ConversationStateStore,
  GroupChoice,
  HandoffQueue,
  HandoffRequest,
  QueryLog,
  QueryLogEntry,
  SubscriberKey,
  SubscriptionOverview,
  SubscriptionPort,
  SubscriptionVia,
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

/** One consent change as the memory port records it (like a consent_events row). */
export interface MemoryConsentEvent {
  key: SubscriberKey;
  groupId: number;
  action: 'subscribe' | 'unsubscribe' | 'unsubscribe_all';
  via: SubscriptionVia;
  at: Date;
}

/**
 * Subscriber groups and consents in memory. Groups are given per unit (with `active`); channels
 * listed in `unavailableChannels` answer null, like a widget whose unit has no web account.
 */
export class MemorySubscriptionPort implements SubscriptionPort {
  readonly events: MemoryConsentEvent[] = [];
  /** Citizen (JSON of unit, channel, account, user) → subscribed group ids. */
  private readonly active = new Map<string, Set<number>>();

  constructor(
    private readonly groups: ReadonlyArray<GroupChoice & { unitId: string; active?: boolean }>,
    private readonly unavailableChannels: ReadonlySet<string> = new Set(),
  ) {}

  private citizen(key: SubscriberKey): string {
    return JSON.stringify([key.unitId, key.channel, key.accountId, key.userId]);
  }

  private choice(g: GroupChoice): GroupChoice {
    return { id: g.id, kind: g.kind, name: g.name, description: g.description };
  }

  /** Group ids the citizen is subscribed to (for assertions). */
  subscribedIds(key: SubscriberKey): number[] {
    return [...(this.active.get(this.citizen(key)) ?? [])].sort((a, b) => a - b);
  }

  async overview(key: SubscriberKey): Promise<SubscriptionOverview | null> {
    if (this.unavailableChannels.has(key.channel)) return null;
    const mine = this.active.get(this.citizen(key)) ?? new Set<number>();
    return {
      groups: this.groups.filter((g) => g.unitId === key.unitId && g.active !== false).map((g) => this.choice(g)),
      following: this.groups.filter((g) => mine.has(g.id)).map((g) => this.choice(g)),
    };
  }

  async subscribe(key: SubscriberKey, groupIds: readonly number[], via: SubscriptionVia, at: Date): Promise<number[] | null> {
    if (this.unavailableChannels.has(key.channel)) return null;
    const k = this.citizen(key);
    const mine = this.active.get(k) ?? new Set<number>();
    this.active.set(k, mine);
    const changed: number[] = [];
    for (const id of new Set(groupIds)) {
      const g = this.groups.find((x) => x.id === id && x.unitId === key.unitId && x.active !== false);
      if (!g || mine.has(id)) continue;
      mine.add(id);
      changed.push(id);
      this.events.push({ key, groupId: id, action: 'subscribe', via, at });
    }
    return changed.sort((a, b) => a - b);
  }

  async unsubscribe(key: SubscriberKey, groupId: number | 'all', via: SubscriptionVia, at: Date): Promise<number[] | null> {
    if (this.unavailableChannels.has(key.channel)) return null;
    const mine = this.active.get(this.citizen(key)) ?? new Set<number>();
    const changed = [...mine].filter((id) => groupId === 'all' || id === groupId).sort((a, b) => a - b);
    for (const id of changed) {
      mine.delete(id);
      this.events.push({ key, groupId: id, action: groupId === 'all' ? 'unsubscribe_all' : 'unsubscribe', via, at });
    }
    return changed;
  }
}
