// The admin web in a real browser (Debian's chromium driven by playwright-core; no browser
// download) against the real `serve` role: staff sign in through the form, an officer searches
// the catalogue, prints a poster, attaches a question the bot did not understand to the right
// procedure and a citizen is answered at once; the wrong role gets a Vietnamese refusal page;
// citizens' hostile text stays text. With SCREENSHOTS=1 the main pages are saved under
// docs/screenshots/ (desktop, 1280×800); without it nothing is written there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/start-server.js';
import { widgetLink } from '../../src/admin/catalogue-router.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p)) ?? '/usr/bin/chromium';
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = process.env.SCREENSHOTS === '1' ? path.join(REPO_ROOT, 'docs', 'screenshots') : null;
const VIEWPORT = { width: 1280, height: 800 };
/** Where citizens reach the deployment (printed on posters); the browser itself talks to 127.0.0.1. */
const PUBLIC_BASE_URL = 'https://hoidap.xamau.example.vn';

const PASSWORD = 'Mật-khẩu-thử-nghiệm-2026';
const USERS = {
  admin: { username: 'quantri.tinh', role: 'admin', province: true },
  officer: { username: 'canbo.xamau', role: 'officer', province: false },
  reporter: { username: 'baocao.xamau', role: 'reporter', province: false },
} as const;
type Who = keyof typeof USERS;

/** Citizens' words, as typed into the chat. */
const UNANSWERED = 'xin tiền già cho ông'; // "tiền già" = the old-age allowance; the bot reads "tiền giả" (counterfeit money)
const UNANSWERED_PLAIN = 'xin tien gia cho ong';
const ALLOWANCE_CODE = '1.001776'; // Thực hiện, điều chỉnh, thôi hưởng trợ cấp xã hội hằng tháng…
const NURSING_HOME = 'xin giấy cho bà cụ vào viện dưỡng lão'; // no such procedure in the catalogue: stays unanswered
const SCRIPT = '<script>alert(1)</script>';
const FORMULA = '=HYPERLINK("http://evil.example","bấm")';
const FORBIDDEN_VI = 'Bạn không có quyền thực hiện thao tác này.';

let srv: TestServer;
let browser: Browser;
let unit = '';
const contexts = new Map<Who, BrowserContext>();

/** Saves a screenshot under docs/screenshots/ when SCREENSHOTS=1; long pages are cut at maxHeight. */
async function shot(page: Page, name: string, fullPage = true, maxHeight = 2400): Promise<void> {
  if (!SHOTS) return;
  // The page's full height, read in the browser (the test's own lib has no DOM types).
  const scrollHeight = Number(await page.evaluate('document.documentElement.scrollHeight'));
  const height = fullPage ? Math.min(maxHeight, scrollHeight) : VIEWPORT.height;
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage, clip: { x: 0, y: 0, width: VIEWPORT.width, height } });
}

const ChatReply = z.object({ replies: z.array(z.object({ text: z.string() })) });

