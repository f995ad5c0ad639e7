import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogueError } from '../../src/catalogue/catalogue-error.js';
import { importPortal } from '../../src/catalogue/import-portal.js';
import { importXlsx } from '../../src/catalogue/import-xlsx.js';
import { NationalFile } from '../../src/catalogue/national-file.js';

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

  it('reports a name that differs from the full record', async () => {
    const file = join(work, 'renamed.xlsx');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(WORKBOOK);
    const ws = wb.worksheets[0];
    if (!ws) throw new Error('no sheet');
    ws.getRow(5).getCell(2).value = 'Tên khác hẳn';
    await wb.xlsx.writeFile(file);
    const r = await importXlsx({ input: file, catalogueDir, outDir: join(work, 'renamed-out') });
    expect(r.nameMismatches).toEqual([{ code: '3.000165', row: 5, catalogue: 'Đăng ký cấp sao bản án, tài liệu trong hồ sơ vụ án', list: 'Tên khác hẳn' }]);
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

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) out[f] = await readFile(join(dir, f), 'utf8');
  return out;
}
