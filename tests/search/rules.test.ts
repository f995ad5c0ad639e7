// One test per general rule of the search (each fails without its rule): how citizens name a
// correction, a loss, an exchange, a translation, an extension; letters and their story
// sentences; personal details; wrong marks; near-duplicate variants; out-of-scope questions.
import { describe, expect, it } from 'vitest';
import { buildSearchIndex } from '../../src/search/index.js';
import { analyzeQuery, buildPhraseTable, STORY_WEIGHT, CONDITION_WEIGHT, type FillerPolicy } from '../../src/search/query-analyzer.js';
import { expandSlots, loadDictionary, parseDictionary, DictionaryError } from '../../src/search/dictionary.js';
import { makeProcedure, smallCatalogue } from './make-procedure.js';

const HO_TICH = { field: 'Hộ tịch' };
const CU_TRU = { field: 'Đăng ký, quản lý cư trú' };
const CHUNG_THUC = { field: 'Chứng thực' };

/** Real names (codes as on the portal), with aliases of the kind the curated layer gives. */
function catalogue() {
  return [
    ...smallCatalogue(),
    makeProcedure('1.010028', 'Xóa đăng ký tạm trú', { ...CU_TRU, aliases: ['xóa tạm trú', 'hủy tạm trú'] }),
    makeProcedure('1.003197', 'Xóa đăng ký thường trú', { ...CU_TRU, aliases: ['cắt khẩu', 'xóa hộ khẩu'] }),
    makeProcedure('1.004859', 'Thủ tục thay đổi, cải chính, bổ sung thông tin hộ tịch, xác định lại dân tộc', {
      ...HO_TICH,
      aliases: ['sửa tên trong giấy khai sinh', 'cải chính hộ tịch'],
    }),
    makeProcedure('1.012796', 'Đính chính Giấy chứng nhận đã cấp lần đầu có sai sót', { field: 'Đất đai', aliases: ['đính chính sổ đỏ'] }),
    makeProcedure('1.012786', 'Cấp lại Giấy chứng nhận do bị mất', { field: 'Đất đai', aliases: ['mất sổ đỏ', 'cấp lại sổ đỏ'] }),
    makeProcedure('2.000884', 'Chứng thực chữ ký trong các giấy tờ, văn bản', CHUNG_THUC),
    makeProcedure('2.000992', 'Chứng thực chữ ký người dịch mà người dịch là cộng tác viên dịch thuật của Ủy ban nhân dân cấp xã', CHUNG_THUC),
    makeProcedure(
      '2.001008',
      'Chứng thực chữ ký người dịch mà người dịch không phải là cộng tác viên dịch thuật của Ủy ban nhân dân cấp xã',
      CHUNG_THUC,
    ),
    makeProcedure('1.013082', 'Cấp lại chứng nhận đăng ký xe, biển số xe thực hiện tại cấp trung ương, cấp tỉnh, cấp xã', {
      field: 'Đăng ký, quản lý phương tiện giao thông',
    }),
    makeProcedure('1.003930', 'Cấp lại Giấy chứng nhận đăng ký phương tiện', { field: 'Đường thủy nội địa' }),
    makeProcedure('9.000002', 'Cấp Giấy phép kinh doanh dịch vụ lữ hành nội địa', { field: 'Du lịch', communeCore: false }),
    makeProcedure('1.011607', 'Công nhận hộ nghèo, hộ cận nghèo thường xuyên hằng năm', { field: 'Bảo trợ xã hội' }),
    makeProcedure('3.000412', 'Công nhận người lao động có thu nhập thấp', { field: 'Nhà ở', aliases: ['xác nhận thu nhập thấp'] }),
    makeProcedure('1.013067', 'Đăng ký, cấp biển số xe lần đầu thực hiện tại cấp xã', {
      field: 'Đăng ký, quản lý phương tiện giao thông',
      aliases: ['đăng ký xe máy', 'đăng ký xe mới mua'],
    }),
    makeProcedure('1.013076', 'Cấp chứng nhận đăng ký xe, biển số xe trong trường hợp thay đổi chủ xe (đăng ký sang tên xe)', {
      field: 'Đăng ký, quản lý phương tiện giao thông',
      aliases: ['sang tên xe máy', 'mua xe cũ sang tên'],
    }),
  ];
}

const searcher = buildSearchIndex(catalogue());
const top = (q: string): string | undefined => searcher.search(q).results[0]?.code;

