import { describe, expect, it } from 'vitest';
import { nameSimilarity } from '../../src/catalogue/name-similarity.js';

describe('nameSimilarity', () => {
  it('scores a rewording or a level suffix high', () => {
    expect(nameSimilarity('Thủ tục đăng ký khai sinh', 'Đăng ký khai sinh')).toBe(1);
    expect(nameSimilarity('Khóa căn cước điện tử', 'Khóa căn cước điện tử (thực hiện tại cấp xã)')).toBeGreaterThanOrEqual(0.5);
  });

  it('scores the real crawl/workbook pairs of records holding another page low', () => {
    // Crawl name (the foreign page) beside the workbook's name for the same code.
    const pairs: Array<[string, string]> = [
      ['Hỗ trợ phát triển sản xuất cộng đồng.', 'Khóa căn cước điện tử (thực hiện tại cấp xã)'],
      ['Hỗ trợ phát triển sản xuất cộng đồng.', 'Hợp nhất công ty luật nước ngoài'],
      [
        'Công bố Danh mục và Quy trình nội bộ thủ tục hành chính thuộc thẩm\nquyền giải quyết của Sở Nội vụ về thực hiện một số chính sách đảm bảo an\nsinh xã hội trên địa bàn tỉnh Hà Tĩnh giai đoạn 2026 - 2030',
        'Cấp tài khoản định danh điện tử mức độ 02 cho người nước ngoài (cấp Tỉnh)',
      ],
    ];
    for (const [a, b] of pairs) expect(nameSimilarity(a, b), b).toBeLessThan(0.5);
  });

  it('is symmetric and ignores case, NFD marks and punctuation', () => {
    const a = 'Đăng ký kết hôn';
    const b = 'đăng ký kết hôn.'.normalize('NFD');
    expect(nameSimilarity(a, b)).toBe(1);
    expect(nameSimilarity('Cấp lại thẻ', 'Cấp thẻ mới')).toBe(nameSimilarity('Cấp thẻ mới', 'Cấp lại thẻ'));
  });
});
