import { describe, expect, it } from 'vitest';
import { Reply } from '../../../src/channels/channel.js';
import {
  MESSENGER_TEMPLATE_TEXT_MAX,
  MESSENGER_TEXT_MAX,
  renderMessengerReply,
  shortenTitle,
  splitMessengerText,
  type MessengerMessage,
} from '../../../src/channels/messenger/render.js';

const PSID = '1423587017700273';
const reply = (input: Record<string, unknown>) => Reply.parse(input);
const chars = (s: string) => Array.from(s).length;
const textOf = (m: MessengerMessage) => ('text' in m ? m.text : m.attachment.payload.text);

const SENTENCE = 'Hồ sơ gồm tờ khai đăng ký khai sinh theo mẫu và giấy chứng sinh do cơ sở y tế cấp. ';

describe('renderMessengerReply: text', () => {
  it('a short text is one message with recipient and messaging type', () => {
    expect(renderMessengerReply(reply({ text: 'Xin chào' }), PSID, 'RESPONSE')).toEqual([
      { recipient: { id: PSID }, messaging_type: 'RESPONSE', message: { text: 'Xin chào' } },
    ]);
    expect(renderMessengerReply(reply({ text: 'Thông báo' }), PSID, 'UPDATE')[0]?.messaging_type).toBe('UPDATE');
  });

  it('normalises to NFC', () => {
    const [body] = renderMessengerReply(reply({ text: 'Lệ phí'.normalize('NFD') }), PSID, 'RESPONSE');
    expect(body?.message).toEqual({ text: 'Lệ phí' });
  });

  it('splits long text below 2,000 characters at sentence ends, losing nothing', () => {
    const text = SENTENCE.repeat(60).trim(); // ~5,000 characters, no line breaks
    const bodies = renderMessengerReply(reply({ text }), PSID, 'RESPONSE');
    expect(bodies.length).toBe(3);
    for (const body of bodies) {
      const t = textOf(body.message);
      expect(t.length).toBeLessThan(2000);
      expect(t.length).toBeLessThanOrEqual(MESSENGER_TEXT_MAX);
      expect(t.endsWith('.')).toBe(true);
    }
    expect(bodies.map((b) => textOf(b.message)).join(' ')).toBe(text);
  });

  it('prefers paragraph and line breaks', () => {
    const para = 'a'.repeat(1200);
    const pieces = splitMessengerText(`${para}\n\n${para}\n${para}`, MESSENGER_TEXT_MAX);
    expect(pieces).toEqual([para, para, para]);
  });

  it('never cuts a word when a space exists, cuts only an over-long word', () => {
    const words = Array.from({ length: 500 }, (_, i) => `từ${i}`).join(' ');
    for (const piece of splitMessengerText(words, 100)) {
      expect(piece.length).toBeLessThanOrEqual(100);
      expect(piece).toMatch(/^từ\d+( từ\d+)*$/);
    }
    const long = 'x'.repeat(250);
    expect(splitMessengerText(long, 100)).toEqual(['x'.repeat(100), 'x'.repeat(100), 'x'.repeat(50)]);
    // A surrogate pair at the cut is kept whole.
    const emoji = `${'x'.repeat(99)}😀${'y'.repeat(10)}`;
    expect(splitMessengerText(emoji, 100).join('')).toBe(emoji);
    expect(splitMessengerText(emoji, 100)[0]).toBe('x'.repeat(99));
  });
});

