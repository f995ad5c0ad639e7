// A small HTTP proxy in front of a fake platform: it forwards every request as it is and can
// hold requests a while before forwarding them (a platform answering slowly). The fakes answer
// at once or after a fixed short delay; a slow platform's seconds per call are added here.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlowProxy {
  /** The proxy's base URL with the target's path prefix (e.g. http://127.0.0.1:<port>/v25.0). */
  readonly url: string;
  /** Requests matching `match` wait `ms` before they are forwarded; `ms` 0 turns it off. */
  setDelay(ms: number, match?: (req: http.IncomingMessage) => boolean): void;
  /** Requests forwarded so far, and how many of them were held. */
  readonly counts: { forwarded: number; delayed: number };
  close(): Promise<void>;
}

export async function startSlowProxy(targetUrl: string): Promise<SlowProxy> {
  const target = new URL(targetUrl);
  let delayMs = 0;
  let match: (req: http.IncomingMessage) => boolean = () => true;
  const counts = { forwarded: 0, delayed: 0 };
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const forward = (): void => {
        counts.forwarded++;
        const upstream = http.request(
          { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        upstream.on('error', () => {
          if (!res.headersSent) res.writeHead(502);
          res.end();
        });
        upstream.end(Buffer.concat(chunks));
      };
      if (delayMs > 0 && match(req)) {
        counts.delayed++;
        setTimeout(forward, delayMs);
      } else forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${target.pathname.replace(/\/+$/, '')}`,
    setDelay(ms, m) {
      delayMs = ms;
      match = m ?? (() => true);
    },
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
