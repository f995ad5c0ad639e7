// The verification secret of a dossier: the last 4 digits of the phone number given at the desk.
// The digits are never stored, nor are they in any log or pending import. A digest keyed with a
// key derived from SECRET_KEY and bound to the unit and the dossier code is computed as soon as
// the digits arrive; what the dossier row keeps is an HMAC of that digest under a random per-row
// salt ("v1$salt$mac"). Four digits are only 10,000 possibilities, so the key is what protects
// them (nobody without SECRET_KEY can test a guess offline); the salt makes two dossiers with the
// same digits look unrelated. Checking is constant-time and costs the same whether the dossier
// exists or not.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A keyed digest of (unit, code, digits): what travels between parsing and storing. */
export type VerificationDigest = string & { readonly __brand: 'VerificationDigest' };

const STORED = /^v1\$([0-9a-f]{32})\$([0-9a-f]{64})$/;
const DIGEST = /^[0-9a-f]{64}$/;

export class DossierVerifier {
  private readonly key: Buffer;

  constructor(secretKey: string) {
    if (secretKey.length < 16) throw new Error('dossier verification key too short (use SECRET_KEY)');
    // A subkey of its own: these hashes are unrelated to any other use of SECRET_KEY.
    this.key = createHmac('sha256', secretKey).update('motcua:dossier-verification:v1').digest();
  }

  /** The digest of 4 digits for a dossier (unit id, code key); throws unless exactly 4 digits. */
  digest(unitId: string, codeKey: string, digits: string): VerificationDigest {
    if (!/^\d{4}$/.test(digits)) throw new Error('verification digits must be 4 digits');
    return createHmac('sha256', this.key).update(`digest\u0000${unitId}\u0000${codeKey}\u0000${digits}`).digest('hex') as VerificationDigest;
  }

  /** A digest read back from storage (a pending import), or undefined if it is not one. */
  parseDigest(value: unknown): VerificationDigest | undefined {
    return typeof value === 'string' && DIGEST.test(value) ? (value as VerificationDigest) : undefined;
  }

  /** The stored form of a digest under a fresh salt. */
  seal(digest: VerificationDigest): string {
    const salt = randomBytes(16).toString('hex');
    return `v1$${salt}$${this.mac(salt, digest)}`;
  }

  /** Does the stored verifier hold this digest? Constant-time; false for null or a malformed value. */
  matches(stored: string | null, digest: VerificationDigest): boolean {
    const m = stored === null ? null : STORED.exec(stored);
    // Compare against a dummy when there is nothing to compare with, so timing says nothing.
    const salt = m?.[1] ?? '0'.repeat(32);
    const expected = Buffer.from(m?.[2] ?? '0'.repeat(64), 'hex');
    const actual = Buffer.from(this.mac(salt, digest), 'hex');
    return timingSafeEqual(expected, actual) && m !== null;
  }

  private mac(salt: string, digest: string): string {
    return createHmac('sha256', this.key).update(`seal\u0000${salt}\u0000${digest}`).digest('hex');
  }
}

/**
 * The last 4 digits of the phone number in a cell, or null when there is none. A cell may hold
 * an address with the number ("Thôn Đông, 0912 345 678"): the last phone-shaped run (0 or +84
 * followed by 8–10 more digits, with spaces, dots or dashes) wins; a cell of digits and
 * separators alone is taken whole when it has 8–15 digits.
 */
export function lastFourDigits(cell: string): string | null {
  const runs = cell.match(/(?:\+?84|0)(?:[\s.-]?\d){8,10}(?!\d)/g);
  const last = runs?.at(-1);
  let digits = last ? last.replace(/\D/g, '') : '';
  if (digits === '' && /^[\d\s.()+-]+$/.test(cell.trim())) {
    const all = cell.replace(/\D/g, '');
    if (all.length >= 8 && all.length <= 15) digits = all;
  }
  return digits.length >= 8 ? digits.slice(-4) : null;
}
