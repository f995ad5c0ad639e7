import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogueError } from '../../src/catalogue/catalogue-error.js';
import { importPortal, type ImportReport } from '../../src/catalogue/import-portal.js';
import { NationalFile } from '../../src/catalogue/national-file.js';
import type { Procedure } from '../../src/catalogue/schema.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'portal');
const RECORDS = join(FIXTURES, 'records.jsonl');

let work: string;
let outDir: string;
let report: ImportReport;
const byCode = new Map<string, Procedure>();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'motcua-import-portal-'));
  outDir = join(work, 'national');
  const core = join(work, 'core.txt');
  await writeFile(core, '1.001193\n1.000094\n1.004873\n2.000635\n');
  report = await importPortal({ input: RECORDS, outDir, coreCodesFile: core });
  for (const f of await readdir(outDir)) {
    const file = NationalFile.parse(JSON.parse(await readFile(join(outDir, f), 'utf8')));
    for (const p of file.procedures) byCode.set(p.code, p);
  }
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function proc(code: string): Procedure {
  const p = byCode.get(code);
  if (!p) throw new Error(`missing ${code}`);
  return p;
}

describe('importPortal on real records', () => {
  it('writes every record, one file per field, sorted by code, no raw_text', async () => {
    expect(report.records).toBe(12);
    expect(report.written).toBe(12);
    expect(byCode.size).toBe(12);
    expect(report.perField['Hộ tịch']).toBe(4);
    expect(report.files['Hộ tịch']).toBe('ho-tich.json');
    const hoTich = JSON.parse(await readFile(join(outDir, 'ho-tich.json'), 'utf8'));
    expect(hoTich.field).toBe('Hộ tịch');
    expect(hoTich.procedures.map((p: { code: string }) => p.code)).toEqual(['1.000094', '1.001193', '1.004873', '2.000635']);
    const all = (await Promise.all((await readdir(outDir)).map((f) => readFile(join(outDir, f), 'utf8')))).join('');
    expect(all).not.toContain('raw_text');
    expect(all).not.toContain('Chọn cơ quan thực hiện');
  });

  it('is deterministic across runs', async () => {
    const second = join(work, 'again');
    await importPortal({ input: RECORDS, outDir: second, coreCodesFile: join(work, 'core.txt') });
    for (const f of await readdir(outDir)) {
      expect(await readFile(join(second, f), 'utf8')).toBe(await readFile(join(outDir, f), 'utf8'));
    }
  });

  it('reads .jsonl.gz too', async () => {
    const gz = join(work, 'records.jsonl.gz');
    await writeFile(gz, gzipSync(await readFile(RECORDS)));
    const r = await importPortal({ input: gz, outDir: join(work, 'from-gz') });
    expect(r.written).toBe(12);
  });

  it('maps the plain fields of khai sinh', () => {
    const p = proc('1.001193');
    expect(p.name).toBe('Thủ tục đăng ký khai sinh');
    expect(p.decision).toBe('163/QĐ-BTP');
    expect(p.levels).toEqual(['Cấp xã']);
    expect(p.field).toBe('Hộ tịch');
    expect(p.targets).toEqual(['Công dân Việt Nam', 'Người Việt Nam định cư ở nước ngoài']);
    expect(p.result).toBe('Giấy khai sinh');
    expect(p.communeCore).toBe(true);
    expect(p.origin).toBe('portal');
    expect(p.detail).toBe('full');
    expect(p.sourceUrl).toMatch(/^https:\/\/dichvucong\.gov\.vn\//);
    expect(p.agencies.competent).toBeNull(); // empty in the source
  });

  it('keeps a bare-number time unknown when the steps do not give its unit (khai sinh "1")', () => {
    const p = proc('1.001193');
    expect(p.channels.map((c) => c.kind)).toEqual(['online', 'postal', 'direct']);
    for (const c of p.channels) {
      expect(c.time).toEqual({ value: 1, unit: 'unknown', text: null, unitFrom: 'none', raw: '1' });
      expect(c.fee).toEqual({ stated: true, free: true, setByProvince: false, amountVnd: null, text: 'Miễn phí' });
    }
  });

  it('recovers the unit of a bare time from the steps ("3" → 3 ngày làm việc)', () => {
    const p = proc('1.004873');
    for (const c of p.channels) {
      expect(c.time).toEqual({ value: 3, unit: 'working_day', text: '3 ngày làm việc', unitFrom: 'steps', raw: '3' });
    }
    expect(proc('1.004478').channels[0]?.time.text).toBe('5 ngày làm việc');
    expect(report.timesRecoveredFromSteps).toBeGreaterThanOrEqual(6);
  });

  it('reads a fee whose note says the provincial council sets it, although the cell says "Miễn phí"', () => {
    const p = proc('1.000094');
    const fee = p.channels[0]?.fee;
    expect(fee?.stated).toBe(true);
    expect(fee?.free).toBe(false);
    expect(fee?.setByProvince).toBe(true);
    expect(fee?.amountVnd).toBeNull();
    expect(fee?.text).toMatch(/^Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh/);
    expect(p.channels[0]?.time.unit).toBe('unknown');
  });

  it('reads an amount and a time cell without information', () => {
    const p = proc('2.000635');
    expect(p.levels).toEqual(['Cấp tỉnh', 'Cấp xã']);
    for (const c of p.channels) {
      expect(c.fee).toEqual({ stated: true, free: false, setByProvince: false, amountVnd: 8000, text: '8.000 đồng' });
      expect(c.time).toEqual({ value: null, unit: 'unknown', text: null, unitFrom: 'none', raw: 'Không có thông tin' });
    }
  });

  it('keeps channel variants with different times and fees', () => {
    const xd = proc('1.013229');
    expect(xd.channels.map((c) => [c.kind, c.time.text])).toEqual([
      ['online', '20 ngày'],
      ['postal', '20 ngày'],
      ['direct', '15 ngày'],
    ]);
    expect(xd.channels.every((c) => c.fee.setByProvince && c.fee.text === 'Theo quy định của Hội đồng nhân dân cấp tỉnh.')).toBe(true);
    const hk = proc('1.000239');
    expect(hk.channels.map((c) => [c.kind, c.time.text, c.fee.amountVnd])).toEqual([
      ['online', '10 ngày làm việc', 250000],
      ['postal', '10 ngày làm việc', 250000],
      ['direct', '10 ngày làm việc', 400000],
    ]);
  });

  it('tags a customs "Cấp xã" record that is not commune core as such, and does not guess a time run into an amount', () => {
    const p = proc('1.000005');
    expect(p.field).toBe('Hải quan');
    expect(p.levels).toContain('Cấp xã');
    expect(p.communeCore).toBe(false);
    // "Trực tuyến120,000 VNĐ(Theo khoản 1 …)": time and fee glued, the note does not settle it.
    expect(p.channels[0]?.time).toEqual({ value: null, unit: 'unknown', text: null, unitFrom: 'none', raw: '120' });
    expect(p.channels[0]?.fee.stated).toBe(false);
  });

  it('normalises decomposed (NFD) marks to NFC', () => {
    const p = proc('2.002226');
    expect(p.name).toBe('Thông báo thành lập/thay đổi tổ hợp tác');
    expect(p.name).toBe(p.name.normalize('NFC'));
    const text = JSON.stringify(p);
    expect(text).toBe(text.normalize('NFC'));
  });

  it('reads word time cells as unknown and fees as not stated (tax records)', () => {
    const p = proc('1.009824');
    expect(p.channels.map((c) => c.kind)).toEqual(['direct', 'online', 'postal']);
    expect(p.channels.every((c) => c.time.unit === 'unknown' && c.time.text === null && !c.fee.stated)).toBe(true);
    expect(p.channels[0]?.description).toMatch(/^Tại Trung tâm phục vụ hành chính công/);
  });

  it('parses the documents table with case headings and documents to show', () => {
    const p = proc('1.001193');
    const first = p.documents[0];
    expect(first).toEqual({
      name: 'Trường hợp trẻ em bị bỏ rơi thì phải có biên bản về việc trẻ bị bỏ rơi do cơ quan có thẩm quyền lập.',
      kind: 'submit',
      quantity: '1 bản chính',
      form: null,
      group: 'Giấy tờ phải nộp',
    });
    const show = p.documents.filter((d) => d.kind === 'show');
    expect(show.length).toBeGreaterThan(0);
    expect(show.every((d) => d.group === 'Giấy tờ phải xuất trình')).toBe(true);
    expect(show.some((d) => d.name.startsWith('Hộ chiếu/Thẻ căn cước công dân/Thẻ căn cước'))).toBe(true);
    const tcc = proc('1.000178').documents;
    expect(tcc.map((d) => d.name)).toEqual([
      'Tài liệu, chứng cứ do các bên cung cấp',
      'Quyết định giải quyết khiếu nại',
      'Báo cáo kết quả xác minh nội dung khiếu nại',
      'Thông báo thụ lý khiếu nại',
      'Các tài liệu khác có liên quan',
      'Biên bản tổ chức đối thoại (nếu có)',
      'Biên bản kiểm tra, xác minh, kết luận, kết quả giám định (nếu có)',
      'Đơn khiếu nại hoặc bản ghi nội dung khiếu nại',
    ]);
    expect(tcc.every((d) => d.quantity === '1 bản chính' && d.group === null)).toBe(true);
  });

  it('parses the legal basis table into title and number pairs', () => {
    expect(proc('1.000178').legalBasis).toEqual([
      {
        title: 'Hướng dẫn xử lý khiếu nại, kiến nghị, phản ánh; giải quyết khiếu nại và quản lý công tác giải quyết khiếu nại trong công an nhân dân',
        number: '68/2013/TT-BCA',
      },
      { title: 'Luật Khiếu nại năm 2011', number: '02/2011/QH13' },
      { title: 'Quy định quy trình giải quyết khiếu nại trong công an nhân dân', number: '11/2015/TT-BCA' },
      { title: 'Nghị định 05/2012/NĐ-CP', number: '05/2012/NĐ-CP' },
    ]);
    const ks = proc('1.001193').legalBasis;
    expect(ks).toContainEqual({ title: 'Luật 60/2014/QH13', number: '60/2014/QH13' });
    expect(ks).toContainEqual({ title: 'Thông tư số 03/2023/TT-BTP ngày 02/8/2023 của Bộ trưởng Bộ Tư pháp', number: '03/2023/TT-BTP' });
    expect(ks).toContainEqual({
      title: 'Nghị quyết số 66.7/2025/NQ-CP của Chính phủ: Quy định cắt giảm, đơn giản hóa thủ tục hành chính dựa trên dữ liệu',
      number: '66.7/2025/NQ-CP',
    });
  });

  it('splits the steps at "Bước n:"', () => {
    const steps = proc('1.000178').steps;
    expect(steps).toHaveLength(5);
    expect(steps[0]).toMatch(/^Bước 1: Thụ lý giải quyết khiếu nại/);
    expect(steps[4]).toMatch(/^Bước 5:/);
  });

  it('never writes a time text without its unit', () => {
    for (const p of byCode.values()) {
      for (const c of p.channels) {
        if (c.time.unit === 'unknown') expect(c.time.text).toBeNull();
        else expect(c.time.text).toMatch(/(ngày|giờ|phút|tháng|năm)/);
      }
    }
  });
});

describe('importPortal failures', () => {
  it('names the file and line of a broken JSON line, and leaves the catalogue as it was', async () => {
    const before = await snapshot(outDir);
    const input = join(FIXTURES, 'broken-json.jsonl');
    const err = await importPortal({ input, outDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogueError);
    if (!(err instanceof CatalogueError)) return;
    expect(err.code).toBe('CATALOGUE_BAD_JSON');
    expect(err.file).toBe(input);
    expect(err.line).toBe(3);
    expect(err.message).toContain('line 3');
    expect(await snapshot(outDir)).toEqual(before);
    expect((await readdir(work)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('names the field of a record missing ma_thu_tuc', async () => {
    const before = await snapshot(outDir);
    const input = join(FIXTURES, 'missing-code.jsonl');
    const err = await importPortal({ input, outDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogueError);
    if (!(err instanceof CatalogueError)) return;
    expect(err.code).toBe('CATALOGUE_INVALID_RECORD');
    expect(err.line).toBe(2);
    expect(err.field).toBe('ma_thu_tuc');
    expect(await snapshot(outDir)).toEqual(before);
  });

  it('fails on a duplicate code', async () => {
    const dup = join(work, 'dup.jsonl');
    const first = (await readFile(RECORDS, 'utf8')).split('\n')[0] ?? '';
    await writeFile(dup, `${first}\n${first}\n`);
    const err = await importPortal({ input: dup, outDir: join(work, 'dup-out') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogueError);
    if (err instanceof CatalogueError) expect([err.code, err.line]).toEqual(['CATALOGUE_DUPLICATE_CODE', 2]);
    expect(existsSync(join(work, 'dup-out'))).toBe(false);
  });

  it('keeps list-only procedures for codes the crawl still lacks', async () => {
    const dir = join(work, 'keep');
    await mkdir(dir, { recursive: true });
    const listOnly = {
      field: 'Thủ tục chỉ có trong danh sách',
      procedures: [listOnlyProc('9.000001'), listOnlyProc('1.001193')],
    };
    await writeFile(join(dir, 'list-only.json'), JSON.stringify(listOnly));
    const r = await importPortal({ input: RECORDS, outDir: dir });
    expect(r.listOnlyKept).toBe(1);
    const kept = NationalFile.parse(JSON.parse(await readFile(join(dir, 'list-only.json'), 'utf8')));
    expect(kept.procedures.map((p) => p.code)).toEqual(['9.000001']);
  });
});

describe('importPortal with records carrying another procedure\'s page', () => {
  const MISMATCH = join(FIXTURES, 'content-mismatch.jsonl');
  let dir: string;
  let r: ImportReport;
  const out = new Map<string, { file: string; p: Procedure }>();

  beforeAll(async () => {
    dir = join(work, 'mismatch');
    const core = join(work, 'mismatch-core.txt');
    // The shared core list names 3.000285 (judged on the farming page it holds).
    await writeFile(core, '3.000285\n1.013950\n');
    r = await importPortal({ input: MISMATCH, outDir: dir, coreCodesFile: core });
    for (const f of await readdir(dir)) {
      const file = NationalFile.parse(JSON.parse(await readFile(join(dir, f), 'utf8')));
      for (const p of file.procedures) out.set(p.code, { file: f, p });
    }
  });

  it('reports the flagged codes and writes every record', () => {
    expect(r.contentMismatch).toEqual(['2.001428', '3.000285', '3.000332']);
    expect([r.records, r.written, r.full]).toEqual([7, 7, 4]);
    expect(r.warnings.filter((w) => /content mismatch/.test(w))).toHaveLength(3);
    expect(r.warnings.some((w) => w.startsWith('3.000285: listed as commune core'))).toBe(true);
  });

  it('writes a flagged record as a list-only record with none of the other page\'s content', () => {
    const got = out.get('3.000285');
    expect(got?.file).toBe('list-only.json');
    expect(got?.p).toEqual({
      code: '3.000285',
      name: 'Hỗ trợ phát triển sản xuất cộng đồng.', // the crawl's; a workbook import replaces it
      decision: null,
      levels: [],
      type: null,
      field: 'Thủ tục chỉ có trong danh sách',
      agencies: { competent: null, executing: null, authorized: null, coordinating: null, receivingAddress: null },
      targets: [],
      steps: [],
      channels: [],
      documents: [],
      legalBasis: [],
      conditions: null,
      result: null,
      related: null,
      sourceUrl: null,
      ministry: 'bo-cong-an',
      communeCore: false,
      origin: 'portal',
      detail: 'list',
    });
  });

  it('keeps the legitimate near-duplicates full, in their field files', () => {
    for (const code of ['1.003870', '1.003880', '1.013825', '1.013950']) {
      const got = out.get(code);
      expect(got?.p.detail, code).toBe('full');
      expect(got?.file, code).not.toBe('list-only.json');
      expect(got?.p.steps.length, code).toBeGreaterThan(0);
    }
    expect(out.get('1.013950')?.p.communeCore).toBe(true);
    // No field file is left for the field only the foreign pages carried.
    expect(Object.keys(r.perField).sort()).toEqual(['Thủy lợi', 'Đất đai']);
  });
});

function listOnlyProc(code: string): Procedure {
  return {
    code,
    name: 'Thủ tục thử',
    decision: null,
    levels: [],
    type: null,
    field: 'Thử',
    agencies: { competent: null, executing: null, authorized: null, coordinating: null, receivingAddress: null },
    targets: [],
    steps: [],
    channels: [],
    documents: [],
    legalBasis: [],
    conditions: null,
    result: null,
    related: null,
    sourceUrl: null,
    ministry: null,
    communeCore: false,
    origin: 'portal',
    detail: 'list',
  };
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) out[f] = await readFile(join(dir, f), 'utf8');
  return out;
}
