// An announcement as each platform's send bodies, within its limits (PLATFORMS.md §3 and §7):
// - Messenger: messaging_type UPDATE (proactive, inside the 24-hour window); the image first as an
//   image attachment, then the title and body as text (split below 2,000 characters), the link as
//   a web_url button of a button template (text ≤ 640) — the last piece of text carries it.
// - Zalo: one promotion message ("tin truyền thông"): banner (the image), header (the title,
//   ≤ 100), text blocks (the body), an oa.open.url button for the link. One message, because Zalo
//   allows one promotion per follower per day.
// - Website: no push; a held announcement becomes a Reply shown at the next visit.
// An announcement that invites to a survey (issue #6) carries one more button, "Tham gia khảo
// sát", whose payload starts the unit's periodic survey (src/surveys/chat-payload.ts): a
// postback on Messenger, an oa.query.hide button on Zalo (the tap comes back as the payload), a
// payload button in the website chat (and in a held reply on Messenger).
// Also: a plain preview of what the citizen sees on each platform, for the officer; and each
// body's "signature" (the text the platform's conversation history will show), used to find a
// message again after a crash (docs/decisions/006-broadcast-exactly-once.md).
import type { Reply } from '../channels/channel.js';
import { renderMessengerReply, type MessengerSendBody } from '../channels/messenger/index.js';
import { splitZaloText } from '../channels/zalo/index.js';
import { VN_OFFSET_MS } from './eligibility.js';
import { BROADCAST_TEXTS, fill } from './texts.js';
import type { Announcement, BroadcastChannel } from './types.js';
import { surveyStartPayload } from '../surveys/chat-payload.js';

/** The parts of an announcement a citizen sees (`survey`: the periodic survey it invites to). */
export type AnnouncementContent = Pick<Announcement, 'title' | 'body' | 'linkUrl' | 'imageUrl'> & { survey?: string | null };

/** Title of the survey invitation's button (Messenger ≤ 20 characters). */
export const SURVEY_BUTTON_TITLE = 'Tham gia khảo sát';
/** How the preview shows that button. */
const SURVEY_BUTTON_PREVIEW = '[Nút “{title}” → mở phiếu khảo sát trong khung chat]';

/** The invitation's button (title and payload), or null without an invitation. */
export function surveyButton(a: Pick<AnnouncementContent, 'survey'>): { title: string; payload: string } | null {
  return a.survey ? { title: SURVEY_BUTTON_TITLE, payload: surveyStartPayload({ definitionId: a.survey }) } : null;
}

/** Zalo promotion header: at most 100 characters (Zalo promotion API v3 documentation, via SDKs). */
export const ZALO_PROMOTION_HEADER_MAX = 100;
/**
 * Zalo promotion text block: no official figure was found; 1,000 characters per block is our
 * assumption (the fake enforces it), longer bodies become several blocks of one message.
 */
export const ZALO_PROMOTION_TEXT_MAX = 1000;
export const ZALO_PROMOTION_BUTTON_TITLE_MAX = 100;

export interface MessengerImageBody {
  recipient: { id: string };
  messaging_type: 'UPDATE' | 'RESPONSE';
  message: { attachment: { type: 'image'; payload: { url: string; is_reusable: boolean } } };
}

export type MessengerBroadcastBody = MessengerSendBody | MessengerImageBody;

export type ZaloPromotionElement =
  | { type: 'banner'; image_url: string }
  | { type: 'header'; content: string; align: 'left' }
  | { type: 'text'; content: string; align: 'left' };

export interface ZaloPromotionBody {
  recipient: { user_id: string };
  message: {
    attachment: {
      type: 'template';
      payload: {
        template_type: 'promotion';
        elements: ZaloPromotionElement[];
        buttons?: Array<{ title: string; type: 'oa.open.url'; payload: { url: string } } | { title: string; type: 'oa.query.hide'; payload: string }>;
      };
    };
  };
}

export type RenderedBodies = { platform: 'messenger'; bodies: MessengerBroadcastBody[] } | { platform: 'zalo'; bodies: ZaloPromotionBody[] };

const nfc = (s: string): string => s.normalize('NFC').trim();

function mainText(a: AnnouncementContent): string {
  return `${nfc(a.title)}\n\n${nfc(a.body)}`;
}

