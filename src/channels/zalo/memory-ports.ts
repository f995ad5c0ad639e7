// In-process implementations of the token ports, for tests and single-process development
// (production binds ZaloTokenStore to PostgreSQL and ZaloRefreshLock to a Redis lock).
import type { ZaloRefreshLock, ZaloTokenPair, ZaloTokenStore } from './tokens.js';

export interface MemoryZaloTokenStore extends ZaloTokenStore {
  /** OAs marked reconnect_required, with the reason. */
  readonly reconnectRequired: Map<string, string>;
  readonly saves: number;
}

export function createMemoryZaloTokenStore(initial: Record<string, ZaloTokenPair> = {}): MemoryZaloTokenStore {
  const pairs = new Map<string, ZaloTokenPair>(Object.entries(initial));
  const reconnectRequired = new Map<string, string>();
  let saves = 0;
  return {
    reconnectRequired,
    get saves() {
      return saves;
    },
    async load(oaId) {
      if (reconnectRequired.has(oaId)) return null;
      const p = pairs.get(oaId);
      return p ? { ...p } : null;
    },
    async save(oaId, pair) {
      saves++;
      pairs.set(oaId, { ...pair });
      reconnectRequired.delete(oaId);
    },
    async markReconnectRequired(oaId, reason) {
      reconnectRequired.set(oaId, reason);
    },
  };
}

/** A per-key FIFO mutex: calls for one OA run one after another. */
export function createMemoryRefreshLock(): ZaloRefreshLock {
  const tails = new Map<string, Promise<void>>();
  return {
    async withLock(oaId, fn) {
      const previous = tails.get(oaId) ?? Promise.resolve();
      let release!: () => void;
      const mine = new Promise<void>((resolve) => (release = resolve));
      const tail = previous.then(() => mine);
      tails.set(oaId, tail);
      await previous;
      try {
        return await fn();
      } finally {
        release();
        if (tails.get(oaId) === tail) tails.delete(oaId);
      }
    },
  };
}
