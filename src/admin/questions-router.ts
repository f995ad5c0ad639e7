// The officers' "unanswered questions" page: GET /admin/units/:unitId/questions groups the last
// 30 days of questions the bot did not understand (outcome 'none') or only half understood
// ('choices'), so an officer can see what citizens ask in their own words and add aliases.
// Server-rendered, escaped, no script.
import express, { type Router } from 'express';
import { z } from 'zod';
import { authOf, html, type Auth, type AuthContext, type Html } from './auth/index.js';
import { layout } from './admin-layout.js';
import { formatVietnamTime, routeParam } from './handoffs-router.js';
import type { LoggedQuery, QueryLogRepository } from '../store/query-log-repository.js';
import type { UnitAlias } from '../store/alias-repository.js';
import { questionKey, type AliasService } from '../units/alias-service.js';

export { questionKey };
import type { SearchResult } from '../search/types.js';

export interface QuestionsDeps {
  auth: Auth;
  queryLog: QueryLogRepository;
  /** The bot's search for the unit (its subset and its own phrasings). */
  search: (unitId: string, text: string) => SearchResult;
  /** Searcher.contentKey: a question with no content cannot become an alias. */
  contentKey: (text: string) => string | null;
  /** The procedure's name when the unit may answer with it; undefined otherwise. */
  procedureName: (unitId: string, code: string) => string | undefined;
  aliases: AliasService;
  now?: () => Date;
}

const SHOWN_GROUPS = 100;
const AttachForm = z.object({
  text: z.string().trim().min(1).max(500),
  code: z.string().trim().max(20).default(''),
  other: z.string().trim().max(20).default(''),
});
const AliasId = z.string().regex(/^\d{1,15}$/).transform(Number);

const WINDOW_DAYS = 30;
const FETCH_LIMIT = 2000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface QuestionGroup {
  /** The grouping key: NFC, lower case, marks folded, whitespace collapsed. */
  key: string;
  /** The text as most recently asked (shown to the officer, with its marks). */
  text: string;
  count: number;
  lastAskedAt: Date;
}

const displayText = (text: string): string => text.normalize('NFC').replace(/\s+/g, ' ').trim();

/** Groups questions by questionKey, most frequent first (ties: most recently asked first). */
export function groupQuestions(queries: readonly LoggedQuery[]): QuestionGroup[] {
  const groups = new Map<string, QuestionGroup>();
  for (const q of queries) {
    const key = questionKey(q.text);
    if (key === '') continue;
    const g = groups.get(key);
    if (!g) groups.set(key, { key, text: displayText(q.text), count: 1, lastAskedAt: q.createdAt });
    else {
      g.count += 1;
      if (q.createdAt > g.lastAskedAt) {
        g.lastAskedAt = q.createdAt;
        g.text = displayText(q.text);
      }
    }
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || b.lastAskedAt.getTime() - a.lastAskedAt.getTime());
}

const unitPath = (unitId: string): string => `/admin/units/${encodeURIComponent(unitId)}`;

function attachForm(unitId: string, auth: AuthContext, g: QuestionGroup, candidates: SearchResult['results']): Html {
  const options = candidates.map((c, i) => html`<label style="display:block"><input type="radio" name="code" value="${c.code}"${i === 0 ? html` checked` : ''}> ${c.name} <small>(${c.code})</small></label>`);
  return html`<form method="post" action="${unitPath(unitId)}/questions/attach" style="margin:0">
<input type="hidden" name="_csrf" value="${auth.csrfToken}"><input type="hidden" name="text" value="${g.text}">
${options}<label style="display:block">Mã thủ tục khác: <input type="text" name="other" size="10" placeholder="1.001193" pattern="[0-9.]*"></label>
<button type="submit">Gắn vào thủ tục</button></form>`;
}

function table(unitId: string, auth: AuthContext, groups: readonly QuestionGroup[], deps: QuestionsDeps, empty: string): Html {
  if (groups.length === 0) return html`<p>${empty}</p>`;
  const rows = groups.slice(0, SHOWN_GROUPS).map((g) => {
    const now = deps.search(unitId, g.text);
    // Answered now (an alias attached since, or the catalogue grew): say so instead of a form.
    const answered = now.outcome === 'answer' ? now.results[0] : undefined;
    const cell = answered
      ? html`<span class="ok">Đã trả lời được: ${answered.name}</span>`
      : deps.contentKey(g.text) === null
        ? html`<span>Không có nội dung để nhận diện</span>`
        : attachForm(unitId, auth, g, now.results);
    return html`<tr><td>${g.text}</td><td>${g.count}</td><td>${formatVietnamTime(g.lastAskedAt)}</td><td>${cell}</td></tr>`;
  });
  const more = groups.length > SHOWN_GROUPS ? html`<p>… và ${groups.length - SHOWN_GROUPS} câu hỏi khác ít gặp hơn.</p>` : '';
  return html`<table><thead><tr><th>Câu hỏi</th><th>Số lần</th><th>Lần gần nhất</th><th>Thủ tục đúng</th></tr></thead><tbody>${rows}</tbody></table>${more}`;
}

