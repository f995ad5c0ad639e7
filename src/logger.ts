// Structured logs (pino). Personal data never goes in: message texts, platform user ids,
// phone numbers and tokens are redacted by path, and callers log codes and counts, not content.
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'text',
  '*.text',
  'userId',
  '*.userId',
  'sessionId',
  '*.sessionId',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-zevent-signature"]',
  'res.headers["set-cookie"]',
  'token',
  '*.token',
  'password',
  '*.password',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { app: 'motcua' } };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
