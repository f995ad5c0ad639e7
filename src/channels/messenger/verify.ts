// Messenger webhook authentication: the X-Hub-Signature-256 HMAC over the raw request bytes and
// the GET verification handshake. Both fail closed: a missing secret, header or token is a "no".
import { createHmac, timingSafeEqual } from 'node:crypto';

const SIGNATURE_PREFIX = 'sha256=';
const SHA256_HEX = /^[0-9a-f]{64}$/i;

/**
 * True only when `header` is `sha256=<hex>` and the hex is HMAC-SHA256(appSecret, rawBody).
 * The digest is computed over the bytes exactly as received: Meta signs its escaped-unicode
 * form, so re-serialised JSON would not match (PLATFORMS.md §1).
 */
export function verifyMessengerSignature(rawBody: Buffer, header: string | undefined, appSecret: string | undefined): boolean {
  if (!appSecret || typeof header !== 'string') return false;
  const value = header.trim();
  if (value.slice(0, SIGNATURE_PREFIX.length).toLowerCase() !== SIGNATURE_PREFIX) return false;
  const hex = value.slice(SIGNATURE_PREFIX.length);
  if (!SHA256_HEX.test(hex)) return false;
  const received = Buffer.from(hex, 'hex');
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  // Both are 32 bytes here (checked by the regex), which timingSafeEqual requires.
  return received.length === expected.length && timingSafeEqual(received, expected);
}

/** The challenge is echoed back as text/plain: accept only what Meta sends (digits, in practice). */
const CHALLENGE = /^[A-Za-z0-9_.-]{1,256}$/;

function firstString(query: Record<string, unknown>, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = query[key];
    if (typeof value === 'string') return value;
  }
  return undefined;
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The GET handshake: returns the `hub.challenge` to answer with (200, text/plain) when
 * `hub.mode` is "subscribe" and `hub.verify_token` equals ours, otherwise null (answer 403).
 * Accepts the underscore spelling (`hub_mode`) too, which some proxies and frameworks produce.
 */
export function verifyHandshake(query: Record<string, unknown>, verifyToken: string | undefined): string | null {
  if (!verifyToken) return null;
  const mode = firstString(query, 'hub.mode', 'hub_mode');
  const token = firstString(query, 'hub.verify_token', 'hub_verify_token');
  const challenge = firstString(query, 'hub.challenge', 'hub_challenge');
  if (mode !== 'subscribe' || token === undefined || challenge === undefined) return null;
  if (!sameSecret(token, verifyToken)) return null;
  return CHALLENGE.test(challenge) ? challenge : null;
}
