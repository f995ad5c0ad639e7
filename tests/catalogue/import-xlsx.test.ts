import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogueError } from '../../src/catalogue/catalogue-error.js';
import { importPortal } from '../../src/catalogue/import-portal.js';
import { importXlsx } from '../../src/catalogue/import-xlsx.js';
import { NationalFile } from '../../src/catalogue/national-file.js';
import type { Procedure } from '../../src/catalogue/schema.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const WORKBOOK = join(FIXTURES, 'xlsx', 'danh-sach-tthc-ToaAnNhanDan.xlsx');

let work: string;
let catalogueDir: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'motcua-import-xlsx-'));
  catalogueDir = join(work, 'national');
  // The portal fixture holds 3.000165 but not the court's two other procedures.
  await importPortal({ input: join(FIXTURES, 'portal', 'records.jsonl'), outDir: catalogueDir });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('importXlsx on a real "Danh sách TTHC" workbook', () => {
  it('finds the header under the title block and adds list-only procedures for missing codes', async () => {
    const before = await readFile(join(catalogueDir, 'toa-an.json'), 'utf8');
    const r = await importXlsx({ input: WORKBOOK, catalogueDir });
    expect(r.sheet).toBe('Danh sách TTHC');
    expect(r.headerRow).toBe(2);
    expect(r.inCatalogue).toBe(1);
    expect(r.listOnlyAdded).toBe(2);
    expect(r.nameMismatches).toEqual([]);
    // Full records are left exactly as they were.
    expect(await readFile(join(catalogueDir, 'toa-an.json'), 'utf8')).toBe(before);
    const listOnly = NationalFile.parse(JSON.parse(await readFile(join(catalogueDir, 'list-only.json'), 'utf8')));
    expect(listOnly.procedures.map((p) => p.code)).toEqual(['3.000163', '3.000164']);
    const p = listOnly.procedures[1];
    expect(p?.name).toBe('Đăng ký nhận các thông báo, văn bản tố tụng bằng phương tiện điện tử');
    expect(p?.field).toBe('Tòa án');
    expect(p?.detail).toBe('list');
    expect(p?.steps).toEqual([]);
    expect(p?.channels).toEqual([]);
    expect(p?.documents).toEqual([]);
    expect(p?.agencies.executing).toMatch(/^Tòa án nhân dân cấp cao; Tòa án nhân dân tỉnh/);
  });

  it('is idempotent: a second run adds nothing and keeps the file', async () => {
    const before = await readFile(join(catalogueDir, 'list-only.json'), 'utf8');
    const r = await importXlsx({ input: WORKBOOK, catalogueDir });
    expect(r.listOnlyAdded).toBe(0);
    expect(r.listOnlyTotal).toBe(2);
    expect(await readFile(join(catalogueDir, 'list-only.json'), 'utf8')).toBe(before);
  });

  it('reports names that differ from full records, different ones first, without touching them', async () => {
    const file = join(work, 'renamed.xlsx');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(WORKBOOK);
    const ws = wb.worksheets[0];
    if (!ws) throw new Error('no sheet');
    // Row 5 is 3.000165, a full record: first a rewording, then another name altogether.
    ws.getRow(5).getCell(2).value = 'Đăng ký cấp sao bản án, tài liệu trong hồ sơ vụ án dân sự';
    await wb.xlsx.writeFile(file);
    const out = join(work, 'renamed-out');
    const r = await importXlsx({ input: file, catalogueDir, outDir: out });
    expect(r.nameMismatches).toEqual([
      {
        code: '3.000165',
        row: 5,
        catalogue: 'Đăng ký cấp sao bản án, tài liệu trong hồ sơ vụ án',
        list: 'Đăng ký cấp sao bản án, tài liệu trong hồ sơ vụ án dân sự',
        similarity: 'similar',
        overlap: 0.92,
      },
    ]);
    ws.getRow(5).getCell(2).value = 'Tên khác hẳn';
    await wb.xlsx.writeFile(file);
    const r2 = await importXlsx({ input: file, catalogueDir, outDir: out });
    expect(r2.nameMismatches).toEqual([
      { code: '3.000165', row: 5, catalogue: 'Đăng ký cấp sao bản án, tài liệu trong hồ sơ vụ án', list: 'Tên khác hẳn', similarity: 'different', overlap: 0 },
    ]);
    expect(await readFile(join(out, 'toa-an.json'), 'utf8')).toBe(await readFile(join(catalogueDir, 'toa-an.json'), 'utf8'));
  });

  it('lists different names before similar ones', async () => {
    const dir = join(work, 'two-full');
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('DS');
    ws.addRow(['Mã số', 'Tên', 'Lĩnh vực']);
    ws.addRow(['1.001193', 'Đăng ký khai sinh', 'Hộ tịch']);
    ws.addRow(['1.000094', 'Hỗ trợ phát triển sản xuất cộng đồng', 'Hộ tịch']);
    const file = join(work, 'two-full.xlsx');
    await wb.xlsx.writeFile(file);
    await importPortal({ input: join(FIXTURES, 'portal', 'records.jsonl'), outDir: dir });
    const r = await importXlsx({ input: file, catalogueDir: dir });
    expect(r.nameMismatches.map((m) => [m.code, m.similarity])).toEqual([
      ['1.000094', 'different'],
      ['1.001193', 'similar'],
    ]);
  });

  it('names sheet, row and column of a bad code and leaves the catalogue unchanged', async () => {
    const file = join(work, 'bad.xlsx');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(WORKBOOK);
    const ws = wb.worksheets[0];
    if (!ws) throw new Error('no sheet');
    ws.getRow(4).getCell(1).value = 'TTHC-04';
    await wb.xlsx.writeFile(file);
    const before = await snapshot(catalogueDir);
    const err = await importXlsx({ input: file, catalogueDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogueError);
    if (!(err instanceof CatalogueError)) return;
    expect([err.file, err.sheet, err.row, err.column]).toEqual([file, 'Danh sách TTHC', 4, 'Mã số']);
    expect(await snapshot(catalogueDir)).toEqual(before);
  });

  it('fails on a workbook without the header labels', async () => {
    const file = join(work, 'noheader.xlsx');
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('Trang 1').addRow(['Mã', 'Tên thủ tục']);
    await wb.xlsx.writeFile(file);
    const err = await importXlsx({ input: file, catalogueDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogueError);
    if (err instanceof CatalogueError) expect([err.code, err.sheet]).toEqual(['CATALOGUE_BAD_SHEET', 'Trang 1']);
  });

  it('finds the header by its labels when columns move', async () => {
    const file = join(work, 'moved.xlsx');
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('DS');
    ws.addRow(['DANH SÁCH THỦ TỤC HÀNH CHÍNH']);
    ws.addRow([]);
    ws.addRow(['Lĩnh vực', 'Tên', 'Mã số']);
    ws.addRow(['Hộ tịch', 'Thủ tục thử nghiệm', '9.000002']);
    await wb.xlsx.writeFile(file);
    const out = join(work, 'moved-out');
    const r = await importXlsx({ input: file, catalogueDir, outDir: out });
    expect([r.headerRow, r.listOnlyAdded]).toEqual([3, 1]);
    const listOnly = NationalFile.parse(JSON.parse(await readFile(join(out, 'list-only.json'), 'utf8')));
    expect(listOnly.procedures.find((p) => p.code === '9.000002')?.field).toBe('Hộ tịch');
  });
});

describe('importXlsx with the catalogue root and flagged records', () => {
  const BO_CONG_AN = join(FIXTURES, 'xlsx', 'danh-sach-tthc-BoCongAn.xlsx');
  let root: string;

  beforeAll(async () => {
    root = join(work, 'procedures');
    await mkdir(join(root, 'curated'), { recursive: true });
    await writeFile(join(root, 'curated', 'keep.yaml'), 'procedures: []\n');
    await writeFile(join(root, 'dictionary.yaml'), 'x: 1\n');
    // Real records: 3.000285, 3.000332 and 2.001428 hold other procedures' pages.
    await importPortal({ input: join(FIXTURES, 'portal', 'content-mismatch.jsonl'), outDir: join(root, 'national') });
  });

  async function listOnly(): Promise<Map<string, Procedure>> {
    const file = NationalFile.parse(JSON.parse(await readFile(join(root, 'national', 'list-only.json'), 'utf8')));
    return new Map(file.procedures.map((p) => [p.code, p]));
  }

  it('takes the catalogue root (as the CLI passes it) and rewrites only national/', async () => {
    const r = await importXlsx({ input: BO_CONG_AN, catalogueDir: root });
    expect(r.nationalDir).toBe(join(root, 'national'));
    expect(await readFile(join(root, 'curated', 'keep.yaml'), 'utf8')).toBe('procedures: []\n');
    expect(await readFile(join(root, 'dictionary.yaml'), 'utf8')).toBe('x: 1\n');
    expect((await readdir(root)).sort()).toEqual(['curated', 'dictionary.yaml', 'national']);
    expect(r.listOnlyUpdated).toBe(3);
    expect(r.nameMismatches).toEqual([]);
  });

  it('names a flagged code from the workbook and keeps it list-only', async () => {
    const p = (await listOnly()).get('3.000285');
    expect(p).toMatchObject({
      name: 'Khóa căn cước điện tử (thực hiện tại cấp xã)',
      field: 'Định danh và xác thực điện tử',
      detail: 'list',
      ministry: 'bo-cong-an',
      communeCore: true, // "Công an cấp Xã" in the workbook
      sourceUrl: null,
    });
    expect(p?.agencies.executing).toBe('Công an cấp Xã');
    expect([p?.steps, p?.channels, p?.documents, p?.legalBasis]).toEqual([[], [], [], []]);
    const q = (await listOnly()).get('3.000332');
    expect(q?.name).toMatch(/^Cấp Phiếu lý lịch tư pháp theo yêu cầu của cơ quan tiến hành tố tụng/);
    expect(q?.communeCore).toBe(false);
    expect((await listOnly()).get('2.001428')?.name).toBe('Đăng ký mẫu con dấu mới (thực hiện tại cấp tỉnh)');
  });

  it('keeps the workbook names when the portal import runs again', async () => {
    const before = await readFile(join(root, 'national', 'list-only.json'), 'utf8');
    const r = await importPortal({ input: join(FIXTURES, 'portal', 'content-mismatch.jsonl'), outDir: join(root, 'national') });
    expect(r.contentMismatch).toEqual(['2.001428', '3.000285', '3.000332']);
    expect(await readFile(join(root, 'national', 'list-only.json'), 'utf8')).toBe(before);
    expect((await listOnly()).get('3.000285')?.name).toBe('Khóa căn cước điện tử (thực hiện tại cấp xã)');
  });
});

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) out[f] = await readFile(join(dir, f), 'utf8');
  return out;
}
