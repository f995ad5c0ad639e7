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

/** The A4 poster sheet with its QR codes (catalogue and survey posters): screen toolbar, print layout. */
export const POSTER_CSS = `@page{size:A4 portrait;margin:12mm}
*{box-sizing:border-box}
body{font-family:system-ui,"Segoe UI",Roboto,Arial,sans-serif;margin:0;color:#111;background:#e9ecef}
.toolbar{background:#a4161a;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;flex-wrap:wrap;align-items:center}
.toolbar a{color:#fff}.toolbar .warn{background:#fff3cd;color:#5c3c00;padding:.2rem .5rem;border-radius:4px}
.sheet{background:#fff;width:210mm;min-height:297mm;margin:1rem auto;padding:14mm 12mm;display:flex;flex-direction:column;gap:6mm}
.unit{margin:0;font-size:15pt;font-weight:700;text-transform:uppercase;color:#a4161a;text-align:center}
h1{margin:0;font-size:24pt;line-height:1.2;text-align:center}
.summary{margin:0;font-size:13pt;text-align:center}
.dossier{margin:0;font-size:15pt;text-align:center;font-weight:700}
.lead{margin:0;font-size:12pt;text-align:center;font-weight:600}
.codes{display:flex;flex-wrap:wrap;gap:8mm;justify-content:center;align-items:flex-start}
.qr{margin:0;width:56mm;text-align:center;break-inside:avoid;page-break-inside:avoid}
.qr svg{width:52mm;height:52mm;display:block;margin:0 auto}
.codes.few .qr{width:80mm}.codes.few .qr svg{width:72mm;height:72mm}
.codes.many .qr{width:50mm}.codes.many .qr svg{width:44mm;height:44mm}
.qr .channel{font-size:14pt;font-weight:700;margin:1mm 0 0}
.qr .account{font-size:10pt;margin:0}
.qr .how{font-size:10.5pt;margin:1.5mm 0 0}
.qr .say{font-size:14pt;font-weight:700;margin:1mm 0 0;border:1.5px solid #111;border-radius:3mm;padding:1mm 2mm;overflow-wrap:anywhere}
.qr .url{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:7pt;word-break:break-all;margin:1.5mm 0 0;color:#333}
.footer{margin-top:auto;font-size:10pt;text-align:center;color:#333}
@media print{body{background:#fff}.toolbar{display:none}.sheet{margin:0;width:auto;min-height:auto;padding:0;height:270mm}}
`;