function aliasTable(unitId: string, auth: AuthContext, aliases: readonly UnitAlias[], deps: QuestionsDeps): Html {
  if (aliases.length === 0) return html`<p>Chưa có cách hỏi nào được gắn.</p>`;
  const rows = aliases.map(
    (a) => html`<tr><td>${a.text}</td><td>${deps.procedureName(unitId, a.code) ?? 'Thủ tục không còn trong danh mục'} <small>(${a.code})</small></td><td>${formatVietnamTime(a.createdAt)}</td>
<td><form method="post" action="${unitPath(unitId)}/aliases/${a.id}/delete" style="margin:0"><input type="hidden" name="_csrf" value="${auth.csrfToken}"><button type="submit">Bỏ gắn</button></form></td></tr>`,
  );
  return html`<table><thead><tr><th>Cách hỏi</th><th>Thủ tục</th><th>Ngày gắn</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
}

const NOTICES: Record<string, string> = {
  attached: 'Đã gắn câu hỏi vào thủ tục. Trợ lý ảo trả lời cách hỏi này ngay từ bây giờ.',
  removed: 'Đã bỏ gắn cách hỏi.',
};

export function createQuestionsRouter(deps: QuestionsDeps): Router {
  const router = express.Router();

  router.get('/admin/units/:unitId/questions', deps.auth.requireUser('catalogue.notes'), async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: 'Không tìm thấy đơn vị.' } });
      return;
    }
    const since = new Date((deps.now ?? (() => new Date()))().getTime() - WINDOW_DAYS * DAY_MS);
    const [none, choices, aliases] = await Promise.all([
      deps.queryLog.recent(unitId, { outcome: 'none', limit: FETCH_LIMIT }),
      deps.queryLog.recent(unitId, { outcome: 'choices', limit: FETCH_LIMIT }),
      deps.aliases.list(unitId),
    ]);
    const recent = (qs: LoggedQuery[]): LoggedQuery[] => qs.filter((q) => q.createdAt >= since);
    const noticeKey = typeof req.query.notice === 'string' ? req.query.notice : '';
    const notice = NOTICES[noticeKey];
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(
      layout(
        'Câu hỏi chưa trả lời được',
        auth,
        html`<h1>Câu hỏi chưa trả lời được</h1>
${notice ? html`<p class="ok" role="status">${notice}</p>` : ''}
<p>Đơn vị: ${unitId} · ${WINDOW_DAYS} ngày gần nhất. Các cách hỏi giống nhau (không kể hoa thường, dấu, khoảng trắng) được gộp lại; số điện thoại và các con số đã được che bằng #.</p>
<p>Chọn thủ tục đúng cho một câu hỏi rồi bấm “Gắn vào thủ tục”: cách hỏi đó (và các cách viết khác cùng nội dung, có dấu hay không dấu) được trợ lý ảo của đơn vị trả lời ngay, không cần khởi động lại.</p>
<h2>Trợ lý ảo không hiểu</h2>
${table(unitId, auth, groupQuestions(recent(none)), deps, 'Không có câu hỏi nào.')}
<h2>Trợ lý ảo phải hỏi lại để chọn thủ tục</h2>
${table(unitId, auth, groupQuestions(recent(choices)), deps, 'Không có câu hỏi nào.')}
<h2>Cách hỏi riêng của đơn vị</h2>
${aliasTable(unitId, auth, aliases, deps)}`,
      ),
    );
  });

  const pageError = (res: express.Response, auth: AuthContext, unitId: string, status: number, message: string) =>
    res
      .status(status)
      .type('html')
      .send(
        layout(
          'Không gắn được',
          auth,
          html`<h1>Không gắn được câu hỏi</h1><p class="warn" role="alert">${message}</p><p><a href="${unitPath(unitId)}/questions">Quay lại danh sách câu hỏi</a></p>`,
        ),
      );

  router.post('/admin/units/:unitId/questions/attach', deps.auth.requireUser('catalogue.notes'), async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: 'Không tìm thấy đơn vị.' } });
      return;
    }
    const form = AttachForm.safeParse(req.body ?? {});
    if (!form.success) return void pageError(res, auth, unitId, 400, 'Thiếu câu hỏi hoặc câu hỏi quá dài.');
    const code = form.data.other !== '' ? form.data.other : form.data.code;
    if (code === '') return void pageError(res, auth, unitId, 400, 'Hãy chọn một thủ tục hoặc nhập mã thủ tục.');
    const result = await deps.aliases.attach({ unitId, text: form.data.text, code, actor: auth.user.id });
    if (!result.ok) {
      const message =
        result.reason === 'unknown_code'
          ? `Không có thủ tục mã “${code}” trong danh mục của đơn vị.`
          : result.reason === 'no_content'
            ? 'Câu hỏi này chỉ gồm các từ chung chung, không đủ để nhận diện một thủ tục.'
            : 'Thiếu câu hỏi.';
      return void pageError(res, auth, unitId, 400, message);
    }
    res.redirect(303, `${unitPath(unitId)}/questions?notice=attached`);
  });

  router.post('/admin/units/:unitId/aliases/:id/delete', deps.auth.requireUser('catalogue.notes'), async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    const id = AliasId.safeParse(req.params.id);
    const removed = unitId !== null && id.success ? await deps.aliases.remove({ unitId, id: id.data, actor: auth.user.id }) : undefined;
    if (!removed || unitId === null) {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: 'Không tìm thấy cách hỏi này.' } });
      return;
    }
    res.redirect(303, `${unitPath(unitId)}/questions?notice=removed`);
  });

  return router;
}
