// The officers' hand-off page: GET /admin/units/:unitId/handoffs lists the open "gặp cán bộ"
// requests of one unit, and POST /admin/units/:unitId/handoffs/:id/close closes one and gives the
// citizen back to the bot (clears their conversation state). Server-rendered, escaped, no script.
import { createHash } from 'node:crypto';
import express, { type Router } from 'express';
import { z } from 'zod';
import { authOf, html, type Auth } from './auth/index.js';
import { layout } from './admin-layout.js';
import type { Handoff, HandoffRepository } from '../store/handoff-repository.js';
import type { AuditRepository } from '../store/audit-repository.js';
import type { ConversationStateStore } from '../conversation/ports.js';
import { ChannelName } from '../channels/channel.js';

export interface HandoffsDeps {
  auth: Auth;
  handoffs: HandoffRepository;
  state: ConversationStateStore;
  audit: AuditRepository;
}

const Resolution = z.object({ resolution: z.enum(['answered', 'closed']).default('closed') });

const TZ = 'Asia/Ho_Chi_Minh';
const CHANNEL_VI: Record<ChannelName, string> = { messenger: 'Facebook Messenger', zalo: 'Zalo OA', web: 'Website' };
const PAGE_LIMIT = 500;

const IdParam = z.string().regex(/^\d{1,15}$/).transform(Number);

/** dd/MM/yyyy HH:mm in Vietnam time. */
export function formatVietnamTime(at: Date): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: TZ,
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const p = (type: Intl.DateTimeFormatPartTypes): string => parts.find((x) => x.type === type)?.value ?? '';
  return `${p('day')}/${p('month')}/${p('year')} ${p('hour')}:${p('minute')}`;
}

/**
 * A short stable pseudonym for a platform user id: lets an officer tell two citizens apart (and
 * find the thread in the channel inbox by time) without the page showing the raw id.
 */
export function pseudonym(userRef: string): string {
  return createHash('sha256').update(userRef).digest('hex').slice(0, 6);
}

/** A route parameter as a non-empty string, or null (express types params loosely). */
export function routeParam(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The conversation before the request, folded away under the question. */
function transcript(h: Handoff) {
  if (h.transcript.length === 0) return '';
  const lines = h.transcript.map(
    (l) => html`<li><b>${l.from === 'citizen' ? 'Người dân' : 'Trợ lý ảo'}</b> <small>${formatVietnamTime(new Date(l.at))}</small><br>${l.text}</li>`,
  );
  return html`<details><summary>Cuộc trò chuyện trước đó (${h.transcript.length} tin)</summary><ol style="white-space:pre-line">${lines}</ol></details>`;
}

function channelLabel(channel: string): string {
  const c = ChannelName.safeParse(channel);
  return c.success ? CHANNEL_VI[c.data] : channel;
}

export function createHandoffsRouter(deps: HandoffsDeps): Router {
  const router = express.Router();

  router.get('/admin/units/:unitId/handoffs', deps.auth.requireUser('handoffs.manage'), async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    if (unitId === null) {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: 'Không tìm thấy đơn vị.' } });
      return;
    }
    const open = await deps.handoffs.open(unitId, PAGE_LIMIT);
    const rows = open.map(
      (h) => html`<tr><td>${formatVietnamTime(h.createdAt)}</td><td>${channelLabel(h.channel)}</td><td>${pseudonym(h.userRef)}</td>
<td>${h.text}${transcript(h)}</td>
<td><form method="post" action="/admin/units/${encodeURIComponent(unitId)}/handoffs/${h.id}/close" style="margin:0">
<input type="hidden" name="_csrf" value="${auth.csrfToken}">
<button type="submit" name="resolution" value="answered">Đã trả lời</button>
<button type="submit" name="resolution" value="closed">Đóng, không cần trả lời</button></form></td></tr>`,
    );
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(
      layout(
        'Yêu cầu gặp cán bộ',
        auth,
        html`<h1>Yêu cầu gặp cán bộ</h1>
<p>Đơn vị: ${unitId} · Đang mở: ${open.length}</p>
<p>Trả lời người dân trong hộp thư của kênh tương ứng (Trang Facebook, Zalo OA), sau đó bấm “Đã trả lời” (hoặc “Đóng” nếu không cần trả lời) để trợ lý ảo trả lời lại người đó.</p>
${
  open.length === 0
    ? html`<p>Không có yêu cầu nào đang mở.</p>`
    : html`<table><thead><tr><th>Thời gian</th><th>Kênh</th><th>Người dân (mã ẩn danh)</th><th>Câu hỏi</th><th></th></tr></thead><tbody>${rows}</tbody></table>`
}`,
      ),
    );
  });

  router.post('/admin/units/:unitId/handoffs/:id/close', deps.auth.requireUser('handoffs.manage'), async (req, res) => {
    const auth = authOf(res);
    const unitId = routeParam(req.params.unitId);
    const id = IdParam.safeParse(req.params.id);
    const form = Resolution.safeParse(req.body ?? {});
    // close() ends only an open request of this unit: another unit's id is "not found".
    const closed =
      id.success && unitId !== null && form.success
        ? await deps.handoffs.close({ id: id.data, unitId, by: auth.user.username, resolution: form.data.resolution })
        : undefined;
    if (!closed || unitId === null || !form.success) {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: 'Không tìm thấy yêu cầu này.' } });
      return;
    }
    await deps.audit.record({ actor: auth.user.id, action: `handoff.${form.data.resolution}`, unitId, target: String(closed.id) });
    const channel = ChannelName.safeParse(closed.channel);
    if (channel.success) {
      await deps.state.clear({ unitId: closed.unitId, channel: channel.data, userId: closed.userRef });
    }
    res.redirect(303, `/admin/units/${encodeURIComponent(unitId)}/handoffs`);
  });

  return router;
}
