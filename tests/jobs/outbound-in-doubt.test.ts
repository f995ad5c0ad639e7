// A reply left in doubt by a worker that died mid-send (issue #8): the outbound worker records
// each attempt in the job before sending, and a job that starts again with its attempt open asks
// the platform's conversation history before sending that message again
// (docs/decisions/009-reply-in-doubt.md). Real Redis and BullMQ; the platform is a fake send
// handler with a conversation log, or the fake Graph / Zalo servers through the real clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import {
  OutboundQueue,
  createOutboundWorker,
  historyText,
  readInDoubtCounts,
  type InDoubtVerdict,
  type OutboundHandlers,
  type OutboundJob,
  type OutboundResult,
} from '../../src/jobs/outbound-queue.js';
import type { SendOutcome } from '../../src/channels/platform-event.js';
import type { HistoryLookup, HistoryMessage } from '../../src/broadcast/sender.js';
import type { Reply } from '../../src/channels/channel.js';
import { renderMessengerReply } from '../../src/channels/messenger/render.js';
import { renderZaloReply } from '../../src/channels/zalo/render.js';
import { createMessengerClient, type MessengerOutgoingBody } from '../../src/channels/messenger/send-client.js';
import { createZaloClient } from '../../src/channels/zalo/send-client.js';
import type { ZaloCsBody } from '../../src/channels/zalo/render.js';
import { startFakeGraphServer, type FakeGraphServer } from '../fakes/graph-server.js';
import { startZaloFake, type ZaloFake } from '../fakes/zalo-server.js';
import { TEST_REDIS_URL, isolatedName, dropRedisPrefixes } from '../helpers/services.js';

const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
const prefixes: string[] = [];
let graph: FakeGraphServer;
let zalo: ZaloFake;
beforeAll(async () => {
  graph = await startFakeGraphServer({ tokens: { 'page-token-9': '9001' } });
  zalo = await startZaloFake({ appId: '9', appSecret: 'secret-in-doubt' });
});
afterAll(async () => {
  await dropRedisPrefixes(redis, prefixes);
  redis.disconnect();
  await graph.close();
  await zalo.close();
});

const waitFor = async (cond: () => boolean, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
};

const reply = (text: string, extra: Partial<Reply> = {}): Reply => ({ text, buttons: [], quickReplies: [], links: [], ...extra });
const PSID = '7300000000000001';
/** A two-message turn as the Messenger renderer makes it: a long text split in two. */
const turn = (): unknown[] => renderMessengerReply(reply(`Thủ tục đăng ký khai sinh\n\n${'Giấy tờ cần có: tờ khai, giấy chứng sinh. '.repeat(60)}`), PSID, 'RESPONSE');
const textOf = (body: unknown): string => {
  const t = historyText(body);
  return t.kind === 'text' ? t.text : `<${t.kind}>`;
};

/**
 * A platform as the worker sees it: sends land in a conversation log (ours, with their time),
 * `script` may make a send fail (after or before the platform accepted it), `history` may answer
 * an error or throw.
 */
function harness(opts: {
  script?: (body: unknown, n: number) => { accepted: boolean; outcome: SendOutcome } | undefined;
  history?: () => HistoryLookup;
  lockDurationMs?: number;
  send?: OutboundHandlers['send'];
} = {}) {
  const prefix = isolatedName('doubt');
  prefixes.push(prefix);
  const conversation: HistoryMessage[] = [];
  const sent: string[] = [];
  const lookups: number[] = [];
  const verdicts: Array<[InDoubtVerdict, string | undefined]> = [];
  const results: OutboundResult[] = [];
  let n = 0;
  const accept = (body: unknown): string => {
    const id = `mid.${conversation.length + 1}`;
    conversation.push({ at: new Date(), fromUs: true, text: textOf(body), id });
    sent.push(textOf(body));
    return id;
  };
  const handlers: OutboundHandlers = {
    send:
      opts.send ??
      (async (_job, body) => {
        const scripted = opts.script?.(body, n++);
        if (scripted) {
          if (scripted.accepted) accept(body);
          return scripted.outcome;
        }
        return { kind: 'sent', messageId: accept(body) };
      }),
    refreshToken: async () => undefined,
    markUnreachable: async () => undefined,
    pauseAccount: async () => undefined,
    accountBlocked: async () => null,
    onResult: (_job, result) => results.push(result),
    recentMessages: async () => {
      lookups.push(Date.now());
      // Newest first, as both platforms list them.
      return opts.history ? opts.history() : { kind: 'ok', messages: [...conversation].reverse() };
    },
    onInDoubt: (_job, verdict, code) => verdicts.push([verdict, code]),
  };
  const queue = new OutboundQueue(redis, prefix);
  const start = (h: OutboundHandlers = handlers) =>
    createOutboundWorker({ redis, prefix, handlers: h, concurrency: 1, ...(opts.lockDurationMs ? { lockDurationMs: opts.lockDurationMs } : {}) });
  return { prefix, queue, start, handlers, conversation, sent, lookups, verdicts, results, accept };
}

