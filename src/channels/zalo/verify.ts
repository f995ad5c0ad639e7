// Zalo OA webhook authenticity. Zalo signs each event with
//   X-ZEvent-Signature: mac=<hex sha256(app_id + raw body + timestamp + OA secret key)>
// — a plain SHA-256 of the concatenation, not an HMAC (PLATFORMS.md §6) — where app_id and
// timestamp are the body's own fields. The hash covers the exact bytes received, so this runs on
// the raw body before anything is re-serialised. The OA Secret Key is not the App Secret.
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { parseZaloJson } from './parse-zalo-json.js';

export interface ZaloWebhookSecrets {
  /** The Zalo app id the webhook URL belongs to (one URL per app, many OAs). */
  appId: string;
  /** The OA Secret Key shown on the app's webhook page (not the App Secret). */
  oaSecretKey: string;
}

/** Node's IncomingHttpHeaders, a plain record, or a fetch Headers object. */
export type ZaloHeaders = Record<string, string | string[] | undefined> | Headers;

const SIGNATURE_HEADER = 'x-zevent-signature';
/** Reported by some integrations only (low confidence): used when the body has no timestamp. */
const TIMESTAMP_HEADER = 'x-zevent-timestamp';

// The two body fields the hash needs, kept as their exact text (a number is accepted only when it
// survives the round trip, which parseZaloJson guarantees by quoting unsafe integers).
const SignedFields = z.object({
  app_id: z.union([z.string(), z.number().int()]).optional(),
  timestamp: z.union([z.string(), z.number().int()]).optional(),
});

export function headerValue(headers: ZaloHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    if (Array.isArray(value)) return value[0];
    return value;
  }
  return undefined;
}

/** The hex digest Zalo sends for this body (exported for tests and the fake server). */
export function zaloSignature(appId: string, rawBody: Buffer | string, timestamp: string, oaSecretKey: string): string {
  return createHash('sha256')
    .update(appId, 'utf8')
    .update(typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody)
    .update(timestamp, 'utf8')
    .update(oaSecretKey, 'utf8')
    .digest('hex');
}

/**
 * True only when the X-ZEvent-Signature header matches the body. Fails closed: no secret, no
 * header, an unparsable body, a body for another app or no timestamp all give false. The header
 * is accepted with or without its "mac=" prefix (sources differ).
 */
export function verifyZaloSignature(rawBody: Buffer, headers: ZaloHeaders, secrets: ZaloWebhookSecrets): boolean {
  if (!secrets.appId || !secrets.oaSecretKey) return false;
  const header = headerValue(headers, SIGNATURE_HEADER);
  if (!header) return false;
  const given = header.trim().replace(/^mac\s*=\s*/i, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(given)) return false;

  let fields: z.infer<typeof SignedFields>;
  try {
    const parsed = SignedFields.safeParse(parseZaloJson(rawBody));
    if (!parsed.success) return false;
    fields = parsed.data;
  } catch {
    return false;
  }
  // The body names its app; an event for another app is not ours even if the hash matched.
  if (fields.app_id !== undefined && String(fields.app_id) !== secrets.appId) return false;

  const candidates = new Set<string>();
  if (fields.timestamp !== undefined) candidates.add(String(fields.timestamp));
  const headerTs = headerValue(headers, TIMESTAMP_HEADER);
  if (headerTs) candidates.add(headerTs.trim());
  if (candidates.size === 0) return false;

  const givenBuf = Buffer.from(given, 'hex');
  let ok = false;
  for (const ts of candidates) {
    const expected = Buffer.from(zaloSignature(secrets.appId, rawBody, ts, secrets.oaSecretKey), 'hex');
    // Evaluate every candidate (no early exit) and compare in constant time.
    if (expected.length === givenBuf.length && timingSafeEqual(expected, givenBuf)) ok = true;
  }
  return ok;
}

/**
 * The unsigned test POST Zalo sends when the webhook URL is saved: a body that is an empty JSON
 * object. The route answers 200 to it without verifying or processing anything.
 */
export function isZaloProbe(rawBody: Buffer | string): boolean {
  const text = (typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8')).trim();
  if (text.length > 64 || !text.startsWith('{')) return false;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
  } catch {
    return false;
  }
}
