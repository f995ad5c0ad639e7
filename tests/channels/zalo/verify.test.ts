import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isZaloProbe, verifyZaloSignature, zaloSignature } from '../../../src/channels/zalo/verify.js';
import { loadZaloSamples } from './load-zalo-fixtures.js';

// zalo-follow-1 is the real event against which the formula was confirmed; its secret is not
// published, so the vector below uses our own secret over the exact same bytes.
const follow = loadZaloSamples().find((s) => s.name === 'zalo-follow-1');
if (!follow) throw new Error('zalo-follow-1.json missing');
const raw = follow.raw;
const APP_ID = '3349222483842580322';
const SECRET = 'motcua-test-oa-secret';
// sha256("3349222483842580322" + body + "1725608725618" + "motcua-test-oa-secret"), computed once.
const VECTOR = '477135d26faa674da2f31e32d04a7ed9bc1975f2184e365c7cfd6ffb3cbc6a83';
const secrets = { appId: APP_ID, oaSecretKey: SECRET };

describe('verifyZaloSignature', () => {
  it('reproduces the fixed test vector over the real follow event', () => {
    expect(follow.appId).toBe(APP_ID);
    expect(follow.timestamp).toBe('1725608725618');
    expect(zaloSignature(APP_ID, raw, '1725608725618', SECRET)).toBe(VECTOR);
    // An independent computation of the documented formula: a plain hash, not an HMAC.
    const plain = createHash('sha256').update(`${APP_ID}${raw.toString('utf8')}1725608725618${SECRET}`).digest('hex');
    expect(plain).toBe(VECTOR);
  });

  it('accepts the header with and without the mac= prefix, in any letter case', () => {
    expect(verifyZaloSignature(raw, { 'x-zevent-signature': `mac=${VECTOR}` }, secrets)).toBe(true);
    expect(verifyZaloSignature(raw, { 'x-zevent-signature': VECTOR }, secrets)).toBe(true);
    expect(verifyZaloSignature(raw, { 'X-ZEvent-Signature': `MAC=${VECTOR.toUpperCase()}` }, secrets)).toBe(true);
    expect(verifyZaloSignature(raw, new Headers({ 'X-ZEvent-Signature': `mac=${VECTOR}` }), secrets)).toBe(true);
  });

  it('rejects a body with one byte flipped', () => {
    const flipped = Buffer.from(raw);
    const at = flipped.indexOf('oa_profile');
    flipped[at] = 'O'.charCodeAt(0);
    expect(flipped.equals(raw)).toBe(false);
    expect(verifyZaloSignature(flipped, { 'x-zevent-signature': `mac=${VECTOR}` }, secrets)).toBe(false);
  });

  it('rejects re-serialised JSON (the hash covers the bytes received)', () => {
    const pretty = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8')), null, 1));
    expect(verifyZaloSignature(pretty, { 'x-zevent-signature': `mac=${VECTOR}` }, secrets)).toBe(false);
  });

  it('rejects the wrong secret, an HMAC of the same string, and the published header without its secret', () => {
    expect(verifyZaloSignature(raw, { 'x-zevent-signature': VECTOR }, { appId: APP_ID, oaSecretKey: 'other' })).toBe(false);
    expect(verifyZaloSignature(raw, { 'x-zevent-signature': follow.headers['X-ZEvent-Signature'] ?? '' }, secrets)).toBe(false);
    const hmac = createHmac('sha256', SECRET).update(`${APP_ID}${raw.toString('utf8')}1725608725618`).digest('hex');
    expect(verifyZaloSignature(raw, { 'x-zevent-signature': `mac=${hmac}` }, secrets)).toBe(false);
  });

  it('fails closed without a header, without a secret, or with a garbled header', () => {
    expect(verifyZaloSignature(raw, {}, secrets)).toBe(false);
    expect(verifyZaloSignature(raw, { 'x-zevent-signature': VECTOR }, { appId: APP_ID, oaSecretKey: '' })).toBe(false);
    expect(verifyZaloSignature(raw, { 'x-zevent-signature': VECTOR }, { appId: '', oaSecretKey: SECRET })).toBe(false);
    expect(verifyZaloSignature(raw, { 'x-zevent-signature': 'mac=' }, secrets)).toBe(false);
    expect(verifyZaloSignature(raw, { 'x-zevent-signature': `mac=${VECTOR.slice(0, 40)}` }, secrets)).toBe(false);
  });

  it('rejects an event of another app even when signed with that app id', () => {
    const sig = zaloSignature('3349222483842580322', raw, '1725608725618', SECRET);
    expect(verifyZaloSignature(raw, { 'x-zevent-signature': sig }, { appId: '999', oaSecretKey: SECRET })).toBe(false);
  });

  it('uses the body timestamp, not the receipt time, and signs non-ASCII text as UTF-8 bytes', () => {
    const body = Buffer.from(
      '{"app_id":"42","event_name":"user_send_text","timestamp":"1751100041636","sender":{"id":"1"},"recipient":{"id":"2"},"message":{"msg_id":"m","text":"Thủ tục khai sinh"}}',
    );
    const sig = createHash('sha256').update(Buffer.concat([Buffer.from('42'), body, Buffer.from('1751100041636s3cret')])).digest('hex');
    expect(verifyZaloSignature(body, { 'x-zevent-signature': `mac=${sig}` }, { appId: '42', oaSecretKey: 's3cret' })).toBe(true);
  });

  it('falls back to an X-ZEvent-Timestamp header only when the body has no timestamp', () => {
    const body = Buffer.from('{"app_id":"42","event_name":"user_send_text"}');
    const sig = zaloSignature('42', body, '1700000000000', 's');
    expect(verifyZaloSignature(body, { 'x-zevent-signature': sig }, { appId: '42', oaSecretKey: 's' })).toBe(false);
    expect(
      verifyZaloSignature(body, { 'x-zevent-signature': sig, 'x-zevent-timestamp': '1700000000000' }, { appId: '42', oaSecretKey: 's' }),
    ).toBe(true);
  });

  it('keeps an unquoted 19-digit app id exact', () => {
    const body = Buffer.from('{"app_id":3349222483842580322,"timestamp":1725608725618,"event_name":"follow"}');
    const sig = zaloSignature(APP_ID, body, '1725608725618', SECRET);
    expect(verifyZaloSignature(body, { 'x-zevent-signature': sig }, secrets)).toBe(true);
  });
});

describe('isZaloProbe', () => {
  it('recognises the unsigned {} sent when the URL is saved', () => {
    expect(isZaloProbe(Buffer.from('{}'))).toBe(true);
    expect(isZaloProbe(Buffer.from(' { }\n'))).toBe(true);
  });
  it('is false for real events and for junk', () => {
    expect(isZaloProbe(raw)).toBe(false);
    expect(isZaloProbe(Buffer.from('[]'))).toBe(false);
    expect(isZaloProbe(Buffer.from(''))).toBe(false);
    expect(isZaloProbe(Buffer.from('{'))).toBe(false);
    expect(isZaloProbe(Buffer.from('null'))).toBe(false);
  });
});
