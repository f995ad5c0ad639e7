import { describe, expect, it } from 'vitest';
import { MessengerPayloadError, parseMessengerWebhook } from '../../../src/channels/messenger/parse-webhook.js';
import { ParsedEvent } from '../../../src/channels/platform-event.js';

const PAGE = '404217156637689';
const PSID = '1423587017700273';
const OUR_APP = '1111';
const INBOX_APP = '263902037430900';

function body(events: unknown[], key: 'messaging' | 'standby' = 'messaging') {
  return { object: 'page', entry: [{ id: PAGE, time: 1700000000999, [key]: events }] };
}
const parse = (b: unknown) => {
  const events = parseMessengerWebhook(b, { ownAppIds: [OUR_APP], now: () => 5 });
  for (const event of events) expect(ParsedEvent.safeParse(event).success).toBe(true);
  return events;
};
const fromUser = (extra: Record<string, unknown>, timestamp = 1700000000000) => ({ sender: { id: PSID }, recipient: { id: PAGE }, timestamp, ...extra });
const echo = (message: Record<string, unknown>) => ({ sender: { id: PAGE }, recipient: { id: PSID }, timestamp: 1700000000000, message: { is_echo: true, mid: 'm_echo', text: 'Chào anh', ...message } });

describe('parseMessengerWebhook: envelope', () => {
  it('ignores objects other than "page" rather than failing (Meta retries non-2xx answers)', () => {
    expect(parse({ object: 'instagram', entry: [] })).toEqual([{ type: 'ignored', platform: 'messenger', reason: 'object_not_page' }]);
    expect(parse({ field: 'messages', value: {} })).toMatchObject([{ reason: 'object_not_page' }]);
  });

  it('throws MessengerPayloadError for bodies Meta never sends', () => {
    for (const bad of [null, 'text', 42, [], { object: 'page' }, { object: 'page', entry: {} }]) {
      expect(() => parse(bad)).toThrow(MessengerPayloadError);
    }
  });

  it('reads every entry and every event, messaging and standby, and one bad event costs nothing else', () => {
    const events = parse({
      object: 'page',
      entry: [
        { id: PAGE, time: 1, messaging: [fromUser({ message: { mid: 'a', text: 'một' } }), 'garbage'] },
        { id: '999', time: 2, messaging: [fromUser({ message: { mid: 'b', text: 'hai' } })], standby: [echo({ app_id: INBOX_APP })] },
        { messaging: 7 },
      ],
    });
    expect(events.map((e) => (e.type === 'ignored' ? e.reason : e.type))).toEqual(['malformed_event', 'malformed_entry', 'inbound', 'inbound', 'staff_reply']);
    expect(events.filter((e) => e.type === 'inbound').map((e) => e.accountId)).toEqual([PAGE, '999']);
  });

  it('orders a batch by event timestamp, keeping arrival order on ties', () => {
    const events = parse(body([
      fromUser({ message: { mid: 'late', text: 'b' } }, 2000),
      fromUser({ message: { mid: 'early', text: 'a' } }, 1000),
      fromUser({ message: { mid: 'tie', text: 'c' } }, 2000),
    ]));
    expect(events.map((e) => (e.type === 'inbound' ? e.messageId : ''))).toEqual(['early', 'late', 'tie']);
  });
});

