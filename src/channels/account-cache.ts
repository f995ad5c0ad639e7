// A short-lived in-process cache of (platform, external id) → account for webhook intake:
// every event names its Page / OA, and a database round trip per event would cap intake far
// below the platforms' bursts. Entries live `ttlMs`; an account's status and secrets are not
// cached here (the workers read them fresh before sending). While the database is unreachable
// an expired entry of a known account is still used: the event is queued (Redis) rather than
// refused, and Zalo does not retry a refused event.
import type { IntakeAccount } from './intake.js';
import type { PlatformName } from './platform-event.js';

export function cachedAccountLookup(
  find: (platform: PlatformName, externalId: string) => Promise<IntakeAccount | undefined>,
  options: { ttlMs?: number; negativeTtlMs?: number; max?: number; now?: () => number } = {},
): (platform: PlatformName, externalId: string) => Promise<IntakeAccount | undefined> {
  const ttl = options.ttlMs ?? 30_000;
  const negativeTtl = options.negativeTtlMs ?? 5_000;
  const max = options.max ?? 10_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { value: IntakeAccount | undefined; until: number }>();
  return async (platform, externalId) => {
    const key = `${platform}\u0000${externalId}`;
    const hit = cache.get(key);
    if (hit && hit.until > now()) return hit.value;
    let found: IntakeAccount | undefined;
    try {
      found = await find(platform, externalId);
    } catch (err) {
      if (hit?.value) return hit.value;
      throw err;
    }
    const value = found ? { id: found.id, unitId: found.unitId } : undefined;
    if (cache.size >= max) cache.clear();
    cache.set(key, { value, until: now() + (value ? ttl : negativeTtl) });
    return value;
  };
}
