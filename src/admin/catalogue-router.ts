// The officers' catalogue browser and QR posters (issue #4), all scoped to one unit:
//   GET /admin/units/:unitId/catalogue?q=…           search as the bot does: the engine's own
//                                                     decision (answer / choices / none), its
//                                                     confidence, the candidates, and its reply
//   GET /admin/units/:unitId/catalogue/:code         a procedure as citizens see it (the bot's
//                                                     reply functions) beside the stored record
//   GET /admin/units/:unitId/catalogue/:code/poster  a printable A4 poster: one QR per channel,
//                                                     each a deep link that opens that procedure
//   GET /admin/units/:unitId/poster                  the same for the unit, without a procedure
// Server-rendered and escaped, no script: the pages work under the admin policy
// (default-src 'none'; style-src 'unsafe-inline'; img-src 'self'); QR codes are inline SVG and
// "print" is the browser's own (Ctrl+P → printer or PDF).
import express, { type Request, type Response, type Router } from 'express';
import { authOf, html, raw, type Auth, type AuthContext, type Html } from './auth/index.js';
import { layout } from './admin-layout.js';
import { routeParam } from './handoffs-router.js';
import { POSTER_CSS, qrSvg } from './qr.js';
import type { Catalogue } from '../catalogue/load.js';
import type { CatalogueProcedure } from '../catalogue/schema.js';
import { formatFee, formatTime, summariseChannels } from '../catalogue/format.js';
import type { Aspect, SearchResult } from '../search/types.js';
import type { Reply } from '../channels/channel.js';
import { createEngine } from '../conversation/engine.js';
import type { IntentSet } from '../conversation/intents.js';
import { MemoryHandoffQueue, MemoryQueryLog, MemoryStateStore } from '../conversation/memory-ports.js';
import { parsePayload, procedurePayload } from '../conversation/payload.js';
import type { QueryOutcome, UnitContact } from '../conversation/ports.js';
import { procedureAnswer, procedureDetail, type DetailKind, type Formatters, type ReplyContext } from '../conversation/replies.js';
import type { AccountRepository, ChannelAccount } from '../store/account-repository.js';

export interface CatalogueRouterDeps {
  auth: Auth;
  catalogue: Catalogue;
  /** The bot's search for a unit (same index, same unit subset, top 3, as the engine runs it). */
  search: (unitId: string, text: string) => SearchResult;
  /** The unit's subset of the catalogue; undefined = the whole catalogue (the unit record's list is used then). */
  unitCodes: (unitId: string) => ReadonlySet<string> | undefined;
  /** The units as the engine sees them (services.liveUnits, with the unit's own phrasings) or the repository. */
  units: { get(unitId: string): Promise<UnitContact | null | undefined> };
  accounts: Pick<AccountRepository, 'listByUnit'>;
  /** Where citizens reach this deployment (the widget page is `<publicBaseUrl>/`). */
  publicBaseUrl: string;
  /** The bot's texts (loadIntents(INTENTS_DIR)): the same the engine answers with. */
  intents: IntentSet;
  /** Defaults to the catalogue's formatTime / formatFee, as in the engine. */
  format?: Formatters;
  /** The engine's MAX_QUESTION_LENGTH, so a long question is cut where the bot cuts it. */
  maxInputChars?: number;
}

/** The admin pages' policy (as the login pages set it). */
const ADMIN_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const CODE = /^\d+\.\d+$/;
/** Longer questions are cut by the engine anyway; this only bounds what the page echoes. */
const MAX_QUERY_CHARS = 2000;

