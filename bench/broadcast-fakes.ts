// The fake Graph and Zalo servers in a process of their own for the broadcast benchmark, so
// that their CPU and memory are not counted as motcua's. Driven over IPC by
// bench/broadcast-bench.ts.
import { startFakeGraphServer } from '../tests/fakes/graph-server.js';
import { startZaloFake } from '../tests/fakes/zalo-server.js';

type Command =
  | { id: number; cmd: 'users'; platform: 'messenger' | 'zalo'; prefix: string; count: number; at: number }
  | { id: number; cmd: 'count' }
  | { id: number; cmd: 'times'; platform: 'messenger' | 'zalo'; prefix: string }
  | { id: number; cmd: 'arrivals'; platform: 'messenger' | 'zalo'; prefix: string }
  | { id: number; cmd: 'replies'; marker: string };

const HOUR = 3_600_000;

async function main(): Promise<void> {
  const [appId, appSecret, oaId, pageId, pageToken, zaloNow] = process.argv.slice(2);
  if (!appId || !appSecret || !oaId || !pageId || !pageToken) throw new Error('usage: broadcast-fakes <appId> <appSecret> <oaId> <pageId> <pageToken> [zaloNow]');
  // Arrival times to a fraction of a millisecond (the replies' latencies are a few ms).
  const graph = await startFakeGraphServer({ tokens: { [pageToken]: pageId }, now: () => performance.timeOrigin + performance.now() });
  const zalo = await startZaloFake({ appId, appSecret, ...(zaloNow ? { now: Number(zaloNow) } : {}) });
  graph.setRecordRequests(false);
  zalo.setRecordRequests(false);
  const grant = zalo.grant(oaId, { accessExpiresAt: zalo.now() + 20 * HOUR });
  const send = (m: unknown): void => {
    process.send?.(m);
  };
  process.on('message', (raw: Command) => {
    switch (raw.cmd) {
      case 'users': {
        for (let i = 1; i <= raw.count; i++) {
          const id = `${raw.prefix}${String(i).padStart(7, '0')}`;
          if (raw.platform === 'messenger') graph.lastInteraction.set(id, raw.at);
          else zalo.setUser(id, { lastInteractionAt: raw.at, following: true });
        }
        send({ id: raw.id, ok: true });
        return;
      }
      case 'count':
        send({ id: raw.id, messenger: graph.sentCount(), zalo: zalo.sent.length });
        return;
      case 'times': {
        const times =
          raw.platform === 'messenger'
            ? graph.sent().filter((s) => s.recipientId.startsWith(raw.prefix)).map((s) => s.at)
            : zalo.sent.filter((s) => s.userId.startsWith(raw.prefix)).map((s) => s.at);
        send({ id: raw.id, times });
        return;
      }
      case 'arrivals': {
        // Recipient → arrival time (the last one), for the delay between counting and arrival.
        const out: Array<[string, number]> =
          raw.platform === 'messenger'
            ? graph.sent().filter((s) => s.recipientId.startsWith(raw.prefix)).map((s) => [s.recipientId, s.at])
            : zalo.sent.filter((s) => s.userId.startsWith(raw.prefix)).map((s) => [s.userId, s.at]);
        send({ id: raw.id, arrivals: out });
        return;
      }
      case 'replies': {
        // Replies carry "<marker> <n> <enqueued-at>" in their text: when each one arrived.
        const out: Array<{ text: string; at: number }> = [];
        for (const s of graph.sent()) {
          const text = JSON.stringify(s.body);
          if (text.includes(raw.marker)) out.push({ text, at: s.at });
        }
        send({ id: raw.id, replies: out });
        return;
      }
    }
  });
  send({ ready: true, graphUrl: graph.url, zaloUrl: zalo.url, accessToken: grant.accessToken, refreshToken: grant.refreshToken, accessExpiresAt: grant.accessExpiresAt });
}

main().catch((err: unknown) => {
  process.stderr.write(`broadcast-fakes: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