describe('ranking of two fully covering procedures', () => {
  it('prefers the one whose whole name the question explains ("xóa" is not asked)', () => {
    expect(top('Đăng ký tạm trú')).toBe('1.004194');
    expect(top('dang ky tam tru')).toBe('1.004194');
    expect(top('xóa đăng ký tạm trú')).toBe('1.010028');
  });
  it('answers the plain name without marks directly', () => {
    expect(searcher.search('dang ky tam tru').outcome).toBe('answer');
  });
});

describe('an error in a paper asks for its correction', () => {
  it('"bị sai … làm lại" is a correction, not registering again', () => {
    expect(top('Giấy khai sinh bị sai có làm lại được không?')).toBe('1.004859');
    expect(top('giay khai sinh bi sai co lam lai duoc khong')).toBe('1.004859');
  });
  it('the object picks the correction procedure', () => {
    expect(top('sổ đỏ ghi sai tên')).toBe('1.012796');
    expect(top('sai ngày sinh trong giấy khai sinh')).toBe('1.004859');
  });
  it('"đúng hay sai" is not an error', () => {
    const res = searcher.search('hòa giải tranh chấp đất đai ở xã là đúng hay sai?');
    expect(res.results[0]?.code).toBe('1.012812');
  });
});

describe('lost, exchanged, redone: variant words', () => {
  it('"mất {a paper}" names the re-issue', () => {
    expect(top('mất căn cước')).toBe('1.014064');
    expect(top('mat the can cuoc thi lam sao')).toBe('1.014064');
  });
  it('a weak "làm lại" yields to a strong "hết hạn"', () => {
    expect(top('Thủ tục làm lại thẻ căn cước hết hạn')).toBe('1.014063');
    expect(top('làm lại thẻ căn cước')).toBe('1.014064');
  });
  it('"{a person} mất" means died, not lost', () => {
    expect(top('mẹ tôi mất tuần trước, làm giấy tờ gì')).toBe('1.000656');
  });
  it('an extension is named by "gia hạn" or "hết hạn", never assumed', () => {
    expect(top('tạm trú sắp hết hạn thì làm sao')).toBe('1.002755');
    expect(top('khai báo tạm trú')).toBe('1.004194');
  });
  it('a procedure done at several levels including the commune is no level variant', () => {
    expect(top('Giấy đăng ký xe bị mất, cấp lại mất bao nhiêu ngày?')).toBe('1.013082');
  });
});

describe('translations', () => {
  it('a translation names the translator procedures; translating oneself, the non-collaborator one', () => {
    expect(top('Có thể tự dịch giấy tờ rồi chứng thực chữ ký không?')).toBe('2.001008');
    expect(top('tôi dịch bằng tốt nghiệp sang tiếng Anh, chứng thực ở đâu')).toBe('2.001008');
  });
  it('without a translation, the plain signature procedure', () => {
    expect(top('chứng thực chữ ký trong giấy ủy quyền')).toBe('2.000884');
  });
  it('"dịch" inside "dịch vụ" is not a translation', () => {
    expect(top('chứng thực chữ ký trên dịch vụ công')).toBe('2.000884');
  });
});

describe('a change of owner is named, never assumed', () => {
  it('a newly bought vehicle is a first registration; a used one a transfer', () => {
    expect(top('đăng ký xe máy mới mua ở đâu')).toBe('1.013067');
    expect(top('mua xe máy cũ thì đăng ký sang tên thế nào')).toBe('1.013076');
  });
});

describe('an unmarked filler that forms a catalogue pair with its neighbour is content', () => {
  it('"ho can ngheo" is hộ cận nghèo, not the filler "cần"', () => {
    expect(top('xin xac nhan ho can ngheo')).toBe('1.011607');
  });
  it('a question particle at the end stays a filler', () => {
    expect(searcher.search('dang ky tam tru co can khong').results[0]?.code).toBe('1.004194');
  });
});

describe('colloquial names match every wording of the same paper', () => {
  it('"sổ hồng" matches a procedure named with "sổ đỏ"', () => {
    expect(top('mất sổ hồng')).toBe('1.012786');
  });
});

describe('channels are aspects, not subjects', () => {
  it('"trên VNeID" asks for the online channel', () => {
    const res = searcher.search('đổi thẻ căn cước trên VNeID');
    expect(res.results[0]?.code).toBe('1.014063');
    expect(res.aspects).toContain('online');
  });
});

