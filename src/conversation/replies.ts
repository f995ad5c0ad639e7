// Builds the bot's replies from catalogue records and the texts in intents/: the short first
// answer, the details behind each button, choices, "no match" and menus. Pure functions.
// Correctness rules live here: a time limit is shown only with its unit, a fee only when the
// source states it; otherwise the reply says so and points to an officer.
import type { LinkButton, Reply, ReplyButton } from '../channels/channel.js';
import type { CatalogueProcedure, Fee, TimeLimit } from '../catalogue/schema.js';
import type { SearchHit } from '../search/types.js';
import type { IntentSet } from './intents.js';
import { groupPagePayload, groupPayload, plainPayload, procedurePayload, type ProcedureAction } from './payload.js';
import type { GroupChoice, SubscriptionOverview, UnitContact } from './ports.js';
import type { ChannelName } from '../channels/channel.js';

/** Catalogue format helpers (src/catalogue/format.ts): null when the unit / fee is not known. */
export interface Formatters {
  time(t: TimeLimit): string | null;
  fee(f: Fee): string | null;
}

/** Longest text of one message; longer lists are split (Messenger and Zalo cap near 2,000). */
export const MAX_MESSAGE_CHARS = 1000;
/** A chat is not a document: past this many messages a list ends with a link to the full text. */
export const MAX_LIST_MESSAGES = 4;
/** Button titles longer than this are shortened; the full names are in the message text. */
const MAX_BUTTON_TITLE = 80;
export const NATIONAL_PORTAL_URL = 'https://dichvucong.gov.vn';

export interface ReplyContext {
  texts: IntentSet;
  format: Formatters;
  unit: UnitContact | null;
}

export function fill(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = vars[name];
    return v === undefined ? whole : String(v);
  });
}

export function reply(text: string, extra: Partial<Omit<Reply, 'text'>> = {}): Reply {
  return { text, buttons: extra.buttons ?? [], quickReplies: extra.quickReplies ?? [], links: extra.links ?? [] };
}

function unitName(ctx: ReplyContext): string {
  return ctx.unit?.name ?? ctx.texts.messages.unitFallbackName;
}

function shorten(title: string): string {
  const chars = Array.from(title);
  return chars.length <= MAX_BUTTON_TITLE ? title : `${chars.slice(0, MAX_BUTTON_TITLE - 1).join('').trimEnd()}…`;
}

/** Portal placeholders such as "Không có thông tin" are not information. */
function present(s: string | null | undefined): string | null {
  if (!s) return null;
  const t = s.trim();
  if (t.length === 0 || /^không có thông tin\.?$/iu.test(t)) return null;
  return t;
}

/** The formatter's text, refused if it is a bare number (a time without its unit). */
function safeTime(ctx: ReplyContext, t: TimeLimit): string | null {
  if (t.unit === 'unknown') return null;
  const text = present(ctx.format.time(t));
  if (!text || /^[\d\s.,/-]+$/u.test(text)) return null;
  return text;
}

/** The formatter's text, only when the source states the fee. */
function safeFee(ctx: ReplyContext, f: Fee): string | null {
  if (!f.stated) return null;
  return present(ctx.format.fee(f));
}

export function handoffButton(ctx: ReplyContext): ReplyButton {
  return { title: ctx.texts.messages.buttons.handoff, payload: plainPayload('handoff') };
}

function contactButton(ctx: ReplyContext): ReplyButton {
  return { title: ctx.texts.messages.buttons.contact, payload: plainPayload('contact') };
}

const DETAIL_BUTTONS: readonly { action: ProcedureAction; label: keyof IntentSet['messages']['buttons'] }[] = [
  { action: 'docs', label: 'documents' },
  { action: 'steps', label: 'steps' },
  { action: 'fee', label: 'feeTime' },
  { action: 'legal', label: 'legal' },
  { action: 'online', label: 'online' },
];

/** The detail buttons of a procedure (except the one just shown) and "Gặp cán bộ". */
export function detailButtons(ctx: ReplyContext, code: string, except?: ProcedureAction): ReplyButton[] {
  return [
    ...DETAIL_BUTTONS.filter((b) => b.action !== except).map((b) => ({
      title: ctx.texts.messages.buttons[b.label],
      payload: procedurePayload(b.action, code),
    })),
    handoffButton(ctx),
  ];
}

