// The export files, read back by real readers: the CSV by a strict RFC 4180 reader (BOM,
// Vietnamese headers, formula-looking cells made inert, no respondent anywhere), the XLSX by
// exceljs (a summary laid out like the annex tables, the raw answers, continued on further
// sheets past the row limit); streaming with backpressure; the `report surveys` command.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import type { Database } from '../../src/store/database.js';
import { loadSurveyRegistry } from '../../src/surveys/definition-loader.js';
import { RAW_HEADERS, SUMMARY_HEADERS, inertCell, writeRawCsv, writeReportXlsx, writeSummaryCsv } from '../../src/surveys/export.js';
import { parsePeriod } from '../../src/surveys/period.js';
import { runReportCommand } from '../../src/surveys/report-command.js';
import { respondentHash } from '../../src/surveys/respondent.js';
import { SurveyRepository } from '../../src/surveys/survey-repository.js';
import { FIXTURE, giveFixture } from './fixture.js';
import { KEY, openTestDatabase, unit } from './harness.js';
import { parseCsv } from './rfc4180.js';

const registry = loadSurveyRegistry();
const Q3 = parsePeriod('2026-Q3');
const filter = { period: Q3, family: 'dossier-evaluation' };

/** Collects what is written, slowly (each chunk acknowledged on the next turn), and tracks the backlog. */
class Sink extends Writable {
  readonly chunks: Buffer[] = [];
  maxBacklog = 0;
  constructor() {
    super({ highWaterMark: 16 * 1024 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.chunks.push(chunk);
    this.maxBacklog = Math.max(this.maxBacklog, this.writableLength);
    setImmediate(done);
  }
  buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
const finished = (s: Writable) => new Promise<void>((resolve, reject) => (s.writableFinished ? resolve() : (s.once('finish', resolve), s.once('error', reject))));

async function xlsxOf(write: (out: Writable) => Promise<unknown>): Promise<ExcelJS.Workbook> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((resolve) => out.on('end', resolve));
  await write(out);
  await ended;
  const wb = new ExcelJS.Workbook();
  // exceljs's types predate Node's generic Buffer.
  await wb.xlsx.load(Buffer.concat(chunks) as unknown as ArrayBuffer);
  return wb;
}

const rowValues = (ws: ExcelJS.Worksheet, n: number): unknown[] => {
  const values = ws.getRow(n).values;
  return Array.isArray(values) ? values.slice(1) : [];
};
const findRow = (ws: ExcelJS.Worksheet, pred: (v: unknown[]) => boolean): unknown[] | undefined => {
  for (let i = 1; i <= ws.rowCount; i++) if (pred(rowValues(ws, i))) return rowValues(ws, i);
  return undefined;
};

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase('pglite', 'unused', [unit('xa-a', 'UBND xã An'), unit('xa-b', 'UBND xã Bình'), unit('xa-c', 'UBND xã Châu')]);
  await giveFixture(new SurveyRepository(db, registry, { respondentKey: KEY }));
});
afterAll(() => db?.close());

