// May this announcement go to this citizen now, on this platform? One pure decision, used when
// sending and, with the same rules, to predict the counts an officer sees before pressing send
// (PLATFORMS.md §4 and §8):
// - Messenger: only inside the 24-hour window, as messaging_type UPDATE; otherwise held for the
//   citizen's next visit (if still fresh) — there is no sanctioned free lane outside it.
// - Zalo: the promotion message API, followers only, 06:00–21:59 Vietnam time, at most one
//   promotion per follower per day and a monthly cap set by the OA package.
// - Website widget: no push at all; held and shown at the next visit.
import type { BroadcastChannel } from './types.js';

const HOUR = 3_600_000;
export const VN_OFFSET_MS = 7 * HOUR; // Asia/Ho_Chi_Minh, no daylight saving
export const ZALO_SEND_START_HOUR = 6;
export const ZALO_SEND_END_HOUR = 22; // exclusive: the last minute is 21:59

export interface RecipientState {
  platform: BroadcastChannel;
  reachable: boolean;
  /** Zalo follow state; null when unknown (then the platform decides, -213 if not following). */
  following: boolean | null;
  lastInteractionAt: Date;
  /** Zalo promotions already sent to this contact today / this month (Vietnam calendar). */
  sentToday: number;
  sentThisMonth: number;
}

export interface EligibilityRules {
  /** Zalo promotions per follower per calendar month (OA package; Basic 1, Advanced 4, Premium 6). */
  zaloMonthlyCap: number;
}

export type Decision =
  | { kind: 'send'; mode: 'messenger_update' | 'zalo_promotion' }
  | { kind: 'hold'; reason: 'outside_window' | 'web_next_visit' }
  | { kind: 'skip'; reason: 'unreachable' | 'not_following' | 'zalo_daily_limit' | 'zalo_monthly_limit' }
  /** Not now (Zalo at night): try again at `at`. */
  | { kind: 'defer'; until: Date; reason: 'zalo_night' };

export function decide(r: RecipientState, now: Date, rules: EligibilityRules): Decision {
  if (!r.reachable) return { kind: 'skip', reason: 'unreachable' };
  switch (r.platform) {
    case 'web':
      return { kind: 'hold', reason: 'web_next_visit' };
    case 'messenger':
      return now.getTime() - r.lastInteractionAt.getTime() <= 24 * HOUR
        ? { kind: 'send', mode: 'messenger_update' }
        : { kind: 'hold', reason: 'outside_window' };
    case 'zalo': {
      if (r.following === false) return { kind: 'skip', reason: 'not_following' };
      if (r.sentThisMonth >= rules.zaloMonthlyCap) return { kind: 'skip', reason: 'zalo_monthly_limit' };
      if (r.sentToday >= 1) return { kind: 'skip', reason: 'zalo_daily_limit' };
      const hour = vietnamHour(now);
      if (hour < ZALO_SEND_START_HOUR || hour >= ZALO_SEND_END_HOUR) return { kind: 'defer', until: nextZaloMorning(now), reason: 'zalo_night' };
      return { kind: 'send', mode: 'zalo_promotion' };
    }
  }
}

export function vietnamHour(at: Date): number {
  return new Date(at.getTime() + VN_OFFSET_MS).getUTCHours();
}

/** Midnight (00:00) of the Vietnam calendar day of `at`, as an instant. */
export function vietnamDayStart(at: Date): Date {
  const local = new Date(at.getTime() + VN_OFFSET_MS);
  return new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate()) - VN_OFFSET_MS);
}

/** The first instant of the Vietnam calendar month of `at`. */
export function vietnamMonthStart(at: Date): Date {
  const local = new Date(at.getTime() + VN_OFFSET_MS);
  return new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), 1) - VN_OFFSET_MS);
}

/** The next 06:00 Vietnam time at or after `at` (today's if before 06:00, else tomorrow's). */
export function nextZaloMorning(at: Date): Date {
  const today6 = new Date(vietnamDayStart(at).getTime() + ZALO_SEND_START_HOUR * HOUR);
  return at.getTime() < today6.getTime() ? today6 : new Date(today6.getTime() + 24 * HOUR);
}