function portalUrl(ctx: ReplyContext): string {
  return ctx.unit?.portalUrl ?? NATIONAL_PORTAL_URL;
}

function onlineLinks(ctx: ReplyContext, p: CatalogueProcedure, online: boolean): LinkButton[] {
  const links: LinkButton[] = [];
  if (online) links.push({ title: ctx.texts.messages.buttons.portal, url: portalUrl(ctx) });
  if (p.sourceUrl) links.push({ title: ctx.texts.messages.buttons.source, url: p.sourceUrl });
  return links;
}

/**
 * Splits a header and lines into messages of at most MAX_MESSAGE_CHARS, breaking between lines
 * (and inside a line only when one line alone is too long, at a space).
 */
export function splitIntoMessages(header: string, lines: readonly string[], max = MAX_MESSAGE_CHARS): string[] {
  const pieces: string[] = [];
  for (const line of lines) {
    let rest = line;
    while (Array.from(rest).length > max) {
      const head = Array.from(rest).slice(0, max).join('');
      const cut = head.lastIndexOf(' ') > max / 2 ? head.lastIndexOf(' ') : head.length;
      pieces.push(rest.slice(0, cut).trimEnd());
      rest = rest.slice(cut).trimStart();
    }
    if (rest.length > 0) pieces.push(rest);
  }
  const messages: string[] = [];
  let current = header;
  for (const piece of pieces) {
    const candidate = current.length === 0 ? piece : `${current}\n${piece}`;
    if (Array.from(candidate).length > max && current.length > 0) {
      messages.push(current);
      current = piece;
    } else {
      current = candidate;
    }
  }
  if (current.length > 0) messages.push(current);
  return messages;
}

/**
 * Puts the buttons and links under the last message of a split list; a list longer than
 * MAX_LIST_MESSAGES is cut, and its last message points to the full record on the portal.
 */
function listReplies(
  ctx: ReplyContext,
  p: CatalogueProcedure,
  texts: readonly string[],
  buttons: ReplyButton[],
  links: LinkButton[] = [],
): Reply[] {
  let shown = [...texts];
  let allLinks = links;
  if (shown.length > MAX_LIST_MESSAGES) {
    shown = [...shown.slice(0, MAX_LIST_MESSAGES - 1), ctx.texts.procedure.replies.details.truncated];
    const source = onlineLinks(ctx, p, false);
    allLinks = [...links, ...source.filter((s) => !links.some((l) => l.url === s.url))];
  }
  return shown.map((t, i) => (i === shown.length - 1 ? reply(t, { buttons, links: allLinks }) : reply(t)));
}

function whereLine(ctx: ReplyContext, p: CatalogueProcedure): string {
  const r = ctx.texts.procedure.replies.answer;
  const agency = present(p.agencies.executing) ?? present(p.agencies.competent) ?? present(p.agencies.authorized);
  if (agency) return fill(r.where, { agency });
  // A commune-level procedure is received at the commune's one-stop desk.
  const communeLevel = p.communeCore || (p.levels.length === 1 && p.levels[0] === 'Cấp xã');
  if (communeLevel) return fill(r.whereCommuneDesk, { unitName: unitName(ctx) });
  return r.whereUnknown;
}

/** "Thời hạn: 3 ngày làm việc", per channel when they differ, or "not stated" — never a bare number. */
function summaryLine(
  ctx: ReplyContext,
  p: CatalogueProcedure,
  value: (c: CatalogueProcedure['channels'][number]) => string | null,
  known: string,
  unknownLine: string,
  unknownShort: string,
): string {
  const r = ctx.texts.procedure.replies.answer;
  const values = p.channels.map((c) => ({ label: c.label, v: value(c) }));
  if (values.length === 0 || values.every((x) => x.v === null)) return unknownLine;
  const distinct = new Set(values.map((x) => x.v));
  const only = values[0]?.v;
  if (distinct.size === 1 && only) return fill(known, { time: only, fee: only });
  const parts = values.map((x) => fill(r.perChannel, { label: x.label, value: x.v ?? unknownShort }));
  return fill(known, { time: parts.join('; '), fee: parts.join('; ') });
}

/** The short first answer: what, where, how long, fee, online — then the detail buttons. */
export function procedureAnswer(ctx: ReplyContext, p: CatalogueProcedure): Reply[] {
  const r = ctx.texts.procedure.replies.answer;
  const d = ctx.texts.procedure.replies.details;
  const header = fill(r.header, { name: p.name });
  if (p.detail === 'list') {
    const text = [header, present(p.summary), r.listOnly].filter((x): x is string => x !== null).join('\n');
    return [reply(text, { buttons: [handoffButton(ctx), contactButton(ctx)], links: onlineLinks(ctx, p, false) })];
  }
  const online = p.channels.some((c) => c.kind === 'online');
  const lines = [
    header,
    present(p.summary),
    whereLine(ctx, p),
    summaryLine(ctx, p, (c) => safeTime(ctx, c.time), r.time, r.timeUnknown, d.timeUnknownShort),
    summaryLine(ctx, p, (c) => safeFee(ctx, c.fee), r.fee, r.feeUnknown, d.feeUnknownShort),
    p.channels.length === 0 ? r.onlineUnknown : online ? r.onlineYes : r.onlineNo,
    r.more,
  ].filter((x): x is string => x !== null);
  return [reply(lines.join('\n'), { buttons: detailButtons(ctx, p.code), links: online ? onlineLinks(ctx, p, true).slice(0, 1) : [] })];
}

function documentsDetail(ctx: ReplyContext, p: CatalogueProcedure): Reply[] {
  const d = ctx.texts.procedure.replies.details;
  const buttons = detailButtons(ctx, p.code, 'docs');
  if (p.documents.length === 0) return [reply(d.documentsNone, { buttons, links: onlineLinks(ctx, p, false) })];
  const lines: string[] = [];
  let group: string | null = null;
  for (const doc of p.documents) {
    const g = present(doc.group);
    if (g && g !== group) lines.push(g);
    group = g;
    // "0 bản chính" marks a note the portal put in the documents table, not a document to bring.
    const quantity = present(doc.quantity);
    const extras = [
      quantity && !/^0\b/u.test(quantity) ? quantity : null,
      doc.kind === 'show' ? d.documentShow : null,
      present(doc.form) ? fill(d.documentForm, { form: doc.form ?? '' }) : null,
    ].filter((x): x is string => x !== null);
    lines.push(`• ${doc.name}${extras.length > 0 ? ` (${extras.join('; ')})` : ''}`);
  }
  return listReplies(ctx, p, splitIntoMessages(fill(d.documentsHeader, { name: p.name }), lines), buttons);
}

function formsDetail(ctx: ReplyContext, p: CatalogueProcedure): Reply[] {
  const d = ctx.texts.procedure.replies.details;
  const buttons = detailButtons(ctx, p.code);
  const forms = p.documents.filter((doc) => present(doc.form) !== null);
  if (forms.length === 0) return [reply(d.formsNone, { buttons, links: onlineLinks(ctx, p, false) })];
  const lines = forms.map((doc) => `• ${doc.form ?? ''} — ${doc.name}`);
  return listReplies(ctx, p, splitIntoMessages(fill(d.formsHeader, { name: p.name }), lines), buttons, onlineLinks(ctx, p, false));
}

function stepsDetail(ctx: ReplyContext, p: CatalogueProcedure): Reply[] {
  const d = ctx.texts.procedure.replies.details;
  const buttons = detailButtons(ctx, p.code, 'steps');
  const steps = p.steps.map((s) => s.trim()).filter((s) => s.length > 0);
  if (steps.length === 0) return [reply(d.stepsNone, { buttons, links: onlineLinks(ctx, p, false) })];
  const lines = steps.map((s, i) => `${i + 1}. ${s}`);
  return listReplies(ctx, p, splitIntoMessages(fill(d.stepsHeader, { name: p.name }), lines), buttons);
}

function feeTimeDetail(ctx: ReplyContext, p: CatalogueProcedure): Reply[] {
  const d = ctx.texts.procedure.replies.details;
  const buttons = detailButtons(ctx, p.code, 'fee');
  if (p.channels.length === 0) return [reply(d.feeTimeNone, { buttons, links: onlineLinks(ctx, p, false) })];
  let unclear = false;
  const lines = p.channels.map((c) => {
    const time = safeTime(ctx, c.time);
    const fee = safeFee(ctx, c.fee);
    if (!time || !fee) unclear = true;
    return `• ${fill(d.feeTimeChannel, { label: c.label, time: time ?? d.timeUnknownShort, fee: fee ?? d.feeUnknownShort })}`;
  });
  if (unclear) lines.push(d.feeTimeAskOfficer);
  return listReplies(ctx, p, splitIntoMessages(fill(d.feeTimeHeader, { name: p.name }), lines), buttons);
}