const replyJob = (bodies: unknown[], extra: Partial<OutboundJob> = {}): OutboundJob => ({
  kind: 'reply',
  platform: 'messenger',
  accountId: 1,
  userId: PSID,
  bodies,
  sent: 0,
  refreshed: false,
  ...extra,
});

describe('a reply in doubt', () => {
  it('is not sent again when the history shows it arrived after the attempt began; the next message is sent', async () => {
    const h = harness();
    const bodies = turn();
    expect(bodies).toHaveLength(2);
    // The dead worker's attempt at the first message, and the platform's copy of it.
    const at = Date.now() - 3000;
    h.conversation.push({ at: new Date(at + 40), fromUs: true, text: textOf(bodies[0]), id: 'mid.dead' });
    await h.queue.add(replyJob(bodies, { attempt: { index: 0, at } }), 'reply-doubt-1');
    const worker = h.start();
    await waitFor(() => h.results.length === 1);
    expect(h.sent).toEqual([textOf(bodies[1])]);
    expect(h.lookups).toHaveLength(1);
    expect(h.verdicts).toEqual([['delivered', undefined]]);
    expect(h.results[0]).toEqual({ status: 'sent', messageIds: ['mid.dead', 'mid.2'] });
    const done = await h.queue.replies.getJob('reply-doubt-1');
    expect(done?.data).toMatchObject({ sent: 2 });
    expect(done?.data.attempt).toBeUndefined();
    // Counted for metrics across worker processes.
    expect(await readInDoubtCounts(redis, h.prefix)).toEqual({ delivered: 1, absent: 0, unreadable: 0, unverifiable: 0 });
    await worker.close();
    await h.queue.close();
  });

  it('is sent once when the history does not show it (nothing, an older copy, or the citizen’s own words)', async () => {
    const h = harness();
    const bodies = turn();
    const at = Date.now() - 3000;
    // The same text sent long before the attempt (an earlier turn), and the citizen quoting it.
    h.conversation.push({ at: new Date(at - 60_000), fromUs: true, text: textOf(bodies[1]), id: 'mid.old' });
    h.conversation.push({ at: new Date(at + 10), fromUs: false, text: textOf(bodies[1]), id: 'mid.user' });
    await h.queue.add(replyJob(bodies, { sent: 1, attempt: { index: 1, at } }));
    const worker = h.start();
    await waitFor(() => h.results.length === 1);
    expect(h.sent).toEqual([textOf(bodies[1])]);
    expect(h.lookups).toHaveLength(1);
    expect(h.verdicts).toEqual([['absent', undefined]]);
    await worker.close();
    await h.queue.close();
  });

  it('is sent again, with a warning, when the history cannot be read (a lost reply is worse than a repeated one)', async () => {
    const unreadable: Array<[() => HistoryLookup, string]> = [
      [() => ({ kind: 'error', code: 'fb:10' }), 'fb:10'],
      [
        () => {
          throw new Error('socket hang up');
        },
        'exception',
      ],
    ];
    for (const [history, code] of unreadable) {
      const h = harness({ history });
      const bodies = turn();
      await h.queue.add(replyJob(bodies, { attempt: { index: 0, at: Date.now() - 3000 } }));
      const worker = h.start();
      await waitFor(() => h.results.length === 1);
      expect(h.sent).toEqual(bodies.map(textOf));
      expect(h.lookups).toHaveLength(1);
      expect(h.verdicts).toEqual([['unreadable', code]]);
      expect((await readInDoubtCounts(redis, h.prefix)).unreadable).toBe(1);
      await worker.close();
      await h.queue.close();
    }
  });

  it('is sent again without asking when its body has no text to look for (an image)', async () => {
    const h = harness();
    const image = { recipient: { id: PSID }, messaging_type: 'RESPONSE', message: { attachment: { type: 'image', payload: { url: 'https://xa.gov.vn/a.png' } } } };
    await h.queue.add(replyJob([image], { attempt: { index: 0, at: Date.now() - 3000 } }));
    const worker = h.start();
    await waitFor(() => h.results.length === 1);
    expect(h.sent).toEqual(['<none>']);
    expect(h.lookups).toHaveLength(0);
    expect(h.verdicts).toEqual([['unverifiable', 'none']]);
    await worker.close();
    await h.queue.close();
  });

  it('counts a copy of the same text sent earlier in the turn: only a further copy is the one in doubt', async () => {
    const h = harness();
    const [first] = turn();
    const bodies = [first, renderMessengerReply(reply('Anh/chị cần gì thêm ạ?'), PSID, 'RESPONSE')[0], first];
    const at = Date.now() - 2000;
    h.conversation.push({ at: new Date(at - 30), fromUs: true, text: textOf(first), id: 'mid.a' });
    h.conversation.push({ at: new Date(at - 20), fromUs: true, text: textOf(bodies[1]), id: 'mid.b' });
    await h.queue.add(replyJob(bodies, { sent: 2, attempt: { index: 2, at } }));
    const worker = h.start();
    await waitFor(() => h.results.length === 1);
    // Body 0's copy is inside the skew window, but it is body 0's: the third message is sent.
    expect(h.sent).toEqual([textOf(first)]);
    expect(h.verdicts).toEqual([['absent', undefined]]);
    await worker.close();
    await h.queue.close();
  });
});

