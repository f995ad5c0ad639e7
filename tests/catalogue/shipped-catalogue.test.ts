// Checks the catalogue shipped in procedures/national/ (generated from the real crawl).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NationalFile, LIST_ONLY_FILE } from '../../src/catalogue/national-file.js';
import { formatTime } from '../../src/catalogue/format.js';

const DIR = join(import.meta.dirname, '..', '..', 'procedures', 'national');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
const parsed = files.map((f) => ({ f, data: NationalFile.parse(JSON.parse(readFileSync(join(DIR, f), 'utf8'))) }));
const procedures = parsed.flatMap((x) => x.data.procedures);

describe('shipped national catalogue', () => {
  it('holds the 2,642 portal procedures with full detail, codes unique', () => {
    const full = parsed.filter((x) => x.f !== LIST_ONLY_FILE).flatMap((x) => x.data.procedures);
    expect(full).toHaveLength(2642);
    expect(full.every((p) => p.detail === 'full' && p.origin === 'portal')).toBe(true);
    expect(new Set(procedures.map((p) => p.code)).size).toBe(procedures.length);
  });

  it('marks the 277 commune-core codes', () => {
    expect(procedures.filter((p) => p.communeCore)).toHaveLength(277);
  });

  it('never carries a time text without its unit, in any channel', () => {
    for (const p of procedures) {
      for (const c of p.channels) {
        if (c.time.unit === 'unknown') {
          expect(c.time.text, `${p.code} ${c.kind}`).toBeNull();
          expect(formatTime(c.time)).toBeNull();
        } else {
          expect(c.time.text, `${p.code} ${c.kind}`).toMatch(/^\d+(,\d+)? (ngày làm việc|ngày|giờ làm việc|giờ|phút|tháng|năm)$/);
        }
      }
    }
  });

  it('never states a fee text for a fee the source leaves unstated', () => {
    for (const p of procedures) for (const c of p.channels) if (!c.fee.stated) expect(c.fee.text, p.code).toBeNull();
  });

  it('is NFC throughout and has no raw page text', () => {
    for (const f of files) {
      const text = readFileSync(join(DIR, f), 'utf8');
      expect(text === text.normalize('NFC'), f).toBe(true);
      expect(text.includes('"raw_text"'), f).toBe(false);
    }
  });
});