function legalDetail(ctx: ReplyContext, p: CatalogueProcedure): Reply[] {
  const d = ctx.texts.procedure.replies.details;
  const buttons = detailButtons(ctx, p.code, 'legal');
  if (p.legalBasis.length === 0) return [reply(d.legalNone, { buttons, links: onlineLinks(ctx, p, false) })];
  const lines = p.legalBasis.map((l) => {
    const number = present(l.number);
    return `• ${l.title}${number && !l.title.includes(number) ? ` (${number})` : ''}`;
  });
  lines.push(d.sourceNote);
  return listReplies(ctx, p, splitIntoMessages(fill(d.legalHeader, { name: p.name }), lines), buttons);
}

function onlineDetail(ctx: ReplyContext, p: CatalogueProcedure): Reply[] {
  const d = ctx.texts.procedure.replies.details;
  const online = p.channels.some((c) => c.kind === 'online');
  const text = fill(online ? d.onlineYes : d.onlineNo, { name: p.name, unitName: unitName(ctx) });
  // The portal link is offered either way: the citizen may check it there.
  const links: LinkButton[] = [{ title: ctx.texts.messages.buttons.portal, url: portalUrl(ctx) }];
  if (p.sourceUrl) links.push({ title: ctx.texts.messages.buttons.source, url: p.sourceUrl });
  return [reply(text, { buttons: detailButtons(ctx, p.code, 'online'), links })];
}

function whereDetail(ctx: ReplyContext, p: CatalogueProcedure): Reply[] {
  const d = ctx.texts.procedure.replies.details;
  const lines = [fill(d.whereHeader, { name: p.name }), whereLine(ctx, p)];
  const address = present(ctx.unit?.address);
  if (address) lines.push(fill(d.whereAddress, { unitName: unitName(ctx), address }));
  return [reply(lines.join('\n'), { buttons: detailButtons(ctx, p.code) })];
}

function resultDetail(ctx: ReplyContext, p: CatalogueProcedure): Reply[] {
  const d = ctx.texts.procedure.replies.details;
  const result = present(p.result);
  const lines = result ? [result] : [d.resultNone];
  return listReplies(ctx, p, splitIntoMessages(fill(d.resultHeader, { name: p.name }), lines), detailButtons(ctx, p.code));
}

export type DetailKind = Exclude<ProcedureAction, 'pick'>;

export function procedureDetail(ctx: ReplyContext, p: CatalogueProcedure, kind: DetailKind): Reply[] {
  switch (kind) {
    case 'docs':
      return documentsDetail(ctx, p);
    case 'steps':
      return stepsDetail(ctx, p);
    case 'fee':
      return feeTimeDetail(ctx, p);
    case 'legal':
      return legalDetail(ctx, p);
    case 'online':
      return onlineDetail(ctx, p);
    case 'where':
      return whereDetail(ctx, p);
    case 'forms':
      return formsDetail(ctx, p);
    case 'result':
      return resultDetail(ctx, p);
  }
}

/** Up to three candidates as numbered text and buttons, plus "Gặp cán bộ". */
export function choicesReply(ctx: ReplyContext, candidates: readonly { code: string; name: string }[]): Reply[] {
  const c = ctx.texts.procedure.replies.choices;
  const items = candidates.slice(0, 3);
  const lines = items.map((p, i) => fill(c.item, { n: i + 1, name: p.name }));
  const buttons = items.map((p, i) => ({ title: shorten(fill(c.item, { n: i + 1, name: p.name })), payload: procedurePayload('pick', p.code) }));
  return [reply([c.intro, ...lines].join('\n'), { buttons: [...buttons, handoffButton(ctx)] })];
}

