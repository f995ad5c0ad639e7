// A token bucket in Redis (one Lua call, atomic across workers): per-account send rates below
// the platform's limits. Returns 0 when a token was taken, else how many ms until one is free.
import type { Redis } from 'ioredis';

const TAKE = `
local key = KEYS[1]
local rate = tonumber(ARGV[1])      -- tokens per second
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])       -- ms
local state = redis.call('hmget', key, 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('hset', key, 'tokens', tokens, 'at', now)
redis.call('pexpire', key, math.ceil(burst * 1000 / rate) + 1000)
return wait
`;

export interface RateSpec {
  perSecond: number;
  burst: number;
}

export async function takeToken(redis: Redis, key: string, spec: RateSpec, now = Date.now()): Promise<number> {
  const wait = await redis.eval(TAKE, 1, key, String(spec.perSecond), String(spec.burst), String(now));
  return typeof wait === 'number' ? wait : Number(wait);
}
