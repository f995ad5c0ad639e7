// Slows password guessing: failed sign-ins are counted per account and per client address in
// fixed Redis windows; past the limit, sign-in is refused (even with the right password) until
// the window ends. A success clears the account's counter; the address counter runs out alone,
// so one valid account cannot be used to reset an attacker's address budget.
import { createHash } from 'node:crypto';
import type { RedisClient } from '../../store/redis.js';

export interface LoginLimiterOptions {
  prefix: string;
  maxPerAccount?: number;
  maxPerIp?: number;
  windowSeconds?: number;
}

export interface LimitDecision {
  allowed: boolean;
  /** Seconds until the blocking window ends (0 when allowed). */
  retryAfterSeconds: number;
}

// INCR, and start the window on the first failure only.
const FAIL = `local n = redis.call('incr', KEYS[1]) if n == 1 then redis.call('expire', KEYS[1], ARGV[1]) end return n`;

function digest(s: string): string {
  // Usernames typed at the login form are arbitrary text: keep keys short and opaque.
  return createHash('sha256').update(s, 'utf8').digest('base64url').slice(0, 22);
}

export class LoginLimiter {
  readonly maxPerAccount: number;
  readonly maxPerIp: number;
  readonly windowSeconds: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: LoginLimiterOptions,
  ) {
    this.maxPerAccount = options.maxPerAccount ?? 5;
    this.maxPerIp = options.maxPerIp ?? 20;
    this.windowSeconds = options.windowSeconds ?? 15 * 60;
  }

  private userKey(username: string): string {
    return `${this.options.prefix}u:${digest(username)}`;
  }

  private ipKey(ip: string): string {
    return `${this.options.prefix}ip:${digest(ip)}`;
  }

  async check(username: string, ip: string): Promise<LimitDecision> {
    const u = this.userKey(username);
    const i = this.ipKey(ip);
    const [uCount, iCount] = await this.redis.mget(u, i);
    const over: string[] = [];
    if (Number(uCount ?? 0) >= this.maxPerAccount) over.push(u);
    if (Number(iCount ?? 0) >= this.maxPerIp) over.push(i);
    if (over.length === 0) return { allowed: true, retryAfterSeconds: 0 };
    const ttls = await Promise.all(over.map((k) => this.redis.ttl(k)));
    return { allowed: false, retryAfterSeconds: Math.max(1, ...ttls) };
  }

  async recordFailure(username: string, ip: string): Promise<void> {
    await Promise.all([
      this.redis.eval(FAIL, 1, this.userKey(username), this.windowSeconds),
      this.redis.eval(FAIL, 1, this.ipKey(ip), this.windowSeconds),
    ]);
  }

  async reset(username: string): Promise<void> {
    await this.redis.del(this.userKey(username));
  }
}
