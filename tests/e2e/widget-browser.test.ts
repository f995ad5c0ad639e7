// The chat page and the embeddable widget in a real browser (Debian's chromium, driven by
// playwright-core; no browser download). A person types, reads, taps a button.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/start-server.js';
import { widgetLink } from '../../src/admin/catalogue-router.js';
import { formatFee, formatTime } from '../../src/catalogue/format.js';
import { loadIntents } from '../../src/conversation/intents.js';
import { procedureAnswer } from '../../src/conversation/replies.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p)) ?? '/usr/bin/chromium';
const SHOTS = process.env.MOTCUA_SCREENSHOTS_DIR ?? path.join(os.tmpdir(), 'motcua-screenshots');

let srv: TestServer;
let browser: Browser;

beforeAll(async () => {
  srv = await startTestServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  fs.mkdirSync(SHOTS, { recursive: true });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await srv?.stop();
});

describe('chat page in a browser', () => {
  it('answers a question typed without diacritics and opens the documents on a tap', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${srv.url}/`);
    await page.getByTestId('chat-input').fill('lam giay khai sinh can gi');
    await page.getByTestId('chat-send').click();
    const firstBot = page.getByTestId('message-bot').first();
    await firstBot.waitFor();
    await expect.poll(async () => (await page.getByTestId('message-bot').allTextContents()).join(' ')).toMatch(/khai sinh/i);
    const before = await page.getByTestId('message-bot').count();
    await page.getByTestId('reply-button').filter({ hasText: /Giấy tờ/i }).first().click();
    await expect.poll(() => page.getByTestId('message-bot').count()).toBeGreaterThan(before);
    await page.screenshot({ path: path.join(SHOTS, 'chat-page.png'), fullPage: false });
    await page.close();
  });

  it('shows HTML-looking text as text, never as markup', async () => {
    const page = await browser.newPage();
    let dialogs = 0;
    page.on('dialog', (d) => {
      dialogs++;
      void d.dismiss();
    });
    await page.goto(`${srv.url}/`);
    const evil = '<img src=x onerror="alert(1)"><b>đậm</b>';
    await page.getByTestId('chat-input').fill(evil);
    await page.getByTestId('chat-send').click();
    await page.getByTestId('message-bot').first().waitFor();
    expect(await page.getByTestId('message-user').first().textContent()).toContain('<b>đậm</b>');
    expect(await page.locator('.chat__messages img, .chat__messages b').count()).toBe(0);
    expect(dialogs).toBe(0);
    await page.close();
  });

  it('embeds on a commune website with one script tag', async () => {
    // The commune's own website: another origin that embeds motcua with one script tag.
    const site = http.createServer((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(`<!doctype html><html lang="vi"><body><h1>Cổng thông tin xã Mẫu</h1>
        <script src="${srv.url}/widget.js" data-unit="xa-mau"></script></body></html>`);
    });
    await new Promise<void>((r) => site.listen(0, 'localhost', r));
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`http://localhost:${(site.address() as AddressInfo).port}/`);
    await page.getByTestId('widget-toggle').click();
    const frame = page.frameLocator('[data-testid="widget-frame"]');
    await frame.getByTestId('chat-input').fill('dang ky tam tru');
    await frame.getByTestId('chat-send').click();
    await expect.poll(async () => (await frame.getByTestId('message-bot').allTextContents()).join(' ')).toMatch(/tạm trú/i);
    await page.screenshot({ path: path.join(SHOTS, 'widget-embedded.png') });
    await page.close();
    await new Promise<void>((r) => site.close(() => r()));
  });

  it('opens on a procedure from a poster’s QR link', async () => {
    const { catalogue, units, defaultUnitId, config } = srv.running.services;
    const khaiSinh = catalogue.procedures.find((p) => p.name === 'Thủ tục đăng ký khai sinh');
    expect(khaiSinh).toBeDefined();
    const code = khaiSinh?.code ?? '';
    // What the bot's own reply function says for this procedure and unit.
    const expected = procedureAnswer(
      { texts: loadIntents(config.INTENTS_DIR), format: { time: formatTime, fee: formatFee }, unit: (await units.get(defaultUnitId)) ?? null },
      khaiSinh!,
    )[0]!.text;
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    // The very link the poster prints under its website QR code.
    await page.goto(widgetLink(srv.url, defaultUnitId, `mc:pick:${code}`));
    const first = page.getByTestId('message-bot').first();
    await first.waitFor();
    expect(await first.locator('.msg__text').textContent()).toBe(expected);
    expect(await page.getByTestId('message-bot').count()).toBe(1);
    // The conversation goes on from there: the documents button answers for the same procedure.
    await page.getByTestId('reply-button').filter({ hasText: /Giấy tờ/i }).first().click();
    await expect.poll(() => page.getByTestId('message-bot').count()).toBeGreaterThan(1);
    expect(await page.getByTestId('message-bot').nth(1).textContent()).toContain(khaiSinh!.name);
    await page.screenshot({ path: path.join(SHOTS, 'chat-deep-link.png') });
    // Reloading without the ref is an ordinary visit: the greeting, not the procedure again.
    await page.goto(`${srv.url}/?unit=${defaultUnitId}`);
    await page.getByTestId('message-bot').first().waitFor();
    expect(await page.getByTestId('message-bot').first().textContent()).not.toContain(khaiSinh!.name);
    await page.close();
  });

  it('ignores a hostile ref in the link', async () => {
    const page = await browser.newPage();
    let dialogs = 0;
    page.on('dialog', (d) => {
      dialogs++;
      void d.dismiss();
    });
    await page.goto(`${srv.url}/?ref=${encodeURIComponent('"><script>alert(1)</script>')}`);
    await page.getByTestId('message-bot').first().waitFor();
    // The ordinary greeting, with the menu topics.
    expect(await page.getByTestId('quick-reply').count()).toBeGreaterThan(0);
    expect(await page.content()).not.toContain('alert(1)');
    expect(dialogs).toBe(0);
    await page.close();
  });
});
