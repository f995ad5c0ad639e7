// Checks the catalogue shipped in procedures/national/ (generated from the real crawl with
// importPortal, then importXlsx for every workbook in shared/data/dvc-lists/).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NationalFile, LIST_ONLY_FILE } from '../../src/catalogue/national-file.js';
import { formatTime } from '../../src/catalogue/format.js';

const DIR = join(import.meta.dirname, '..', '..', 'procedures', 'national');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
const parsed = files.map((f) => ({ f, data: NationalFile.parse(JSON.parse(readFileSync(join(DIR, f), 'utf8'))) }));
const procedures = parsed.flatMap((x) => x.data.procedures);

/** Codes whose crawl record carries another procedure's page (see detect-content-mismatch.ts). */
const CONTENT_MISMATCH = [
  '1.002544', '1.014208', '2.001428', '2.001709', '3.000224', '3.000226', '3.000243', '3.000244', '3.000246',
  '3.000272', '3.000274', '3.000283', '3.000284', '3.000285', '3.000286', '3.000331', '3.000332',
];

/**
 * Reviewed pairs whose steps and documents are identical on the portal, legitimately: the same
 * decision publishes one dossier and one procedure for sibling procedures whose names differ.
 * - 1.003870 / 1.003880: renewing or amending a licence in an irrigation-work protection zone,
 *   for aquaculture and blasting vs for tourism, sport, research and business (1750/QĐ-BNNMT,
 *   cấp tỉnh);
 * - 1.014853 / 1.014863: the same two, delegated to the commune chairman (cấp xã);
 * - 2.002338 / 2.002339: certifying and re-certifying a fragrant rice variety for duty-free
 *   quota (1674/QĐ-BNNMT), same steps and no documents table.
 * A new group here means a record may show another procedure's content: check it first.
 */
const SAME_CONTENT_REVIEWED = ['1.003870 1.003880', '1.014853 1.014863', '2.002338 2.002339'];

/**
 * Reviewed legal-basis titles that open with "ngày", "số ", a bracket or a dash, or are shorter
 * than 8 characters: the portal's own cells, not a wrong split.
 * - 1.001963 "7": the table reads "Quyết định 92/2000/QĐ-NHNN792/2000/QĐ-NHNN7"; the issuer is
 *   "NHNN7" (a department of the State Bank), which cannot be told from "NHNN" + "792/2000"
 *   without knowing the code, so the last "7" is left as a row without a number.
 * A new entry here means the splitter cut a title in two: check parse-legal-basis.ts first.
 */
const SHORT_OR_CUT_TITLES_REVIEWED = ['1.001963 7'];

describe('shipped national catalogue', () => {
  it('holds the 2,642 portal codes: 2,625 with full detail, 17 list-only, codes unique', () => {
    const full = parsed.filter((x) => x.f !== LIST_ONLY_FILE).flatMap((x) => x.data.procedures);
    expect(full).toHaveLength(2625);
    expect(full.every((p) => p.detail === 'full' && p.origin === 'portal')).toBe(true);
    expect(procedures).toHaveLength(2642);
    expect(new Set(procedures.map((p) => p.code)).size).toBe(procedures.length);
  });

  it('ships the 17 codes whose crawl record held another page as list-only, named from the workbooks', () => {
    const list = procedures.filter((p) => p.detail === 'list');
    expect(list.map((p) => p.code)).toEqual(CONTENT_MISMATCH);
    for (const p of list) {
      expect([p.steps, p.channels, p.documents, p.legalBasis], p.code).toEqual([[], [], [], []]);
      expect(p.sourceUrl, p.code).toBeNull();
      // The crawl's names for these codes belong to the foreign pages.
      expect(p.name, p.code).not.toMatch(/Hỗ trợ phát triển sản xuất cộng đồng|Công bố Danh mục/);
    }
    expect(list.find((p) => p.code === '3.000285')?.name).toBe('Khóa căn cước điện tử (thực hiện tại cấp xã)');
    expect(procedures.some((p) => p.detail === 'full' && /Hỗ trợ phát triển sản xuất cộng đồng/.test(p.name))).toBe(false);
  });

  it('gives no two full records with different codes the same steps and documents, unless reviewed', () => {
    const byContent = new Map<string, string[]>();
    for (const p of procedures) {
      if (p.detail !== 'full' || p.steps.length + p.documents.length === 0) continue;
      const key = JSON.stringify([p.steps, p.documents.map((d) => [d.name, d.quantity, d.group])]);
      byContent.set(key, [...(byContent.get(key) ?? []), p.code]);
    }
    const groups = [...byContent.values()].filter((codes) => codes.length > 1).map((codes) => codes.sort().join(' '));
    expect(groups.sort()).toEqual(SAME_CONTENT_REVIEWED);
  });

  it('marks the commune-core codes, less those judged on another page, plus workbook commune agencies', () => {
    // 277 listed; the 17 mismatched codes are all on that list (it was built from the foreign
    // pages' fields), so they are not marked on its word. The BoCongAn workbook names "Công an
    // cấp Xã" for six of them, which marks those again.
    expect(procedures.filter((p) => p.communeCore)).toHaveLength(266);
    expect(procedures.filter((p) => p.communeCore && p.detail === 'list').map((p) => p.code)).toEqual([
      '3.000243',
      '3.000244',
      '3.000283',
      '3.000284',
      '3.000285',
      '3.000286',
    ]);
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

  it('cuts no legal-basis title in two (no title opening with "ngày", "số ", a bracket or a dash, none under 8 characters)', () => {
    const full = procedures.filter((p) => p.detail === 'full');
    const rows = full.flatMap((p) => p.legalBasis.map((l) => ({ code: p.code, ...l })));
    // 10,683 rows since the dynamic-programming splitter (10,983 before, 220 of them cut this way).
    expect(rows.length).toBeGreaterThan(10_000);
    const cut = rows.filter((r) => /^(?:ngày|số |\(|\)|-)/iu.test(r.title) || r.title.length < 8).map((r) => `${r.code} ${r.title}`);
    expect(cut).toEqual(SHORT_OR_CUT_TITLES_REVIEWED);
    // A title cut just after "số" or a kind word has lost its number to the next row.
    // ("xổ số", "công nghệ số" end real titles.)
    const dangling = rows.filter((r) => /(?<!xổ|nghệ)\s(?:số|Thông tư|Nghị định)$/u.test(r.title)).map((r) => `${r.code} ${r.title}`);
    expect(dangling).toEqual([]);
    // Rows without a number: the portal's cell is a date, a year or a repeated title (19 rows).
    expect(rows.filter((r) => r.number === null).length).toBeLessThanOrEqual(19);
  });

  it('gives every document a name with letters', () => {
    for (const p of procedures) for (const d of p.documents) expect(d.name, p.code).toMatch(/\p{L}/u);
  });

  it('is NFC throughout and has no raw page text', () => {
    for (const f of files) {
      const text = readFileSync(join(DIR, f), 'utf8');
      expect(text === text.normalize('NFC'), f).toBe(true);
      expect(text.includes('"raw_text"'), f).toBe(false);
    }
  });
});