describe('CSV', () => {
  it('starts with a BOM, has Vietnamese headers, one row per answer, inert formula-looking cells', async () => {
    const sink = new Sink();
    const count = await writeRawCsv(db, sink, { filter, registry, pageSize: 3 });
    await finished(sink);
    const bytes = sink.buffer();
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8');
    const rows = parseCsv(text.slice(1));
    expect(rows[0]).toEqual([...RAW_HEADERS]);
    // Answers of the Q3 dossier phiếu: A1 5, A2 6, A3 6, A4 5, A1' 5, B1 5, B2 5, B3 5, B4 5 = 47.
    expect(count).toBe(47);
    expect(rows).toHaveLength(1 + 47);
    expect(rows.every((r) => r.length === RAW_HEADERS.length)).toBe(true);
    const col = (name: (typeof RAW_HEADERS)[number]) => RAW_HEADERS.indexOf(name);
    // No cell a spreadsheet would run: = + - @ tab CR at the start are behind an apostrophe.
    for (const r of rows) for (const cell of r) expect(cell, cell).not.toMatch(/^[=+\-@\t\r]/);
    const comments = rows.slice(1).map((r) => r[col('Ý kiến')]).filter((c) => c);
    expect(comments).toEqual([`'=HYPERLINK("http://x.example","bấm") gọi # # #`, `'+ phải đi lại, "rất" mệt, nhiều lần`]);
    const b3 = rows.filter((r) => r[col('Mã hồ sơ / Kỳ khảo sát')] === "'@HS-B3");
    expect(b3).toHaveLength(5);
    expect(b3[0]?.[col('Lĩnh vực')]).toBe("'+Đất đai");
    // In completion order, each phiếu's answers in question order, with labels and meaning.
    const a1 = rows.filter((r) => r[col('Mã hồ sơ / Kỳ khảo sát')] === 'HS-A1');
    expect(a1.map((r) => r[col('Mã câu hỏi')])).toEqual(['total-time', 'contact-count', 'agency-count', 'harassment', 'overall', 'total-time', 'contact-count', 'agency-count', 'harassment', 'overall']);
    expect(rows[1]?.slice(0, 14)).toEqual([
      rows[1]?.[0],
      'xa-a',
      'UBND xã An',
      'dossier-evaluation',
      '1',
      'Hồ sơ',
      'HS-A1',
      'Facebook Messenger',
      '',
      '',
      '05/07/2026 09:00:00',
      '1',
      'total-time',
      'So với thời hạn giải quyết theo quy định (ngày hẹn trả kết quả), hồ sơ của ông/bà được giải quyết xong:',
    ]);
    expect(rows[1]?.slice(14)).toEqual(['1', '', 'shorter', 'Sớm hơn hẹn', '2', '', '', '', '']);
    const overall = rows.find((r) => r[col('Mã hồ sơ / Kỳ khảo sát')] === 'HS-B2' && r[col('Mã câu hỏi')] === 'overall');
    expect(overall?.slice(16)).toEqual(['neutral', 'Bình thường', '3', 'Không', 'Bình thường', '', '']);
    const skipped = rows.find((r) => r[col('Mã hồ sơ / Kỳ khảo sát')] === 'HS-A4' && r[col('Mã câu hỏi')] === 'overall');
    expect(skipped?.[col('Bỏ qua')]).toBe('Có');
    // The last half hour of Q3 is in; ten minutes into Q4 is not.
    expect(rows.some((r) => r[col('Hoàn thành lúc (giờ Việt Nam)')] === '30/09/2026 23:30:00')).toBe(true);
    expect(rows.some((r) => r[col('Mã hồ sơ / Kỳ khảo sát')] === 'HS-B5')).toBe(false);
    // Nobody can be traced: no platform id, no respondent hash.
    for (const g of FIXTURE) {
      expect(text).not.toContain(respondentHash(KEY, g.channel, g.user));
    }
    expect(text).not.toMatch(/0912|345 678/);
  });

  it('writes the per-unit summary table', async () => {
    const sink = new Sink();
    await writeSummaryCsv(db, sink, { filter, registry });
    await finished(sink);
    const text = sink.buffer().toString('utf8');
    expect(text.charCodeAt(0)).toBe(0xfeff);
    const rows = parseCsv(text.slice(1));
    expect(rows[0]).toEqual([...SUMMARY_HEADERS]);
    expect(rows[0]?.slice(2, 9)).toEqual(['Đơn vị', 'Số phiếu', 'Số phiếu hợp lệ', 'Rất hài lòng', 'Hài lòng', 'Không hài lòng', 'Tỷ lệ hài lòng (%)']);
    // The figures of report.test.ts: xa-a 5 phiếu, 4 valid, 1 + 2 satisfied, 1 not, 75 %;
    // indices 1.0, 1.0, 1.0, 0.7 over 4 dossiers, total 3.7.
    expect(rows[1]).toEqual(['1', 'xa-a', 'UBND xã An', '5', '4', '1', '2', '1', '75', '0', '1', '0', '4', '1', '1', '1', '0.7', '3.7']);
    expect(rows[2]).toEqual(['2', 'xa-b', 'UBND xã Bình', '4', '4', '1', '1', '2', '50', '1', '0', '1', '4', '1', '1', '1.3', '1', '4.3']);
    expect(rows[3]).toEqual(['3', 'xa-c', 'UBND xã Châu', '0', '0', '0', '0', '0', '', '0', '0', '0', '0', '', '', '', '', '']);
    expect(rows[4]?.slice(2, 12)).toEqual(['Tổng cộng', '9', '8', '2', '3', '3', '62.5', '1', '1', '1']);
  });

  it('makes inert every text a spreadsheet would run', () => {
    for (const v of ['=1+2', '+84', '-1', '@SUM(A1)', '\t=1', '\r=1']) expect(inertCell(v)).toBe(`'${v}`);
    for (const v of ['Hài lòng', '1.001193', "'=already"]) expect(inertCell(v)).toBe(v);
  });
});

