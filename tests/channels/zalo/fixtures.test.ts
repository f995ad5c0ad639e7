// Every real Zalo payload in ../shared/data/webhooks must parse into the right event or be
// deliberately ignored. A new sample without an expectation here fails the suite.
import { describe, expect, it } from 'vitest';
import { ParsedEvent } from '../../../src/channels/platform-event.js';
import { parseZaloJson } from '../../../src/channels/zalo/parse-zalo-json.js';
import { parseZaloWebhook } from '../../../src/channels/zalo/parse-webhook.js';
import { loadZaloSamples } from './load-zalo-fixtures.js';

// The console's "test webhook" tool sends these placeholders with real-looking ids.
const TEST_TOOL_MSG_ID = 'This is message id';
const TEST_TOOL_TEXT = 'This is testing message';

const EXPECTED: Record<string, Partial<ParsedEvent> & Record<string, unknown>> = {
  'zalo-follow-1': {
    type: 'inbound',
    kind: 'follow',
    accountId: '4024926008133882615',
    userId: '8958041078911298472',
    dedupeKey: 'zl:follow:8958041078911298472:1725608725618',
    timestamp: 1725608725618,
  },
  'zalo-follow-2': {
    type: 'inbound',
    kind: 'follow',
    accountId: '579745863508352884',
    userId: '8381381219617247797',
    timestamp: 1630900000000,
  },
  'zalo-follow-3': {
    type: 'inbound',
    kind: 'follow',
    accountId: '388613280900000000',
    userId: '24684588352919792',
    timestamp: 154397978274,
  },
  'zalo-unfollow-1': {
    type: 'inbound',
    kind: 'unfollow',
    accountId: '579745863508352884',
    userId: '8381381219617247797',
    dedupeKey: 'zl:unfollow:8381381219617247797:1631000222702',
    timestamp: 1631000222702,
  },
  // No admin_id: an echo of an API send (ours), never a staff reply.
  'zalo-oa_send_text-1': {
    type: 'ignored',
    reason: 'own_echo',
    accountId: '2197174064623873199',
    userId: '4339761418830368433',
    timestamp: 1609984527180,
  },
  // Receipts: no action; the ZNS variant's recipient is a phone number and is not carried.
  'zalo-user_received_message-1': { type: 'ignored', reason: 'delivered', accountId: '2893352839501541173', timestamp: 1602560967477 },
  'zalo-user_seen_message-1': { type: 'ignored', reason: 'seen', accountId: '2687558107438251665', timestamp: 1594636778967 },
  'zalo-user_send_image-1': {
    type: 'inbound',
    kind: 'text',
    attachment: 'image',
    text: TEST_TOOL_TEXT,
    accountId: '2197174064623873199',
    userId: '4339761418830368433',
    messageId: TEST_TOOL_MSG_ID,
    dedupeKey: `zl:${TEST_TOOL_MSG_ID}`,
    timestamp: 1609984527174,
  },
  'zalo-user_send_link-1': {
    type: 'inbound',
    kind: 'text',
    attachment: 'link',
    text: TEST_TOOL_TEXT,
    accountId: '2197174064623873199',
    userId: '4339761418830368433',
    timestamp: 1609984527175,
  },
  'zalo-user_send_location-1': {
    type: 'inbound',
    kind: 'text',
    attachment: 'location',
    text: 'Cơm Coffee New Sky',
    accountId: '1423847451268726170',
    userId: '8309393969855402319',
    messageId: 'b8de7d84fa1b3043690c',
    dedupeKey: 'zl:b8de7d84fa1b3043690c',
    timestamp: 1751100041636,
  },
  'zalo-user_send_sticker-1': {
    type: 'inbound',
    kind: 'text',
    attachment: 'sticker',
    text: TEST_TOOL_TEXT,
    accountId: '2197174064623873199',
    userId: '4339761418830368433',
    timestamp: 1609984527176,
  },
  'zalo-user_send_text-1': {
    type: 'inbound',
    kind: 'text',
    text: 'message',
    accountId: '388613280900000000',
    userId: '246845883529197922',
    messageId: '96d3cdf3af150460909',
    dedupeKey: 'zl:96d3cdf3af150460909',
    timestamp: 154390853474,
  },
  'zalo-user_send_text-2': {
    type: 'inbound',
    kind: 'text',
    text: '#sdt 0900000000',
    accountId: '2731914566897854906',
    userId: '2343954234106070535',
    dedupeKey: 'zl:884ed83abff728ab71e4',
    timestamp: 1631003632884,
  },
  'zalo-user_send_text-3': {
    type: 'inbound',
    kind: 'text',
    text: TEST_TOOL_TEXT,
    accountId: '2197174064623873199',
    userId: '4339761418830368433',
    messageId: TEST_TOOL_MSG_ID,
    timestamp: 1609984527175,
  },
  'zalo-user_send_text-4': {
    type: 'inbound',
    kind: 'text',
    text: 'Chào A4B',
    accountId: '3662729599332560487',
    userId: '6142494823xxxxxxxx',
    dedupeKey: 'zl:cb31dff1c39642cc1b83',
    timestamp: 1699003881354,
  },
};

const samples = loadZaloSamples();

describe('every Zalo webhook sample', () => {
  it('has an expectation (and every expectation has its sample)', () => {
    expect(samples.map((s) => s.name).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const sample of samples) {
    it(`${sample.name} parses to exactly one contract-valid event`, () => {
      const events = parseZaloWebhook(parseZaloJson(sample.raw));
      expect(events).toHaveLength(1);
      const [event] = events;
      expect(ParsedEvent.parse(event)).toEqual(event);
      expect(event).toMatchObject({ platform: 'zalo', ...EXPECTED[sample.name] });
      // Ids survive as the exact strings of the raw bytes.
      if (event && event.type !== 'ignored') {
        expect(sample.raw.toString('utf8')).toContain(`"${event.accountId}"`);
        expect(sample.raw.toString('utf8')).toContain(`"${event.userId}"`);
      }
    });
  }

  it('a sticker without text gives the engine no text (the sample carries the tool placeholder)', () => {
    const body = { event_name: 'user_send_sticker', sender: { id: '1' }, recipient: { id: '2' }, timestamp: '1', message: { msg_id: 'x', attachments: [{ type: 'sticker', payload: { id: 's', url: 'u' } }] } };
    const [event] = parseZaloWebhook(body);
    expect(event).toMatchObject({ type: 'inbound', kind: 'text', attachment: 'sticker' });
    expect(event && 'text' in event ? event.text : undefined).toBeUndefined();
  });
});
