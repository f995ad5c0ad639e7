// Deep links into the website chat: `/?ref=mc:pick:1.001193` (a poster's QR code) opens the
// conversation on a procedure, as an m.me link with the same ref does on Messenger. The ref is
// external input twice over (a query string, then a cookie the browser sends back), so it is
// parsed with the payload grammar both times and only our canonical payload is ever kept.
import type { Request } from 'express';
import { parsePayload, plainPayload, procedurePayload } from '../../conversation/payload.js';

/** What the chat page sends to open every conversation (public/chat.js). */
export const OPENING_PAYLOAD = plainPayload('menu');

/** Links into the conversation flows: the survey (sv) and the dossier look-up (hs). */
const FLOW_LINK = /^mc:(?:sv|hs):[A-Za-z0-9._~%:-]{1,290}$/;

export const DEEP_LINK_COOKIE = 'motcua_ref';
/** Long enough for a slow phone to load the page and send its first message; no longer. */
export const DEEP_LINK_MAX_AGE_SECONDS = 300;

/**
 * The canonical payload of a deep link's ref, or null when it is not one we issue. A link may
 * open a procedure (any of its details), the menu or the contact details, never a hand-off:
 * opening a page must not file a request with an officer.
 */
export function deepLinkPayload(ref: unknown): string | null {
  if (typeof ref !== 'string' || ref.length > 300) return null;
  // A survey start (mc:sv:…, src/surveys/chat-payload.ts) or a dossier look-up (mc:hs:…): the
  // flow parses it strictly; here only its shape is checked.
  if (FLOW_LINK.test(ref)) return ref;
  if (ref.length > 100) return null;
  const parsed = parsePayload(ref);
  if (!parsed) return null;
  if ('code' in parsed) return procedurePayload(parsed.action, parsed.code);
  return parsed.action === 'handoff' ? null : plainPayload(parsed.action);
}

/** The Set-Cookie value that stores `payload` for the chat API, or clears it (null). */
export function deepLinkCookie(req: Pick<Request, 'baseUrl' | 'secure'>, payload: string | null): string {
  const parts = [
    `${DEEP_LINK_COOKIE}=${payload === null ? '' : encodeURIComponent(payload)}`,
    // Sent only with the chat API's requests, under whatever path the router is mounted at.
    `Path=${req.baseUrl}/api/chat`,
    `Max-Age=${payload === null ? 0 : DEEP_LINK_MAX_AGE_SECONDS}`,
    'HttpOnly',
    'SameSite=Strict',
  ];
  if (req.secure) parts.push('Secure');
  return parts.join('; ');
}

/** Whether the request carries the cookie at all, and its payload if it is still a valid one. */
export function readDeepLinkCookie(header: string | undefined): { present: boolean; payload: string | null } {
  if (!header) return { present: false, payload: null };
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== DEEP_LINK_COOKIE) continue;
    let value: string;
    try {
      value = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return { present: true, payload: null };
    }
    return { present: true, payload: deepLinkPayload(value) };
  }
  return { present: false, payload: null };
}
