// The units as the conversation sees them — contact details, procedure subset, and the
// phrasings officers attached to procedures — held in memory by every process and kept fresh
// without a restart: a change made in the admin (any web process) reloads the unit locally and
// is announced on a Redis channel, which every other process (workers included) follows. After
// a lost connection a process reloads everything, since it may have missed announcements.
import { duplicateClient, type RedisClient } from '../store/redis.js';
import type { UnitContact, UnitDirectory } from '../conversation/ports.js';
import type { AliasRepository } from '../store/alias-repository.js';
import type { UnitRepository } from '../store/unit-repository.js';
import { compileUnitAliases } from '../search/unit-aliases.js';
import type { SearchResult, Searcher } from '../search/types.js';
import type { Unit } from './unit.js';

export interface LiveUnit extends UnitContact {
  aliases: ReadonlyMap<string, string>;
}

export interface LiveUnitsDeps {
  units: Pick<UnitRepository, 'get' | 'list'>;
  aliases: Pick<AliasRepository, 'list' | 'listAll'>;
  searcher: Pick<Searcher, 'contentKey'>;
  /** A connection this class may put in subscriber mode (it is duplicated, never used as is). */
  redis?: RedisClient;
  channel: string;
  onError?: (err: unknown) => void;
}

export class LiveUnits implements UnitDirectory {
  private byId = new Map<string, LiveUnit>();
  private subscriber: RedisClient | undefined;
  private readonly codeSets = new WeakMap<readonly string[], ReadonlySet<string>>();

  constructor(private readonly deps: LiveUnitsDeps) {}

  /** Loads every unit and alias; call once before use. */
  async load(): Promise<void> {
    const [units, aliases] = await Promise.all([this.deps.units.list(), this.deps.aliases.listAll()]);
    const next = new Map<string, LiveUnit>();
    for (const u of units) {
      const own = aliases.filter((a) => a.unitId === u.id);
      next.set(u.id, this.live(u, compileUnitAliases(this.deps.searcher, own)));
    }
    this.byId = next;
  }

  /** Re-reads one unit (and its aliases) from the database. */
  async reload(unitId: string): Promise<void> {
    const [unit, aliases] = await Promise.all([this.deps.units.get(unitId), this.deps.aliases.list(unitId)]);
    if (!unit) {
      this.byId.delete(unitId);
      return;
    }
    this.byId.set(unitId, this.live(unit, compileUnitAliases(this.deps.searcher, aliases)));
  }

  /** Reloads the unit here and tells every other process to do the same. */
  async changed(unitId: string): Promise<void> {
    await this.reload(unitId);
    if (this.deps.redis) await this.deps.redis.publish(this.deps.channel, unitId);
  }

  async get(unitId: string): Promise<LiveUnit | null> {
    return this.byId.get(unitId) ?? null;
  }

  has(unitId: string): boolean {
    return this.byId.has(unitId);
  }

  list(): LiveUnit[] {
    return [...this.byId.values()];
  }

  /** The unit's procedure subset as a set (undefined = the whole catalogue). */
  codes(unitId: string): ReadonlySet<string> | undefined {
    const list = this.byId.get(unitId)?.procedureCodes;
    if (!list) return undefined;
    let set = this.codeSets.get(list);
    if (!set) {
      set = new Set(list);
      this.codeSets.set(list, set);
    }
    return set;
  }

  /** Searches as the unit's bot does: its subset of the catalogue and its own phrasings. */
  search(searcher: Pick<Searcher, 'search'>, unitId: string, text: string, top = 3): SearchResult {
    const codes = this.codes(unitId);
    const aliases = this.byId.get(unitId)?.aliases;
    return searcher.search(text, { top, ...(codes ? { codes } : {}), ...(aliases && aliases.size > 0 ? { aliases } : {}) });
  }

  /** Follows the announcements of other processes. */
  async subscribe(): Promise<void> {
    if (!this.deps.redis || this.subscriber) return;
    const sub = duplicateClient(this.deps.redis);
    this.subscriber = sub;
    const fail = (err: unknown) => this.deps.onError?.(err);
    sub.on('message', (_channel: string, unitId: string) => void this.reload(unitId).catch(fail));
    // Announcements sent while the connection was down are lost: reload everything on reconnect.
    let first = true;
    sub.on('ready', () => {
      if (first) first = false;
      else void this.load().catch(fail);
    });
    sub.on('error', fail);
    await sub.subscribe(this.deps.channel);
  }

  async close(): Promise<void> {
    const sub = this.subscriber;
    this.subscriber = undefined;
    if (sub) await sub.quit().catch(() => sub.disconnect());
  }

  private live(u: Unit, aliases: ReadonlyMap<string, string>): LiveUnit {
    return { ...u, aliases };
  }
}
