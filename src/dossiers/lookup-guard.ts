// The brake on guessing verification digits (issue #7). Four digits are 10,000 possibilities, so
// a check is only allowed while neither the citizen (one chat account of one unit) nor the code
// (in that unit) has had LIMIT failed checks within the last hour: a sliding window of failures
// per subject. Both count every check, whether the code exists or not, so a refusal and the
// cool-down read the same for a real code and an invented one (no enumeration), and a citizen
// trying many codes is stopped as surely as many citizens trying one code.
// A check first reserves its place (attempt) and a success gives it back (succeeded): the count
// can never be raced past the limit by concurrent checks. This module holds the port, the key
// derivation (hashed: no platform user id and no code in a key name) and the in-memory
// implementation for tests; src/store/redis-lookup-guard.ts is the shared one.
import { createHmac } from 'node:crypto';
import type { ChannelName } from '../channels/channel.js';

/** Failed checks allowed per citizen and per code within the window. */
export const LOOKUP_FAILURE_LIMIT = 5;
/** The window, and so the longest cool-down: one hour. */
export const LOOKUP_WINDOW_MS = 60 * 60 * 1000;

/** The citizen behind a look-up: one chat account of one unit. */
export interface LookupSubject {
  unitId: string;
  channel: ChannelName;
  userId: string;
}

export type AttemptResult =
  /** The check may go ahead; `id` gives it back if it succeeds; `remaining` after this one fails. */
  | { allowed: true; id: string; remaining: number }
  /** Cooling down: no check before `retryAt`. */
  | { allowed: false; retryAt: Date };

export interface LookupGuard {
  /** When checks resume for this citizen or this code, or null when they are allowed now. */
  blockedUntil(who: LookupSubject, codeKey: string, now: Date): Promise<Date | null>;
  /** Reserves one check (it counts as a failure unless `succeeded` is called), or refuses. */
  attempt(who: LookupSubject, codeKey: string, now: Date): Promise<AttemptResult>;
  /** The reserved check succeeded: it no longer counts. */
  succeeded(who: LookupSubject, codeKey: string, id: string): Promise<void>;
}

export interface GuardKeys {
  citizen: string;
  code: string;
}

/**
 * The two counters' key names under `prefix`: HMACs (keyed with `secret`) of the unit with the
 * channel and user id, and of the unit with the code's key.
 */
export function guardKeys(prefix: string, secret: string, who: LookupSubject, codeKey: string): GuardKeys {
  const mac = (text: string) => createHmac('sha256', secret).update(`motcua:dossier-lookup:${text}`).digest('base64url');
  return {
    citizen: `${prefix}:hs-guard:u:${mac(`${who.unitId}\u0000${who.channel}\u0000${who.userId}`)}`,
    code: `${prefix}:hs-guard:c:${mac(`${who.unitId}\u0000${codeKey}`)}`,
  };
}

/** The instant the oldest failure that keeps a full window full leaves it. */
function retryAt(times: readonly number[], limit: number, windowMs: number): number | null {
  return times.length >= limit ? (times[times.length - limit] ?? 0) + windowMs : null;
}

/** In one process only: tests and the CLI. The clock is the caller's `now`. */
export class MemoryLookupGuard implements LookupGuard {
  private readonly entries = new Map<string, Array<{ at: number; id: string }>>();
  private seq = 0;

  constructor(
    private readonly limit = LOOKUP_FAILURE_LIMIT,
    private readonly windowMs = LOOKUP_WINDOW_MS,
  ) {}

  private keys(who: LookupSubject, codeKey: string): string[] {
    return [JSON.stringify(['u', who.unitId, who.channel, who.userId]), JSON.stringify(['c', who.unitId, codeKey])];
  }

  private live(key: string, now: number): Array<{ at: number; id: string }> {
    const list = (this.entries.get(key) ?? []).filter((e) => e.at > now - this.windowMs);
    this.entries.set(key, list);
    return list;
  }

  private until(keys: readonly string[], now: number): number | null {
    let until: number | null = null;
    for (const key of keys) {
      const t = retryAt(
        this.live(key, now).map((e) => e.at),
        this.limit,
        this.windowMs,
      );
      if (t !== null && (until === null || t > until)) until = t;
    }
    return until;
  }

  async blockedUntil(who: LookupSubject, codeKey: string, now: Date): Promise<Date | null> {
    const t = this.until(this.keys(who, codeKey), now.getTime());
    return t === null ? null : new Date(t);
  }

  async attempt(who: LookupSubject, codeKey: string, now: Date): Promise<AttemptResult> {
    const keys = this.keys(who, codeKey);
    const t = this.until(keys, now.getTime());
    if (t !== null) return { allowed: false, retryAt: new Date(t) };
    const id = `m${++this.seq}`;
    let remaining = this.limit;
    for (const key of keys) {
      const list = this.live(key, now.getTime());
      list.push({ at: now.getTime(), id });
      remaining = Math.min(remaining, this.limit - list.length);
    }
    return { allowed: true, id, remaining };
  }

  async succeeded(who: LookupSubject, codeKey: string, id: string): Promise<void> {
    for (const key of this.keys(who, codeKey)) {
      const list = this.entries.get(key);
      if (list) this.entries.set(key, list.filter((e) => e.id !== id));
    }
  }
}
