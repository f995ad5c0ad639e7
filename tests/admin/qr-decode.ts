// A small QR decoder for the tests: reads the SVG the `qrcode` package draws back into a module
// grid, then decodes it the way a phone does (format bits → mask → zigzag codewords →
// de-interleave the blocks → segments), independently of the encoder's code. Error-correction
// level M only, no error repair: a clean print is all the tests need.

/** Dark modules of the SVG's path, as rows of booleans (the quiet zone removed). */
export function svgToGrid(svg: string, margin = 2): boolean[][] {
  const view = /viewBox="0 0 (\d+) (\d+)"/.exec(svg);
  if (!view?.[1]) throw new Error('no viewBox');
  const size = Number(view[1]) - 2 * margin;
  const grid = Array.from({ length: size }, () => Array<boolean>(size).fill(false));
  const d = /<path[^>]*stroke="#000000"[^>]*\sd="([^"]+)"/.exec(svg)?.[1];
  if (!d) throw new Error('no dark path');
  let x = 0;
  let y = 0;
  for (const m of d.matchAll(/([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?/g)) {
    const [, cmd, a, b] = m;
    if (cmd === 'M') {
      x = Number(a) - margin;
      y = Number(b) - 0.5 - margin;
    } else if (cmd === 'm') {
      x += Number(a);
    } else {
      const len = Number(a);
      for (let i = 0; i < len; i++) {
        const row = grid[y];
        if (!row || x + i >= size) throw new Error('path outside the grid');
        row[x + i] = true;
      }
      x += len;
    }
  }
  return grid;
}

const ECC_M_PER_BLOCK = [-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28];
const BLOCKS_M = [-1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49];

const MASKS: ((x: number, y: number) => boolean)[] = [
  (x, y) => (x + y) % 2 === 0,
  (_x, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

function formatBits(mask: number): number {
  const data = (0 << 3) | mask; // level M is 00
  let rem = data;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  return ((data << 10) | rem) ^ 0x5412;
}

function alignmentPositions(version: number, size: number): number[] {
  if (version === 1) return [];
  const n = Math.floor(version / 7) + 2;
  const step = version === 32 ? 26 : Math.ceil((version * 4 + 4) / (n * 2 - 2)) * 2;
  const out = [6];
  for (let pos = size - 7; out.length < n; pos -= step) out.splice(1, 0, pos);
  return out;
}

function rawDataModules(version: number): number {
  let result = (16 * version + 128) * version + 64;
  if (version >= 2) {
    const n = Math.floor(version / 7) + 2;
    result -= (25 * n - 10) * n - 55;
    if (version >= 7) result -= 36;
  }
  return result;
}

/** The text a QR grid (level M) carries. */
export function decodeGrid(grid: boolean[][]): string {
  const size = grid.length;
  const version = (size - 17) / 4;
  if (!Number.isInteger(version) || version < 1 || version > 40) throw new Error(`bad size ${size}`);
  const at = (x: number, y: number): boolean => grid[y]?.[x] ?? false;

  // Format information, first copy (x = column, y = row).
  const fmtPos: [number, number][] = [];
  for (let i = 0; i <= 5; i++) fmtPos.push([8, i]);
  fmtPos.push([8, 7], [8, 8], [7, 8]);
  for (let i = 9; i < 15; i++) fmtPos.push([14 - i, 8]);
  let read = 0;
  fmtPos.forEach(([x, y], i) => {
    if (at(x, y)) read |= 1 << i;
  });
  const mask = [0, 1, 2, 3, 4, 5, 6, 7].find((m) => formatBits(m) === read);
  if (mask === undefined) throw new Error('format bits are not level M');

  // Which modules are function patterns (not data).
  const fn = Array.from({ length: size }, () => Array<boolean>(size).fill(false));
  const mark = (x: number, y: number) => {
    if (x >= 0 && y >= 0 && x < size && y < size) (fn[y] as boolean[])[x] = true;
  };
  for (let i = 0; i < size; i++) {
    mark(6, i);
    mark(i, 6);
  }
  for (const [cx, cy] of [
    [3, 3],
    [size - 4, 3],
    [3, size - 4],
  ] as const)
    for (let dy = -4; dy <= 4; dy++) for (let dx = -4; dx <= 4; dx++) mark(cx + dx, cy + dy);
  const align = alignmentPositions(version, size);
  align.forEach((ax, i) =>
    align.forEach((ay, j) => {
      const corner = (i === 0 && j === 0) || (i === 0 && j === align.length - 1) || (i === align.length - 1 && j === 0);
      if (!corner) for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) mark(ax + dx, ay + dy);
    }),
  );
  for (const [x, y] of fmtPos) mark(x, y);
  for (let i = 0; i < 8; i++) mark(size - 1 - i, 8);
  for (let i = 8; i < 15; i++) mark(8, size - 15 + i);
  mark(8, size - 8);
  if (version >= 7)
    for (let i = 0; i < 18; i++) {
      const a = size - 11 + (i % 3);
      const b = Math.floor(i / 3);
      mark(a, b);
      mark(b, a);
    }

  // Zigzag, unmasked.
  const rawCodewords = Math.floor(rawDataModules(version) / 8);
  const bits: number[] = [];
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let vert = 0; vert < size; vert++)
      for (let j = 0; j < 2; j++) {
        const x = right - j;
        const upward = ((right + 1) & 2) === 0;
        const y = upward ? size - 1 - vert : vert;
        if (!fn[y]?.[x] && bits.length < rawCodewords * 8) bits.push((at(x, y) !== (MASKS[mask] as (x: number, y: number) => boolean)(x, y)) ? 1 : 0);
      }
  }
  const codewords: number[] = [];
  for (let i = 0; i < rawCodewords; i++) codewords.push(bits.slice(i * 8, i * 8 + 8).reduce((acc, b) => (acc << 1) | b, 0));

  // De-interleave the blocks and keep their data codewords.
  const numBlocks = BLOCKS_M[version] as number;
  const ecc = ECC_M_PER_BLOCK[version] as number;
  const numShort = numBlocks - (rawCodewords % numBlocks);
  const shortLen = Math.floor(rawCodewords / numBlocks);
  const blocks: number[][] = Array.from({ length: numBlocks }, () => []);
  let k = 0;
  for (let i = 0; i < shortLen + 1; i++)
    for (let j = 0; j < numBlocks; j++) {
      if (i === shortLen - ecc && j < numShort) continue; // short blocks have one data codeword less
      (blocks[j] as number[]).push(codewords[k++] as number);
    }
  const data = blocks.flatMap((b, j) => b.slice(0, shortLen - ecc + (j < numShort ? 0 : 1)));

  // Segments.
  const stream = data.flatMap((byte) => [7, 6, 5, 4, 3, 2, 1, 0].map((s) => (byte >> s) & 1));
  let p = 0;
  const take = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++) v = (v << 1) | (stream[p++] ?? 0);
    return v;
  };
  const bytes: number[] = [];
  const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
  const widths = (small: number, mid: number, large: number) => (version <= 9 ? small : version <= 26 ? mid : large);
  while (p + 4 <= stream.length) {
    const mode = take(4);
    if (mode === 0) break;
    if (mode === 4) {
      const n = take(widths(8, 16, 16));
      for (let i = 0; i < n; i++) bytes.push(take(8));
    } else if (mode === 1) {
      let n = take(widths(10, 12, 14));
      for (; n >= 3; n -= 3) bytes.push(...Buffer.from(String(take(10)).padStart(3, '0')));
      if (n === 2) bytes.push(...Buffer.from(String(take(7)).padStart(2, '0')));
      if (n === 1) bytes.push(...Buffer.from(String(take(4))));
    } else if (mode === 2) {
      let n = take(widths(9, 11, 13));
      for (; n >= 2; n -= 2) {
        const v = take(11);
        bytes.push(...Buffer.from(`${ALNUM[Math.floor(v / 45)]}${ALNUM[v % 45]}`));
      }
      if (n === 1) bytes.push(...Buffer.from(ALNUM[take(6)] ?? ''));
    } else {
      throw new Error(`unsupported mode ${mode}`);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export function decodeSvg(svg: string): string {
  return decodeGrid(svgToGrid(svg));
}
