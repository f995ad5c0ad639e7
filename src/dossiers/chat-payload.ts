// The payloads of the dossier look-up in chat (action "hs"):
//   mc:hs                  asks for a dossier code ("Tra cứu hồ sơ khác");
//   mc:hs:<code>           looks that dossier up (the receipt's QR code, an m.me ref, ?ref=);
//   mc:hs:<code>:on / off  "Nhận thông báo" / "Hủy nhận thông báo" for it (taps only).
// The code is percent-encoded (every character but A–Z a–z 0–9 . _ -), so a receipt code
// (000.00.01.H56-240101-0001) travels unchanged and stays inside the characters an m.me ref
// may carry, while any other opaque code still round-trips. A payload is external input (anyone
// can type "mc:hs:…" or replay an old button): it is parsed strictly, and what a link may do is
// the flow's decision (a link only ever opens a look-up).
import { PAYLOAD_PREFIX } from '../conversation/payload.js';
import { DossierCode } from './code.js';

/** The flow's payload action: "mc:hs:…". */
export const DOSSIER_ACTION = 'hs';

/**
 * Longest payload issued or accepted: a button's payload is remembered in the conversation
 * state (at most 200 characters there), and the widget's deep links take up to 296.
 */
export const MAX_DOSSIER_PAYLOAD = 200;

export type DossierPayload =
  | { kind: 'ask' }
  | { kind: 'lookup'; code: string }
  | { kind: 'link'; code: string }
  | { kind: 'unlink'; code: string };

const VERBS = { on: 'link', off: 'unlink' } as const;

function encodeCode(code: string): string {
  const nfc = DossierCode.parse(code);
  return Array.from(new TextEncoder().encode(nfc), (b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9._-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
}

function build(code: string, suffix: string): string {
  const out = `${PAYLOAD_PREFIX}:${DOSSIER_ACTION}:${encodeCode(code)}${suffix}`;
  if (out.length > MAX_DOSSIER_PAYLOAD) throw new RangeError('dossier code too long for a payload');
  return out;
}

/** "mc:hs:<code>": opens the look-up of that dossier. Throws for an invalid or too long code. */
export function dossierLookupPayload(code: string): string {
  return build(code, '');
}

/** "mc:hs:<code>:on" (link, "Nhận thông báo") or ":off" (unlink). */
export function dossierLinkPayload(code: string, link: boolean): string {
  return build(code, link ? ':on' : ':off');
}

/** "mc:hs": asks the citizen for a code. */
export function dossierAskPayload(): string {
  return `${PAYLOAD_PREFIX}:${DOSSIER_ACTION}`;
}

/** What a payload asks for, or null when it is not a well-formed dossier payload. */
export function parseDossierPayload(raw: string): DossierPayload | null {
  if (raw.length > MAX_DOSSIER_PAYLOAD) return null;
  const parts = raw.trim().split(':');
  if (parts[0] !== PAYLOAD_PREFIX || parts[1] !== DOSSIER_ACTION) return null;
  if (parts.length === 2) return { kind: 'ask' };
  if (parts.length > 4) return null;
  const encoded = parts[2] ?? '';
  if (!/^(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})+$/.test(encoded)) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(encoded);
  } catch {
    return null;
  }
  const code = DossierCode.safeParse(decoded);
  if (!code.success) return null;
  const verb = parts[3];
  if (verb === undefined) return { kind: 'lookup', code: code.data };
  if (verb !== 'on' && verb !== 'off') return null;
  return { kind: VERBS[verb], code: code.data };
}