const OUTCOME_VI: Record<QueryOutcome, { label: string; note: string }> = {
  answered: { label: 'Trả lời ngay', note: 'Trợ lý ảo trả lời thẳng bằng thủ tục đứng đầu.' },
  choices: { label: 'Đưa ra lựa chọn', note: 'Trợ lý ảo chưa chắc chắn nên đưa ra các thủ tục để người dân chọn.' },
  none: { label: 'Không nhận ra', note: 'Trợ lý ảo không nhận ra thủ tục: nói rõ, gợi ý nếu có và mời gặp cán bộ.' },
  handoff: { label: 'Chuyển cán bộ', note: 'Câu này là yêu cầu gặp cán bộ: trợ lý ảo chuyển cho cán bộ, không tìm thủ tục.' },
};

const ASPECT_VI: Record<Aspect, string> = {
  documents: 'giấy tờ',
  fee: 'lệ phí',
  time: 'thời hạn',
  where: 'nơi nộp',
  online: 'nộp trực tuyến',
  steps: 'các bước',
  legal: 'căn cứ pháp lý',
  form: 'mẫu đơn, tờ khai',
  result: 'kết quả',
};

/** The details behind the answer's buttons, in the bot's order, with the buttons' own titles. */
const BUTTON_DETAILS: readonly { kind: DetailKind; label: keyof IntentSet['messages']['buttons'] }[] = [
  { kind: 'docs', label: 'documents' },
  { kind: 'steps', label: 'steps' },
  { kind: 'fee', label: 'feeTime' },
  { kind: 'legal', label: 'legal' },
  { kind: 'online', label: 'online' },
];
/** Details a citizen reaches by asking ("nộp ở đâu", "mẫu tờ khai", "được nhận gì"), not by a button. */
const ASKED_DETAILS: readonly { kind: DetailKind; title: string }[] = [
  { kind: 'where', title: 'Hỏi nơi nộp' },
  { kind: 'forms', title: 'Hỏi mẫu đơn, tờ khai' },
  { kind: 'result', title: 'Hỏi kết quả nhận được' },
];

const PAGE_STYLE = raw(`<style>
.chat{display:flex;flex-direction:column;gap:.5rem;margin:.5rem 0 1rem}
.bubble{background:#fff;border:1px solid #d6dbe0;border-radius:12px;padding:.6rem .8rem;max-width:42rem}
.bubble .text{white-space:pre-wrap;margin:0}
.actions{display:flex;flex-wrap:wrap;gap:.35rem;margin-top:.5rem}
.btn{display:inline-block;border:1px solid #a4161a;color:#a4161a;border-radius:999px;padding:.15rem .6rem;font-size:.9rem;text-decoration:none}
.btn.quick{border-style:dashed}.btn.link{border-color:#1d4ed8;color:#1d4ed8}
.outcome{font-size:1.1rem}.outcome strong{padding:.1rem .5rem;border-radius:6px;background:#fff;border:1px solid #999}
.muted{color:#555;font-size:.9rem}dl.record dt{font-weight:600;margin-top:.5rem}dl.record dd{margin:0 0 0 1rem;white-space:pre-wrap}
form.search{display:flex;gap:.5rem;flex-wrap:wrap;margin:1rem 0}form.search label{flex-basis:100%}form.search input{flex:1;min-width:16rem;padding:.4rem;font:inherit}
</style>`);

/** Only web addresses become links; anything else is shown as text. */
function safeHref(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}

function linkOrText(url: string, title: string): Html {
  const href = safeHref(url);
  return href ? html`<a class="btn link" href="${href}" rel="noopener noreferrer">${title}</a>` : html`<span class="btn link">${title}</span>`;
}

function unitBase(unitId: string): string {
  return `/admin/units/${encodeURIComponent(unitId)}`;
}

/** "đăng ký khai sinh" → "Đăng ký khai sinh". */
function capitalise(s: string): string {
  const [first = '', ...rest] = Array.from(s);
  return first.toLocaleUpperCase('vi') + rest.join('');
}

/** "Thủ tục đăng ký khai sinh" → "Đăng ký khai sinh": what a citizen would type. */
export function plainName(name: string): string {
  const stripped = name.normalize('NFC').replace(/^thủ tục\s+/iu, '').trim();
  return stripped.length > 0 ? capitalise(stripped) : name;
}

