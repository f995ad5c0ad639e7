// What a citizen reads when their dossier's result is ready, and the one-time offer to evaluate
// the dossier once the result was handed over (issue #7), for each platform:
// - Zalo: one transaction message (POST /v3.0/oa/message/transaction, template_type
//   transaction_order: header, text, table, and for the offer a button whose payload starts the
//   survey) — docs/decisions/007-dossier-notifications.md says where this shape comes from;
// - Messenger: one message (a text; the offer as a button template with a postback button);
// - the website, and Messenger notices held for the next answer: a platform-neutral Reply.
// Texts in one place, Vietnamese with diacritics, NFC. Pure.
import type { Reply } from '../channels/channel.js';
import type { MessengerOutgoingBody } from '../channels/messenger/send-client.js';
import { MESSENGER_TEMPLATE_TEXT_MAX, shortenTitle } from '../channels/messenger/render.js';
import type { ZaloButton } from '../channels/zalo/render.js';
import { STATUS_VI } from './status.js';

export type NoticeKind = 'result_ready' | 'evaluation';
export type NoticePlatform = 'messenger' | 'zalo' | 'web';

export const NOTICE_TEXTS = {
  resultHeader: 'Hồ sơ {code} đã có kết quả',
  resultHeaderShort: 'Hồ sơ của bạn đã có kết quả',
  result: 'Hồ sơ {dossier} của bạn đã có kết quả. Mời bạn đến nhận kết quả tại {place}.',
  hours: 'Giờ làm việc: {hours}.',
  bring: 'Khi đến, bạn mang theo Giấy tiếp nhận hồ sơ và hẹn trả kết quả.',
  evaluationHeader: 'Hồ sơ {code} đã trả kết quả',
  evaluationHeaderShort: 'Hồ sơ của bạn đã trả kết quả',
  evaluation: 'Hồ sơ {dossier} đã được trả kết quả. Cảm ơn bạn đã sử dụng dịch vụ của {unitName}.',
  evaluationAsk: 'Mời bạn dành ít phút đánh giá mức độ hài lòng về việc giải quyết hồ sơ này: bấm nút “{button}”.',
  evaluationButton: 'Đánh giá',
  /** Where to collect when the dossier names no place: the unit's one-stop desk. */
  desk: 'Bộ phận Một cửa, {unitName}',
  deskWithAddress: 'Bộ phận Một cửa, {unitName}, {address}',
  deskUnknownUnit: 'Bộ phận Một cửa',
  unitFallback: 'Ủy ban nhân dân xã',
  tableCode: 'Mã hồ sơ',
  tableStatus: 'Trạng thái',
} as const;

/** Zalo budgets (the transaction template publishes no limits; ours, as for promotions). */
export const ZALO_NOTICE_HEADER_MAX = 100;
export const ZALO_NOTICE_TEXT_MAX = 1000;
/** A procedure name is cut to this many characters in a notice (names run to 500). */
const PROCEDURE_MAX = 200;
const PLACE_MAX = 300;

export interface NoticeUnit {
  name: string;
  address: string | null;
  hours: string | null;
}

/** Everything a notice shows, gathered by the notifier. */
export interface NoticeContent {
  kind: NoticeKind;
  code: string;
  /** The procedure's name (the dossier's, else the catalogue's), or null. */
  procedureName: string | null;
  pickupPlace: string | null;
  unit: NoticeUnit | null;
  /** The evaluation's survey start payload (mc:sv:…), for the offer's button. */
  surveyPayload: string | null;
}

