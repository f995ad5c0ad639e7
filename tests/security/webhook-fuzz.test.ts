// Hostile input on the platform webhooks (issue #8): property-based fuzzing with fast-check of
// POST /webhooks/messenger and /webhooks/zalo on the real server (queues, workers, engine) wired
// to the local Graph and Zalo fakes. Bodies are the real captured payloads of
// ../shared/data/webhooks re-addressed to our Page / OA and mutated (JSON-level and byte-level),
// plus random bytes. Properties: no 5xx (the documented 503 "cannot enqueue" cannot happen with
// Redis up, so none at all here), a JSON answer without internals, a malformed body 400, a body
// without a valid signature 401 and never a reply, an unknown Page / OA acknowledged (200) and
// not answered, nothing logged at error level by the intake, the workers or the engine. Replays
// of an old signed body are answered once; bodies over the limit get 413.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { z } from 'zod';
import { parseZaloJson } from '../../src/channels/zalo/index.js';
import { PLATFORM, errorLogs, startSecurityServer, waitFor, type SecurityServer } from './harness.js';
import { WEBHOOKS_DIR } from '../channels/zalo/load-zalo-fixtures.js';

let srv: SecurityServer;
beforeAll(async () => {
  srv = await startSecurityServer({ platforms: true });
}, 90_000);
afterAll(async () => {
  await srv?.stop();
});

const SEED = 20260308;

// --- fixtures, re-addressed to our Page and OA -------------------------------------------------

const Fixture = z.object({
  body: z.union([z.string(), z.record(z.string(), z.unknown())]),
  body_is_valid_json: z.boolean().optional(),
});

/** Citizens the fakes know (a reply to them would be accepted and logged). */
const PSIDS = Array.from({ length: 8 }, (_, i) => `71000000000${String(900 + i)}`);
const ZALO_USERS = Array.from({ length: 8 }, (_, i) => `2468458835291979${String(10 + i)}`);
/**
 * Citizens kept out of the fuzzing: a mutated echo or OA message is an officer's reply, which
 * rightly silences the bot for that citizen, so the control and replay checks use their own.
 */
const CONTROL = { fb: '7100000000000950', fbReplay: '7100000000000951', zalo: '246845883529197950', zaloReplay: '246845883529197951' };

function loadBodies(prefix: 'messenger-' | 'zalo-'): string[] {
  return readdirSync(WEBHOOKS_DIR)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json') && !f.includes('sigvec'))
    .sort()
    .flatMap((f) => {
      const fx = Fixture.parse(JSON.parse(readFileSync(path.join(WEBHOOKS_DIR, f), 'utf8')));
      if (fx.body_is_valid_json === false) return [];
      return [typeof fx.body === 'string' ? fx.body : JSON.stringify(fx.body)];
    });
}

/** Every occurrence of each id (quoted or bare) replaced, the raw text otherwise kept byte for byte. */
function replaceIds(raw: string, map: Map<string, string>): string {
  let out = raw;
  for (const [from, to] of map) if (from !== '') out = out.split(from).join(to);
  return out;
}

