// Staff accounts of the admin web and their API tokens. Passwords are kept as scrypt hashes
// and tokens as sha256 digests: the clear value leaves this module once, at creation.
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Queryable } from './database.js';
import { Role } from '../admin/auth/roles.js';
import { generateOneTimePassword, hashPassword } from '../admin/auth/password.js';

/** Lower-case login name: letters, digits, dot, dash, underscore; up to 64 characters. */
export const Username = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/);

const Id = z.union([z.number(), z.string(), z.bigint()]).transform((v) => Number(v));

const UserRow = z.object({
  id: Id,
  username: z.string(),
  password_hash: z.string(),
  role: Role,
  unit_id: z.string().nullable(),
  must_change_password: z.boolean(),
  disabled: z.boolean(),
  created_at: z.date(),
  last_login_at: z.date().nullable(),
});

export interface StaffUser {
  id: number;
  username: string;
  role: Role;
  /** null = province-wide. */
  unitId: string | null;
  mustChangePassword: boolean;
  disabled: boolean;
  createdAt: Date;
  lastLoginAt: Date | null;
}

export interface StaffUserWithHash extends StaffUser {
  passwordHash: string;
}

function fromRow(raw: unknown): StaffUserWithHash {
  const r = UserRow.parse(raw);
  return {
    id: r.id,
    username: r.username,
    role: r.role,
    unitId: r.unit_id,
    mustChangePassword: r.must_change_password,
    disabled: r.disabled,
    createdAt: r.created_at,
    lastLoginAt: r.last_login_at,
    passwordHash: r.password_hash,
  };
}

function withoutHash(u: StaffUserWithHash): StaffUser {
  const { passwordHash: _omit, ...rest } = u;
  return rest;
}

export const API_TOKEN_PREFIX = 'mct_';

