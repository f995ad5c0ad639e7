// The satisfaction survey pages on the hand-computed fixture (tests/surveys/fixture.ts; every
// figure below is worked out by hand in tests/surveys/report.test.ts): the unit's figures and
// charts, SIPAS elements, the filters, who sees what (an officer of xã A never sees xã B nor the
// province), the province's units side by side, the comments (escaped, digits masked), the
// exports read back by real CSV and XLSX readers (BOM, formula guard), and the QR posters whose
// codes decode back to the survey's start payload.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { RAW_HEADERS } from '../../src/surveys/export.js';
import { parseSurveyStart } from '../../src/surveys/chat-payload.js';
import { decodeSvg } from './qr-decode.js';
import { PUBLIC_BASE, SCRIPT_COMMENT, startSurveysApp, type SurveysApp, type Who } from './surveys-app.js';

let app: SurveysApp;
beforeAll(async () => {
  app = await startSurveysApp('surveys_pages', { login: true, tokens: false });
});
afterAll(async () => {
  await app?.close();
});

const get = (path: string, who?: Who) =>
  fetch(app.base + path, { redirect: 'manual', headers: { accept: 'text/html', ...(who ? { cookie: app.cookies[who] } : {}) } });
const page = async (path: string, who: Who): Promise<string> => {
  const res = await get(path, who);
  expect(res.status, path).toBe(200);
  return res.text();
};
/** The text of each cell of a table's body rows (tags removed). */
function rows(html: string, testId: string): string[][] {
  const table = new RegExp(`<table data-testid="${testId}">([\\s\\S]*?)</table>`).exec(html)?.[1] ?? '';
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table)?.[1] ?? '';
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((r) => [...(r[1] ?? '').matchAll(/<t[dh][^>]*>([\s\S]*?)<\/t[dh]>/g)].map((c) => (c[1] ?? '').replace(/<[^>]+>/g, '').trim()));
}
const figure = (html: string, name: string) => new RegExp(`data-figure="${name}">([^<]*)<`).exec(html)?.[1];
const Q3 = 'period=2026-Q3';

