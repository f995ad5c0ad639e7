// The pure parts of the load script (bench/load.ts): argument parsing, the seeded mix of citizen
// sessions, percentiles, the ids the driver, the database seed and the fake platforms agree on,
// webhook bodies as the platforms sign them, the buttons of a rendered reply, and the report.
// No I/O here, so tests/load/load-lib.test.ts checks it in milliseconds.
import { createHash, createHmac } from 'node:crypto';
import { foldMarks } from '../src/search/normalize.js';

export type Platform = 'messenger' | 'zalo';
export const PLATFORMS: readonly Platform[] = ['messenger', 'zalo'];

// ---- arguments ------------------------------------------------------------------------------------

export interface LoadOptions {
  /** Seconds of traffic per configuration. */
  durationS: number;
  units: number;
  /** Subscribers seeded across the units (each broadcast's audience included). */
  subscribers: number;
  /** Recipients of each broadcast (two per configuration; 0 = none). */
  recipients: number;
  /** Worker process counts, one configuration each, run one after the other on the same data. */
  workers: number[];
  /**
   * Per configuration: `{ chat, broadcasts }` when its workers are split by WORKER_TASKS (`--workers 1+1`:
   * one worker for citizens' messages and replies, one for broadcasts); undefined when every worker does both.
   */
  split?: Array<{ chat: number; broadcasts: number } | undefined>;
  /** New citizen sessions per second (a session is one question, a subscription or a survey). */
  rate: number;
  /** Chat citizens per unit and platform (distinct in each configuration). */
  citizensPerUnit: number;
  seed: number;
  smoke: boolean;
  /** Also write the figures as JSON to this file. */
  jsonFile: string | null;
  keepDb: boolean;
  help: boolean;
  /** Share of sessions per kind (sums to 1). */
  mix: MixWeights;
}

export interface MixWeights {
  question: number;
  subscribe: number;
  survey: number;
}

export const DEFAULT_MIX: MixWeights = { question: 0.85, subscribe: 0.1, survey: 0.05 };

export const LOAD_USAGE = `npm run load -- [options]

Replays a mix of citizens' traffic against motcua's web role and worker role(s) running as
separate processes on PostgreSQL (a database of its own, dropped at the end) and Redis (a key
prefix of its own), with the fake Graph and Zalo servers as the platforms. Each configuration
(--workers 1,2 = one worker, then two) gets the same mix and two broadcasts of its own.

  --duration S       seconds of traffic per configuration (default 60)
  --units N          communes (default 100)
  --subscribers N    subscribers seeded in total (default 1000000)
  --recipients N     recipients of each broadcast (default 100000; 0 = no broadcasts, the
                     citizens' traffic alone)
  --workers LIST     worker processes per configuration, comma-separated (default 1,2);
                     C+B = C workers for citizens' messages and replies (WORKER_TASKS=chat)
                     beside B for broadcasts (WORKER_TASKS=broadcasts), e.g. 1,1+1
  --rate R           new citizen sessions per second (default 20)
  --citizens N       chat citizens per unit and platform (default 100)
  --seed N           seed of the mix (default 1)
  --json FILE        also write the figures as JSON
  --keep-db          keep the load database (default: dropped at the end)
  --smoke            a few seconds with tiny volumes, one worker; exits non-zero unless every
                     part of the mix worked (the test suite runs this)
Environment: MESSENGER_SEND_RATE / ZALO_SEND_RATE (default here 300 / 30 per account),
TEST_DATABASE_URL (the server to create the database on), TEST_REDIS_URL.`;

export class LoadArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoadArgsError';
  }
}

const SMOKE: Partial<LoadOptions> = {
  durationS: 3,
  units: 4,
  subscribers: 400,
  recipients: 100,
  workers: [1],
  rate: 4,
  citizensPerUnit: 20,
  mix: { question: 1 / 3, subscribe: 1 / 3, survey: 1 / 3 },
};