describe('a normal run', () => {
  it('sends exactly what it sent before, records each attempt before its send and clears it after, and asks no history', async () => {
    const h = harness();
    const bodies = [...turn(), ...renderMessengerReply(reply('Mời chọn thủ tục', { quickReplies: [{ title: 'Khai sinh', payload: 'pick:1' }] }), PSID, 'RESPONSE')];
    const seen: unknown[] = [];
    const handlers: OutboundHandlers = {
      ...h.handlers,
      send: async (job, body) => {
        // What a worker dying now would leave behind: the attempt at this very message.
        seen.push((await h.queue.replies.getJob('reply-normal'))?.data.attempt);
        expect(job.attempt?.index).toBe(job.sent);
        return { kind: 'sent', messageId: h.accept(body) };
      },
    };
    await h.queue.add(replyJob(bodies), 'reply-normal');
    const worker = h.start(handlers);
    await waitFor(() => h.results.length === 1);
    expect(h.sent).toEqual(bodies.map(textOf));
    expect(seen.map((a) => (a as { index?: number } | undefined)?.index)).toEqual([0, 1, 2]);
    expect(h.lookups).toHaveLength(0);
    expect(h.verdicts).toEqual([]);
    expect(h.results[0]).toEqual({ status: 'sent', messageIds: ['mid.1', 'mid.2', 'mid.3'] });
    expect((await h.queue.replies.getJob('reply-normal'))?.data.attempt).toBeUndefined();
    await worker.close();
    await h.queue.close();
  });

  it('asks the history after an uncertain failure (a timeout after the platform accepted), not after a certain one (throttled)', async () => {
    const bodies = turn();
    // The first send times out although Graph accepted it: the retry finds it and sends only the second.
    const timedOut = harness({ script: (_b, n) => (n === 0 ? { accepted: true, outcome: { kind: 'retry', code: 'fb:timeout' } } : undefined) });
    await timedOut.queue.add(replyJob(bodies));
    let worker = timedOut.start();
    await waitFor(() => timedOut.results.length === 1);
    expect(timedOut.sent).toEqual(bodies.map(textOf));
    expect(timedOut.lookups).toHaveLength(1);
    expect(timedOut.verdicts).toEqual([['delivered', undefined]]);
    await worker.close();
    await timedOut.queue.close();

    // Throttled: nothing was sent, the retry sends at once without asking.
    const throttled = harness({ script: (_b, n) => (n === 0 ? { accepted: false, outcome: { kind: 'retry', code: 'fb:613', retryAfterMs: 50 } } : undefined) });
    await throttled.queue.add(replyJob(bodies));
    worker = throttled.start();
    await waitFor(() => throttled.results.length === 1);
    expect(throttled.sent).toEqual(bodies.map(textOf));
    expect(throttled.lookups).toHaveLength(0);
    await worker.close();
    await throttled.queue.close();
  });

  it('records no attempt for a body that is no platform message (a dossier notice settles its own doubt)', async () => {
    const h = harness();
    const attempts: unknown[] = [];
    await h.queue.add(replyJob([{ dossierNotice: 12 }]), 'reply-notice');
    const worker = h.start({
      ...h.handlers,
      send: async () => {
        attempts.push((await h.queue.replies.getJob('reply-notice'))?.data.attempt);
        return { kind: 'sent', messageId: null };
      },
    });
    await waitFor(() => h.results.length === 1);
    expect(attempts).toEqual([undefined]);
    await worker.close();
    await h.queue.close();
  });
});

