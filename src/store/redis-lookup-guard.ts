// The dossier look-up guard (src/dossiers/lookup-guard.ts) in Redis, shared by every process:
// one sorted set of check times per citizen and per code, under hashed key names. Each call is
// one Lua script, so "count, then reserve" is atomic across concurrent checks. The window is
// measured with the caller's clock (scores), and each set expires an hour after its last write.
import { randomBytes } from 'node:crypto';
import type { RedisClient } from './redis.js';
import {
  guardKeys,
  LOOKUP_FAILURE_LIMIT,
  LOOKUP_WINDOW_MS,
  type AttemptResult,
  type LookupGuard,
  type LookupSubject,
} from '../dossiers/lookup-guard.js';

// KEYS: citizen, code. ARGV: now, window, limit, id ('' to only look). Returns {1, remaining}
// when allowed (and reserved, if an id was given) or {0, retryAt}.
const SCRIPT = `
local now = tonumber(ARGV[1])
local win = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local retry = 0
for i = 1, 2 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - win)
  local n = redis.call('ZCARD', KEYS[i])
  if n >= limit then
    local e = redis.call('ZRANGE', KEYS[i], n - limit, n - limit, 'WITHSCORES')
    local t = tonumber(e[2]) + win
    if t > retry then retry = t end
  end
end
if retry > 0 then return {0, retry} end
local remaining = limit
if ARGV[4] ~= '' then
  for i = 1, 2 do
    redis.call('ZADD', KEYS[i], now, ARGV[4])
    redis.call('PEXPIRE', KEYS[i], win)
    local left = limit - redis.call('ZCARD', KEYS[i])
    if left < remaining then remaining = left end
  end
end
return {1, remaining}
`;

export class RedisLookupGuard implements LookupGuard {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly secret: string,
    private readonly limit = LOOKUP_FAILURE_LIMIT,
    private readonly windowMs = LOOKUP_WINDOW_MS,
  ) {}

  private async run(who: LookupSubject, codeKey: string, now: Date, id: string): Promise<[number, number]> {
    const keys = guardKeys(this.prefix, this.secret, who, codeKey);
    const out: unknown = await this.redis.eval(SCRIPT, 2, keys.citizen, keys.code, String(now.getTime()), String(this.windowMs), String(this.limit), id);
    if (!Array.isArray(out) || typeof out[0] !== 'number' || typeof out[1] !== 'number') throw new Error('unexpected lookup guard reply');
    return [out[0], out[1]];
  }

  async blockedUntil(who: LookupSubject, codeKey: string, now: Date): Promise<Date | null> {
    const [ok, value] = await this.run(who, codeKey, now, '');
    return ok === 1 ? null : new Date(value);
  }

  async attempt(who: LookupSubject, codeKey: string, now: Date): Promise<AttemptResult> {
    const id = `${now.getTime()}:${randomBytes(6).toString('hex')}`;
    const [ok, value] = await this.run(who, codeKey, now, id);
    return ok === 1 ? { allowed: true, id, remaining: value } : { allowed: false, retryAt: new Date(value) };
  }

  async succeeded(who: LookupSubject, codeKey: string, id: string): Promise<void> {
    const keys = guardKeys(this.prefix, this.secret, who, codeKey);
    await this.redis.multi().zrem(keys.citizen, id).zrem(keys.code, id).exec();
  }
}
