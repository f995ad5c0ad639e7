// Reply → Zalo OpenAPI v3 consultation (message/cs) bodies. Zalo's limits (PLATFORMS.md §7):
// text ≤ 2,000 characters, ≤ 5 buttons per message (oa.query.show / oa.query.hide carry a
// string the user "sends back" as user_send_text; oa.open.url carries {url}). Buttons and an
// image cannot share a message. Zalo has no quick replies, so they become buttons too; when the
// reply has more than 5 choices the text gets a numbered list of all of them and the first ones
// stay tappable.
import type { Reply } from '../channel.js';

export const ZALO_MAX_TEXT = 2000;
export const ZALO_MAX_BUTTONS = 5;
/** The title limit is assumed (about 100); titles are budgeted at 50 so they fit on a phone. */
export const ZALO_MAX_BUTTON_TITLE = 50;

export type ZaloQueryButton = { title: string; type: 'oa.query.show' | 'oa.query.hide'; payload: string };
export type ZaloUrlButton = { title: string; type: 'oa.open.url'; payload: { url: string } };
export type ZaloButton = ZaloQueryButton | ZaloUrlButton;

export interface ZaloCsBody {
  recipient: { user_id: string };
  message: {
    text: string;
    attachment?: { type: 'template'; payload: { buttons: ZaloButton[] } };
  };
}

function shortTitle(title: string): string {
  const chars = Array.from(title.normalize('NFC').replace(/\s+/g, ' ').trim());
  if (chars.length <= ZALO_MAX_BUTTON_TITLE) return chars.join('');
  return `${chars.slice(0, ZALO_MAX_BUTTON_TITLE - 1).join('').trimEnd()}…`;
}

/** Payload choices in the order the engine gave them: buttons first, then quick replies. */
function choicesOf(reply: Reply): { title: string; payload: string }[] {
  const seen = new Set<string>();
  const out: { title: string; payload: string }[] = [];
  for (const b of [...reply.buttons, ...reply.quickReplies]) {
    if (seen.has(b.payload)) continue;
    seen.add(b.payload);
    out.push(b);
  }
  return out;
}

/**
 * When a reply has more than 5 tappable items, the payloads in the order of the numbered list
 * renderZaloReply appends ("1." is the first); null when no list is added. The caller may
 * store them so that a typed "2" can be mapped back to its payload.
 */
export function zaloNumberedChoices(reply: Reply): string[] | null {
  const choices = choicesOf(reply);
  if (choices.length + reply.links.length <= ZALO_MAX_BUTTONS) return null;
  return choices.map((c) => c.payload);
}

/** Splits text into pieces of at most `max` UTF-16 units, at paragraph, line or word breaks. */
export function splitZaloText(text: string, max: number = ZALO_MAX_TEXT): string[] {
  const pieces: string[] = [];
  let rest = text.trim();
  while (rest.length > max) {
    const window = rest.slice(0, max + 1);
    let cut = -1;
    for (const sep of ['\n\n', '\n', ' ']) {
      const at = window.lastIndexOf(sep);
      if (at > max / 2) {
        cut = at;
        break;
      }
    }
    if (cut <= 0) {
      cut = max;
      // Never cut a surrogate pair in half.
      const code = rest.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
    }
    const head = rest.slice(0, cut).trimEnd();
    if (head.length > 0) pieces.push(head);
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0) pieces.push(rest);
  return pieces;
}

/** One engine reply as the message/cs bodies to send in order (buttons on the last one). */
export function renderZaloReply(reply: Reply, userId: string): ZaloCsBody[] {
  const choices = choicesOf(reply);
  const links = reply.links;
  const overflow = choices.length + links.length > ZALO_MAX_BUTTONS;

  // Links cannot be typed back, so they keep their buttons; extra links go into the text.
  const linkButtons = links.slice(0, ZALO_MAX_BUTTONS);
  const textLinks = links.slice(ZALO_MAX_BUTTONS);
  const choiceButtons = choices.slice(0, ZALO_MAX_BUTTONS - linkButtons.length);

  const buttons: ZaloButton[] = [
    // "hide" keeps our machine payload out of the visible chat; the webhook still receives it.
    ...choiceButtons.map((c): ZaloButton => ({ title: shortTitle(c.title), type: 'oa.query.hide', payload: c.payload })),
    ...linkButtons.map((l): ZaloButton => ({ title: shortTitle(l.title), type: 'oa.open.url', payload: { url: l.url } })),
  ];

  const parts: string[] = [];
  const main = reply.text.normalize('NFC').trim();
  if (main) parts.push(main);
  if (overflow && choices.length > 0) {
    parts.push(choices.map((c, i) => `${i + 1}. ${c.title.normalize('NFC').trim()}`).join('\n'));
  }
  if (textLinks.length > 0) parts.push(textLinks.map((l) => `${l.title.normalize('NFC').trim()}: ${l.url}`).join('\n'));
  // Zalo needs a text with its buttons: without one, the button titles stand in.
  if (parts.length === 0 && buttons.length > 0) parts.push(buttons.map((b) => b.title).join('\n'));

  const chunks = splitZaloText(parts.join('\n\n'));
  return chunks.map((text, i): ZaloCsBody => {
    const isLast = i === chunks.length - 1;
    return {
      recipient: { user_id: userId },
      message: isLast && buttons.length > 0 ? { text, attachment: { type: 'template', payload: { buttons } } } : { text },
    };
  });
}