describe('a unit’s survey figures', () => {
  it('shows the hand-computed satisfaction figures of xã An for 2026-Q3', async () => {
    const html = await page(`/admin/units/xa-a/surveys?${Q3}`, 'officerA');
    expect(html).toContain('<h1>Khảo sát sự hài lòng — UBND xã An</h1>');
    expect(html).toContain('Quý III/2026');
    // A1, A2, A3, A4, A1' are phiếu; A4 skipped the overall rating; RHL 1 + HL 2 of 4 = 75 %.
    expect([figure(html, 'responses'), figure(html, 'valid'), figure(html, 'rate')]).toEqual(['5', '4', '75%']);
    expect(rows(html, 'distribution')).toEqual([
      ['Rất hài lòng', '1', '25%', 'Xem'],
      ['Hài lòng', '2', '50%', 'Xem'],
      ['Bình thường', '0', '0%', ''],
      ['Không hài lòng', '1', '25%', 'Xem'],
      ['Rất không hài lòng', '0', '0%', ''],
      ['Hài lòng (Rất hài lòng + Hài lòng)', '3', '75%', ''],
      ['Chưa hài lòng', '1', '25%', ''],
      ['Số phiếu hợp lệ', '4', '100%', ''],
      ['Phiếu không trả lời câu đánh giá tổng thể', '1', '', ''],
    ]);
    // July: A1 RHL, A2 HL; August: A3 KHL, A4 without overall; September: A1' HL.
    expect(rows(html, 'trend')).toEqual([
      ['Tháng 7/2026', '2', '2', '2', '100%'],
      ['Tháng 8/2026', '2', '1', '0', '0%'],
      ['Tháng 9/2026', '1', '1', '1', '100%'],
    ]);
    // Điều 15: 4 dossiers; indices 1.0, 1.0, 1.0, 0.7; total 3.7 of 8; no band without 2, 5, 6, 8, 9.
    expect(rows(html, 'indices')).toEqual([['4', '1,0', '1,0', '1,0', '0,7', '3,7 / 8', 'Chưa xếp loại: thiếu chỉ số 2, 5, 6, 8, 9']]);
    expect(html).toContain('Tổng thời gian giải quyết thủ tục hành chính so với thời gian cho phép theo quy định của pháp luật');
    // Charts: inline SVG images with a title and a description, beside their tables.
    const svgs = [...html.matchAll(/<svg [^>]*class="chart"[^>]*>[\s\S]*?<\/svg>/g)].map((m) => m[0]);
    expect(svgs).toHaveLength(2);
    for (const svg of svgs) {
      expect(svg).toMatch(/role="img" aria-labelledby="(bd-[a-z-]+)-t \1-d"/);
      expect(svg).toMatch(/<title id="bd-[a-z-]+-t">[^<]+<\/title><desc id="bd-[a-z-]+-d">[^<]+<\/desc>/);
    }
    expect(svgs[0]).toContain('Tỷ lệ hài lòng 75%');
    expect(svgs[1]).toContain('Tháng 8/2026: 0% (2 phiếu)');
    expect(html).not.toContain('<script');
    // The officer sees the QR page; exports are for reporters.
    expect(html).toContain('href="/admin/units/xa-a/surveys/qr"');
    expect(html).not.toContain('/surveys/raw.csv');
    expect(html).toContain('<a href="/admin/units/xa-a/surveys">Khảo sát hài lòng</a>');
  });

  it('shows SIPAS per element and per criterion', async () => {
    const html = await page(`/admin/units/xa-a/surveys?${Q3}&survey=sipas`, 'reporterA');
    expect([figure(html, 'responses'), figure(html, 'rate')]).toEqual(['3', '66,67%']);
    expect(rows(html, 'elements')).toEqual([
      ['Tiếp cận dịch vụ hành chính công', '3', '1', '1', '1', '0', '0', '66,67%'],
      ['Công chức trực tiếp giải quyết công việc', '1', '0', '0', '0', '1', '0', '0%'],
    ]);
    expect(rows(html, 'criteria')).toEqual([
      ['Nơi ngồi chờ tại Bộ phận Một cửa có đủ chỗ ngồi không?', 'Tiếp cận dịch vụ hành chính công', '3', '2', '66,67%'],
      [expect.stringContaining('Trang thiết bị phục vụ người dân'), 'Tiếp cận dịch vụ hành chính công', '1', '0', '0%'],
    ]);
    expect(html).toContain('aria-labelledby="bd-yeu-to-t bd-yeu-to-d"');
    expect(html).not.toContain('data-testid="indices"');
  });

  it('filters by period (month, quarter, six months, year, custom range), procedure, field and channel', async () => {
    const rate = async (q: string) => {
      const html = await page(`/admin/surveys?${q}`, 'reporterProvince');
      return [figure(html, 'responses'), figure(html, 'valid'), figure(html, 'rate')];
    };
    // Dossier evaluations of the province in Q3: 9 phiếu, 8 valid, 5 satisfied.
    expect(await rate(Q3)).toEqual(['9', '8', '62,5%']);
    expect(await rate('period=2026-07')).toEqual(['3', '3', '100%']);
    expect(await rate('period=2026-H2')).toEqual(['11', '10', '70%']);
    expect(await rate('period=2026')).toEqual(['11', '10', '70%']);
    // The last day of Q3 in Vietnam time: only B4 (23:30 on 30/09).
    expect(await rate('period=custom&from=2026-09-30&to=2026-09-30')).toEqual(['1', '1', '100%']);
    expect(await rate(`${Q3}&channel=web`)).toEqual(['1', '1', '100%']);
    expect(await rate(`${Q3}&procedure=1.001193`)).toEqual(['1', '1', '100%']);
    expect(await rate(`${Q3}&field=${encodeURIComponent('Hộ tịch')}`)).toEqual(['1', '1', '100%']);
    expect(await rate(`${Q3}&survey=all`)).toEqual(['12', '11', '63,64%']);
    // Default: the current quarter (Q4 on 15/10/2026): B5 and xã Châu's response.
    expect(await rate('')).toEqual(['2', '2', '100%']);
    // The form keeps what was asked, and offers the answered procedures and fields.
    const html = await page(`/admin/surveys?period=custom&from=2026-09-30&to=2026-09-30&channel=zalo`, 'reporterProvince');
    expect(html).toContain('<option value="custom" selected>');
    expect(html).toContain('name="from" value="2026-09-30"');
    expect(html).toContain('<option value="zalo" selected>');
    const q3 = await page(`/admin/surveys?${Q3}`, 'reporterProvince');
    expect(q3).toContain('<option value="2026-Q3" selected>Quý III/2026</option>');
    expect(q3).toContain('<option value="1.001193">1.001193</option>');
    expect(await page(`/admin/units/xa-a/surveys?${Q3}`, 'officerA')).toContain('<option value="1.001193">1.001193 — Thủ tục đăng ký khai sinh</option>');
    expect(q3).toContain('<option value="+Đất đai"></option>');
  });

  it('refuses a malformed filter with a Vietnamese message', async () => {
    for (const [q, message] of [
      ['period=2026-Q5', 'Kỳ báo cáo không hợp lệ'],
      ['period=custom&from=2026-09-30&to=2026-09-01', 'ngày kết thúc phải từ ngày bắt đầu trở đi'],
      ['period=custom&from=2026-09-30', 'Chọn cả ngày bắt đầu và ngày kết thúc'],
      [`${Q3}&survey=khong-co`, 'Không có phiếu khảo sát này.'],
      [`${Q3}&channel=fax`, 'Kênh không hợp lệ.'],
      [`${Q3}&procedure=${encodeURIComponent('<b>')}`, 'Mã thủ tục không hợp lệ'],
    ] as const) {
      const res = await get(`/admin/units/xa-a/surveys?${q}`, 'officerA');
      expect(res.status, q).toBe(400);
      expect(await res.text()).toContain(message);
    }
  });
});

