// The per-recipient sender on the real repository (PGlite) with a scripted platform: outcomes by
// platform answer, and the reconciliation of a send left in doubt by a dead worker.
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { AccountRepository } from '../../src/store/account-repository.js';
import { ContactRepository } from '../../src/store/contact-repository.js';
import { BroadcastRepository } from '../../src/store/broadcast-repository.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { AnnouncementInput } from '../../src/broadcast/types.js';
import { createBroadcastSender, type BroadcastGateway, type BroadcastSendJob, type HistoryMessage, type SenderControls } from '../../src/broadcast/sender.js';
import { bodySignature, renderAnnouncement } from '../../src/broadcast/render.js';
import type { SendOutcome } from '../../src/channels/platform-event.js';

const T0 = Date.parse('2026-03-15T03:00:00Z'); // 10:00 in Vietnam
const LEASE = 10_000;
const unit = { id: 'xa-a', name: 'UBND xã A', province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null };

let db: Database;
let repo: BroadcastRepository;
let fbAccount = 0;
let zaloAccount = 0;
let contacts: ContactRepository;
beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  await migrate(db);
  await new UnitRepository(db).upsert([unit]);
  const accounts = new AccountRepository(db, new SecretBox('s'.repeat(40)));
  fbAccount = (await accounts.upsert({ unitId: 'xa-a', platform: 'messenger', externalId: '1001' })).id;
  zaloAccount = (await accounts.upsert({ unitId: 'xa-a', platform: 'zalo', externalId: '2002' })).id;
  contacts = new ContactRepository(db);
  repo = new BroadcastRepository(db);
});

interface Scripted {
  sends: Array<{ platform: string; body: unknown }>;
  history: HistoryMessage[] | 'error';
  answers: SendOutcome[];
  unreachable: string[];
  paused: string[];
  alerts: string[];
  blockedUntil: number;
}

let clock = T0;
let s: Scripted;
beforeEach(() => {
  clock = T0;
  s = { sends: [], history: [], answers: [], unreachable: [], paused: [], alerts: [], blockedUntil: 0 };
});

const gateway: BroadcastGateway = {
  send: async (_accountId, platform, body) => {
    const answer = s.answers.shift() ?? { kind: 'sent', messageId: `m${s.sends.length + 1}` };
    if (answer.kind === 'sent') s.sends.push({ platform, body });
    return answer;
  },
  recentMessages: async () => (s.history === 'error' ? { kind: 'error', code: 'fb:10' } : { kind: 'ok', messages: s.history }),
  refreshToken: async () => undefined,
};

const controls: SenderControls = {
  accountBlocked: async () => null,
  pace: async () => ({ kind: 'go', probe: false }),
  recovered: async () => undefined,
  throttled: async () => 1000,
  promotionsBlockedUntil: async () => s.blockedUntil,
  blockPromotions: async (_id, until) => {
    s.blockedUntil = until;
  },
  markUnreachable: async (_id, userId, reason) => {
    s.unreachable.push(`${userId}:${reason}`);
  },
  pauseAccount: async (_id, _p, code) => {
    s.paused.push(code);
  },
  alert: (code) => {
    s.alerts.push(code);
  },
};

const content = { title: 'Lịch tiếp công dân', body: 'Sáng thứ Năm tại Bộ phận Một cửa.', linkUrl: null as string | null, imageUrl: null as string | null };
let sender: ReturnType<typeof createBroadcastSender>;
beforeAll(() => {
  sender = createBroadcastSender({
    store: repo,
    gateway,
    controls,
    content: async () => content,
    rules: { zaloMonthlyCap: 4 },
    leaseMs: LEASE,
    now: () => new Date(clock),
    sleep: async () => undefined,
  });
});

let seq = 0;
/** A fresh announcement with one delivery to a new contact of the platform. */
async function oneDelivery(platform: 'messenger' | 'zalo', over: { lastInteractionAt?: number; following?: boolean | null; link?: string } = {}): Promise<BroadcastSendJob> {
  seq++;
  const accountId = platform === 'messenger' ? fbAccount : zaloAccount;
  const userId = `${platform === 'messenger' ? 71 : 82}${String(seq).padStart(6, '0')}`;
  const contact = await contacts.touch(accountId, userId, new Date(over.lastInteractionAt ?? T0 - 3_600_000), over.following === null ? undefined : (over.following ?? true));
  content.linkUrl = over.link ?? null;
  const a = await repo.create('xa-a', AnnouncementInput.parse({ title: content.title, body: content.body, linkUrl: over.link ?? null, groupIds: [1], channels: [platform] }), null);
  await repo.submit(a.id, new Date(T0));
  await repo.addDeliveries(a.id, [{ contactId: contact.id, accountId, platform }]);
  return { announcementId: a.id, contactId: contact.id, accountId, platform, userId };
}

