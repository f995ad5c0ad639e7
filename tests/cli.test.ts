// The `motcua` command as a person or a script runs it: a real process, real catalogue.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const BIN = path.resolve(import.meta.dirname, '../bin/motcua.js');

function run(args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: path.resolve(import.meta.dirname, '..'), env: { ...process.env, LOG_LEVEL: 'silent' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const Line = z.object({
  query: z.string(),
  outcome: z.enum(['answer', 'choices', 'none']),
  results: z.array(z.object({ code: z.string().regex(/^\d+\.\d+$/), name: z.string().min(1), score: z.number().min(0).max(1) })).max(3),
});

describe('motcua search --json', () => {
  it('writes one JSON object per input line, in order, in the documented shape', async () => {
    const questions = ['cho em hỏi làm giấy khai sinh cần gì ạ', 'dk ket hon', '', 'giá vàng hôm nay', 'xin giay xac nhan doc than'];
    const { code, stdout } = await run(['search', '--top', '3', '--json'], `${questions.join('\n')}\n`);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n').map((l) => Line.parse(JSON.parse(l)));
    expect(lines.map((l) => l.query)).toEqual(questions);
    expect(lines[0]?.results[0]?.code).toBe('1.001193');
    expect(lines[1]?.results[0]?.code).toBe('1.000894');
    expect(lines[2]?.outcome).toBe('none');
    expect(lines[3]?.outcome).not.toBe('answer');
    expect(lines[4]?.results[0]?.code).toBe('1.004873');
  }, 60_000);

  it('prints a readable answer for a person', async () => {
    const { code, stdout } = await run(['search', 'đăng ký khai tử']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/khai tử/i);
    expect(stdout).toMatch(/1\.000656/);
  }, 60_000);
});

describe('motcua import', () => {
  it('refuses a malformed portal file naming the line and leaves the catalogue as it was', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'motcua-cli-import-'));
    fs.writeFileSync(path.join(out, 'keep.json'), '{"field":"x","procedures":[]}');
    const bad = path.resolve(import.meta.dirname, 'fixtures/portal/broken-json.jsonl');
    const { code, stderr } = await run(['import', 'portal', bad, '--out', out]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/broken-json\.jsonl/);
    expect(stderr).toMatch(/line|dòng/i);
    expect(fs.readdirSync(out)).toEqual(['keep.json']);
  }, 60_000);
});

describe('motcua', () => {
  it('explains its usage on an unknown command', async () => {
    const { code, stderr } = await run(['frobnicate']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/Usage/);
  });

  it('names a bad setting and stops', async () => {
    const child = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [BIN, 'search', 'khai sinh'], { env: { ...process.env, MAX_QUESTION_LENGTH: 'nhiều' } });
      let stderr = '';
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      p.on('close', (code) => resolve({ code, stderr }));
    });
    expect(child.code).toBe(1);
    expect(child.stderr).toMatch(/MAX_QUESTION_LENGTH/);
  });
});

describe('motcua unit / account', () => {
  it('adds a commune and connects a Page to it, reading the token from stdin', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'motcua-cli-acct-'));
    const env = { DATA_DIR: dataDir };
    const runEnv = (args: string[], input = '') =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, ...args], { cwd: path.resolve(import.meta.dirname, '..'), env: { ...process.env, ...env } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
        child.stdin.end(input);
      });
    expect((await runEnv(['unit', 'add', '--id', 'xa-tan-phu', '--name', 'UBND xã Tân Phú', '--phone', '0251 000'])).code).toBe(0);
    const bad = await runEnv(['unit', 'add', '--id', 'Xã Có Dấu', '--name', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--id/);
    const add = await runEnv(['account', 'add', '--unit', 'xa-tan-phu', '--platform', 'messenger', '--external-id', '106000000000001', '--page-token', '-'], 'EAAG-secret-token\n');
    expect(add.code, add.stderr).toBe(0);
    const list = await runEnv(['account', 'list', '--unit', 'xa-tan-phu']);
    expect(list.stdout).toContain('messenger\t106000000000001\tactive');
    expect(list.stdout).not.toContain('EAAG');
    expect((await runEnv(['account', 'add', '--unit', 'khong-co', '--platform', 'zalo', '--external-id', '1'])).code).toBe(1);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 90_000);
});

describe('motcua user / token', () => {
  it('creates a staff account with a one-time password and an API token for it', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'motcua-cli-user-'));
    const runEnv = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, ...args], { cwd: path.resolve(import.meta.dirname, '..'), env: { ...process.env, DATA_DIR: dataDir } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
        child.stdin.end();
      });
    const add = await runEnv(['user', 'add', 'canbo1', '--role', 'officer', '--unit', 'xa-mau']);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/Mật khẩu dùng một lần: \S{16,}/);
    expect((await runEnv(['user', 'add', 'canbo1', '--role', 'officer'])).code).toBe(1);
    expect((await runEnv(['user', 'add', 'x', '--role', 'chief'])).code).toBe(2);
    const token = await runEnv(['token', 'add', 'canbo1', '--name', 'báo cáo tự động']);
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout.trim()).toMatch(/^mct_\S{20,}$/);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);
});
