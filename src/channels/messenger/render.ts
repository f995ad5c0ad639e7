// Degrades one platform-neutral Reply into Messenger Send API bodies within Messenger's limits
// (PLATFORMS.md "FACEBOOK MESSENGER" §3): text under 2,000 characters per message, a button
// template (text ≤ 640, 1–3 buttons, titles ≤ 20, payload ≤ 1,000) and at most 13 quick replies
// (titles ≤ 20), which go on the last message only because they vanish after the next one.
import type { LinkButton, Reply, ReplyButton } from '../channel.js';

/** Messenger's plain-text limit is 2,000; stay a little below it, as Salesforce does (1,994). */
export const MESSENGER_TEXT_MAX = 1990;
export const MESSENGER_TEMPLATE_TEXT_MAX = 640;
export const MESSENGER_BUTTONS_MAX = 3;
export const MESSENGER_QUICK_REPLIES_MAX = 13;
export const MESSENGER_TITLE_MAX = 20;
export const MESSENGER_PAYLOAD_MAX = 1000;

/**
 * Shown above buttons when the engine sent buttons without text: the template requires text.
 * Kept here rather than in intents/messages.yaml because it is a platform artefact.
 */
const EMPTY_TEMPLATE_TEXT = 'Mời chọn:';

export type MessengerMessagingType = 'RESPONSE' | 'UPDATE';

export interface MessengerPostbackButton {
  type: 'postback';
  title: string;
  payload: string;
}

export interface MessengerUrlButton {
  type: 'web_url';
  title: string;
  url: string;
}

export type MessengerButton = MessengerPostbackButton | MessengerUrlButton;

export interface MessengerQuickReply {
  content_type: 'text';
  title: string;
  payload: string;
}

export interface MessengerButtonTemplate {
  type: 'template';
  payload: { template_type: 'button'; text: string; buttons: MessengerButton[] };
}

export type MessengerMessage =
  | { text: string; quick_replies?: MessengerQuickReply[] }
  | { attachment: MessengerButtonTemplate; quick_replies?: MessengerQuickReply[] };

/** One POST body for /me/messages. */
export interface MessengerSendBody {
  recipient: { id: string };
  messaging_type: MessengerMessagingType;
  message: MessengerMessage;
}

/** The bodies to send, in order. Empty when the reply has nothing to show. */
export function renderMessengerReply(reply: Reply, psid: string, messagingType: MessengerMessagingType): MessengerSendBody[] {
  const postbacks = reply.buttons.filter(fitsPayload);
  const links = reply.links;
  let text = reply.text.normalize('NFC').trim();

  // 1–3 buttons in all fit one template; beyond that, payload buttons become quick replies and
  // links (which quick replies cannot carry) keep the template; links past 3 go into the text.
  let templateButtons: MessengerButton[];
  let overflowQuickReplies: ReplyButton[] = [];
  if (postbacks.length + links.length <= MESSENGER_BUTTONS_MAX) {
    templateButtons = [...postbacks.map(postbackButton), ...links.map(urlButton)];
  } else {
    overflowQuickReplies = postbacks;
    templateButtons = links.slice(0, MESSENGER_BUTTONS_MAX).map(urlButton);
    const extraLinks = links.slice(MESSENGER_BUTTONS_MAX);
    if (extraLinks.length > 0) text = [text, ...extraLinks.map(linkLine)].filter((part) => part !== '').join('\n');
  }
  const quickReplies = buildQuickReplies([...overflowQuickReplies, ...reply.quickReplies]);

  const messages: MessengerMessage[] = [];
  if (templateButtons.length > 0) {
    const chunks = splitMessengerText(text === '' ? EMPTY_TEMPLATE_TEXT : text, MESSENGER_TEXT_MAX);
    const last = chunks.pop() ?? EMPTY_TEMPLATE_TEXT;
    const tail = splitMessengerText(last, MESSENGER_TEMPLATE_TEXT_MAX);
    const templateText = tail.pop() ?? EMPTY_TEMPLATE_TEXT;
    for (const chunk of [...chunks, ...tail]) messages.push({ text: chunk });
    messages.push({
      attachment: { type: 'template', payload: { template_type: 'button', text: templateText, buttons: templateButtons } },
    });
  } else if (text !== '') {
    for (const chunk of splitMessengerText(text, MESSENGER_TEXT_MAX)) messages.push({ text: chunk });
  } else if (quickReplies.length > 0) {
    messages.push({ text: EMPTY_TEMPLATE_TEXT });
  }

  const lastMessage = messages.at(-1);
  if (lastMessage && quickReplies.length > 0) lastMessage.quick_replies = quickReplies;
  return messages.map((message) => ({ recipient: { id: psid }, messaging_type: messagingType, message }));
}

