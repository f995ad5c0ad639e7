// The two history look-ups the sender reconciles with, against the fakes (which serve them from
// their logs of sent messages): Messenger's Conversations API and Zalo's /v2.0/oa/conversation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessengerClient } from '../../src/channels/messenger/send-client.js';
import { createZaloClient } from '../../src/channels/zalo/send-client.js';
import { renderAnnouncement } from '../../src/broadcast/render.js';
import { startFakeGraphServer, type FakeGraphServer } from '../fakes/graph-server.js';
import { startZaloFake, type ZaloFake } from '../fakes/zalo-server.js';

const content = { title: 'Lịch tiếp công dân', body: 'Sáng thứ Năm.', linkUrl: 'https://xa.gov.vn/tb/1', imageUrl: null };
let graph: FakeGraphServer;
let zalo: ZaloFake;
beforeAll(async () => {
  graph = await startFakeGraphServer({ tokens: { 'page-token-1': '1001' } });
  zalo = await startZaloFake({ appId: '1', appSecret: 'secret-secret' });
});
afterAll(async () => {
  await graph.close();
  await zalo.close();
});

describe('conversation history look-ups', () => {
  it('Messenger: finds the Page’s messages to a person with their time and text', async () => {
    const client = createMessengerClient({ graphUrl: graph.url, pageAccessToken: 'page-token-1' });
    graph.lastInteraction.set('7001', Date.now());
    expect(await client.recentMessages('1001', '7001')).toEqual({ kind: 'ok', messages: [] });
    const before = Date.now() - 1000;
    for (const body of renderAnnouncement('messenger', content, '7001')) expect((await client.send(body)).kind).toBe('sent');
    const found = await client.recentMessages('1001', '7001');
    if (found.kind !== 'ok') throw new Error(found.code);
    expect(found.messages).toHaveLength(1);
    expect(found.messages[0]).toMatchObject({ fromPage: true, text: 'Lịch tiếp công dân\n\nSáng thứ Năm.' });
    expect(found.messages[0]?.createdAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(found.messages[0]?.id).toBe(graph.sent()[0]?.messageId);
    // Another person's conversation is not mixed in.
    expect(await client.recentMessages('1001', '7002')).toEqual({ kind: 'ok', messages: [] });
  });

  it('Messenger: a refusal (no permission, bad token) is a code, not a throw', async () => {
    graph.denyConversations(true);
    const client = createMessengerClient({ graphUrl: graph.url, pageAccessToken: 'page-token-1' });
    expect(await client.recentMessages('1001', '7001')).toEqual({ kind: 'error', code: 'fb:10' });
    graph.denyConversations(false);
    const bad = createMessengerClient({ graphUrl: graph.url, pageAccessToken: 'revoked' });
    expect(await bad.recentMessages('1001', '7001')).toEqual({ kind: 'error', code: 'fb:190' });
  });

  it('Zalo: finds the OA’s promotion to a follower, newest first, showing its header', async () => {
    const grant = zalo.grant('2002');
    zalo.setUser('8001', { lastInteractionAt: Date.now(), following: true });
    const client = createZaloClient({ openapiUrl: zalo.url, getAccessToken: async () => grant.accessToken });
    expect(await client.recentMessages('8001')).toEqual({ kind: 'ok', messages: [] });
    const [promotion] = renderAnnouncement('zalo', content, '8001');
    const now = new Date();
    const hour = new Date(now.getTime() + 7 * 3_600_000).getUTCHours();
    if (hour < 6 || hour >= 22) zalo.setNow(Date.parse('2026-03-15T03:00:00Z'));
    expect((await client.sendPromotion(promotion)).kind).toBe('sent');
    expect((await client.sendCs({ recipient: { user_id: '8001' }, message: { text: 'Dạ, em xin trả lời…' } })).kind).toBe('sent');
    const found = await client.recentMessages('8001');
    if (found.kind !== 'ok') throw new Error(found.code);
    expect(found.messages.map((m) => [m.fromOa, m.text])).toEqual([
      [true, 'Dạ, em xin trả lời…'],
      [true, 'Lịch tiếp công dân'],
    ]);
    expect(found.messages[1]?.id).toBe(zalo.sent.find((s) => s.endpoint === 'promotion')?.messageId);
    zalo.failNext('conversation', -223);
    expect(await client.recentMessages('8001')).toEqual({ kind: 'error', code: '-223' });
  });
});
