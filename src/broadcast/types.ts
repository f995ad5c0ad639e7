// The broadcast domain: announcements an officer sends to subscriber groups, and one delivery per
// (announcement, contact) with its outcome. See migrations/006_broadcasts.sql and DESIGN §8.
import { z } from 'zod';

export const BroadcastChannel = z.enum(['messenger', 'zalo', 'web']);
export type BroadcastChannel = z.infer<typeof BroadcastChannel>;

export const AnnouncementStatus = z.enum(['draft', 'scheduled', 'fanning_out', 'sending', 'done', 'cancelled']);
export type AnnouncementStatus = z.infer<typeof AnnouncementStatus>;

export const DeliveryStatus = z.enum(['pending', 'sending', 'sent', 'held', 'skipped', 'failed', 'expired', 'cancelled']);
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;

/** What an officer composes (validated at the admin form and the API). */
export const AnnouncementInput = z
  .object({
    title: z.string().trim().min(1, 'cần tiêu đề').max(120, 'tiêu đề tối đa 120 ký tự'),
    body: z.string().trim().min(1, 'cần nội dung').max(2000, 'nội dung tối đa 2.000 ký tự'),
    linkUrl: z.string().trim().url().regex(/^https?:\/\//i, 'liên kết phải là địa chỉ http(s)').max(1000).nullable().default(null),
    imageUrl: z.string().trim().url().regex(/^https:\/\//i, 'ảnh phải là địa chỉ https').max(1000).nullable().default(null),
    groupIds: z.array(z.number().int().positive()).min(1, 'chọn ít nhất một nhóm').max(50),
    channels: z.array(BroadcastChannel).min(1, 'chọn ít nhất một kênh'),
    /** null = as soon as it is sent. */
    scheduledAt: z.date().nullable().default(null),
    /** Messenger/website: how long an undelivered announcement waits for the citizen's next visit. */
    holdDays: z.number().int().min(0).max(30).default(7),
    /** A periodic survey to invite readers to (its definition id): a "Tham gia khảo sát" button. */
    survey: z
      .string()
      .trim()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'khảo sát không hợp lệ')
      .nullable()
      .default(null),
  })
  .strict();
export type AnnouncementInput = z.infer<typeof AnnouncementInput>;

export interface Announcement {
  id: number;
  unitId: string;
  title: string;
  body: string;
  linkUrl: string | null;
  imageUrl: string | null;
  /** The periodic survey the announcement invites to (definition id), or null (migration 010). */
  survey: string | null;
  groupIds: number[];
  channels: BroadcastChannel[];
  status: AnnouncementStatus;
  scheduledAt: Date | null;
  holdDays: number;
  fanoutCursor: number;
  fanoutDone: boolean;
  createdBy: number | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  cancelledAt: Date | null;
}

export interface Delivery {
  announcementId: number;
  contactId: number;
  accountId: number;
  platform: BroadcastChannel;
  status: DeliveryStatus;
  /** skipped: why (e.g. 'outside_window', 'not_following', 'zalo_daily_limit'); failed: the platform code. */
  reason: string | null;
  attemptAt: Date | null;
  attempts: number;
  messageId: string | null;
  updatedAt: Date;
}

/** A recipient to create a delivery for (from the audience page of the subscriptions). */
export interface DeliveryTarget {
  contactId: number;
  accountId: number;
  platform: BroadcastChannel;
}

/** Counts of an announcement's deliveries by status and reason ('' when none). */
export type DeliveryCounts = Array<{ status: DeliveryStatus; reason: string; count: number }>;
