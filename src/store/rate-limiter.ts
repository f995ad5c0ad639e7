// The per-account send limiter: a sliding-window log in Redis, one Lua call per send (atomic
// across worker processes). At most `limit` sends are admitted in any window of `windowMs`,
// whatever the offset the window is measured at: the platform's "busiest second" never exceeds
// the rate, where a token bucket lets a second reach rate + burst (docs/decisions/008).
//
// The log is a list of admission times, newest first, trimmed as they leave the window (each
// entry is popped once: O(1) per call amortised; memory ≤ one entry per send of the last
// window). Times never go backwards in the log: a caller whose clock is behind is counted at the
// newest time already there, which only makes the limit stricter.
//
// Replies keep a share of each account's capacity ahead of bulk sends (broadcasts), without
// costing bulk sends anything while nobody chats: a bulk send is admitted only while the window
// leaves room for as many replies as were sent in the last window (plus one while a reply is
// waiting), up to a fifth of the limit. A reply finds the window full only on its first message
// after a quiet spell, and then waits at most one send interval: the marker it leaves makes the
// next free place its own.
//
// A send is counted for `windowMs` = 1 s plus a small guard: what is admitted here reaches the
// platform a few milliseconds later, by an amount that varies from send to send (a database
// claim, the event loop, the network); the guard keeps the window measured at the platform's
// end at or under the rate too. It costs guard / (1 s + guard) of the throughput (2.4 % at
// 25 ms).
import { createHash } from 'node:crypto';
import type { RedisClient } from './redis.js';

export interface RateSpec {
  /** Sends per second per account (a Page or an OA); whole numbers in practice (2.5 → 2). */
  perSecond: number;
  /** How long past the second a send stays counted (ms); DEFAULT_GUARD_MS when absent. */
  guardMs?: number;
}

/** Covers the spread of the delay between admission and arrival at the platform. */
export const DEFAULT_GUARD_MS = 25;

export interface LimiterShape {
  /** Sends admitted in any window. */
  limit: number;
  /** The window: a second (more for rates under 1/s) plus the guard. */
  windowMs: number;
  /** Even spacing of sends at the limit: windowMs / limit. */
  intervalMs: number;
  /** The replies' share: places of the window bulk sends leave to replies, at most. */
  replyShare: number;
}

export function limiterShape(spec: RateSpec): LimiterShape {
  const rate = spec.perSecond;
  if (!(rate > 0)) throw new Error('perSecond must be positive');
  const limit = Math.max(1, Math.floor(rate));
  const windowMs = Math.max(1000, (1000 * limit) / rate) + Math.max(0, spec.guardMs ?? DEFAULT_GUARD_MS);
  return { limit, windowMs, intervalMs: windowMs / limit, replyShare: Math.min(limit - 1, Math.ceil(limit / 5)) };
}

/** The Redis keys of an account's limiter, from its base key. */
export function limiterKeys(base: string): [log: string, replies: string, waiting: string] {
  return [`${base}:log`, `${base}:replies`, `${base}:reply-waiting`];
}

/**
 * Lua: `local function admit(logKey, replyKey, waitKey, now, limit, window, reply, share, take)`.
 * Returns 0 when the send may go (logged when `take`), else the ms until it may.
 * Shared by ACQUIRE below and the broadcast sender's pace script (src/jobs/broadcast-queue.ts),
 * which only looks (`take` false) before claiming a delivery.
 */
export const ADMIT_LUA = `
local function admit(logKey, replyKey, waitKey, now, limit, window, reply, share, take)
  local newest = tonumber(redis.call('lindex', logKey, 0))
  if newest and newest > now then now = newest end
  local edge = now - window
  local function trim(key)
    while true do
      local oldest = tonumber(redis.call('lindex', key, -1))
      if oldest == nil or oldest > edge then break end
      redis.call('rpop', key)
    end
    return redis.call('llen', key)
  end
  local count = trim(logKey)
  local replies = trim(replyKey)
  local allowed = limit
  if not reply and share > 0 then
    local keep = replies
    if redis.call('exists', waitKey) == 1 then keep = keep + 1 end
    if keep > share then keep = share end
    allowed = limit - keep
  end
  if count < allowed then
    if not take then return 0 end
    redis.call('lpush', logKey, now)
    redis.call('pexpire', logKey, math.ceil(window) + 1000)
    if reply then
      redis.call('lpush', replyKey, now)
      redis.call('pexpire', replyKey, math.ceil(window) + 1000)
      redis.call('del', waitKey)
    end
    return 0
  end
  -- Full: the wait until enough of the oldest sends have left the window.
  local leaving = tonumber(redis.call('lindex', logKey, -(count - allowed + 1))) or now
  local wait = math.max(1, math.ceil(leaving + window - now))
  if take and reply and share > 0 then
    redis.call('set', waitKey, '1', 'PX', wait + 100)
  end
  return wait
end
`;

const ACQUIRE = `${ADMIT_LUA}
return admit(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1', tonumber(ARGV[5]), true)
`;

export type SendKind = 'reply' | 'bulk';

/**
 * One send of the account whose limiter lives at `base`: 0 when admitted (counted from `now`),
 * else how many ms until it may be. Replies may use the whole window; bulk sends leave the
 * replies' share.
 */
export async function acquireSend(redis: RedisClient, base: string, spec: RateSpec, kind: SendKind, now = Date.now()): Promise<number> {
  const shape = limiterShape(spec);
  const wait = await evalScript(redis, ACQUIRE, limiterKeys(base), [now, shape.limit, shape.windowMs, kind === 'reply' ? 1 : 0, shape.replyShare]);
  return typeof wait === 'number' ? wait : Number(wait);
}

const shas = new Map<string, string>();
/** EVALSHA of a script, loading it on first use (or after a Redis restart flushed it). */
export async function evalScript(redis: RedisClient, script: string, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
  let sha = shas.get(script);
  if (!sha) {
    sha = createHash('sha1').update(script).digest('hex');
    shas.set(script, sha);
  }
  try {
    return await redis.evalsha(sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
    return redis.eval(script, keys.length, ...keys, ...args);
  }
}