/** No match: say so, show suggestions if any, offer an officer and the unit's phone. */
export function noneReply(ctx: ReplyContext, suggestions: readonly SearchHit[]): Reply[] {
  const n = ctx.texts.procedure.replies.none;
  const c = ctx.texts.procedure.replies.choices;
  const phone = present(ctx.unit?.phone);
  const lines = [n.text];
  const items = suggestions.slice(0, 3);
  if (items.length > 0) {
    lines.push(n.suggestions, ...items.map((p, i) => fill(c.item, { n: i + 1, name: p.name })));
  } else {
    lines.push(n.rephrase);
  }
  lines.push(phone ? fill(n.phone, { unitName: unitName(ctx), phone }) : n.noPhone);
  const buttons = items.map((p, i) => ({ title: shorten(fill(c.item, { n: i + 1, name: p.name })), payload: procedurePayload('pick', p.code) }));
  return [reply(lines.join('\n'), { buttons: [...buttons, handoffButton(ctx), contactButton(ctx)] })];
}

/** The menu's buttons and quick topics (only topics present in this unit's catalogue). */
export function menuExtras(ctx: ReplyContext, hasCode: (code: string) => boolean): Pick<Reply, 'buttons' | 'quickReplies'> {
  return {
    buttons: [contactButton(ctx), handoffButton(ctx)],
    quickReplies: ctx.texts.messages.menuTopics
      .filter((t) => hasCode(t.code))
      .map((t) => ({ title: t.title, payload: procedurePayload('pick', t.code) })),
  };
}

export function greetingReply(ctx: ReplyContext, hasCode: (code: string) => boolean): Reply[] {
  const g = ctx.texts.greeting.replies;
  return [reply(fill(g.welcome, { unitName: unitName(ctx) })), reply(g.prompt, menuExtras(ctx, hasCode))];
}

export function contactReply(ctx: ReplyContext): Reply[] {
  const r = ctx.texts.contact.replies;
  const u = ctx.unit;
  const address = present(u?.address);
  const phone = present(u?.phone);
  const hours = present(u?.hours);
  const portal = present(u?.portalUrl);
  if (!address && !phone && !hours) return [reply(r.missing, { buttons: [handoffButton(ctx)] })];
  const lines = [fill(r.header, { unitName: unitName(ctx) })];
  if (address) lines.push(fill(r.address, { address }));
  if (phone) lines.push(fill(r.phone, { phone }));
  if (hours) lines.push(fill(r.hours, { hours }));
  if (portal) lines.push(fill(r.portal, { portalUrl: portal }));
  return [reply(lines.join('\n'), { buttons: [handoffButton(ctx)] })];
}

export function handoffReply(ctx: ReplyContext): Reply[] {
  const r = ctx.texts.handoff.replies;
  const hours = present(ctx.unit?.hours);
  return [reply(hours ? fill(r.requested, { unitName: unitName(ctx), hours }) : fill(r.requestedNoHours, { unitName: unitName(ctx) }))];
}

// ---- subscriber groups ----------------------------------------------------------------------

/**
 * Group buttons per page: with "Xem thêm nhóm" and one more action it stays within Messenger's
 * 13 quick replies and the 20 payloads a typed number can pick.
 */
export const GROUP_PAGE_SIZE = 10;

const groupNames = (groups: readonly GroupChoice[]): string => groups.map((g) => g.name).join(', ');

/** The page of `items` (pages from 1; out of range → the nearest) and the page after it (wrapping), if any. */
function pageOf<T>(items: readonly T[], page: number): { shown: T[]; next: number | null } {
  const pages = Math.max(1, Math.ceil(items.length / GROUP_PAGE_SIZE));
  const p = Math.min(Math.max(1, Math.floor(page)), pages);
  return { shown: items.slice((p - 1) * GROUP_PAGE_SIZE, p * GROUP_PAGE_SIZE), next: pages > 1 ? (p % pages) + 1 : null };
}

export function subscriptionUnavailableReply(ctx: ReplyContext): Reply[] {
  return [reply(fill(ctx.texts.messages.subscriptions.unavailable, { unitName: unitName(ctx) }))];
}