function positiveInt(flag: string, raw: string | undefined, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined || !/^\d+$/.test(raw)) throw new LoadArgsError(`${flag}: expected a whole number, got ${raw === undefined ? 'nothing' : `"${raw}"`}`);
  const n = Number(raw);
  if (n < min || n > max) throw new LoadArgsError(`${flag}: must be between ${min} and ${max}`);
  return n;
}

function positiveNumber(flag: string, raw: string | undefined, max: number): number {
  const n = raw !== undefined && /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!(n > 0) || n > max) throw new LoadArgsError(`${flag}: expected a number above 0 and at most ${max}, got ${raw === undefined ? 'nothing' : `"${raw}"`}`);
  return n;
}

/** Parses the command line (after `npm run load --`); throws LoadArgsError naming the flag. */
export function parseLoadArgs(argv: readonly string[]): LoadOptions {
  const given = new Map<string, string | true>();
  const takesValue = new Set(['--duration', '--units', '--subscribers', '--recipients', '--workers', '--rate', '--citizens', '--seed', '--json']);
  const flags = new Set(['--smoke', '--keep-db', '--help', '-h']);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (flags.has(name)) {
      if (eq > 0) throw new LoadArgsError(`${name} takes no value`);
      given.set(name === '-h' ? '--help' : name, true);
    } else if (takesValue.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value.startsWith('--')) throw new LoadArgsError(`${name}: missing value`);
      given.set(name, value);
    } else {
      throw new LoadArgsError(`unknown option ${arg} (see --help)`);
    }
  }
  const smoke = given.has('--smoke');
  const base: LoadOptions = {
    durationS: 60,
    units: 100,
    subscribers: 1_000_000,
    recipients: 100_000,
    workers: [1, 2],
    rate: 20,
    citizensPerUnit: 100,
    seed: 1,
    smoke,
    jsonFile: null,
    keepDb: given.has('--keep-db'),
    help: given.has('--help'),
    mix: DEFAULT_MIX,
    ...(smoke ? SMOKE : {}),
  };
  const str = (k: string): string | undefined => {
    const v = given.get(k);
    return typeof v === 'string' ? v : undefined;
  };
  const o = { ...base };
  if (given.has('--duration')) o.durationS = positiveInt('--duration', str('--duration'), 1, 24 * 3600);
  if (given.has('--units')) o.units = positiveInt('--units', str('--units'), 1, 10_000);
  if (given.has('--subscribers')) o.subscribers = positiveInt('--subscribers', str('--subscribers'), 0, 50_000_000);
  if (given.has('--recipients')) o.recipients = positiveInt('--recipients', str('--recipients'), 0, 10_000_000);
  if (given.has('--rate')) o.rate = positiveNumber('--rate', str('--rate'), 10_000);
  if (given.has('--citizens')) o.citizensPerUnit = positiveInt('--citizens', str('--citizens'), 1, 1_000_000);
  if (given.has('--seed')) o.seed = positiveInt('--seed', str('--seed'), 0, 2 ** 32 - 1);
  if (given.has('--json')) o.jsonFile = str('--json') ?? null;
  if (given.has('--workers')) {
    const raw = str('--workers') ?? '';
    const list = raw.split(',').map((p) => p.trim());
    if (list.length === 0 || list.some((p) => !/^\d+(\+\d+)?$/.test(p))) throw new LoadArgsError(`--workers: expected a comma-separated list such as 1,2 or 1,1+1, got "${raw}"`);
    const parts = list.map((p) => p.split('+').map((n) => positiveInt('--workers', n, 1, 16)));
    o.workers = parts.map((p) => p.reduce((a, n) => a + n, 0));
    if (o.workers.some((n) => n > 16)) throw new LoadArgsError('--workers: at most 16 worker processes per configuration');
    o.split = parts.map((p) => (p.length === 2 ? { chat: p[0]!, broadcasts: p[1]! } : undefined));
    // The configuration's index is one digit of the chat citizens' ids.
    if (o.workers.length > 9) throw new LoadArgsError('--workers: at most 9 configurations');
  }
  const broadcasts = 2 * o.workers.length;
  if (o.units < broadcasts + 1) throw new LoadArgsError(`--units: at least ${broadcasts + 1} for ${o.workers.length} configuration(s) (two broadcasting units each, plus one)`);
  if (o.recipients * broadcasts > o.subscribers) {
    throw new LoadArgsError(`--subscribers: ${o.workers.length} configuration(s) × 2 broadcasts × ${o.recipients} recipients need at least ${o.recipients * broadcasts} subscribers`);
  }
  return o;
}

