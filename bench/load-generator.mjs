// The load generator of the webhook bench, run as its own process (a worker thread would not
// do: autocannon treats worker threads as its own workers) so that it does not share an event
// loop with the server it measures: autocannon sending signed Messenger events,
// each with a fresh message id (the intake deduplicates).
import { createHmac } from 'node:crypto';
import autocannon from 'autocannon';

const { url, secret, page, duration, connections, tag } = JSON.parse(process.argv[2] ?? '{}');
let n = 0;
const result = await new Promise((resolve, reject) => {
  autocannon({
  url,
  connections,
  duration,
  pipelining: 1,
  requests: [
    {
      method: 'POST',
      setupRequest: (req) => {
        const ts = Date.now();
        const psid = `71${String(n % 5000).padStart(14, '0')}`;
        const raw = JSON.stringify({
          object: 'page',
          entry: [{ id: page, time: ts, messaging: [{ sender: { id: psid }, recipient: { id: page }, timestamp: ts, message: { mid: `m_${tag}_${n++}`, text: 'đăng ký khai sinh' } }] }],
        });
        const sig = `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
        return { ...req, body: raw, headers: { 'content-type': 'application/json', 'x-hub-signature-256': sig } };
      },
    },
  ],
  }, (err, res) => (err ? reject(err) : resolve(res)));
});
process.send({ rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors });
