// Lossless JSON parsing for Zalo bodies. Zalo ids are 18–19-digit integers that do not fit a JS
// number: the documented payloads quote them, but a bare one would be silently rounded by
// JSON.parse. So integer literals too large for a double are quoted before parsing, and the
// webhook schemas accept an id as a string or as a safe integer.

/** JSON.parse, except that integer literals beyond Number.MAX_SAFE_INTEGER become strings. */
export function parseZaloJson(raw: Buffer | string): unknown {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  return JSON.parse(quoteUnsafeIntegers(text));
}

/** Rewrites bare integer tokens that would lose precision as JSON strings; strings untouched. */
export function quoteUnsafeIntegers(text: string): string {
  let out = '';
  let i = 0;
  let copiedUpTo = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Skip the whole string literal, honouring escapes.
      i++;
      while (i < text.length) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) {
          i++;
          break;
        } else i++;
      }
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const match = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      const token = match?.[0] ?? text[i] ?? '';
      const isPlainInteger = match !== null && match[1] === undefined && match[2] === undefined;
      if (isPlainInteger && !Number.isSafeInteger(Number(token))) {
        out += `${text.slice(copiedUpTo, i)}"${token}"`;
        copiedUpTo = i + token.length;
      }
      i += Math.max(token.length, 1);
      continue;
    }
    i++;
  }
  return copiedUpTo === 0 ? text : out + text.slice(copiedUpTo);
}
