// A small in-memory catalogue of real-shaped procedures (taken from the portal records, trimmed)
// and a fake Searcher with scripted results, shared by the conversation and web channel tests.
import type { CatalogueProcedure, Fee, SubmissionChannel, TimeLimit } from '../../src/catalogue/schema.js';
import type { Aspect, SearchHit, SearchOptions, SearchResult, Searcher } from '../../src/search/types.js';
import { foldMarks } from '../../src/search/normalize.js';
import type { UnitContact } from '../../src/conversation/ports.js';

const FREE: Fee = { stated: true, free: true, setByProvince: false, amountVnd: null, text: 'Miễn phí' };
const NOT_STATED: Fee = { stated: false, free: false, setByProvince: false, amountVnd: null, text: null };
/** The crawl's defect: the time lost its unit ("1"). */
const BARE_ONE: TimeLimit = { value: 1, unit: 'unknown', text: null, unitFrom: 'none', raw: '1' };
const THREE_WD: TimeLimit = { value: 3, unit: 'working_day', text: '3 ngày làm việc', unitFrom: 'table', raw: '3 Ngày làm việc' };
const FIVE_WD: TimeLimit = { value: 5, unit: 'working_day', text: '5 ngày làm việc', unitFrom: 'steps' };

function channel(kind: SubmissionChannel['kind'], time: TimeLimit, fee: Fee): SubmissionChannel {
  const label = kind === 'online' ? 'Trực tuyến' : kind === 'postal' ? 'Dịch vụ bưu chính' : 'Trực tiếp';
  return { kind, label, time, fee, description: '' };
}

function base(code: string, name: string): CatalogueProcedure {
  return {
    code,
    name,
    decision: null,
    levels: ['Cấp xã'],
    type: null,
    field: 'Hộ tịch',
    agencies: { competent: null, executing: null, authorized: null, coordinating: null, receivingAddress: null },
    targets: ['Công dân Việt Nam'],
    steps: [],
    channels: [],
    documents: [],
    legalBasis: [],
    conditions: null,
    result: null,
    related: null,
    sourceUrl: `https://dichvucong.gov.vn/thu-tuc-hanh-chinh/${code}`,
    ministry: null,
    communeCore: true,
    origin: 'portal',
    detail: 'full',
    summary: null,
    aliases: [],
    curated: false,
  };
}

export const KHAI_SINH: CatalogueProcedure = {
  ...base('1.001193', 'Thủ tục đăng ký khai sinh'),
  summary: 'Đăng ký khai sinh cho trẻ mới sinh tại UBND xã nơi cư trú của cha hoặc mẹ.',
  agencies: { competent: null, executing: 'Ủy ban Nhân dân xã, phường, thị trấn.', authorized: null, coordinating: null, receivingAddress: null },
  steps: [
    'Nếu lựa chọn hình thức nộp hồ sơ trực tiếp, người yêu cầu đăng ký khai sinh nộp hồ sơ tại Bộ phận Một cửa; nộp lệ phí nếu thuộc trường hợp phải nộp.',
    'Nếu lựa chọn hình thức nộp hồ sơ trực tuyến, người yêu cầu truy cập Cổng dịch vụ công quốc gia hoặc Ứng dụng định danh quốc gia.',
    'Cán bộ tư pháp - hộ tịch kiểm tra hồ sơ, ghi vào Sổ đăng ký khai sinh và cấp Giấy khai sinh.',
  ],
  channels: [channel('online', BARE_ONE, FREE), channel('postal', BARE_ONE, FREE), channel('direct', BARE_ONE, FREE)],
  documents: [
    { name: 'Tờ khai đăng ký khai sinh theo mẫu', kind: 'submit', quantity: '1 bản chính', form: 'Tờ khai đăng ký khai sinh.docx', group: null },
    { name: 'Giấy chứng sinh hoặc giấy tờ thay Giấy chứng sinh', kind: 'submit', quantity: '1 bản chính', form: null, group: null },
    { name: 'Giấy tờ tùy thân của người đi đăng ký', kind: 'show', quantity: '1 bản chính', form: null, group: null },
  ],
  legalBasis: [
    { title: 'Nghị định số 123/2015/NĐ-CP quy định chi tiết một số điều và biện pháp thi hành Luật Hộ tịch', number: '123/2015/NĐ-CP' },
    { title: 'Thông tư Hướng dẫn về phí và lệ phí thuộc thẩm quyền quyết định của HĐND tỉnh', number: '85/2019/TT-BTC' },
  ],
  result: 'Giấy khai sinh',
  curated: true,
};

export const KET_HON: CatalogueProcedure = {
  ...base('1.000894', 'Thủ tục đăng ký kết hôn'),
  channels: [channel('online', FIVE_WD, FREE), channel('direct', FIVE_WD, FREE)],
  documents: [{ name: 'Tờ khai đăng ký kết hôn', kind: 'submit', quantity: '1 bản chính', form: 'Mẫu tờ khai', group: null }],
  steps: ['Nộp hồ sơ tại Bộ phận Một cửa.', 'Nhận Giấy chứng nhận kết hôn.'],
};

export const TAM_TRU: CatalogueProcedure = {
  ...base('1.004194', 'Đăng ký tạm trú'),
  field: 'Đăng ký, quản lý cư trú',
  agencies: { competent: null, executing: 'Công an cấp Xã', authorized: null, coordinating: null, receivingAddress: null },
  channels: [
    channel('online', THREE_WD, { stated: true, free: false, setByProvince: false, amountVnd: 7000, text: '7.000 đồng/lần đăng ký' }),
    channel('direct', THREE_WD, NOT_STATED),
  ],
  steps: ['Bước 1: Cá nhân chuẩn bị hồ sơ.', 'Bước 2: Nộp hồ sơ đến Công an cấp xã.'],
};

