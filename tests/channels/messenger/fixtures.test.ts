// Every real Messenger payload in ../shared/data/webhooks must parse into the right events or be
// deliberately ignored. A fixture added there without an expectation here fails the suite.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ParsedEvent } from '../../../src/channels/platform-event.js';
import { parseMessengerWebhook, verifyMessengerSignature } from '../../../src/channels/messenger/index.js';

const repoRoot = path.resolve(import.meta.dirname, '..', '..', '..');
const WEBHOOKS = path.resolve(repoRoot, '../shared/data/webhooks');

const Fixture = z.object({
  source: z.string(),
  captured: z.string(),
  body: z.union([z.string(), z.record(z.string(), z.unknown())]),
  body_normalized: z.string().optional(),
  body_is_valid_json: z.boolean().optional(),
  app_secret: z.string().optional(),
  derived_x_hub_signature_256: z.string().optional(),
  vectors: z.array(z.object({ body: z.string(), derived_x_hub_signature_256: z.string() })).optional(),
});
type Fixture = z.infer<typeof Fixture>;

interface Expectation {
  /** Own app ids passed to the parser (echo fixtures). */
  ownAppIds?: string[];
  /** Why and how a documentation example that is not valid JSON was made parseable. */
  repaired?: string;
  /** The body is a whole webhook body even though it has no `object` (sent as is, never wrapped). */
  whole?: boolean;
  events: Record<string, unknown>[];
}

const fbcdnUser = { userId: '1423587017700273', accountId: '404217156637689' };