describe('XLSX', () => {
  it('has a summary shaped like the annex tables and the raw answers, readable by exceljs', async () => {
    const wb = await xlsxOf((out) => writeReportXlsx(db, out, { filter, registry, now: new Date('2026-10-02T01:00:00Z') }));
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Tổng hợp', 'Dữ liệu']);
    const summary = wb.getWorksheet('Tổng hợp');
    if (!summary) throw new Error('no summary sheet');
    expect(rowValues(summary, 1)[0]).toBe('BIỂU TỔNG HỢP KẾT QUẢ KHẢO SÁT, ĐÁNH GIÁ MỨC ĐỘ HÀI LÒNG CỦA TỔ CHỨC, CÁ NHÂN');
    expect(rowValues(summary, 2)[0]).toBe('Kỳ báo cáo: Quý III/2026 (từ ngày 01/07/2026 đến ngày 30/09/2026)');
    expect(rowValues(summary, 3)[0]).toBe('Phiếu: Đánh giá việc giải quyết thủ tục hành chính');
    expect(findRow(summary, (v) => v[0] === 'STT' && v[1] === 'Đơn vị' && v[2] === 'Số phiếu')).toEqual([
      'STT',
      'Đơn vị',
      'Số phiếu',
      'Số phiếu hợp lệ',
      'Rất hài lòng',
      'Hài lòng',
      'Không hài lòng',
      'Tỷ lệ hài lòng (%)',
    ]);
    expect(findRow(summary, (v) => v[1] === 'UBND xã An')).toEqual([1, 'UBND xã An', 5, 4, 1, 2, 1, 75]);
    expect(findRow(summary, (v) => v[1] === 'UBND xã Châu')).toEqual([3, 'UBND xã Châu', 0, 0, 0, 0, 0, '—']);
    expect(findRow(summary, (v) => v[1] === 'Tổng cộng')).toEqual([undefined, 'Tổng cộng', 9, 8, 2, 3, 3, 62.5]);
    // Section II (5 levels), III (Điều 15) and V (months).
    expect(findRow(summary, (v) => v[0] === 'STT' && v[2] === 'Rất hài lòng')).toEqual(['STT', 'Đơn vị', 'Rất hài lòng', 'Hài lòng', 'Bình thường', 'Không hài lòng', 'Rất không hài lòng', 'Số phiếu hợp lệ']);
    const idxHeader = findRow(summary, (v) => v[2] === 'Số hồ sơ được đánh giá');
    expect(idxHeader).toEqual(['STT', 'Đơn vị', 'Số hồ sơ được đánh giá', 'Chỉ số 1', 'Chỉ số 3', 'Chỉ số 4', 'Chỉ số 7', 'Tổng điểm', 'Xếp loại']);
    const bRows: unknown[][] = [];
    for (let i = 1; i <= summary.rowCount; i++) if (rowValues(summary, i)[1] === 'UBND xã Bình') bRows.push(rowValues(summary, i));
    expect(bRows[2]).toEqual([2, 'UBND xã Bình', 4, 1, 1, 1.3, 1, 4.3, 'Chưa xếp loại: thiếu chỉ số 2, 5, 6, 8, 9 (từ Hệ thống thông tin một cửa điện tử, kiểm tra)']);
    expect(findRow(summary, (v) => v[1] === 'Tháng 9/2026')).toEqual([3, 'Tháng 9/2026', 3, 3, 2, 66.67]);
    expect(findRow(summary, (v) => typeof v[0] === 'string' && v[0].startsWith('Số liệu lập lúc'))?.[0]).toBe('Số liệu lập lúc 02/10/2026 08:00:00 (giờ Việt Nam).');

    const raw = wb.getWorksheet('Dữ liệu');
    if (!raw) throw new Error('no raw sheet');
    expect(raw.rowCount).toBe(1 + 47);
    expect(rowValues(raw, 1)).toEqual([...RAW_HEADERS]);
    const commentCol = RAW_HEADERS.indexOf('Ý kiến') + 1;
    const guarded: ExcelJS.Cell[] = [];
    raw.eachRow((row) => {
      const c = row.getCell(commentCol);
      if (typeof c.value === 'string' && c.value.startsWith("'")) guarded.push(c);
    });
    expect(guarded.map((c) => c.value)).toEqual([`'=HYPERLINK("http://x.example","bấm") gọi # # #`, `'+ phải đi lại, "rất" mệt, nhiều lần`]);
    // Text, never a formula.
    for (const c of guarded) expect(c.type).toBe(ExcelJS.ValueType.String);
    expect(raw.getRow(2).getCell(RAW_HEADERS.indexOf('Giá trị (điểm / mức)') + 1).value).toBe(2);
  });

  it('adds SIPAS elements and criteria, and continues the raw answers on more sheets', async () => {
    const wb = await xlsxOf((out) => writeReportXlsx(db, out, { filter: { period: Q3, family: 'sipas' }, registry, maxSheetRows: 5 }));
    // 12 SIPAS answers: S1 4, S2 4, S3 4 → sheets of 1 header + 4 rows: 3 sheets.
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Tổng hợp', 'Dữ liệu', 'Dữ liệu (2)', 'Dữ liệu (3)']);
    expect(wb.worksheets.slice(1).map((w) => w.rowCount)).toEqual([5, 5, 5]);
    const summary = wb.getWorksheet('Tổng hợp');
    if (!summary) throw new Error('no summary sheet');
    expect(findRow(summary, (v) => v[1] === 'Tiếp cận dịch vụ hành chính công')).toEqual([1, 'Tiếp cận dịch vụ hành chính công', 3, 1, 1, 1, 0, 0, 66.67]);
    expect(findRow(summary, (v) => v[1] === 'Nơi ngồi chờ tại Bộ phận Một cửa có đủ chỗ ngồi không?')).toEqual([1, 'Nơi ngồi chờ tại Bộ phận Một cửa có đủ chỗ ngồi không?', 3, 2, 66.67]);
    expect(findRow(summary, (v) => v[2] === 'Số hồ sơ được đánh giá')).toBeUndefined();
  });
});

