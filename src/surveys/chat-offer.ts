// How often the unit's periodic survey is offered after a procedure answer: at most once per citizen (per unit
// and channel) per interval. A port with two implementations: Redis (SET NX EX, so concurrent
// answers in several processes still offer once) and memory (tests, the CLI). The Redis key
// carries the platform user id only as a keyed hash, as the conversation state's key does.
import { createHmac } from 'node:crypto';
import type { ConversationKey } from '../conversation/ports.js';

export interface OfferLimiter {
  /** True when this citizen may be offered the survey now; the offer is then recorded for `ttlSeconds`. */
  take(key: ConversationKey, ttlSeconds: number): Promise<boolean>;
}

/** When and how often the survey is offered after an answer (SURVEY_OFFER_* settings). */
export interface OfferPolicy {
  /** 'off': never offered after an answer (the default); 'on': offered, limited by `limiter`. */
  mode: 'off' | 'on';
  limiter: OfferLimiter;
  /** At most one offer per citizen per this many days. */
  intervalDays: number;
}

export class MemoryOfferLimiter implements OfferLimiter {
  private readonly until = new Map<string, number>();

  constructor(private readonly nowMs: () => number = Date.now) {}

  async take(key: ConversationKey, ttlSeconds: number): Promise<boolean> {
    const k = `${key.unitId}\u0000${key.channel}\u0000${key.userId}`;
    const now = this.nowMs();
    const held = this.until.get(k);
    if (held !== undefined && held > now) return false;
    this.until.set(k, now + ttlSeconds * 1000);
    return true;
  }
}

/** What RedisOfferLimiter needs of an ioredis client (the domain does not import the driver). */
export interface RedisSetNx {
  set(key: string, value: string, ex: 'EX', seconds: number, nx: 'NX'): Promise<'OK' | null>;
}

export class RedisOfferLimiter implements OfferLimiter {
  constructor(
    private readonly redis: RedisSetNx,
    /** REDIS_KEY_PREFIX. */
    private readonly prefix: string,
    /** SECRET_KEY: the user id is kept only as a keyed hash. */
    private readonly secret: string,
  ) {}

  key(k: ConversationKey): string {
    const user = createHmac('sha256', this.secret).update(`survey-offer\u0000${k.channel}\u0000${k.userId}`).digest('base64url');
    return `${this.prefix}:survey-offer:${k.unitId}:${k.channel}:${user}`;
  }

  async take(key: ConversationKey, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.set(this.key(key), '1', 'EX', Math.max(1, Math.round(ttlSeconds)), 'NX')) === 'OK';
  }
}
