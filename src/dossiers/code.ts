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
