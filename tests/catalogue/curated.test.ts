// Checks the curated layer (procedures/curated/*.yaml) against its schema and against the
// portal records it overrides: a curated time or fee must be traceable to the record's own text,
// so the layer can fix what the crawl lost (units, misleading "Miễn phí") but never invent figures.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { CuratedFile, type CuratedEntry, type TimeUnit } from '../../src/catalogue/schema.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CURATED_DIR = join(ROOT, 'procedures', 'curated');
const PORTAL_RECORDS = '/work/shared/data/dvc-portal-records.jsonl.gz';

/** Only the portal fields the checks need; the rest of each line is ignored. */
const PortalLine = z.object({
  ma_thu_tuc: z.string(),
  ten_thu_tuc: z.string(),
  trinh_tu_thuc_hien: z.string().default(''),
  cach_thuc_thuc_hien: z.string().default(''),
});
type PortalLine = z.infer<typeof PortalLine>;

function loadPortal(): Map<string, PortalLine> {
  const text = gunzipSync(readFileSync(PORTAL_RECORDS)).toString('utf8');
  const byCode = new Map<string, PortalLine>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const rec = PortalLine.parse(JSON.parse(line));
    byCode.set(rec.ma_thu_tuc, {
      ma_thu_tuc: rec.ma_thu_tuc,
      ten_thu_tuc: rec.ten_thu_tuc.normalize('NFC'),
      trinh_tu_thuc_hien: rec.trinh_tu_thuc_hien.normalize('NFC'),
      cach_thuc_thuc_hien: rec.cach_thuc_thuc_hien.normalize('NFC'),
    });
  }
  return byCode;
}

type LoadedFile = { name: string; raw: string; entries: CuratedEntry[] };

