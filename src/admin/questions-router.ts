// The officers' "unanswered questions" page: GET /admin/units/:unitId/questions groups the last
// 30 days of questions the bot did not understand (outcome 'none') or only half understood
// ('choices'), so an officer can see what citizens ask in their own words and add aliases.
// Server-rendered, escaped, no script.
import express, { type Router } from 'express';
import { authOf, html, type Auth } from './auth/index.js';
import { layout } from './admin-layout.js';
import { formatVietnamTime, routeParam } from './handoffs-router.js';
import type { LoggedQuery, QueryLogRepository } from '../store/query-log-repository.js';
import { foldMarks } from '../search/normalize.js';

export interface QuestionsDeps {
  auth: Auth;
  queryLog: QueryLogRepository;
  now?: () => Date;
}

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

/** "  Đăng ký  KHAI sinh " → "dang ky khai sinh": how citizens' variants of one question meet. */
export function questionKey(text: string): string {
  return foldMarks(text.normalize('NFC').toLowerCase()).replace(/\s+/g, ' ').trim();
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

function table(groups: readonly QuestionGroup[], empty: string) {
  if (groups.length === 0) return html`<p>${empty}</p>`;
  const rows = groups.map((g) => html`<tr><td>${g.text}</td><td>${g.count}</td><td>${formatVietnamTime(g.lastAskedAt)}</td></tr>`);
  return html`<table><thead><tr><th>Câu hỏi</th><th>Số lần</th><th>Lần gần nhất</th></tr></thead><tbody>${rows}</tbody></table>`;
}

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
    const [none, choices] = await Promise.all([
      deps.queryLog.recent(unitId, { outcome: 'none', limit: FETCH_LIMIT }),
      deps.queryLog.recent(unitId, { outcome: 'choices', limit: FETCH_LIMIT }),
    ]);
    const recent = (qs: LoggedQuery[]): LoggedQuery[] => qs.filter((q) => q.createdAt >= since);
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(
      layout(
        'Câu hỏi chưa trả lời được',
        auth,
        html`<h1>Câu hỏi chưa trả lời được</h1>
<p>Đơn vị: ${unitId} · ${WINDOW_DAYS} ngày gần nhất. Các cách hỏi giống nhau (không kể hoa thường, dấu, khoảng trắng) được gộp lại; số điện thoại và các con số đã được che bằng #.</p>
<h2>Trợ lý ảo không hiểu</h2>
${table(groupQuestions(recent(none)), 'Không có câu hỏi nào.')}
<h2>Trợ lý ảo phải hỏi lại để chọn thủ tục</h2>
${table(groupQuestions(recent(choices)), 'Không có câu hỏi nào.')}`,
      ),
    );
  });

  return router;
}
