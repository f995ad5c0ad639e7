import { describe, expect, it } from 'vitest';
import QRCode from 'qrcode';
import { QR_MAX_TEXT, qrSvg } from '../../src/admin/qr.js';
import { decodeSvg, svgToGrid } from './qr-decode.js';

const LINKS = [
  'https://m.me/104857600123456?ref=mc:pick:1.001193',
  'https://zalo.me/4318012345678901234',
  'https://motcua.xa-mau.gov.vn/?unit=xa-mau&ref=mc%3Apick%3A1.000894',
  // Long enough for a version with several blocks of both lengths.
  'https://motcua.example.gov.vn/duong-dan/rat/dai/de/kiem/tra/nhieu/khoi/?unit=phuong-mot-hai-ba&ref=mc%3Apick%3A2.000815&x=' + 'a'.repeat(60),
];

describe('qrSvg', () => {
  it('draws one inline svg element that scripts cannot hide in', async () => {
    const svg = await qrSvg(LINKS[0]!);
    expect(svg.startsWith('<svg ')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(svg).toContain('role="img"');
    expect(svg).not.toContain('<?xml');
    expect(svg).not.toContain('m.me'); // the text is geometry, never markup
  });

  it('is deterministic and differs between links', async () => {
    const [a, b, c] = await Promise.all([qrSvg(LINKS[0]!), qrSvg(LINKS[0]!), qrSvg(LINKS[1]!)]);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it.each(LINKS)('encodes the link so a phone reads it back: %s', async (link) => {
    const svg = await qrSvg(link);
    expect(decodeSvg(svg)).toBe(link);
    // The module grid is the one the library computes for level M, with a 2-module quiet zone.
    const expected = QRCode.create(link, { errorCorrectionLevel: 'M' });
    const grid = svgToGrid(svg);
    expect(grid.length).toBe(expected.modules.size);
    expect(grid.flat().map((d) => (d ? 1 : 0))).toEqual(Array.from(expected.modules.data));
    expect(svg).toContain(`viewBox="0 0 ${expected.modules.size + 4} ${expected.modules.size + 4}"`);
  });

  it('grows with the text: a longer link needs a larger version', async () => {
    const short = svgToGrid(await qrSvg('https://zalo.me/1')).length;
    const long = svgToGrid(await qrSvg(LINKS[3]!)).length;
    expect(short).toBe(25); // version 2 at level M
    expect(long).toBeGreaterThan(short);
  });

  it('refuses empty and over-long texts', async () => {
    await expect(qrSvg('')).rejects.toThrow(RangeError);
    await expect(qrSvg('x'.repeat(QR_MAX_TEXT + 1))).rejects.toThrow(RangeError);
  });
});
