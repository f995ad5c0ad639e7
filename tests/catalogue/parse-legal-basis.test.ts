import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLegalBasis } from '../../src/catalogue/parse-legal-basis.js';
import { PortalRecord } from '../../src/catalogue/portal-record.js';

// Real crawl lines, copied byte for byte from shared/data/dvc-portal-records.jsonl.gz:
// 1.000253, 1.003482, 1.007808, 1.001283, 1.009636, 1.005071, 2.001008, 1.012793, 1.002759,
// 1.003867, 1.010387, 1.004167, 1.001303, 1.010090, 1.115151, 1.000757, 1.003677, 1.003361.
const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'portal', 'legal-basis.jsonl');
const records = new Map(
  readFileSync(FIXTURE, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => PortalRecord.parse(JSON.parse(l)))
    .map((r) => [r.ma_thu_tuc, r]),
);

function rows(code: string): [string, string | null][] {
  const r = records.get(code);
  if (!r) throw new Error(`missing ${code}`);
  return parseLegalBasis(r.can_cu_phap_ly).map((x) => [x.title, x.number]);
}

describe('parseLegalBasis on real portal tables', () => {
  it('drops a kind word the number cell opens with ("…tại Việt NamLuật 47/2014/QH13", 1.000253)', () => {
    expect(rows('1.000253')).toEqual([
      ['Luật Nhập cảnh, xuất cảnh, quá cảnh, cư trú của người nước ngoài tại Việt Nam', '47/2014/QH13'],
      ['Thông tư quy định cách thức thực hiện khai báo, tiếp nhận thông tin tạm trú của người nước ngoài tại Việt Nam', '53/2016/TT-BCA'],
    ]);
  });

  it('keeps " - Quy định…" after a number inside the title and names a bare "Nghị định" row by its number (1.003482)', () => {
    expect(rows('1.003482')).toEqual([
      ['Thông tư 10/2014/TT-BCA - Quy định việc xử lý, giải quyết tố cáo và quản lý công tác giải quyết tố cáo trong công an nhân dân', '10/2014/TT-BCA'],
      ['Nghị định 76/2012/NĐ-CP', '76/2012/NĐ-CP'],
      ['Thông tư 12/2015/TT-BCA - Quy định quy trình giải quyết tố cáo trong Công an nhân dân', '12/2015/TT-BCA'],
      ['Nghị định 91/2013/NĐ-CP - Quy định về tố cáo và giải quyết tố cáo trong Công an nhân dân', '91/2013/NĐ-CP'],
      ['Luật 03/2011/QH13', '03/2011/QH13'],
    ]);
  });

  it('completes a number cell cut to "167/2025" from the number its title cites (1.007808)', () => {
    expect(rows('1.007808')).toEqual([
      ['Luật 54/2014/QH13', '54/2014/QH13'],
      ['Quy định chi tiết Luật Quản lý ngoại thương về xuất xứ hàng hoá', '31/2018/NĐ-CP'],
      ['Thông tư số 33/2023/TT-BTC ngày 31/5/2023 quy định về xác định xuất xứ hàng hóa xuất khẩu, nhập khẩu.', '33/2023/TT-BTC'],
      ['Nghị định 08/2015/NĐ-CP', '08/2015/NĐ-CP'],
      ['Nghị định số 167/2025/NĐ-CP ngày 30/6/2025 của Chính phủ', '167/2025/NĐ-CP'],
    ]);
  });

  it('reads a number cited at the end of a title as part of it when the number cell follows (1.001283)', () => {
    expect(rows('1.001283')).toEqual([
      ['Thông tư 17/2015/TT-NHNN', '17/2015/TT-NHNN'],
      [
        'Thông tư sửa đổi, bổ sung một số điều của Thông tư số 17/2015/TT-NHNN ngày 21 tháng 10 năm 2015 của Thống đốc Ngân hàng Nhà nước Việt Nam quy định về hệ thống mã ngân hàng dùng trong hoạt động, nghiệp vụ ngân hàng',
        '18/2023/TT-NHNN',
      ],
      ['sửa đổi, bổ sung một số điều của Thông tư số 17/2015/TT-NHNN', '11/2025/TT-NHNN'],
      ['sửa đổi, bổ sung một số điều của Thông tư số 17/2015/TT-NHNN', '18/2026/TT-NHNN'],
    ]);
  });

  it('gives a date\'s year glued to the number back to the title ("15/5/2026.55/2026/TT-BTC", 1.009636)', () => {
    expect(rows('1.009636')).toEqual([
      ['định số 96/2026/NĐ-CP ngày 31/3/2026', '96/2026/NĐ-CP'],
      ['Thông tư số 55/2026/TT-BTC ngày 15/5/2026', '55/2026/TT-BTC'],
      ['Luật Đầu tư số 143/2025/QH15 ngày 11/12/2025', '143/2025/QH15'],
    ]);
  });

  it('reads "TT/BTC" as a separator inside a number (1.005071)', () => {
    expect(rows('1.005071').map((r) => r[1])).toEqual(['33/2025/TT-BXD', '198/2016/TT-BTC', '11/2026/TT-BTC']);
  });

  it('does not split at a number followed by "ngày" glued or spaced ("53/2025/TT-BCAngày 01/7/2025", 1.000757, 1.003677)', () => {
    for (const code of ['1.000757', '1.003677']) {
      const r = rows(code).find((x) => x[1] === '53/2025/TT-BCA');
      expect(r?.[0], code).toMatch(/^Thông tư số 53\/2025\/TT-BCA ngày 01\/7\/2025 của Bộ Công an sửa đổi, bổ sung một số điều của Thông tư số 55\/2021\/TT-BCA/);
      expect(r?.[0], code).toMatch(/Luật Căn cước\.$/);
    }
    expect(rows('1.000757')).toHaveLength(9);
  });

  it('keeps "Thông tư số 66/2023/TT-BCA Sửa đổi…" whole when the number column repeats the number later (1.003677)', () => {
    const r = rows('1.003677');
    expect(r[0]?.[1]).toBe('66/2023/TT-BCA');
    expect(r[0]?.[0]).toMatch(/^Thông tư số 66\/2023\/TT-BCA Sửa đổi, bổ sung một số điều của Thông tư số 55\/2021\/TT-BCA ngày 15\/5\/2021/);
    expect(r.slice(1)).toContainEqual(['Luật Cư trú 2020', '68/2020/QH14']);
    expect(r.slice(1)).toContainEqual(['Thông tư 57/2021/TT-BCA', '57/2021/TT-BCA']);
  });

  it('finds the number after "…được sửa đổi, bổ sung bởi Nghị định số 07/2025/NĐ-CP" (2.001008)', () => {
    const r = rows('2.001008');
    const decree = r.find((x) => x[0].startsWith('Nghị định số 280/2025/NĐ-CP sửa đổi'));
    expect(decree?.[1]).toBe('280/2025/NĐ-CP');
    expect(decree?.[0]).toMatch(/được sửa đổi, bổ sung bởi Nghị định số 07\/2025\/NĐ-CP$/);
    expect(r.map((x) => x[1])).not.toContain('07/2025/NĐ-CP');
  });

  it('completes "NĐ-C", merges "Nghị định X" + "Nghị định X" and reads the cell "Luật số 58" (1.012793)', () => {
    expect(rows('1.012793')).toEqual([
      ['Luật số 43/2024/QH15 ngày 29/6/2024', '43/2024/QH15'],
      ['Quy định về phân định thẩm quyền của chính quyền địa phương 02 cấp, phân quyền, phân cấp trong lĩnh vực đất đai', '151/2025/NĐ-CP'],
      ['Thực hiện thủ tục hành chính theo cơ chế một cửa, một cửa liên thông tại Bộ phận Một cửa và cổng Dịch vụ công quốc gia', '118/2025/NĐ-CP'],
      ['Nghị định 101/2024/NĐ-CP', '101/2024/NĐ-CP'],
      ['Luật số 58/2024/QH15 của Quốc hội: Luật Đầu tư công', '58/2024/QH15'],
      ['Luật Đất đai ngày 18/01/2024', '31/2024/QH15'],
    ]);
  });

  it('reads numbers without a year and in the Party\'s style ("2754/BHXH-CSXH", "13-TB/TW", 1.002759)', () => {
    const r = rows('1.002759');
    expect(r).toContainEqual(['Cấp thẻ BHYT đối với người đang hưởng BHXH hằng tháng đề nghị cập nhật thông tin nhân thân theo căn cước công dân', '2754/BHXH-CSXH']);
    expect(r).toContainEqual(['Quyết định số 250/QĐ-TTg Giải quyết chế độ, chính sách', '250/QĐ-TTg']);
    expect(r).toContainEqual(['Kết luật của Ban Bí thư về xác định tuổi của đảng viên', '13-TB/TW']);
    expect(r).toContainEqual(['Luật Việc làm', '38/2013/QH13']);
    expect(r).toContainEqual(['Thông tư liên tịch 18/2009/TTLT/BGDĐT-BTC-BLĐTBXH', '18/2009/TTLT-BGDĐT-BTC-BLĐTBXH']);
  });

  it('cuts the next page section off and reads a number glued to a date ("26/01/202608/2026", 1.003867)', () => {
    expect(rows('1.003867')).toEqual([
      ['Thông tư số 08/2026/TT-BNNMT ngày 26/01/2026', '08/2026/TT-BNNMT'],
      [
        'Luật số 146/2025/QH15 ngày 11/12/2025 của Quốc hội sửa đổi, bổ sung một số điều của 15 luật trong lĩnh vực nông nghiệp và môi trường',
        '146/2025/QH15',
      ],
      ['Luật 08/2017/QH14', '08/2017/QH14'],
    ]);
  });

  it('reads a Cyrillic look-alike letter in a number as Latin ("85/2024/TT-BTС151/2025/TT-BTC", 1.010387)', () => {
    const r = rows('1.010387');
    expect(r.map((x) => x[1])).toContain('151/2025/TT-BTC');
    expect(r.every((x) => /^[\p{Script=Latin}\p{N}\p{P}\p{Z}\p{M}\n]+$/u.test(x[0]))).toBe(true);
  });

  it('reads "X" + "X" rows with no title text and kind-only titles (1.004167, 1.003361)', () => {
    expect(rows('1.004167').slice(-2)).toEqual([
      ['Luật 28/2023/QH15', '28/2023/QH15'],
      ['14/2025/TT-BNNMT', '14/2025/TT-BNNMT'],
    ]);
    expect(rows('1.003361')).toContainEqual(['Luật 18/2017/QH14', '18/2017/QH14']);
  });

  it('keeps "(X13)" on its number and a spaced "QĐ- TTg" as one number (1.001303, 1.010090)', () => {
    expect(rows('1.001303').map((x) => x[1])).toEqual(['09/2009/TTLT-BCA-BYT', '21/2007/TT-BCA(X13)', '12/2007/NĐ-CP']);
    expect(rows('1.010090').at(-1)).toEqual(['Quyết định 01/2012/QĐ- TTg', '01/2012/QĐ-TTg']);
  });

  it('splits at "32/2025/TT-BXD- Nghị định…" and drops the dash (1.115151)', () => {
    const r = rows('1.115151');
    expect(r[0]).toEqual(['Thông tư số 32/2025/TT-BXD ngày 10/11/2025 của Bộ trưởng Bộ Xây dựng', '32/2025/TT-BXD']);
    expect(r[1]?.[0]).toMatch(/^Nghị định số 261\/2025\/NĐ-CP ngày 10\/10\/2025/);
    expect(r[1]?.[1]).toBe('261/2025/NĐ-CP');
    expect(r.at(-1)).toEqual(['Luật Nhà ở số 27/2023/QH15', '27/2023/QH15']);
  });

  it('never opens a title with "ngày", "số ", a bracket or a dash, in any fixture record', () => {
    for (const [code, r] of records) {
      for (const x of parseLegalBasis(r.can_cu_phap_ly)) {
        expect(x.title, code).not.toMatch(/^(?:ngày|số |\(|\)|-)/iu);
        expect(x.title, code).not.toMatch(/(?:^|\s)số$/u);
        expect(x.number, code).not.toBeNull();
      }
    }
  });

  it('returns nothing for a field without the table header', () => {
    expect(parseLegalBasis('Không có thông tin')).toEqual([]);
  });
});
