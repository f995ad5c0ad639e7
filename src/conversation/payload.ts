// Button payloads: "mc:" + action (+ ":" + procedure code). The prefix lets the Zalo adapter
// recognise taps that arrive as ordinary text, and every payload is parsed with zod, because a
// payload is external input (anyone can type "mc:…" or replay an old button).
import { z } from 'zod';

export const PAYLOAD_PREFIX = 'mc';

/** Actions about one procedure. */
export const ProcedureAction = z.enum(['docs', 'steps', 'fee', 'legal', 'online', 'where', 'forms', 'result', 'pick']);
export type ProcedureAction = z.infer<typeof ProcedureAction>;

/** Actions that need no procedure. */
export const PlainAction = z.enum(['menu', 'contact', 'handoff']);
export type PlainAction = z.infer<typeof PlainAction>;

const Code = z.string().regex(/^\d+\.\d+$/);

const ParsedPayload = z.union([
  z.tuple([z.literal(PAYLOAD_PREFIX), ProcedureAction, Code]).transform(([, action, code]) => ({ action, code })),
  z.tuple([z.literal(PAYLOAD_PREFIX), PlainAction]).transform(([, action]) => ({ action })),
]);
export type ParsedPayload = z.infer<typeof ParsedPayload>;

export function procedurePayload(action: ProcedureAction, code: string): string {
  return `${PAYLOAD_PREFIX}:${action}:${code}`;
}

export function plainPayload(action: PlainAction): string {
  return `${PAYLOAD_PREFIX}:${action}`;
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
