// The delivery report files: CSV with a BOM and Vietnamese headers, formula-looking cells made
// inert, citizens only as keyed pseudonyms; XLSX with a summary and a detail sheet; and 50,000
// deliveries streamed page by page with modest memory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable, Writable } from 'node:stream';
import pg from 'pg';
import ExcelJS from 'exceljs';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { AccountRepository } from '../../src/store/account-repository.js';
import { ContactRepository } from '../../src/store/contact-repository.js';
import { BroadcastRepository } from '../../src/store/broadcast-repository.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { AnnouncementInput, type Announcement } from '../../src/broadcast/types.js';
import {
  REPORT_HEADERS,
  contactPseudonym,
  inertCell,
  outcomeLabel,
  reportFilename,
  vietnamDateTime,
  writeReportCsv,
  writeReportXlsx,
  type ReportSource,
} from '../../src/broadcast/report-export.js';
import { TEST_DATABASE_URL, isolatedName } from '../helpers/services.js';

const schema = isolatedName('report');
const unit = (id: string) => ({ id, name: `UBND ${id}`, province: null, address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });
const T0 = new Date('2026-03-10T03:00:00Z');
const KEY = 'khóa-bí-mật-của-máy-chủ';

/** Collects what is written, optionally slowly (to exercise backpressure), and watches the heap. */
class Sink extends Writable {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  peakHeap = 0;
  writes = 0;
  constructor(
    private readonly keep: boolean,
    private readonly onFirstWrite: () => void = () => undefined,
  ) {
    super({ highWaterMark: 16 * 1024 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.writes++ === 0) this.onFirstWrite();
    this.bytes += chunk.length;
    if (this.keep) this.chunks.push(chunk);
    this.peakHeap = Math.max(this.peakHeap, process.memoryUsage().heapUsed);
    setImmediate(done);
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
const finished = (s: Writable) => new Promise<void>((resolve, reject) => (s.writableFinished ? resolve() : (s.once('finish', resolve), s.once('error', reject))));

describe('report export (PGlite)', () => {
  let db: Database;
  let repo: BroadcastRepository;
  let a: Announcement;
  const contacts: number[] = [];
  beforeAll(async () => {
    db = await openDatabase({ dataDir: 'memory://' });
    await migrate(db);
    await new UnitRepository(db).upsert([unit('xa-a')]);
    const accounts = new AccountRepository(db, new SecretBox('s'.repeat(40)));
    const zalo = (await accounts.upsert({ unitId: 'xa-a', platform: 'zalo', externalId: '4411' })).id;
    const messenger = (await accounts.upsert({ unitId: 'xa-a', platform: 'messenger', externalId: '9911' })).id;
    const c = new ContactRepository(db);
    for (let i = 0; i < 6; i++) contacts.push((await c.touch(i < 3 ? zalo : messenger, `secret-user-${i}-8842113`, T0)).id);
    repo = new BroadcastRepository(db);
    a = await repo.create('xa-a', AnnouncementInput.parse({ title: '=HYPERLINK("http://x")', body: 'Lịch tiếp công dân', groupIds: [1], channels: ['zalo', 'messenger'] }), null);
    await repo.submit(a.id, T0);
    await repo.addDeliveries(
      a.id,
      contacts.map((contactId, i) => ({ contactId, accountId: i < 3 ? zalo : messenger, platform: i < 3 ? 'zalo' : 'messenger' })),
    );
    const [c0, c1, c2, c3, c4] = contacts as [number, number, number, number, number];
    await repo.finish(a.id, c0, { status: 'sent', messageId: 'msg-secret-77' }, new Date('2026-03-10T03:05:09Z'));
    await repo.finish(a.id, c1, { status: 'failed', reason: '-213' }, T0);
    await repo.finish(a.id, c2, { status: 'skipped', reason: 'zalo_daily_limit' }, T0);
    await repo.finish(a.id, c3, { status: 'held', reason: 'outside_window' }, T0);
    // Reasons are ours, but a value that looks like a formula must still come out inert.
    await repo.finish(a.id, c4, { status: 'failed', reason: '=1+2' }, T0);
    a = (await repo.get(a.id)) ?? a;
  });
  afterAll(() => db.close());

  it('labels, pseudonyms, times and file names', () => {
    expect(contactPseudonym(KEY, 1)).toMatch(/^ND-[0-9a-f]{12}$/);
    expect(contactPseudonym(KEY, 1)).not.toBe(contactPseudonym(KEY, 2));
    expect(contactPseudonym(KEY, 1)).not.toBe(contactPseudonym('another key', 1));
    expect(vietnamDateTime(new Date('2026-03-09T17:05:09Z'))).toBe('10/03/2026 00:05:09');
    expect(reportFilename({ id: 42, createdAt: new Date('2026-03-09T18:00:00Z') }, 'csv')).toBe('bao-cao-thong-bao-42-20260310.csv');
    for (const v of ['=1+2', '+84912', '-213', '@SUM(A1)', '\tx', '\rx']) expect(inertCell(v)).toBe(`'${v}`);
    expect(inertCell('Đã gửi')).toBe('Đã gửi');
    expect(outcomeLabel('failed', '-213')).toBe('Gửi lỗi — Mã lỗi -213: người dân không quan tâm OA');
    expect(outcomeLabel('skipped', 'skipped:not_following')).toBe('Không gửi — Zalo: người dân không quan tâm (theo dõi) OA');
    expect(outcomeLabel('sent', null)).toBe('Đã gửi');
  });

  it('writes a CSV with a BOM, Vietnamese headers, inert cells and no platform ids', async () => {
    const sink = new Sink(true);
    await writeReportCsv(sink, { source: repo, announcement: a, pseudonymKey: KEY, pageSize: 2 });
    await finished(sink);
    const bytes = Buffer.concat(sink.chunks);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = sink.text().slice(1).split('\r\n');
    expect(lines[0]).toBe(REPORT_HEADERS.join(','));
    expect(lines[0]).toContain('Mã người nhận (ẩn danh)');
    expect(lines.filter((l) => l !== '')).toHaveLength(1 + 6);
    const text = sink.text();
    // Sent without a claim in this test, so 0 attempts; the time in Vietnam time.
    expect(text).toContain(`${contactPseudonym(KEY, contacts[0] ?? 0)},Zalo OA,Đã gửi,,,0,10/03/2026 10:05:09\r\n`);
    expect(text).toContain(",Gửi lỗi,Mã lỗi -213: người dân không quan tâm OA,'-213,");
    expect(text).toContain(",'=1+2,");
    expect(text).not.toMatch(/,=|,\+|,-|,@/);
    // A comma inside a value is quoted.
    expect(text).toContain('Facebook Messenger,"Giữ lại, chờ người dân quay lại",Messenger: quá 24 giờ');
    expect(text).not.toContain('secret-user');
    expect(text).not.toContain('8842113');
    expect(text).not.toContain('msg-secret');
    expect(text).not.toContain('HYPERLINK');
  });

  it('writes an XLSX with a summary sheet in Vietnamese and a detail sheet', async () => {
    const sink = new Sink(true);
    await writeReportXlsx(sink, { source: repo, announcement: a, pseudonymKey: KEY, pageSize: 4 });
    await finished(sink);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(Buffer.concat(sink.chunks) as unknown as ArrayBuffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Tổng hợp', 'Chi tiết']);
    const summary = wb.getWorksheet('Tổng hợp');
    const cells: string[][] = [];
    summary?.eachRow((row) => cells.push(Array.from((row.values as unknown[]).slice(1), (v) => String(v ?? ''))));
    expect(cells[0]).toEqual(['Thông báo', '=HYPERLINK("http://x")']);
    // A typed string cell, not a formula.
    expect(summary?.getCell('B1').type).toBe(ExcelJS.ValueType.String);
    expect(cells).toContainEqual(['Trạng thái', 'Đang chuẩn bị']);
    expect(cells).toContainEqual(['Kết quả', 'Lý do', 'Số người']);
    expect(cells).toContainEqual(['Đã gửi', '', '1']);
    expect(cells).toContainEqual(['Gửi lỗi', 'Mã lỗi -213: người dân không quan tâm OA', '1']);
    expect(cells).toContainEqual(['Không gửi', 'Zalo: người dân đã nhận 1 tin truyền thông hôm nay', '1']);
    expect(cells).toContainEqual(['Đang chờ gửi', '', '1']);
    expect(cells).toContainEqual(['Tổng cộng', '', '6']);
    const detail = wb.getWorksheet('Chi tiết');
    expect(detail?.rowCount).toBe(7);
    expect((detail?.getRow(1).values as unknown[]).slice(1)).toEqual([...REPORT_HEADERS]);
    const all = JSON.stringify(wb.worksheets.map((w) => w.getSheetValues()));
    expect(all).not.toContain('secret-user');
    expect(all).not.toContain('msg-secret');
    expect(all).toContain(contactPseudonym(KEY, contacts[5] ?? 0));
  });
});

describe('report export of 50,000 deliveries (PostgreSQL)', () => {
  let db: Database;
  let a: Announcement;
  let repo: BroadcastRepository;
  const N = 50_000;
  beforeAll(async () => {
    db = await openDatabase({ url: TEST_DATABASE_URL, schema });
    await migrate(db);
    await new UnitRepository(db).upsert([unit('xa-lon')]);
    const account = (await new AccountRepository(db, new SecretBox('s'.repeat(40))).upsert({ unitId: 'xa-lon', platform: 'messenger', externalId: 'page-lon' })).id;
    repo = new BroadcastRepository(db);
    a = await repo.create('xa-lon', AnnouncementInput.parse({ title: 'Lớn', body: 'Lớn', groupIds: [1], channels: ['messenger'] }), null);
    await db.query(`INSERT INTO contacts (account_id, platform_user_id) SELECT $1, 'psid-' || i FROM generate_series(1, ${N}) i`, [account]);
    await db.query(
      `INSERT INTO deliveries (announcement_id, contact_id, account_id, platform, status, reason, attempts)
       SELECT $1, id, account_id, 'messenger', CASE WHEN id % 4 = 0 THEN 'held' ELSE 'sent' END, CASE WHEN id % 4 = 0 THEN 'outside_window' END, 1 FROM contacts`,
      [a.id],
    );
  }, 120_000);
  afterAll(async () => {
    await db.close();
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  /** The repository, watched: how many pages were read, and the largest page asked for. */
  function watched(sinkBytes: () => number): { source: ReportSource; pagesRead: () => number; maxLimit: () => number; bytesAtHalf: () => number } {
    let pages = 0;
    let bytesAtHalf = -1;
    let max = 0;
    return {
      source: {
        page: async (id, after, limit) => {
          pages += 1;
          max = Math.max(max, limit);
          // Halfway through the reading, how much had already reached the client?
          if (pages === Math.floor(N / limit / 2)) bytesAtHalf = sinkBytes();
          return repo.page(id, after, limit);
        },
        counts: (id) => repo.counts(id),
      },
      pagesRead: () => pages,
      maxLimit: () => max,
      bytesAtHalf: () => bytesAtHalf,
    };
  }

  it('streams the CSV page by page: most bytes leave before the last page is read, the heap stays small', async () => {
    let pagesAtFirstWrite = -1;
    const sink: Sink = new Sink(false, () => (pagesAtFirstWrite = w.pagesRead()));
    const w = watched(() => sink.bytes);
    const heapBefore = process.memoryUsage().heapUsed;
    await writeReportCsv(sink, { source: w.source, announcement: a, pseudonymKey: KEY });
    await finished(sink);
    expect(w.maxLimit()).toBeLessThanOrEqual(1000);
    expect(w.pagesRead()).toBeGreaterThanOrEqual(N / 1000);
    // The header went out before any page was read, and rows while later pages were being read.
    expect(pagesAtFirstWrite).toBe(0);
    expect(sink.bytes).toBeGreaterThan(N * 40);
    expect(w.bytesAtHalf()).toBeGreaterThan(sink.bytes * 0.3);
    expect(sink.peakHeap - heapBefore).toBeLessThan(100 * 1024 * 1024);
  });

  it('streams the XLSX the same way, and the file opens with every row', async () => {
    const sink: Sink = new Sink(true);
    const w = watched(() => sink.bytes);
    const heapBefore = process.memoryUsage().heapUsed;
    await writeReportXlsx(sink, { source: w.source, announcement: a, pseudonymKey: KEY });
    await finished(sink);
    expect(w.maxLimit()).toBeLessThanOrEqual(1000);
    // Compressed rows were leaving while later pages were still being read (a writer that kept
    // the workbook until the end would have written nothing by then). How much depends on when
    // zlib, in libuv's thread pool, gets to flush: little on a busy machine, hence the low bar.
    expect(w.bytesAtHalf()).toBeGreaterThan(sink.bytes * 0.05);
    // The sink keeps the (compressed) file itself; the rest must stay modest.
    expect(sink.peakHeap - heapBefore).toBeLessThan(100 * 1024 * 1024);
    const rows: number[] = [];
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(Readable.from(sink.chunks), { worksheets: 'emit' });
    for await (const sheet of reader) {
      let count = 0;
      for await (const _row of sheet) count += 1;
      rows.push(count);
    }
    expect(rows[1]).toBe(N + 1);
    expect(rows[0]).toBeGreaterThan(10);
  });
});
