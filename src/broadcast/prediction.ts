// What will happen to an announcement on each platform if it is sent at a given instant: how
// many subscribers receive it at once, are held for their next visit, are skipped (and why) or
// deferred to 06:00 — the plain notice an officer reads before pressing "Gửi".
//
// The same rules as eligibility.ts decide(), written as one SQL aggregate over the audience
// (subscriptions → contacts → channel accounts, plus the Zalo promotions already sent for the
// per-day and per-month caps), so 100,000 subscribers cost one query and no array in memory.
// A test checks the SQL against decide() recipient by recipient.
import { z } from 'zod';
import type { Queryable } from '../store/database.js';
import { BroadcastChannel } from './types.js';
import {
  ZALO_SEND_END_HOUR,
  ZALO_SEND_START_HOUR,
  nextZaloMorning,
  vietnamDayStart,
  vietnamHour,
  vietnamMonthStart,
  type Decision,
  type EligibilityRules,
} from './eligibility.js';

export type HoldReason = Extract<Decision, { kind: 'hold' }>['reason'];
export type SkipReason = Extract<Decision, { kind: 'skip' }>['reason'];
export type DeferReason = Extract<Decision, { kind: 'defer' }>['reason'];

export const HOLD_REASONS = ['outside_window', 'web_next_visit'] as const satisfies readonly HoldReason[];
export const SKIP_REASONS = ['unreachable', 'not_following', 'zalo_daily_limit', 'zalo_monthly_limit'] as const satisfies readonly SkipReason[];
// Compile-time check that the lists above name every reason decide() can give.
type Missing<All, Listed extends readonly unknown[]> = Exclude<All, Listed[number]>;
const everyReasonListed: [Missing<HoldReason, typeof HOLD_REASONS>, Missing<SkipReason, typeof SKIP_REASONS>] extends [never, never] ? true : false = true;
void everyReasonListed;

export interface PlatformPrediction {
  platform: BroadcastChannel;
  /** Subscribers of the chosen groups reached through this platform (one contact each). */
  total: number;
  /** Receive it at once (Messenger inside 24 h; Zalo promotion to a follower, within hours and caps). */
  send: number;
  held: Record<HoldReason, number>;
  skipped: Record<SkipReason, number>;
  /** Zalo at night: sent at `deferredUntil` (06:00 Vietnam time). */
  deferred: number;
  deferredUntil: Date | null;
  /** The unit's channel accounts of this platform: active, and paused or waiting for a reconnect. */
  accounts: { active: number; inactive: number };
}

export interface Prediction {
  /** The instant the prediction is for (the scheduled time, or now). */
  at: Date;
  /** Distinct subscribers over every chosen platform. */
  audience: number;
  platforms: PlatformPrediction[];
}

export interface PredictionQuery {
  unitId: string;
  groupIds: readonly number[];
  channels: readonly BroadcastChannel[];
  at: Date;
}

export type Predict = (q: PredictionQuery) => Promise<Prediction>;

const HOUR = 3_600_000;
const Count = z.union([z.number(), z.string(), z.bigint()]).transform((v) => Number(v));
const OutcomeRow = z.object({ platform: BroadcastChannel, outcome: z.string(), n: Count });
const AccountRow = z.object({ platform: BroadcastChannel, active: z.boolean(), n: Count });

/**
 * One row per (platform, outcome). The CASE mirrors decide() branch for branch, in the same
 * order: unreachable first; the website always holds; Messenger sends inside 24 h (inclusive)
 * else holds; Zalo skips a non-follower (following = false; unknown is left to the platform),
 * then the monthly cap, then the daily limit, then defers at night, else sends.
 * The audience is the one the fan-out pages through (SubscriptionRepository.audiencePage): the
 * chosen groups of the unit (a group deactivated after the draft still counts, as it does
 * there), accounts of the unit, each contact once.
 */
