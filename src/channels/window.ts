// The platforms' messaging windows (PLATFORMS.md): never call an API where the platform would
// refuse; record why instead. Messenger: 24 h after the citizen's last action. Zalo
// consultation (CS) messages: free within 48 h, billed up to 7 days, refused after.
import type { PlatformName } from './platform-event.js';

const HOUR = 3600_000;

export type WindowDecision = { allowed: true; paid: boolean } | { allowed: false; reason: 'outside_window' };

export function replyWindow(platform: PlatformName, lastInteraction: Date, now: Date): WindowDecision {
  const age = now.getTime() - lastInteraction.getTime();
  if (platform === 'messenger') return age <= 24 * HOUR ? { allowed: true, paid: false } : { allowed: false, reason: 'outside_window' };
  if (age <= 48 * HOUR) return { allowed: true, paid: false };
  if (age <= 7 * 24 * HOUR) return { allowed: true, paid: true };
  return { allowed: false, reason: 'outside_window' };
}
