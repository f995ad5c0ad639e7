// Subscribing and unsubscribing in chat (issue #5): the phrases that trigger it (and the
// procedure questions that must not), the group buttons, consent recorded with how and when,
// "STOP" at once, and the channel that cannot take subscriptions.
import { describe, expect, it } from 'vitest';
import type { InboundEvent, Reply } from '../../src/channels/channel.js';
import { createEngine, type Engine } from '../../src/conversation/engine.js';
import { defaultIntentsDir, loadIntents } from '../../src/conversation/intents.js';
import { commandKey, createCommandMatcher } from '../../src/conversation/command-matcher.js';
import {
  MemoryHandoffQueue,
  MemoryQueryLog,
  MemoryStateStore,
  MemorySubscriptionPort,
  MemoryUnitDirectory,
} from '../../src/conversation/memory-ports.js';
import { linkSafePayload, parsePayload } from '../../src/conversation/payload.js';
import type { GroupChoice } from '../../src/conversation/ports.js';
import { renderZaloReply } from '../../src/channels/zalo/render.js';
import { FakeSearcher, fixtureCatalogue, SCRIPTS, UNIT } from './fixtures.js';

const intents = loadIntents(defaultIntentsDir());

type Group = GroupChoice & { unitId: string; active?: boolean };
const group = (id: number, kind: GroupChoice['kind'], name: string, extra: Partial<Group> = {}): Group => ({
  id,
  kind,
  name,
  description: null,
  unitId: 'xa-mau',
  ...extra,
});

const GROUPS: Group[] = [
  group(1, 'village', 'Thôn Đông', { description: 'Tin của thôn Đông: họp thôn, lịch tiếp dân.' }),
  group(2, 'village', 'Thôn Tây'),
  group(3, 'topic', 'Cải cách hành chính'),
  group(4, 'topic', 'Đất đai'),
  group(5, 'audience', 'Hộ kinh doanh'),
  group(6, 'audience', 'Người cao tuổi'),
  group(7, 'topic', 'Hộ tịch'),
  group(8, 'topic', 'Nhóm đã đóng', { active: false }),
  group(9, 'topic', 'Nhóm của xã khác', { unitId: 'xa-khac' }),
];

interface Rig {
  engine: Engine;
  subs: MemorySubscriptionPort;
  searcher: FakeSearcher;
  store: MemoryStateStore;
  log: MemoryQueryLog;
  clock: { t: number };
}

function rig(groups: Group[] = GROUPS, options: { unavailable?: string[]; noPort?: boolean } = {}): Rig {
  const clock = { t: Date.UTC(2026, 10, 20, 2, 0, 0) };
  const store = new MemoryStateStore(() => clock.t);
  const subs = new MemorySubscriptionPort(groups, new Set(options.unavailable ?? []));
  const searcher = new FakeSearcher(SCRIPTS);
  const log = new MemoryQueryLog();
  const engine = createEngine({
    catalogue: fixtureCatalogue(),
    searcher,
    state: store,
    queryLog: log,
    handoff: new MemoryHandoffQueue(),
    units: new MemoryUnitDirectory([UNIT]),
    intents,
    ...(options.noPort ? {} : { subscriptions: subs }),
    now: () => new Date(clock.t),
    onError: (e) => {
      throw e;
    },
  });
  return { engine, subs, searcher, store, log, clock };
}

let seq = 0;
const base = (channel: InboundEvent['channel'], userId: string) => ({
  unitId: 'xa-mau',
  channel,
  accountId: channel === 'zalo' ? '388613280900000001' : channel === 'messenger' ? '106000000000001' : 'web',
  userId,
  timestamp: 0,
});
function text(t: string, userId = 'citizen-1', channel: InboundEvent['channel'] = 'zalo'): InboundEvent {
  return { ...base(channel, userId), kind: 'text', messageId: `s${++seq}`, text: t };
}
function tap(payload: string, userId = 'citizen-1', channel: InboundEvent['channel'] = 'messenger'): InboundEvent {
  return { ...base(channel, userId), kind: 'postback', messageId: `s${++seq}`, payload };
}
const key = (userId: string, channel: InboundEvent['channel'] = 'zalo') => {
  const b = base(channel, userId);
  return { unitId: b.unitId, channel: b.channel, accountId: b.accountId, userId: b.userId };
};
const all = (replies: Reply[]) => replies.map((r) => r.text).join('\n');
const payloads = (replies: Reply[]) => replies.flatMap((r) => [...r.buttons, ...r.quickReplies].map((b) => b.payload));
const titles = (replies: Reply[]) => replies.flatMap((r) => r.buttons.map((b) => b.title));

