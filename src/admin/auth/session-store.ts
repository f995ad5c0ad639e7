// Admin sign-in sessions in Redis: a random 32-byte id (the cookie value), the user id and the
// session's CSRF token, expiring after an idle period and, whatever the activity, a maximum age.
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../../store/redis.js';
import { z } from 'zod';

export const SessionData = z.object({
  userId: z.number().int().positive(),
  csrfToken: z.string().min(32),
  createdAt: z.number().int(),
});
export type SessionData = z.infer<typeof SessionData>;

export interface SessionStoreOptions {
  /** Key prefix, e.g. 'motcua:sess:'; tests use their own. */
  prefix: string;
  /** Idle lifetime, renewed by touch(). */
  idleSeconds?: number;
  /** Hard lifetime from creation. */
  maxAgeSeconds?: number;
}

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export class SessionStore {
  readonly idleSeconds: number;
  readonly maxAgeSeconds: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: SessionStoreOptions,
  ) {
    this.idleSeconds = options.idleSeconds ?? 8 * 3600;
    this.maxAgeSeconds = options.maxAgeSeconds ?? 24 * 3600;
  }

  private key(id: string): string {
    return this.options.prefix + id;
  }

  async create(userId: number, now: number = Date.now()): Promise<{ id: string; data: SessionData }> {
    const id = randomBytes(32).toString('base64url');
    const data: SessionData = { userId, csrfToken: randomBytes(32).toString('base64url'), createdAt: now };
    await this.redis.set(this.key(id), JSON.stringify(data), 'EX', this.idleSeconds);
    return { id, data };
  }

  /** The live session, or undefined for an unknown, malformed, expired or too old id. */
  async get(id: string, now: number = Date.now()): Promise<SessionData | undefined> {
    if (!SESSION_ID.test(id)) return undefined;
    const raw = await this.redis.get(this.key(id));
    if (raw === null) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return undefined;
    }
    const parsed = SessionData.safeParse(json);
    if (!parsed.success) return undefined;
    if (now - parsed.data.createdAt > this.maxAgeSeconds * 1000) {
      await this.destroy(id);
      return undefined;
    }
    return parsed.data;
  }

  /** Renews the idle lifetime. */
  async touch(id: string): Promise<void> {
    if (SESSION_ID.test(id)) await this.redis.expire(this.key(id), this.idleSeconds);
  }

  async destroy(id: string): Promise<void> {
    if (SESSION_ID.test(id)) await this.redis.del(this.key(id));
  }
}