export function messengerLink(pageId: string, ref?: string): string {
  return `https://m.me/${encodeURIComponent(pageId)}${ref ? `?ref=${encodeURIComponent(ref).replace(/%3A/g, ':')}` : ''}`;
}

export function zaloLink(oaId: string): string {
  return `https://zalo.me/${encodeURIComponent(oaId)}`;
}

/** The widget page of the unit, opening on `ref` when given: `<base>/?unit=…&ref=…`. */
export function widgetLink(publicBaseUrl: string, unitId: string, ref?: string): string {
  const u = new URL(publicBaseUrl.endsWith('/') ? publicBaseUrl : `${publicBaseUrl}/`);
  u.search = '';
  u.hash = '';
  u.searchParams.set('unit', unitId);
  if (ref) u.searchParams.set('ref', ref);
  return u.href;
}

interface PosterCode {
  channel: string;
  account: string | null;
  url: string;
  /** Under the code, big: what to do after scanning. */
  instruction: string;
  /** Words to send (Zalo links carry no payload). */
  say?: string;
}

export function createCatalogueRouter(deps: CatalogueRouterDeps): Router {
  const router = express.Router();
  const format: Formatters = deps.format ?? { time: formatTime, fee: formatFee };
  const guard = deps.auth.requireUser('catalogue.notes');

  function headers(res: Response): void {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Security-Policy', ADMIN_CSP);
    res.setHeader('X-Frame-Options', 'DENY');
    res.type('html');
  }

  function notFound(res: Response, auth: AuthContext, message: string): void {
    headers(res);
    res.status(404).send(layout('Không tìm thấy', auth, html`<h1>Không tìm thấy</h1><p>${message}</p>`));
  }

  /** The unit's subset: the wired lookup, else the unit record's own list, else everything. */
  function scopeOf(unit: UnitContact): ReadonlySet<string> | undefined {
    return deps.unitCodes(unit.id) ?? (unit.procedureCodes ? new Set(unit.procedureCodes) : undefined);
  }

  function inScope(scope: ReadonlySet<string> | undefined, code: string): CatalogueProcedure | undefined {
    if (!CODE.test(code) || (scope && !scope.has(code))) return undefined;
    return deps.catalogue.byCode(code) ?? undefined;
  }

  /** The unit of the route, or a 404 page (and null). */
  async function unitOf(req: Request, res: Response, auth: AuthContext): Promise<UnitContact | null> {
    const unitId = routeParam(req.params.unitId);
    const unit = unitId === null ? undefined : await deps.units.get(unitId);
    if (!unit) {
      notFound(res, auth, 'Không tìm thấy đơn vị này.');
      return null;
    }
    return unit;
  }

  function contextOf(unit: UnitContact): ReplyContext {
    return { texts: deps.intents, format, unit };
  }

  /**
   * One turn of the real engine for a citizen who has just arrived, in memory: what the bot
   * would answer, the outcome it would log, and the search result it decided on.
   */
  async function botTurn(unit: UnitContact, scope: ReadonlySet<string> | undefined, text: string) {
    const queryLog = new MemoryQueryLog();
    // Filled in by the callbacks during handle(): the search the engine ran, an error it swallowed.
    const seen: { result: SearchResult | null; failure: unknown } = { result: null, failure: null };
    // Not annotated: only search() is used by the engine; contentKey is for alias compilation.
    const searcher = {
      size: deps.catalogue.size,
      search: (query: string): SearchResult => {
        const result = deps.search(unit.id, query);
        seen.result = result;
        return result;
      },
      contentKey: (): string | null => null,
    };
    const engine = createEngine({
      catalogue: deps.catalogue,
      searcher,
      state: new MemoryStateStore(),
      queryLog,
      handoff: new MemoryHandoffQueue(),
      // The engine filters by the unit's list: give it the same subset this page uses.
      units: { get: async () => ({ ...unit, procedureCodes: scope ? [...scope] : null }) },
      intents: deps.intents,
      format,
      ...(deps.maxInputChars !== undefined ? { maxInputChars: deps.maxInputChars } : {}),
      onError: (err) => {
        seen.failure = err;
      },
    });
    const replies = await engine.handle({
      kind: 'text',
      unitId: unit.id,
      channel: 'web',
      accountId: 'admin-preview',
      userId: 'admin-preview',
      messageId: 'admin-preview',
      text,
      timestamp: Date.now(),
    });
    if (seen.failure !== null) throw seen.failure instanceof Error ? seen.failure : new Error('engine failed');
    return { replies, logged: queryLog.entries[0] ?? null, result: seen.result };
  }

  /** Where a button leads on these pages: a procedure's page, or a detail section of it. */
  function buttonHref(unitId: string, payload: string): string | null {
    const parsed = parsePayload(payload);
    if (!parsed || !('code' in parsed)) return null;
    const page = `${unitBase(unitId)}/catalogue/${parsed.code}`;
    return parsed.action === 'pick' ? page : `${page}#chi-tiet-${parsed.action}`;
  }

  function replyBlock(unitId: string, replies: readonly Reply[]): Html {
    const chip = (b: { title: string; payload: string }, cls: string) => {
      const href = buttonHref(unitId, b.payload);
      return href ? html`<a class="${cls}" href="${href}">${b.title}</a>` : html`<span class="${cls}">${b.title}</span>`;
    };
    return html`<div class="chat">${replies.map(
      (r) => html`<div class="bubble" data-testid="reply"><p class="text">${r.text}</p>${
        r.buttons.length + r.quickReplies.length + r.links.length > 0
          ? html`<div class="actions">${r.buttons.map((b) => chip(b, 'btn'))}${r.quickReplies.map((b) => chip(b, 'btn quick'))}${r.links.map((l) =>
              linkOrText(l.url, l.title),
            )}</div>`
          : ''
      }</div>`,
    )}</div>`;
  }

  function procedureLink(unitId: string, p: { code: string; name: string }): Html {
    return html`<a href="${unitBase(unitId)}/catalogue/${p.code}">${p.name}</a>`;
  }

  function countLine(scope: ReadonlySet<string> | undefined): string {
    if (!scope) return `toàn bộ danh mục: ${deps.catalogue.size} thủ tục`;
    const n = [...scope].filter((c) => deps.catalogue.byCode(c)).length;
    return `danh mục riêng của đơn vị: ${n} thủ tục`;
  }

  router.get('/admin/units/:unitId/catalogue', guard, async (req, res) => {
    const auth = authOf(res);
    const unit = await unitOf(req, res, auth);
    if (!unit) return;
    const scope = scopeOf(unit);
    const base = unitBase(unit.id);
    const q = typeof req.query.q === 'string' ? Array.from(req.query.q.normalize('NFC')).slice(0, MAX_QUERY_CHARS).join('') : '';
    const form = html`<form class="search" method="get" action="${base}/catalogue" role="search">
<label for="q" class="muted">Câu hỏi như người dân gõ (có dấu hoặc không dấu)</label>
<input id="q" type="search" name="q" value="${q}" maxlength="${MAX_QUERY_CHARS}" placeholder="Ví dụ: dk ket hon, làm giấy khai sinh cần gì">
<button type="submit">Tìm như trợ lý ảo</button></form>`;

    let body: Html;
    if (q.trim() === '') {
      const topics = deps.intents.messages.menuTopics.map((t) => ({ t, p: inScope(scope, t.code) })).filter((x) => x.p !== undefined);
      const curated = deps.catalogue.procedures.filter(
        (p) => p.curated && (p.communeCore || p.levels.includes('Cấp xã')) && (!scope || scope.has(p.code)),
      );
      body = html`<h2>Chủ đề trong menu của trợ lý ảo</h2>
${topics.length === 0 ? html`<p>Không có chủ đề nào thuộc danh mục của đơn vị.</p>` : html`<ul>${topics.map((x) => html`<li>${x.t.title}: ${x.p ? procedureLink(unit.id, x.p) : ''}</li>`)}</ul>`}
<h2>Thủ tục cấp xã đã được biên tập (${curated.length})</h2>
${
  curated.length === 0
    ? html`<p>Không có thủ tục nào.</p>`
    : html`<table><thead><tr><th>Mã</th><th>Tên thủ tục</th><th>Lĩnh vực</th></tr></thead><tbody>${curated.map(
        (p) => html`<tr><td>${p.code}</td><td>${procedureLink(unit.id, p)}</td><td>${p.field}</td></tr>`,
      )}</tbody></table>`
}`;
    } else {
      const turn = await botTurn(unit, scope, q);
      const outcome = turn.logged ? OUTCOME_VI[turn.logged.outcome] : null;
      // The candidates the engine saw, after its own unit filter (or the procedure it answered
      // without searching, e.g. a code typed as is).
      const answeredDirectly = turn.logged?.topCode ? inScope(scope, turn.logged.topCode) : undefined;
      const hits = turn.result
        ? turn.result.results.filter((h) => inScope(scope, h.code) !== undefined)
        : answeredDirectly
          ? [{ code: answeredDirectly.code, name: answeredDirectly.name, score: 1 }]
          : [];
      const aspects = turn.result?.aspects ?? [];
      const confidenceValue = turn.logged?.confidence ?? turn.result?.confidence ?? null;
      const confidence = confidenceValue === null ? null : `${Math.round(confidenceValue * 100)}%`;
      body = html`<h2>Kết quả cho “${q}”</h2>
<p class="outcome" data-testid="outcome">Quyết định của trợ lý ảo: <strong data-outcome="${turn.logged?.outcome ?? 'intent'}">${outcome ? outcome.label : 'Không phải câu hỏi về thủ tục'}</strong>
${confidence !== null ? html` · Độ tin cậy: <span data-testid="confidence">${confidence}</span>` : ''}${aspects.length > 0 ? html` · Hỏi về: ${aspects.map((a) => ASPECT_VI[a]).join(', ')}` : ''}</p>
<p class="muted">${outcome ? outcome.note : 'Trợ lý ảo hiểu câu này là lời chào, hỏi địa chỉ, cảm ơn hoặc nội dung không đọc được, nên không tìm thủ tục.'}</p>
${
  hits.length > 0
    ? html`<table><thead><tr><th>#</th><th>Mã</th><th>Thủ tục</th><th>Điểm</th></tr></thead><tbody>${hits.map(
        (h, i) => html`<tr><td>${i + 1}</td><td>${h.code}</td><td>${procedureLink(unit.id, h)}</td><td>${h.score.toFixed(3)}</td></tr>`,
      )}</tbody></table>`
    : turn.logged
      ? html`<p>Không có thủ tục nào gần với câu hỏi.</p>`
      : ''
}
<h2>Trợ lý ảo trả lời người dân</h2>
${replyBlock(unit.id, turn.replies)}`;
    }

    headers(res);
    res.send(
      layout(
        'Danh mục thủ tục',
        auth,
        html`${PAGE_STYLE}<h1>Danh mục thủ tục</h1>
<p>Đơn vị: ${unit.name} · ${countLine(scope)} · <a href="${base}/poster">Poster QR của đơn vị</a></p>
${form}
${body}`,
      ),
    );
  });

  router.get('/admin/units/:unitId/catalogue/:code', guard, async (req, res) => {
    const auth = authOf(res);
    const unit = await unitOf(req, res, auth);
    if (!unit) return;
    const code = routeParam(req.params.code) ?? '';
    const p = inScope(scopeOf(unit), code);
    if (!p) {
      notFound(res, auth, 'Thủ tục này không có trong danh mục của đơn vị.');
      return;
    }
    const ctx = contextOf(unit);
    const base = unitBase(unit.id);
    const buttons = deps.intents.messages.buttons;
    const detail = (kind: DetailKind, title: string) =>
      html`<section id="chi-tiet-${kind}"><h4>${title}</h4>${replyBlock(unit.id, procedureDetail(ctx, p, kind))}</section>`;
    headers(res);
    res.send(
      layout(
        p.name,
        auth,
        html`${PAGE_STYLE}<p><a href="${base}/catalogue">← Danh mục thủ tục</a></p>
<h1>${p.name}</h1>
<p class="muted">Mã ${p.code} · Lĩnh vực: ${p.field}${p.levels.length > 0 ? html` · ${p.levels.join(', ')}` : ''} · ${
          p.curated ? 'Đã được biên tập' : 'Dữ liệu từ Cổng Dịch vụ công'
        }${p.detail === 'list' ? ' · Chỉ có tên (chưa có chi tiết)' : ''}</p>
<p><a href="${base}/catalogue/${p.code}/poster">In poster QR cho thủ tục này</a>${
          p.sourceUrl && safeHref(p.sourceUrl) ? html` · <a href="${safeHref(p.sourceUrl) ?? ''}" rel="noopener noreferrer">Xem trên Cổng Dịch vụ công quốc gia</a>` : ''
        }</p>
<h2>Người dân thấy gì</h2>
<section id="tra-loi"><h3>Câu trả lời đầu tiên</h3>${replyBlock(unit.id, procedureAnswer(ctx, p))}</section>
<h3>Khi bấm nút</h3>
${BUTTON_DETAILS.map((b) => detail(b.kind, buttons[b.label]))}
<h3>Khi người dân hỏi riêng</h3>
${ASKED_DETAILS.map((d) => detail(d.kind, d.title))}
<h2>Hồ sơ thủ tục</h2>
${recordBlock(p)}`,
      ),
    );
  });

  function recordBlock(p: CatalogueProcedure): Html {
    const field = (label: string, value: string | null | undefined) => (value && value.trim() ? html`<dt>${label}</dt><dd>${value}</dd>` : '');
    const channels =
      p.channels.length === 0
        ? html`<p>Nguồn chưa ghi cách thức nộp.</p>`
        : html`<table><thead><tr><th>Cách thức</th><th>Thời hạn</th><th>Lệ phí</th><th>Mô tả</th></tr></thead><tbody>${p.channels.map((c) => {
            const time = format.time(c.time);
            const fee = format.fee(c.fee);
            return html`<tr><td>${c.label}</td><td>${time ?? html`<span class="warn">Chưa rõ</span>${c.time.raw ? html` <span class="muted">(nguồn ghi: ${c.time.raw})</span>` : ''}`}</td>
<td>${fee ?? html`<span class="warn">Nguồn không ghi</span>`}</td><td>${c.description}</td></tr>`;
          })}</tbody></table>`;
    const documents =
      p.documents.length === 0
        ? html`<p>Nguồn chưa liệt kê giấy tờ.</p>`
        : html`<table><thead><tr><th>Giấy tờ</th><th>Nộp / xuất trình</th><th>Số lượng</th><th>Mẫu</th><th>Trường hợp</th></tr></thead><tbody>${p.documents.map(
            (d) =>
              html`<tr><td>${d.name}</td><td>${d.kind === 'show' ? 'Xuất trình' : 'Nộp'}</td><td>${d.quantity ?? ''}</td><td>${d.form ?? ''}</td><td>${d.group ?? ''}</td></tr>`,
          )}</tbody></table>`;
    const source = p.sourceUrl ? safeHref(p.sourceUrl) : null;
    return html`<dl class="record">
${field('Tóm tắt (biên tập)', p.summary)}${p.aliases.length > 0 ? field('Cách gọi khác', p.aliases.join('; ')) : ''}
${field('Cơ quan thực hiện', p.agencies.executing)}${field('Cơ quan có thẩm quyền', p.agencies.competent)}${field('Cơ quan được ủy quyền', p.agencies.authorized)}
${field('Địa chỉ tiếp nhận', p.agencies.receivingAddress)}${field('Đối tượng thực hiện', p.targets.join('; '))}${field('Quyết định công bố', p.decision)}
</dl>
<h3>Cách thức nộp, thời hạn và lệ phí</h3>${channels}
<h3>Thành phần hồ sơ</h3>${documents}
<h3>Trình tự thực hiện</h3>${p.steps.length === 0 ? html`<p>Nguồn chưa mô tả.</p>` : html`<ol>${p.steps.map((s) => html`<li>${s}</li>`)}</ol>`}
<h3>Căn cứ pháp lý</h3>${
      p.legalBasis.length === 0
        ? html`<p>Nguồn chưa liệt kê.</p>`
        : html`<ul>${p.legalBasis.map((l) => html`<li>${l.title}${l.number && !l.title.includes(l.number) ? ` (${l.number})` : ''}</li>`)}</ul>`
    }
<dl class="record">${field('Yêu cầu, điều kiện', p.conditions)}${field('Kết quả', p.result)}</dl>
<p class="muted">Nguồn: ${p.origin === 'curated' ? 'hồ sơ biên tập' : 'Cổng Dịch vụ công quốc gia'}${
      source ? html` · <a href="${source}" rel="noopener noreferrer">${source}</a>` : ''
    }</p>`;
  }

  /**
   * What a Zalo citizen should send: the shortest of the menu title, the aliases and the plain
   * name for which the bot answers this very procedure directly; the plain name otherwise.
   */
  async function wordsFor(unit: UnitContact, scope: ReadonlySet<string> | undefined, p: CatalogueProcedure): Promise<string> {
    const fallback = plainName(p.name);
    const candidates = [
      ...new Set([...deps.intents.messages.menuTopics.filter((t) => t.code === p.code).map((t) => t.title), ...p.aliases, fallback].map((s) => s.normalize('NFC').trim())),
    ]
      .filter((s) => s.length > 0 && s.length <= 120)
      .sort((a, b) => a.length - b.length);
    for (const words of candidates) {
      const turn = await botTurn(unit, scope, words);
      if (turn.logged?.outcome === 'answered' && turn.logged.topCode === p.code) return words;
    }
    return fallback;
  }

  async function posterCodes(unit: UnitContact, p: CatalogueProcedure | null, say: string | null): Promise<PosterCode[]> {
    const ref = p ? procedurePayload('pick', p.code) : undefined;
    const accounts = (await deps.accounts.listByUnit(unit.id)).filter((a: ChannelAccount) => a.status === 'active');
    const codes: PosterCode[] = [];
    for (const a of accounts.filter((x) => x.platform === 'messenger')) {
      codes.push({
        channel: 'Facebook Messenger',
        account: a.name,
        url: messengerLink(a.externalId, ref),
        instruction: p ? 'Quét mã để mở Messenger: trợ lý ảo trả lời ngay về thủ tục này.' : 'Quét mã để nhắn tin với trợ lý ảo trên Messenger.',
      });
    }
    for (const a of accounts.filter((x) => x.platform === 'zalo')) {
      codes.push({
        channel: 'Zalo',
        account: a.name,
        url: zaloLink(a.externalId),
        ...(say !== null
          ? { instruction: 'Quét mã bằng Zalo, bấm “Nhắn tin” rồi gửi:', say }
          : { instruction: 'Quét mã bằng Zalo, bấm “Nhắn tin” rồi gõ câu hỏi về thủ tục.' }),
      });
    }
    codes.push({
      channel: 'Trang web',
      account: null,
      url: widgetLink(deps.publicBaseUrl, unit.id, ref),
      instruction: p ? 'Quét mã bằng camera điện thoại để xem ngay thủ tục này.' : 'Quét mã bằng camera điện thoại để hỏi trợ lý ảo.',
    });
    return codes;
  }

  async function posterPage(unit: UnitContact, p: CatalogueProcedure | null, codes: PosterCode[], back: string): Promise<string> {
    const svgs = await Promise.all(codes.map((c) => qrSvg(c.url)));
    const summary = p ? (p.summary ?? summariseChannels(p).lines[0] ?? null) : 'Hỏi về giấy tờ, lệ phí, thời hạn và nơi nộp hồ sơ của các thủ tục hành chính.';
    const local = /^https?:\/\/(localhost|127\.|\[::1\])/i.test(deps.publicBaseUrl);
    const contact = [unit.address, unit.phone ? `Điện thoại: ${unit.phone}` : null, unit.hours ? `Giờ làm việc: ${unit.hours}` : null].filter(
      (x): x is string => !!x,
    );
    const title = p ? p.name : 'Hỏi đáp thủ tục hành chính';
    return html`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Poster — ${title} — ${unit.name}</title>
<style>
${raw(POSTER_CSS)}</style></head>
<body>
<div class="toolbar"><a href="${back}">← Quay lại</a><span>In poster: bấm Ctrl+P (⌘P trên máy Mac), chọn máy in hoặc “Lưu dưới dạng PDF”, khổ A4.</span>${
      local ? html`<span class="warn">PUBLIC_BASE_URL chưa được đặt: mã QR của trang web đang trỏ tới máy này, người dân sẽ không mở được.</span>` : ''
    }</div>
<main class="sheet">
<p class="unit">${unit.name}</p>
<h1>${title}</h1>
${summary ? html`<p class="summary">${summary}</p>` : ''}
<p class="lead">${p ? 'Quét mã QR để hỏi trợ lý ảo về thủ tục này: giấy tờ cần nộp, lệ phí, thời hạn, nơi nộp.' : 'Quét mã QR để hỏi trợ lý ảo, mọi lúc, miễn phí.'}</p>
<div class="codes ${codes.length <= 2 ? 'few' : codes.length >= 4 ? 'many' : ''}">${codes.map(
      (c, i) => html`<figure class="qr" data-channel="${c.channel}">${raw(svgs[i] ?? '')}<figcaption>
<p class="channel">${c.channel}</p>${c.account ? html`<p class="account">${c.account}</p>` : ''}
<p class="how">${c.instruction}</p>${c.say ? html`<p class="say">${c.say}</p>` : ''}
<p class="url"><a href="${c.url}">${c.url}</a></p></figcaption></figure>`,
    )}</div>
<p class="footer">${contact.join(' · ')}${contact.length > 0 ? html`<br>` : ''}Trợ lý tự động trả lời theo Cơ sở dữ liệu quốc gia về thủ tục hành chính; thông tin để tham khảo, khi cần xin hỏi cán bộ Bộ phận Một cửa.</p>
</main>
</body></html>`.value;
  }

  router.get('/admin/units/:unitId/catalogue/:code/poster', guard, async (req, res) => {
    const auth = authOf(res);
    const unit = await unitOf(req, res, auth);
    if (!unit) return;
    const scope = scopeOf(unit);
    const p = inScope(scope, routeParam(req.params.code) ?? '');
    if (!p) {
      notFound(res, auth, 'Thủ tục này không có trong danh mục của đơn vị.');
      return;
    }
    const codes = await posterCodes(unit, p, await wordsFor(unit, scope, p));
    headers(res);
    res.send(await posterPage(unit, p, codes, `${unitBase(unit.id)}/catalogue/${p.code}`));
  });

  router.get('/admin/units/:unitId/poster', guard, async (req, res) => {
    const auth = authOf(res);
    const unit = await unitOf(req, res, auth);
    if (!unit) return;
    const codes = await posterCodes(unit, null, null);
    headers(res);
    res.send(await posterPage(unit, null, codes, `${unitBase(unit.id)}/catalogue`));
  });

  return router;
}
