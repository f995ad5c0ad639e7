// Announcements held for a citizen (Messenger outside the 24-hour window, the website which
// cannot push) are handed over when the citizen comes back: the inbound path appends them to the
// bot's next answer. Each is settled 'sent' exactly once, by a conditional update, so two
// messages arriving together never deliver the same announcement twice.
import type { Reply } from '../channels/channel.js';
import type { Announcement, Delivery } from './types.js';
import { heldReply } from './render.js';

export interface HeldStore {
  heldFor(contactId: number, now: Date): Promise<Array<{ delivery: Delivery; announcement: Announcement }>>;
  settleHeld(announcementId: number, contactId: number, status: 'sent' | 'expired', now: Date, messageId?: string | null): Promise<boolean>;
}

/**
 * The held announcements of a contact who is back, oldest first, as replies to send after the
 * bot's answer (still fresh: within their announcement's hold time, not cancelled). Zalo holds
 * nothing (it has its own promotion lane), so it gets none. `accountId` and `userId` are the
 * contact's, for the caller's convenience; the contact id decides.
 */
export async function deliverHeld(
  store: HeldStore,
  contactId: number,
  _accountId: number,
  platform: 'messenger' | 'zalo' | 'web',
  _userId: string,
  now: Date,
): Promise<Array<{ announcementId: number; reply: Reply }>> {
  if (platform === 'zalo') return [];
  const out: Array<{ announcementId: number; reply: Reply }> = [];
  for (const { announcement } of await store.heldFor(contactId, now)) {
    if (await store.settleHeld(announcement.id, contactId, 'sent', now)) out.push({ announcementId: announcement.id, reply: heldReply(announcement) });
  }
  return out;
}