describe('parseMessengerWebhook: citizen events', () => {
  it('text message: NFC text, mid dedupe key, string ids even when numeric', () => {
    const nfd = 'Thủ tục khai sinh'.normalize('NFD');
    const [event] = parse({ object: 'page', entry: [{ id: 404217156637689, messaging: [{ sender: { id: 1423587017700273 }, recipient: { id: 404217156637689 }, timestamp: 1700000000000, message: { mid: 'm_1', text: nfd } }] }] });
    expect(event).toEqual({
      type: 'inbound', platform: 'messenger', kind: 'text', accountId: PAGE, userId: PSID,
      dedupeKey: 'fb:m:m_1', messageId: 'm_1', text: 'Thủ tục khai sinh', timestamp: 1700000000000,
    });
  });

  it('quick-reply tap is a postback carrying our payload', () => {
    const [event] = parse(body([fromUser({ message: { mid: 'm_2', text: 'Giấy tờ', quick_reply: { payload: 'mc:docs:1.001193' } } })]));
    expect(event).toMatchObject({ type: 'inbound', kind: 'postback', payload: 'mc:docs:1.001193', text: 'Giấy tờ', dedupeKey: 'fb:m:m_2' });
  });

  it('postback: mid dedupe when present, sender+timestamp+payload otherwise; JSON-quoted payload unwrapped', () => {
    const [withMid] = parse(body([fromUser({ postback: { mid: 'm_pb', title: 'Giấy tờ', payload: 'mc:docs:1.001193' } })]));
    expect(withMid).toMatchObject({ kind: 'postback', dedupeKey: 'fb:m:m_pb', messageId: 'm_pb', payload: 'mc:docs:1.001193' });

    const a = parse(body([fromUser({ postback: { payload: '"mc:menu"' } }, 10)]))[0];
    const b = parse(body([fromUser({ postback: { payload: '"mc:menu"' } }, 10)]))[0];
    const c = parse(body([fromUser({ postback: { payload: 'mc:contact' } }, 10)]))[0];
    expect(a).toMatchObject({ kind: 'postback', payload: 'mc:menu' });
    if (a?.type !== 'inbound' || b?.type !== 'inbound' || c?.type !== 'inbound') throw new Error('expected inbound');
    expect(a.dedupeKey).toMatch(/^fb:pb:1423587017700273:10:[0-9a-f]{32}$/);
    expect(a.dedupeKey).toBe(b.dedupeKey);
    expect(c.dedupeKey).not.toBe(a.dedupeKey);
  });

  it('Get Started with a referral carries both payload and ref', () => {
    const [event] = parse(body([fromUser({ postback: { title: 'Bắt đầu', payload: 'GET_STARTED', referral: { ref: 'qr-xa-an-hai', source: 'SHORTLINK', type: 'OPEN_THREAD' } } })]));
    expect(event).toMatchObject({ kind: 'postback', payload: 'GET_STARTED', ref: 'qr-xa-an-hai' });
  });

  it('referral into an existing thread, with or without a ref', () => {
    const [withRef] = parse(body([fromUser({ referral: { ref: 'thon-3', source: 'SHORTLINK', type: 'OPEN_THREAD' } })]));
    expect(withRef).toMatchObject({ type: 'inbound', kind: 'referral', ref: 'thon-3' });
    if (withRef?.type !== 'inbound') throw new Error('expected inbound');
    expect(withRef.dedupeKey).toMatch(/^fb:ref:1423587017700273:1700000000000:[0-9a-f]{32}$/);
    const [ad] = parse(body([fromUser({ referral: { source: 'ADS', type: 'OPEN_THREAD', ad_id: '1' } })]));
    expect(ad).toMatchObject({ type: 'inbound', kind: 'referral' });
    expect(ad).not.toHaveProperty('ref');
  });

  it('attachments: the type, stickers recognised in either shape, text kept when both', () => {
    const kinds = [
      { attachments: [{ type: 'image', payload: { url: 'https://x' } }] },
      { attachments: [{ type: 'image', payload: { url: 'https://x', sticker_id: 369239263222822 } }] },
      { attachments: [{ type: 'sticker', payload: { sticker_id: '1' } }] },
      { attachments: [{ type: 'file', payload: { url: 'https://x' } }] },
      { attachments: [{ type: 'location', payload: { coordinates: { lat: 1, long: 2 } } }] },
      { attachments: [{ type: 'fallback', payload: null }] },
    ].map((message, i) => parse(body([fromUser({ message: { mid: `m_${i}`, ...message } })]))[0]);
    expect(kinds.map((e) => (e?.type === 'inbound' ? e.attachment : undefined))).toEqual(['image', 'sticker', 'sticker', 'file', 'location', 'fallback']);
    expect(kinds.every((e) => e?.type === 'inbound' && e.kind === 'text' && e.text === undefined)).toBe(true);

    const [both] = parse(body([fromUser({ message: { mid: 'm_t', text: 'ảnh giấy tờ', attachments: [{ type: 'image', payload: { url: 'https://x' } }] } })]));
    expect(both).toMatchObject({ kind: 'text', text: 'ảnh giấy tờ', attachment: 'image' });
  });

  it('falls back to entry.time when an event has no timestamp', () => {
    const [event] = parse(body([{ sender: { id: PSID }, recipient: { id: PAGE }, message: { mid: 'm', text: 'x' } }]));
    expect(event).toMatchObject({ timestamp: 1700000000999 });
  });

  it('ignores receipts, reactions, empty messages and senders without a PSID', () => {
    const events = parse(body([
      fromUser({ delivery: { watermark: 1 } }),
      fromUser({ read: { watermark: 1 } }),
      fromUser({ reaction: { reaction: 'love', action: 'react', mid: 'm' } }),
      fromUser({ message: { mid: 'm_e', text: '   ' } }),
      { sender: { user_ref: 'ref-1' }, recipient: { id: PAGE }, timestamp: 1, message: { mid: 'm_u', text: 'hi' } },
      fromUser({ something_new: {} }),
    ]));
    expect(events.map((e) => (e.type === 'ignored' ? e.reason : e.type))).toEqual(['no_psid', 'delivery', 'read', 'reaction', 'empty_message', 'unsupported_event']);
  });

  it('does not answer citizen events in standby (another app owns the thread)', () => {
    const [event] = parse(body([fromUser({ message: { mid: 'm_s', text: 'hỏi' } })], 'standby'));
    expect(event).toEqual({ type: 'ignored', platform: 'messenger', reason: 'standby', accountId: PAGE, userId: PSID, timestamp: 1700000000000 });
  });
});

describe('parseMessengerWebhook: echoes', () => {
  it('drops echoes of our own sends, numeric app ids included', () => {
    expect(parse(body([echo({ app_id: 1111 })]))).toMatchObject([{ type: 'ignored', reason: 'own_echo', userId: PSID }]);
  });

  it('an echo from the Page inbox, another app or none is a staff reply to the recipient', () => {
    for (const appId of [INBOX_APP, 263902037430900, '5555', undefined, null]) {
      const [event] = parse(body([echo(appId === undefined ? {} : { app_id: appId })]));
      expect(event).toEqual({ type: 'staff_reply', platform: 'messenger', accountId: PAGE, userId: PSID, dedupeKey: 'fb:m:m_echo', timestamp: 1700000000000 });
    }
  });
});