describe('subscription phrases', () => {
  const matcher = createCommandMatcher([
    { name: 'subscribe', examples: intents.subscribe.examples },
    { name: 'unsubscribe', examples: intents.unsubscribe.examples },
    { name: 'stop', examples: intents.unsubscribe.stopExamples },
  ]);

  it('recognises every example, with and without marks, in capitals, with politeness around it', () => {
    const cases: Array<[readonly string[], string]> = [
      [intents.subscribe.examples, 'subscribe'],
      [intents.unsubscribe.examples, 'unsubscribe'],
      [intents.unsubscribe.stopExamples, 'stop'],
    ];
    for (const [examples, name] of cases) {
      for (const e of examples) {
        expect(matcher.match(e), e).toBe(name);
        expect(matcher.match(e.toUpperCase()), e.toUpperCase()).toBe(name);
        expect(matcher.match(`cho tôi ${e} với ạ`), e).toBe(name);
      }
    }
    for (const [t, name] of [
      ['Đăng kí nhận tin!', 'subscribe'],
      ['dk nhận tin', 'subscribe'],
      ['đk nhận thông báo của xã', 'subscribe'],
      ['em muốn đăng ký nhận tin từ UBND xã ạ', 'subscribe'],
      ['Huỷ đăng ký', 'unsubscribe'],
      ['STOP', 'stop'],
      ['Stop.', 'stop'],
      ['dừng nhận tin', 'stop'],
    ] as const) {
      expect(matcher.match(t), t).toBe(name);
    }
  });

  it('leaves procedure questions and near misses to the search', () => {
    for (const e of intents.procedure.examples) expect(matcher.match(e), e).toBeNull();
    for (const t of [
      'đăng ký',
      'dang ky',
      'đăng ký khai sinh',
      'dang ky khai sinh',
      'đăng ký kết hôn',
      'đăng ký tạm trú',
      'đăng ký thường trú',
      'hủy đăng ký thường trú',
      'xóa đăng ký thường trú',
      'nhận kết quả hồ sơ',
      'nhận thông báo kết quả',
      'đúng',
      'dừng',
      'stop lại đi',
      'nhắn tin cho cán bộ',
      'shop',
      '',
    ]) {
      expect(matcher.match(t), t).toBeNull();
    }
  });

  it('gives no phrase to two commands and reads "kí"/"ký", "dk"/"đăng ký" alike', () => {
    expect(commandKey('đăng kí nhận tin')).toBe(commandKey('dang ky nhan tin'));
    expect(commandKey('dk nhan tin')).toBe(commandKey('đăng ký nhận tin'));
    expect(() => createCommandMatcher([
      { name: 'subscribe', examples: ['nhận tin tức'] },
      { name: 'stop', examples: ['nhan tin tuc'] },
    ])).toThrow(/both/);
  });
});