describe('who sees what', () => {
  it('keeps an officer to their own unit and the province to province-wide staff', async () => {
    expect((await get('/admin/units/xa-b/surveys', 'officerA')).status).toBe(403);
    expect((await get('/admin/units/xa-b/surveys/comments', 'officerA')).status).toBe(403);
    expect((await get('/admin/units/xa-b/surveys/qr', 'officerA')).status).toBe(403);
    expect((await get('/admin/surveys', 'officerA')).status).toBe(403);
    expect((await get('/admin/surveys', 'reporterA')).status).toBe(403);
    expect((await get('/admin/units/xa-b/surveys', 'reporterA')).status).toBe(403);
    // Exports: reporters and admins only, of their scope.
    expect((await get(`/admin/units/xa-a/surveys/raw.csv?${Q3}`, 'officerA')).status).toBe(403);
    expect((await get(`/admin/units/xa-b/surveys/raw.csv?${Q3}`, 'reporterA')).status).toBe(403);
    expect((await get(`/admin/surveys/report.xlsx?${Q3}`, 'reporterA')).status).toBe(403);
    const anonymous = await get('/admin/units/xa-a/surveys');
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get('location')).toBe('/admin/login');
    // Nothing of xã B leaks into xã A's page.
    const a = await page(`/admin/units/xa-a/surveys?${Q3}`, 'officerA');
    expect(a).not.toContain('UBND xã Bình');
    expect(a).not.toContain('href="/admin/surveys"');
    // A province user sees any unit, and a 404 for one that does not exist.
    expect((await get(`/admin/units/xa-b/surveys?${Q3}`, 'admin')).status).toBe(200);
    expect((await get('/admin/units/xa-khong-co/surveys', 'admin')).status).toBe(404);
  });

  it('shows the province’s units side by side', async () => {
    const html = await page(`/admin/surveys?${Q3}`, 'reporterProvince');
    expect(html).toContain('<h1>Khảo sát sự hài lòng — toàn tỉnh</h1>');
    expect(rows(html, 'units')).toEqual([
      ['1', 'UBND xã An', '5', '4', '1', '2', '1', '75%'],
      ['2', 'UBND xã Bình', '4', '4', '1', '1', '2', '50%'],
      ['3', 'UBND xã Châu', '0', '0', '0', '0', '0', '—'],
      ['', 'Tổng cộng', '9', '8', '2', '3', '3', '62,5%'],
    ]);
    expect(html).toContain(`href="/admin/units/xa-b/surveys?period=2026-Q3&amp;survey=dossier-evaluation"`);
    // xã Bình: index 4 is 5 points over 4 dossiers → 1.25 → 1.3 (half up); total 4.3.
    expect(rows(html, 'indices')).toEqual([
      ['UBND xã An', '4', '1,0', '1,0', '1,0', '0,7', '3,7 / 8', 'Chưa xếp loại: thiếu chỉ số 2, 5, 6, 8, 9'],
      ['UBND xã Bình', '4', '1,0', '1,0', '1,3', '1,0', '4,3 / 8', 'Chưa xếp loại: thiếu chỉ số 2, 5, 6, 8, 9'],
    ]);
    expect(html).toContain('aria-labelledby="bd-don-vi-t bd-don-vi-d"');
    expect(html).toContain('<a href="/admin/surveys">Khảo sát hài lòng</a>');
    expect(html).toContain(`href="/admin/surveys/report.xlsx?period=2026-Q3&amp;survey=dossier-evaluation"`);
  });
});

