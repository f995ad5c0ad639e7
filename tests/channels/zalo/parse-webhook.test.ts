import { describe, expect, it } from 'vitest';
import { ParsedEvent } from '../../../src/channels/platform-event.js';
import { parseZaloJson, quoteUnsafeIntegers } from '../../../src/channels/zalo/parse-zalo-json.js';
import { parseZaloWebhook } from '../../../src/channels/zalo/parse-webhook.js';

const OA = '2197174064623873199';
const USER = '4339761418830368433';

function userText(text: string, extra: Record<string, unknown> = {}) {
  return {
    app_id: '1163843031413526746',
    event_name: 'user_send_text',
    timestamp: '1751100041636',
    sender: { id: USER },
    recipient: { id: OA },
    message: { msg_id: 'b8de7d84fa1b3043690c', text },
    ...extra,
  };
}

function one(body: unknown): ParsedEvent {
  const events = parseZaloWebhook(body);
  expect(events).toHaveLength(1);
  const [e] = events;
  if (!e) throw new Error('no event');
  return ParsedEvent.parse(e);
}

describe('parseZaloWebhook', () => {
  it('turns a tap on our button (text "mc:…") into a postback carrying the payload', () => {
    expect(one(userText('mc:docs:1.001193'))).toMatchObject({
      type: 'inbound',
      kind: 'postback',
      payload: 'mc:docs:1.001193',
      accountId: OA,
      userId: USER,
      dedupeKey: 'zl:b8de7d84fa1b3043690c',
      timestamp: 1751100041636,
    });
    expect(one(userText(' mc:handoff '))).toMatchObject({ kind: 'postback', payload: 'mc:handoff' });
  });

  it('keeps ordinary text (even text mentioning mc: later) as text', () => {
    const e = one(userText('Làm giấy khai sinh cần gì? mc:docs'));
    expect(e).toMatchObject({ type: 'inbound', kind: 'text', text: 'Làm giấy khai sinh cần gì? mc:docs' });
    expect('payload' in e ? e.payload : undefined).toBeUndefined();
  });

  it('maps every attachment event to kind text with the attachment type', () => {
    for (const [event, attachment] of [
      ['user_send_image', 'image'],
      ['user_send_gif', 'gif'],
      ['user_send_file', 'file'],
      ['user_send_audio', 'audio'],
      ['user_send_video', 'video'],
      ['user_send_sticker', 'sticker'],
      ['user_send_location', 'location'],
      ['user_send_link', 'link'],
      ['user_send_business_card', 'business_card'],
    ] as const) {
      expect(one({ ...userText(''), event_name: event })).toMatchObject({ type: 'inbound', kind: 'text', attachment });
    }
  });

  it('treats an oa_send_* echo with sender.admin_id as an officer reply', () => {
    const body = {
      app_id: '1',
      event_name: 'oa_send_text',
      timestamp: '1609984527180',
      sender: { id: OA, admin_id: '6023561293437279481' },
      recipient: { id: USER },
      message: { msg_id: 'abc123', text: 'Chào anh, cán bộ xin trả lời…' },
    };
    expect(one(body)).toEqual({
      type: 'staff_reply',
      platform: 'zalo',
      accountId: OA,
      userId: USER,
      dedupeKey: 'zl:abc123',
      timestamp: 1609984527180,
    });
    // admin_id at the top level (placement unconfirmed) counts too.
    const top = { ...body, sender: { id: OA }, admin_id: '6023561293437279481', event_name: 'oa_send_image' };
    expect(one(top)).toMatchObject({ type: 'staff_reply', userId: USER });
  });

  it('treats an oa_send_* echo without admin_id (or with an empty one) as our own send', () => {
    const body = { event_name: 'oa_send_list', timestamp: '1', sender: { id: OA }, recipient: { id: USER }, message: { msg_id: 'x' } };
    expect(one(body)).toMatchObject({ type: 'ignored', reason: 'own_echo', accountId: OA, userId: USER });
    expect(one({ ...body, sender: { id: OA, admin_id: '' } })).toMatchObject({ type: 'ignored', reason: 'own_echo' });
  });

  it('ignores unknown, anonymous and malformed events with a reason', () => {
    expect(one({ event_name: 'user_reacted_message', timestamp: '1' })).toMatchObject({ type: 'ignored', reason: 'unknown_event' });
    expect(one({ event_name: 'constructor' })).toMatchObject({ type: 'ignored', reason: 'unknown_event' });
    expect(one({ ...userText('hi'), event_name: 'anonymous_send_text' })).toMatchObject({ type: 'ignored', reason: 'anonymous_user' });
    expect(one({ event_name: 'user_send_text', sender: { id: USER } })).toMatchObject({ type: 'ignored', reason: 'invalid_body' });
    expect(one(null)).toMatchObject({ type: 'ignored', reason: 'invalid_body' });
    expect(one([])).toMatchObject({ type: 'ignored', reason: 'invalid_body' });
    expect(one({})).toMatchObject({ type: 'ignored', reason: 'probe' });
  });

  it('derives a dedupe key from event, user and timestamp when msg_id is absent', () => {
    const body = userText('xin chào');
    const e = one({ ...body, message: { text: 'xin chào' } });
    expect(e).toMatchObject({ dedupeKey: `zl:user_send_text:${USER}:1751100041636`, messageId: `user_send_text:${USER}:1751100041636` });
  });

  it('keeps unquoted 19-digit ids exact through parseZaloJson, and refuses ids already rounded', () => {
    const raw = `{"event_name":"user_send_text","timestamp":1751100041636,"sender":{"id":${USER}},"recipient":{"id":${OA}},"message":{"msg_id":"m1","text":"a"}}`;
    expect(one(parseZaloJson(raw))).toMatchObject({ userId: USER, accountId: OA, timestamp: 1751100041636 });
    // What JSON.parse alone would do: the id is rounded, so the event is refused, not misrouted.
    expect(one(JSON.parse(raw))).toMatchObject({ type: 'ignored', reason: 'invalid_body' });
  });
});

describe('quoteUnsafeIntegers', () => {
  it('quotes only bare integers beyond 2^53 and never touches strings', () => {
    expect(quoteUnsafeIntegers('{"a":12345678901234567890,"b":42,"c":"99999999999999999999","d":-98765432109876543210,"e":1.5e300}')).toBe(
      '{"a":"12345678901234567890","b":42,"c":"99999999999999999999","d":"-98765432109876543210","e":1.5e300}',
    );
    expect(quoteUnsafeIntegers('{"s":"a \\" 123456789012345678901 \\\\","n":[9007199254740993]}')).toBe(
      '{"s":"a \\" 123456789012345678901 \\\\","n":["9007199254740993"]}',
    );
    const same = '{"x":9007199254740991}';
    expect(quoteUnsafeIntegers(same)).toBe(same);
  });
});
