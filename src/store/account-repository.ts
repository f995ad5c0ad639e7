// Channel accounts (Page / OA / widget) of the units, with their secrets sealed at rest.
// Webhook intake routes an event by (platform, external id) to the account and so the unit.
import { z } from 'zod';
import type { Queryable } from './database.js';
import type { SecretBox } from './secret-box.js';

export const AccountPlatform = z.enum(['messenger', 'zalo', 'web']);
export type AccountPlatform = z.infer<typeof AccountPlatform>;
export type AccountStatus = 'active' | 'reconnect_required' | 'paused';

/** Per-account secrets. App-level secrets (app secret, verify token, OA secret key) are settings. */
export const AccountSecrets = z.object({
  pageAccessToken: z.string().min(1).optional(),
  accessToken: z.string().min(1).optional(),
  refreshToken: z.string().min(1).optional(),
  /** ISO time when the Zalo access token expires. */
  accessExpiresAt: z.string().datetime().optional(),
});
export type AccountSecrets = z.infer<typeof AccountSecrets>;

export interface ChannelAccount {
  id: number;
  unitId: string;
  platform: AccountPlatform;
  externalId: string;
  name: string | null;
  status: AccountStatus;
  statusReason: string | null;
  secrets: AccountSecrets;
}

interface Row {
  id: string | number;
  unit_id: string;
  platform: AccountPlatform;
  external_id: string;
  name: string | null;
  status: AccountStatus;
  status_reason: string | null;
  secrets: string | null;
}

export class AccountRepository {
  constructor(
    private readonly db: Queryable,
    private readonly box: SecretBox,
  ) {}

  private fromRow(r: Row): ChannelAccount {
    const secrets = r.secrets ? AccountSecrets.parse(JSON.parse(this.box.open(r.secrets))) : {};
    return {
      id: Number(r.id),
      unitId: r.unit_id,
      platform: r.platform,
      externalId: r.external_id,
      name: r.name,
      status: r.status,
      statusReason: r.status_reason,
      secrets,
    };
  }

  /** Creates or updates the account of (platform, external id); secrets are merged, not dropped. */
  async upsert(input: { unitId: string; platform: AccountPlatform; externalId: string; name?: string | null; secrets?: AccountSecrets }): Promise<ChannelAccount> {
    const existing = await this.find(input.platform, input.externalId);
    const secrets = AccountSecrets.parse({ ...(existing?.secrets ?? {}), ...(input.secrets ?? {}) });
    const sealed = Object.keys(secrets).length ? this.box.seal(JSON.stringify(secrets)) : null;
    const rows = await this.db.query<Row>(
      `INSERT INTO channel_accounts (unit_id, platform, external_id, name, secrets)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (platform, external_id) DO UPDATE
         SET unit_id = $1, name = COALESCE($4, channel_accounts.name), secrets = $5, updated_at = now()
       RETURNING *`,
      [input.unitId, input.platform, input.externalId, input.name ?? null, sealed],
    );
    const row = rows[0];
    if (!row) throw new Error('account upsert returned no row');
    return this.fromRow(row);
  }

  async find(platform: AccountPlatform, externalId: string): Promise<ChannelAccount | undefined> {
    const rows = await this.db.query<Row>('SELECT * FROM channel_accounts WHERE platform = $1 AND external_id = $2', [platform, externalId]);
    return rows[0] ? this.fromRow(rows[0]) : undefined;
  }

  async get(id: number): Promise<ChannelAccount | undefined> {
    const rows = await this.db.query<Row>('SELECT * FROM channel_accounts WHERE id = $1', [id]);
    return rows[0] ? this.fromRow(rows[0]) : undefined;
  }

  /** Every account, or a unit's; secrets are opened, so callers show only status and expiry. */
  async list(unitId: string | null): Promise<ChannelAccount[]> {
    const rows = await this.db.query<Row>('SELECT * FROM channel_accounts WHERE ($1::text IS NULL OR unit_id = $1) ORDER BY unit_id, platform, id', [unitId]);
    return rows.map((r) => this.fromRow(r));
  }

  async listByUnit(unitId: string): Promise<ChannelAccount[]> {
    const rows = await this.db.query<Row>('SELECT * FROM channel_accounts WHERE unit_id = $1 ORDER BY id', [unitId]);
    return rows.map((r) => this.fromRow(r));
  }

  async setSecrets(id: number, secrets: AccountSecrets): Promise<void> {
    await this.db.query('UPDATE channel_accounts SET secrets = $2, updated_at = now() WHERE id = $1', [
      id,
      this.box.seal(JSON.stringify(AccountSecrets.parse(secrets))),
    ]);
  }

  async setStatus(id: number, status: AccountStatus, reason: string | null): Promise<void> {
    await this.db.query('UPDATE channel_accounts SET status = $2, status_reason = $3, updated_at = now() WHERE id = $1', [id, status, reason]);
  }
}