// ---- statistics ---------------------------------------------------------------------------------

/** Nearest-rank percentile (p in 0–100) of unsorted values; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be within 0–100, got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? NaN;
}

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: values.length ? Math.max(...values) : NaN,
  };
}

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(rng: () => number, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('pick: no items');
  return items[Math.floor(rng() * items.length)] as T;
}

// ---- the mix ------------------------------------------------------------------------------------

export type SessionKind = 'question' | 'subscribe' | 'survey';

export interface Session {
  /** Milliseconds after the start of the configuration's traffic. */
  at: number;
  kind: SessionKind;
  platform: Platform;
  /** 0-based index of the unit. */
  unit: number;
  /** 0-based index of the chat citizen within the unit and platform. */
  citizen: number;
  /** The first message (question / subscription phrase); empty for a survey (started by its payload). */
  text: string;
  /** Seed of the session's own choices (which button, think times). */
  seed: number;
}

export interface MixInput {
  seed: number;
  durationS: number;
  rate: number;
  units: number;
  citizensPerUnit: number;
  /** Real questions (../shared/data/queries-dev.tsv), as written. */
  questions: readonly string[];
  weights?: MixWeights;
  /** Share of citizens on Zalo (the rest on Messenger). */
  zaloShare?: number;
  /** Share of questions sent with their marks folded away ("dang ky ket hon"). */
  foldedShare?: number;
}

export const SUBSCRIBE_PHRASES = ['đăng ký nhận tin', 'dang ky nhan tin', 'đăng ký nhận thông báo', 'dang ky nhan thong bao'] as const;

/**
 * The sessions of one configuration: Poisson arrivals at `rate` per second over the duration,
 * each a kind by the weights, a platform, a unit (uniform) and a citizen (round-robin within the
 * unit and platform, so no citizen has two sessions at once unless the pool is exhausted), and,
 * for a question, a real question with or without its diacritics. Deterministic in its input.
 */
export function generateMix(input: MixInput): Session[] {
  if (input.questions.length === 0) throw new RangeError('generateMix: no questions');
  const rng = mulberry32(input.seed);
  const w = input.weights ?? DEFAULT_MIX;
  const total = w.question + w.subscribe + w.survey;
  const zaloShare = input.zaloShare ?? 0.6;
  const foldedShare = input.foldedShare ?? 0.4;
  const endMs = input.durationS * 1000;
  const next = new Map<string, number>();
  const out: Session[] = [];
  let t = 0;
  for (;;) {
    t += (-Math.log(1 - rng()) / input.rate) * 1000;
    if (t >= endMs) break;
    const r = rng() * total;
    const kind: SessionKind = r < w.question ? 'question' : r < w.question + w.subscribe ? 'subscribe' : 'survey';
    const platform: Platform = rng() < zaloShare ? 'zalo' : 'messenger';
    const unit = Math.floor(rng() * input.units);
    const key = `${platform}:${unit}`;
    const citizen = (next.get(key) ?? 0) % input.citizensPerUnit;
    next.set(key, citizen + 1);
    let text = '';
    if (kind === 'question') {
      const q = pick(rng, input.questions);
      text = rng() < foldedShare ? foldMarks(q) : q;
    } else if (kind === 'subscribe') {
      text = pick(rng, SUBSCRIBE_PHRASES);
    }
    out.push({ at: Math.round(t), kind, platform, unit, citizen, text, seed: Math.floor(rng() * 2 ** 32) });
  }
  return out;
}

/** The `query` column of queries-dev.tsv (header skipped, blank lines ignored). */
export function parseQuestionsTsv(tsv: string): string[] {
  const lines = tsv.split(/\r?\n/);
  const header = (lines[0] ?? '').split('\t');
  const col = header.indexOf('query');
  if (col < 0) throw new Error('queries TSV: no "query" column in the header');
  return lines
    .slice(1)
    .map((l) => (l.split('\t')[col] ?? '').normalize('NFC').trim())
    .filter((q) => q !== '');
}

