// The body of POST /api/chat, as the widget sends it. Parsed with zod: it is external input.
import { z } from 'zod';

/** A client-generated random id, 16–64 URL-safe characters: the widget's stand-in for a user id. */
export const SessionId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16,64}$/, 'sessionId phải gồm 16–64 ký tự chữ, số, "-" hoặc "_"');

export const ChatRequest = z
  .object({
    sessionId: SessionId,
    /** The unit (commune) the widget is embedded for; the server's default when absent. */
    unit: z.string().min(1).max(64).optional(),
    /** What the citizen typed; the engine itself cuts long text and answers empty text. */
    text: z.string().max(20_000, 'tin nhắn quá dài').optional(),
    /** A tapped button's payload. */
    payload: z.string().min(1).max(200).optional(),
  })
  .refine((b) => b.text !== undefined || b.payload !== undefined, {
    message: 'cần "text" hoặc "payload"',
    path: ['text'],
  });
export type ChatRequest = z.infer<typeof ChatRequest>;