describe('subscribing in chat', () => {
  it('lists the unit’s active groups as buttons (not another unit’s, not a closed one)', async () => {
    const r = rig();
    const replies = await r.engine.handle(text('đăng ký nhận tin'));
    expect(all(replies)).toContain('Chọn nhóm tin bạn muốn nhận từ UBND xã Mẫu');
    expect(all(replies)).toContain('có thể hủy bất cứ lúc nào');
    expect(payloads(replies)).toEqual(['mc:sub:1', 'mc:sub:2', 'mc:sub:3', 'mc:sub:4', 'mc:sub:5', 'mc:sub:6', 'mc:sub:7']);
    expect(titles(replies)).toEqual(['Thôn Đông', 'Thôn Tây', 'Cải cách hành chính', 'Đất đai', 'Hộ kinh doanh', 'Người cao tuổi', 'Hộ tịch']);
    expect(r.searcher.calls).toHaveLength(0);
    expect(r.log.entries).toHaveLength(0);
    expect(r.subs.events).toEqual([]); // listing is not consent
  });

  it('subscribes on a tap, records the consent, confirms what comes and how to stop', async () => {
    const r = rig();
    await r.engine.handle(tap('mc:sub'));
    const replies = await r.engine.handle(tap('mc:sub:1'));
    const said = all(replies);
    expect(said).toContain('Bạn đã đăng ký nhận tin nhóm “Thôn Đông” của UBND xã Mẫu');
    expect(said).toContain('thủ tục mới, dịch vụ công trực tuyến');
    expect(said).toContain('Tin của thôn Đông: họp thôn, lịch tiếp dân.');
    expect(said).toContain('gõ HỦY ĐĂNG KÝ hoặc STOP');
    expect(said).toContain('24 giờ'); // Messenger: what the platform allows
    expect(payloads(replies)).toEqual(['mc:sub']);
    expect(r.subs.subscribedIds(key('citizen-1', 'messenger'))).toEqual([1]);
    expect(r.subs.events).toEqual([
      { key: key('citizen-1', 'messenger'), groupId: 1, action: 'subscribe', via: 'chat:button', at: new Date(r.clock.t) },
    ]);
    // The list now says what they follow and offers the rest.
    const list = await r.engine.handle(tap('mc:sub'));
    expect(all(list)).toContain('Bạn đang nhận tin của: Thôn Đông.');
    expect(payloads(list)).not.toContain('mc:sub:1');
    expect(payloads(list)).toContain('mc:unsub');
    // The same tap again: no second consent event, and it says so.
    expect(all(await r.engine.handle(tap('mc:sub:1')))).toContain('Bạn đã đăng ký nhóm “Thôn Đông” từ trước.');
    expect(r.subs.events).toHaveLength(1);
  });

  it('on Zalo: more than five groups become a numbered list, and a typed number subscribes', async () => {
    const r = rig();
    const list = await r.engine.handle(text('dang ky nhan tin', 'zalo-user'));
    const body = renderZaloReply(list[0]!, 'zalo-user')[0]!;
    expect(body.message.text).toMatch(/\n1\. Thôn Đông\n2\. Thôn Tây\n3\. Cải cách hành chính/u);
    expect(body.message.attachment?.payload.buttons).toHaveLength(5);
    const replies = await r.engine.handle(text('3', 'zalo-user'));
    expect(all(replies)).toContain('“Cải cách hành chính”');
    expect(all(replies)).toContain('quan tâm (theo dõi) Zalo OA');
    expect(r.subs.subscribedIds(key('zalo-user'))).toEqual([3]);
    expect(r.subs.events[0]).toMatchObject({ via: 'chat:button' });
    // A Zalo tap arrives as text carrying the payload.
    await r.engine.handle(text('mc:sub:4', 'zalo-user'));
    expect(r.subs.subscribedIds(key('zalo-user'))).toEqual([3, 4]);
  });

  it('a typed number after the list picks a group even while procedure choices were open', async () => {
    const r = rig();
    await r.engine.handle(text('hộ tịch')); // offers three procedures: "1"/"2"/"3" would pick one
    await r.engine.handle(text('đăng ký nhận tin'));
    const replies = await r.engine.handle(text('2'));
    expect(all(replies)).toContain('“Thôn Tây”');
    expect(r.subs.subscribedIds(key('citizen-1'))).toEqual([2]);
  });

  it('refuses a closed group, another unit’s group or an unknown one, and offers the list again', async () => {
    const r = rig();
    for (const id of [8, 9, 999]) {
      const replies = await r.engine.handle(tap(`mc:sub:${id}`));
      expect(all(replies)).toContain('Nhóm này hiện không nhận đăng ký');
      expect(payloads(replies)).toContain('mc:sub:1');
    }
    expect(r.subs.events).toEqual([]);
  });

  it('pages a long list with "Xem thêm nhóm", within what Messenger and a typed number can reach', async () => {
    const many = Array.from({ length: 23 }, (_, i) => group(100 + i, 'village', `Tổ dân phố ${i + 1}`));
    const r = rig(many);
    const first = await r.engine.handle(tap('mc:sub'));
    expect(payloads(first)).toHaveLength(11);
    expect(payloads(first).at(-1)).toBe('mc:sub:page:2');
    const second = await r.engine.handle(tap('mc:sub:page:2'));
    expect(payloads(second)[0]).toBe('mc:sub:110');
    const third = await r.engine.handle(tap('mc:sub:page:3'));
    expect(payloads(third)).toEqual(['mc:sub:120', 'mc:sub:121', 'mc:sub:122', 'mc:sub:page:1']);
  });

  it('says so when the unit has no group yet', async () => {
    const r = rig([]);
    const replies = await r.engine.handle(text('nhận thông báo'));
    expect(all(replies)).toContain('UBND xã Mẫu chưa mở nhóm nhận tin nào');
    expect(payloads(replies)).toEqual([]);
  });

  it('on a widget that cannot take subscriptions, says politely where it works', async () => {
    const r = rig(GROUPS, { unavailable: ['web'] });
    for (const event of [text('đăng ký nhận tin', 'visitor', 'web'), tap('mc:sub:1', 'visitor', 'web'), text('hủy đăng ký', 'visitor', 'web')]) {
      expect(all(await r.engine.handle(event))).toContain('Zalo OA và Trang Facebook của UBND xã Mẫu');
    }
    expect(all(await r.engine.handle(text('STOP', 'visitor', 'web')))).toContain('không đăng ký nhận tin nhóm nào');
    expect(r.subs.events).toEqual([]);
    // Without any subscription port the engine says the same.
    expect(all(await rig(GROUPS, { noPort: true }).engine.handle(text('đăng ký nhận tin')))).toContain('Zalo OA và Trang Facebook');
  });

  it('a widget with a web account subscribes, with the note for the website', async () => {
    const r = rig();
    const replies = await r.engine.handle(tap('mc:sub:3', 'visitor-web', 'web'));
    expect(all(replies)).toContain('trên trang web, thông báo được hiển thị khi bạn mở lại khung hỏi đáp');
    expect(r.subs.subscribedIds(key('visitor-web', 'web'))).toEqual([3]);
  });

  it('still sends "đăng ký khai sinh", "đăng ký kết hôn", "đăng ký tạm trú" to the procedure search', async () => {
    const r = rig();
    for (const [q, name] of [
      ['đăng ký khai sinh', 'Thủ tục đăng ký khai sinh'],
      ['dang ky ket hon', 'Thủ tục đăng ký kết hôn'],
      ['đăng ký tạm trú', 'Đăng ký tạm trú'],
    ] as const) {
      const replies = await r.engine.handle(text(q));
      expect(all(replies), q).toContain(name);
      expect(payloads(replies).some((p) => p.startsWith('mc:sub')), q).toBe(false);
    }
    expect(r.searcher.calls.map((c) => c.query)).toEqual(['đăng ký khai sinh', 'dang ky ket hon', 'đăng ký tạm trú']);
    expect(r.subs.events).toEqual([]);
  });
});

