import { describe, expect, it } from 'vitest';
import type { Reply } from '../../../src/channels/channel.js';
import {
  renderZaloReply,
  splitZaloText,
  zaloNumberedChoices,
  ZALO_MAX_BUTTON_TITLE,
  ZALO_MAX_TEXT,
} from '../../../src/channels/zalo/render.js';

const USER = '4339761418830368433';

function reply(text: string, extra: Partial<Omit<Reply, 'text'>> = {}): Reply {
  return { text, buttons: extra.buttons ?? [], quickReplies: extra.quickReplies ?? [], links: extra.links ?? [] };
}

describe('renderZaloReply', () => {
  it('sends plain text as one cs body addressed to the user id string', () => {
    expect(renderZaloReply(reply('Xin chào'), USER)).toEqual([{ recipient: { user_id: USER }, message: { text: 'Xin chào' } }]);
  });

  it('renders buttons as oa.query.hide carrying our payload, links as oa.open.url', () => {
    const [body] = renderZaloReply(
      reply('Thủ tục đăng ký khai sinh', {
        buttons: [{ title: 'Giấy tờ cần nộp', payload: 'mc:docs:1.001193' }],
        quickReplies: [{ title: 'Lệ phí', payload: 'mc:fee:1.001193' }],
        links: [{ title: 'Nộp trực tuyến', url: 'https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=1.001193' }],
      }),
      USER,
    );
    expect(body?.message.text).toBe('Thủ tục đăng ký khai sinh');
    expect(body?.message.attachment).toEqual({
      type: 'template',
      payload: {
        buttons: [
          { title: 'Giấy tờ cần nộp', type: 'oa.query.hide', payload: 'mc:docs:1.001193' },
          { title: 'Lệ phí', type: 'oa.query.hide', payload: 'mc:fee:1.001193' },
          {
            title: 'Nộp trực tuyến',
            type: 'oa.open.url',
            payload: { url: 'https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=1.001193' },
          },
        ],
      },
    });
    expect(zaloNumberedChoices(reply('x', { buttons: [{ title: 'a', payload: 'mc:menu' }] }))).toBeNull();
  });

  it('keeps exactly 5 items as buttons without a list', () => {
    const buttons = [1, 2, 3, 4, 5].map((n) => ({ title: `Mục ${n}`, payload: `mc:pick:1.00${n}` }));
    const [body] = renderZaloReply(reply('Chọn', { buttons }), USER);
    expect(body?.message.text).toBe('Chọn');
    expect(body?.message.attachment?.payload.buttons).toHaveLength(5);
  });

  it('turns more than 5 choices into a numbered list in the text, the first 5 still tappable', () => {
    const buttons = [{ title: 'Liên hệ', payload: 'mc:contact' }, { title: 'Gặp cán bộ', payload: 'mc:handoff' }];
    const quickReplies = ['Khai sinh', 'Kết hôn', 'Khai tử', 'Chứng thực', 'Cư trú'].map((t, i) => ({ title: t, payload: `mc:pick:1.00${i}` }));
    const r = reply('Anh/chị cần hỏi về thủ tục nào?', { buttons, quickReplies });
    const bodies = renderZaloReply(r, USER);
    expect(bodies).toHaveLength(1);
    const text = bodies[0]?.message.text ?? '';
    expect(text).toBe(
      'Anh/chị cần hỏi về thủ tục nào?\n\n1. Liên hệ\n2. Gặp cán bộ\n3. Khai sinh\n4. Kết hôn\n5. Khai tử\n6. Chứng thực\n7. Cư trú',
    );
    const shown = bodies[0]?.message.attachment?.payload.buttons ?? [];
    expect(shown.map((b) => b.payload)).toEqual(['mc:contact', 'mc:handoff', 'mc:pick:1.000', 'mc:pick:1.001', 'mc:pick:1.002']);
    expect(zaloNumberedChoices(r)).toEqual([...buttons, ...quickReplies].map((b) => b.payload));
  });

  it('keeps links as buttons when overflowing, and puts links beyond 5 in the text', () => {
    const links = [1, 2, 3, 4, 5, 6].map((n) => ({ title: `Biểu mẫu ${n}`, url: `https://example.gov.vn/${n}` }));
    const r = reply('Biểu mẫu', { buttons: [{ title: 'Gặp cán bộ', payload: 'mc:handoff' }], links });
    const [body] = renderZaloReply(r, USER);
    const shown = body?.message.attachment?.payload.buttons ?? [];
    expect(shown).toHaveLength(5);
    expect(shown.every((b) => b.type === 'oa.open.url')).toBe(true);
    expect(body?.message.text).toContain('1. Gặp cán bộ');
    expect(body?.message.text).toContain('Biểu mẫu 6: https://example.gov.vn/6');
  });

  it('shortens long button titles to the budget, keeping Vietnamese letters whole', () => {
    const title = 'Đăng ký khai sinh có yếu tố nước ngoài tại Ủy ban nhân dân cấp xã khu vực biên giới';
    const [body] = renderZaloReply(reply('x', { buttons: [{ title, payload: 'mc:pick:1.000' }] }), USER);
    const t = body?.message.attachment?.payload.buttons[0]?.title ?? '';
    expect(Array.from(t).length).toBeLessThanOrEqual(ZALO_MAX_BUTTON_TITLE);
    expect(t.endsWith('…')).toBe(true);
    expect(title.startsWith(t.slice(0, -1))).toBe(true);
  });

  it('splits text longer than 2,000 characters, buttons on the last piece only', () => {
    const para = 'Thành phần hồ sơ gồm tờ khai theo mẫu và giấy chứng sinh. '.repeat(30).trim();
    const long = [para, para, para].join('\n\n');
    expect(long.length).toBeGreaterThan(ZALO_MAX_TEXT * 2);
    const bodies = renderZaloReply(reply(long, { buttons: [{ title: 'Gặp cán bộ', payload: 'mc:handoff' }] }), USER);
    expect(bodies.length).toBeGreaterThanOrEqual(3);
    for (const b of bodies) expect(b.message.text.length).toBeLessThanOrEqual(ZALO_MAX_TEXT);
    expect(bodies.slice(0, -1).every((b) => b.message.attachment === undefined)).toBe(true);
    expect(bodies.at(-1)?.message.attachment?.payload.buttons).toHaveLength(1);
    // Nothing lost but the whitespace at the cuts.
    expect(bodies.map((b) => b.message.text).join('').replace(/\s/g, '')).toBe(long.replace(/\s/g, ''));
  });

  it('normalises text to NFC and sends nothing for an empty reply', () => {
    const [body] = renderZaloReply(reply('Thu\u0309 tu\u0323c'), USER);
    expect(body?.message.text).toBe('Thủ tục');
    expect(renderZaloReply(reply('  '), USER)).toEqual([]);
  });

  it('gives a button-only reply the titles as its text (Zalo requires a text)', () => {
    const [body] = renderZaloReply(reply('', { buttons: [{ title: 'Gặp cán bộ', payload: 'mc:handoff' }] }), USER);
    expect(body?.message.text).toBe('Gặp cán bộ');
  });
});

describe('splitZaloText', () => {
  it('cuts at the limit when no break exists and never splits a surrogate pair', () => {
    const s = 'a'.repeat(9) + '😀' + 'b'.repeat(5);
    const parts = splitZaloText(s, 10);
    expect(parts.join('')).toBe(s);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(10);
      // A lone surrogate does not survive a UTF-8 round trip.
      expect(Buffer.from(p, 'utf8').toString('utf8')).toBe(p);
    }
  });
  it('prefers a line break to a word break', () => {
    expect(splitZaloText('aaaa bbbb\ncccc dddd', 12)).toEqual(['aaaa bbbb', 'cccc dddd']);
  });
});