function loadCurated(): LoadedFile[] {
  return readdirSync(CURATED_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((name) => {
      const raw = readFileSync(join(CURATED_DIR, name), 'utf8');
      const parsed = CuratedFile.safeParse(parse(raw));
      if (!parsed.success) throw new Error(`${name}: ${parsed.error.message}`);
      return { name, raw, entries: parsed.data.procedures };
    });
}

/** Folded comparison key: lower case, marks stripped, đ→d, spaces collapsed. */
function fold(s: string): string {
  return s
    .normalize('NFC')
    .toLowerCase()
    .replace(/đ/g, 'd')
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** How each unit is written in portal text. */
const UNIT_WORDS: Record<Exclude<TimeUnit, 'unknown'>, string> = {
  working_day: 'ngày làm việc',
  day: 'ngày',
  working_hour: 'giờ làm việc',
  hour: 'giờ',
  minute: 'phút',
  month: 'tháng',
  year: 'năm',
};

/** The number as a token, allowing the portal's leading zeros ("03") but not "13" or "1.5". */
function numberPattern(value: number): string {
  return `(?<![\\d.,/])0*${String(value).replace('.', '[.,]')}(?![\\d/]|[.,]\\d)`;
}

/**
 * The "checked against the source" rule: the value is written with its unit in the steps or the
 * channel table ("trong 03 ngày làm việc", "15 Ngày làm việc"), or the table gives the bare
 * number and the steps text carries the unit (the crawl dropped it from the table cell).
 */
function timeTraceable(value: number, unit: Exclude<TimeUnit, 'unknown'>, rec: PortalLine): boolean {
  const steps = rec.trinh_tu_thuc_hien.toLowerCase();
  const table = rec.cach_thuc_thuc_hien.toLowerCase();
  const word = UNIT_WORDS[unit];
  const withUnit = new RegExp(`${numberPattern(value)}\\s*(?:\\(\\p{L}+\\)\\s*)?${word}`, 'u');
  if (withUnit.test(steps) || withUnit.test(table)) return true;
  return new RegExp(numberPattern(value), 'u').test(table) && steps.includes(word);
}

/** "1.500.000", "1,500,000" and "1500000" all denote the same amount. */
function amountAppears(amount: number, text: string): boolean {
  const digitsOnly = text.replace(/(\d)[.,](?=\d{3}\b)/g, '$1');
  return new RegExp(`(?<!\\d)${amount}(?!\\d)`).test(digitsOnly);
}

const files = loadCurated();
const portal = loadPortal();
const entries = files.flatMap((f) => f.entries.map((e) => ({ file: f.name, entry: e })));

describe('curated catalogue layer', () => {
  it('has the expected files, each parsing with CuratedFile and non-empty', () => {
    const names = files.map((f) => f.name);
    for (const expected of ['ho-tich.yaml', 'chung-thuc.yaml', 'cu-tru.yaml', 'can-cuoc.yaml', 'dat-dai.yaml', 'ho-kinh-doanh.yaml', 'bao-tro-xa-hoi.yaml']) {
      expect(names).toContain(expected);
    }
    for (const f of files) expect(f.entries.length, f.name).toBeGreaterThan(0);
    expect(entries.length).toBeGreaterThanOrEqual(100);
  });

  it('stores every file in Unicode NFC', () => {
    for (const f of files) expect(f.raw === f.raw.normalize('NFC'), f.name).toBe(true);
  });

  it('curates each code once', () => {
    const seen = new Map<string, string>();
    for (const { file, entry } of entries) {
      expect(seen.get(entry.code), `${entry.code} in ${file} and ${seen.get(entry.code) ?? ''}`).toBeUndefined();
      seen.set(entry.code, file);
    }
  });

  it('refers only to codes in the national data, or carries a whole record', () => {
    for (const { file, entry } of entries) {
      if (entry.record) continue;
      expect(portal.has(entry.code), `${file}: ${entry.code} is not in the portal data`).toBe(true);
    }
  });

  it('gives a full curated record only for procedures the crawl lacks, under the same code', () => {
    const withRecord = entries.filter(({ entry }) => entry.record);
    expect(withRecord.map(({ entry }) => entry.code).sort()).toEqual(['1.001731', '1.001776']);
    for (const { entry } of withRecord) {
      const rec = entry.record;
      if (!rec) continue;
      expect(portal.has(entry.code), `${entry.code} is in the crawl; curate it instead`).toBe(false);
      expect(rec.code).toBe(entry.code);
      expect(rec.origin).toBe('curated');
      expect(rec.detail).toBe('full');
      expect(rec.levels).toContain('Cấp xã');
      expect(rec.communeCore).toBe(true);
      expect(rec.field).toBe('Bảo trợ xã hội');
      expect(rec.legalBasis.map((l) => l.number)).toEqual(expect.arrayContaining(['20/2021/NĐ-CP', '76/2024/NĐ-CP']));
      // Unverified figures stay unstated (see the entry's `checked` note).
      expect(entry.checked ?? '').not.toBe('');
    }
  });

  it('writes a plain summary and 1–10 aliases per entry', () => {
    for (const { file, entry } of entries) {
      const where = `${file}: ${entry.code}`;
      expect(entry.summary.length, where).toBeGreaterThan(30);
      expect(entry.summary.length, where).toBeLessThan(400);
      expect(entry.aliases.length, where).toBeGreaterThanOrEqual(1);
      expect(entry.aliases.length, where).toBeLessThanOrEqual(10);
      for (const alias of entry.aliases) {
        expect(alias.trim(), where).toBe(alias);
        expect(alias, where).toMatch(/\p{L}/u);
      }
    }
  });

  it('never gives the same alias (folded) to two different procedures', () => {
    // No exceptions are documented: a phrase that fits two procedures belongs to neither.
    const owner = new Map<string, string>();
    const clashes: string[] = [];
    for (const { entry } of entries) {
      for (const alias of entry.aliases) {
        const key = fold(alias);
        const prev = owner.get(key);
        if (prev !== undefined && prev !== entry.code) clashes.push(`"${alias}": ${prev} / ${entry.code}`);
        owner.set(key, entry.code);
      }
    }
    expect(clashes).toEqual([]);
  });

  it('does not give a variant alias to the general procedure', () => {
    // "nước ngoài", "lại", "lưu động" name a variant; the general procedures must not claim them.
    const general = ['1.001193', '1.000894', '1.000656', '1.001022', '1.004837'];
    for (const { entry } of entries) {
      if (!general.includes(entry.code)) continue;
      for (const alias of entry.aliases) {
        expect(fold(alias), `${entry.code}: "${alias}"`).not.toMatch(/nuoc ngoai|\blai\b|luu dong|bien gioi/);
      }
    }
  });

  it('shows curated time limits only with a unit, each traceable to the record text', () => {
    let checkedTimes = 0;
    for (const { file, entry } of entries) {
      for (const ch of entry.channels ?? []) {
        const t = ch.time;
        const where = `${file}: ${entry.code} ${ch.label}`;
        if (t.unit === 'unknown') {
          // Allowed only as an explicit "not stated": no number, no text, nothing a renderer could show.
          expect({ value: t.value, text: t.text, unitFrom: t.unitFrom }, where).toEqual({ value: null, text: null, unitFrom: 'none' });
          continue;
        }
        expect(t.value, where).not.toBeNull();
        expect(t.text ?? '', where).not.toBe('');
        expect(t.unitFrom, where).not.toBe('none');
        if (entry.record || t.value === null) continue; // Curated records have no portal text.
        const rec = portal.get(entry.code);
        if (!rec) throw new Error(`${where}: no portal record`);
        expect(timeTraceable(t.value, t.unit, rec), `${where}: ${t.value} ${t.unit} not found in steps/table`).toBe(true);
        checkedTimes += 1;
      }
    }
    expect(checkedTimes).toBeGreaterThan(0);
  });

  it('states only fees the record states', () => {
    for (const { file, entry } of entries) {
      for (const ch of entry.channels ?? []) {
        const f = ch.fee;
        const where = `${file}: ${entry.code} ${ch.label}`;
        if (!f.stated) {
          expect({ free: f.free, setByProvince: f.setByProvince, amountVnd: f.amountVnd, text: f.text }, where).toEqual({
            free: false,
            setByProvince: false,
            amountVnd: null,
            text: null,
          });
          continue;
        }
        expect(f.text ?? '', where).not.toBe('');
        if (f.free) expect(f.amountVnd, where).toBeNull();
        if (f.setByProvince) expect(f.amountVnd, where).toBeNull();
        if (entry.record) continue;
        const rec = portal.get(entry.code);
        if (!rec) throw new Error(`${where}: no portal record`);
        const source = `${rec.cach_thuc_thuc_hien}\n${rec.trinh_tu_thuc_hien}`;
        if (f.amountVnd !== null) {
          expect(amountAppears(f.amountVnd, source), `${where}: ${f.amountVnd} not in the record`).toBe(true);
        }
        if (f.setByProvince) expect(source, where).toMatch(/Hội đồng nhân dân/);
        if (f.free) expect(source, where).toMatch(/Miễn phí|Miễn lệ phí/);
      }
    }
  });

  it('says in `checked` what every channel override was checked against', () => {
    for (const { file, entry } of entries) {
      if (entry.channels) expect(entry.checked ?? '', `${file}: ${entry.code}`).toMatch(/time|fee/);
    }
  });
});

describe('the source-check helpers', () => {
  const rec: PortalLine = {
    ma_thu_tuc: '9.999999',
    ten_thu_tuc: 'x',
    trinh_tu_thuc_hien: 'Trong thời hạn 03 ngày làm việc kể từ ngày nhận hồ sơ.',
    cach_thuc_thuc_hien: 'Hình thức nộpThời gianPhí, lệ phíMô tảTrực tuyến1Miễn phíTrực tiếp13 Ngày150,000 Việt Nam Đồng',
  };
  it('accepts a value written with its unit, or a bare table number whose unit the steps give', () => {
    expect(timeTraceable(3, 'working_day', rec)).toBe(true);
    expect(timeTraceable(13, 'day', rec)).toBe(true);
    expect(timeTraceable(1, 'working_day', rec)).toBe(true);
  });
  it('rejects values or units the record does not carry', () => {
    expect(timeTraceable(5, 'working_day', rec)).toBe(false);
    expect(timeTraceable(3, 'month', rec)).toBe(false);
    expect(timeTraceable(1, 'month', rec)).toBe(false);
  });
  it('finds amounts however the thousands are separated', () => {
    expect(amountAppears(150000, rec.cach_thuc_thuc_hien)).toBe(true);
    expect(amountAppears(150000, 'lệ phí 150.000 đồng')).toBe(true);
    expect(amountAppears(15000, rec.cach_thuc_thuc_hien)).toBe(false);
  });
});
