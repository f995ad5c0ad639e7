// The survey pages in a real browser (Debian's chromium driven by playwright-core), against the
// survey routers in process on the hand-computed fixture (tests/admin/surveys-app.ts): a reporter
// signs in through the form, follows the header link, reads the figures and the charts, changes
// the period and the survey, drills into the comments, makes a dossier poster for the desk and
// prints it to a one-page A4 PDF; a province reporter sees the units side by side. With
// SCREENSHOTS=1 the pages are saved under docs/screenshots/surveys-*.png (1280×800).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startSurveysApp, type SurveysApp } from '../admin/surveys-app.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p)) ?? '/usr/bin/chromium';
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = process.env.SCREENSHOTS === '1' ? path.join(REPO_ROOT, 'docs', 'screenshots') : null;
const VIEWPORT = { width: 1280, height: 800 };

let app: SurveysApp;
let browser: Browser;

async function shot(page: Page, name: string, maxHeight = 2400): Promise<void> {
  if (!SHOTS) return;
  const scrollHeight = Number(await page.evaluate('document.documentElement.scrollHeight'));
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true, clip: { x: 0, y: 0, width: VIEWPORT.width, height: Math.min(maxHeight, scrollHeight) } });
}

async function signIn(username: string): Promise<Page> {
  const context = await browser.newContext({ viewport: VIEWPORT, locale: 'vi-VN' });
  const page = await context.newPage();
  await page.goto(`${app.base}/admin/login`);
  await page.getByLabel('Tên đăng nhập').fill(username);
  await page.getByLabel('Mật khẩu').fill(`mật khẩu của ${username}`);
  // Signed in: the session lands on /admin (not part of this in-process app).
  await Promise.all([page.waitForURL(`${app.base}/admin`), page.getByRole('button', { name: 'Đăng nhập' }).click()]);
  return page;
}