/** Fee not stated anywhere, time without unit everywhere, no online channel. */
export const CHUNG_THUC: CatalogueProcedure = {
  ...base('2.000815', 'Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan, tổ chức có thẩm quyền của Việt Nam cấp'),
  field: 'Chứng thực',
  channels: [channel('direct', BARE_ONE, NOT_STATED)],
  documents: Array.from({ length: 40 }, (_, i) => ({
    name: `Giấy tờ số ${i + 1}: bản chính giấy tờ, văn bản làm cơ sở để chứng thực bản sao và bản sao cần chứng thực, có đầy đủ các trang đã ghi thông tin của bản chính`,
    kind: 'submit' as const,
    quantity: '1 bản chính',
    form: null,
    group: null,
  })),
};

/** Only what a "Danh sách TTHC" workbook gives. */
export const LIST_ONLY: CatalogueProcedure = {
  ...base('1.010001', 'Thủ tục chỉ có tên trong danh sách'),
  detail: 'list',
  sourceUrl: null,
};

export const PROCEDURES = [KHAI_SINH, KET_HON, TAM_TRU, CHUNG_THUC, LIST_ONLY];

export function fixtureCatalogue(procedures: readonly CatalogueProcedure[] = PROCEDURES) {
  const byCodeMap = new Map(procedures.map((p) => [p.code, p]));
  return { procedures, byCode: (code: string) => byCodeMap.get(code), size: procedures.length };
}

export const UNIT: UnitContact = {
  id: 'xa-mau',
  name: 'UBND xã Mẫu',
  province: 'Tỉnh Mẫu',
  address: 'Bộ phận Một cửa, trụ sở UBND xã Mẫu',
  phone: '0200 000 000',
  hours: 'Sáng 7h30–11h30, chiều 13h30–17h00, từ thứ Hai đến thứ Sáu',
  portalUrl: 'https://dichvucong.gov.vn',
};

export interface ScriptedAnswer {
  /** Folded words that must all be in the folded question. */
  when: string;
  outcome: SearchResult['outcome'];
  codes: string[];
  aspects?: Aspect[];
  confidence?: number;
}

/** A fake Searcher: the first script whose words all appear in the (folded) question wins. */
export class FakeSearcher implements Searcher {
  readonly calls: { query: string; options?: SearchOptions }[] = [];
  constructor(
    private readonly scripts: ScriptedAnswer[],
    private readonly catalogue = fixtureCatalogue(),
  ) {}

  get size(): number {
    return this.catalogue.size;
  }

  /** Folded, sorted, distinct words: enough for the engine's tests of unit aliases. */
  contentKey(query: string): string | null {
    const words = [...new Set(foldMarks(query.normalize('NFC').toLowerCase()).split(/[^a-z0-9]+/).filter(Boolean))].sort();
    return words.length ? words.join(' ') : null;
  }

  search(query: string, options?: SearchOptions): SearchResult {
    const key = options?.aliases?.size ? this.contentKey(query) : null;
    const aliased = key === null ? undefined : options?.aliases?.get(key);
    if (aliased !== undefined && this.catalogue.byCode(aliased) && (!options?.codes || options.codes.has(aliased))) {
      this.calls.push({ query, ...(options ? { options } : {}) });
      return { query, outcome: 'answer', confidence: 1, results: [{ code: aliased, name: this.catalogue.byCode(aliased)?.name ?? aliased, score: 1 }], aspects: [] };
    }
    this.calls.push({ query, ...(options ? { options } : {}) });
    const folded = foldMarks(query.normalize('NFC').toLowerCase());
    const script = this.scripts.find((s) => s.when.split(' ').every((w) => folded.includes(w)));
    if (!script) return { query, outcome: 'none', confidence: 0.05, results: [], aspects: [] };
    const results: SearchHit[] = script.codes
      .filter((c) => !options?.codes || options.codes.has(c))
      .map((code, i) => ({ code, name: this.catalogue.byCode(code)?.name ?? code, score: 0.9 - i * 0.1 }));
    return { query, outcome: script.outcome, confidence: script.confidence ?? 0.8, results, aspects: script.aspects ?? [] };
  }
}

export const SCRIPTS: ScriptedAnswer[] = [
  { when: 'le phi khai sinh', outcome: 'answer', codes: ['1.001193'], aspects: ['fee'] },
  { when: 'giay to khai sinh', outcome: 'answer', codes: ['1.001193'], aspects: ['documents'] },
  { when: 'khai sinh', outcome: 'answer', codes: ['1.001193', '1.000894'] },
  { when: 'ket hon', outcome: 'answer', codes: ['1.000894'] },
  { when: 'tam tru', outcome: 'answer', codes: ['1.004194'] },
  { when: 'chung thuc', outcome: 'answer', codes: ['2.000815'] },
  { when: 'danh sach', outcome: 'answer', codes: ['1.010001'] },
  { when: 'ho tich', outcome: 'choices', codes: ['1.001193', '1.000894', '2.000815'], confidence: 0.5 },
  { when: 'bao nhieu tien', outcome: 'choices', codes: ['1.004194', '2.000815'], aspects: ['fee'], confidence: 0.5 },
  { when: 'gia vang', outcome: 'none', codes: ['1.000894'], confidence: 0.1 },
];