describe('unsubscribing in chat', () => {
  async function subscribed(r: Rig, ids: number[], userId = 'citizen-1'): Promise<void> {
    await r.subs.subscribe(key(userId), ids, 'chat:button', new Date(r.clock.t));
    r.subs.events.length = 0;
  }

  it('"hủy đăng ký" lists their groups and "Hủy tất cả"; a tap leaves one and says what remains', async () => {
    const r = rig();
    await subscribed(r, [1, 3, 5]);
    const list = await r.engine.handle(text('hủy đăng ký'));
    expect(all(list)).toContain('Chọn nhóm muốn hủy');
    expect(payloads(list)).toEqual(['mc:unsub:1', 'mc:unsub:3', 'mc:unsub:5', 'mc:unsub:all']);
    expect(titles(list)).toEqual(['Thôn Đông', 'Cải cách hành chính', 'Hộ kinh doanh', 'Hủy tất cả']);
    r.clock.t += 60_000;
    const left = await r.engine.handle(text('mc:unsub:3'));
    expect(all(left)).toContain('Bạn đã hủy nhận tin nhóm “Cải cách hành chính”.');
    expect(all(left)).toContain('Bạn vẫn nhận tin của: Thôn Đông, Hộ kinh doanh.');
    expect(r.subs.subscribedIds(key('citizen-1'))).toEqual([1, 5]);
    expect(r.subs.events).toEqual([{ key: key('citizen-1'), groupId: 3, action: 'unsubscribe', via: 'chat:button', at: new Date(r.clock.t) }]);
    expect(all(await r.engine.handle(text('mc:unsub:3')))).toContain('Bạn không đăng ký nhóm này');
    // A typed number picks from the list.
    await r.engine.handle(text('huy dang ky'));
    await r.engine.handle(text('1'));
    expect(r.subs.subscribedIds(key('citizen-1'))).toEqual([5]);
  });

  it('"Hủy tất cả" withdraws every group at once', async () => {
    const r = rig();
    await subscribed(r, [1, 2, 4]);
    const replies = await r.engine.handle(text('mc:unsub:all'));
    expect(all(replies)).toContain('Bạn đã hủy nhận tin của tất cả các nhóm (3 nhóm)');
    expect(r.subs.subscribedIds(key('citizen-1'))).toEqual([]);
    expect(r.subs.events.map((e) => [e.groupId, e.action, e.via])).toEqual([
      [1, 'unsubscribe_all', 'chat:button'],
      [2, 'unsubscribe_all', 'chat:button'],
      [4, 'unsubscribe_all', 'chat:button'],
    ]);
  });

  it('"STOP" withdraws everything at once, typed, and confirms; again it says there is nothing left', async () => {
    for (const stop of ['STOP', 'stop', 'dừng nhận tin', 'Không nhận tin nữa']) {
      const r = rig();
      await subscribed(r, [1, 6]);
      const replies = await r.engine.handle(text(stop));
      expect(all(replies), stop).toContain('Bạn đã hủy nhận tin của tất cả các nhóm (2 nhóm)');
      expect(all(replies), stop).toContain('muốn nhận tin lại, gõ “đăng ký nhận tin”');
      expect(r.subs.subscribedIds(key('citizen-1'))).toEqual([]);
      expect(r.subs.events.every((e) => e.via === 'chat:text' && e.action === 'unsubscribe_all')).toBe(true);
      expect(all(await r.engine.handle(text(stop)))).toContain('Bạn hiện không đăng ký nhận tin nhóm nào');
    }
  });

  it('"hủy đăng ký" with nothing to leave offers to subscribe', async () => {
    const r = rig();
    const replies = await r.engine.handle(text('hủy đăng ký'));
    expect(all(replies)).toContain('Bạn chưa đăng ký nhận tin nhóm nào.');
    expect(payloads(replies)).toEqual(['mc:sub']);
  });

  it('honours STOP while an officer has the conversation, and stays quiet otherwise', async () => {
    const r = rig();
    await subscribed(r, [1, 2]);
    await r.engine.handle(text('gặp cán bộ'));
    expect(await r.engine.handle(text('đăng ký nhận tin'))).toEqual([]);
    expect(all(await r.engine.handle(text('STOP')))).toContain('tất cả các nhóm (2 nhóm)');
    expect(r.subs.subscribedIds(key('citizen-1'))).toEqual([]);
    // Still with the officer.
    expect((await r.store.get({ unitId: 'xa-mau', channel: 'zalo', userId: 'citizen-1' }))?.mode).toBe('handoff');
    expect(await r.engine.handle(text('khai sinh'))).toEqual([]);
  });
});

describe('subscription payloads', () => {
  it('parses group payloads and refuses malformed ones', () => {
    expect(parsePayload('mc:sub')).toEqual({ action: 'sub' });
    expect(parsePayload('mc:sub:12')).toEqual({ action: 'sub', groupId: 12 });
    expect(parsePayload('mc:unsub:all')).toEqual({ action: 'unsub', groupId: 'all' });
    expect(parsePayload('mc:unsub:page:2')).toEqual({ action: 'unsub', page: 2 });
    for (const bad of ['mc:sub:all', 'mc:sub:0', 'mc:sub:-1', 'mc:sub:1.5', 'mc:sub:1:2', 'mc:unsub:page:0', 'mc:sub:01', 'mc:sub:1234567890123456']) {
      expect(parsePayload(bad), bad).toBeNull();
    }
  });

  it('turns a subscription change arriving in a link into the list (a link is not consent)', () => {
    expect(linkSafePayload('mc:sub:12')).toBe('mc:sub');
    expect(linkSafePayload('mc:unsub:all')).toBe('mc:unsub');
    expect(linkSafePayload('mc:pick:1.001193')).toBe('mc:pick:1.001193');
    expect(linkSafePayload('mc:sub:page:2')).toBe('mc:sub:page:2');
  });
});