describe('personal details do not lower confidence', () => {
  it('a phone number, an e-mail and a name leave the answer as it was', () => {
    const plain = searcher.search('Đăng ký tạm trú');
    const noisy = searcher.search('Đăng ký tạm trú, sđt em 0912345678, email lan.nguyen@gmail.com. Em tên Lan');
    expect(noisy.results[0]?.code).toBe('1.004194');
    expect(noisy.outcome).toBe(plain.outcome);
    expect(noisy.confidence).toBeCloseTo(plain.confidence, 2);
  });
});

describe('wrong marks on a real syllable', () => {
  it('"tạm trụ" is read as "tạm trú" (the pair exists only without marks)', () => {
    expect(top('tạm trụ')).toBe('1.004194');
    expect(searcher.search('đăng ký tạm trụ').outcome).toBe('answer');
  });
});

describe('out-of-scope questions never get a direct answer', () => {
  it.each([
    'giá vàng hôm nay',
    'gia vang hom nay bao nhieu',
    'thời tiết ngày mai thế nào',
    'tỷ số bóng đá tối qua',
    'hello',
    'alo alo',
    '👍',
    '',
    'xổ số miền bắc hôm nay',
    'công thức nấu phở bò',
    'sđt 0912345678',
    'lịch chiếu phim cuối tuần',
  ])('%s', (q) => {
    expect(searcher.search(q).outcome).not.toBe('answer');
  });
});

describe('letters: the question weighs more than the story', () => {
  const dict = loadDictionary();
  const table = buildPhraseTable(dict);
  const fillers: FillerPolicy = { dropAcc: new Set(['tôi', 'và', 'có', 'không']), dropFold: new Set(), weakAcc: new Set(), weakFold: new Set() };
  const weightOf = (q: string, fold: string): number | undefined =>
    analyzeQuery(q, dict, table, fillers).concepts.find((c) => c.alts.some((a) => a.some((t) => t.fold === fold)))?.weight;
  it('story sentences count less than the asking one', () => {
    const q = 'Tôi và bạn trai sống chung. Xin hỏi đăng ký kết hôn ở đâu?';
    expect(weightOf(q, 'trai')).toBe(STORY_WEIGHT);
    expect(weightOf(q, 'ket')).toBe(1);
  });
  it('a single sentence is all question', () => {
    expect(weightOf('Tôi và bạn trai muốn đăng ký kết hôn', 'trai')).toBe(1);
  });
  it('a condition before "thì" counts less than the request after it', () => {
    const q = 'Người không có hộ khẩu thì đăng ký khai tử ở đâu?';
    expect(weightOf(q, 'nguoi')).toBe(CONDITION_WEIGHT);
    expect(weightOf(q, 'tu')).toBe(1);
  });
  it('"… thì làm sao" keeps the clause before it as the request', () => {
    expect(weightOf('Tôi muốn đăng ký tạm trú thì làm sao?', 'tam')).toBe(1);
  });
  it('a letter finds the asked procedure', () => {
    const q =
      'Gia đình tôi mới chuyển về phường được 2 tháng, nhà thuê của người quen. Con tôi học lớp 3. Xin hỏi gia hạn tạm trú ở đâu?';
    expect(top(q)).toBe('1.002755');
  });
});

describe('dictionary classes and synonyms with several wordings', () => {
  it('expands "{class}" slots', () => {
    expect(expandSlots('mất {giấy tờ}', { 'giấy tờ': ['giấy', 'sổ'] })).toEqual(['mất giấy', 'mất sổ']);
    expect(expandSlots('không slot', {})).toEqual(['không slot']);
  });
  it('rejects an unknown class, naming it', () => {
    expect(() => parseDictionary('synonyms:\n  - from: ["mất {nothing}"]\n    to: cấp lại\n')).toThrow(DictionaryError);
    expect(() => parseDictionary('synonyms:\n  - from: ["mất {nothing}"]\n    to: cấp lại\n')).toThrow(/nothing/);
  });
  it('accepts a list of catalogue wordings and notBefore', () => {
    const d = parseDictionary('synonyms:\n  - from: [sổ hồng]\n    to: [sổ đỏ, giấy chứng nhận]\n    notBefore: [giả]\n');
    expect(d.synonyms[0]?.to.length).toBe(2);
    expect(d.synonyms[0]?.notBefore.length).toBe(1);
  });
});
