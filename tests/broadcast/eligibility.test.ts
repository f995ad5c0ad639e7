import { describe, expect, it } from 'vitest';
import { decide, nextZaloMorning, vietnamDayStart, vietnamMonthStart, type RecipientState } from '../../src/broadcast/eligibility.js';

const rules = { zaloMonthlyCap: 4 };
// 2026-03-10 10:00 in Vietnam = 03:00Z.
const NOW = new Date('2026-03-10T03:00:00Z');
const base = (over: Partial<RecipientState>): RecipientState => ({
  platform: 'zalo',
  reachable: true,
  following: true,
  lastInteractionAt: new Date(NOW.getTime() - 3600_000),
  sentToday: 0,
  sentThisMonth: 0,
  ...over,
});

describe('broadcast eligibility', () => {
  it('sends Messenger only inside the 24-hour window, and holds it after', () => {
    expect(decide(base({ platform: 'messenger', lastInteractionAt: new Date(NOW.getTime() - 23.9 * 3600_000) }), NOW, rules)).toEqual({ kind: 'send', mode: 'messenger_update' });
    expect(decide(base({ platform: 'messenger', lastInteractionAt: new Date(NOW.getTime() - 24.1 * 3600_000) }), NOW, rules)).toEqual({ kind: 'hold', reason: 'outside_window' });
  });
  it('holds every website subscriber for the next visit', () => {
    expect(decide(base({ platform: 'web' }), NOW, rules)).toEqual({ kind: 'hold', reason: 'web_next_visit' });
  });
  it('skips the unreachable on every platform', () => {
    for (const platform of ['messenger', 'zalo', 'web'] as const) expect(decide(base({ platform, reachable: false }), NOW, rules)).toEqual({ kind: 'skip', reason: 'unreachable' });
  });
  it('sends Zalo promotions to followers, one a day, within the monthly cap', () => {
    expect(decide(base({}), NOW, rules)).toEqual({ kind: 'send', mode: 'zalo_promotion' });
    expect(decide(base({ following: null }), NOW, rules).kind).toBe('send');
    expect(decide(base({ following: false }), NOW, rules)).toEqual({ kind: 'skip', reason: 'not_following' });
    expect(decide(base({ sentToday: 1, sentThisMonth: 1 }), NOW, rules)).toEqual({ kind: 'skip', reason: 'zalo_daily_limit' });
    expect(decide(base({ sentThisMonth: 4 }), NOW, rules)).toEqual({ kind: 'skip', reason: 'zalo_monthly_limit' });
    // The Zalo window is not the Messenger one: a follower silent for months still receives it.
    expect(decide(base({ lastInteractionAt: new Date('2025-01-01T00:00:00Z') }), NOW, rules).kind).toBe('send');
  });
  it('defers Zalo outside 06:00–21:59 Vietnam time to the next 06:00', () => {
    const at2159 = new Date('2026-03-10T14:59:00Z'); // 21:59 VN
    const at2200 = new Date('2026-03-10T15:00:00Z'); // 22:00 VN
    const at0559 = new Date('2026-03-09T22:59:00Z'); // 05:59 VN on the 10th
    expect(decide(base({}), at2159, rules).kind).toBe('send');
    expect(decide(base({}), at2200, rules)).toEqual({ kind: 'defer', until: new Date('2026-03-10T23:00:00Z'), reason: 'zalo_night' });
    expect(decide(base({}), at0559, rules)).toEqual({ kind: 'defer', until: new Date('2026-03-09T23:00:00Z'), reason: 'zalo_night' });
  });
  it('computes Vietnam calendar boundaries', () => {
    expect(vietnamDayStart(new Date('2026-03-10T18:00:00Z'))).toEqual(new Date('2026-03-10T17:00:00Z'));
    expect(vietnamMonthStart(new Date('2026-02-28T18:00:00Z'))).toEqual(new Date('2026-02-28T17:00:00Z'));
    expect(nextZaloMorning(new Date('2026-03-10T15:00:00Z'))).toEqual(new Date('2026-03-10T23:00:00Z'));
  });
});