describe('a worker that dies mid-send', () => {
  // The first worker's send never returns (as a worker SIGKILLed in the middle of it): its lock
  // lapses and a second worker takes the job over, as BullMQ's stalled check does in production.
  const crash = async (acceptedBeforeDeath: boolean) => {
    const h = harness({ lockDurationMs: 400 });
    const bodies = turn();
    let died!: () => void;
    const dead = new Promise<void>((r) => (died = r));
    const first = h.start({
      ...h.handlers,
      send: async (_job, body) => {
        if (acceptedBeforeDeath) h.accept(body);
        died();
        return new Promise<SendOutcome>(() => undefined);
      },
    });
    await h.queue.add(replyJob(bodies));
    await dead;
    await first.close(true);
    const second = h.start();
    await waitFor(() => h.results.length === 1);
    await second.close();
    await h.queue.close();
    return { sent: h.sent, lookups: h.lookups.length, verdicts: h.verdicts.map(([v]) => v), bodies };
  };

  it('after the platform accepted the message: the other worker finds it and sends only the rest', async () => {
    const r = await crash(true);
    expect(r.sent).toEqual(r.bodies.map(textOf));
    expect(r.lookups).toBe(1);
    expect(r.verdicts).toEqual(['delivered']);
  });

  it('before the platform had it: the other worker sends it, once', async () => {
    const r = await crash(false);
    expect(r.sent).toEqual(r.bodies.map(textOf));
    expect(r.lookups).toBe(1);
    expect(r.verdicts).toEqual(['absent']);
  });
});