describe('renderMessengerReply: buttons', () => {
  const buttons = (n: number) => Array.from({ length: n }, (_, i) => ({ title: `Mục ${i + 1}`, payload: `mc:docs:1.00${i}` }));

  it('1–3 buttons become a button template of postback buttons', () => {
    const [body, ...rest] = renderMessengerReply(reply({ text: 'Đăng ký khai sinh', buttons: buttons(3) }), PSID, 'RESPONSE');
    expect(rest).toEqual([]);
    expect(body?.message).toEqual({
      attachment: {
        type: 'template',
        payload: {
          template_type: 'button',
          text: 'Đăng ký khai sinh',
          buttons: buttons(3).map((b) => ({ type: 'postback', ...b })),
        },
      },
    });
  });

  it('links become web_url buttons, sharing the 3 places with postbacks', () => {
    const [body] = renderMessengerReply(
      reply({ text: 'Nộp trực tuyến', buttons: buttons(1), links: [{ title: 'Cổng dịch vụ công', url: 'https://dichvucong.gov.vn/p/1' }] }),
      PSID,
      'RESPONSE',
    );
    if (!body || !('attachment' in body.message)) throw new Error('expected a template');
    expect(body.message.attachment.payload.buttons).toEqual([
      { type: 'postback', title: 'Mục 1', payload: 'mc:docs:1.000' },
      { type: 'web_url', title: 'Cổng dịch vụ công', url: 'https://dichvucong.gov.vn/p/1' },
    ]);
  });

  it('more than 3 buttons become quick replies on a text message', () => {
    const bodies = renderMessengerReply(reply({ text: 'Chọn thủ tục', buttons: buttons(5) }), PSID, 'RESPONSE');
    expect(bodies).toHaveLength(1);
    expect(bodies[0]?.message).toEqual({
      text: 'Chọn thủ tục',
      quick_replies: buttons(5).map((b) => ({ content_type: 'text', ...b })),
    });
  });

  it('more than 3 buttons with links: links keep a template, buttons go to quick replies, links past 3 go into the text', () => {
    const links = Array.from({ length: 4 }, (_, i) => ({ title: `Trang ${i + 1}`, url: `https://example.gov.vn/${i + 1}` }));
    const [body] = renderMessengerReply(reply({ text: 'Tài liệu', buttons: buttons(2), links }), PSID, 'RESPONSE');
    if (!body || !('attachment' in body.message)) throw new Error('expected a template');
    expect(body.message.attachment.payload.buttons.map((b) => b.type)).toEqual(['web_url', 'web_url', 'web_url']);
    expect(body.message.attachment.payload.text).toBe('Tài liệu\nTrang 4: https://example.gov.vn/4');
    expect(body.message.quick_replies?.map((q) => q.payload)).toEqual(['mc:docs:1.000', 'mc:docs:1.001']);
  });

  it('template text is at most 640 characters: the rest goes before it as plain text', () => {
    const text = SENTENCE.repeat(12).trim(); // ~1,000 characters
    const bodies = renderMessengerReply(reply({ text, buttons: buttons(2) }), PSID, 'RESPONSE');
    expect(bodies.length).toBe(2);
    const last = bodies.at(-1)?.message;
    if (!last || !('attachment' in last)) throw new Error('expected a template last');
    expect(chars(last.attachment.payload.text)).toBeLessThanOrEqual(MESSENGER_TEMPLATE_TEXT_MAX);
    expect(bodies.map((b) => textOf(b.message)).join(' ')).toBe(text);
  });

  it('a very long text with buttons: plain chunks under 2,000, then the template', () => {
    const text = SENTENCE.repeat(60).trim();
    const bodies = renderMessengerReply(reply({ text, buttons: buttons(1) }), PSID, 'RESPONSE');
    expect(bodies.slice(0, -1).every((b) => 'text' in b.message && b.message.text.length <= MESSENGER_TEXT_MAX)).toBe(true);
    const last = bodies.at(-1)?.message;
    expect(last && 'attachment' in last && last.attachment.payload.text.length <= 640).toBe(true);
    expect(bodies.map((b) => textOf(b.message)).join(' ')).toBe(text);
  });

  it('titles are shortened to 20 characters at a word boundary', () => {
    const [body] = renderMessengerReply(reply({ text: 'x', buttons: [{ title: 'Thành phần hồ sơ cần chuẩn bị', payload: 'mc:docs:1.1' }] }), PSID, 'RESPONSE');
    if (!body || !('attachment' in body.message)) throw new Error('expected a template');
    expect(body.message.attachment.payload.buttons[0]?.title).toBe('Thành phần hồ sơ…');
    expect(shortenTitle('Thủ tục hành chính cấp xã')).toBe('Thủ tục hành chính…');
    expect(shortenTitle('Nộp hồ sơ trực tuyến ngay')).toBe('Nộp hồ sơ trực…');
    // A 19-character prefix ending at a space keeps its last word.
    expect(shortenTitle('abcdefghi klmnopqrs tuv')).toBe('abcdefghi klmnopqrs…');
    expect(chars(shortenTitle('Thành phần hồ sơ cần chuẩn bị'))).toBeLessThanOrEqual(20);
    expect(shortenTitle('Giấy tờ, lệ phí và thời hạn')).toBe('Giấy tờ, lệ phí và…');
    expect(shortenTitle('Chứngthựcbảnsaotừbảnchính')).toBe(`${Array.from('Chứngthựcbảnsaotừbảnchính').slice(0, 19).join('')}…`);
    expect(shortenTitle('Lệ phí')).toBe('Lệ phí');
    expect(shortenTitle('12345678901234567890')).toBe('12345678901234567890');
  });

  it('payloads over 1,000 characters are dropped rather than breaking the message', () => {
    const [body] = renderMessengerReply(
      reply({ text: 'x', buttons: [{ title: 'Dài', payload: `mc:${'a'.repeat(1000)}` }, { title: 'Ngắn', payload: 'mc:menu' }] }),
      PSID,
      'RESPONSE',
    );
    if (!body || !('attachment' in body.message)) throw new Error('expected a template');
    expect(body.message.attachment.payload.buttons).toEqual([{ type: 'postback', title: 'Ngắn', payload: 'mc:menu' }]);
  });

  it('a template with no text still carries text (Messenger requires it)', () => {
    const [body] = renderMessengerReply(reply({ text: '', buttons: buttons(1) }), PSID, 'RESPONSE');
    expect(body && 'attachment' in body.message && body.message.attachment.payload.text.length > 0).toBe(true);
  });
});