/** True when the text carries Vietnamese marks (or đ). */
export function hasMarks(text: string): boolean {
  return foldMarks(text) !== text;
}

// ---- ids shared by the driver, the seed and the fakes ---------------------------------------------

export const unitId = (unit: number): string => `xa-tai-thu-${String(unit + 1).padStart(3, '0')}`;
export const pageId = (unit: number): string => `1066${String(unit + 1).padStart(11, '0')}`;
export const pageToken = (unit: number): string => `EAAG-load-page-${unit + 1}`;
export const oaId = (unit: number): string => `3886${String(unit + 1).padStart(14, '0')}`;

/** Chat citizens start with 7 (Messenger) / 8 (Zalo); subscribers seeded in bulk with 6 / 5. */
export function chatUserId(platform: Platform, config: number, unit: number, citizen: number): string {
  return `${platform === 'messenger' ? '7' : '8'}${config}${String(unit).padStart(4, '0')}${String(citizen).padStart(platform === 'messenger' ? 10 : 12, '0')}`;
}

export const AUDIENCE_SEQ_WIDTH = 9;
/** The prefix of a unit's bulk subscribers; the n-th (from 1) is prefix + n padded to 9 digits. */
export function audiencePrefix(platform: Platform, unit: number): string {
  return `${platform === 'messenger' ? '6' : '5'}${String(unit).padStart(4, '0')}`;
}
export function audienceUserId(platform: Platform, unit: number, n: number): string {
  return `${audiencePrefix(platform, unit)}${String(n).padStart(AUDIENCE_SEQ_WIDTH, '0')}`;
}
export const isChatUser = (userId: string): boolean => userId.startsWith('7') || userId.startsWith('8');

export interface SeedPlan {
  /** Per configuration: the two units whose whole-commune group receives a broadcast. */
  broadcastUnits: Array<[number, number]>;
  /** Subscribers per unit and platform (index = unit). */
  perUnit: Array<Record<Platform, number>>;
}

/**
 * Where the subscribers go: each configuration's two broadcasting units hold exactly
 * `recipients` (half on each platform, the odd one on Zalo); the rest are spread evenly over
 * the other units.
 */
export function planSeed(o: Pick<LoadOptions, 'units' | 'subscribers' | 'recipients' | 'workers'>): SeedPlan {
  const configs = o.workers.length;
  const broadcastUnits: Array<[number, number]> = [];
  for (let c = 0; c < configs; c++) broadcastUnits.push([2 * c, 2 * c + 1]);
  const split = (n: number): Record<Platform, number> => ({ messenger: Math.floor(n / 2), zalo: n - Math.floor(n / 2) });
  const others = o.units - 2 * configs;
  const rest = o.subscribers - 2 * configs * o.recipients;
  const perUnit: Array<Record<Platform, number>> = [];
  for (let u = 0; u < o.units; u++) {
    if (u < 2 * configs) perUnit.push(split(o.recipients));
    else {
      const i = u - 2 * configs;
      perUnit.push(split(Math.floor(rest / others) + (i < rest % others ? 1 : 0)));
    }
  }
  return { broadcastUnits, perUnit };
}

// ---- webhooks as the platforms send them ----------------------------------------------------------

export type ChatInput = { type: 'text'; text: string } | { type: 'tap'; payload: string; title: string; via: 'quick_reply' | 'postback' | 'zalo_query' };

/** A Messenger webhook body for one citizen event (text, quick-reply tap or postback). */
export function messengerBody(page: string, psid: string, mid: string, input: ChatInput, ts: number): string {
  let event: Record<string, unknown>;
  if (input.type === 'text') event = { message: { mid, text: input.text } };
  else if (input.via === 'postback') event = { postback: { mid, title: input.title, payload: input.payload } };
  else event = { message: { mid, text: input.title, quick_reply: { payload: input.payload } } };
  return JSON.stringify({ object: 'page', entry: [{ id: page, time: ts, messaging: [{ sender: { id: psid }, recipient: { id: page }, timestamp: ts, ...event }] }] });
}

