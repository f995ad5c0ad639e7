// Cleaning and classifying what a citizen typed before anything else looks at it, and masking
// digits (phone numbers, ID numbers) before text is stored anywhere.

/** A question is not an essay: longer messages are cut here (and the citizen is told). */
export const MAX_INPUT_CHARS = 500;

export type InputClass =
  | { kind: 'empty' }
  | { kind: 'no-letters' }
  | { kind: 'foreign-script' }
  | { kind: 'text'; text: string; truncated: boolean };

/** Every run of digits becomes '#': "0912 345 678" → "# # #". Applied before logging or hand-off. */
export function maskDigits(text: string): string {
  return text.replace(/\p{Nd}+/gu, '#');
}

export function classifyInput(raw: string, maxChars = MAX_INPUT_CHARS): InputClass {
  // Control and zero-width characters only hide content; NFC so marks compare equal.
  const cleaned = raw
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Cf}]+/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
  if (cleaned.length === 0) return { kind: 'empty' };
  const chars = Array.from(cleaned);
  const truncated = chars.length > maxChars;
  const text = truncated ? chars.slice(0, maxChars).join('').trim() : cleaned;
  const hasLetter = /\p{L}/u.test(text);
  if (!hasLetter && !/\p{N}/u.test(text)) return { kind: 'no-letters' };
  // Letters but none Latin (Chinese, Cyrillic, Thai…): the bot only reads Vietnamese.
  if (hasLetter && !/\p{Script=Latin}/u.test(text) && !/\p{N}/u.test(text)) return { kind: 'foreign-script' };
  return { kind: 'text', text, truncated };
}

/** "2", "số 2", "#2", "2." → 2 when the message is nothing but a choice number. */
export function choiceNumber(text: string): number | null {
  const m = /^(?:số|so|#)?\s*([1-9])\s*[.)]?$/iu.exec(text.trim());
  return m?.[1] ? Number(m[1]) : null;
}
