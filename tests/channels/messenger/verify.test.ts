import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyHandshake, verifyMessengerSignature } from '../../../src/channels/messenger/verify.js';

const SECRET = 'app-secret';
// Meta signs the escaped-unicode bytes it sends ("\u00e4"), not the decoded characters.
const RAW = Buffer.from('{"object":"page","entry":[{"id":"1","messaging":[{"message":{"text":"Th\\u1ee7 t\\u1ee5c"}}]}]}', 'utf8');
const sign = (body: Buffer, secret = SECRET) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('verifyMessengerSignature', () => {
  it('accepts the HMAC-SHA256 of the raw bytes, in lower or upper case hex', () => {
    expect(verifyMessengerSignature(RAW, sign(RAW), SECRET)).toBe(true);
    expect(verifyMessengerSignature(RAW, `sha256=${sign(RAW).slice(7).toUpperCase()}`, SECRET)).toBe(true);
  });

  it('rejects a signature computed over re-serialised JSON', () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(RAW.toString('utf8'))), 'utf8');
    expect(reserialised.equals(RAW)).toBe(false);
    expect(verifyMessengerSignature(RAW, sign(reserialised), SECRET)).toBe(false);
  });

  it('fails closed on a missing secret, header or malformed value', () => {
    const good = sign(RAW);
    expect(verifyMessengerSignature(RAW, good, undefined)).toBe(false);
    expect(verifyMessengerSignature(RAW, good, '')).toBe(false);
    expect(verifyMessengerSignature(RAW, undefined, SECRET)).toBe(false);
    expect(verifyMessengerSignature(RAW, '', SECRET)).toBe(false);
    expect(verifyMessengerSignature(RAW, good.slice(7), SECRET)).toBe(false); // no prefix
    expect(verifyMessengerSignature(RAW, `sha1=${good.slice(7)}`, SECRET)).toBe(false);
    expect(verifyMessengerSignature(RAW, good.slice(0, -2), SECRET)).toBe(false); // too short
    expect(verifyMessengerSignature(RAW, `${good}00`, SECRET)).toBe(false); // too long
    expect(verifyMessengerSignature(RAW, `sha256=${'z'.repeat(64)}`, SECRET)).toBe(false);
    expect(verifyMessengerSignature(RAW, sign(RAW, 'other'), SECRET)).toBe(false);
  });
});

describe('verifyHandshake', () => {
  const query = { 'hub.mode': 'subscribe', 'hub.verify_token': 'tok', 'hub.challenge': '1158201444' };

  it('returns the challenge when mode and token match', () => {
    expect(verifyHandshake(query, 'tok')).toBe('1158201444');
    expect(verifyHandshake({ hub_mode: 'subscribe', hub_verify_token: 'tok', hub_challenge: '42' }, 'tok')).toBe('42');
  });

  it('returns null on a wrong token, wrong mode, missing parts or no configured token', () => {
    expect(verifyHandshake(query, 'other')).toBeNull();
    expect(verifyHandshake(query, 'to')).toBeNull();
    expect(verifyHandshake(query, undefined)).toBeNull();
    expect(verifyHandshake(query, '')).toBeNull();
    expect(verifyHandshake({ ...query, 'hub.mode': 'unsubscribe' }, 'tok')).toBeNull();
    expect(verifyHandshake({ 'hub.mode': 'subscribe', 'hub.verify_token': 'tok' }, 'tok')).toBeNull();
    expect(verifyHandshake({ ...query, 'hub.verify_token': ['tok', 'tok'] }, 'tok')).toBeNull();
  });

  it('does not echo a challenge that could be markup', () => {
    expect(verifyHandshake({ ...query, 'hub.challenge': '<script>alert(1)</script>' }, 'tok')).toBeNull();
  });
});