const status = async (j: BroadcastSendJob) => {
  const d = await repo.getDelivery(j.announcementId, j.contactId);
  return d?.reason ? `${d.status}:${d.reason}` : d?.status;
};

/** A worker claims the delivery and dies before any outcome; the lease then runs out. */
async function dieMidSend(j: BroadcastSendJob): Promise<void> {
  expect((await repo.claim(j.announcementId, j.contactId, new Date(clock), LEASE)).kind).toBe('claimed');
  clock += LEASE + 1000;
}

describe('broadcast sender', () => {
  it('sends once and records the message id', async () => {
    const j = await oneDelivery('messenger');
    expect(await sender.step(j)).toEqual({ kind: 'done', result: 'sent' });
    expect(s.sends).toHaveLength(1);
    expect((await repo.getDelivery(j.announcementId, j.contactId))?.messageId).toBe('m1');
    // The same job again (a duplicate) does nothing.
    expect(await sender.step(j)).toEqual({ kind: 'done', result: 'settled' });
    expect(s.sends).toHaveLength(1);
  });

  it('maps the platforms’ refusals to outcomes', async () => {
    const cases: Array<[BroadcastSendJob, SendOutcome, string]> = [
      [await oneDelivery('messenger'), { kind: 'drop', code: 'fb:10/2018278', reason: 'outside_window', markUnreachable: false }, 'held:outside_window'],
      [await oneDelivery('messenger'), { kind: 'drop', code: 'fb:551/1545041', reason: 'user_blocked', markUnreachable: true }, 'skipped:unreachable'],
      [await oneDelivery('zalo'), { kind: 'drop', code: '-213', reason: 'user_unfollowed', markUnreachable: true }, 'skipped:not_following'],
      [await oneDelivery('zalo'), { kind: 'drop', code: '-218', reason: 'quota_exceeded', markUnreachable: false }, 'skipped:zalo_daily_limit'],
      [await oneDelivery('zalo'), { kind: 'drop', code: '-201', reason: 'invalid_message', markUnreachable: false }, 'failed:-201'],
    ];
    for (const [j, answer, expected] of cases) {
      s.answers.push(answer);
      await sender.step(j);
      expect(await status(j)).toBe(expected);
    }
    expect(s.unreachable).toHaveLength(2);
    expect(s.sends).toHaveLength(0);
  });

  it('on -211 skips the OA’s promotions for the rest of the day and alerts', async () => {
    const a = await oneDelivery('zalo');
    const b = await oneDelivery('zalo');
    s.answers.push({ kind: 'drop', code: '-211', reason: 'quota_exceeded', markUnreachable: false });
    await sender.step(a);
    expect(await status(a)).toBe('skipped:zalo_oa_quota');
    expect(s.alerts).toContain('ZALO_OA_QUOTA_EXHAUSTED');
    expect(s.blockedUntil).toBe(Date.parse('2026-03-15T17:00:00Z')); // midnight in Vietnam
    await sender.step(b);
    expect(await status(b)).toBe('skipped:zalo_oa_quota');
    expect(s.sends).toHaveLength(0);
  });

  it('defers to 06:00 when Zalo refuses at night, releases and cools down when throttled, pauses on a token error', async () => {
    const night = await oneDelivery('zalo');
    s.answers.push({ kind: 'retry', code: '-234', retryAfterMs: 1 });
    const step = await sender.step(night);
    expect(step).toMatchObject({ kind: 'delay', why: 'zalo_night' });
    expect((await repo.getDelivery(night.announcementId, night.contactId))?.attemptAt?.toISOString()).toBe('2026-03-15T23:00:00.000Z');

    const throttled = await oneDelivery('messenger');
    s.answers.push({ kind: 'retry', code: 'fb:613', retryAfterMs: 60_000 });
    expect(await sender.step(throttled)).toMatchObject({ kind: 'delay', why: 'throttled' });
    expect(await status(throttled)).toBe('pending');

    const paused = await oneDelivery('messenger');
    s.answers.push({ kind: 'pause', code: 'fb:190', reason: 'token_invalid' });
    expect(await sender.step(paused)).toMatchObject({ kind: 'done', result: 'released' });
    expect(await status(paused)).toBe('pending');
    expect(s.paused).toEqual(['fb:190']);
  });

  describe('a send left in doubt by a dead worker', () => {
    it('is recorded sent, not sent again, when the conversation shows it', async () => {
      const j = await oneDelivery('messenger');
      const attemptAt = clock;
      await dieMidSend(j);
      // The platform had it: our text from the Page, a second after the attempt began.
      const [body] = renderAnnouncement('messenger', content, j.userId);
      s.history = [
        { at: new Date(attemptAt - 3_600_000), fromUs: false, text: 'cho hỏi', id: 'old' },
        { at: new Date(attemptAt + 1000), fromUs: true, text: bodySignature(body), id: 'm_found' },
      ];
      expect(await sender.step(j)).toEqual({ kind: 'done', result: 'sent' });
      expect(s.sends).toHaveLength(0);
      expect((await repo.getDelivery(j.announcementId, j.contactId))?.messageId).toBe('m_found');
    });

    it('is sent when the conversation does not show it', async () => {
      const j = await oneDelivery('zalo');
      await dieMidSend(j);
      s.history = [{ at: new Date(clock), fromUs: true, text: 'another reply of the bot', id: 'x' }];
      expect(await sender.step(j)).toEqual({ kind: 'done', result: 'sent' });
      expect(s.sends).toHaveLength(1);
    });

    it('is recorded failed:in_doubt and never resent when the platform cannot be asked', async () => {
      const j = await oneDelivery('messenger');
      await dieMidSend(j);
      s.history = 'error';
      expect(await sender.step(j)).toEqual({ kind: 'done', result: 'failed', reason: 'in_doubt' });
      expect(s.sends).toHaveLength(0);
      expect(s.alerts).toContain('BROADCAST_IN_DOUBT');
      expect(await sender.step(j)).toEqual({ kind: 'done', result: 'settled' });
    });

    it('waits for the lease of a live worker instead of touching its send', async () => {
      const j = await oneDelivery('messenger');
      await repo.claim(j.announcementId, j.contactId, new Date(clock), LEASE);
      clock += 2000;
      expect(await sender.step(j)).toMatchObject({ kind: 'delay', why: 'leased' });
      expect(s.sends).toHaveLength(0);
    });

    it('resumes a message in several parts after the last part recorded', async () => {
      const j = await oneDelivery('messenger', { link: 'https://xa.gov.vn/tb/9' });
      content.imageUrl = 'https://xa.gov.vn/a.jpg';
      try {
        const bodies = renderAnnouncement('messenger', content, j.userId);
        expect(bodies).toHaveLength(2);
        // The image went out and was recorded; the worker died while sending the second part.
        await repo.claim(j.announcementId, j.contactId, new Date(clock), LEASE);
        await repo.recordProgress(j.announcementId, j.contactId, ['m_img'], new Date(clock));
        clock += LEASE + 1000;
        s.history = [{ at: new Date(clock - LEASE), fromUs: true, text: '', id: 'm_img' }];
        expect(await sender.step(j)).toEqual({ kind: 'done', result: 'sent' });
        expect(s.sends.map((x) => bodySignature(x.body))).toEqual([bodySignature(bodies[1])]);
        expect((await repo.getDelivery(j.announcementId, j.contactId))?.messageId).toBe('m_img,m1');
      } finally {
        content.imageUrl = null;
      }
    });

    it('treats Zalo’s one-a-day refusal of the resend, the same day, as proof the first one landed', async () => {
      const j = await oneDelivery('zalo');
      await dieMidSend(j);
      s.history = [];
      s.answers.push({ kind: 'drop', code: '-218', reason: 'quota_exceeded', markUnreachable: false });
      expect(await sender.step(j)).toEqual({ kind: 'done', result: 'sent' });
    });

    it('after a timeout keeps the claim and asks the platform before trying again', async () => {
      const j = await oneDelivery('messenger');
      s.answers.push({ kind: 'retry', code: 'fb:timeout' });
      const step = await sender.step(j);
      expect(step).toMatchObject({ kind: 'delay', why: 'uncertain' });
      expect(await status(j)).toBe('sending');
      clock += LEASE + 1000;
      // The platform did receive it before the answer was lost.
      const [body] = renderAnnouncement('messenger', content, j.userId);
      s.history = [{ at: new Date(clock - LEASE), fromUs: true, text: bodySignature(body), id: 'm_late' }];
      expect(await sender.step(j)).toEqual({ kind: 'done', result: 'sent' });
      expect(s.sends).toHaveLength(0);
    });
  });
});