const EXPECTED: Record<string, Expectation> = {
  'messenger-attachment_fallback-1.json': {
    events: [{ type: 'inbound', kind: 'text', ...fbcdnUser, attachment: 'fallback', dedupeKey: 'fb:m:mid.$cAAE1UUyiiwthh1ZAO1bVhDxGk2N0', timestamp: 1491797604411 }],
  },
  'messenger-attachment_image-1.json': {
    events: [{ type: 'inbound', kind: 'text', ...fbcdnUser, attachment: 'image', messageId: 'mid.$cAAE1UUyiiwthh1ZAO1bVhDxGk2N0' }],
  },
  'messenger-attachment_image-2.json': {
    events: [{ type: 'inbound', kind: 'text', accountId: '1234567890', userId: '987654321', attachment: 'image', dedupeKey: 'fb:m:mid.1467943684559:aaaaaaaaaaaaaaaaaa' }],
  },
  'messenger-attachment_image-3.json': {
    // The docs print the type as a placeholder list: an unrecognisable type is still an attachment.
    events: [{ type: 'inbound', kind: 'text', accountId: '682498302938465', userId: '<PSID>', attachment: 'other', timestamp: 1518479195308 }],
  },
  'messenger-attachment_location-1.json': {
    events: [{ type: 'inbound', kind: 'text', accountId: '1234567890', userId: '987654321', attachment: 'location', timestamp: 1461300487191 }],
  },
  'messenger-attachment_sticker-1.json': {
    events: [{ type: 'inbound', kind: 'text', ...fbcdnUser, attachment: 'sticker' }],
  },
  'messenger-attachment_sticker-2.json': {
    events: [{ type: 'inbound', kind: 'text', accountId: '1234567890', userId: '987654321', attachment: 'sticker' }],
  },
  'messenger-batch-1.json': {
    // accountId is each entry's Page id (the constructed second entry has a different one).
    events: [
      { type: 'inbound', kind: 'text', accountId: '1895382890692545', userId: '1412611362105802', text: 'test 1', dedupeKey: 'fb:m:mid.1486464322190:cb04e5a654' },
      { type: 'inbound', kind: 'text', accountId: '189538289069256', userId: '1412611362105802', text: 'test 2', dedupeKey: 'fb:m:mid.1486464322190:cb04e5a656' },
    ],
  },
  'messenger-delivery-1.json': { events: [{ type: 'ignored', reason: 'delivery', accountId: '1691462197845448', userId: '1134343043305865' }] },
  'messenger-delivery-2.json': { events: [{ type: 'ignored', reason: 'delivery', accountId: '1234567890', userId: '987654321', timestamp: undefined }] },
  'messenger-delivery-3.json': { events: [{ type: 'ignored', reason: 'delivery', timestamp: undefined }] },
  'messenger-echo-1.json': {
    ownAppIds: ['950864918368986'],
    events: [{ type: 'ignored', reason: 'own_echo', accountId: '1691462197845448', userId: '1134343043305865' }],
  },
  'messenger-echo-2.json': {
    ownAppIds: ['999'],
    events: [{ type: 'staff_reply', accountId: '1134713619900975', userId: '1244813222196986', dedupeKey: 'fb:m:mid.$cAARS90328R5hrBz-Vlbete17ftIb', timestamp: 1492414608982 }],
  },
  'messenger-echo-3.json': {
    ownAppIds: ['205552219930699'],
    events: [{ type: 'ignored', reason: 'own_echo', accountId: '404217156637689', userId: '1423587017700273' }],
  },
  'messenger-echo-4.json': {
    repaired: 'docs example: the "..." line removed and the trailing comma dropped',
    ownAppIds: ['999'],
    events: [{ type: 'staff_reply', accountId: '<PAGE_ID>', userId: '<PSID>', dedupeKey: 'fb:m:mid.1457764197618:41d102a3e1ae206a38' }],
  },
  'messenger-postback-1.json': {
    events: [{ type: 'inbound', kind: 'postback', accountId: '128922990987384', userId: '969833033053167', payload: 'GET_STARTED_PAYLOAD', ref: 'YW51YmhhdnNAZ21haWwuY29tLTE=', timestamp: 1501143941051 }],
  },
  'messenger-postback-2.json': {
    events: [
      {
        type: 'inbound',
        kind: 'postback',
        accountId: '107476709764145',
        userId: '1405055952852003',
        payload: '{"from":"ADMIN_MESSAGE","action":"GET_STARTED","nextAction":"NONE","other":{}}',
        // One layer of JSON string encoding peeled off the ref.
        ref: '{"from":"ADMIN_MESSAGE","action":"QUIZ_INFO","nextAction":"NONE","other":{"quizId":"ookkoqiaklledt34185u47g1jp"}}',
      },
    ],
  },
  'messenger-postback-3.json': { events: [{ type: 'inbound', kind: 'postback', userId: '1031304140280126', payload: 'USER_DEFINED_PAYLOAD', ref: 'test-ref' }] },
  'messenger-postback-4.json': { events: [{ type: 'inbound', kind: 'postback', userId: '1134343043305865', payload: 'DEVELOPED_DEFINED_PAYLOAD', ref: undefined }] },
  'messenger-postback-5.json': {
    events: [{ type: 'inbound', kind: 'postback', accountId: '707356222221168', userId: '1476077422222289', payload: '__GET_STARTED__', ref: 'aaaa' }],
  },
  'messenger-postback-6.json': {
    // The dashboard "field/value" test format is not what a Page subscription receives.
    events: [{ type: 'ignored', reason: 'object_not_page' }],
  },
  'messenger-quick_reply-1.json': {
    events: [{ type: 'inbound', kind: 'postback', userId: '1134343043305865', payload: 'PICK_ACTION', text: 'Action', dedupeKey: 'fb:m:mid.1472028637817:ae2763cc036a664b43' }],
  },
  'messenger-quick_reply-2.json': { events: [{ type: 'inbound', kind: 'postback', ...fbcdnUser, payload: 'DEVELOPER_DEFINED_PAYLOAD_FOR_PICKING_RED', text: 'Red' }] },
  'messenger-quick_reply-3.json': { events: [{ type: 'inbound', kind: 'postback', userId: '987654321', payload: 'Two' }] },
  'messenger-quick_reply-4.json': { events: [{ type: 'inbound', kind: 'postback', userId: '<PSID>', accountId: '<PAGE_ID>', payload: '<DEVELOPER_DEFINED_PAYLOAD>', text: 'hello, world!' }] },
  'messenger-read-1.json': { events: [{ type: 'ignored', reason: 'read', userId: '1134343043305865' }] },
  'messenger-read-2.json': { events: [{ type: 'ignored', reason: 'read', userId: '<PSID>' }] },
  'messenger-referral-1.json': {
    events: [{ type: 'inbound', kind: 'referral', accountId: '1867223756886946', userId: '1282081671850626', ref: 'test-start', timestamp: 1497966635090 }],
  },
  'messenger-referral-2.json': { events: [{ type: 'inbound', kind: 'referral', userId: '1134343043305865', ref: 'REFTEST' }] },
  'messenger-referral-3.json': { events: [{ type: 'inbound', kind: 'referral', accountId: '701111199441168', userId: '1476077111119289', ref: 'aaaa' }] },
  'messenger-referral-4.json': { events: [{ type: 'inbound', kind: 'referral', userId: '987654321', ref: 'someparam' }] },
  'messenger-referral-5.json': {
    repaired: 'docs example: the unquoted <REF_DATA…> placeholder quoted and the trailing comma dropped',
    events: [{ type: 'inbound', kind: 'referral', userId: '<PSID>', ref: '<REF_DATA_PASSED_IN_M.ME_PARAM>' }],
  },
  'messenger-sigvec-1.json': { events: [{ type: 'inbound', kind: 'text', accountId: '1895382890692545', text: 'text' }] },
  'messenger-sigvec-2.json': { whole: true, events: [{ type: 'ignored', reason: 'object_not_page' }] },
  'messenger-standby-1.json': {
    repaired: 'docs example: the unquoted <APPID> placeholder quoted',
    // An echo from another app in standby: a person (or another app) answered in the inbox.
    events: [{ type: 'staff_reply', accountId: '<PAGE_ID>', userId: '<PSID>', timestamp: 1570900000000 }],
  },
  'messenger-standby-2.json': {
    repaired: 'docs skeleton: the "..." line removed and the trailing comma dropped; no event body is left',
    events: [{ type: 'ignored', reason: 'unsupported_event', userId: '<USER_ID>' }],
  },
  'messenger-text-1.json': { events: [{ type: 'inbound', kind: 'text', accountId: '1691462197845448', userId: '1134343043305865', text: 'hello world', messageId: 'mid.1472026867074:cfb5e1d4bde07a2a55' }] },
  'messenger-text-2.json': { events: [{ type: 'inbound', kind: 'text', userId: '1031304140280126', text: 'fsadfjojiwejf', timestamp: 1472653364156 }] },
  'messenger-text-3.json': { events: [{ type: 'inbound', kind: 'text', userId: '969833033053167', text: 'hi there' }] },
  'messenger-text-4.json': { events: [{ type: 'inbound', kind: 'text', ...fbcdnUser, text: 'Sharp tools make good work.' }] },
  'messenger-text-5.json': { events: [{ type: 'inbound', kind: 'text', accountId: '1234567890', userId: '987654321', text: 'Hey', dedupeKey: 'fb:m:mid.1461300294658:aaaaaaaaaaaaaaaaaa' }] },
};

