import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { detectContentMismatch, pageCodeOf } from '../../src/catalogue/detect-content-mismatch.js';
import { PortalRecord } from '../../src/catalogue/portal-record.js';

// Real crawl lines, byte for byte: 3.000285 and 3.000332 (Bộ Công an codes holding a Sơn La
// farming-support page, "Mã thủ tục1.014023"), 2.001428 (a Hà Tĩnh list page, 3.000579), and
// legitimate near-duplicates: 1.003870 / 1.003880 (same steps and documents, different names)
// and 1.013825 / 1.013950 (same name at cấp tỉnh and cấp xã, different text).
const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'portal', 'content-mismatch.jsonl');
const records = readFileSync(FIXTURE, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => PortalRecord.parse(JSON.parse(l)));
const LEGITIMATE = ['1.003870', '1.003880', '1.013825', '1.013950'];

function withoutPage(r: PortalRecord): PortalRecord {
  const { raw_text: _dropped, ...rest } = r;
  return rest;
}

describe('detectContentMismatch on real records', () => {
  it('reads the code the page itself shows', () => {
    const byCode = new Map(records.map((r) => [r.ma_thu_tuc, r]));
    const get = (c: string) => {
      const r = byCode.get(c);
      if (!r) throw new Error(c);
      return r;
    };
    expect(pageCodeOf(get('3.000285'))).toBe('1.014023');
    expect(pageCodeOf(get('2.001428'))).toBe('3.000579');
    expect(pageCodeOf(get('1.003870'))).toBe('1.003870');
    expect(pageCodeOf(withoutPage(get('1.003870')))).toBeNull();
  });

  it('flags the records whose page shows another code, and no legitimate near-duplicate', () => {
    const found = detectContentMismatch(records);
    expect(found.map((m) => m.code)).toEqual(['2.001428', '3.000285', '3.000332']);
    expect(found.find((m) => m.code === '3.000285')).toMatchObject({ pageCode: '1.014023' });
    expect(found.find((m) => m.code === '3.000285')?.reason).toMatch(/1\.014023/);
  });

  it('without the page text, still flags a group with the same name, steps and documents', () => {
    const found = detectContentMismatch(records.map(withoutPage));
    // 2.001428 is alone here (its six twins are not in the fixture): nothing to compare it with.
    expect(found.map((m) => m.code)).toEqual(['3.000285', '3.000332']);
    expect(found[0]?.reason).toMatch(/cannot tell/);
    for (const code of LEGITIMATE) expect(found.map((m) => m.code)).not.toContain(code);
  });

  it('keeps the one member of a group whose field fits its ministry folder', () => {
    // Give 3.000285 a field that Bộ Công an records carry outside the group (2.001428's).
    const edited = records.map(withoutPage).map((r) => (r.ma_thu_tuc === '3.000285' ? { ...r, linh_vuc: 'Người có công' } : r));
    const found = detectContentMismatch(edited);
    expect(found.map((m) => m.code)).toEqual(['3.000332']);
  });

  it('keeps the member whose page shows its own code and flags its twins', () => {
    const twin = records.find((r) => r.ma_thu_tuc === '1.003870');
    if (!twin) throw new Error('fixture');
    // Same page stored under a second code: the page says 1.003870, so 9.000001 is the stray.
    const stray = { ...twin, ma_thu_tuc: '9.000001' };
    const found = detectContentMismatch([...records, stray]);
    expect(found.map((m) => m.code)).toEqual(['2.001428', '3.000285', '3.000332', '9.000001']);
    const strayWithoutPage = withoutPage(stray);
    const again = detectContentMismatch([...records, strayWithoutPage]);
    expect(again.find((m) => m.code === '9.000001')?.reason).toMatch(/the page shows code 1\.003870/);
    expect(again.map((m) => m.code)).not.toContain('1.003870');
  });
});

describe('detectContentMismatch over the whole crawl', () => {
  const CRAWL = '/work/shared/data/dvc-portal-records.jsonl.gz';
  const all = gunzipSync(readFileSync(CRAWL))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => PortalRecord.parse(JSON.parse(l)));
  // Ten codes holding the Sơn La page of 1.014023, seven holding the Hà Tĩnh page of 3.000579.
  const EXPECTED = [
    '1.002544', '1.014208', '2.001428', '2.001709', '3.000224', '3.000226', '3.000243', '3.000244', '3.000246',
    '3.000272', '3.000274', '3.000283', '3.000284', '3.000285', '3.000286', '3.000331', '3.000332',
  ];

  it('flags exactly the 17 records carrying another page, with or without the page text', () => {
    expect(detectContentMismatch(all).map((m) => m.code)).toEqual(EXPECTED);
    expect(detectContentMismatch(all.map(withoutPage)).map((m) => m.code)).toEqual(EXPECTED);
  });

  it('flags a same-name record whose field does not occur in its folder, not its twin', () => {
    // 1.013825 (cấp tỉnh) and 1.013950 (cấp xã) share a name legitimately; move one to a folder
    // where "Đất đai" never occurs, as a stray page would be.
    const edited = all.map(withoutPage).map((r) => (r.ma_thu_tuc === '1.013950' ? { ...r, _ministry_folder: 'bo-tu-phap' } : r));
    const found = detectContentMismatch(edited).map((m) => m.code);
    expect(found).toContain('1.013950');
    expect(found).not.toContain('1.013825');
    expect(found).toHaveLength(EXPECTED.length + 1);
  });
});
