// Per-citizen conversation state in Redis, with a TTL: short-lived, never in PostgreSQL.
// The key carries the platform user id hashed with SECRET_KEY, so a Redis dump or a key listing
// shows no platform ids (Decree 13/2023: pseudonymise where the raw id is not needed).
import { createHmac } from 'node:crypto';
import type { RedisClient } from './redis.js';
import {
  ConversationState,
  TRANSCRIPT_LINES,
  TranscriptLine,
  type ConversationKey,
  type ConversationStateStore,
  type TranscriptStore,
} from '../conversation/ports.js';

export class RedisConversationStateStore implements ConversationStateStore, TranscriptStore {
  constructor(
    private readonly redis: RedisClient,
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

  /** The newest TRANSCRIPT_LINES lines, in a capped list that expires with the conversation. */
  async append(k: ConversationKey, lines: readonly TranscriptLine[], ttlSeconds: number): Promise<void> {
    if (lines.length === 0) return;
    const key = this.key(k) + ':lines';
    await this.redis
      .multi()
      .rpush(key, ...lines.map((l) => JSON.stringify(l)))
      .ltrim(key, -TRANSCRIPT_LINES, -1)
      .expire(key, Math.max(1, Math.round(ttlSeconds)))
      .exec();
  }

  async read(k: ConversationKey): Promise<TranscriptLine[]> {
    const raw = await this.redis.lrange(this.key(k) + ':lines', 0, -1);
    const out: TranscriptLine[] = [];
    for (const r of raw) {
      try {
        const parsed = TranscriptLine.safeParse(JSON.parse(r));
        if (parsed.success) out.push(parsed.data);
      } catch {
        // A line that does not parse is skipped, not fatal.
      }
    }
    return out;
  }
}