/** The bodies to send, in order, to one citizen. */
export function renderAnnouncement(platform: 'messenger', a: AnnouncementContent, userId: string): MessengerBroadcastBody[];
export function renderAnnouncement(platform: 'zalo', a: AnnouncementContent, userId: string): ZaloPromotionBody[];
export function renderAnnouncement(platform: 'messenger' | 'zalo', a: AnnouncementContent, userId: string): Array<MessengerBroadcastBody | ZaloPromotionBody>;
export function renderAnnouncement(platform: 'messenger' | 'zalo', a: AnnouncementContent, userId: string): Array<MessengerBroadcastBody | ZaloPromotionBody> {
  return platform === 'messenger' ? renderMessenger(a, userId) : [renderZalo(a, userId)];
}

function renderMessenger(a: AnnouncementContent, psid: string): MessengerBroadcastBody[] {
  const bodies: MessengerBroadcastBody[] = [];
  if (a.imageUrl) {
    bodies.push({ recipient: { id: psid }, messaging_type: 'UPDATE', message: { attachment: { type: 'image', payload: { url: a.imageUrl, is_reusable: true } } } });
  }
  const survey = surveyButton(a);
  const reply: Reply = {
    text: mainText(a),
    buttons: survey ? [survey] : [],
    quickReplies: [],
    links: a.linkUrl ? [{ title: BROADCAST_TEXTS.linkButton, url: a.linkUrl }] : [],
  };
  bodies.push(...renderMessengerReply(reply, psid, 'UPDATE'));
  return bodies;
}

/** Zalo's promotion text shows line breaks written as <br> (as Zalo's own examples do). */
function zaloText(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(/\n/g, '<br>');
}