beforeAll(async () => {
  [app, browser] = await Promise.all([
    startSurveysApp('surveys_browser', { login: false, tokens: false }),
    chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    }),
  ]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe('survey pages in a browser', () => {
  it('a reporter reads the figures and charts, changes the period, drills into comments and prints a poster', async () => {
    const page = await signIn('ks.baocao.a');
    await page.goto(`${app.base}/admin/units/xa-a/surveys`);
    await page.locator('header').getByRole('link', { name: 'Khảo sát hài lòng' }).click();
    await expect.poll(() => page.url()).toBe(`${app.base}/admin/units/xa-a/surveys`);
    // The current quarter (Q4 2026) has no response in xã An yet.
    expect(await page.locator('[data-figure="responses"]').innerText()).toBe('0');

    await page.getByLabel('Kỳ báo cáo').selectOption('2026-Q3');
    await Promise.all([page.waitForURL(/period=2026-Q3/), page.getByRole('button', { name: 'Xem số liệu' }).click()]);
    expect(await page.locator('[data-figure="rate"]').innerText()).toBe('75%');
    expect(await page.locator('[data-figure="responses"]').innerText()).toBe('5');
    const distribution = page.getByRole('img', { name: /Phân bố theo mức đánh giá/ });
    await expect.poll(() => distribution.isVisible()).toBe(true);
    expect(await page.getByRole('img', { name: /Tỷ lệ hài lòng theo tháng/ }).isVisible()).toBe(true);
    const box = await distribution.boundingBox();
    expect(box?.width ?? 0).toBeGreaterThan(300);
    await shot(page, 'surveys-report');

    // A month, then the SIPAS survey of the quarter.
    await page.getByLabel('Kỳ báo cáo').selectOption('2026-08');
    await Promise.all([page.waitForURL(/period=2026-08/), page.getByRole('button', { name: 'Xem số liệu' }).click()]);
    expect(await page.locator('[data-figure="rate"]').innerText()).toBe('0%');
    await page.getByLabel('Kỳ báo cáo').selectOption('2026-Q3');
    await page.getByLabel('Phiếu khảo sát').selectOption('sipas');
    await Promise.all([page.waitForURL(/survey=sipas/), page.getByRole('button', { name: 'Xem số liệu' }).click()]);
    expect(await page.getByRole('img', { name: /Tỷ lệ hài lòng theo yếu tố/ }).isVisible()).toBe(true);
    expect(await page.locator('[data-testid="elements"]').innerText()).toContain('Tiếp cận dịch vụ hành chính công');
    await shot(page, 'surveys-sipas');

    // Back to the dossier evaluations, then their comments.
    await page.getByLabel('Phiếu khảo sát').selectOption('dossier-evaluation');
    await Promise.all([page.waitForURL(/survey=dossier-evaluation/), page.getByRole('button', { name: 'Xem số liệu' }).click()]);
    await Promise.all([page.waitForURL(/\/surveys\/comments\?/), page.getByRole('link', { name: 'Xem các ý kiến' }).click()]);
    const comments = page.locator('[data-testid="comments"] tbody tr');
    expect(await comments.count()).toBe(2);
    expect(await comments.first().innerText()).toContain('phải đi lại');
    expect(await page.locator('main').innerText()).not.toMatch(/0912|345 678/);
    await shot(page, 'surveys-comments');

    // The desk's QR poster for a procedure and a dossier, printed to A4.
    await page.goto(`${app.base}/admin/units/xa-a/surveys?period=2026-Q3`);
    await page.getByRole('link', { name: 'Mã QR khảo sát tại Bộ phận Một cửa' }).click();
    await page.getByLabel('Mã thủ tục (không bắt buộc)').fill('1.001193');
    await page.getByLabel('Mã hồ sơ (không bắt buộc)').fill('HS-2026-001');
    await Promise.all([page.waitForURL(/\/surveys\/poster\?/), page.getByRole('button', { name: 'Tạo poster' }).click()]);
    expect(await page.locator('figure.qr').count()).toBe(3);
    expect(await page.locator('p.say').innerText()).toBe('đánh giá hồ sơ HS-2026-001');
    expect(await page.locator('p.dossier').innerText()).toBe('Mã hồ sơ: HS-2026-001');
    await shot(page, 'surveys-poster', 1200);
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('.toolbar').isVisible()).toBe(false);
    const pdf = await page.pdf({ preferCSSPageSize: true, printBackground: true });
    expect(pdf.subarray(0, 4).toString()).toBe('%PDF');
    expect(pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g)?.length).toBe(1);
    await page.context().close();
  }, 60_000);

  it('a province reporter sees the units side by side', async () => {
    const page = await signIn('ks.baocao.tinh');
    await page.goto(`${app.base}/admin/surveys?period=2026-Q3`);
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Khảo sát sự hài lòng — toàn tỉnh');
    const rows = page.locator('[data-testid="units"] tbody tr');
    expect(await rows.allInnerTexts()).toEqual([
      expect.stringMatching(/UBND xã An\s+5\s+4\s+1\s+2\s+1\s+75%/),
      expect.stringMatching(/UBND xã Bình\s+4\s+4\s+1\s+1\s+2\s+50%/),
      expect.stringMatching(/UBND xã Châu\s+0\s+0\s+0\s+0\s+0\s+—/),
      expect.stringMatching(/Tổng cộng\s+9\s+8\s+2\s+3\s+3\s+62,5%/),
    ]);
    expect(await page.getByRole('img', { name: /Tỷ lệ hài lòng theo đơn vị/ }).isVisible()).toBe(true);
    await shot(page, 'surveys-province');
    await Promise.all([page.waitForURL(/\/admin\/units\/xa-b\/surveys\?/), page.getByRole('link', { name: 'UBND xã Bình' }).click()]);
    expect(await page.locator('[data-figure="rate"]').innerText()).toBe('50%');
    await page.context().close();
  }, 60_000);
});
