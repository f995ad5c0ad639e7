import { describe, expect, it } from 'vitest';
import { replyWindow } from '../../src/channels/window.js';

const now = new Date('2026-11-22T10:00:00Z');
const ago = (h: number) => new Date(now.getTime() - h * 3600_000);

describe('replyWindow', () => {
  it('allows Messenger sends for 24 hours after the last action, then refuses', () => {
    expect(replyWindow('messenger', ago(23.9), now)).toEqual({ allowed: true, paid: false });
    expect(replyWindow('messenger', ago(24), now)).toEqual({ allowed: true, paid: false });
    expect(replyWindow('messenger', ago(24.1), now)).toEqual({ allowed: false, reason: 'outside_window' });
  });

  it('keeps Zalo CS free for 48 hours, billed to 7 days, refused after', () => {
    expect(replyWindow('zalo', ago(47), now)).toEqual({ allowed: true, paid: false });
    expect(replyWindow('zalo', ago(49), now)).toEqual({ allowed: true, paid: true });
    expect(replyWindow('zalo', ago(7 * 24 - 1), now)).toEqual({ allowed: true, paid: true });
    expect(replyWindow('zalo', ago(7 * 24 + 1), now)).toEqual({ allowed: false, reason: 'outside_window' });
  });
});
