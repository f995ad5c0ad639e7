// Test helper: a CatalogueProcedure of real shape with only what a test cares about filled in.
import type { CatalogueProcedure, Level } from '../../src/catalogue/schema.js';

export function makeProcedure(
  code: string,
  name: string,
  opts: { field?: string; levels?: Level[]; communeCore?: boolean; aliases?: string[]; documents?: string[] } = {},
): CatalogueProcedure {
  return {
    code,
    name,
    decision: null,
    levels: opts.levels ?? ['Cấp xã'],
    type: null,
    field: opts.field ?? 'Hộ tịch',
    agencies: { competent: null, executing: null, authorized: null, coordinating: null, receivingAddress: null },
    targets: [],
    steps: [],
    channels: [],
    documents: (opts.documents ?? []).map((d) => ({ name: d, kind: 'submit' as const, quantity: null, form: null, group: null })),
    legalBasis: [],
    conditions: null,
    result: null,
    related: null,
    sourceUrl: null,
    ministry: null,
    communeCore: opts.communeCore ?? true,
    origin: 'portal',
    detail: 'full',
    summary: null,
    aliases: opts.aliases ?? [],
    curated: false,
  };
}

/** A small catalogue of real names (codes as on the portal). */
export function smallCatalogue(): CatalogueProcedure[] {
  return [
    makeProcedure('1.001193', 'Thủ tục đăng ký khai sinh', { documents: ['Tờ khai đăng ký khai sinh', 'Giấy chứng sinh'] }),
    makeProcedure('2.000528', 'Thủ tục đăng ký khai sinh có yếu tố nước ngoài'),
    makeProcedure('1.003583', 'Thủ tục đăng ký khai sinh lưu động'),
    makeProcedure('1.004884', 'Thủ tục đăng ký lại khai sinh'),
    makeProcedure('1.000894', 'Thủ tục đăng ký kết hôn'),
    makeProcedure('2.000806', 'Thủ tục đăng ký kết hôn có yếu tố nước ngoài'),
    makeProcedure('1.000656', 'Thủ tục đăng ký khai tử'),
    makeProcedure('1.004194', 'Đăng ký tạm trú', { field: 'Đăng ký, quản lý cư trú' }),
    makeProcedure('1.002755', 'Gia hạn tạm trú', { field: 'Đăng ký, quản lý cư trú' }),
    makeProcedure('1.004222', 'Đăng ký thường trú', { field: 'Đăng ký, quản lý cư trú' }),
    makeProcedure('2.001159', 'Thông báo lưu trú', { field: 'Đăng ký, quản lý cư trú' }),
    makeProcedure('1.014061', 'Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên', { field: 'Cấp, quản lý căn cước' }),
    makeProcedure('1.014063', 'Cấp đổi thẻ căn cước', { field: 'Cấp, quản lý căn cước' }),
    makeProcedure('1.014064', 'Cấp lại thẻ căn cước', { field: 'Cấp, quản lý căn cước' }),
    makeProcedure('2.001195', 'Cấp đổi thẻ căn cước (thực hiện tại cấp tỉnh)', {
      field: 'Cấp, quản lý căn cước',
      levels: ['Cấp tỉnh'],
      communeCore: false,
    }),
    makeProcedure('1.004873', 'Cấp Giấy xác nhận tình trạng hôn nhân'),
    makeProcedure('2.000815', 'Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan, tổ chức có thẩm quyền của Việt Nam cấp hoặc chứng nhận', {
      field: 'Chứng thực',
    }),
    makeProcedure(
      '1.013978',
      'Đăng ký đất đai, tài sản gắn liền với đất, cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất lần đầu đối với hộ gia đình, cá nhân',
      { field: 'Đất đai' },
    ),
    makeProcedure(
      '1.012753',
      'Đăng ký đất đai, tài sản gắn liền với đất, cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất lần đầu đối với tổ chức đang sử dụng đất',
      { field: 'Đất đai' },
    ),
    makeProcedure('1.012812', 'Hòa giải tranh chấp đất đai', { field: 'Đất đai' }),
    makeProcedure('3.000333', 'Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư trú tại Việt Nam', {
      field: 'Lý lịch tư pháp',
      levels: ['Cấp tỉnh'],
      communeCore: false,
    }),
    makeProcedure('1.000080', 'Cấp giấy phép kinh doanh mua bán vàng miếng', { field: 'Hoạt động ngân hàng', levels: ['Cấp bộ'], communeCore: false }),
  ];
}