/** A Zalo user_send_text body: a tap on an oa.query button arrives as the text of its payload. */
export function zaloBody(appId: string, oa: string, userId: string, msgId: string, input: ChatInput, ts: number): string {
  const text = input.type === 'text' ? input.text : input.payload;
  return JSON.stringify({
    app_id: appId,
    sender: { id: userId },
    user_id_by_app: `55${userId.slice(-16)}`,
    recipient: { id: oa },
    event_name: 'user_send_text',
    message: { text, msg_id: msgId },
    timestamp: String(ts),
  });
}

export const messengerSignature = (appSecret: string, raw: string): string => `sha256=${createHmac('sha256', appSecret).update(raw).digest('hex')}`;
export const zaloSignatureHeader = (appId: string, raw: string, ts: number, oaSecret: string): string =>
  `mac=${createHash('sha256').update(`${appId}${raw}${ts}${oaSecret}`).digest('hex')}`;

// ---- what a citizen sees in a reply ------------------------------------------------------------

export interface Button {
  title: string;
  payload: string;
  via: 'quick_reply' | 'postback' | 'zalo_query';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The tappable buttons of a Send API body (Messenger quick replies and postback buttons, Zalo oa.query buttons). */
export function buttonsOf(platform: Platform, body: unknown): Button[] {
  if (!isObject(body) || !isObject(body['message'])) return [];
  const message = body['message'];
  const out: Button[] = [];
  const attachment = isObject(message['attachment']) ? message['attachment'] : undefined;
  const payload = attachment && isObject(attachment['payload']) ? attachment['payload'] : undefined;
  const buttons = payload && Array.isArray(payload['buttons']) ? payload['buttons'] : [];
  for (const b of buttons) {
    if (!isObject(b) || typeof b['title'] !== 'string' || typeof b['payload'] !== 'string') continue;
    if (platform === 'messenger' && b['type'] === 'postback') out.push({ title: b['title'], payload: b['payload'], via: 'postback' });
    if (platform === 'zalo' && (b['type'] === 'oa.query.show' || b['type'] === 'oa.query.hide')) out.push({ title: b['title'], payload: b['payload'], via: 'zalo_query' });
  }
  if (platform === 'messenger' && Array.isArray(message['quick_replies'])) {
    for (const q of message['quick_replies']) {
      if (isObject(q) && q['content_type'] === 'text' && typeof q['title'] === 'string' && typeof q['payload'] === 'string') out.push({ title: q['title'], payload: q['payload'], via: 'quick_reply' });
    }
  }
  return out;
}

/** The visible text of a Send API body (message text or the template's text). */
export function textOf(body: unknown): string {
  if (!isObject(body) || !isObject(body['message'])) return '';
  const message = body['message'];
  if (typeof message['text'] === 'string') return message['text'];
  const attachment = isObject(message['attachment']) ? message['attachment'] : undefined;
  const payload = attachment && isObject(attachment['payload']) ? attachment['payload'] : undefined;
  return payload && typeof payload['text'] === 'string' ? payload['text'] : '';
}

/** Buttons that leave the current flow (menu, officer, contact, subscriptions): not survey answers. */
export function isNavigation(payload: string): boolean {
  return /^mc:(menu|handoff|contact|sub|unsub)(:|$)/i.test(payload.trim());
}

// ---- the report -----------------------------------------------------------------------------------

export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—';

/** A Markdown table (the report is pasted into docs/operations.md as it is). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Rows of a time series kept at most `maxRows` long (every k-th sample, the last one always). */
export function thin<T>(rows: readonly T[], maxRows: number): T[] {
  if (rows.length <= maxRows) return [...rows];
  const step = Math.ceil(rows.length / maxRows);
  const out = rows.filter((_, i) => i % step === 0);
  const last = rows[rows.length - 1];
  if (last !== undefined && out[out.length - 1] !== last) out.push(last);
  return out;
}
