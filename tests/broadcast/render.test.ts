import { describe, expect, it } from 'vitest';
import { bodySignature, heldReply, previewAnnouncement, renderAnnouncement, type ZaloPromotionBody } from '../../src/broadcast/render.js';

const base = { title: 'Lịch tiếp công dân', body: 'Chủ tịch UBND xã tiếp công dân sáng thứ Năm.', linkUrl: null, imageUrl: null };
const chars = (s: string): number => Array.from(s).length;

describe('renderAnnouncement', () => {
  it('Messenger: one UPDATE text message with the title and the body', () => {
    const bodies = renderAnnouncement('messenger', base, '7001');
    expect(bodies).toEqual([{ recipient: { id: '7001' }, messaging_type: 'UPDATE', message: { text: 'Lịch tiếp công dân\n\nChủ tịch UBND xã tiếp công dân sáng thứ Năm.' } }]);
  });

  it('Messenger: the image first, the link as a web_url button of a button template', () => {
    const bodies = renderAnnouncement('messenger', { ...base, linkUrl: 'https://xa.gov.vn/tb/1', imageUrl: 'https://xa.gov.vn/a.jpg' }, '7001');
    expect(bodies).toHaveLength(2);
    expect(bodies[0]).toEqual({ recipient: { id: '7001' }, messaging_type: 'UPDATE', message: { attachment: { type: 'image', payload: { url: 'https://xa.gov.vn/a.jpg', is_reusable: true } } } });
    expect(bodies[1]).toMatchObject({
      messaging_type: 'UPDATE',
      message: { attachment: { type: 'template', payload: { template_type: 'button', buttons: [{ type: 'web_url', title: 'Xem chi tiết', url: 'https://xa.gov.vn/tb/1' }] } } },
    });
  });

  it('Messenger: a long body is split below 2,000 characters and the button text stays within 640', () => {
    const body = Array.from({ length: 40 }, (_, i) => `Đoạn ${i + 1}: người dân mang theo căn cước và hồ sơ đầy đủ khi đến Bộ phận Một cửa.`).join('\n');
    const bodies = renderAnnouncement('messenger', { ...base, body, linkUrl: 'https://xa.gov.vn/tb/2' }, '7001');
    expect(bodies.length).toBeGreaterThanOrEqual(3);
    for (const b of bodies.slice(0, -1)) {
      const m = b.message as { text: string };
      expect(chars(m.text)).toBeLessThanOrEqual(2000);
    }
    const last = bodies.at(-1)?.message as { attachment: { payload: { text: string } } };
    expect(chars(last.attachment.payload.text)).toBeLessThanOrEqual(640);
    // Nothing is lost: every paragraph appears once.
    const all = bodies.map((b) => bodySignature(b)).join('\n');
    for (let i = 1; i <= 40; i++) expect(all).toContain(`Đoạn ${i}:`);
  });

  it('Zalo: one promotion with banner, header, text blocks and an oa.open.url button', () => {
    const [body] = renderAnnouncement('zalo', { ...base, body: 'Dòng một\nDòng hai', linkUrl: 'https://xa.gov.vn/tb/1', imageUrl: 'https://xa.gov.vn/a.jpg' }, '8001');
    expect(body).toEqual({
      recipient: { user_id: '8001' },
      message: {
        attachment: {
          type: 'template',
          payload: {
            template_type: 'promotion',
            elements: [
              { type: 'banner', image_url: 'https://xa.gov.vn/a.jpg' },
              { type: 'header', content: 'Lịch tiếp công dân', align: 'left' },
              { type: 'text', content: 'Dòng một<br>Dòng hai', align: 'left' },
            ],
            buttons: [{ title: 'Xem chi tiết', type: 'oa.open.url', payload: { url: 'https://xa.gov.vn/tb/1' } }],
          },
        },
      },
    });
  });

  it('Zalo: the header is cut at 100 characters and a long body becomes blocks of at most 1,000', () => {
    const title = 'Thông báo '.repeat(12).trim();
    const body = 'Người dân chuẩn bị hồ sơ. '.repeat(80);
    const [b] = renderAnnouncement('zalo', { ...base, title, body }, '8001') as ZaloPromotionBody[];
    const elements = b?.message.attachment.payload.elements ?? [];
    const header = elements.find((e) => e.type === 'header');
    expect(header && 'content' in header ? chars(header.content) : 0).toBe(100);
    expect(header && 'content' in header ? header.content.endsWith('…') : false).toBe(true);
    const texts = elements.filter((e) => e.type === 'text');
    expect(texts.length).toBe(3);
    for (const t of texts) expect('content' in t ? chars(t.content) : 0).toBeLessThanOrEqual(1000);
  });

  it('gives each body the signature a conversation history shows', () => {
    const m = renderAnnouncement('messenger', { ...base, linkUrl: 'https://xa.gov.vn/x', imageUrl: 'https://xa.gov.vn/a.jpg' }, '1');
    expect(m.map(bodySignature)).toEqual(['', 'Lịch tiếp công dân\n\nChủ tịch UBND xã tiếp công dân sáng thứ Năm.']);
    expect(bodySignature(renderAnnouncement('zalo', base, '1')[0])).toBe('Lịch tiếp công dân');
  });
});

describe('previewAnnouncement and heldReply', () => {
  it('says per platform what the citizen sees and who receives it', () => {
    const m = previewAnnouncement('messenger', { ...base, linkUrl: 'https://xa.gov.vn/x', imageUrl: 'https://xa.gov.vn/a.jpg', holdDays: 7 });
    expect(m.parts[0]).toBe('[Hình ảnh] https://xa.gov.vn/a.jpg');
    expect(m.parts[1]).toContain('[Nút “Xem chi tiết” → https://xa.gov.vn/x]');
    expect(m.notes.join(' ')).toContain('24 giờ');
    expect(m.notes.join(' ')).toContain('7 ngày');
    expect(m.truncated).toBe(false);

    const z = previewAnnouncement('zalo', { ...base, title: 'Đ'.repeat(120) });
    expect(z.truncated).toBe(true);
    expect(z.notes.join(' ')).toContain('06:00 đến 21:59');

    const w = previewAnnouncement('web', { ...base, holdDays: 3 });
    expect(w.parts[0]).toBe('Lịch tiếp công dân\n\nChủ tịch UBND xã tiếp công dân sáng thứ Năm.');
    expect(w.notes[0]).toContain('3 ngày');
  });

  it('introduces a held announcement with its day in Vietnam', () => {
    const r = heldReply({ ...base, imageUrl: 'https://xa.gov.vn/a.jpg', startedAt: new Date('2026-03-09T18:00:00Z'), createdAt: new Date('2026-03-01T00:00:00Z') });
    expect(r.text.split('\n')[0]).toBe('Thông báo ngày 10/03/2026:');
    expect(r.links).toEqual([{ title: 'Xem hình ảnh', url: 'https://xa.gov.vn/a.jpg' }]);
    expect(r.text.normalize('NFC')).toBe(r.text);
  });
});