async function chat(sessionId: string, text: string): Promise<string> {
  const res = await fetch(`${srv.url}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sessionId, text }),
  });
  expect(res.status).toBe(200);
  const body = ChatReply.parse(await res.json());
  return body.replies.map((r) => r.text).join('\n');
}

/** A signed-in browser for `who`, who logged in through the form (once per test file). */
async function signedIn(who: Who): Promise<{ context: BrowserContext; page: Page }> {
  let context = contexts.get(who);
  if (!context) {
    context = await browser.newContext({ viewport: VIEWPORT, locale: 'vi-VN' });
    contexts.set(who, context);
    const page = await context.newPage();
    await page.goto(`${srv.url}/admin/login`);
    await page.getByLabel('Tên đăng nhập').fill(USERS[who].username);
    await page.getByLabel('Mật khẩu').fill(PASSWORD);
    await Promise.all([page.waitForURL(`${srv.url}/admin`), page.getByRole('button', { name: 'Đăng nhập' }).click()]);
    return { context, page };
  }
  return { context, page: await context.newPage() };
}

/** Navigation links in the header. */
async function navLinks(page: Page): Promise<string[]> {
  return (await page.locator('header a').allInnerTexts()).map((s) => s.trim());
}

/** Collects dialogs (alert/confirm) a page opens: none may ever fire on an admin page. */
function watchDialogs(page: Page): { count: number } {
  const seen = { count: 0 };
  page.on('dialog', (d) => {
    seen.count++;
    void d.dismiss();
  });
  return seen;
}

beforeAll(async () => {
  srv = await startTestServer({ PUBLIC_BASE_URL });
  const { staff, defaultUnitId, queryLog } = srv.running.services;
  unit = defaultUnitId;
  for (const u of Object.values(USERS)) {
    const created = await staff.create({ username: u.username, role: u.role, unitId: u.province ? null : defaultUnitId });
    if (!created) throw new Error(`could not create ${u.username}`);
    // setPassword clears must_change_password: the users land on the dashboard, not the password page.
    await staff.setPassword(created.user.id, PASSWORD);
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  if (SHOTS) fs.mkdirSync(SHOTS, { recursive: true });

  // Citizens ask through the real chat API (the widget's own requests).
  expect(await chat('citizen-tien-gia-0001', UNANSWERED)).not.toMatch(/trợ cấp xã hội hằng tháng/i);
  await chat('citizen-vien-duong-lao', NURSING_HOME);
  await chat('citizen-ket-hon-00001', 'dk ket hon');
  // One citizen pastes hostile text, then asks for an officer: the request carries the transcript.
  const hostile = 'citizen-hostile-00001';
  await chat(hostile, 'làm giấy khai sinh cần gì');
  await chat(hostile, SCRIPT);
  await chat(hostile, FORMULA);
  await chat(hostile, 'gặp cán bộ');
  // The bot logged the questions it did not understand (digits are masked in the log).
  const none = (await queryLog.recent(defaultUnitId, { outcome: 'none', limit: 50 })).map((q) => q.text);
  expect(none).toContain(UNANSWERED);
  expect(none).toContain(NURSING_HOME);
  expect(none).toContain(FORMULA);
  expect(none.some((t) => t.startsWith('<script>alert('))).toBe(true);
}, 90_000);

afterAll(async () => {
  for (const c of contexts.values()) await c.close().catch(() => undefined);
  await browser?.close();
  await srv?.stop();
});

describe('admin web in a browser', () => {
  it('signs an officer in through the form onto a Vietnamese dashboard with their links only', async () => {
    const context = await browser.newContext({ viewport: VIEWPORT, locale: 'vi-VN' });
    contexts.set('officer', context);
    const page = await context.newPage();
    // An anonymous visit to the admin is sent to the sign-in form.
    await page.goto(`${srv.url}/admin`);
    expect(page.url()).toBe(`${srv.url}/admin/login`);
    expect(await page.locator('html').getAttribute('lang')).toBe('vi');
    expect(await page.locator('h1').innerText()).toBe('Đăng nhập');
    // The form carries its CSRF token.
    expect(await page.locator('input[name="_csrf"]').inputValue()).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    await shot(page, 'login', false);
    // A wrong password: the form again, with a Vietnamese error and a fresh token.
    await page.getByLabel('Tên đăng nhập').fill(USERS.officer.username);
    await page.getByLabel('Mật khẩu').fill('sai-mật-khẩu-hoàn-toàn');
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await expect.poll(() => page.locator('[role="alert"]').innerText()).toBe('Tên đăng nhập hoặc mật khẩu không đúng.');
    await page.getByLabel('Mật khẩu').fill(PASSWORD);
    await Promise.all([page.waitForURL(`${srv.url}/admin`), page.getByRole('button', { name: 'Đăng nhập' }).click()]);
    expect(await page.locator('h1').innerText()).toBe('Tổng quan');
    const body = await page.locator('main').innerText();
    expect(body).toContain('Câu hỏi hôm nay');
    expect(body).toContain('Yêu cầu gặp cán bộ đang mở');
    expect(await page.locator('header').innerText()).toContain(`${USERS.officer.username} (Cán bộ · ${unit})`);
    const links = await navLinks(page);
    expect(links).toEqual(expect.arrayContaining(['Tra cứu thủ tục', 'Gặp cán bộ', 'Câu hỏi chưa trả lời', 'Mã API', 'Đổi mật khẩu']));
    expect(links).not.toContain('Người dùng');
    expect(links).not.toContain('Hàng đợi');
    expect(links).not.toContain('Nhật ký');
    await shot(page, 'dashboard', false);
    await page.close();
  });

  it('lets the officer search the catalogue as the bot does, open a procedure and its QR poster', async () => {
    const { page } = await signedIn('officer');
    await page.goto(`${srv.url}/admin`);
    await page.getByRole('link', { name: 'Tra cứu thủ tục' }).click();
    expect(await page.locator('h1').innerText()).toBe('Danh mục thủ tục');
    await page.getByLabel('Câu hỏi như người dân gõ').fill('dk ket hon');
    await page.getByRole('button', { name: 'Tìm như trợ lý ảo' }).click();
    await page.waitForURL(/\/catalogue\?q=dk\+ket\+hon$/);
    expect(await page.getByTestId('outcome').locator('strong').innerText()).toBe('Trả lời ngay');
    const replies = (await page.getByTestId('reply').allInnerTexts()).join('\n');
    expect(replies).toMatch(/đăng ký kết hôn/i);
    await shot(page, 'catalogue-search');

    await page.locator('table').getByRole('link', { name: 'Thủ tục đăng ký kết hôn', exact: true }).click();
    await page.waitForURL(/\/catalogue\/1\.000894$/);
    expect(await page.locator('h1').innerText()).toBe('Thủ tục đăng ký kết hôn');
    expect(await page.locator('main').innerText()).toContain('Người dân thấy gì');
    expect(await page.locator('#chi-tiet-docs').innerText()).toMatch(/giấy tờ|hồ sơ/i);
    await shot(page, 'procedure', true, 1800);

    await page.getByRole('link', { name: 'In poster QR cho thủ tục này' }).click();
    await page.waitForURL(/\/catalogue\/1\.000894\/poster$/);
    expect(await page.locator('h1').innerText()).toBe('Thủ tục đăng ký kết hôn');
    const web = page.locator('figure.qr[data-channel="Trang web"]');
    expect(await web.locator('svg').count()).toBe(1);
    // The website QR opens the chat on this very procedure.
    expect(await web.locator('.url a').getAttribute('href')).toBe(widgetLink(PUBLIC_BASE_URL, unit, 'mc:pick:1.000894'));
    // A real public address: no "PUBLIC_BASE_URL is not set" warning on the sheet.
    expect(await page.locator('.toolbar .warn').count()).toBe(0);
    await shot(page, 'poster');

    // The unit's own poster, without a procedure.
    await page.goto(`${srv.url}/admin/units/${unit}/poster`);
    expect(await page.locator('h1').innerText()).toBe('Hỏi đáp thủ tục hành chính');
    await page.close();
  });

  it('attaches an unanswered question to the right procedure, and the bot answers it at once', async () => {
    const { page } = await signedIn('officer');
    await page.goto(`${srv.url}/admin`);
    await page.getByRole('link', { name: 'Câu hỏi chưa trả lời' }).click();
    expect(await page.locator('h1').innerText()).toBe('Câu hỏi chưa trả lời được');
    const row = page.locator('tr', { has: page.locator('td', { hasText: UNANSWERED }) }).first();
    expect(await row.locator('td').first().innerText()).toBe(UNANSWERED);
    // The bot's own suggestions for it are the wrong ones ("tiền giả"), so the officer types the code.
    await shot(page, 'questions-before');
    await row.getByLabel('Mã thủ tục khác').fill(ALLOWANCE_CODE);
    await row.getByRole('button', { name: 'Gắn vào thủ tục' }).click();
    await page.waitForURL(/\/questions\?notice=attached$/);
    expect(await page.getByRole('status').innerText()).toContain('Đã gắn câu hỏi vào thủ tục');
    // The question now reads as answered, and the unit's phrasing is listed.
    const after = page.locator('tr', { has: page.locator('td', { hasText: UNANSWERED }) });
    expect((await after.allInnerTexts()).join('\n')).toMatch(/Đã trả lời được: Thực hiện, điều chỉnh, thôi hưởng trợ cấp xã hội hằng tháng/);
    expect((await after.allInnerTexts()).join('\n')).toContain(`(${ALLOWANCE_CODE})`);
    // The question the catalogue has no procedure for is still waiting.
    expect(await page.locator('tr', { has: page.locator('td', { hasText: NURSING_HOME }) }).count()).toBe(1);
    await shot(page, 'questions-after');
    await page.close();

    // A citizen asks the same thing without diacritics, in the chat page.
    const citizen = await browser.newPage({ viewport: VIEWPORT });
    await citizen.goto(`${srv.url}/`);
    await citizen.getByTestId('message-bot').first().waitFor();
    const before = await citizen.getByTestId('message-bot').count();
    await citizen.getByTestId('chat-input').fill(UNANSWERED_PLAIN);
    await citizen.getByTestId('chat-send').click();
    await expect.poll(() => citizen.getByTestId('message-bot').count()).toBeGreaterThan(before);
    await expect
      .poll(async () => (await citizen.getByTestId('message-bot').allInnerTexts()).slice(before).join('\n'))
      .toMatch(/trợ cấp xã hội hằng tháng/i);
    await shot(citizen, 'chat-answer-after-attach', false);
    await citizen.close();
  });

  it('shows the reporter a Vietnamese refusal page for the hand-offs', async () => {
    const { page } = await signedIn('reporter');
    const links = await navLinks(page);
    expect(links).not.toContain('Gặp cán bộ');
    expect(links).not.toContain('Câu hỏi chưa trả lời');
    const res = await page.goto(`${srv.url}/admin/units/${unit}/handoffs`);
    expect(res?.status()).toBe(403);
    expect(res?.headers()['content-type']).toMatch(/^text\/html/);
    expect(await page.locator('html').getAttribute('lang')).toBe('vi');
    expect(await page.getByRole('alert').innerText()).toBe(FORBIDDEN_VI);
    expect(await page.getByRole('link', { name: 'Về trang chủ quản trị' }).getAttribute('href')).toBe('/admin');
    expect(await page.locator('main').innerText()).not.toContain('Người dân');
    await shot(page, 'forbidden', false);
    await page.close();
  });

  it('shows the same refusal page to an officer on the users page and a reporter on the units page', async () => {
    for (const [who, where] of [
      ['officer', '/admin/users'],
      ['officer', '/admin/audit'],
      ['reporter', '/admin/units'],
    ] as const) {
      const { page } = await signedIn(who);
      const res = await page.goto(`${srv.url}${where}`);
      expect(res?.status(), `${who} ${where}`).toBe(403);
      expect(res?.headers()['content-type'], `${who} ${where}: a page, not JSON`).toMatch(/^text\/html/);
      expect(await page.getByRole('alert').innerText()).toBe(FORBIDDEN_VI);
      await page.close();
    }
  });

  it('gives the province admin the units, users, API tokens, audit log and queues', async () => {
    const { page } = await signedIn('admin');
    const links = await navLinks(page);
    expect(links).toEqual(expect.arrayContaining(['Đơn vị và kênh', 'Người dùng', 'Nhật ký', 'Hàng đợi', 'Mã API']));

    await page.getByRole('link', { name: 'Đơn vị và kênh' }).click();
    expect(await page.locator('h1').innerText()).toBe('Đơn vị và kênh');
    const unitName = (await srv.running.services.units.get(unit))?.name ?? '';
    expect(unitName).not.toBe('');
    await shot(page, 'units');
    await page.getByRole('link', { name: unitName }).click();
    await page.waitForURL(`${srv.url}/admin/units/${unit}`);
    expect(await page.locator('h1').innerText()).toBe(unitName);
    expect(await page.locator('main').innerText()).toContain('Trang Facebook (Messenger)');
    await shot(page, 'unit');

    await page.getByRole('link', { name: 'Người dùng' }).click();
    expect(await page.locator('h1').innerText()).toBe('Người dùng');
    const users = await page.locator('main').innerText();
    for (const u of Object.values(USERS)) expect(users).toContain(u.username);
    await shot(page, 'users');

    // A token is shown once, right after it is created, and never again.
    await page.getByRole('link', { name: 'Mã API' }).click();
    expect(await page.locator('h1').innerText()).toBe('Mã API');
    await page.getByLabel('Tên gợi nhớ').fill('Báo cáo tháng của tỉnh');
    await page.getByRole('button', { name: 'Tạo mã API' }).click();
    const token = (await page.locator('#api-token').innerText()).trim();
    expect(token.length).toBeGreaterThan(30);
    expect(await page.locator('main').innerText()).toContain('Báo cáo tháng của tỉnh');
    await page.getByRole('link', { name: 'Quay lại danh sách mã API' }).click();
    const list = await page.content();
    expect(list).toContain('Báo cáo tháng của tỉnh');
    expect(list).not.toContain(token);
    // The token works for the API, with the admin's rights.
    const api = await fetch(`${srv.url}/api/v1/search?q=${encodeURIComponent('dk ket hon')}`, { headers: { authorization: `Bearer ${token}` } });
    expect(api.status).toBe(200);
    await shot(page, 'tokens');

    await page.getByRole('link', { name: 'Nhật ký' }).click();
    expect(await page.locator('h1').innerText()).toBe('Nhật ký hoạt động');
    const rows = await page.locator('tr.entry').allInnerTexts();
    for (const who of ['officer', 'reporter', 'admin'] as const) {
      expect(rows.some((r) => r.includes('Đăng nhập') && r.includes(USERS[who].username)), `sign-in of ${who}`).toBe(true);
    }
    expect(rows.some((r) => r.includes('Đăng nhập sai') && r.includes(USERS.officer.username))).toBe(true);
    // The attach: by the officer, on the procedure code, without the citizen's words.
    const attach = rows.find((r) => r.includes(USERS.officer.username) && r.includes(ALLOWANCE_CODE));
    expect(attach).toBeDefined();
    expect(attach).not.toContain(UNANSWERED);
    expect(rows.some((r) => r.includes('Tạo mã API') && r.includes('Báo cáo tháng của tỉnh'))).toBe(true);
    await shot(page, 'audit');

    await page.getByRole('link', { name: 'Hàng đợi' }).click();
    await page.waitForURL(`${srv.url}/admin/queues`);
    await expect.poll(async () => page.locator('body').innerText(), { timeout: 10_000 }).toMatch(/inbound[\s\S]*outbound|outbound[\s\S]*inbound/);
    // The overview has loaded the queues' counts (no spinner left).
    await expect.poll(async () => page.locator('body').innerText(), { timeout: 10_000 }).not.toContain('Loading');
    await shot(page, 'queues', false);
    await page.close();
  });

  it('shows citizens’ hostile text as plain text on the questions and hand-offs pages', async () => {
    const { page } = await signedIn('officer');
    const dialogs = watchDialogs(page);

    await page.goto(`${srv.url}/admin/units/${unit}/questions`);
    const questions = await page.locator('main').innerText();
    expect(questions).toContain('<script>alert(');
    expect(questions).toContain(FORMULA);
    expect(await page.locator('main script').count()).toBe(0);

    await page.goto(`${srv.url}/admin`);
    await page.getByRole('link', { name: 'Gặp cán bộ' }).click();
    expect(await page.locator('h1').innerText()).toBe('Yêu cầu gặp cán bộ');
    const request = page.locator('tr', { has: page.locator('details') }).first();
    await request.locator('summary').click();
    expect(await request.locator('summary').innerText()).toMatch(/^Cuộc trò chuyện trước đó \(\d+ tin\)$/);
    const transcript = await request.locator('details').innerText();
    expect(transcript).toContain('làm giấy khai sinh cần gì');
    expect(transcript).toContain('<script>alert(');
    expect(transcript).toContain(FORMULA);
    expect(transcript).toContain('Trợ lý ảo');
    // The last line is the citizen asking for an officer, in their words; the bot's lines keep
    // their numbers (the unit's phone), only the citizen's are masked.
    expect((await request.locator('details li').last().innerText()).trim()).toMatch(/gặp cán bộ$/i);
    expect(transcript).toContain('0200 000 000');
    expect(await page.locator('main script').count()).toBe(0);
    await shot(page, 'handoffs');

    for (const where of [`/admin/units/${unit}/questions`, `/admin/units/${unit}/handoffs`]) {
      await page.goto(`${srv.url}${where}`);
      expect(await page.locator('a[href*="evil.example"]').count(), where).toBe(0);
    }
    expect(dialogs.count).toBe(0);
    await page.close();
  });
});
