// The spreadsheet feed: reading CSV and XLSX exports of one-stop systems, row errors with line
// numbers, the dry run, and the all-or-nothing import (PGlite and PostgreSQL).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import ExcelJS from 'exceljs';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { StaffRepository } from '../../src/store/staff-repository.js';
import { DossierRepository } from '../../src/dossiers/dossier-repository.js';
import { DossierVerifier, lastFourDigits } from '../../src/dossiers/verification.js';
import { DossierImporter, readRows, readSpreadsheet, SpreadsheetError } from '../../src/dossiers/import.js';
import { ImportMappingRepository, EMPTY_MAPPING, headerKey, matchHeader } from '../../src/dossiers/import-mapping.js';
import { parseCsv, guessDelimiter } from '../../src/dossiers/csv.js';
import { parseLocalDate, localInstant } from '../../src/dossiers/local-time.js';
import { parseStatusText } from '../../src/dossiers/status.js';
import { TEST_DATABASE_URL, isolatedName } from '../helpers/services.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/dossiers');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name));
const local = (y: number, m: number, d: number, h = 0, mi = 0, s = 0) => new Date(Date.UTC(y, m - 1, d, h - 7, mi, s));
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });
const verifier = new DossierVerifier('v'.repeat(40));
const EXPORTED = local(2024, 3, 31, 17);