describe('comments', () => {
  it('lists a unit’s comments, digits masked, escaped, filtered by the overall rating', async () => {
    const html = await page(`/admin/units/xa-a/surveys/comments?${Q3}`, 'officerA');
    expect(rows(html, 'comments').map((r) => r.at(-1))).toEqual(['+ phải đi lại, &quot;rất&quot; mệt, nhiều lần', '=HYPERLINK(&quot;http://x.example&quot;,&quot;bấm&quot;) gọi # # #']);
    expect(html).not.toMatch(/\d{3} \d{3}/);
    const dissatisfied = await page(`/admin/units/xa-a/surveys/comments?${Q3}&level=dissatisfied`, 'officerA');
    expect(rows(dissatisfied, 'comments')).toHaveLength(1);
    expect(rows(dissatisfied, 'comments')[0]?.[3]).toBe('Không hài lòng');
    expect(await page(`/admin/units/xa-a/surveys?${Q3}`, 'officerA')).toMatch(/data-figure="comments">2</);
    const second = await page(`/admin/units/xa-a/surveys/comments?${Q3}&page=2`, 'officerA');
    expect(second).toContain('Không có ý kiến nào.');
    expect(second).toContain('← Trang trước');
  });

  it('never lets a comment run as markup', async () => {
    const html = await page('/admin/units/xa-c/surveys/comments?period=2026-Q4', 'admin');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Cán bộ tận tình');
    const province = await page('/admin/surveys/comments?period=2026-Q4', 'reporterProvince');
    expect(rows(province, 'comments').map((r) => r[1])).toEqual(['UBND xã Châu']);
    expect(province).not.toContain('<script>');
    expect(SCRIPT_COMMENT).toContain('<script>');
  });
});

