// Signed, expiring links that let an officer connect a Zalo OA to a unit without an admin
// session: `motcua account connect-zalo --unit X` prints one; only its holder can start the
// OAuth flow for that unit, and only until it expires.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

const Claims = z.object({ unit: z.string().regex(/^[a-z0-9-]+$/), exp: z.number().int() });
export type ConnectClaims = z.infer<typeof Claims>;

const mac = (secret: string, body: string): string => createHmac('sha256', secret).update(`zalo-connect\u0000${body}`).digest('base64url');

export function signConnectToken(secret: string, unit: string, ttlSeconds: number, now = Date.now()): string {
  const body = Buffer.from(JSON.stringify({ unit, exp: Math.floor(now / 1000) + ttlSeconds })).toString('base64url');
  return `${body}.${mac(secret, body)}`;
}

/** The claims of a valid, unexpired token, else null. */
export function verifyConnectToken(secret: string, token: string, now = Date.now()): ConnectClaims | null {
  const [body, sig] = token.split('.');
  if (!body || !sig) return null;
  const expected = Buffer.from(mac(secret, body));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const claims = Claims.safeParse(json);
  if (!claims.success || claims.data.exp * 1000 < now) return null;
  return claims.data;
}
