// QR codes for the printable posters: an m.me link, a Zalo OA link or the widget's address drawn
// as inline SVG with the `qrcode` package. The markup is the library's own: the encoded text
// becomes module geometry, never characters in the markup, so the SVG can be inlined as trusted
// HTML (raw()) on a page whose policy forbids scripts and outside images.
import QRCode from 'qrcode';

/** Level M restores ~15% of a damaged or dirty print; margin 2 modules, the frame does the rest. */
export const QR_ERROR_CORRECTION = 'M';
export const QR_MARGIN = 2;

/** Longest text a QR here may carry: links are short; a long one would print too dense to scan. */
export const QR_MAX_TEXT = 512;

/** The QR code of `text` as an `<svg …>…</svg>` element (no XML prolog, no trailing newline). */
export async function qrSvg(text: string): Promise<string> {
  if (text.length === 0 || text.length > QR_MAX_TEXT) throw new RangeError(`QR text must be 1–${QR_MAX_TEXT} characters`);
  const svg = (await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: QR_ERROR_CORRECTION, margin: QR_MARGIN })).trim();
  // Belt and braces: what is inlined as trusted markup must be one svg element and nothing else.
  if (!svg.startsWith('<svg ') || !svg.endsWith('</svg>') || /<script|on\w+=/i.test(svg)) throw new Error('unexpected QR markup');
  // A label for screen readers; a constant, so nothing outside is ever spliced into the markup.
  return svg.replace('<svg ', '<svg role="img" aria-label="Mã QR" ');
}
