// The fake Graph and Zalo servers of the load script (bench/load.ts), in a process of their own
// so that their CPU and memory are not counted as motcua's. Driven over IPC: it seeds the
// platforms' view of the citizens (Messenger's 24-hour window, Zalo followers), and on each poll
// hands back the replies chat citizens received since the last poll, with the time each Send
// API call arrived (the end of the measured reply latency), and the running count of bulk sends.
import { startFakeGraphServer } from '../tests/fakes/graph-server.js';
import { startZaloFake } from '../tests/fakes/zalo-server.js';
import { audienceUserId, buttonsOf, chatUserId, isChatUser, oaId, pageId, pageToken, textOf, type Button, type Platform } from './load-lib.js';

export interface FakesStart {
  appId: string;
  appSecret: string;
  units: number;
}

export interface Receipt {
  platform: Platform;
  userId: string;
  /** Epoch ms at which the fake received the Send API call. */
  at: number;
  text: string;
  buttons: Button[];
}

export interface PollAnswer {
  receipts: Receipt[];
  /** Sends with messaging_type UPDATE (Messenger) or promotions (Zalo): broadcast deliveries. */
  bulk: Record<Platform, number>;
  /** Replies to citizens (RESPONSE / consultation messages). */
  replies: Record<Platform, number>;
}

export type FakesCommand =
  | { id: number; cmd: 'audience'; platform: Platform; unit: number; count: number; at: number }
  | { id: number; cmd: 'chat'; config: number; units: number; citizens: number; at: number }
  | { id: number; cmd: 'poll' };

export interface FakesReady {
  ready: true;
  graphUrl: string;
  zaloUrl: string;
  grants: Array<{ unit: number; accessToken: string; refreshToken: string; accessExpiresAt: number }>;
}

async function main(): Promise<void> {
  const start = JSON.parse(process.argv[2] ?? '{}') as FakesStart;
  const tokens: Record<string, string> = {};
  for (let u = 0; u < start.units; u++) tokens[pageToken(u)] = pageId(u);
  const graph = await startFakeGraphServer({ tokens });
  const zalo = await startZaloFake({ appId: start.appId, appSecret: start.appSecret });
  graph.setRecordRequests(false);
  zalo.setRecordRequests(false);
  const grants: FakesReady['grants'] = [];
  for (let u = 0; u < start.units; u++) grants.push({ unit: u, ...zalo.grant(oaId(u), { accessExpiresAt: zalo.now() + 20 * 3600_000 }) });

  let graphSeen = 0;
  let zaloSeen = 0;
  const bulk: Record<Platform, number> = { messenger: 0, zalo: 0 };
  const replies: Record<Platform, number> = { messenger: 0, zalo: 0 };
  const send = (m: unknown): void => {
    process.send?.(m);
  };

  const poll = (): PollAnswer => {
    const receipts: Receipt[] = [];
    if (graph.sentCount() > graphSeen) {
      const all = graph.sent();
      for (let i = graphSeen; i < all.length; i++) {
        const s = all[i];
        if (!s) continue;
        const isReply = (s.body as { messaging_type?: unknown } | undefined)?.messaging_type === 'RESPONSE';
        if (isReply) replies.messenger++;
        else bulk.messenger++;
        if (isReply && isChatUser(s.recipientId)) receipts.push({ platform: 'messenger', userId: s.recipientId, at: s.at, text: textOf(s.body), buttons: buttonsOf('messenger', s.body) });
      }
      graphSeen = all.length;
    }
    for (let i = zaloSeen; i < zalo.sent.length; i++) {
      const s = zalo.sent[i];
      if (!s) continue;
      if (s.endpoint === 'cs') replies.zalo++;
      else bulk.zalo++;
      if (s.endpoint === 'cs' && isChatUser(s.userId)) receipts.push({ platform: 'zalo', userId: s.userId, at: s.at, text: textOf(s.body), buttons: buttonsOf('zalo', s.body) });
    }
    zaloSeen = zalo.sent.length;
    return { receipts, bulk: { ...bulk }, replies: { ...replies } };
  };

  process.on('message', (m: FakesCommand) => {
    switch (m.cmd) {
      case 'audience':
        for (let n = 1; n <= m.count; n++) {
          const id = audienceUserId(m.platform, m.unit, n);
          if (m.platform === 'messenger') graph.lastInteraction.set(id, m.at);
          else zalo.setUser(id, { lastInteractionAt: m.at, following: true });
        }
        send({ id: m.id });
        return;
      case 'chat':
        for (let u = 0; u < m.units; u++) {
          for (let c = 0; c < m.citizens; c++) {
            graph.lastInteraction.set(chatUserId('messenger', m.config, u, c), m.at);
            zalo.setUser(chatUserId('zalo', m.config, u, c), { lastInteractionAt: m.at, following: true });
          }
        }
        send({ id: m.id });
        return;
      case 'poll':
        send({ id: m.id, ...poll() });
        return;
    }
  });
  process.on('disconnect', () => {
    void Promise.allSettled([graph.close(), zalo.close()]).then(() => process.exit(0));
  });
  const ready: FakesReady = { ready: true, graphUrl: graph.url, zaloUrl: zalo.url, grants };
  send(ready);
}

main().catch((err: unknown) => {
  process.stderr.write(`load-fakes: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