const OUTCOMES_SQL = `
WITH audience AS (
  SELECT DISTINCT s.contact_id
  FROM subscriptions s JOIN subscriber_groups g ON g.id = s.group_id
  WHERE g.unit_id = $1 AND g.id = ANY($2::bigint[]) AND s.withdrawn_at IS NULL
), recipients AS (
  SELECT c.id, ca.platform, c.reachable, c.following, c.last_interaction_at
  FROM audience a JOIN contacts c ON c.id = a.contact_id JOIN channel_accounts ca ON ca.id = c.account_id
  WHERE ca.unit_id = $1 AND ca.platform = ANY($3::text[])
), zalo_sent AS (
  SELECT d.contact_id, count(*) FILTER (WHERE d.updated_at >= $5::timestamptz) AS today, count(*) AS month
  FROM deliveries d
  WHERE d.status = 'sent' AND d.platform = 'zalo' AND d.updated_at >= $6::timestamptz
    AND d.contact_id IN (SELECT id FROM recipients WHERE platform = 'zalo')
  GROUP BY d.contact_id
)
SELECT r.platform,
  CASE
    WHEN NOT r.reachable THEN 'skip:unreachable'
    WHEN r.platform = 'web' THEN 'hold:web_next_visit'
    WHEN r.platform = 'messenger' THEN CASE WHEN r.last_interaction_at >= $4::timestamptz THEN 'send' ELSE 'hold:outside_window' END
    WHEN r.following IS FALSE THEN 'skip:not_following'
    WHEN COALESCE(z.month, 0) >= $7::int THEN 'skip:zalo_monthly_limit'
    WHEN COALESCE(z.today, 0) >= 1 THEN 'skip:zalo_daily_limit'
    WHEN $8::boolean THEN 'defer:zalo_night'
    ELSE 'send'
  END AS outcome,
  count(*) AS n
FROM recipients r LEFT JOIN zalo_sent z ON z.contact_id = r.id
GROUP BY 1, 2`;

const ACCOUNTS_SQL = `SELECT platform, status = 'active' AS active, count(*) AS n FROM channel_accounts
  WHERE unit_id = $1 AND platform = ANY($2::text[]) GROUP BY 1, 2`;

function isZaloNight(at: Date): boolean {
  const h = vietnamHour(at);
  return h < ZALO_SEND_START_HOUR || h >= ZALO_SEND_END_HOUR;
}

function empty(platform: BroadcastChannel): PlatformPrediction {
  return {
    platform,
    total: 0,
    send: 0,
    held: { outside_window: 0, web_next_visit: 0 },
    skipped: { unreachable: 0, not_following: 0, zalo_daily_limit: 0, zalo_monthly_limit: 0 },
    deferred: 0,
    deferredUntil: null,
    accounts: { active: 0, inactive: 0 },
  };
}

const isHold = (r: string): r is HoldReason => (HOLD_REASONS as readonly string[]).includes(r);
const isSkip = (r: string): r is SkipReason => (SKIP_REASONS as readonly string[]).includes(r);

/** The predictor over a database; `rules` are the same the sending runtime uses. */
export function createPredictor(db: Queryable, rules: EligibilityRules): Predict {
  return async (q) => {
    const channels = [...new Set(q.channels)];
    const byPlatform = new Map<BroadcastChannel, PlatformPrediction>(channels.map((p) => [p, empty(p)]));
    if (channels.length === 0) return { at: q.at, audience: 0, platforms: [] };
    const night = isZaloNight(q.at);
    const [outcomes, accounts] = await Promise.all([
      q.groupIds.length === 0
        ? Promise.resolve([])
        : db.query(OUTCOMES_SQL, [
            q.unitId,
            [...q.groupIds],
            channels,
            new Date(q.at.getTime() - 24 * HOUR),
            vietnamDayStart(q.at),
            vietnamMonthStart(q.at),
            rules.zaloMonthlyCap,
            night,
          ]),
      db.query(ACCOUNTS_SQL, [q.unitId, channels]),
    ]);
    let audience = 0;
    for (const raw of outcomes) {
      const row = OutcomeRow.parse(raw);
      const p = byPlatform.get(row.platform);
      if (!p) continue;
      p.total += row.n;
      audience += row.n;
      const [kind, reason = ''] = row.outcome.split(':');
      if (kind === 'send') p.send += row.n;
      else if (kind === 'hold' && isHold(reason)) p.held[reason] += row.n;
      else if (kind === 'skip' && isSkip(reason)) p.skipped[reason] += row.n;
      else if (kind === 'defer') {
        p.deferred += row.n;
        p.deferredUntil = nextZaloMorning(q.at);
      } else throw new Error(`unexpected predicted outcome: ${row.outcome}`);
    }
    for (const raw of accounts) {
      const row = AccountRow.parse(raw);
      const p = byPlatform.get(row.platform);
      if (p) p.accounts[row.active ? 'active' : 'inactive'] += row.n;
    }
    return { at: q.at, audience, platforms: channels.map((c) => byPlatform.get(c) ?? empty(c)) };
  };
}

/** The instant an announcement would start: its scheduled time if still ahead, else now. */
export function predictionInstant(scheduledAt: Date | null, now: Date): Date {
  return scheduledAt && scheduledAt.getTime() > now.getTime() ? scheduledAt : now;
}