/** An API token as listed in the admin (never its value, which is not stored). */
export interface ApiTokenInfo {
  id: number;
  name: string;
  /** The owner. */
  userId: number;
  username: string;
  /** The owner's unit; null = province-wide. */
  unitId: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const TokenRow = z.object({
  id: Id,
  name: z.string(),
  user_id: Id,
  username: z.string(),
  unit_id: z.string().nullable(),
  created_at: z.date(),
  last_used_at: z.date().nullable(),
  revoked_at: z.date().nullable(),
});

function tokenFromRow(raw: unknown): ApiTokenInfo {
  const r = TokenRow.parse(raw);
  return {
    id: r.id,
    name: r.name,
    userId: r.user_id,
    username: r.username,
    unitId: r.unit_id,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

const TOKEN_COLUMNS = 't.id, t.name, t.user_id, u.username, u.unit_id, t.created_at, t.last_used_at, t.revoked_at';

function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class StaffRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * Creates a user with a one-time password (returned once; they must change it at first
   * sign-in). Returns undefined when the username is taken.
   */
  async create(input: { username: string; role: Role; unitId: string | null }): Promise<{ user: StaffUser; oneTimePassword: string } | undefined> {
    const username = Username.parse(input.username);
    const role = Role.parse(input.role);
    const oneTimePassword = generateOneTimePassword();
    const hash = await hashPassword(oneTimePassword);
    const rows = await this.db.query(
      `INSERT INTO staff_users (username, password_hash, role, unit_id, must_change_password)
       VALUES ($1, $2, $3, $4, true)
       ON CONFLICT (username) DO NOTHING
       RETURNING *`,
      [username, hash, role, input.unitId],
    );
    const row = rows[0];
    if (!row) return undefined;
    return { user: withoutHash(fromRow(row)), oneTimePassword };
  }

  /** The user with their password hash (for sign-in); undefined for an unknown or invalid name. */
  async findByUsername(username: string): Promise<StaffUserWithHash | undefined> {
    const parsed = Username.safeParse(username);
    if (!parsed.success) return undefined;
    const rows = await this.db.query('SELECT * FROM staff_users WHERE username = $1', [parsed.data]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async findById(id: number): Promise<StaffUser | undefined> {
    const rows = await this.db.query('SELECT * FROM staff_users WHERE id = $1', [id]);
    return rows[0] ? withoutHash(fromRow(rows[0])) : undefined;
  }

  async list(unitId: string | null): Promise<StaffUser[]> {
    const rows =
      unitId === null
        ? await this.db.query('SELECT * FROM staff_users ORDER BY username')
        : await this.db.query('SELECT * FROM staff_users WHERE unit_id = $1 ORDER BY username', [unitId]);
    return rows.map((r) => withoutHash(fromRow(r)));
  }

  /** Sets a new password chosen by the user, which clears must_change_password. */
  async setPassword(userId: number, password: string): Promise<void> {
    const hash = await hashPassword(password);
    await this.db.query('UPDATE staff_users SET password_hash = $2, must_change_password = false WHERE id = $1', [userId, hash]);
  }

  /**
   * Replaces the password with a new one-time password (returned once) that must be changed at
   * the next sign-in. Undefined when there is no such user.
   */
  async resetPassword(userId: number): Promise<string | undefined> {
    const oneTimePassword = generateOneTimePassword();
    const hash = await hashPassword(oneTimePassword);
    const rows = await this.db.query('UPDATE staff_users SET password_hash = $2, must_change_password = true WHERE id = $1 RETURNING id', [userId, hash]);
    return rows.length > 0 ? oneTimePassword : undefined;
  }

  async setDisabled(userId: number, disabled: boolean): Promise<void> {
    await this.db.query('UPDATE staff_users SET disabled = $2 WHERE id = $1', [userId, disabled]);
  }

  async recordLogin(userId: number, at: Date = new Date()): Promise<void> {
    await this.db.query('UPDATE staff_users SET last_login_at = $2 WHERE id = $1', [userId, at]);
  }

  async count(): Promise<number> {
    const rows = await this.db.query('SELECT count(*)::int AS n FROM staff_users');
    return z.object({ n: z.number() }).parse(rows[0]).n;
  }

  /** Creates an API token; the clear token (`mct_…`) is returned once and never stored. */
  async createApiToken(userId: number, name: string): Promise<{ id: number; token: string }> {
    const token = API_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const rows = await this.db.query('INSERT INTO api_tokens (user_id, name, token_hash) VALUES ($1, $2, $3) RETURNING id', [
      userId,
      name,
      tokenDigest(token),
    ]);
    return { id: z.object({ id: Id }).parse(rows[0]).id, token };
  }

  /** The (enabled) owner of a live token, marking the token used; undefined otherwise. */
  async findUserByToken(token: string): Promise<StaffUser | undefined> {
    if (!token.startsWith(API_TOKEN_PREFIX) || token.length > 200) return undefined;
    const rows = await this.db.query(
      `UPDATE api_tokens t SET last_used_at = now()
       FROM staff_users u
       WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.id = t.user_id AND NOT u.disabled
       RETURNING u.*`,
      [tokenDigest(token)],
    );
    return rows[0] ? withoutHash(fromRow(rows[0])) : undefined;
  }

  async revokeApiToken(tokenId: number): Promise<void> {
    await this.db.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [tokenId]);
  }

  /**
   * API tokens with their owner, newest first. Filters: userId = one owner's tokens; unitId =
   * tokens of the users bound to that unit; neither = every token (a province-wide view).
   */
  async listApiTokens(filter: { userId?: number; unitId?: string } = {}, limit = 500): Promise<ApiTokenInfo[]> {
    const n = Math.max(1, Math.min(5000, Math.floor(limit)));
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (filter.userId !== undefined) {
      params.push(filter.userId);
      where.push(`t.user_id = $${params.length}`);
    }
    if (filter.unitId !== undefined) {
      params.push(filter.unitId);
      where.push(`u.unit_id = $${params.length}`);
    }
    params.push(n);
    const rows = await this.db.query(
      `SELECT ${TOKEN_COLUMNS} FROM api_tokens t JOIN staff_users u ON u.id = t.user_id
       ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       ORDER BY t.created_at DESC, t.id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(tokenFromRow);
  }

  /** One token with its owner (to check who may revoke it); undefined when unknown. */
  async findApiToken(tokenId: number): Promise<ApiTokenInfo | undefined> {
    const rows = await this.db.query(`SELECT ${TOKEN_COLUMNS} FROM api_tokens t JOIN staff_users u ON u.id = t.user_id WHERE t.id = $1`, [tokenId]);
    return rows[0] ? tokenFromRow(rows[0]) : undefined;
  }
}
