import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocuments } from '../../src/catalogue/parse-documents.js';
import { PortalRecord } from '../../src/catalogue/portal-record.js';

// Real crawl lines, copied byte for byte (1.007751, 1.000096, 3.000160, 1.014375, 1.011444, 1.002674).
const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'portal', 'documents.jsonl');
const records = new Map(
  readFileSync(FIXTURE, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => PortalRecord.parse(JSON.parse(l)))
    .map((r) => [r.ma_thu_tuc, r]),
);

function docs(code: string) {
  const r = records.get(code);
  if (!r) throw new Error(`missing ${code}`);
  return parseDocuments(r.thanh_phan_ho_so);
}

describe('parseDocuments: multi-digit runs before "bản chính"', () => {
  it('keeps "02 bản chính" written inside a name with the name (1.007751), no ";" rows', () => {
    const d = docs('1.007751');
    expect(d.filter((x) => x.name.startsWith('a) Tờ khai hải quan'))).toHaveLength(4);
    for (const x of d.filter((y) => y.name.startsWith('a) Tờ khai hải quan'))) {
      expect(x.name).toBe('a) Tờ khai hải quan: 02 bản chính;');
      expect(x.quantity).toBe('0 bản chính');
    }
    expect(d.every((x) => /\p{L}/u.test(x.name))).toBe(true);
    expect(d).toHaveLength(12);
  });

  it('does not cut "01" in two when the quantity cell follows the prose (1.000096)', () => {
    expect(docs('1.000096').map((x) => [x.name, x.quantity])).toEqual([
      ['Tờ khai hàng hóa xuất khẩu trị giá thấp: 01 bản chính', '1 bản chính'],
      ['Hóa đơn thương mại (nếu có): 01 bản chụp', '0 bản chính, 1 bản sao'],
    ]);
  });

  it('reads "01 bản chính Bảng kê…" opening a name as part of it, not as a row "0" (3.000160)', () => {
    const d = docs('3.000160');
    expect(d).toHaveLength(1);
    expect(d[0]?.name).toMatch(/^01 bản chính Bảng kê khai phân loại doanh nghiệp chế biến và xuất khẩu gỗ/);
    expect(d[0]?.quantity).toBe('1 bản chính, 1 bản sao');
  });

  it('still splits a form number glued to a one-digit quantity ("Phụ lục số 101 bản chính", 1.014375)', () => {
    const d = docs('1.014375');
    expect(d.at(-1)).toMatchObject({ name: 'Đơn đề nghị cấp Giấy phép xuất khẩu vàng miếng theo mẫu tại Phụ lục số 10', quantity: '1 bản chính' });
  });

  it('reads "(01 bản chính)" opening a bracket as prose inside the name (1.011444)', () => {
    const d = docs('1.011444');
    const form = d.find((x) => x.form === 'Mau so 04a_dang ky XLTSBD.docx');
    expect(form?.name).toBe(
      'Phiếu yêu cầu theo Mẫu số 04a tại Phụ lục (01 bản chính) (Điều 34 Nghị định số 99/2022/NĐ-CP). Trường hợp đăng ký thay đổi, xóa đăng ký thông báo xử lý tài sản bảo đảm thì hồ sơ đăng ký là Phiếu yêu cầu theo Mẫu số 04a tại Phụ lục (01 bản chính).',
    );
    expect(form?.quantity).toBe('1 bản chính');
    expect(d).toContainEqual(expect.objectContaining({ name: 'Văn bản thông báo xử lý tài sản bảo đảm (01 bản chính) (Điều 34 Nghị định số 99/2022/NĐ-CP).', quantity: '1 bản chính' }));
    expect(d.every((x) => /\p{L}/u.test(x.name) && !/\($/.test(x.name) && !/^\)/.test(x.name))).toBe(true);
  });

  it('keeps the name when the form file cannot be cut cleanly from it (1.002674)', () => {
    const d = docs('1.002674');
    expect(d).toContainEqual(expect.objectContaining({ name: '1. Tờ khai đăng ký tàu biển theo', form: 'Mẫu247-N-CP-2025TKNGK.docx', quantity: '1 bản chính' }));
    expect(d.every((x) => /\p{L}/u.test(x.name))).toBe(true);
  });

  it('reads a whole quantity of 10 or more where the name cannot go on with a number', () => {
    // The crawl's shape (name, form file, quantity glued), with quantities the crawl happens not to hold.
    const s = 'Tên giấy tờMẫu đơn, tờ khaiSố lượngBản vẽ thiết kế công trình.12 bản chínhĐơn đề nghị (Mẫu số 01)10 bản chính,2 bản saoTờ khai theo mẫuMau01.docx15 bản chính';
    expect(parseDocuments(s).map((x) => [x.name, x.form, x.quantity])).toEqual([
      ['Bản vẽ thiết kế công trình.', null, '12 bản chính'],
      ['Đơn đề nghị (Mẫu số 01)', null, '10 bản chính, 2 bản sao'],
      ['Tờ khai theo mẫu', 'Mau01.docx', '15 bản chính'],
    ]);
  });

  it('drops a repeated quantity cell instead of making a row of it', () => {
    const s = 'Tên giấy tờMẫu đơn, tờ khaiSố lượngCác tài liệu liên quan (nếu có).1 bản chính1 bản chính';
    expect(parseDocuments(s).map((x) => [x.name, x.quantity])).toEqual([['Các tài liệu liên quan (nếu có).', '1 bản chính']]);
  });
});