export interface ZaloTransactionBody {
  recipient: { user_id: string };
  message: {
    attachment: {
      type: 'template';
      payload: {
        template_type: 'transaction_order';
        language: 'VI';
        elements: Array<{ type: 'header' | 'text'; content: string; align: 'left' } | { type: 'table'; content: Array<{ key: string; value: string }> }>;
        buttons?: ZaloButton[];
      };
    };
  };
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

function clean(text: string): string {
  return text.normalize('NFC').replace(/\s+/g, ' ').trim();
}

function cut(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('').trimEnd()}…`;
}

/** "000.00.01.H56-240101-0001 (Đăng ký khai sinh)", or the code alone. */
function dossierLabel(c: NoticeContent): string {
  const name = c.procedureName ? cut(clean(c.procedureName), PROCEDURE_MAX) : '';
  return name ? `${clean(c.code)} (${name})` : clean(c.code);
}

function unitName(c: NoticeContent): string {
  return c.unit?.name ? clean(c.unit.name) : NOTICE_TEXTS.unitFallback;
}

/** Where to collect the result: the dossier's pickup place, else the unit's one-stop desk. */
export function pickupPlace(c: NoticeContent): string {
  if (c.pickupPlace && clean(c.pickupPlace)) return cut(clean(c.pickupPlace), PLACE_MAX);
  if (!c.unit) return NOTICE_TEXTS.deskUnknownUnit;
  const address = c.unit.address ? clean(c.unit.address) : '';
  return address ? fill(NOTICE_TEXTS.deskWithAddress, { unitName: unitName(c), address }) : fill(NOTICE_TEXTS.desk, { unitName: unitName(c) });
}

/** The notice's text (the same words on every platform). */
export function noticeText(c: NoticeContent): string {
  if (c.kind === 'result_ready') {
    const parts = [fill(NOTICE_TEXTS.result, { dossier: dossierLabel(c), place: pickupPlace(c) })];
    // The unit's hours only when the result is collected at its desk.
    if (!(c.pickupPlace && clean(c.pickupPlace)) && c.unit?.hours && clean(c.unit.hours)) parts.push(fill(NOTICE_TEXTS.hours, { hours: cut(clean(c.unit.hours), 200) }));
    parts.push(NOTICE_TEXTS.bring);
    return parts.join(' ');
  }
  return `${fill(NOTICE_TEXTS.evaluation, { dossier: dossierLabel(c), unitName: unitName(c) })} ${fill(NOTICE_TEXTS.evaluationAsk, { button: NOTICE_TEXTS.evaluationButton })}`;
}

/** The offer's button, if the notice has one. */
function button(c: NoticeContent): { title: string; payload: string } | null {
  return c.kind === 'evaluation' && c.surveyPayload ? { title: NOTICE_TEXTS.evaluationButton, payload: c.surveyPayload } : null;
}

/** As a platform-neutral reply: held for the next answer (Messenger) or visit (website). */
export function noticeReply(c: NoticeContent): Reply {
  const b = button(c);
  return { text: noticeText(c), buttons: b ? [b] : [], quickReplies: [], links: [] };
}

/** One Send API body, `messaging_type: UPDATE` (a message of our own inside the 24-hour window). */
export function renderMessengerNotice(c: NoticeContent, psid: string): MessengerOutgoingBody {
  const b = button(c);
  let text = noticeText(c);
  if (!b) return { recipient: { id: psid }, messaging_type: 'UPDATE', message: { text } };
  // A button template holds 640 characters: without the procedure's name if it does not fit.
  if (text.length > MESSENGER_TEMPLATE_TEXT_MAX) text = noticeText({ ...c, procedureName: null });
  return {
    recipient: { id: psid },
    messaging_type: 'UPDATE',
    message: { attachment: { type: 'template', payload: { template_type: 'button', text: cut(text, MESSENGER_TEMPLATE_TEXT_MAX), buttons: [{ type: 'postback', title: shortenTitle(b.title), payload: b.payload }] } } },
  };
}

/** The header of the Zalo message: with the code when it fits (it is what the history shows). */
export function zaloHeader(c: NoticeContent): string {
  const [long, short] = c.kind === 'result_ready' ? [NOTICE_TEXTS.resultHeader, NOTICE_TEXTS.resultHeaderShort] : [NOTICE_TEXTS.evaluationHeader, NOTICE_TEXTS.evaluationHeaderShort];
  const header = fill(long, { code: clean(c.code) });
  return Array.from(header).length <= ZALO_NOTICE_HEADER_MAX ? header : short;
}

/** One transaction message (template transaction_order) to a Zalo user. */
export function renderZaloTransaction(c: NoticeContent, userId: string): ZaloTransactionBody {
  const b = button(c);
  const status = c.kind === 'result_ready' ? STATUS_VI.result_ready : STATUS_VI.returned;
  return {
    recipient: { user_id: userId },
    message: {
      attachment: {
        type: 'template',
        payload: {
          template_type: 'transaction_order',
          language: 'VI',
          elements: [
            { type: 'header', content: zaloHeader(c), align: 'left' },
            { type: 'text', content: cut(noticeText(c), ZALO_NOTICE_TEXT_MAX), align: 'left' },
            {
              type: 'table',
              content: [
                { key: NOTICE_TEXTS.tableCode, value: cut(clean(c.code), 90) },
                { key: NOTICE_TEXTS.tableStatus, value: status },
              ],
            },
          ],
          // "hide" keeps the machine payload out of the visible chat (as in replies).
          ...(b ? { buttons: [{ title: b.title, type: 'oa.query.hide' as const, payload: b.payload }] } : {}),
        },
      },
    },
  };
}

/**
 * The text the platform's conversation history shows for a notice we sent: what a send left in
 * doubt by a crash is looked for (Messenger: the message text or the template's text; Zalo: the
 * header, as for promotions — medium confidence, decision 006).
 */
export function noticeSignature(platform: 'messenger' | 'zalo', c: NoticeContent, body: unknown): string {
  if (platform === 'zalo') return zaloHeader(c);
  const m = (body as { message?: { text?: unknown; attachment?: { payload?: { text?: unknown } } } }).message;
  if (typeof m?.text === 'string') return m.text;
  const t = m?.attachment?.payload?.text;
  return typeof t === 'string' ? t : '';
}
