// An announcement from compose to report, in a real browser (Debian's chromium driven by
// playwright-core) against the real `serve` role with its workers, Messenger and Zalo pointed at
// the local fakes (issue #5). An officer creates a subscriber group through the form; citizens
// subscribe themselves through signed webhooks ("đăng ký nhận tin", then the group's button), so
// their consent is real; one Messenger citizen last wrote more than 24 hours ago. The officer
// composes, reads the per-platform preview and the predicted counts, sends, watches the progress
// page refresh itself until it is done, and downloads the CSV report. The fakes' logs must hold
// exactly one announcement per eligible citizen. With SCREENSHOTS=1 the pages are saved under
// docs/screenshots/ (desktop, 1280×800); without it nothing is written there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { createHash, createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { TestServer } from '../helpers/start-server.js';
import { type FakeGraphServer } from '../fakes/graph-server.js';
import { type ZaloFake } from '../fakes/zalo-server.js';
import { startPlatformServer } from '../helpers/platform-server.js';
import { REPORT_HEADERS } from '../../src/broadcast/report-export.js';
import { vietnamHour } from '../../src/broadcast/eligibility.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p)) ?? '/usr/bin/chromium';
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = process.env.SCREENSHOTS === '1' ? path.join(REPO_ROOT, 'docs', 'screenshots') : null;
const VIEWPORT = { width: 1280, height: 800 };

const FB_APP_SECRET = 'fb-app-secret-for-tests';
const FB_PAGE_ID = '106000000000001';
const FB_TOKEN = 'EAAG-test-page-token';
const ZALO_APP_ID = '360846524940903967';
const ZALO_APP_SECRET = 'zalo-app-secret-for-tests';
const ZALO_OA_SECRET = 'zalo-oa-secret-key-for-tests';
const ZALO_OA_ID = '388613280900000001';

const PASSWORD = 'Mật-khẩu-thử-nghiệm-2026';
const OFFICER = 'canbo.thongbao';
const GROUP = { name: 'Thôn Đông', description: 'Lịch họp thôn, lịch tiếp dân, thông báo của thôn' };
const ANNOUNCEMENT = {
  title: 'Lịch tiêm chủng tháng 12',
  body: 'Trạm y tế xã tổ chức tiêm chủng mở rộng cho trẻ dưới 5 tuổi vào sáng thứ Bảy, 7 giờ 30 tại nhà văn hóa thôn Đông.\nMang theo sổ tiêm chủng.',
  link: 'https://dichvucong.gov.vn/p/home/dvc-trang-chu.html',
};

/** Citizens: two Messenger inside the 24-hour window, one outside it, two Zalo followers. */
const MESSENGER_FRESH = ['7200000000000001', '7200000000000002'];
const MESSENGER_OLD = '7200000000000003';
const ZALO_FOLLOWERS = ['246845883529190001', '246845883529190002'];

/**
 * Zalo promotions go out 06:00–21:59 Vietnam time only; at night they wait for the morning and the
 * announcement would not finish within the test. Then the Zalo followers still subscribe but the
 * announcement goes to Messenger only (20 minutes of margin before 22:00 for the run itself).
 */
const nowVn = new Date();
const ZALO_DAYTIME = vietnamHour(nowVn) >= 6 && vietnamHour(new Date(nowVn.getTime() + 20 * 60_000)) < 22 && vietnamHour(new Date(nowVn.getTime() + 20 * 60_000)) >= 6;

let graph: FakeGraphServer;
let zalo: ZaloFake;
let srv: TestServer;
let browser: Browser;
let context: BrowserContext;
let unit = '';
let groupId = 0;
let announcementUrl = '';

async function shot(page: Page, name: string, fullPage = true, maxHeight = 2400): Promise<void> {
  if (!SHOTS) return;
  const scrollHeight = Number(await page.evaluate('document.documentElement.scrollHeight'));
  const height = fullPage ? Math.min(maxHeight, scrollHeight) : VIEWPORT.height;
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage, clip: { x: 0, y: 0, width: VIEWPORT.width, height } });
}

const waitFor = async <T>(fn: () => T | undefined | false, ms = 15_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
};

async function postMessenger(psid: string, mid: string, message: Record<string, unknown>): Promise<void> {
  const ts = Date.now();
  const raw = JSON.stringify({
    object: 'page',
    entry: [{ id: FB_PAGE_ID, time: ts, messaging: [{ sender: { id: psid }, recipient: { id: FB_PAGE_ID }, timestamp: ts, message: { mid, ...message } }] }],
  });
  const sig = `sha256=${createHmac('sha256', FB_APP_SECRET).update(raw).digest('hex')}`;
  const res = await fetch(`${srv.url}/webhooks/messenger`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sig }, body: raw });
  expect(res.status).toBe(200);
}

