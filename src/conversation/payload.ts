// Button payloads: "mc:" + action (+ ":" + procedure code, or group id). The prefix lets the Zalo
// adapter recognise taps that arrive as ordinary text, and every payload is parsed with zod,
// because a payload is external input (anyone can type "mc:…" or replay an old button).
// Subscriber groups: "mc:sub" lists the unit's groups, "mc:sub:<groupId>" subscribes,
// "mc:unsub" lists the citizen's groups, "mc:unsub:<groupId>" / "mc:unsub:all" unsubscribes,
// "mc:sub:page:<n>" / "mc:unsub:page:<n>" show further pages of a long list.
import { z } from 'zod';

export const PAYLOAD_PREFIX = 'mc';

/** Actions about one procedure. */
export const ProcedureAction = z.enum(['docs', 'steps', 'fee', 'legal', 'online', 'where', 'forms', 'result', 'pick']);
export type ProcedureAction = z.infer<typeof ProcedureAction>;

/** Actions that need no procedure ('sub' / 'unsub' alone list the groups). */
export const PlainAction = z.enum(['menu', 'contact', 'handoff', 'sub', 'unsub']);
export type PlainAction = z.infer<typeof PlainAction>;

export type GroupAction = 'sub' | 'unsub';

const Code = z.string().regex(/^\d+\.\d+$/);
const GroupId = z
  .string()
  .regex(/^[1-9]\d{0,14}$/)
  .transform(Number);
const Page = z
  .string()
  .regex(/^[1-9]\d{0,2}$/)
  .transform(Number);

const ParsedPayload = z.union([
  z.tuple([z.literal(PAYLOAD_PREFIX), ProcedureAction, Code]).transform(([, action, code]) => ({ action, code })),
  z.tuple([z.literal(PAYLOAD_PREFIX), PlainAction]).transform(([, action]) => ({ action })),
  z.tuple([z.literal(PAYLOAD_PREFIX), z.literal('sub'), GroupId]).transform(([, action, groupId]) => ({ action, groupId })),
  z
    .tuple([z.literal(PAYLOAD_PREFIX), z.literal('unsub'), z.union([GroupId, z.literal('all')])])
    .transform(([, action, groupId]) => ({ action, groupId })),
  z
    .tuple([z.literal(PAYLOAD_PREFIX), z.enum(['sub', 'unsub']), z.literal('page'), Page])
    .transform(([, action, , page]) => ({ action, page })),
]);
export type ParsedPayload = z.infer<typeof ParsedPayload>;

export function procedurePayload(action: ProcedureAction, code: string): string {
  return `${PAYLOAD_PREFIX}:${action}:${code}`;
}

export function plainPayload(action: PlainAction): string {
  return `${PAYLOAD_PREFIX}:${action}`;
}

/** "mc:sub:12", "mc:unsub:12", "mc:unsub:all". */
export function groupPayload(action: GroupAction, groupId: number | 'all'): string {
  return `${PAYLOAD_PREFIX}:${action}:${groupId}`;
}

/** Page n (from 1) of the group list ("mc:sub:page:2"). */
export function groupPagePayload(action: GroupAction, page: number): string {
  return `${PAYLOAD_PREFIX}:${action}:page:${page}`;
}

/** True when a text looks like one of our payloads (a Zalo tap arrives as text). */
export function looksLikePayload(text: string): boolean {
  return text.trim().toLowerCase().startsWith(`${PAYLOAD_PREFIX}:`);
}

/** The payload's action, or null when it is not a payload we issue (callers show the menu). */
export function parsePayload(raw: string): ParsedPayload | null {
  if (raw.length > 100) return null;
  const parsed = ParsedPayload.safeParse(raw.trim().split(':'));
  return parsed.success ? parsed.data : null;
}

/**
 * A payload that arrived in a link (m.me ref, QR code) rather than from a tap in the chat: a
 * subscription change becomes the list to choose from, because opening a link is not consent.
 */
export function linkSafePayload(raw: string): string {
  const p = parsePayload(raw);
  if (p && (p.action === 'sub' || p.action === 'unsub') && !('page' in p)) return plainPayload(p.action);
  return raw;
}