describe('streaming', () => {
  let big: Database;
  beforeAll(async () => {
    big = await openTestDatabase('pglite', 'unused', [unit('xa-a')]);
    await new SurveyRepository(big, registry, { respondentKey: KEY }).syncDefinitions();
    // 3,000 completed responses of 5 answers each, straight into the tables.
    await big.exec(`
      INSERT INTO survey_responses (unit_id, definition_id, definition_version, family, occasion_kind, occasion, respondent, channel, status,
        started_at, updated_at, completed_at, overall_level, overall_satisfied)
      SELECT 'xa-a', 'dossier-evaluation', 1, 'dossier-evaluation', 'dossier', 'HS-' || i, md5(i::text) || md5((-i)::text), 'zalo', 'completed',
        timestamptz '2026-07-01 08:00+07' + i * interval '1 minute', timestamptz '2026-07-01 08:00+07' + i * interval '1 minute',
        timestamptz '2026-07-01 08:00+07' + i * interval '1 minute', 'satisfied', true
      FROM generate_series(1, 3000) AS i;
      INSERT INTO survey_answers (response_id, question_id, position, kind, index_no, option_id, value, answered_at)
      SELECT r.id, q.id, q.pos, 'index', q.idx, 'none', 2, r.completed_at
      FROM survey_responses r CROSS JOIN (VALUES ('total-time', 0, 1), ('contact-count', 1, 3), ('agency-count', 2, 4), ('harassment', 3, 7)) AS q(id, pos, idx);
      INSERT INTO survey_answers (response_id, question_id, position, kind, role, option_id, value, satisfied, level, answered_at)
      SELECT id, 'overall', 4, 'satisfaction', 'overall', 'satisfied', 4, true, 'satisfied', completed_at FROM survey_responses;
    `);
  });
  afterAll(() => big?.close());

  it('pages through the database and waits for a slow reader instead of buffering', async () => {
    const sink = new Sink();
    const count = await writeRawCsv(big, sink, { filter, registry, pageSize: 100 });
    await finished(sink);
    expect(count).toBe(15_000);
    const rows = parseCsv(sink.buffer().toString('utf8').slice(1));
    expect(rows).toHaveLength(15_001);
    expect(new Set(rows.slice(1).map((r) => r[0])).size).toBe(3000);
    // One page is about 500 lines (~100 KB); the whole file is ~3 MB. The backlog stays about one page.
    const total = sink.buffer().length;
    expect(total).toBeGreaterThan(2_000_000);
    expect(sink.maxBacklog).toBeLessThan(total / 10);
  });

  it('stops quietly when the client goes away', async () => {
    let n = 0;
    const gone = new Writable({
      highWaterMark: 1024,
      write(_chunk, _enc, done) {
        if (++n === 3) {
          done();
          this.destroy();
          return;
        }
        setImmediate(done);
      },
    });
    const count = await writeRawCsv(big, gone, { filter, registry, pageSize: 100 });
    expect(count).toBeLessThan(15_000);
  });
});