async function postZalo(userId: string, msgId: string, text: string): Promise<void> {
  const ts = Date.now();
  const raw = `{"app_id":"${ZALO_APP_ID}","sender":{"id":"${userId}"},"user_id_by_app":"552177279717587730","recipient":{"id":"${ZALO_OA_ID}"},"event_name":"user_send_text","message":{"text":${JSON.stringify(text)},"msg_id":"${msgId}"},"timestamp":"${ts}"}`;
  const mac = createHash('sha256').update(`${ZALO_APP_ID}${raw}${ts}${ZALO_OA_SECRET}`).digest('hex');
  const res = await fetch(`${srv.url}/webhooks/zalo`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-zevent-signature': `mac=${mac}` }, body: raw });
  expect(res.status).toBe(200);
}

const messengerTo = (psid: string): string[] => graph.sent().filter((s) => s.recipientId === psid).map((s) => JSON.stringify(s.body));
const zaloTo = (userId: string): string[] => zalo.sent.filter((s) => s.userId === userId).map((s) => JSON.stringify(s.body));

/** A Messenger citizen asks for the announcements, then taps the group's quick reply. */
async function subscribeMessenger(psid: string): Promise<void> {
  graph.lastInteraction.set(psid, Date.now());
  const before = messengerTo(psid).length;
  await postMessenger(psid, `m_sub_ask_${psid}`, { text: 'đăng ký nhận tin' });
  const offer = await waitFor(() => messengerTo(psid).slice(before).find((b) => b.includes(`mc:sub:${groupId}`)));
  expect(offer).toContain(GROUP.name);
  const afterOffer = messengerTo(psid).length;
  await postMessenger(psid, `m_sub_tap_${psid}`, { text: GROUP.name, quick_reply: { payload: `mc:sub:${groupId}` } });
  await waitFor(() => messengerTo(psid).length > afterOffer);
}

/** A Zalo citizen asks, then taps the group's button (a Zalo tap arrives as text with our payload). */
async function subscribeZalo(userId: string): Promise<void> {
  zalo.setUser(userId, { lastInteractionAt: zalo.now(), following: true });
  const before = zaloTo(userId).length;
  await postZalo(userId, `zmsg-sub-ask-${userId}`, 'đăng ký nhận tin');
  const offer = await waitFor(() => zaloTo(userId).slice(before).find((b) => b.includes(`mc:sub:${groupId}`)));
  expect(offer).toContain(GROUP.name);
  const afterOffer = zaloTo(userId).length;
  await postZalo(userId, `zmsg-sub-tap-${userId}`, `mc:sub:${groupId}`);
  await waitFor(() => zaloTo(userId).length > afterOffer);
}

/** The cells of the notice table's row for a channel (or "Tổng cộng"). */
async function rowCells(page: Page, table: string, label: string): Promise<string[]> {
  const row = page.locator(`${table} tr`, { has: page.locator('td, th', { hasText: new RegExp(`^${label}$`) }) }).first();
  return (await row.locator('td, th').allInnerTexts()).map((s) => s.trim());
}

/** Text of the page, tolerant of the page reloading itself while it is read. */
async function mainText(page: Page): Promise<string> {
  try {
    return await page.locator('main').innerText({ timeout: 2_000 });
  } catch {
    return '';
  }
}

beforeAll(async () => {
  ({ graph, zalo, srv } = await startPlatformServer(
    { fbAppSecret: FB_APP_SECRET, fbPageId: FB_PAGE_ID, fbToken: FB_TOKEN, fbVerifyToken: 'verify-token-for-tests', zaloAppId: ZALO_APP_ID, zaloAppSecret: ZALO_APP_SECRET, zaloOaSecret: ZALO_OA_SECRET, zaloOaId: ZALO_OA_ID },
    // Completion and re-driving run every second instead of every 30 s.
    { env: { BROADCAST_TICK_SECONDS: '1' } },
  ));
  const { staff, defaultUnitId } = srv.running.services;
  unit = defaultUnitId;
  const created = await staff.create({ username: OFFICER, role: 'officer', unitId: defaultUnitId });
  if (!created) throw new Error(`could not create ${OFFICER}`);
  await staff.setPassword(created.user.id, PASSWORD);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  if (SHOTS) fs.mkdirSync(SHOTS, { recursive: true });
  context = await browser.newContext({ viewport: VIEWPORT, locale: 'vi-VN', acceptDownloads: true });
}, 90_000);

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await browser?.close();
  await srv?.stop();
  await graph?.close();
  await zalo?.close();
});