/** A payload over Messenger's limit would make Graph reject the whole message: drop the button. */
function fitsPayload(button: ReplyButton): boolean {
  return button.payload.length <= MESSENGER_PAYLOAD_MAX;
}

function postbackButton(button: ReplyButton): MessengerPostbackButton {
  return { type: 'postback', title: shortenTitle(button.title), payload: button.payload };
}

function urlButton(link: LinkButton): MessengerUrlButton {
  return { type: 'web_url', title: shortenTitle(link.title), url: link.url };
}

function linkLine(link: LinkButton): string {
  return `${link.title.normalize('NFC')}: ${link.url}`;
}

function buildQuickReplies(buttons: ReplyButton[]): MessengerQuickReply[] {
  const seen = new Set<string>();
  const result: MessengerQuickReply[] = [];
  for (const button of buttons) {
    if (!fitsPayload(button) || seen.has(button.payload)) continue;
    seen.add(button.payload);
    result.push({ content_type: 'text', title: shortenTitle(button.title), payload: button.payload });
    if (result.length === MESSENGER_QUICK_REPLIES_MAX) break;
  }
  return result;
}

/**
 * A title of at most `max` characters (code points): whole words followed by "…" where
 * possible, a hard cut only when the first word alone is too long.
 */
export function shortenTitle(title: string, max: number = MESSENGER_TITLE_MAX): string {
  const clean = title.normalize('NFC').replace(/\s+/g, ' ').trim();
  const chars = Array.from(clean);
  if (chars.length <= max) return clean;
  // A space at position max-1 still leaves room for the ellipsis after the word before it.
  const room = chars.slice(0, max).join('');
  const lastSpace = room.lastIndexOf(' ');
  const cut = lastSpace > 0 ? room.slice(0, lastSpace) : chars.slice(0, max - 1).join('');
  return `${cut.replace(/[\s,;:.\-–(]+$/u, '')}…`;
}

/**
 * Splits text into pieces of at most `max` UTF-16 units (never more characters than Messenger
 * counts), preferring a paragraph break, then a line break, then a sentence end, then a space;
 * a word is cut only when it alone exceeds the limit.
 */
export function splitMessengerText(text: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = text.trim();
  while (rest.length > max) {
    const at = breakPoint(rest, max);
    const piece = rest.slice(0, at).trimEnd();
    if (piece !== '') pieces.push(piece);
    rest = rest.slice(at).trimStart();
  }
  if (rest !== '') pieces.push(rest);
  return pieces;
}

/** Index to cut `text` at so that the head fits in `max`. */
function breakPoint(text: string, max: number): number {
  const window = text.slice(0, max + 1);
  // Structural breaks are worth taking only if they leave a reasonably full piece.
  const floor = Math.floor(max / 2);
  const paragraph = window.lastIndexOf('\n\n');
  if (paragraph >= floor) return paragraph;
  const line = window.lastIndexOf('\n');
  if (line >= floor) return line;
  const sentence = lastMatchEnd(window, /[.!?…;:](?=\s)/g);
  if (sentence >= floor && sentence <= max) return sentence;
  const space = window.lastIndexOf(' ');
  if (space > 0) return space;
  // One word longer than the limit: cut, but never between the halves of a surrogate pair.
  const code = text.charCodeAt(max - 1);
  return code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
}

function lastMatchEnd(text: string, pattern: RegExp): number {
  let end = -1;
  for (const match of text.matchAll(pattern)) end = match.index + match[0].length;
  return end;
}