describe('motcua report surveys', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'report-cmd-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const io = () => {
    const out = { stdout: new PassThrough(), stderr: new PassThrough(), text: { stdout: '', stderr: '' } };
    out.stdout.on('data', (c: Buffer) => (out.text.stdout += c.toString('utf8')));
    out.stderr.on('data', (c: Buffer) => (out.text.stderr += c.toString('utf8')));
    return out;
  };

  it('writes an XLSX for one unit and a quarter', async () => {
    const file = path.join(tmp, 'xa-a-2026-Q3.xlsx');
    const streams = io();
    const code = await runReportCommand(['surveys', '--unit', 'xa-a', '--period', '2026-Q3', '--format', 'xlsx', '--out', file], streams, { db, registry });
    expect(streams.text.stderr).toBe('');
    expect(code).toBe(0);
    expect(streams.text.stdout).toBe(`Đã ghi ${file}: Quý III/2026, 5 phiếu (4 hợp lệ), tỷ lệ hài lòng 75%\n`);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
    const summary = wb.getWorksheet('Tổng hợp');
    if (!summary) throw new Error('no summary sheet');
    expect(findRow(summary, (v) => v[1] === 'Tổng cộng')).toEqual([undefined, 'Tổng cộng', 5, 4, 1, 2, 1, 75]);
    expect(findRow(summary, (v) => v[1] === 'UBND xã Bình')).toBeUndefined();
    expect(fs.readdirSync(tmp)).toEqual(['xa-a-2026-Q3.xlsx']);
  });

  it('writes the raw CSV or the summary to a file or standard output', async () => {
    const file = path.join(tmp, 'raw.csv');
    const streams = io();
    expect(await runReportCommand(['surveys', '--period', '2026-Q3', '--format', 'csv', '--channel', 'zalo', '--out', file], streams, { db, registry })).toBe(0);
    const rows = parseCsv(fs.readFileSync(file, 'utf8').slice(1));
    // Zalo, Q3, dossiers: B1–B4, 5 answers each.
    expect(rows).toHaveLength(1 + 20);
    expect(streams.text.stdout).toMatch(/Quý III\/2026, 20 dòng câu trả lời/);

    const toStdout = io();
    expect(await runReportCommand(['surveys', '--period', '2026-09-30..2026-09-30', '--format', 'csv', '--content', 'summary', '--out', '-'], toStdout, { db, registry })).toBe(0);
    await new Promise((r) => setImmediate(r));
    const summary = parseCsv(toStdout.text.stdout.slice(1));
    expect(summary.find((r) => r[2] === 'Tổng cộng')?.slice(3, 9)).toEqual(['1', '1', '0', '1', '0', '100']);
    expect(toStdout.text.stderr).toMatch(/^Từ 30\/09\/2026 đến 30\/09\/2026, 1 phiếu \(1 hợp lệ\), tỷ lệ hài lòng 100%/);
  });

  it('refuses bad arguments with a Vietnamese message and writes nothing', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['surveys', '--period', '2026-Q5', '--out', path.join(tmp, 'x.xlsx')], /kỳ báo cáo không hợp lệ: "2026-Q5"/],
      [['surveys', '--period', '2026-Q3', '--unit', 'xa-z', '--out', path.join(tmp, 'x.xlsx')], /Không có đơn vị: xa-z/],
      [['surveys', '--period', '2026-Q3', '--format', 'pdf', '--out', path.join(tmp, 'x.pdf')], /--format phải là xlsx hoặc csv/],
      [['surveys', '--period', '2026-Q3', '--survey', 'khac', '--out', path.join(tmp, 'x.xlsx')], /Không có phiếu khảo sát "khac" \(có: dossier-evaluation, sipas, hoặc all\)/],
      [['surveys', '--period', '2026-Q3'], /Thiếu --out/],
      [['dossiers', '--period', '2026-Q3'], /motcua report surveys/],
    ];
    for (const [args, message] of cases) {
      const streams = io();
      expect(await runReportCommand(args, streams, { db, registry }), args.join(' ')).toBe(2);
      expect(streams.text.stderr).toMatch(message);
    }
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('x.'))).toEqual([]);
  });

  it('fails with exit code 1 and leaves nothing behind when the file cannot be written', async () => {
    for (const format of ['csv', 'xlsx']) {
      const streams = io();
      const out = path.join(tmp, 'no-such-folder', `x.${format}`);
      expect(await runReportCommand(['surveys', '--period', '2026-Q3', '--format', format, '--out', out], streams, { db, registry })).toBe(1);
      expect(streams.text.stderr).toMatch(/^Không ghi được báo cáo: .*ENOENT/);
    }
    expect(fs.readdirSync(tmp).some((f) => f.includes('tmp'))).toBe(false);
  });
});