function shorten(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('').trimEnd()}…`;
}

function zaloBlocks(body: string): string[] {
  // Split on the plain text first (at paragraph / line / word breaks), then encode the breaks;
  // a block never grows past the limit because <br> is counted before the split as well.
  const max = ZALO_PROMOTION_TEXT_MAX;
  const out: string[] = [];
  for (const piece of splitZaloText(nfc(body), max)) {
    let rest = piece;
    while (rest !== '') {
      let cut = rest.length;
      while (zaloText(rest.slice(0, cut)).length > max) cut = Math.max(1, Math.floor(cut * 0.9));
      out.push(zaloText(rest.slice(0, cut).trimEnd()));
      rest = rest.slice(cut).trimStart();
    }
  }
  return out;
}

function renderZalo(a: AnnouncementContent, userId: string): ZaloPromotionBody {
  const elements: ZaloPromotionElement[] = [];
  if (a.imageUrl) elements.push({ type: 'banner', image_url: a.imageUrl });
  elements.push({ type: 'header', content: shorten(nfc(a.title), ZALO_PROMOTION_HEADER_MAX), align: 'left' });
  for (const block of zaloBlocks(a.body)) elements.push({ type: 'text', content: block, align: 'left' });
  const survey = surveyButton(a);
  const buttons: NonNullable<ZaloPromotionBody['message']['attachment']['payload']['buttons']> = [];
  if (a.linkUrl) buttons.push({ title: shorten(BROADCAST_TEXTS.linkButton, ZALO_PROMOTION_BUTTON_TITLE_MAX), type: 'oa.open.url', payload: { url: a.linkUrl } });
  // "hide" keeps the machine payload out of the visible chat; the webhook still receives it.
  if (survey) buttons.push({ title: shorten(survey.title, ZALO_PROMOTION_BUTTON_TITLE_MAX), type: 'oa.query.hide', payload: survey.payload });
  return {
    recipient: { user_id: userId },
    message: {
      attachment: {
        type: 'template',
        payload: {
          template_type: 'promotion',
          elements,
          ...(buttons.length > 0 ? { buttons } : {}),
        },
      },
    },
  };
}

/**
 * What the platform's conversation history shows as the text of a body we sent: the text of a
 * text message, the text of a button template, the header of a Zalo promotion; '' for an image.
 * Used to recognise our own message when reconciling a send that was in doubt.
 */
export function bodySignature(body: unknown): string {
  if (typeof body !== 'object' || body === null) return '';
  const message = (body as { message?: unknown }).message;
  if (typeof message !== 'object' || message === null) return '';
  const text = (message as { text?: unknown }).text;
  if (typeof text === 'string') return text;
  const attachment = (message as { attachment?: { type?: unknown; payload?: Record<string, unknown> } }).attachment;
  const payload = attachment?.payload;
  if (!payload) return '';
  if (typeof payload['text'] === 'string') return payload['text'];
  const elements = payload['elements'];
  if (Array.isArray(elements)) {
    const header = elements.find((e): e is { type: 'header'; content: string } => typeof e === 'object' && e !== null && (e as { type?: unknown }).type === 'header');
    if (header && typeof header.content === 'string') return header.content;
  }
  return '';
}

/** An announcement held for a citizen, delivered with the next reply (Messenger, website). */
export function heldReply(a: AnnouncementContent & { startedAt: Date | null; createdAt: Date }): Reply {
  const at = a.startedAt ?? a.createdAt;
  const local = new Date(at.getTime() + VN_OFFSET_MS);
  const date = `${String(local.getUTCDate()).padStart(2, '0')}/${String(local.getUTCMonth() + 1).padStart(2, '0')}/${local.getUTCFullYear()}`;
  const links = [];
  if (a.linkUrl) links.push({ title: BROADCAST_TEXTS.linkButton, url: a.linkUrl });
  if (a.imageUrl) links.push({ title: BROADCAST_TEXTS.imageLink, url: a.imageUrl });
  const survey = surveyButton(a);
  return { text: `${fill(BROADCAST_TEXTS.heldIntro, { date })}\n${mainText(a)}`, buttons: survey ? [survey] : [], quickReplies: [], links };
}

export interface AnnouncementPreview {
  /** What the citizen sees, message by message (or block by block for one Zalo message). */
  parts: string[];
  /** Something was cut to fit the platform. */
  truncated: boolean;
  /** Plain words on who receives it and how. */
  notes: string[];
}

/** How the announcement reaches a citizen on `platform`, for the officer before pressing send. */
export function previewAnnouncement(platform: BroadcastChannel, a: AnnouncementContent & { holdDays?: number }): AnnouncementPreview {
  const holdDays = a.holdDays ?? 7;
  const t = BROADCAST_TEXTS.preview;
  if (platform === 'messenger') {
    const bodies = renderMessenger(a, 'preview');
    const parts = bodies.map((b) => {
      const m = b.message;
      if ('attachment' in m && m.attachment.type === 'image') return fill(t.image, { url: m.attachment.payload.url });
      if ('attachment' in m && m.attachment.type === 'template') {
        const buttons = m.attachment.payload.buttons
          .map((x) => (x.type === 'web_url' ? fill(t.button, { title: x.title, url: x.url }) : fill(SURVEY_BUTTON_PREVIEW, { title: x.title })))
          .join(' ');
        return `${m.attachment.payload.text}\n${buttons}`;
      }
      return 'text' in m ? m.text : '';
    });
    const notes: string[] = [];
    if (bodies.length > 1) notes.push(fill(t.messengerParts, { n: bodies.length }));
    notes.push(holdDays > 0 ? fill(t.messengerWindow, { days: holdDays }) : t.messengerNoHold);
    return { parts, truncated: false, notes };
  }
  if (platform === 'zalo') {
    const body = renderZalo(a, 'preview');
    const payload = body.message.attachment.payload;
    const parts: string[] = [];
    let textBlocks = 0;
    for (const e of payload.elements) {
      if (e.type === 'banner') parts.push(fill(t.banner, { url: e.image_url }));
      else if (e.type === 'header') parts.push(fill(t.header, { text: e.content }));
      else {
        textBlocks++;
        parts.push(e.content.replace(/<br>/g, '\n'));
      }
    }
    for (const b of payload.buttons ?? []) parts.push(b.type === 'oa.open.url' ? fill(t.button, { title: b.title, url: b.payload.url }) : fill(SURVEY_BUTTON_PREVIEW, { title: b.title }));
    const headerCut = Array.from(nfc(a.title)).length > ZALO_PROMOTION_HEADER_MAX;
    const notes: string[] = [t.zaloRules];
    if (headerCut) notes.push(fill(t.zaloHeaderCut, { max: ZALO_PROMOTION_HEADER_MAX }));
    if (textBlocks > 1) notes.push(fill(t.zaloTextSplit, { max: ZALO_PROMOTION_TEXT_MAX, n: textBlocks }));
    return { parts, truncated: headerCut, notes };
  }
  const reply = heldReply({ ...a, startedAt: null, createdAt: new Date() });
  // The intro line carries the day it is shown; the preview shows the announcement itself.
  const text = reply.text.split('\n').slice(1).join('\n');
  return {
    parts: [text, ...reply.links.map((l) => fill(t.button, { title: l.title, url: l.url })), ...reply.buttons.map((b) => fill(SURVEY_BUTTON_PREVIEW, { title: b.title }))],
    truncated: false,
    notes: [holdDays > 0 ? fill(t.web, { days: holdDays }) : t.webNoHold],
  };
}