describe('an announcement from compose to report, in a browser', () => {
  it('signs the officer in and creates a subscriber group through the form', async () => {
    const page = await context.newPage();
    await page.goto(`${srv.url}/admin/login`);
    await page.getByLabel('Tên đăng nhập').fill(OFFICER);
    await page.getByLabel('Mật khẩu').fill(PASSWORD);
    await Promise.all([page.waitForURL(`${srv.url}/admin`), page.getByRole('button', { name: 'Đăng nhập' }).click()]);

    await page.locator('header').getByRole('link', { name: 'Nhóm nhận tin' }).click();
    await page.waitForURL(`${srv.url}/admin/units/${unit}/groups`);
    expect(await page.locator('h1').innerText()).toBe('Nhóm nhận tin');
    expect(await mainText(page)).toContain('Chưa có nhóm nào');
    await page.getByLabel('Loại').selectOption('village');
    await page.getByLabel('Tên nhóm').fill(GROUP.name);
    await page.getByLabel('Mô tả (người dân đọc khi đăng ký)').fill(GROUP.description);
    await Promise.all([page.waitForURL(/\/groups\?notice=created$/), page.getByRole('button', { name: 'Tạo nhóm' }).click()]);
    expect(await page.getByRole('status').innerText()).toContain('Đã tạo nhóm');
    const row = page.locator('tbody tr', { has: page.locator('td', { hasText: GROUP.name }) });
    expect(await row.count()).toBe(1);
    expect((await row.locator('td').allInnerTexts()).slice(0, 5).map((s) => s.trim())).toEqual([GROUP.name, 'Thôn/xóm/tổ dân phố', GROUP.description, '0', 'Đang mở']);
    const groups = await srv.running.services.subscriptions.listGroups(unit);
    groupId = groups.find((g) => g.name === GROUP.name)?.id ?? 0;
    expect(groupId).toBeGreaterThan(0);
    await page.close();
  });

  it('lets citizens subscribe themselves in the chat (their consent), one Messenger citizen outside the 24 h window', async () => {
    for (const psid of [...MESSENGER_FRESH, MESSENGER_OLD]) await subscribeMessenger(psid);
    for (const user of ZALO_FOLLOWERS) await subscribeZalo(user);
    // The old one last wrote 30 hours ago: in our contacts and at the Graph fake alike.
    const old = new Date(Date.now() - 30 * 3_600_000);
    const updated = await srv.running.services.db.query<{ id: number }>('UPDATE contacts SET last_interaction_at = $1 WHERE platform_user_id = $2 RETURNING id', [old, MESSENGER_OLD]);
    expect(updated).toHaveLength(1);
    graph.lastInteraction.set(MESSENGER_OLD, old.getTime());

    const page = await context.newPage();
    await page.goto(`${srv.url}/admin/units/${unit}/groups`);
    const row = page.locator('tbody tr', { has: page.locator('td', { hasText: GROUP.name }) });
    expect((await row.locator('td').nth(3).innerText()).trim()).toBe('5');
    expect(await mainText(page)).toContain('5 người đăng ký (mỗi người tính một lần: Zalo 2, Facebook Messenger 3, trang web 0)');
    await shot(page, 'groups');
    await page.close();
  });

  it('composes an announcement and shows the per-platform preview and who will receive it', async () => {
    const page = await context.newPage();
    await page.goto(`${srv.url}/admin`);
    await page.locator('header').getByRole('link', { name: 'Thông báo' }).click();
    expect(await page.locator('h1').innerText()).toBe('Thông báo cho người dân');
    await page.getByRole('link', { name: 'Soạn thông báo' }).click();
    await page.waitForURL(`${srv.url}/admin/units/${unit}/announcements/new`);
    await page.getByLabel('Tiêu đề').fill(ANNOUNCEMENT.title);
    await page.getByLabel('Nội dung').fill(ANNOUNCEMENT.body);
    await page.getByLabel('Liên kết (không bắt buộc)').fill(ANNOUNCEMENT.link);
    await page.getByLabel(GROUP.name).check();
    // Every channel is ticked to begin with; the officer keeps Messenger and Zalo, drops the website.
    for (const c of ['Zalo OA', 'Facebook Messenger', 'Website']) expect(await page.getByLabel(c, { exact: true }).isChecked(), c).toBe(true);
    await page.getByLabel('Website', { exact: true }).uncheck();
    if (!ZALO_DAYTIME) await page.getByLabel('Zalo OA', { exact: true }).uncheck();
    expect(await page.getByLabel('Gửi ngay khi bấm “Gửi”').isChecked()).toBe(true);
    await shot(page, 'announcement-compose');

    await Promise.all([page.waitForURL(/\/announcements\/\d+\?notice=created$/), page.getByRole('button', { name: 'Lưu nháp và xem trước' }).click()]);
    announcementUrl = page.url().replace(/\?.*$/, '');
    expect(await page.locator('h1').innerText()).toBe(ANNOUNCEMENT.title);
    expect(await page.getByRole('status').innerText()).toContain('Đã lưu bản nháp');
    const text = await mainText(page);
    expect(text).toContain('Xem trước trên từng kênh');
    // Each chosen platform shows the message as it will render there, with the title and link.
    const previews = page.locator('.platform', { has: page.locator('.bubble') });
    expect(await previews.count()).toBe(ZALO_DAYTIME ? 2 : 1);
    const messengerPreview = (await previews.filter({ has: page.locator('h3', { hasText: /^Facebook Messenger$/ }) }).locator('.bubble').allInnerTexts()).join('\n');
    expect(messengerPreview).toContain(ANNOUNCEMENT.title);
    expect(messengerPreview).toContain('Mang theo sổ tiêm chủng.');
    expect(messengerPreview).toContain(ANNOUNCEMENT.link);
    if (ZALO_DAYTIME) {
      const zaloPreview = (await previews.filter({ has: page.locator('h3', { hasText: /^Zalo OA$/ }) }).locator('.bubble').allInnerTexts()).join('\n');
      expect(zaloPreview).toContain(ANNOUNCEMENT.title);
    }
    // The notice of predicted counts: Messenger 3 subscribers, 2 now + 1 held; Zalo 2 now.
    expect(text).toContain('Ai sẽ nhận được');
    //                                                   Kênh, Người đăng ký, Nhận ngay, Giữ lại, Gửi lúc 06:00, Không gửi
    expect(await rowCells(page, 'table', 'Facebook Messenger')).toEqual(['Facebook Messenger', '3', '2', '1', '0', '0']);
    if (ZALO_DAYTIME) {
      expect(await rowCells(page, 'table', 'Zalo OA')).toEqual(['Zalo OA', '2', '2', '0', '0', '0']);
      expect(await rowCells(page, 'table', 'Tổng cộng')).toEqual(['Tổng cộng', '5', '4', '1', '0', '0']);
    } else {
      expect(await rowCells(page, 'table', 'Tổng cộng')).toEqual(['Tổng cộng', '3', '2', '1', '0', '0']);
    }
    expect(text).toContain('Nhận ngay: 2');
    expect(text).toContain('Giữ lại, chờ người dân nhắn lại: 1');
    // A draft offers send and cancel, and does not refresh itself.
    expect(await page.getByRole('button', { name: 'Gửi', exact: true }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Hủy bản nháp' }).count()).toBe(1);
    expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
    await shot(page, 'announcement-preview');
    await page.close();
  });

  it('sends, shows live progress until done, and each eligible citizen gets exactly one message', async () => {
    const page = await context.newPage();
    await page.goto(announcementUrl);
    const messengerBefore = graph.sent().length;
    const requestsBefore = graph.requests().length;
    const zaloBefore = zalo.sent.length;
    // Slow Zalo answers keep the announcement running long enough to watch its progress.
    if (ZALO_DAYTIME) zalo.setResponseDelay(1_500);
    const started = Date.now();
    await Promise.all([page.waitForURL(/\/announcements\/\d+\?notice=sent$/), page.getByRole('button', { name: 'Gửi', exact: true }).click()]);
    expect(await page.getByRole('status').innerText()).toContain('Đã bắt đầu gửi');
    expect(await mainText(page)).toContain('Tiến độ');
    const firstStatus = (await rowCells(page, 'table', 'Trạng thái'))[1];
    // With Zalo answering slowly the first view is always of a running announcement.
    if (ZALO_DAYTIME) expect(['Đang chuẩn bị', 'Đang gửi']).toContain(firstStatus);
    if (firstStatus === 'Đang chuẩn bị' || firstStatus === 'Đang gửi') {
      // Running: the page refreshes itself and offers to cancel.
      expect(await page.locator('meta[http-equiv="refresh"]').getAttribute('content')).toBe('3');
      expect(await page.getByRole('button', { name: 'Hủy gửi' }).count()).toBe(1);
      await shot(page, 'announcement-progress');
    }
    // The page reloads itself (meta refresh) until the announcement is done; no reload from here.
    await expect.poll(async () => (await mainText(page)).match(/Trạng thái\s+(\S.*)/)?.[1]?.trim(), { timeout: 30_000, interval: 250 }).toBe('Đã xong');
    if (SHOTS && !(firstStatus === 'Đang chuẩn bị' || firstStatus === 'Đang gửi')) await shot(page, 'announcement-progress');
    zalo.setResponseDelay(0);
    expect(Date.now() - started).toBeLessThan(30_000);

    const text = await mainText(page);
    const expectedSent = ZALO_DAYTIME ? 4 : 2;
    const total = ZALO_DAYTIME ? 5 : 3;
    expect(text).toContain(`Đã xử lý ${total} / ${total} người (100%).`);
    expect(text).not.toContain('trang tự cập nhật');
    expect(await rowCells(page, 'table', 'Đã gửi')).toEqual(['Đã gửi', '—', String(expectedSent)]);
    expect(await rowCells(page, 'table', 'Giữ lại, chờ người dân quay lại')).toEqual([
      'Giữ lại, chờ người dân quay lại',
      'Messenger: quá 24 giờ kể từ lần cuối người dân nhắn tin',
      '1',
    ]);
    expect(await rowCells(page, 'table', 'Xong lúc')).toHaveLength(2);
    // Done: no refresh, nothing to cancel, the report is offered.
    expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Hủy gửi' }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'CSV' }).count()).toBe(1);
    await shot(page, 'announcement-report');

    // The fakes received exactly one announcement per eligible citizen, and nothing for the others.
    const messengerNew = graph.sent().slice(messengerBefore);
    expect(messengerNew.map((s) => s.recipientId).sort()).toEqual([...MESSENGER_FRESH].sort());
    for (const s of messengerNew) {
      expect(JSON.stringify(s.body)).toContain('"messaging_type":"UPDATE"');
      expect(JSON.stringify(s.body)).toContain(ANNOUNCEMENT.title);
    }
    // The citizen outside the window was not even tried (held, not sent and refused).
    expect(graph.requests().slice(requestsBefore).filter((q) => JSON.stringify(q.body).includes(MESSENGER_OLD))).toHaveLength(0);
    const zaloNew = zalo.sent.slice(zaloBefore);
    if (ZALO_DAYTIME) {
      expect(zaloNew.map((s) => s.userId).sort()).toEqual([...ZALO_FOLLOWERS].sort());
      for (const s of zaloNew) {
        expect(s.endpoint).toBe('promotion');
        expect(JSON.stringify(s.body)).toContain(ANNOUNCEMENT.title);
      }
    } else {
      expect(zaloNew).toHaveLength(0);
    }
    await page.close();
  });

  it('downloads the CSV report with a BOM and Vietnamese headers, one pseudonymous row per recipient', async () => {
    const page = await context.newPage();
    await page.goto(announcementUrl);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'CSV' }).click()]);
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    const file = await download.path();
    const bytes = fs.readFileSync(file);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = bytes.subarray(3).toString('utf8').split(/\r?\n/).filter((l) => l !== '');
    const header = lines[0] ?? '';
    for (const h of REPORT_HEADERS) expect(header).toContain(h);
    expect(header.startsWith('Mã người nhận (ẩn danh)')).toBe(true);
    const rows = lines.slice(1);
    expect(rows).toHaveLength(ZALO_DAYTIME ? 5 : 3);
    expect(rows.filter((r) => r.includes('Đã gửi'))).toHaveLength(ZALO_DAYTIME ? 4 : 2);
    expect(rows.filter((r) => r.includes('Giữ lại, chờ người dân quay lại') && r.includes('outside_window'))).toHaveLength(1);
    expect(rows.filter((r) => r.includes('Facebook Messenger'))).toHaveLength(3);
    // No platform user id appears in the report.
    const csv = bytes.toString('utf8');
    for (const id of [...MESSENGER_FRESH, MESSENGER_OLD, ...ZALO_FOLLOWERS]) expect(csv).not.toContain(id);
    // Cancelling a finished announcement is refused politely.
    const cancelled = await page.request.post(`${announcementUrl}/cancel`, { form: { _csrf: await page.locator('input[name="_csrf"]').first().inputValue() }, maxRedirects: 0 });
    expect(cancelled.status()).toBe(303);
    expect(cancelled.headers()['location']).toMatch(/\?notice=not_cancellable$/);
    await page.close();
  });
});
