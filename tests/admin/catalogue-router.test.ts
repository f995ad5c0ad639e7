import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { StaffRepository } from '../../src/store/staff-repository.js';
import { AuditRepository } from '../../src/store/audit-repository.js';
import { AccountRepository } from '../../src/store/account-repository.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { createApp } from '../../src/http/create-app.js';
import { createLogger } from '../../src/logger.js';
import { createAuth, escapeHtml, LoginLimiter, SessionStore } from '../../src/admin/auth/index.js';
import { createCatalogueRouter, plainName } from '../../src/admin/catalogue-router.js';
import { loadCatalogue, type Catalogue } from '../../src/catalogue/index.js';
import type { CatalogueProcedure } from '../../src/catalogue/schema.js';
import { formatFee, formatTime } from '../../src/catalogue/format.js';
import { buildSearchIndex } from '../../src/search/index.js';
import type { Searcher } from '../../src/search/types.js';
import { defaultIntentsDir, loadIntents, type IntentSet } from '../../src/conversation/intents.js';
import { procedureAnswer, procedureDetail, type ReplyContext } from '../../src/conversation/replies.js';
import type { Unit } from '../../src/units/unit.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';
import { loginAs } from '../helpers/admin-login.js';
import { decodeSvg } from './qr-decode.js';

const prefix = isolatedName('catalogue') + ':';
const PUBLIC_BASE = 'https://motcua.example.gov.vn';
const ADMIN_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const unit = (id: string, extra: Partial<Unit> = {}): Unit => ({
  id,
  name: `UBND ${id}`,
  province: null,
  address: null,
  phone: null,
  email: null,
  hours: null,
  portalUrl: null,
  website: null,
  procedureCodes: null,
  ...extra,
});

let db: Database;
let redis: Redis;
let server: http.Server;
let base = '';
let cookieA = '';
let cookieB = '';
let catalogue: Catalogue;
let searcher: Searcher;
let intents: IntentSet;
let units: UnitRepository;
let khaiSinh: CatalogueProcedure;
let ketHon: CatalogueProcedure;
let tamTru: CatalogueProcedure;

const byName = (name: string): CatalogueProcedure => {
  const p = catalogue.procedures.find((x) => x.name === name);
  if (!p) throw new Error(`no procedure named ${name}`);
  return p;
};

beforeAll(async () => {
  catalogue = loadCatalogue('procedures');
  searcher = buildSearchIndex(catalogue.procedures);
  intents = loadIntents(defaultIntentsDir());
  khaiSinh = byName('Thủ tục đăng ký khai sinh');
  ketHon = byName('Thủ tục đăng ký kết hôn');
  tamTru = byName('Đăng ký tạm trú');

  db = await openDatabase({ dataDir: 'memory://' });
  await migrate(db);
  units = new UnitRepository(db);
  await units.upsert([
    unit('xa-a', { name: 'UBND xã An Bình', phone: '0200 111 222', address: 'Thôn Chợ, xã An Bình', hours: 'Sáng 7h30–11h30' }),
    // xã B answers only two procedures: kết hôn is outside its list.
    unit('xa-b', { procedureCodes: [khaiSinh.code, tamTru.code] }),
  ]);
  const accounts = new AccountRepository(db, new SecretBox('a test secret key that is long enough for the box'));
  await accounts.upsert({ unitId: 'xa-a', platform: 'messenger', externalId: '111222333', name: 'Trang UBND xã An Bình' });
  await accounts.upsert({ unitId: 'xa-a', platform: 'zalo', externalId: '4318000000000000001', name: 'Zalo OA xã An Bình' });
  const paused = await accounts.upsert({ unitId: 'xa-a', platform: 'messenger', externalId: '555000555' });
  await accounts.setStatus(paused.id, 'reconnect_required', 'token expired');
  await accounts.upsert({ unitId: 'xa-b', platform: 'messenger', externalId: '999888777' });

  redis = new Redis(TEST_REDIS_URL);
  const staff = new StaffRepository(db);
  const auth = createAuth({
    sessions: new SessionStore(redis, { prefix: prefix + 'sess:' }),
    limiter: new LoginLimiter(redis, { prefix: prefix + 'login:' }),
    staff,
    audit: new AuditRepository(db),
    secureCookies: false,
  });
  const codeSets = new Map<string, ReadonlySet<string>>([['xa-b', new Set([khaiSinh.code, tamTru.code])]]);
  const router = createCatalogueRouter({
    auth,
    catalogue,
    search: (unitId, text) => {
      const codes = codeSets.get(unitId);
      return searcher.search(text, { top: 3, ...(codes ? { codes } : {}) });
    },
    unitCodes: (unitId) => codeSets.get(unitId),
    units,
    accounts,
    publicBaseUrl: PUBLIC_BASE,
    intents,
  });
  const app = createApp({ logger: createLogger('silent'), readiness: [], routers: [auth.router, router] });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const [username, unitId] of [
    ['canbo.a', 'xa-a'],
    ['canbo.b', 'xa-b'],
  ] as const) {
    const u = await staff.create({ username, role: 'officer', unitId });
    await staff.setPassword(u?.user.id ?? 0, `mật khẩu của ${username}`);
  }
  cookieA = await loginAs(base, 'canbo.a', 'mật khẩu của canbo.a');
  cookieB = await loginAs(base, 'canbo.b', 'mật khẩu của canbo.b');
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  const keys = await redis.keys(prefix + '*');
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await db.close();
});