/** The unit's groups the citizen does not follow yet, as buttons, and the ones they follow. */
export function subscribeListReply(ctx: ReplyContext, overview: SubscriptionOverview, page = 1): Reply[] {
  const s = ctx.texts.messages.subscriptions;
  const vars = { unitName: unitName(ctx), groups: groupNames(overview.following) };
  const unsubscribe: ReplyButton = { title: s.buttons.unsubscribe, payload: plainPayload('unsub') };
  if (overview.groups.length === 0) {
    const lines = [fill(s.list.noGroups, vars)];
    if (overview.following.length > 0) lines.push(fill(s.list.following, vars), s.howToStop);
    return [reply(lines.join('\n'), { buttons: overview.following.length > 0 ? [unsubscribe] : [] })];
  }
  const followed = new Set(overview.following.map((g) => g.id));
  const open = overview.groups.filter((g) => !followed.has(g.id));
  if (open.length === 0) {
    return [reply([fill(s.list.allFollowed, vars), fill(s.list.following, vars), s.howToStop].join('\n'), { buttons: [unsubscribe] })];
  }
  const { shown, next } = pageOf(open, page);
  const lines = [fill(s.list.intro, vars)];
  if (overview.following.length > 0) lines.push(fill(s.list.following, vars));
  lines.push(s.list.privacy);
  const buttons: ReplyButton[] = shown.map((g) => ({ title: shorten(g.name), payload: groupPayload('sub', g.id) }));
  if (next !== null) buttons.push({ title: s.buttons.more, payload: groupPagePayload('sub', next) });
  if (overview.following.length > 0) buttons.push(unsubscribe);
  return [reply(lines.join('\n'), { buttons })];
}

/** Confirms a subscription: what the citizen will receive, what the platform allows, how to stop. */
export function subscribedReply(ctx: ReplyContext, group: GroupChoice, already: boolean, channel: ChannelName, moreToChoose: boolean): Reply[] {
  const s = ctx.texts.messages.subscriptions;
  const vars = { unitName: unitName(ctx), group: group.name };
  const lines = [fill(already ? s.already : s.subscribed, vars)];
  if (!already && group.description) lines.push(group.description);
  if (!already) lines.push(fill(s.platformNote[channel], vars));
  lines.push(s.howToStop);
  const buttons: ReplyButton[] = moreToChoose ? [{ title: s.buttons.otherGroups, payload: plainPayload('sub') }] : [];
  return [reply(lines.join('\n'), { buttons })];
}

export function groupGoneReply(ctx: ReplyContext): Reply {
  return reply(ctx.texts.messages.subscriptions.groupGone);
}

/** The citizen's groups as buttons to leave one, and "Hủy tất cả". */
export function unsubscribeListReply(ctx: ReplyContext, overview: SubscriptionOverview, page = 1): Reply[] {
  const s = ctx.texts.messages.subscriptions;
  if (overview.following.length === 0) {
    const buttons: ReplyButton[] = overview.groups.length > 0 ? [{ title: s.buttons.subscribe, payload: plainPayload('sub') }] : [];
    return [reply(s.unsubscribeList.none, { buttons })];
  }
  const { shown, next } = pageOf(overview.following, page);
  const buttons: ReplyButton[] = shown.map((g) => ({ title: shorten(g.name), payload: groupPayload('unsub', g.id) }));
  if (next !== null) buttons.push({ title: s.buttons.more, payload: groupPagePayload('unsub', next) });
  buttons.push({ title: s.buttons.unsubscribeAll, payload: groupPayload('unsub', 'all') });
  return [reply([s.unsubscribeList.intro, s.howToStop].join('\n'), { buttons })];
}

/** After leaving one group: confirmed (and what remains), or "you were not in it". */
export function unsubscribedReply(ctx: ReplyContext, group: GroupChoice | undefined, removed: boolean, remaining: readonly GroupChoice[]): Reply[] {
  const s = ctx.texts.messages.subscriptions;
  if (!removed || !group) return [reply(s.notFollowing)];
  const lines = [fill(s.unsubscribed, { group: group.name })];
  lines.push(remaining.length > 0 ? fill(s.stillFollowing, { groups: groupNames(remaining) }) : s.resubscribe);
  return [reply(lines.join('\n'))];
}

/** After "STOP" / "Hủy tất cả": every consent withdrawn (count groups), or there was none. */
export function unsubscribedAllReply(ctx: ReplyContext, count: number): Reply[] {
  const s = ctx.texts.messages.subscriptions;
  if (count === 0) return [reply([s.nothingToStop, s.resubscribe].join('\n'))];
  return [reply([fill(s.unsubscribedAll, { unitName: unitName(ctx), count }), s.resubscribe].join('\n'))];
}