describe('exports', () => {
  const download = async (path: string, who: Who) => {
    const res = await get(path, who);
    expect(res.status, path).toBe(200);
    return { res, bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const readCsv = async (bytes: Buffer): Promise<string[][]> => {
    const wb = new ExcelJS.Workbook();
    const ws = await wb.csv.read(Readable.from([bytes.subarray(3).toString('utf8')]), { map: (v: unknown) => v });
    const out: string[][] = [];
    ws.eachRow((row) => out.push((row.values as unknown[]).slice(1).map((v) => (v === null || v === undefined ? '' : String(v)))));
    return out;
  };

  it('streams the raw answers as CSV with a BOM, read back by a real reader, formulas made inert', async () => {
    const { res, bytes } = await download(`/admin/units/xa-a/surveys/raw.csv?${Q3}`, 'reporterA');
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="khao-sat-xa-a-2026-Q3-chi-tiet.csv"');
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const table = await readCsv(bytes);
    expect(table[0]).toEqual([...RAW_HEADERS]);
    const comment = RAW_HEADERS.indexOf('Ý kiến');
    const comments = table.slice(1).map((r) => r[comment]).filter((c) => c);
    expect(comments).toEqual([`'=HYPERLINK("http://x.example","bấm") gọi # # #`, `'+ phải đi lại, "rất" mệt, nhiều lần`]);
    // Only xã An: 5 responses.
    expect(new Set(table.slice(1).map((r) => r[0])).size).toBe(5);
    expect(new Set(table.slice(1).map((r) => r[1]))).toEqual(new Set(['xa-a']));
    const audited = (await app.audit.list(null, 50)).filter((e) => e.action === 'export.survey_report');
    expect(audited[0]?.detail).toMatchObject({ via: 'admin', format: 'raw.csv', period: '2026-Q3' });
  });

  it('gives the per-unit summary as CSV and the workbook as XLSX', async () => {
    const summary = await readCsv((await download(`/admin/surveys/summary.csv?${Q3}`, 'reporterProvince')).bytes);
    expect(summary.slice(1).map((r) => r.slice(0, 9))).toEqual([
      ['1', 'xa-a', 'UBND xã An', '5', '4', '1', '2', '1', '75'],
      ['2', 'xa-b', 'UBND xã Bình', '4', '4', '1', '1', '2', '50'],
      ['3', 'xa-c', 'UBND xã Châu', '0', '0', '0', '0', '0', ''],
      ['', '', 'Tổng cộng', '9', '8', '2', '3', '3', '62.5'],
    ]);
    const { res, bytes } = await download(`/admin/units/xa-a/surveys/report.xlsx?${Q3}`, 'admin');
    expect(res.headers.get('content-type')).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(bytes as unknown as ArrayBuffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Tổng hợp', 'Dữ liệu']);
    const texts: string[] = [];
    wb.getWorksheet('Tổng hợp')?.eachRow((row) => texts.push((row.values as unknown[]).slice(1).join('|')));
    expect(texts).toContain('1|UBND xã An|5|4|1|2|1|75');
    const raw = wb.getWorksheet('Dữ liệu');
    const values: string[] = [];
    raw?.eachRow((row) => row.eachCell((c) => values.push(String(c.value))));
    expect(values).toContain(`'=HYPERLINK("http://x.example","bấm") gọi # # #`);
    expect(values.some((v) => v.startsWith('='))).toBe(false);
  });

  it('refuses a malformed period before sending any file', async () => {
    const res = await get('/admin/units/xa-a/surveys/raw.csv?period=2026-13', 'reporterA');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
  });
});

describe('QR posters at the desk', () => {
  const svgsOf = (html: string) => [...html.matchAll(/<svg [\s\S]*?<\/svg>/g)].map((m) => m[0]);
  const urlsOf = (html: string) => [...html.matchAll(/<p class="url"><a href="([^"]+)">/g)].map((m) => (m[1] ?? '').replace(/&amp;/g, '&'));

  it('prints the periodic survey poster: every code decodes to a link that starts the survey', async () => {
    const form = await page('/admin/units/xa-a/surveys/qr', 'officerA');
    expect(form).toContain('href="/admin/units/xa-a/surveys/poster?survey=sipas"');
    const html = await page('/admin/units/xa-a/surveys/poster?survey=sipas', 'officerA');
    const urls = ['https://m.me/111222333?ref=mc:sv:sipas', 'https://zalo.me/4318000000000000001', `${PUBLIC_BASE}/?unit=xa-a&ref=mc%3Asv%3Asipas`];
    expect(urlsOf(html)).toEqual(urls);
    expect(svgsOf(html).map(decodeSvg)).toEqual(urls);
    expect(/<p class="say">([^<]+)<\/p>/.exec(html)?.[1]).toBe('khảo sát');
    expect(html).toContain('<h1>Khảo sát sự hài lòng về sự phục vụ hành chính</h1>');
    expect(html).toContain('@page{size:A4');
    expect(parseSurveyStart(new URL(urls[0] ?? '').searchParams.get('ref') ?? '')).toEqual({ definitionId: 'sipas' });
  });

  it('prints a procedure’s dossier evaluation poster carrying a dossier code typed by the officer', async () => {
    const html = await page(`/admin/units/xa-a/surveys/poster?survey=dossier-evaluation&procedure=1.001193&dossier=${encodeURIComponent(' hs 2026/001 ')}`, 'officerA');
    const urls = urlsOf(html);
    expect(svgsOf(html).map(decodeSvg)).toEqual(urls);
    const messenger = new URL(urls[0] ?? '');
    const web = new URL(urls[2] ?? '');
    const start = { definitionId: 'dossier-evaluation', procedureCode: '1.001193', dossierCode: 'HS2026/001' };
    expect(parseSurveyStart(messenger.searchParams.get('ref') ?? '')).toEqual(start);
    expect(parseSurveyStart(web.searchParams.get('ref') ?? '')).toEqual(start);
    expect(web.searchParams.get('unit')).toBe('xa-a');
    expect(urls[1]).toBe('https://zalo.me/4318000000000000001');
    expect(/<p class="say">([^<]+)<\/p>/.exec(html)?.[1]).toBe('đánh giá hồ sơ HS2026/001');
    expect(html).toContain('Thủ tục: Thủ tục đăng ký khai sinh');
    expect(html).toContain('<p class="dossier">Mã hồ sơ: HS2026/001</p>');
  });

  it('refuses a procedure outside the unit’s catalogue or an unknown survey, with the form again', async () => {
    const bad = await get('/admin/units/xa-a/surveys/poster?survey=dossier-evaluation&procedure=9.999999', 'officerA');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Thủ tục này không có trong danh mục của đơn vị.');
    const unknown = await get('/admin/units/xa-a/surveys/poster?survey=khong-co', 'officerA');
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('Không có phiếu khảo sát này.');
    // A unit without accounts still gets the website's code.
    const c = await page('/admin/units/xa-c/surveys/poster?survey=sipas', 'admin');
    expect(urlsOf(c)).toEqual([`${PUBLIC_BASE}/?unit=xa-c&ref=mc%3Asv%3Asipas`]);
  });
});