/** Makes a documentation example parseable: quote bare <PLACEHOLDER>s, drop "..." lines and trailing commas. */
function repairDocExample(text: string): string {
  return text
    .replace(/:(\s*)<([^<>"\n]+)>/g, ':$1"<$2>"')
    .replace(/^\s*\.\.\.\s*$/gm, '')
    .replace(/,(\s*[}\]])/g, '$1');
}

/** A fixture body may be a whole body, one entry, or one messaging[] element: wrap as Meta would. */
function asWebhookBody(value: unknown): unknown {
  const record = z.record(z.string(), z.unknown()).parse(value);
  if ('object' in record || 'field' in record) return record;
  if ('messaging' in record || 'standby' in record) return { object: 'page', entry: [record] };
  return { object: 'page', entry: [{ messaging: [record] }] };
}

function bodyText(fixture: Fixture): string | undefined {
  if (typeof fixture.body !== 'string') return undefined;
  return fixture.body_normalized ?? fixture.body;
}

function loadBody(fixture: Fixture, expectation: Expectation): unknown {
  const text = bodyText(fixture);
  if (text === undefined) return fixture.body;
  if (fixture.body_is_valid_json === false) {
    expect(() => JSON.parse(text)).toThrow();
    expect(expectation.repaired, 'an invalid docs example needs an explicit repair reason').toBeDefined();
    return JSON.parse(repairDocExample(text));
  }
  return JSON.parse(text);
}

const files = fs.readdirSync(WEBHOOKS).filter((name) => name.startsWith('messenger-') && name.endsWith('.json')).sort();

describe('Messenger webhook fixtures', () => {
  it('has an expectation for every fixture and no stale one', () => {
    expect(files.length).toBeGreaterThanOrEqual(41);
    expect(Object.keys(EXPECTED).sort()).toEqual(files);
  });

  it.each(files)('%s parses into the expected events', (name) => {
    const fixture = Fixture.parse(JSON.parse(fs.readFileSync(path.join(WEBHOOKS, name), 'utf8')));
    const expectation = EXPECTED[name];
    if (!expectation) throw new Error(`no expectation for ${name}`);
    const loaded = loadBody(fixture, expectation);
    const body = expectation.whole ? loaded : asWebhookBody(loaded);
    const events = parseMessengerWebhook(body, { ownAppIds: expectation.ownAppIds ?? ['111111111111111'], now: () => 42 });
    expect(events).toHaveLength(expectation.events.length);
    events.forEach((event, i) => {
      expect(ParsedEvent.safeParse(event).success).toBe(true);
      const expected = Object.entries(expectation.events[i] ?? {});
      expect(event).toMatchObject({ platform: 'messenger', ...Object.fromEntries(expected.filter(([, v]) => v !== undefined)) });
      // An expected `undefined` means the field must be absent.
      for (const [key, value] of expected) if (value === undefined) expect(Object.entries(event).find(([k]) => k === key)?.[1]).toBeUndefined();
    });
  });

  it('reads the doubled-escape source bodies and the bodies Facebook sent the same way', () => {
    for (const name of files) {
      const fixture = Fixture.parse(JSON.parse(fs.readFileSync(path.join(WEBHOOKS, name), 'utf8')));
      if (typeof fixture.body !== 'string' || fixture.body_normalized === undefined) continue;
      const options = { ownAppIds: [] };
      const fromSource = parseMessengerWebhook(JSON.parse(fixture.body), options);
      const fromWire = parseMessengerWebhook(JSON.parse(fixture.body_normalized), options);
      // Only attachment urls differ (escapes), which the parser does not keep.
      expect(fromSource).toEqual(fromWire);
    }
  });
});

describe('Messenger signature vectors', () => {
  const vectors: { name: string; body: string; secret: string; signature: string }[] = [];
  for (const name of ['messenger-sigvec-1.json', 'messenger-sigvec-2.json']) {
    const fixture = Fixture.parse(JSON.parse(fs.readFileSync(path.join(WEBHOOKS, name), 'utf8')));
    const secret = fixture.app_secret ?? '';
    if (typeof fixture.body === 'string' && fixture.derived_x_hub_signature_256) {
      vectors.push({ name, body: fixture.body, secret, signature: fixture.derived_x_hub_signature_256 });
    }
    for (const [i, vector] of (fixture.vectors ?? []).entries()) {
      vectors.push({ name: `${name}#${i}`, body: vector.body, secret, signature: vector.derived_x_hub_signature_256 });
    }
  }

  it('found the vectors', () => {
    expect(vectors.length).toBe(3);
  });

  it.each(vectors)('$name verifies with its secret and fails when a byte flips', ({ body, secret, signature }) => {
    const raw = Buffer.from(body, 'utf8');
    expect(verifyMessengerSignature(raw, signature, secret)).toBe(true);
    const flipped = Buffer.from(raw);
    flipped[0] = (flipped[0] ?? 0) ^ 0x01;
    expect(verifyMessengerSignature(flipped, signature, secret)).toBe(false);
    expect(verifyMessengerSignature(raw, signature, `${secret}x`)).toBe(false);
    const hex = signature.slice('sha256='.length);
    const otherHex = `${hex.slice(0, -1)}${hex.endsWith('0') ? '1' : '0'}`;
    expect(verifyMessengerSignature(raw, `sha256=${otherHex}`, secret)).toBe(false);
  });

  it('rejects one vector\'s signature on another body (the source test expects 400)', () => {
    const [empty, rawBody] = vectors.filter((v) => v.name.startsWith('messenger-sigvec-2.json#'));
    if (!empty || !rawBody) throw new Error('vectors missing');
    expect(verifyMessengerSignature(Buffer.from(empty.body), rawBody.signature, empty.secret)).toBe(false);
  });
});