describe('reading files', () => {
  it('parses quoted CSV fields with commas, quotes and line breaks, keeping the line each record starts on', () => {
    const records = parseCsv('\ufeffa,b\r\n"x, y","he said ""hi""\nand left"\r\n3,4');
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x, y', 'he said "hi"\nand left'] },
      { line: 4, fields: ['3', '4'] },
    ]);
    expect(guessDelimiter('Mã hồ sơ;Thủ tục;"a,b"')).toBe(';');
    expect(guessDelimiter('a\tb\tc')).toBe('\t');
    expect(() => parseCsv('a,"b\nc')).toThrow(/dòng 1/);
  });

  it('reads Vietnamese dates in local time, a date alone as the start or the end of the day', () => {
    const at = (s: string, edge: 'start' | 'end' = 'start') => {
      const l = parseLocalDate(s);
      return l ? localInstant(l, edge).toISOString() : undefined;
    };
    expect(at('15/03/2024')).toBe('2024-03-14T17:00:00.000Z');
    expect(at('15/03/2024', 'end')).toBe('2024-03-15T16:59:59.000Z');
    expect(at('1/4/2024 0:30')).toBe('2024-03-31T17:30:00.000Z');
    expect(at('14h30 15/03/2024')).toBe('2024-03-15T07:30:00.000Z');
    expect(at('15-03-2024 14:30:05')).toBe('2024-03-15T07:30:05.000Z');
    expect(at('2024-03-15T14:30')).toBe('2024-03-15T07:30:00.000Z');
    for (const bad of ['32/01/2024', '29/02/2023', '15/13/2024', '15/03/24', '15/03/2024 25:00', 'hôm qua', '']) expect(at(bad)).toBeUndefined();
    expect(at('29/02/2024')).toBe('2024-02-28T17:00:00.000Z');
  });

  it('takes the last 4 digits of a phone number, also inside an address, and nothing from a short number', () => {
    expect(lastFourDigits('0912 345 678')).toBe('5678');
    expect(lastFourDigits('0987.654.321')).toBe('4321');
    expect(lastFourDigits('+84 905 111 222')).toBe('1222');
    expect(lastFourDigits('Số 12 thôn Đông, 0912-345-679')).toBe('5679');
    expect(lastFourDigits('912345678')).toBe('5678');
    expect(lastFourDigits('12 34')).toBeNull();
    expect(lastFourDigits('Thôn Đông')).toBeNull();
  });

  it('knows the statuses as exports spell them, and a unit’s own spellings', () => {
    expect(parseStatusText('ĐANG GIẢI QUYẾT')).toBe('processing');
    expect(parseStatusText('Chờ bổ sung hồ sơ.')).toBe('needs_supplement');
    expect(parseStatusText('Da tra ket qua')).toBe('returned');
    expect(parseStatusText('result_ready')).toBe('result_ready');
    expect(parseStatusText('Đang chờ ký')).toBeUndefined();
    expect(parseStatusText('đang chờ ký', { 'Đang chờ ký': 'processing' })).toBe('processing');
  });

  it('matches headers folded, without marks, case or a bracketed hint', () => {
    expect(headerKey('NGÀY TIẾP NHẬN (dd/mm/yyyy)')).toBe('ngay tiep nhan');
    const cols = matchHeader(['STT', 'Mã hồ sơ', 'Họ tên', 'Ngay tiep nhan', 'Trạng thái', 'Thủ tục', 'SĐT'], EMPTY_MAPPING);
    expect(cols).toEqual({ code: 1, receivedAt: 3, status: 4, procedureName: 5, phone: 6 });
    expect(matchHeader(['Số HS', 'Nhận ngày'], { columns: { code: ['Số HS'], receivedAt: ['Nhận ngày'] }, statuses: {} })).toEqual({ code: 0, receivedAt: 1 });
  });

  it('refuses an old .xls, a CSV that is not UTF-8, an empty file and a broken XLSX, in Vietnamese', async () => {
    await expect(readSpreadsheet(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0, 0]), 'so.xls')).rejects.toThrow(/\.xls \(Excel 97–2003\)/);
    await expect(readSpreadsheet(fixture('windows-1258.csv'), 'cu.csv')).rejects.toThrow(/không phải mã UTF-8/);
    await expect(readSpreadsheet(Buffer.alloc(0), 'rong.csv')).rejects.toThrow(SpreadsheetError);
    await expect(readSpreadsheet(Buffer.from('PK\x03\x04 not a zip at all'), 'hong.xlsx')).rejects.toThrow(/Không đọc được tệp XLSX/);
  });

  it('reads the one-stop export: title rows, quoted line breaks, footers skipped, names never read', async () => {
    const sheet = await readSpreadsheet(fixture('so-theo-doi-ho-so.csv'), 'so.csv');
    const r = readRows(sheet, { unitId: 'xa-a', mapping: EMPTY_MAPPING, exportedAt: EXPORTED, digest: (k, d) => verifier.digest('xa-a', k, d) });
    expect(r.errors).toEqual([]);
    expect(r.headerLine).toBe(5);
    expect(r.rows.map((x) => [x.line, x.code, x.status])).toEqual([
      [6, '000.00.01.H56-240301-0001', 'returned'],
      [7, '000.00.01.H56-240301-0002', 'result_ready'],
      [8, '000.00.01.H56-240305-0003', 'needs_supplement'],
      [10, '000.00.01.H56-240310-0004', 'processing'],
    ]);
    expect(r.rows[0]).toMatchObject({
      procedureCode: '1.001193',
      procedureName: 'Đăng ký khai sinh',
      receivedAt: local(2024, 3, 1, 8, 15).toISOString(),
      dueAt: local(2024, 3, 5, 23, 59, 59).toISOString(),
      statusSince: local(2024, 3, 4, 15).toISOString(),
      pickupPlace: 'Bộ phận Một cửa UBND xã',
      verification: verifier.digest('xa-a', '000.00.01.H56-240301-0001', '5678'),
    });
    expect(r.rows[2]?.missing).toBe('Bản sao CCCD của bên nữ\n(bản chụp rõ hai mặt)');
    expect(r.rows[3]?.verification).toBeUndefined();
    expect(r.notes).toEqual([expect.stringContaining('Dòng 13: không có ngày tiếp nhận')]);
    const text = JSON.stringify(r.rows);
    for (const personal of ['Nguyễn Văn An', 'Trần Thị Bình', '0912', '345 678', '5678', '4321', '1222']) expect(text).not.toContain(personal);
  });

  it('reports every bad row of a malformed file with its line, in Vietnamese, and keeps the good ones apart', async () => {
    const sheet = await readSpreadsheet(fixture('loi-nhieu-dong.csv'), 'loi.csv');
    const r = readRows(sheet, { unitId: 'xa-a', mapping: EMPTY_MAPPING, exportedAt: EXPORTED, digest: (k, d) => verifier.digest('xa-a', k, d) });
    expect(r.errors.map((e) => e.message)).toEqual([
      'Dòng 3: Ngày tiếp nhận “32/01/2024” không phải ngày hợp lệ (cần dd/MM/yyyy hoặc dd/MM/yyyy HH:mm).',
      'Dòng 4: ngày hẹn trả ở trước ngày tiếp nhận.',
      expect.stringMatching(/^Dòng 5: trạng thái “Đang chờ ký” không nhận ra/),
      'Dòng 6: mã hồ sơ không được để trống.',
      'Dòng 7: mã hồ sơ “HS-001” đã có ở dòng 2 với nội dung khác.',
      'Dòng 8: số điện thoại không đọc được (cần ít nhất 8 chữ số).',
      'Dòng 9: thiếu trạng thái.',
    ]);
    expect(r.errors.map((e) => e.line)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(r.rows.map((x) => x.code)).toEqual(['HS-001']);
    // The unit's own spelling of a status makes line 5 valid.
    const own = readRows(sheet, { unitId: 'xa-a', mapping: { columns: {}, statuses: { 'Đang chờ ký': 'processing' } }, exportedAt: EXPORTED, digest: (k, d) => verifier.digest('xa-a', k, d) });
    expect(own.errors.map((e) => e.line)).not.toContain(5);
  });

  it('says which columns are missing, and when no header row is found', async () => {
    const noStatus = readRows(await readSpreadsheet(Buffer.from('Mã hồ sơ,Ngày tiếp nhận\nHS-1,01/03/2024\n'), 'a.csv'), {
      unitId: 'xa-a',
      mapping: EMPTY_MAPPING,
      exportedAt: EXPORTED,
      digest: (k, d) => verifier.digest('xa-a', k, d),
    });
    expect(noStatus.errors).toEqual([{ line: 1, message: 'Thiếu cột: “Trạng thái”, “Thủ tục”.' }]);
    const noHeader = readRows(await readSpreadsheet(Buffer.from('a,b\n1,2\n'), 'b.csv'), { unitId: 'xa-a', mapping: EMPTY_MAPPING, exportedAt: EXPORTED, digest: (k, d) => verifier.digest('xa-a', k, d) });
    expect(noHeader.errors[0]?.message).toMatch(/^Không tìm thấy dòng tiêu đề có cột “Mã hồ sơ” và cột “Ngày tiếp nhận”/);
  });

  it('reads an XLSX export: merged title, date cells as local wall clock, text dates, numbers for phones', async () => {
    const data = await xlsxExport();
    const r = readRows(await readSpreadsheet(data, 'so.xlsx'), { unitId: 'xa-a', mapping: EMPTY_MAPPING, exportedAt: EXPORTED, digest: (k, d) => verifier.digest('xa-a', k, d) });
    expect(r.errors).toEqual([]);
    expect(r.headerLine).toBe(3);
    expect(r.rows).toHaveLength(2);
    expect(r.rows[0]).toMatchObject({
      line: 4,
      code: 'HS-X-1',
      receivedAt: local(2024, 3, 1, 8, 15).toISOString(),
      dueAt: local(2024, 3, 5, 23, 59, 59).toISOString(),
      status: 'processing',
      verification: verifier.digest('xa-a', 'HS-X-1', '5678'),
    });
    expect(r.rows[1]).toMatchObject({ line: 5, code: 'HS-X-2', receivedAt: local(2024, 3, 2).toISOString(), status: 'result_ready', procedureName: 'Đăng ký kết hôn' });
  });
});

