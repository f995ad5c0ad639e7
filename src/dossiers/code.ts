// Dossier codes as printed on the receipt, e.g. 000.00.01.H56-240101-0001. They are opaque: the
// only normalisation is for look-up — NFC, no white space, upper case — so that "000.00.01.h56 -
// 240101-0001" typed in chat finds the dossier, while dots, dashes and every other character stay
// significant (two codes differing by a dash are two dossiers). Pure.
import { z } from 'zod';

export const CODE_MAX = 100;

/** The look-up key of a code: what the unique index and every search compare. */
export function codeKey(code: string): string {
  return code.normalize('NFC').replace(/\s+/g, '').toUpperCase();
}

/** A code as received: trimmed NFC, printable, 1–100 characters, with at least one letter or digit. */
export const DossierCode = z
  .string({ error: 'mã hồ sơ phải là một chuỗi' })
  .transform((s) => s.normalize('NFC').trim())
  .pipe(
    z
      .string()
      .min(1, 'mã hồ sơ không được để trống')
      .max(CODE_MAX, `mã hồ sơ tối đa ${CODE_MAX} ký tự`)
      .refine((s) => !/\p{Cc}/u.test(s), 'mã hồ sơ chứa ký tự điều khiển')
      .refine((s) => /[\p{L}\p{N}]/u.test(s), 'mã hồ sơ cần có chữ hoặc số'),
  );

/**
 * A code as the one-stop systems print it on the receipt: the receiving agency's code (letters,
 * digits and dots, with at least one letter: "000.00.01.H56", "H56.22"), the day received
 * (yymmdd) and a sequence number, joined by dashes — 000.00.01.H56-240101-0001. Spaces around
 * the dashes are tolerated (a code copied from a PDF). Nothing may touch it on either side but
 * white space or punctuation, and no piece of a longer token is taken (an opaque code cut short
 * would be another dossier).
 */
const RECEIPT_CODE =
  /(?<![\p{L}\p{N}.-])([A-Za-z0-9]{1,20}(?:\.[A-Za-z0-9]{1,20}){0,6})[ \t]*-[ \t]*(\d{2})(\d{2})(\d{2})[ \t]*-[ \t]*(\d{3,6})(?![\p{L}\p{N}]|[.-][\p{L}\p{N}])/gu;

/**
 * The dossier codes of the receipt shape in a message, in order, white space removed ("mã hồ sơ
 * của tôi là 000.00.01.H56-240101-0001 ạ" → ["000.00.01.H56-240101-0001"]). Only the shape is
 * read, never the store, so whether a code exists is not revealed by whether it is recognised.
 * A procedure code (1.001193), a phone number (0912-345-678) or a date (01-01-2024) has no
 * agency part with a letter and no yymmdd-sequence tail, so it is never taken for one.
 */
export function findReceiptCodes(text: string): string[] {
  const out: string[] = [];
  for (const m of text.normalize('NFC').matchAll(RECEIPT_CODE)) {
    const [whole, agency = '', , mm = '', dd = ''] = m;
    if (!/[A-Za-z]/.test(agency)) continue;
    const month = Number(mm);
    const day = Number(dd);
    if (month < 1 || month > 12 || day < 1 || day > 31) continue;
    const code = whole.replace(/\s+/g, '');
    if (code.length <= CODE_MAX && !out.includes(code)) out.push(code);
  }
  return out;
}

/** A national procedure code ("1.001193"), which is never a dossier's. */
export const PROCEDURE_CODE_SHAPE = /^\d{1,2}\.\d{6}$/;

/** A phone number once its separators are gone (0912345678, +84912345678, 84912345678). */
const PHONE_SHAPE = /^(?:\+?84|0)\d{8,10}$/;

/**
 * A code typed on its own when one is expected (after "tra cứu hồ sơ", or when the bot asked
 * for it): any single token of 4–100 characters with a digit, so a unit whose one-stop system
 * numbers dossiers its own way ("HS-2024/00123") is served too — but not a procedure code or a
 * phone number, and never text with spaces inside (a question). Undefined when not a code.
 */
export function typedDossierCode(token: string): string | undefined {
  const t = token
    .normalize('NFC')
    .trim()
    .replace(/^["'“”‘’«(\[#:]+|["'“”‘’»)\].,;:!?]+$/gu, '');
  if (t.length < 4 || t.length > CODE_MAX || /\s/.test(t) || !/\d/.test(t)) return undefined;
  if (PROCEDURE_CODE_SHAPE.test(t) || PHONE_SHAPE.test(t.replace(/[\s.()-]/g, ''))) return undefined;
  const parsed = DossierCode.safeParse(t);
  return parsed.success ? parsed.data : undefined;
}