const get = (path: string, cookie?: string) => fetch(base + path, { redirect: 'manual', headers: cookie ? { cookie } : {} });
const page = async (path: string, cookie: string): Promise<string> => {
  const res = await get(path, cookie);
  expect(res.status).toBe(200);
  return res.text();
};
const search = (unitId: string, q: string, cookie = cookieA) => page(`/admin/units/${unitId}/catalogue?q=${encodeURIComponent(q)}`, cookie);
async function ctxOf(unitId: string): Promise<ReplyContext> {
  return { texts: intents, format: { time: formatTime, fee: formatFee }, unit: (await units.get(unitId)) ?? null };
}
/** The bot's reply texts as the page must show them (escaped, line breaks kept). */
const shown = (text: string): string => escapeHtml(text);
const svgsOf = (html: string): string[] => [...html.matchAll(/<svg [\s\S]*?<\/svg>/g)].map((m) => m[0]);
const printedUrls = (html: string): string[] =>
  [...html.matchAll(/<p class="url"><a href="([^"]+)">/g)].map((m) => (m[1] ?? '').replace(/&amp;/g, '&'));

describe('catalogue browser: access', () => {
  it('sends anonymous visitors to the login page', async () => {
    for (const path of ['/admin/units/xa-a/catalogue', `/admin/units/xa-a/catalogue/${khaiSinh.code}`, `/admin/units/xa-a/catalogue/${khaiSinh.code}/poster`, '/admin/units/xa-a/poster']) {
      const res = await get(path);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/admin/login');
    }
  });

  it('refuses an officer of another unit', async () => {
    for (const path of ['/admin/units/xa-b/catalogue?q=khai+sinh', `/admin/units/xa-b/catalogue/${khaiSinh.code}`, `/admin/units/xa-b/catalogue/${khaiSinh.code}/poster`, '/admin/units/xa-b/poster']) {
      expect((await get(path, cookieA)).status).toBe(403);
    }
  });

  it('serves the pages under the admin policy, uncached', async () => {
    const res = await get(`/admin/units/xa-a/catalogue/${khaiSinh.code}/poster`, cookieA);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(ADMIN_CSP);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).not.toMatch(/<script|<link|<img|https?:\/\/[^"<\s]*\.(css|js)\b/i);
  });
});

describe('catalogue search, as the bot decides', () => {
  it('answers "dk ket hon" directly with đăng ký kết hôn, and shows the bot’s reply', async () => {
    const html = await search('xa-a', 'dk ket hon');
    expect(html).toContain('data-outcome="answered">Trả lời ngay</strong>');
    expect(html).toMatch(/Độ tin cậy: <span data-testid="confidence">\d+%<\/span>/);
    expect(html).toContain(`<td>1</td><td>${ketHon.code}</td><td><a href="/admin/units/xa-a/catalogue/${ketHon.code}">${ketHon.name}</a>`);
    const expected = procedureAnswer(await ctxOf('xa-a'), ketHon)[0]!.text;
    expect(html).toContain(`<p class="text">${shown(expected)}</p>`);
    // The answer's buttons lead to the procedure page's sections.
    expect(html).toContain(`href="/admin/units/xa-a/catalogue/${ketHon.code}#chi-tiet-docs"`);
  });

  it('says "Không nhận ra" for nonsense and for questions outside the catalogue', async () => {
    for (const q of ['xyzzy qwerty', 'giá vàng hôm nay']) {
      const html = await search('xa-a', q);
      expect(html).toContain('data-outcome="none">Không nhận ra</strong>');
      expect(html).not.toContain('Trả lời ngay');
      expect(html).toContain(shown(intents.procedure.replies.none.text));
    }
  });

  it('offers choices when the bot is unsure', async () => {
    const html = await search('xa-a', 'chứng thực');
    expect(html).toContain('data-outcome="choices">Đưa ra lựa chọn</strong>');
    expect(html).toContain(shown(intents.procedure.replies.choices.intro));
  });

  it('shows when the bot does not search at all (a greeting)', async () => {
    const html = await search('xa-a', 'xin chào');
    expect(html).toContain('data-outcome="intent">Không phải câu hỏi về thủ tục</strong>');
    expect(html).not.toContain('data-testid="confidence"');
  });

  it('searches only the unit’s own list', async () => {
    const html = await search('xa-b', 'dk ket hon', cookieB);
    expect(html).not.toContain('data-outcome="answered"');
    expect(html).not.toContain(`/catalogue/${ketHon.code}"`);
    expect(html).toContain('danh mục riêng của đơn vị: 2 thủ tục');
  });

  it('escapes what was typed', async () => {
    const html = await search('xa-a', '<script>alert(1)</script> khai sinh');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; khai sinh');
    expect(html).not.toContain('<script>');
  });

  it('without a question shows the box, the menu topics and the curated commune procedures', async () => {
    const html = await page('/admin/units/xa-a/catalogue', cookieA);
    expect(html).toContain('<input id="q" type="search" name="q" value=""');
    expect(html).toContain(`Khai sinh: <a href="/admin/units/xa-a/catalogue/${khaiSinh.code}">`);
    expect(html).toContain(`<td>${tamTru.code}</td>`);
    expect(html).not.toContain('data-outcome');
  });
});

describe('procedure page, as citizens see it', () => {
  it('shows the engine’s first answer and every detail behind its buttons', async () => {
    const html = await page(`/admin/units/xa-a/catalogue/${khaiSinh.code}`, cookieA);
    const ctx = await ctxOf('xa-a');
    for (const r of procedureAnswer(ctx, khaiSinh)) expect(html).toContain(`<p class="text">${shown(r.text)}</p>`);
    for (const kind of ['docs', 'steps', 'fee', 'legal', 'online', 'where', 'forms', 'result'] as const) {
      expect(html).toContain(`<section id="chi-tiet-${kind}">`);
      for (const r of procedureDetail(ctx, khaiSinh, kind)) expect(html).toContain(`<p class="text">${shown(r.text)}</p>`);
    }
    // The unit's own details reach the reply (the commune desk, its address).
    expect(html).toContain('xã An Bình');
  });

  it('shows the record: channels with time and fee, documents, legal basis, the portal link', async () => {
    const html = await page(`/admin/units/xa-a/catalogue/${khaiSinh.code}`, cookieA);
    for (const c of khaiSinh.channels) expect(html).toContain(`<td>${shown(c.label)}</td>`);
    const fee = khaiSinh.channels.map((c) => formatFee(c.fee)).find((f) => f !== null);
    if (fee) expect(html).toContain(shown(fee));
    for (const d of khaiSinh.documents.slice(0, 3)) expect(html).toContain(`<td>${shown(d.name)}</td>`);
    for (const l of khaiSinh.legalBasis.slice(0, 2)) expect(html).toContain(shown(l.title));
    if (khaiSinh.sourceUrl) expect(html).toContain(`href="${shown(khaiSinh.sourceUrl)}"`);
    expect(html).toContain(`href="/admin/units/xa-a/catalogue/${khaiSinh.code}/poster"`);
  });

  it('answers 404 for a code outside the unit’s list, unknown or malformed', async () => {
    for (const path of [
      `/admin/units/xa-b/catalogue/${ketHon.code}`,
      `/admin/units/xa-b/catalogue/${ketHon.code}/poster`,
      '/admin/units/xa-b/catalogue/9.999999',
      '/admin/units/xa-b/catalogue/abc',
    ]) {
      const res = await get(path, cookieB);
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('<h1>Không tìm thấy</h1>');
    }
    expect((await get(`/admin/units/xa-b/catalogue/${khaiSinh.code}`, cookieB)).status).toBe(200);
  });
});

describe('QR posters', () => {
  it('puts one QR per active channel of the unit, each opening the procedure', async () => {
    const html = await page(`/admin/units/xa-a/catalogue/${khaiSinh.code}/poster`, cookieA);
    const ref = `mc:pick:${khaiSinh.code}`;
    const messenger = `https://m.me/111222333?ref=${ref}`;
    const zalo = 'https://zalo.me/4318000000000000001';
    const widget = `${PUBLIC_BASE}/?unit=xa-a&ref=${encodeURIComponent(ref)}`;
    expect(printedUrls(html)).toEqual([messenger, zalo, widget]);
    // Each code carries exactly the URL printed under it.
    expect(svgsOf(html).map(decodeSvg)).toEqual([messenger, zalo, widget]);
    // The unit, the procedure, a one-line summary; no other unit's page, no account needing reconnection.
    expect(html).toContain('<p class="unit">UBND xã An Bình</p>');
    expect(html).toContain(`<h1>${shown(khaiSinh.name)}</h1>`);
    expect(html).toMatch(/<p class="summary">[^<]+<\/p>/);
    expect(html).not.toContain('999888777');
    expect(html).not.toContain('555000555');
    expect(html).toContain('@page{size:A4');
  });

  it('tells Zalo citizens words the bot answers with this very procedure', async () => {
    const html = await page(`/admin/units/xa-a/catalogue/${khaiSinh.code}/poster`, cookieA);
    const say = /<p class="say">([^<]+)<\/p>/.exec(html)?.[1] ?? '';
    expect(say.length).toBeGreaterThan(0);
    expect(say.length).toBeLessThanOrEqual(plainName(khaiSinh.name).length);
    const result = searcher.search(say, { top: 3 });
    expect(result.outcome).toBe('answer');
    expect(result.results[0]?.code).toBe(khaiSinh.code);
  });

  it('shows only the unit’s own accounts', async () => {
    const html = await page(`/admin/units/xa-b/catalogue/${khaiSinh.code}/poster`, cookieB);
    expect(printedUrls(html)).toEqual([`https://m.me/999888777?ref=mc:pick:${khaiSinh.code}`, `${PUBLIC_BASE}/?unit=xa-b&ref=mc%3Apick%3A${khaiSinh.code}`]);
    expect(html).not.toContain('111222333');
    expect(html).not.toContain('zalo.me');
  });

  it('prints a unit poster with plain links', async () => {
    const html = await page('/admin/units/xa-a/poster', cookieA);
    const urls = ['https://m.me/111222333', 'https://zalo.me/4318000000000000001', `${PUBLIC_BASE}/?unit=xa-a`];
    expect(printedUrls(html)).toEqual(urls);
    expect(svgsOf(html).map(decodeSvg)).toEqual(urls);
    expect(html).not.toMatch(/[?&;]ref=/);
    expect(html).toContain('<h1>Hỏi đáp thủ tục hành chính</h1>');
  });
});