/** An XLSX as a one-stop system exports it. */
async function xlsxExport(): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Sổ theo dõi');
  ws.mergeCells('A1:G1');
  ws.getCell('A1').value = 'SỔ THEO DÕI HỒ SƠ';
  ws.getRow(3).values = ['STT', 'Mã hồ sơ', 'Thủ tục', 'Họ và tên', 'Điện thoại', 'Ngày tiếp nhận', 'Ngày hẹn trả', 'Tình trạng'];
  // exceljs writes a Date as the wall clock in its UTC fields.
  ws.getRow(4).values = [1, 'HS-X-1', 'Đăng ký khai sinh', 'Nguyễn Văn An', 912345678, new Date(Date.UTC(2024, 2, 1, 8, 15)), '05/03/2024', 'Đang xử lý'];
  ws.getRow(5).values = [2, { richText: [{ text: 'HS-' }, { text: 'X-2' }] }, 'Đăng ký kết hôn', 'Lê Thị Hoa', '', new Date(Date.UTC(2024, 2, 2)), new Date(Date.UTC(2024, 2, 9)), 'Đã có kết quả'];
  return Buffer.from(await wb.xlsx.writeBuffer());
}

const schema = isolatedName('dossier_import');
afterAll(async () => {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

describe.each([
  ['pglite', () => openDatabase({ dataDir: 'memory://' })],
  ['postgres', () => openDatabase({ url: TEST_DATABASE_URL, schema })],
] as const)('import on %s', (_name, open) => {
  let db: Database;
  let repo: DossierRepository;
  let importer: DossierImporter;
  let mappings: ImportMappingRepository;
  let officer = 0;
  let other = 0;
  const now = local(2024, 4, 1, 9);
  const count = async (table: string, where = 'true') => Number((await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${table} WHERE ${where}`))[0]?.n ?? 0);

  beforeAll(async () => {
    db = await open();
    await migrate(db);
    await new UnitRepository(db).upsert([unit('xa-a'), unit('xa-b')]);
    const staff = new StaffRepository(db);
    officer = (await staff.create({ username: 'canbo.a', role: 'officer', unitId: 'xa-a' }))?.user.id ?? 0;
    other = (await staff.create({ username: 'canbo.a2', role: 'officer', unitId: 'xa-a' }))?.user.id ?? 0;
    repo = new DossierRepository(db, verifier);
    mappings = new ImportMappingRepository(db);
    importer = new DossierImporter({ db, dossiers: repo, mappings });
  });
  afterAll(() => db.close());

  it('writes nothing for a malformed file: no dossier, no pending import, no token', async () => {
    const p = await importer.preview({ unitId: 'xa-a', actor: officer, fileName: 'loi.csv', data: fixture('loi-nhieu-dong.csv'), exportedAt: EXPORTED, now });
    expect(p.errors).toHaveLength(7);
    expect(p.token).toBeNull();
    expect(await count('dossiers')).toBe(0);
    expect(await count('dossier_imports')).toBe(0);
    const broken = await importer.preview({ unitId: 'xa-a', actor: officer, fileName: 'hong.xlsx', data: Buffer.from('PK\x03\x04xx'), now });
    expect(broken.errors[0]?.message).toMatch(/Không đọc được tệp XLSX/);
    const future = await importer.preview({ unitId: 'xa-a', actor: officer, fileName: 'a.csv', data: fixture('so-theo-doi-ho-so.csv'), exportedAt: local(2024, 4, 2), now });
    expect(future.errors[0]?.message).toBe('Thời điểm xuất tệp ở tương lai.');
  });

  it('previews without writing, then imports every row once, with history from the import and digits only hashed', async () => {
    const p = await importer.preview({ unitId: 'xa-a', actor: officer, fileName: 'so-theo-doi.csv', data: fixture('so-theo-doi-ho-so.csv'), exportedAt: EXPORTED, now });
    expect(p.errors).toEqual([]);
    expect(p.counts).toEqual({ created: 4, updated: 0, unchanged: 0, stale: 0 });
    expect(p.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await count('dossiers')).toBe(0);
    // The pending rows hold no phone number, no name and no 4 digits.
    const pending = await db.query<{ t: string }>(`SELECT rows::text AS t FROM dossier_imports`);
    for (const personal of ['Nguyễn Văn An', '0912', '345 678', '"5678"']) expect(pending[0]?.t).not.toContain(personal);

    // Only the officer who previewed can confirm, only in that unit.
    expect(await importer.confirm({ unitId: 'xa-a', actor: other, token: p.token ?? '' })).toEqual({ ok: false, reason: 'not_found' });
    expect(await importer.confirm({ unitId: 'xa-b', actor: officer, token: p.token ?? '' })).toEqual({ ok: false, reason: 'not_found' });
    const done = await importer.confirm({ unitId: 'xa-a', actor: officer, token: p.token ?? '' });
    expect(done).toMatchObject({ ok: true, rows: 4, counts: { created: 4, updated: 0, unchanged: 0, stale: 0 }, fileName: 'so-theo-doi.csv' });
    expect(await importer.confirm({ unitId: 'xa-a', actor: officer, token: p.token ?? '' })).toEqual({ ok: false, reason: 'applied' });
    expect(await count('dossiers', `unit_id = 'xa-a'`)).toBe(4);
    expect(await count('dossier_imports', 'rows IS NOT NULL')).toBe(0);

    const returned = await repo.getByCode('xa-a', '000.00.01.H56-240301-0001');
    expect(returned).toMatchObject({ status: 'returned', statusAt: local(2024, 3, 4, 15), resolvedAt: local(2024, 3, 4, 15), pickupPlace: 'Bộ phận Một cửa UBND xã' });
    const events = await repo.history(returned?.id ?? 0);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ source: 'import', importId: done.ok ? done.importId : -1, actor: officer, actorUsername: 'canbo.a', toStatus: 'returned' });
    expect(await repo.verify('xa-a', '000.00.01.H56-240301-0001', '5678')).toBeDefined();
    expect(await repo.verify('xa-a', '000.00.01.h56-240305-0003', '1222')).toBeDefined();
    const all = await db.query<{ t: string }>(`SELECT row_to_json(d)::text AS t FROM dossiers d`);
    for (const r of all) for (const personal of ['Nguyễn Văn An', 'Trần Thị Bình', '0912', '0987', '905 111']) expect(r.t).not.toContain(personal);

    // The same file again: everything unchanged, no new event.
    const again = await importer.preview({ unitId: 'xa-a', actor: officer, fileName: 'so-theo-doi.csv', data: fixture('so-theo-doi-ho-so.csv'), exportedAt: EXPORTED, now });
    expect(again.counts).toEqual({ created: 0, updated: 0, unchanged: 4, stale: 0 });
    const applied = await importer.confirm({ unitId: 'xa-a', actor: officer, token: again.token ?? '' });
    expect(applied).toMatchObject({ ok: true, counts: { unchanged: 4 } });
    expect(await count('dossier_events')).toBe(4);
  });

  it('skips a row older than a newer update (an API push after the export), and says so in the preview', async () => {
    const d = await repo.getByCode('xa-a', '000.00.01.H56-240310-0004');
    await repo.changeStatus('xa-a', d?.id ?? 0, { status: 'result_ready' }, { source: 'api', actor: null, at: local(2024, 4, 1, 8) });
    const p = await importer.preview({ unitId: 'xa-a', actor: officer, fileName: 'so.csv', data: fixture('so-theo-doi-ho-so.csv'), exportedAt: EXPORTED, now });
    expect(p.rows.find((r) => r.code === '000.00.01.H56-240310-0004')?.outcome).toBe('stale');
    expect(p.counts).toEqual({ created: 0, updated: 0, unchanged: 3, stale: 1 });
    await importer.confirm({ unitId: 'xa-a', actor: officer, token: p.token ?? '' });
    expect((await repo.getByCode('xa-a', '000.00.01.H56-240310-0004'))?.status).toBe('result_ready');
  });

  it('is all or nothing: a row failing while it is written rolls the whole import back', async () => {
    const file = Buffer.from('Mã hồ sơ,Thủ tục,Ngày tiếp nhận,Trạng thái\nHS-A1,Đăng ký khai sinh,02/03/2024,Đang xử lý\nHS-A2,Đăng ký khai sinh,02/03/2024,Đang xử lý\n');
    const p = await importer.preview({ unitId: 'xa-a', actor: officer, fileName: 'a.csv', data: file, exportedAt: EXPORTED, now });
    expect(p.counts.created).toBe(2);
    // A row the database refuses (a code longer than the column allows), appended after the preview.
    await db.query(`UPDATE dossier_imports SET rows = rows || $1::jsonb WHERE status = 'previewed'`, [
      JSON.stringify([{ line: 4, code: 'X'.repeat(101), procedureName: 'Đăng ký khai sinh', receivedAt: local(2024, 3, 2).toISOString(), status: 'processing' }]),
    ]);
    await expect(importer.confirm({ unitId: 'xa-a', actor: officer, token: p.token ?? '' })).rejects.toThrow();
    expect(await repo.getByCode('xa-a', 'HS-A1')).toBeUndefined();
    expect(await count('dossier_imports', `status = 'previewed'`)).toBe(1);
  });

  it('uses the unit’s column mapping, and another unit keeps the default', async () => {
    const file = Buffer.from('Số HS;Dịch vụ;Nhận ngày;Tình hình\nHS-M1;Đăng ký khai sinh;02/03/2024;Đang chờ ký\n');
    await mappings.set('xa-b', { columns: { code: ['Số HS'], procedureName: ['Dịch vụ'], receivedAt: ['Nhận ngày'], status: ['Tình hình'] }, statuses: { 'Đang chờ ký': 'processing' } }, officer);
    const b = await importer.preview({ unitId: 'xa-b', actor: officer, fileName: 'b.csv', data: file, exportedAt: EXPORTED, now });
    expect(b.errors).toEqual([]);
    expect(b.rows).toMatchObject([{ code: 'HS-M1', status: 'processing', outcome: 'created' }]);
    const a = await importer.preview({ unitId: 'xa-a', actor: officer, fileName: 'b.csv', data: file, exportedAt: EXPORTED, now });
    expect(a.errors[0]?.message).toMatch(/^Không tìm thấy dòng tiêu đề/);
  });
});
