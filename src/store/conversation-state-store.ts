// Per-citizen conversation state in Redis, with a TTL: short-lived, never in PostgreSQL.
// The key carries the platform user id hashed with SECRET_KEY, so a Redis dump or a key listing
// shows no platform ids (Decree 13/2023: pseudonymise where the raw id is not needed).
import { createHmac } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  ConversationState,
  type ConversationKey,
  type ConversationStateStore,
} from '../conversation/ports.js';

export class RedisConversationStateStore implements ConversationStateStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly secret: string,
  ) {}

  private key(k: ConversationKey): string {
    const user = createHmac('sha256', this.secret).update(`${k.channel}\u0000${k.userId}`).digest('base64url');
    return `${this.prefix}:conv:${k.unitId}:${k.channel}:${user}`;
  }

  async get(k: ConversationKey): Promise<ConversationState | null> {
    const raw = await this.redis.get(this.key(k));
    if (raw === null) return null;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return null;
    }
    // A state written by an older version that no longer parses is treated as no state.
    const parsed = ConversationState.safeParse(json);
    return parsed.success ? parsed.data : null;
  }

  async set(k: ConversationKey, state: ConversationState, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.key(k), JSON.stringify(state), 'EX', Math.max(1, Math.round(ttlSeconds)));
  }

  async clear(k: ConversationKey): Promise<void> {
    await this.redis.del(this.key(k));
  }
}