function idOf(v: unknown): string | undefined {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

/** The captures' own times set to now: bodies older than the dedupe claim are dropped as replays. */
function restamp(raw: string): string {
  const now = Date.now();
  return raw.replace(/"(timestamp|time)"(\s*):(\s*)("?)\d{9,16}("?)/g, (_m, key: string, a: string, b: string, q1: string, q2: string) => `"${key}"${a}:${b}${q1}${now}${q2}`);
}

function readdressMessenger(raw: string, i: number): string {
  const body: unknown = JSON.parse(raw);
  const map = new Map<string, string>();
  const entries = body && typeof body === 'object' && 'entry' in body && Array.isArray(body.entry) ? (body.entry as unknown[]) : [];
  for (const e of entries) {
    if (!e || typeof e !== 'object') continue;
    const pageId = 'id' in e ? idOf(e.id) : undefined;
    if (pageId) map.set(pageId, PLATFORM.fbPageId);
    for (const list of ['messaging', 'standby'] as const) {
      const events = list in e ? (e as Record<string, unknown>)[list] : undefined;
      if (!Array.isArray(events)) continue;
      for (const ev of events) {
        if (!ev || typeof ev !== 'object') continue;
        for (const party of ['sender', 'recipient'] as const) {
          const p = (ev as Record<string, unknown>)[party];
          const id = p && typeof p === 'object' && 'id' in p ? idOf(p.id) : undefined;
          if (id && id !== pageId && !map.has(id)) map.set(id, PSIDS[(i + map.size) % PSIDS.length] ?? '1');
        }
      }
    }
  }
  return replaceIds(raw, map);
}

function readdressZalo(raw: string, i: number): string {
  const body = parseZaloJson(raw);
  if (!body || typeof body !== 'object') return raw;
  const b = body as Record<string, unknown>;
  const event = typeof b.event_name === 'string' ? b.event_name : '';
  const map = new Map<string, string>();
  const appId = idOf(b.app_id);
  if (appId) map.set(appId, PLATFORM.zaloAppId);
  const oa = idOf(b.oa_id);
  if (oa) map.set(oa, PLATFORM.zaloOaId);
  const party = (k: string): string | undefined => {
    const p = b[k];
    return p && typeof p === 'object' && 'id' in p ? idOf(p.id) : undefined;
  };
  const fromOa = event.startsWith('oa_');
  const account = fromOa ? party('sender') : party('recipient');
  const user = fromOa ? party('recipient') : (party('sender') ?? party('follower'));
  if (account && !map.has(account)) map.set(account, PLATFORM.zaloOaId);
  if (user && !map.has(user)) map.set(user, ZALO_USERS[i % ZALO_USERS.length] ?? '1');
  const follower = party('follower');
  if (follower && !map.has(follower)) map.set(follower, ZALO_USERS[(i + 1) % ZALO_USERS.length] ?? '1');
  return replaceIds(raw, map);
}

const MESSENGER = loadBodies('messenger-').map(readdressMessenger).map(restamp);
const ZALO = loadBodies('zalo-').map(readdressZalo).map(restamp);

// --- signing --------------------------------------------------------------------------------

const fbSign = (raw: Buffer, secret: string = PLATFORM.fbAppSecret): string => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

/** The body's own timestamp as the mac covers it, or undefined when the body cannot carry one. */
function zaloTimestamp(raw: Buffer): string | undefined {
  try {
    const b = parseZaloJson(raw);
    if (!b || typeof b !== 'object' || !('timestamp' in b)) return undefined;
    const t = b.timestamp;
    return typeof t === 'string' || (typeof t === 'number' && Number.isSafeInteger(t)) ? String(t) : undefined;
  } catch {
    return undefined;
  }
}

function zaloMac(raw: Buffer, ts: string, secret: string = PLATFORM.zaloOaSecret, appId: string = PLATFORM.zaloAppId): string {
  return createHash('sha256').update(appId).update(raw).update(ts).update(secret).digest('hex');
}

async function post(platform: 'messenger' | 'zalo', raw: Buffer, headers: Record<string, string>): Promise<{ status: number; body: unknown; text: string }> {
  const res = await fetch(`${srv.url}/webhooks/${platform}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: raw });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text };
}

/** What every answer must look like: JSON, either an acknowledgement or a coded error, no internals. */
function expectCleanAnswer(r: { status: number; body: unknown; text: string }): void {
  expect(r.status, r.text).toBeLessThan(500);
  expect(r.body, r.text).toBeTypeOf('object');
  expect(r.text).not.toMatch(/\bat .+\.(ts|js):\d+|Error:|stack/);
}

// --- mutations ----------------------------------------------------------------------------------

/** Strings meant to hurt: control characters, lone surrogates, RTL marks, payload look-alikes… */
const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(
    '',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff\ud800',
    '\u202eđăng ký\u202c',
    '\u200f\u061f',
    '\ufeff',
    '🙂'.repeat(300),
    'mc:',
    'mc:pick:',
    'mc:pick:1.001193',
    'mc:pick:9.999999',
    'mc:detail:1.001193:' + 'x'.repeat(300),
    'mc:sub:-1',
    'mc:unsub:all',
    'mc:%00',
    'mc:menu\u0000',
    '<script>alert(1)</script>',
    "'; DROP TABLE contacts; --",
    '${7*7}{{7*7}}',
    '=HYPERLINK("http://x","y")',
    '__proto__',
    'constructor',
    'x'.repeat(20_000),
    '0912345678',
    '9'.repeat(400),
  ),
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, true, false, 0, -1, 1e308, -1e308, 8.64e15 + 1, 9999999999999999, 1.5, Number.MAX_SAFE_INTEGER, [], {}, [[[[[]]]]]),
  fc.integer(),
);

type Path = Array<string | number>;

function paths(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function getAt(v: unknown, p: Path): unknown {
  let cur = v;
  for (const k of p) cur = cur && typeof cur === 'object' ? (cur as Record<string | number, unknown>)[k] : undefined;
  return cur;
}

/** Returns the mutated value (the root may be replaced). */
function setAt(root: unknown, p: Path, value: unknown, remove: boolean): unknown {
  if (p.length === 0) return remove ? undefined : value;
  const parent = getAt(root, p.slice(0, -1));
  const key = p[p.length - 1];
  if (key === undefined || !parent || typeof parent !== 'object') return root;
  if (Array.isArray(parent) && typeof key === 'number') {
    if (remove) parent.splice(key, 1);
    else parent[key] = value;
  } else {
    const obj = parent as Record<string, unknown>;
    if (remove) delete obj[String(key)];
    else obj[String(key)] = value;
  }
  return root;
}

const isLeaf = (x: unknown): boolean => x === null || typeof x !== 'object';

// 'leaf' replaces an id, a time, a text…: where the parsers' trust in a signed body is tested.
const jsonOp = fc.record({ kind: fc.constantFrom('leaf', 'leaf', 'leaf', 'set', 'delete', 'wrap', 'dup'), at: fc.nat(), value: hostileValue });
type JsonOp = { kind: 'leaf' | 'set' | 'delete' | 'wrap' | 'dup'; at: number; value: unknown };

function applyJsonOps(raw: string, ops: readonly JsonOp[]): string {
  let v: unknown = JSON.parse(raw);
  for (const op of ops) {
    const all = op.kind === 'leaf' ? paths(v).filter((p) => isLeaf(getAt(v, p))) : paths(v);
    if (all.length === 0) continue;
    const p = all[op.at % all.length] ?? [];
    const cur = getAt(v, p);
    if (op.kind === 'set' || op.kind === 'leaf') v = setAt(v, p, op.value, false);
    else if (op.kind === 'delete') v = setAt(v, p, undefined, true);
    else if (op.kind === 'wrap') v = setAt(v, p, [cur], false);
    else v = setAt(v, p, Array.isArray(cur) ? [...(cur as unknown[]), ...(cur as unknown[])] : cur, false);
  }
  const out = JSON.stringify(v);
  return out === undefined ? '' : out;
}

const byteOp = fc.record({
  kind: fc.constantFrom('flip', 'insert', 'delete', 'truncate'),
  at: fc.nat(),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }),
});
type ByteOp = { kind: 'flip' | 'insert' | 'delete' | 'truncate'; at: number; bytes: Uint8Array };

function applyByteOps(raw: Buffer, ops: readonly ByteOp[]): Buffer {
  let b = Buffer.from(raw);
  for (const op of ops) {
    const i = b.length === 0 ? 0 : op.at % b.length;
    if (op.kind === 'flip' && b.length > 0) b[i] = (b[i] ?? 0) ^ (op.bytes[0] ?? 1);
    else if (op.kind === 'insert') b = Buffer.concat([b.subarray(0, i), Buffer.from(op.bytes), b.subarray(i)]);
    else if (op.kind === 'delete') b = Buffer.concat([b.subarray(0, i), b.subarray(i + op.bytes.length)]);
    else if (op.kind === 'truncate') b = b.subarray(0, i);
  }
  return b;
}

/** A well-formed event of one of our citizens carrying hostile text: it goes all the way to a send. */
function citizenEvents(platform: 'messenger' | 'zalo'): fc.Arbitrary<Buffer> {
  const users = platform === 'messenger' ? PSIDS : ZALO_USERS;
  return fc.tuple(fc.nat({ max: users.length - 1 }), fc.uuid(), fc.constantFrom('text', 'postback', 'quick_reply', 'referral'), hostileString).map(([u, id, kind, text]) => {
    const user = users[u] ?? '';
    const ts = Date.now();
    if (platform === 'zalo') return zaloText(user, id.replace(/-/g, ''), text, ts);
    const event =
      kind === 'text'
        ? { message: { mid: `m_${id}`, text } }
        : kind === 'postback'
          ? { postback: { mid: `m_${id}`, title: 'Nút', payload: text } }
          : kind === 'quick_reply'
            ? { message: { mid: `m_${id}`, text: 'Chọn', quick_reply: { payload: text } } }
            : { referral: { ref: text, source: 'SHORTLINK', type: 'OPEN_THREAD' } };
    return Buffer.from(JSON.stringify({ object: 'page', entry: [{ id: PLATFORM.fbPageId, time: ts, messaging: [{ sender: { id: user }, recipient: { id: PLATFORM.fbPageId }, timestamp: ts, ...event }] }] }));
  });
}

/** A body: a fixture mutated as JSON, a fixture mutated as bytes, random bytes / text, or a citizen's hostile message. */
function bodies(fixtures: readonly string[], platform: 'messenger' | 'zalo'): fc.Arbitrary<Buffer> {
  const fixture = fc.integer({ min: 0, max: fixtures.length - 1 }).map((i) => fixtures[i] ?? '{}');
  return fc.oneof(
    { weight: 4, arbitrary: citizenEvents(platform) },
    { weight: 5, arbitrary: fc.tuple(fixture, fc.array(jsonOp, { minLength: 1, maxLength: 4 })).map(([f, ops]) => Buffer.from(applyJsonOps(f, ops), 'utf8')) },
    { weight: 3, arbitrary: fc.tuple(fixture, fc.array(byteOp, { minLength: 1, maxLength: 3 })).map(([f, ops]) => applyByteOps(Buffer.from(f, 'utf8'), ops)) },
    { weight: 1, arbitrary: fixture.map((f) => Buffer.from(f, 'utf8')) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s, 'utf8')) },
  );
}

function parsesAsJsonObject(raw: Buffer): 'object' | 'other' | 'malformed' {
  try {
    const v: unknown = JSON.parse(raw.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? 'object' : 'other';
  } catch {
    return 'malformed';
  }
}

function isZaloProbeBody(raw: Buffer): boolean {
  try {
    const t = raw.toString('utf8').trim();
    const v: unknown = JSON.parse(t);
    return t.length <= 64 && v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;
  } catch {
    return false;
  }
}

/** Nothing of ours was sent to any of these users. */
function sendsTo(users: readonly string[]): string[] {
  const graph = srv.graph?.requests() ?? [];
  const zalo = srv.zalo?.requests ?? [];
  const hits: string[] = [];
  for (const r of graph) if (r.method === 'POST' && users.some((u) => JSON.stringify(r.body).includes(u))) hits.push(`graph ${r.path}`);
  for (const r of zalo) if (r.method === 'POST' && users.some((u) => r.rawBody.includes(u))) hits.push(`zalo ${r.path}`);
  return hits;
}

/** Waits until the inbound inboxes are empty and no send happened for a while. */
async function quiet(): Promise<void> {
  const redis = srv.running.services.redis.client;
  const pending = `${srv.running.services.config.REDIS_KEY_PREFIX}:bull:inbox-pending`;
  let last = -1;
  let stableSince = Date.now();
  await waitFor(async () => {
    const count = (srv.graph?.requests().length ?? 0) + (srv.zalo?.requests.length ?? 0);
    if (count !== last) {
      last = count;
      stableSince = Date.now();
    }
    return (await redis.zcard(pending)) === 0 && Date.now() - stableSince > 700;
  }, 30_000);
}

const messengerText = (psid: string, mid: string, text: string, ts = Date.now()): Buffer =>
  Buffer.from(
    JSON.stringify({
      object: 'page',
      entry: [{ id: PLATFORM.fbPageId, time: ts, messaging: [{ sender: { id: psid }, recipient: { id: PLATFORM.fbPageId }, timestamp: ts, message: { mid, text } }] }],
    }),
    'utf8',
  );

const zaloText = (user: string, msgId: string, text: string, ts = Date.now()): Buffer =>
  Buffer.from(
    `{"app_id":"${PLATFORM.zaloAppId}","sender":{"id":"${user}"},"user_id_by_app":"552177279717587730","recipient":{"id":"${PLATFORM.zaloOaId}"},"event_name":"user_send_text","message":{"text":${JSON.stringify(text)},"msg_id":"${msgId}"},"timestamp":"${ts}"}`,
    'utf8',
  );

const zaloSigned = (raw: Buffer): Record<string, string> => {
  const ts = zaloTimestamp(raw);
  return ts === undefined ? {} : { 'x-zevent-signature': `mac=${zaloMac(raw, ts)}` };
};

beforeAll(() => {
  for (const u of [...PSIDS, CONTROL.fb, CONTROL.fbReplay]) srv.graph?.lastInteraction.set(u, Date.now());
  for (const u of [...ZALO_USERS, CONTROL.zalo, CONTROL.zaloReplay]) srv.zalo?.setUser(u, { lastInteractionAt: srv.zalo.now(), following: true });
});

describe('fixtures', () => {
  it('are loaded and re-addressed to our Page and OA', () => {
    expect(MESSENGER.length).toBeGreaterThanOrEqual(25);
    expect(ZALO.length).toBeGreaterThanOrEqual(10);
    expect(MESSENGER.filter((b) => b.includes(PLATFORM.fbPageId)).length).toBeGreaterThanOrEqual(20);
    expect(ZALO.filter((b) => b.includes(PLATFORM.zaloOaId)).length).toBeGreaterThanOrEqual(8);
  });
});

describe('unsigned and wrongly signed bodies', () => {
  const wrongMessenger = (raw: Buffer): fc.Arbitrary<Record<string, string>> =>
    fc.oneof(
      fc.constant({}),
      fc.constant({ 'x-hub-signature-256': '' }),
      fc.constant({ 'x-hub-signature-256': fbSign(raw, 'not-the-app-secret') }),
      fc.constant({ 'x-hub-signature-256': fbSign(Buffer.concat([raw, Buffer.from(' ')])) }),
      fc.constant({ 'x-hub-signature-256': fbSign(raw).replace('sha256=', 'sha1=') }),
      fc.constant({ 'x-hub-signature': `sha1=${createHmac('sha1', PLATFORM.fbAppSecret).update(raw).digest('hex')}` }),
      fc.constant({ 'x-hub-signature-256': fbSign(raw).slice(0, -2) }),
      // Any header value a client can send (visible ASCII).
      fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 }).map((s) => ({ 'x-hub-signature-256': s })),
      fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => ({ 'x-hub-signature-256': `sha256=${h}` })),
    );
  const wrongZalo = (raw: Buffer): fc.Arbitrary<Record<string, string>> => {
    const ts = zaloTimestamp(raw) ?? String(Date.now());
    return fc.oneof(
      fc.constant({}),
      fc.constant({ 'x-zevent-signature': '' }),
      fc.constant({ 'x-zevent-signature': `mac=${zaloMac(raw, ts, 'not-the-oa-secret')}` }),
      fc.constant({ 'x-zevent-signature': `mac=${zaloMac(raw, ts, PLATFORM.zaloAppSecret)}` }),
      fc.constant({ 'x-zevent-signature': `mac=${zaloMac(raw, ts, PLATFORM.zaloOaSecret, '999999999999')}` }),
      fc.constant({ 'x-zevent-signature': `mac=${zaloMac(raw, `${ts}1`)}` }),
      fc.constant({ 'x-zevent-signature': `mac=${zaloMac(Buffer.concat([raw, Buffer.from('\n')]), ts)}` }),
      fc.constant({ 'x-zevent-signature': `mac=${createHmac('sha256', PLATFORM.zaloOaSecret).update(raw).digest('hex')}` }),
      fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => ({ 'x-zevent-signature': `mac=${h}` })),
    );
  };

  it('Messenger: 401, and nothing is ever sent', async () => {
    await fc.assert(
      fc.asyncProperty(
        bodies(MESSENGER, 'messenger').chain((raw) => wrongMessenger(raw).map((h) => [raw, h] as const)),
        async ([raw, headers]) => {
          const r = await post('messenger', raw, headers);
          expectCleanAnswer(r);
          expect(r.status).toBe(401);
        },
      ),
      { seed: SEED, numRuns: 120 },
    );
    // The same citizens' correctly signed messages are answered: the silence above is the signature's doing.
    const control = messengerText(CONTROL.fb, 'm_sec_control_fb', 'đăng ký khai sinh');
    expect((await post('messenger', control, { 'x-hub-signature-256': fbSign(control) })).status).toBe(200);
    await waitFor(() => srv.graph?.sent().some((s) => s.recipientId === CONTROL.fb));
  });

  it('Zalo: 401 (200 only for the empty probe), and nothing is ever sent', async () => {
    const before = sendsTo(ZALO_USERS).length;
    expect(before).toBe(0);
    await fc.assert(
      fc.asyncProperty(
        bodies(ZALO, 'zalo').chain((raw) => wrongZalo(raw).map((h) => [raw, h] as const)),
        async ([raw, headers]) => {
          const r = await post('zalo', raw, headers);
          expectCleanAnswer(r);
          expect(r.status).toBe(isZaloProbeBody(raw) ? 200 : 401);
        },
      ),
      { seed: SEED, numRuns: 120 },
    );
    await quiet();
    expect(sendsTo(ZALO_USERS)).toEqual([]);
    expect(sendsTo(PSIDS)).toEqual([]);
    const control = zaloText(CONTROL.zalo, 'zmsg-sec-control', 'đăng ký khai sinh');
    expect((await post('zalo', control, zaloSigned(control))).status).toBe(200);
    await waitFor(() => srv.zalo?.sent.some((s) => s.userId === CONTROL.zalo));
  });
});

describe('signed, mutated bodies', () => {
  /** Events the intake took: the fuzzing reached the workers and the engine, not only the parser. */
  const enqueued = { messenger: 0, zalo: 0 };
  const count = (platform: 'messenger' | 'zalo', body: unknown): void => {
    if (body && typeof body === 'object' && 'enqueued' in body && typeof body.enqueued === 'number') enqueued[platform] += body.enqueued;
  };

  it('Messenger: 200 or 400 (malformed → 400), never 5xx, a clean JSON answer', async () => {
    await fc.assert(
      fc.asyncProperty(bodies(MESSENGER, 'messenger'), async (raw) => {
        const r = await post('messenger', raw, { 'x-hub-signature-256': fbSign(raw) });
        expectCleanAnswer(r);
        count('messenger', r.body);
        const shape = parsesAsJsonObject(raw);
        if (shape !== 'object') expect(r.status).toBe(400);
        else expect([200, 400]).toContain(r.status);
      }),
      { seed: SEED, numRuns: 250 },
    );
  });

  it('Zalo: 200 or 400 when the body carries what the mac covers, 400/401 otherwise, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(bodies(ZALO, 'zalo'), async (raw) => {
        const r = await post('zalo', raw, zaloSigned(raw));
        expectCleanAnswer(r);
        count('zalo', r.body);
        if (isZaloProbeBody(raw)) expect(r.status).toBe(200);
        else if (zaloTimestamp(raw) === undefined) expect([400, 401]).toContain(r.status);
        else expect([200, 400, 401]).toContain(r.status);
        // Signed with the body's own timestamp: refused only when the body names another app
        // (or names its app in a shape that is not an id).
        if (r.status === 401 && zaloTimestamp(raw) !== undefined) {
          const b = parseZaloJson(raw) as Record<string, unknown>;
          const ownApp = b.app_id === undefined || b.app_id === PLATFORM.zaloAppId;
          expect(ownApp, 'a body of our app with a valid mac was refused').toBe(false);
        }
      }),
      { seed: SEED, numRuns: 250 },
    );
  });

  it('leave no error in the logs: the workers and the engine took every accepted event', async () => {
    expect(enqueued.messenger).toBeGreaterThanOrEqual(50);
    expect(enqueued.zalo).toBeGreaterThanOrEqual(50);
    await quiet();
    expect(errorLogs(srv).map((r) => `${r.msg ?? ''} ${JSON.stringify(r.err ?? '')}`)).toEqual([]);
  });
});

describe('unknown accounts', () => {
  it('are acknowledged (200) and never answered', async () => {
    const users: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[1-9]\d{11,18}$/), fc.nat(), async (account, n) => {
        fc.pre(account !== PLATFORM.fbPageId && account !== PLATFORM.zaloOaId);
        const fbUser = PSIDS[n % PSIDS.length] ?? '';
        const zlUser = ZALO_USERS[n % ZALO_USERS.length] ?? '';
        users.push(account);
        const fb = Buffer.from(messengerText(fbUser, `m_unknown_${account}`, 'đăng ký khai sinh').toString('utf8').split(PLATFORM.fbPageId).join(account));
        const r1 = await post('messenger', fb, { 'x-hub-signature-256': fbSign(fb) });
        expect(r1.status).toBe(200);
        expect(r1.body).toMatchObject({ ok: true, unknownAccount: 1, enqueued: 0 });
        const zl = Buffer.from(zaloText(zlUser, `zmsg-unknown-${account}`, 'đăng ký khai sinh').toString('utf8').split(PLATFORM.zaloOaId).join(account));
        const r2 = await post('zalo', zl, zaloSigned(zl));
        expect(r2.status).toBe(200);
        expect(r2.body).toMatchObject({ ok: true, unknownAccount: 1, enqueued: 0 });
      }),
      { seed: SEED, numRuns: 30 },
    );
    await quiet();
    // No send ever went out on behalf of a Page / OA that is not ours.
    const graphPaths = (srv.graph?.requests() ?? []).filter((r) => r.method === 'POST').map((r) => r.path);
    expect(graphPaths.filter((p) => users.some((u) => p.includes(u)))).toEqual([]);
    expect((srv.zalo?.sent ?? []).filter((s) => s.oaId !== PLATFORM.zaloOaId)).toEqual([]);
  });
});

describe('signed bodies no platform sends (found by the fuzzing above)', () => {
  it('an id with a control character or a time past what a Date holds: acknowledged, never 503, nothing fails', async () => {
    const errorsBefore = errorLogs(srv).length;
    const user = CONTROL.fb;
    const cases: Buffer[] = [
      ...[1e300, 9_999_999_999_999_999, 8.64e15 + 1].map((ts, i) =>
        Buffer.from(messengerText(user, `m_sec_ts_${i}`, 'xin chào').toString('utf8').replace(/"timestamp":\d+/, `"timestamp":${ts}`).replace(/"time":\d+/, `"time":${ts}`)),
      ),
      messengerText('7100\u0000000000950', 'm_sec_nul_user', 'xin chào'),
      messengerText(user, 'm_sec_nul\u0000mid', 'xin chào'),
      Buffer.from(messengerText(user, 'm_sec_nul_page', 'xin chào').toString('utf8').split(PLATFORM.fbPageId).join('106000000000777\\u0000')),
    ];
    for (const raw of cases) {
      const r = await post('messenger', raw, { 'x-hub-signature-256': fbSign(raw) });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ ok: true, enqueued: 0 });
    }
    const zl = Buffer.from(zaloText(CONTROL.zalo, 'zmsg-sec-ts', 'xin chào').toString('utf8').replace(/"timestamp":"\d+"/, '"timestamp":"9999999999999999"'));
    const rz = await post('zalo', zl, zaloSigned(zl));
    expect(rz.status, rz.text).toBe(200);
    expect(rz.body).toMatchObject({ ok: true, enqueued: 0 });
    await quiet();
    expect(errorLogs(srv).slice(errorsBefore).map((r) => r.msg)).toEqual([]);
  });

  it('a message stamped a year ahead is answered, and does not move the citizen\'s last contact into the future', async () => {
    const errorsBefore = errorLogs(srv).length;
    const future = Date.now() + 365 * 24 * 3600_000;
    const ahead = messengerText(CONTROL.fbReplay, 'm_sec_future', 'đăng ký khai tử', future);
    expect((await post('messenger', ahead, { 'x-hub-signature-256': fbSign(ahead) })).status).toBe(200);
    await waitFor(() => srv.graph?.sent().some((s) => s.recipientId === CONTROL.fbReplay && /khai tử/i.test(JSON.stringify(s.body))));
    const account = await srv.running.services.accounts.find('messenger', PLATFORM.fbPageId);
    const contact = await srv.running.services.contacts.find(account?.id ?? 0, CONTROL.fbReplay);
    expect(contact?.lastInteractionAt.getTime()).toBeLessThanOrEqual(Date.now());
    await quiet();
    expect(errorLogs(srv).slice(errorsBefore).map((r) => r.msg)).toEqual([]);
  });
});

describe('replay', () => {
  const turns = (platform: 'messenger' | 'zalo', user: string): number =>
    platform === 'messenger' ? (srv.graph?.sent().filter((s) => s.recipientId === user).length ?? 0) : (srv.zalo?.sent.filter((s) => s.userId === user).length ?? 0);

  it('an old signed body sent again, at once and later, is answered once', async () => {
    const fbUser = CONTROL.fbReplay;
    const zlUser = CONTROL.zaloReplay;
    const fb = messengerText(fbUser, 'm_sec_replay_1', 'đăng ký kết hôn');
    const zl = zaloText(zlUser, 'zmsg-sec-replay-1', 'đăng ký kết hôn');
    expect((await post('messenger', fb, { 'x-hub-signature-256': fbSign(fb) })).status).toBe(200);
    expect((await post('zalo', zl, zaloSigned(zl))).status).toBe(200);
    await waitFor(() => turns('messenger', fbUser) > 0 && turns('zalo', zlUser) > 0);
    await quiet();
    const once = { fb: turns('messenger', fbUser), zl: turns('zalo', zlUser) };
    // The attacker's copies: the same bytes, the signature header spelled differently, in a burst.
    const copies = await Promise.all([
      ...Array.from({ length: 5 }, () => post('messenger', fb, { 'x-hub-signature-256': fbSign(fb) })),
      post('messenger', fb, { 'x-hub-signature-256': fbSign(fb).toUpperCase().replace('SHA256=', 'sha256=') }),
      ...Array.from({ length: 5 }, () => post('zalo', zl, zaloSigned(zl))),
      post('zalo', zl, { 'x-zevent-signature': (zaloSigned(zl)['x-zevent-signature'] ?? '').replace('mac=', '') }),
    ]);
    for (const c of copies) {
      expect(c.status).toBe(200);
      expect(c.body).toMatchObject({ ok: true, enqueued: 0, duplicate: 1 });
    }
    await quiet();
    expect({ fb: turns('messenger', fbUser), zl: turns('zalo', zlUser) }).toEqual(once);
  });
});

describe('replay after the dedupe claim has expired', () => {
  const sentTo = (user: string) => srv.graph?.sent().filter((s) => s.recipientId === user) ?? [];

  it('a body older than the claim is dropped: not answered again, and an old officer echo does not silence the bot', async () => {
    const user = CONTROL.fb; // a citizen whose messaging window is open
    const old = Date.now() - 49 * 3600_000;
    const before = sentTo(user).length;
    const question = messengerText(user, 'm_sec_stale_question', 'đăng ký kết hôn', old);
    const r1 = await post('messenger', question, { 'x-hub-signature-256': fbSign(question) });
    expect(r1.body).toMatchObject({ ok: true, enqueued: 0, ignored: 1 });
    const echo = Buffer.from(
      JSON.stringify({
        object: 'page',
        entry: [{ id: PLATFORM.fbPageId, time: old, messaging: [{ sender: { id: PLATFORM.fbPageId }, recipient: { id: user }, timestamp: old, message: { mid: 'm_sec_stale_echo', is_echo: true, app_id: 263902037430900, text: 'Cán bộ xã trả lời.' } }] }],
      }),
    );
    const r2 = await post('messenger', echo, { 'x-hub-signature-256': fbSign(echo) });
    expect(r2.body).toMatchObject({ ok: true, enqueued: 0, ignored: 1 });
    // A new question is answered (the old echo paused nothing), and only it.
    const fresh = messengerText(user, 'm_sec_after_stale', 'đăng ký khai tử');
    expect((await post('messenger', fresh, { 'x-hub-signature-256': fbSign(fresh) })).status).toBe(200);
    await waitFor(() => sentTo(user).length > before);
    await quiet();
    const answers = sentTo(user).slice(before).map((s) => JSON.stringify(s.body)).join(' ');
    expect(answers).toMatch(/khai tử/i);
    expect(answers).not.toMatch(/kết hôn/i);
  });
});

describe('oversized bodies', () => {
  it('get 413 on both webhooks, signed or not, and are never processed', async () => {
    const huge = Buffer.from(`{"object":"page","entry":[],"pad":"${'a'.repeat(1024 * 1024)}"}`);
    for (const headers of [{ 'x-hub-signature-256': fbSign(huge) }, {}] as Array<Record<string, string>>) {
      const r = await post('messenger', huge, headers);
      expect(r.status).toBe(413);
      expect(r.body).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    }
    const hugeZalo = Buffer.from(`{"app_id":"${PLATFORM.zaloAppId}","timestamp":"1","pad":"${'a'.repeat(1024 * 1024)}"}`);
    for (const headers of [zaloSigned(hugeZalo), {}]) {
      const r = await post('zalo', hugeZalo, headers);
      expect(r.status).toBe(413);
      expect(r.body).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    }
  });
});