describe('the text looked for, for every kind of body the renderers make', () => {
  const replies: Reply[] = [
    reply('Thủ tục đăng ký kết hôn\nHồ sơ: tờ khai, CCCD.'),
    reply('Anh/chị muốn hỏi thủ tục nào?', { quickReplies: [{ title: 'Khai sinh', payload: 'pick:1' }, { title: 'Kết hôn', payload: 'pick:2' }] }),
    reply('Thủ tục đăng ký khai tử', { buttons: [{ title: 'Xem hồ sơ cần có', payload: 'docs:1' }], links: [{ title: 'Nộp trực tuyến', url: 'https://dichvucong.gov.vn/p/1' }] }),
    reply('', { buttons: [{ title: 'Gặp cán bộ', payload: 'handoff' }] }),
    reply('Chọn một thủ tục:', { buttons: ['A', 'B', 'C', 'D', 'E', 'F'].map((t, i) => ({ title: `Thủ tục ${t}`, payload: `pick:${i}` })) }),
    reply(`Căn cứ pháp lý\n\n${'Luật Hộ tịch năm 2014; Nghị định 123/2015/NĐ-CP. '.repeat(50)}`),
  ];

  it('Messenger: text, quick replies, button templates and split texts are found as the Conversations API shows them', async () => {
    const client = createMessengerClient({ graphUrl: graph.url, pageAccessToken: 'page-token-9' });
    const psid = '7300000000000099';
    graph.lastInteraction.set(psid, Date.now());
    const bodies = replies.flatMap((r) => renderMessengerReply(r, psid, 'RESPONSE'));
    expect(bodies.some((b) => 'attachment' in b.message)).toBe(true);
    expect(bodies.some((b) => 'quick_replies' in b.message)).toBe(true);
    for (const body of bodies) expect((await client.send(body as MessengerOutgoingBody)).kind).toBe('sent');
    const found = await client.recentMessages('9001', psid);
    if (found.kind !== 'ok') throw new Error(found.code);
    for (const body of bodies) {
      const t = historyText(body);
      expect(t.kind).toBe('text');
      expect(found.messages.filter((m) => m.fromPage && m.text.normalize('NFC').trim() === textOf(body)).length).toBeGreaterThan(0);
    }
  });

  it('Zalo: text, buttons and the numbered list are found as the conversation endpoint shows them', async () => {
    const grant = zalo.grant('9002');
    const userId = '2468458835290099';
    zalo.setUser(userId, { lastInteractionAt: Date.now(), following: true });
    const client = createZaloClient({ openapiUrl: zalo.url, getAccessToken: async () => grant.accessToken });
    const bodies = replies.flatMap((r) => renderZaloReply(r, userId));
    expect(bodies.length).toBeLessThanOrEqual(10); // Zalo lists the ten latest
    expect(bodies.some((b) => b.message.attachment)).toBe(true);
    for (const body of bodies) expect((await client.sendCs(body as ZaloCsBody)).kind).toBe('sent');
    const found = await client.recentMessages(userId);
    if (found.kind !== 'ok') throw new Error(found.code);
    for (const body of bodies) {
      expect(historyText(body).kind).toBe('text');
      expect(found.messages.filter((m) => m.fromOa && m.text.normalize('NFC').trim() === textOf(body)).length).toBeGreaterThan(0);
    }
  });

  it('end to end over the fake Graph server: a reply whose first message Graph has is not sent again', async () => {
    const client = createMessengerClient({ graphUrl: graph.url, pageAccessToken: 'page-token-9' });
    const psid = '7300000000000098';
    graph.lastInteraction.set(psid, Date.now());
    const bodies = renderMessengerReply(replies[2] ?? reply('x'), psid, 'RESPONSE').concat(renderMessengerReply(replies[1] ?? reply('x'), psid, 'RESPONSE'));
    const at = Date.now();
    // The dead worker's send of the first message reached Graph.
    expect((await client.send(bodies[0] as MessengerOutgoingBody)).kind).toBe('sent');
    const h = harness();
    const before = graph.sentCount();
    await h.queue.add(replyJob(bodies, { userId: psid, attempt: { index: 0, at } }));
    const worker = h.start({
      ...h.handlers,
      send: (_job, body) => client.send(body as MessengerOutgoingBody),
      recentMessages: (job) =>
        client.recentMessages('9001', job.userId).then((r): HistoryLookup => (r.kind === 'error' ? r : { kind: 'ok', messages: r.messages.map((m) => ({ at: m.createdAt, fromUs: m.fromPage, text: m.text, id: m.id })) })),
    });
    await waitFor(() => h.results.length === 1);
    const mine = graph.sent().filter((s) => s.recipientId === psid);
    expect(graph.sentCount() - before).toBe(bodies.length - 1);
    expect(mine.map((s) => textOf(s.body))).toEqual(bodies.map(textOf));
    expect(h.verdicts).toEqual([['delivered', undefined]]);
    await worker.close();
    await h.queue.close();
  });
});