describe('renderMessengerReply: quick replies', () => {
  const qr = (n: number) => Array.from({ length: n }, (_, i) => ({ title: `Lựa chọn số ${i + 1} rất dài`, payload: `mc:pick:1.${i}` }));

  it('go on the last message only', () => {
    const bodies = renderMessengerReply(reply({ text: SENTENCE.repeat(60), quickReplies: qr(2) }), PSID, 'RESPONSE');
    expect(bodies.length).toBeGreaterThan(1);
    expect(bodies.slice(0, -1).every((b) => b.message.quick_replies === undefined)).toBe(true);
    expect(bodies.at(-1)?.message.quick_replies).toHaveLength(2);
  });

  it('ride along with a button template', () => {
    const bodies = renderMessengerReply(reply({ text: 'x', buttons: [{ title: 'A', payload: 'mc:menu' }], quickReplies: qr(1) }), PSID, 'RESPONSE');
    expect(bodies).toHaveLength(1);
    expect(bodies[0]?.message).toMatchObject({ attachment: { type: 'template' }, quick_replies: [{ content_type: 'text', payload: 'mc:pick:1.0' }] });
  });

  it('at most 13, titles at most 20 characters, duplicates removed, overflow buttons first', () => {
    const [body] = renderMessengerReply(reply({ text: 'Chọn', buttons: [{ title: 'Đầu', payload: 'mc:pick:1.0' }, ...qr(4).slice(1)], quickReplies: qr(15) }), PSID, 'RESPONSE');
    const quick = body?.message.quick_replies ?? [];
    expect(quick).toHaveLength(13);
    expect(quick[0]).toEqual({ content_type: 'text', title: 'Đầu', payload: 'mc:pick:1.0' });
    expect(new Set(quick.map((q) => q.payload)).size).toBe(13);
    expect(quick.every((q) => chars(q.title) <= 20)).toBe(true);
  });

  it('quick replies with no text still get a text message', () => {
    const bodies = renderMessengerReply(reply({ text: '', quickReplies: qr(1) }), PSID, 'RESPONSE');
    expect(bodies).toHaveLength(1);
    expect(bodies[0]?.message).toMatchObject({ quick_replies: [{ payload: 'mc:pick:1.0' }] });
    expect(textOf(bodies[0]!.message).length).toBeGreaterThan(0);
  });

  it('nothing to show renders nothing', () => {
    expect(renderMessengerReply(reply({ text: '  ' }), PSID, 'RESPONSE')).toEqual([]);
  });
});
