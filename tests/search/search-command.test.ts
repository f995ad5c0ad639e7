import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildSearchIndex } from '../../src/search/index.js';
import { runSearchCommand } from '../../src/search/search-command.js';
import { smallCatalogue } from './make-procedure.js';

const procedures = smallCatalogue();
const searcher = buildSearchIndex(procedures);
const catalogue = { byCode: (code: string) => procedures.find((p) => p.code === code) };

const Line = z
  .object({
    query: z.string(),
    outcome: z.enum(['answer', 'choices', 'none']),
    results: z.array(z.object({ code: z.string(), name: z.string(), score: z.number().min(0).max(1) }).strict()),
  })
  .strict();

async function run(args: { query?: string; top: number; json: boolean }, input = ''): Promise<string> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  stdin.end(input);
  await runSearchCommand(args, { stdin, stdout }, searcher, catalogue);
  return Buffer.concat(chunks).toString('utf8');
}

describe('motcua search --json', () => {
  it('writes one JSON object per input line, in order, including empty lines', async () => {
    const questions = ['đăng ký khai sinh', '', 'dang ky ket hon', 'giá vàng hôm nay', '   ', 'khai báo tạm trú'];
    const out = await run({ top: 3, json: true }, questions.join('\n') + '\n');
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(questions.length);
    const parsed = lines.map((l) => Line.parse(JSON.parse(l)));
    expect(parsed.map((p) => p.query)).toEqual(questions);
    expect(parsed[0]?.results[0]?.code).toBe('1.001193');
    expect(parsed[1]?.outcome).toBe('none');
    expect(parsed[1]?.results).toEqual([]);
    expect(parsed[2]?.results[0]?.code).toBe('1.000894');
    expect(parsed[3]?.outcome).not.toBe('answer');
    expect(parsed[5]?.results[0]?.code).toBe('1.004194');
  });
  it('keeps the last line without a trailing newline and CRLF input', async () => {
    const out = await run({ top: 2, json: true }, 'đăng ký khai tử\r\nđăng ký kết hôn');
    const parsed = out.trimEnd().split('\n').map((l) => Line.parse(JSON.parse(l)));
    expect(parsed.map((p) => p.query)).toEqual(['đăng ký khai tử', 'đăng ký kết hôn']);
    expect(parsed.every((p) => p.results.length <= 2)).toBe(true);
  });
  it('rounds scores to at most three decimals', async () => {
    const out = await run({ top: 3, json: true }, 'đăng ký khai sinh\n');
    const parsed = Line.parse(JSON.parse(out.trim()));
    for (const r of parsed.results) expect(Math.round(r.score * 1000) / 1000).toBe(r.score);
  });
});

describe('motcua search "câu hỏi"', () => {
  it('prints a readable Vietnamese answer with name, code and field', async () => {
    const out = await run({ query: 'Thủ tục đăng ký khai tử', top: 3, json: false });
    expect(out).toContain('Thủ tục đăng ký khai tử');
    expect(out).toContain('1.000656');
    expect(out).toContain('Lĩnh vực: Hộ tịch');
  });
  it('says so when nothing matches', async () => {
    const out = await run({ query: '😀', top: 3, json: false });
    expect(out).toContain('Không tìm thấy thủ tục');
  });
});
