// The load script (npm run load; options: npm run load -- --help). A deployment as it runs in
// production, on this machine: the web role (`motcua serve`, RUN_WORKERS=false) and one or more
// worker roles (`motcua worker`) as separate processes, on PostgreSQL (a database created for the
// run and dropped after it) and Redis (a key prefix of its own), with the fake Graph and Zalo
// servers (tests/fakes) at the platforms' base-URL settings, in a process of their own.
// 100 communes, each with a Facebook Page and a Zalo OA; 1,000,000 subscribers seeded with SQL.
// Then, for each configuration (--workers 1,2: one worker process, then two), the same mix:
// citizens' questions on both platforms (real questions of ../shared/data/queries-dev.tsv, with
// and without diacritics, as signed webhooks), subscriptions in chat (the phrase, then a tap on
// a group), SIPAS survey answers (in chat when the survey flow answers its start payload,
// otherwise through the survey repository, and the report says which), and two broadcasts of
// `--recipients` each, submitted through /api/v1 as an officer's automation would.
// Prints throughput, reply latency (webhook POST → the fake's Send API receipt), queue depths
// over time, the memory and CPU of each process, and the configurations side by side.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { openDatabase, type Database } from '../src/store/database.js';
import { migrate } from '../src/store/migrate.js';
import { UnitRepository } from '../src/store/unit-repository.js';
import { AccountRepository } from '../src/store/account-repository.js';
import { SecretBox } from '../src/store/secret-box.js';
import { StaffRepository } from '../src/store/staff-repository.js';
import { loadSurveyRegistry, quarterOf, SurveyRepository, type SurveyRegistry } from '../src/surveys/index.js';
import type { Progress } from '../src/surveys/survey-repository.js';
import { INBOUND_QUEUE } from '../src/jobs/inbound-queue.js';
import { OUTBOUND_QUEUE } from '../src/jobs/outbound-queue.js';
import { BROADCAST_QUEUE } from '../src/jobs/broadcast-queue.js';
import { MAINTENANCE_QUEUE } from '../src/jobs/maintenance-queue.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../tests/helpers/services.js';
import type { FakesCommand, FakesReady, PollAnswer, Receipt } from './load-fakes.js';
import {
  AUDIENCE_SEQ_WIDTH,
  LOAD_USAGE,
  LoadArgsError,
  PLATFORMS,
  audiencePrefix,
  chatUserId,
  fmt,
  generateMix,
  hasMarks,
  isNavigation,
  markdownTable,
  messengerBody,
  messengerSignature,
  mulberry32,
  oaId,
  pageId,
  pageToken,
  parseLoadArgs,
  parseQuestionsTsv,
  pick,
  planSeed,
  summarize,
  thin,
  unitId,
  zaloBody,
  zaloSignatureHeader,
  type Button,
  type ChatInput,
  type LoadOptions,
  type Platform,
  type SeedPlan,
  type Session,
  type SessionKind,
  type Summary,
} from './load-lib.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FB_APP_SECRET = 'load-fb-app-secret';
const ZALO_APP_ID = '3608465249409000';
const ZALO_APP_SECRET = 'load-zalo-app-secret';
const ZALO_OA_SECRET = 'load-zalo-oa-secret-key';
const SECRET_KEY = 'motcua-load-test-secret-key-0123456789abcdef';
const SURVEY_ID = 'sipas';
const REPLY_TIMEOUT_MS = 30_000;
/** After a turn's first message, how long the rest of it (more messages, buttons) may take. */
const SETTLE_MS = 600;
const POLL_MS = 100;
const SAMPLE_MS = 2000;
const DRAIN_MAX_MS = 35_000;
const GROUP_NAMES = ['Tin chung của xã', 'Thôn 1', 'Thôn 2'] as const;
const COMMENT = 'Cán bộ hướng dẫn tận tình, cảm ơn.';
const CLK_TCK = 100;

/** Set by SIGINT/SIGTERM: the current configuration stops sending and everything is cleaned up. */
let interrupted = false;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const T0 = Date.now();
/** A progress line, with the time since the start of the run. */
const step = (line: string): void => out(`   [${((Date.now() - T0) / 1000).toFixed(1).padStart(5)} s] ${line}`);

// ---- processes --------------------------------------------------------------------------------

interface RoleProcess {
  name: string;
  child: ChildProcess;
  levels: Record<'warn' | 'error', number>;
  errors: string[];
  stderr: string[];
  started: Promise<void>;
  startedInS: number;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts `motcua serve|worker` (bin/motcua.js, as docker-compose does) and follows its JSON log. */
function startRole(name: string, role: 'serve' | 'worker', env: Record<string, string>, readyMsg: string): RoleProcess {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/motcua.js'), role], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const t0 = Date.now();
  const p: RoleProcess = { name, child, levels: { warn: 0, error: 0 }, errors: [], stderr: [], started: Promise.resolve(), startedInS: NaN };
  p.started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 120 s: ${p.stderr.slice(-3).join(' ')}`)), 120_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) while starting: ${p.stderr.slice(-3).join(' ')}`));
    });
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: { level?: number; msg?: string } | undefined;
      try {
        entry = JSON.parse(line) as { level?: number; msg?: string };
      } catch {
        return;
      }
      const level = entry.level ?? 30;
      if (level >= 50) {
        p.levels.error++;
        if (p.errors.length < 5 && !p.errors.includes(entry.msg ?? '')) p.errors.push(entry.msg ?? '(no message)');
      } else if (level >= 40) p.levels.warn++;
      if (entry.msg === readyMsg) {
        clearTimeout(timer);
        p.startedInS = (Date.now() - t0) / 1000;
        resolve();
      }
    });
  });
  p.started.catch(() => undefined);
  readline.createInterface({ input: child.stderr! }).on('line', (line) => {
    p.stderr.push(line);
    if (p.stderr.length > 20) p.stderr.shift();
  });
  return p;
}

/** SIGTERM, then SIGKILL after the grace period (as docker stop does); how the process ended. */
async function stopChild(child: ChildProcess, graceMs: number): Promise<string> {
  if (child.exitCode !== null || child.signalCode !== null) return 'had exited';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const t = Date.now();
  child.kill('SIGTERM');
  if (await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)])) return `exited ${fmt((Date.now() - t) / 1000, 1)} s after SIGTERM`;
  child.kill('SIGKILL');
  await exited;
  return `still running ${fmt(graceMs / 1000)} s after SIGTERM: killed`;
}

// ---- /proc sampling ---------------------------------------------------------------------------

function readProc(pid: number): { rssMb: number; cpuTicks: number } | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { rssMb: rssKb / 1024, cpuTicks: Number(rest[11] ?? 0) + Number(rest[12] ?? 0) };
  } catch {
    return null;
  }
}

function machineCpu(): { busy: number; total: number } {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string): number => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return get('used_cpu_user') + get('used_cpu_sys');
}

// ---- the run's state ------------------------------------------------------------------------------

interface TurnSample {
  kind: SessionKind;
  platform: Platform;
  ms: number;
}

interface QueueDepth {
  waiting: number;
  active: number;
  delayed: number;
}

interface SeriesRow {
  t: number;
  /** Every BullMQ queue of the deployment but the maintenance one, by name. */
  queues: Record<string, QueueDepth>;
  bulkSent: number;
  replies: number;
  backlog: number;
  rssMb: Record<string, number>;
}

interface ProcessFigures {
  name: string;
  /** Seconds from spawn to ready (roles only). */
  startedInS: number | null;
  /** How the process ended when stopped (roles only). */
  stop: string | null;
  peakRssMb: number;
  endRssMb: number;
  cpuCores: number;
  warnings: number;
  errors: number;
  errorMessages: string[];
}

interface BroadcastFigures {
  unitId: string;
  id: number;
  submittedAtS: number;
  fannedOutAtS: number | null;
  status: string;
  deliveries: Record<string, number>;
}

interface ConfigResult {
  workers: number;
  /** How the configuration is named in the tables ("2 workers", "1 chat + 1 broadcasts"). */
  label: string;
  durationS: number;
  surveyMode: 'chat' | 'repository';
  sessions: Record<SessionKind, { started: number; completed: number; abandoned: number }>;
  sessionsSkippedBusy: number;
  maxScheduleLagMs: number;
  webhooks: { posted: number; accepted: number; failed: number; post: Summary };
  turns: { answered: number; unanswered: number; all: Summary; byPlatform: Record<Platform, Summary>; byKind: Record<SessionKind, Summary> };
  questionsWithMarks: number;
  questionsWithoutMarks: number;
  subscriptionsRecorded: number;
  surveyAnswersRecorded: number;
  surveyResponsesCompleted: number;
  surveyRepositoryWrites: Summary;
  broadcast: { windowSends: Record<Platform, number>; afterDrainSends: Record<Platform, number>; sendsPerSecond: number; list: BroadcastFigures[]; zaloDeferredAtNight: boolean };
  throughput: { sessionsPerS: number; webhooksPerS: number; repliesPerS: number };
  processes: ProcessFigures[];
  postgresCpuCores: number;
  redisCpuCores: number;
  /** At the end of the window: keys under the run's prefix and their estimated memory. */
  redis: { keys: number; mb: number };
  databaseMb: number;
  machineBusyPercent: number;
  loadAverage: { start: number; end: number };
  series: SeriesRow[];
}

interface Seeded {
  db: Database;
  dbName: string;
  dbUrl: string;
  apiToken: string;
  groupIds: Map<number, number>;
  zaloAccountIds: number[];
  accounts: AccountRepository;
  unitsFile: string;
  tmpDir: string;
  seedSeconds: number;
}

// ---- database ---------------------------------------------------------------------------------

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function inParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (i < items.length) await fn(items[i++] as T);
    }),
  );
}

async function seed(o: LoadOptions, plan: SeedPlan, dbName: string): Promise<Seeded> {
  const t0 = performance.now();
  await adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${dbName}`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${dbName}`;
  const dbUrl = url.toString();
  const db = await openDatabase({ url: dbUrl });
  await migrate(db);

  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'motcua-load-'));
  const unitsFile = path.join(tmpDir, 'units.yaml');
  const lines = ['units:'];
  for (let u = 0; u < o.units; u++) {
    const n = String(u + 1).padStart(3, '0');
    lines.push(
      `  - id: ${unitId(u)}`,
      `    name: "UBND xã Tải Thử ${n}"`,
      `    province: "Tỉnh Thử Nghiệm"`,
      `    address: "Bộ phận Một cửa, trụ sở UBND xã Tải Thử ${n}"`,
      `    phone: "0200 000 ${n}"`,
      `    hours: "Sáng 7h30–11h30, chiều 13h30–17h00, từ thứ Hai đến thứ Sáu"`,
    );
  }
  fs.writeFileSync(unitsFile, `${lines.join('\n')}\n`);

  const units = new UnitRepository(db);
  const accounts = new AccountRepository(db, new SecretBox(SECRET_KEY));
  const groupIds = new Map<number, number>();
  const accountIds: Array<Record<Platform, number>> = [];
  for (let u = 0; u < o.units; u++) {
    await units.create({ id: unitId(u), name: `UBND xã Tải Thử ${u + 1}`, province: 'Tỉnh Thử Nghiệm', address: null, phone: null, email: null, hours: null, portalUrl: null, website: null, procedureCodes: null });
    const fb = await accounts.upsert({ unitId: unitId(u), platform: 'messenger', externalId: pageId(u), name: `Trang xã ${u + 1}`, secrets: { pageAccessToken: pageToken(u) } });
    const za = await accounts.upsert({ unitId: unitId(u), platform: 'zalo', externalId: oaId(u), name: `OA xã ${u + 1}` });
    accountIds.push({ messenger: fb.id, zalo: za.id });
    const rows = await db.query<{ id: string; name: string }>(
      `INSERT INTO subscriber_groups (unit_id, kind, name) SELECT $1, CASE WHEN n = $2 THEN 'topic' ELSE 'village' END, n FROM unnest($3::text[]) n RETURNING id, name`,
      [unitId(u), GROUP_NAMES[0], [...GROUP_NAMES]],
    );
    groupIds.set(u, Number(rows.find((r) => r.name === GROUP_NAMES[0])?.id));
  }

  // 1,000,000 contacts and their consent in one statement per unit (generate_series, no round
  // trips), the two platforms interleaved as people arrive (a fan-out pages in contact order).
  // Odd rows are Zalo followers, even rows Messenger users: ceil(n/2) and floor(n/2), as planned.
  const broadcastUnits = new Set(plan.broadcastUnits.flat());
  const jobs = plan.perUnit.map((counts, u) => ({ u, count: counts.messenger + counts.zalo })).filter((j) => j.count > 0);
  await inParallel(jobs, 2, async ({ u, count }) => {
    await db.transaction(async (tx) => {
      await tx.exec('SET LOCAL synchronous_commit = off');
      // A broadcast's Messenger audience wrote within the last day (else held, not sent); the
      // others over the last month.
      const hours = broadcastUnits.has(u) ? 20 : 720;
      await tx.query(
        `WITH c AS (
           INSERT INTO contacts (account_id, platform_user_id, first_seen_at, last_interaction_at, following)
           SELECT CASE WHEN g % 2 = 1 THEN $1::bigint ELSE $2::bigint END,
                  CASE WHEN g % 2 = 1 THEN $3 ELSE $4 END || lpad(((g + 1) / 2)::text, ${AUDIENCE_SEQ_WIDTH}, '0'),
                  now() - interval '60 days', now() - make_interval(hours => 1 + g % $7),
                  CASE WHEN g % 2 = 1 THEN true END
           FROM generate_series(1, $5::int) g
           ORDER BY g
           RETURNING id, first_seen_at)
         INSERT INTO subscriptions (contact_id, group_id, consented_at) SELECT id, $6, first_seen_at FROM c`,
        [accountIds[u]?.zalo ?? 0, accountIds[u]?.messenger ?? 0, audiencePrefix('zalo', u), audiencePrefix('messenger', u), count, groupIds.get(u) ?? 0, hours],
      );
    });
  });
  await db.exec('ANALYZE');

  const staff = new StaffRepository(db);
  const created = await staff.create({ username: 'tai-thu', role: 'admin', unitId: null });
  if (!created) throw new Error('could not create the staff account of the load run');
  await db.query('UPDATE staff_users SET must_change_password = false WHERE id = $1', [created.user.id]);
  const { token } = await staff.createApiToken(created.user.id, 'load');
  return {
    db,
    dbName,
    dbUrl,
    apiToken: token,
    groupIds,
    zaloAccountIds: accountIds.map((a) => a.zalo),
    accounts,
    unitsFile,
    tmpDir,
    seedSeconds: (performance.now() - t0) / 1000,
  };
}

// ---- the fakes process ------------------------------------------------------------------------

interface Fakes {
  child: ChildProcess;
  ready: FakesReady;
  ask<T>(m: Record<string, unknown> & { cmd: FakesCommand['cmd'] }): Promise<T>;
}

async function startFakes(units: number): Promise<Fakes> {
  const child = fork(path.join(ROOT, 'bench/load-fakes.ts'), [JSON.stringify({ appId: ZALO_APP_ID, appSecret: ZALO_APP_SECRET, units })], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, (m: Record<string, unknown>) => void>();
  let nextId = 1;
  const ready = await new Promise<FakesReady>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the fakes process exited (${code})`)));
    child.on('message', (m: Record<string, unknown>) => {
      if (m['ready']) resolve(m as unknown as FakesReady);
      else if (typeof m['id'] === 'number') {
        pending.get(m['id'])?.(m);
        pending.delete(m['id']);
      }
    });
  });
  return {
    child,
    ready,
    ask: <T>(m: Record<string, unknown>) =>
      new Promise<T>((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`the fakes process did not answer "${String(m['cmd'])}" within 60 s`));
        }, 60_000);
        pending.set(id, (a) => {
          clearTimeout(timer);
          resolve(a as T);
        });
        child.send({ ...m, id });
      }),
  };
}

// ---- one configuration ----------------------------------------------------------------------------

interface Pending {
  t0: number;
  firstAt: number | undefined;
  receipts: Receipt[];
  first: Promise<void>;
  resolveFirst: () => void;
}

function vietnamHour(ms: number): number {
  return new Date(ms + 7 * 3600_000).getUTCHours();
}

async function runConfiguration(
  ci: number,
  workers: number,
  o: LoadOptions,
  plan: SeedPlan,
  seeded: Seeded,
  registry: SurveyRegistry,
  questions: string[],
  redis: Redis,
  surveyModeIn: 'chat' | 'repository' | undefined,
): Promise<ConfigResult> {
  const { db } = seeded;
  const split = o.split?.[ci];
  const label = split ? `${split.chat} chat + ${split.broadcasts} broadcasts worker${workers > 1 ? 's' : ''}` : `${workers} worker${workers > 1 ? 's' : ''}`;
  out(`\n== configuration ${ci + 1}: web ×1, ${label}`);
  const fakes = await startFakes(o.units);
  step('fake platforms up');
  for (const g of fakes.ready.grants) {
    const id = seeded.zaloAccountIds[g.unit];
    if (id !== undefined) await seeded.accounts.setSecrets(id, { accessToken: g.accessToken, refreshToken: g.refreshToken, accessExpiresAt: new Date(g.accessExpiresAt).toISOString() });
  }
  const [bu1, bu2] = plan.broadcastUnits[ci] ?? [0, 1];
  for (const u of [bu1, bu2]) {
    for (const platform of PLATFORMS) await fakes.ask({ cmd: 'audience', platform, unit: u, count: plan.perUnit[u]?.[platform] ?? 0, at: Date.now() - 3600_000 });
  }
  // Two citizens more per unit than the mix uses: the warm-up's and the survey probe's.
  await fakes.ask({ cmd: 'chat', config: ci, units: o.units, citizens: o.citizensPerUnit + 2, at: Date.now() });

  const prefix = `motcua_load_${process.pid}_${ci}`;
  const port = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? os.tmpdir(),
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    DATA_DIR: seeded.tmpDir,
    DATABASE_URL: seeded.dbUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_AUTOSTART: 'false',
    REDIS_KEY_PREFIX: prefix,
    SECRET_KEY,
    UNITS_FILE: seeded.unitsFile,
    FB_APP_ID: '999000111',
    FB_APP_SECRET,
    FB_VERIFY_TOKEN: 'load-verify-token',
    FB_GRAPH_URL: fakes.ready.graphUrl,
    ZALO_APP_ID,
    ZALO_APP_SECRET,
    ZALO_OA_SECRET_KEY: ZALO_OA_SECRET,
    ZALO_OPENAPI_URL: fakes.ready.zaloUrl,
    ZALO_OAUTH_URL: fakes.ready.zaloUrl,
    MESSENGER_SEND_RATE: process.env.MESSENGER_SEND_RATE ?? '300',
    ZALO_SEND_RATE: process.env.ZALO_SEND_RATE ?? '30',
  };
  const web = startRole('web', 'serve', { ...env, PORT: String(port), RUN_WORKERS: 'false' }, 'motcua is listening');
  // Split: the first workers take citizens' messages and replies, the others broadcasts (WORKER_TASKS).
  const tasksOf = (i: number): Record<string, string> => (split ? { WORKER_TASKS: i < split.chat ? 'chat' : 'broadcasts' } : {});
  const workerProcs = Array.from({ length: workers }, (_, i) => startRole(`worker ${i + 1}`, 'worker', { ...env, PORT: '0', ...tasksOf(i) }, 'workers started'));
  const roles = [web, ...workerProcs];
  const base = `http://127.0.0.1:${port}`;
  const bull = `${prefix}:bull`;
  // The queues watched: the three every build has, and any other the roles created (found once
  // they are up), so that a queue added later shows in the figures without a change here.
  const queues = new Map<string, Queue>([INBOUND_QUEUE, OUTBOUND_QUEUE, BROADCAST_QUEUE].map((name) => [name, new Queue(name, { connection: redis, prefix: bull })]));
  const announcementIds: Array<{ id: number; unit: number; submittedAt: number; fannedOutAt: number | null }> = [];
  let stopPolling = false;
  const stopped = new Map<string, string>();
  let result: ConfigResult | undefined;
  let poller: Promise<void> = Promise.resolve();
  let sampler: Promise<void> = Promise.resolve();
  try {
    await Promise.all(roles.map((r) => r.started));
    for (const until = Date.now() + 60_000; ; ) {
      const ok = await fetch(`${base}/readyz`).then((r) => r.ok).catch(() => false);
      if (ok) break;
      if (Date.now() > until) throw new Error('the web role did not become ready (GET /readyz) within 60 s');
      await sleep(200);
    }
    for (const name of await queueNames(redis, bull)) {
      if (name !== MAINTENANCE_QUEUE && !queues.has(name)) queues.set(name, new Queue(name, { connection: redis, prefix: bull }));
    }
    step(`roles up: web pid ${web.child.pid}, ${workerProcs.map((w) => `${w.name} pid ${w.child.pid}`).join(', ')}`);

    // Receipts: the fakes are polled; each reply's time is the fake's own clock of the call.
    const pending = new Map<string, Pending>();
    let lastPoll: PollAnswer = { receipts: [], bulk: { messenger: 0, zalo: 0 }, replies: { messenger: 0, zalo: 0 } };
    poller = (async () => {
      while (!stopPolling) {
        lastPoll = await fakes.ask<PollAnswer>({ cmd: 'poll' }).catch((err: unknown) => {
          step(`poll failed: ${err instanceof Error ? err.message : String(err)}`);
          return { ...lastPoll, receipts: [] };
        });
        for (const r of lastPoll.receipts) {
          const p = pending.get(`${r.platform}:${r.userId}`);
          if (!p || r.at < p.t0 - 1) continue;
          p.receipts.push(r);
          if (p.firstAt === undefined) {
            p.firstAt = r.at;
            p.resolveFirst();
          }
        }
        await sleep(POLL_MS);
      }
    })();

    let seq = 0;
    const postDurations: number[] = [];
    const counters = { posted: 0, accepted: 0, failed: 0, unanswered: 0, answered: 0 };
    const samples: TurnSample[] = [];
    let measuring = false;
    const post = async (platform: Platform, unit: number, userId: string, input: ChatInput): Promise<boolean> => {
      const ts = Date.now();
      const n = seq++;
      const raw = platform === 'messenger' ? messengerBody(pageId(unit), userId, `m_load_${process.pid}_${ci}_${n}`, input, ts) : zaloBody(ZALO_APP_ID, oaId(unit), userId, `${process.pid}${ci}${String(n).padStart(10, '0')}`, input, ts);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (platform === 'messenger') headers['x-hub-signature-256'] = messengerSignature(FB_APP_SECRET, raw);
      else headers['x-zevent-signature'] = zaloSignatureHeader(ZALO_APP_ID, raw, ts, ZALO_OA_SECRET);
      const t = performance.now();
      const status = await fetch(`${base}/webhooks/${platform}`, { method: 'POST', headers, body: raw }).then(
        async (r) => {
          await r.arrayBuffer();
          return r.status;
        },
        () => 0,
      );
      if (measuring) {
        counters.posted++;
        postDurations.push(performance.now() - t);
        if (status >= 200 && status < 300) counters.accepted++;
        else counters.failed++;
      }
      return status >= 200 && status < 300;
    };
    /** One citizen turn: the webhook, then the first message back at the fake (the latency), then the rest of the turn. */
    const turn = async (kind: SessionKind, platform: Platform, unit: number, userId: string, input: ChatInput): Promise<Receipt[] | null> => {
      const key = `${platform}:${userId}`;
      let resolveFirst = (): void => undefined;
      const first = new Promise<void>((r) => (resolveFirst = r));
      const p: Pending = { t0: Date.now(), firstAt: undefined, receipts: [], first, resolveFirst };
      pending.set(key, p);
      try {
        if (!(await post(platform, unit, userId, input))) return null;
        const answered = await Promise.race([first.then(() => true), sleep(REPLY_TIMEOUT_MS).then(() => false)]);
        if (!answered || p.firstAt === undefined) {
          if (measuring) counters.unanswered++;
          return null;
        }
        if (measuring) {
          counters.answered++;
          samples.push({ kind, platform, ms: p.firstAt - p.t0 });
        }
        await sleep(SETTLE_MS);
        return p.receipts;
      } finally {
        pending.delete(key);
      }
    };

    // The survey flow: answered in chat when the start payload opens the survey, else through
    // the repository (the chat flow is not wired in this build).
    const definition = registry.latest(SURVEY_ID);
    if (!definition) throw new Error(`no survey definition ${SURVEY_ID} in surveys/`);
    const tapVia = (platform: Platform): Button['via'] => (platform === 'messenger' ? 'postback' : 'zalo_query');
    // The probe runs beside the warm-up (not measured): one question per platform, so that
    // first-use costs are not counted.
    const spare = 2 * plan.broadcastUnits.length;
    const warmUp = Promise.all(PLATFORMS.map((platform) => turn('question', platform, spare, chatUserId(platform, ci, spare, o.citizensPerUnit), { type: 'text', text: 'đăng ký khai sinh' })));
    let surveyMode = surveyModeIn;
    if (surveyMode === undefined) {
      const probe = await turn('survey', 'messenger', spare, chatUserId('messenger', ci, spare, o.citizensPerUnit + 1), {
        type: 'tap',
        payload: `mc:sv:${SURVEY_ID}`,
        title: 'Khảo sát',
        via: 'postback',
      });
      const said = (probe ?? []).map((r) => r.text).join('\n');
      const marks = [definition.intro, definition.questions[0]?.text ?? '\u0000'].map((t) => t.slice(0, 40));
      surveyMode = marks.some((m) => said.includes(m)) ? 'chat' : 'repository';
    }
    await warmUp;
    step(`survey answers: ${surveyMode === 'chat' ? 'in chat (the survey flow answers mc:sv:…)' : 'through SurveyRepository (the chat flow did not answer its start payload)'}`);
    const surveys = new SurveyRepository(db, registry, { respondentKey: SECRET_KEY });
    const repoWrites: number[] = [];

    const before = await db.query<{ subs: string; answers: string; completed: string }>(
      `SELECT (SELECT count(*) FROM consent_events WHERE action = 'subscribe') AS subs,
              (SELECT count(*) FROM survey_answers) AS answers,
              (SELECT count(*) FROM survey_responses WHERE status = 'completed') AS completed`,
    );

    // ---- traffic ----
    step('warm-up done; traffic starts');
    const sessions = generateMix({ seed: o.seed, durationS: o.durationS, rate: o.rate, units: o.units, citizensPerUnit: o.citizensPerUnit, questions, weights: o.mix });
    const stats: ConfigResult['sessions'] = { question: { started: 0, completed: 0, abandoned: 0 }, subscribe: { started: 0, completed: 0, abandoned: 0 }, survey: { started: 0, completed: 0, abandoned: 0 } };
    let skippedBusy = 0;
    let maxLag = 0;
    let open = true;
    const busy = new Set<string>();
    // A citizen reads and taps in 0.8–2 s. The smoke run is quicker, lets the sessions it started
    // finish after its short window, and answers three survey questions, not all.
    const think = (rng: () => number): Promise<void> => sleep(o.smoke ? 100 + rng() * 200 : 800 + rng() * 1200);
    const goOn = (): boolean => open || (o.smoke && !interrupted);
    const surveySteps = o.smoke ? 3 : definition.questions.length + 3;
    const questionMarks = { with: 0, without: 0 };

    const runSession = async (s: Session): Promise<void> => {
      let citizen = s.citizen;
      let userId = chatUserId(s.platform, ci, s.unit, citizen);
      for (let tries = 0; busy.has(userId) && tries < o.citizensPerUnit; tries++) {
        citizen = (citizen + 1) % o.citizensPerUnit;
        userId = chatUserId(s.platform, ci, s.unit, citizen);
      }
      if (busy.has(userId)) {
        skippedBusy++;
        return;
      }
      busy.add(userId);
      const rng = mulberry32(s.seed);
      const st = stats[s.kind];
      st.started++;
      try {
        if (s.kind === 'question') {
          if (hasMarks(s.text)) questionMarks.with++;
          else questionMarks.without++;
          if (await turn('question', s.platform, s.unit, userId, { type: 'text', text: s.text })) st.completed++;
          return;
        }
        if (s.kind === 'subscribe') {
          const listed = await turn('subscribe', s.platform, s.unit, userId, { type: 'text', text: s.text });
          const groups = (listed ?? []).flatMap((r) => r.buttons).filter((b) => /^mc:sub:\d+$/.test(b.payload));
          if (groups.length === 0) return;
          await think(rng);
          if (!goOn()) {
            st.abandoned++;
            return;
          }
          const b = pick(rng, groups);
          if (await turn('subscribe', s.platform, s.unit, userId, { type: 'tap', payload: b.payload, title: b.title, via: b.via })) st.completed++;
          return;
        }
        if (surveyMode === 'chat') {
          let got = await turn('survey', s.platform, s.unit, userId, { type: 'tap', payload: `mc:sv:${SURVEY_ID}`, title: 'Khảo sát', via: tapVia(s.platform) });
          for (let step = 0; got && step < surveySteps; step++) {
            const said = got.map((r) => r.text).join('\n');
            if (said.includes(definition.thanks.slice(0, 30))) {
              st.completed++;
              return;
            }
            await think(rng);
            if (!goOn()) {
              st.abandoned++;
              return;
            }
            const choices = got.flatMap((r) => r.buttons).filter((b) => !isNavigation(b.payload));
            const b = choices.length ? pick(rng, choices) : undefined;
            got = await turn('survey', s.platform, s.unit, userId, b ? { type: 'tap', payload: b.payload, title: b.title, via: b.via } : { type: 'text', text: COMMENT });
          }
          if (got) st.abandoned++;
          return;
        }
        // Repository mode: the same answers, written as the flow would, at a citizen's pace.
        const t = performance.now();
        let progress: Progress = await surveys.start({ definitionId: SURVEY_ID, unitId: unitId(s.unit), channel: s.platform, platformUserId: userId, occasion: { kind: 'period', period: quarterOf(new Date()) } });
        repoWrites.push(performance.now() - t);
        const id = progress.response.id;
        for (let step = 0; progress.next; step++) {
          if (step >= surveySteps) {
            st.abandoned++;
            return;
          }
          await think(rng);
          if (!goOn()) {
            st.abandoned++;
            return;
          }
          const q = progress.next;
          const t1 = performance.now();
          progress = q.type === 'comment' ? await surveys.comment(id, q.id, COMMENT) : await surveys.answer(id, q.id, pick(rng, q.options).id);
          repoWrites.push(performance.now() - t1);
        }
        await surveys.complete(id);
        st.completed++;
      } finally {
        busy.delete(userId);
      }
    };

    // Monitoring: process memory and CPU, queue depths, broadcast backlog, every 2 s.
    const procs = [...roles.map((r) => ({ name: r.name, pid: r.child.pid ?? 0 })), { name: 'fakes', pid: fakes.child.pid ?? 0 }, { name: 'load driver', pid: process.pid }];
    const cpuStart = new Map(procs.map((p) => [p.name, readProc(p.pid)?.cpuTicks ?? 0]));
    const peak = new Map<string, number>();
    const last = new Map<string, number>();
    const pgTicks = new Map<number, { start: number; last: number }>();
    const trackPg = async (): Promise<void> => {
      const rows = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [seeded.dbName]);
      for (const { pid } of rows) {
        const ticks = readProc(Number(pid))?.cpuTicks;
        if (ticks === undefined) continue;
        const e = pgTicks.get(Number(pid));
        if (e) e.last = ticks;
        else pgTicks.set(Number(pid), { start: measuring ? 0 : ticks, last: ticks });
      }
    };
    await trackPg();
    const machineStart = machineCpu();
    const redisStart = await redisCpuSeconds(redis);
    const loadStart = os.loadavg()[0] ?? 0;
    const series: SeriesRow[] = [];
    const windowStart = Date.now();
    measuring = true;
    let sampling = true;
    const depth = async (q: Queue): Promise<QueueDepth> => {
      const c = await q.getJobCounts('wait', 'prioritized', 'active', 'delayed');
      return { waiting: (c['wait'] ?? 0) + (c['prioritized'] ?? 0), active: c['active'] ?? 0, delayed: c['delayed'] ?? 0 };
    };
    const sample = async (): Promise<void> => {
      const rssMb: Record<string, number> = {};
      for (const p of procs) {
        const r = readProc(p.pid);
        if (!r) continue;
        rssMb[p.name] = r.rssMb;
        peak.set(p.name, Math.max(peak.get(p.name) ?? 0, r.rssMb));
        last.set(p.name, r.rssMb);
      }
      await trackPg();
      // The backlog query reads the deliveries: every third sample only, to weigh little.
      const ids = announcementIds.map((a) => a.id);
      let backlog = series[series.length - 1]?.backlog ?? 0;
      if (ids.length && (series.length % 3 === 0 || !sampling)) {
        const [row] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM deliveries WHERE announcement_id = ANY($1::bigint[]) AND status IN ('pending', 'sending')`, [ids]);
        backlog = Number(row?.n ?? 0);
      }
      for (const a of announcementIds) {
        if (a.fannedOutAt !== null) continue;
        const [row] = await db.query<{ status: string }>('SELECT status FROM announcements WHERE id = $1', [a.id]);
        if (row && row.status !== 'fanning_out' && row.status !== 'scheduled') a.fannedOutAt = Date.now();
      }
      series.push({
        t: (Date.now() - windowStart) / 1000,
        queues: Object.fromEntries(await Promise.all([...queues].map(async ([name, q]) => [name, await depth(q)] as const))),
        bulkSent: lastPoll.bulk.messenger + lastPoll.bulk.zalo,
        replies: lastPoll.replies.messenger + lastPoll.replies.zalo,
        backlog,
        rssMb,
      });
    };
    sampler = (async () => {
      while (sampling) {
        const t = Date.now();
        await sample().catch(() => undefined);
        await sleep(Math.max(0, SAMPLE_MS - (Date.now() - t)));
      }
    })();

    // Two broadcasts, as an officer's automation submits them, early in the window.
    const bulkAtStart = { ...lastPoll.bulk };
    const submit = async (unit: number): Promise<void> => {
      const res = await fetch(`${base}/api/v1/units/${unitId(unit)}/announcements`, {
        method: 'POST',
        headers: { authorization: `Bearer ${seeded.apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          title: 'Lịch tiếp công dân tháng này',
          body: 'Chủ tịch UBND xã tiếp công dân sáng thứ Năm hằng tuần tại Bộ phận Một cửa. Mời bà con đến đúng giờ và mang theo giấy tờ liên quan.',
          groupIds: [seeded.groupIds.get(unit)],
          channels: ['messenger', 'zalo'],
          send: true,
        }),
      });
      if (res.status !== 201) throw new Error(`announcement of ${unitId(unit)}: HTTP ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { id: number };
      announcementIds.push({ id: body.id, unit, submittedAt: Date.now(), fannedOutAt: null });
    };
    const zaloNight = (h: number): boolean => h < 6 || h >= 22;
    const zaloDeferred = zaloNight(vietnamHour(Date.now()));
    let submitError: unknown;
    const broadcastTimers = (
      o.recipients > 0 ? [sleep(Math.min(5_000, o.durationS * 100)).then(() => submit(bu1)), sleep(Math.min(10_000, o.durationS * 250)).then(() => submit(bu2))] : []
    ).map((p) => p.catch((err: unknown) => void (submitError ??= err)));

    const inflight: Array<Promise<void>> = [];
    for (const s of sessions) {
      if (interrupted) break;
      const wait = windowStart + s.at - Date.now();
      if (wait > 0) await sleep(wait);
      else maxLag = Math.max(maxLag, -wait);
      inflight.push(runSession(s).catch((err: unknown) => step(`session error: ${err instanceof Error ? err.message : String(err)}`)));
    }
    await Promise.all(broadcastTimers);
    if (submitError) throw submitError;
    const windowEnd = windowStart + o.durationS * 1000;
    while (windowEnd > Date.now() && !interrupted) await sleep(Math.min(250, windowEnd - Date.now()));
    open = false;
    step('window over; draining the turns in flight');
    const bulkAtEnd = { ...lastPoll.bulk };
    const repliesAtEnd = lastPoll.replies.messenger + lastPoll.replies.zalo;
    const cpuEnd = new Map(procs.map((p) => [p.name, readProc(p.pid)?.cpuTicks ?? 0]));
    await trackPg();
    const machineEnd = machineCpu();
    const redisEnd = await redisCpuSeconds(redis);
    const loadEnd = os.loadavg()[0] ?? 0;
    const elapsedS = (Date.now() - windowStart) / 1000;
    const footprint = await redisFootprint(redis, prefix);
    const [dbSize] = await db.query<{ mb: string }>('SELECT pg_database_size(current_database()) / 1048576.0 AS mb');
    // Drain: turns in flight finish (or time out); no new step starts.
    await Promise.race([Promise.allSettled(inflight), sleep(DRAIN_MAX_MS)]);
    measuring = false;
    if (o.smoke) {
      // The smoke run checks that both broadcasts were delivered: give them a little longer.
      const wantMessenger = announcementIds.length * Math.floor(o.recipients / 2);
      const wantZalo = zaloDeferred ? 0 : announcementIds.length * o.recipients - wantMessenger;
      for (let i = 0; i < 150 && (lastPoll.bulk.messenger < wantMessenger || lastPoll.bulk.zalo < wantZalo); i++) await sleep(100);
    }
    step('drained');
    sampling = false;
    await sampler;
    await sample().catch(() => undefined);

    const after = await db.query<{ subs: string; answers: string; completed: string }>(
      `SELECT (SELECT count(*) FROM consent_events WHERE action = 'subscribe') AS subs,
              (SELECT count(*) FROM survey_answers) AS answers,
              (SELECT count(*) FROM survey_responses WHERE status = 'completed') AS completed`,
    );
    const list: BroadcastFigures[] = [];
    for (const a of announcementIds) {
      const [row] = await db.query<{ status: string }>('SELECT status FROM announcements WHERE id = $1', [a.id]);
      const counts = await db.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM deliveries WHERE announcement_id = $1 GROUP BY status', [a.id]);
      list.push({
        unitId: unitId(a.unit),
        id: a.id,
        submittedAtS: (a.submittedAt - windowStart) / 1000,
        fannedOutAtS: a.fannedOutAt === null ? null : (a.fannedOutAt - windowStart) / 1000,
        status: row?.status ?? '?',
        deliveries: Object.fromEntries(counts.map((c) => [c.status, Number(c.n)])),
      });
      // Stop the rest, as an officer would: the next configuration starts clean.
      await fetch(`${base}/api/v1/units/${unitId(a.unit)}/announcements/${a.id}/cancel`, {
        method: 'POST',
        headers: { authorization: `Bearer ${seeded.apiToken}`, 'content-type': 'application/json' },
        body: '{}',
      }).catch(() => undefined);
    }

    const ticks = (name: string): number => ((cpuEnd.get(name) ?? 0) - (cpuStart.get(name) ?? 0)) / CLK_TCK;
    const byKind = (k: SessionKind): number[] => samples.filter((s) => s.kind === k).map((s) => s.ms);
    const byPlatform = (p: Platform): number[] => samples.filter((s) => s.platform === p).map((s) => s.ms);
    const windowSends = { messenger: bulkAtEnd.messenger - bulkAtStart.messenger, zalo: bulkAtEnd.zalo - bulkAtStart.zalo };
    const num = (rows: Array<Record<string, string>>, k: string): number => Number(rows[0]?.[k] ?? 0);
    const pgCpu = [...pgTicks.values()].reduce((a, e) => a + (e.last - e.start), 0) / CLK_TCK;
    result = {
      workers,
      label,
      durationS: o.durationS,
      surveyMode,
      sessions: stats,
      sessionsSkippedBusy: skippedBusy,
      maxScheduleLagMs: maxLag,
      webhooks: { posted: counters.posted, accepted: counters.accepted, failed: counters.failed, post: summarize(postDurations) },
      turns: {
        answered: counters.answered,
        unanswered: counters.unanswered,
        all: summarize(samples.map((s) => s.ms)),
        byPlatform: { messenger: summarize(byPlatform('messenger')), zalo: summarize(byPlatform('zalo')) },
        byKind: { question: summarize(byKind('question')), subscribe: summarize(byKind('subscribe')), survey: summarize(byKind('survey')) },
      },
      questionsWithMarks: questionMarks.with,
      questionsWithoutMarks: questionMarks.without,
      subscriptionsRecorded: num(after, 'subs') - num(before, 'subs'),
      surveyAnswersRecorded: num(after, 'answers') - num(before, 'answers'),
      surveyResponsesCompleted: num(after, 'completed') - num(before, 'completed'),
      surveyRepositoryWrites: summarize(repoWrites),
      broadcast: {
        windowSends,
        afterDrainSends: { messenger: lastPoll.bulk.messenger - bulkAtStart.messenger, zalo: lastPoll.bulk.zalo - bulkAtStart.zalo },
        sendsPerSecond: (windowSends.messenger + windowSends.zalo) / elapsedS,
        list,
        zaloDeferredAtNight: zaloDeferred,
      },
      throughput: {
        sessionsPerS: (stats.question.started + stats.subscribe.started + stats.survey.started) / elapsedS,
        webhooksPerS: counters.accepted / elapsedS,
        repliesPerS: (repliesAtEnd - (series[0]?.replies ?? 0)) / elapsedS,
      },
      processes: procs.map((p) => {
        const role = roles.find((r) => r.name === p.name);
        return {
          name: p.name,
          startedInS: role ? role.startedInS : null,
          // Filled in when the roles are stopped (after this object is built).
          stop: null,
          peakRssMb: peak.get(p.name) ?? 0,
          endRssMb: last.get(p.name) ?? 0,
          cpuCores: ticks(p.name) / elapsedS,
          warnings: role?.levels.warn ?? 0,
          errors: role?.levels.error ?? 0,
          errorMessages: role?.errors ?? [],
        };
      }),
      postgresCpuCores: pgCpu / elapsedS,
      redis: footprint,
      databaseMb: Number(dbSize?.mb ?? NaN),
      redisCpuCores: (redisEnd - redisStart) / elapsedS,
      machineBusyPercent: machineEnd.total > machineStart.total ? (100 * (machineEnd.busy - machineStart.busy)) / (machineEnd.total - machineStart.total) : NaN,
      loadAverage: { start: loadStart, end: loadEnd },
      series,
    };
  } finally {
    stopPolling = true;
    await poller.catch(() => undefined);
    const stops = await Promise.all(roles.map((r) => stopChild(r.child, o.smoke ? 2000 : 10_000)));
    roles.forEach((r, i) => stopped.set(r.name, stops[i] ?? ''));
    fakes.child.disconnect();
    await stopChild(fakes.child, 5000);
    for (const q of queues.values()) await q.close().catch(() => undefined);
    await deleteKeys(redis, prefix);
    step('processes stopped, Redis keys deleted');
  }
  for (const p of result.processes) p.stop = stopped.get(p.name) ?? null;
  return result;
}

/** The BullMQ queues under a prefix (each has a `<prefix>:<name>:meta` hash). */
async function queueNames(redis: Redis, bull: string): Promise<string[]> {
  const names = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${bull}:*:meta`, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) names.add(k.slice(bull.length + 1, -':meta'.length));
  } while (cursor !== '0');
  return [...names].sort();
}

/** Keys under the prefix and their memory, from MEMORY USAGE of every 50th key (an estimate). */
async function redisFootprint(redis: Redis, prefix: string): Promise<{ keys: number; mb: number }> {
  let cursor = '0';
  let keys = 0;
  let sampled = 0;
  let bytes = 0;
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const k of found) {
      if (keys++ % 50 !== 0) continue;
      const b = await redis.memory('USAGE', k);
      if (typeof b === 'number') {
        bytes += b;
        sampled++;
      }
    }
  } while (cursor !== '0');
  return { keys, mb: sampled ? (bytes / sampled) * keys / 2 ** 20 : 0 };
}

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}

// ---- the report ---------------------------------------------------------------------------------

const ms = (s: Summary): string => (s.n ? `${fmt(s.p50)} / ${fmt(s.p95)} / ${fmt(s.p99)}` : '—');

function comparison(results: ConfigResult[]): string {
  const head = ['figure', ...results.map((r) => r.label)];
  const row = (name: string, f: (r: ConfigResult) => string): string[] => [name, ...results.map(f)];
  const proc = (r: ConfigResult, name: string): ProcessFigures | undefined => r.processes.find((p) => p.name === name);
  const workerNames = [...new Set(results.flatMap((r) => r.processes.map((p) => p.name).filter((n) => n.startsWith('worker'))))];
  const rows: string[][] = [
    row('citizen sessions started /s (questions · subscriptions · surveys)', (r) => `${fmt(r.throughput.sessionsPerS, 1)} (${r.sessions.question.started} · ${r.sessions.subscribe.started} · ${r.sessions.survey.started})`),
    row('webhooks accepted /s (failed)', (r) => `${fmt(r.throughput.webhooksPerS, 1)} (${r.webhooks.failed})`),
    row('webhook POST p50 / p95 / p99 ms', (r) => ms(r.webhooks.post)),
    row('replies sent to citizens /s', (r) => fmt(r.throughput.repliesPerS, 1)),
    row('**reply latency p50 / p95 / p99 ms** (webhook POST → Send API)', (r) => `**${ms(r.turns.all)}**`),
    row('— Messenger', (r) => ms(r.turns.byPlatform.messenger)),
    row('— Zalo', (r) => ms(r.turns.byPlatform.zalo)),
    row('— questions', (r) => ms(r.turns.byKind.question)),
    row('— subscription turns', (r) => ms(r.turns.byKind.subscribe)),
    row('— survey turns', (r) => ms(r.turns.byKind.survey)),
    row('turns answered / unanswered after 30 s', (r) => `${fmt(r.turns.answered)} / ${fmt(r.turns.unanswered)}`),
    row('questions with / without diacritics', (r) => `${r.questionsWithMarks} / ${r.questionsWithoutMarks}`),
    row('subscriptions recorded (in chat)', (r) => fmt(r.subscriptionsRecorded)),
    row('survey answers recorded (responses completed)', (r) => `${fmt(r.surveyAnswersRecorded)} (${fmt(r.surveyResponsesCompleted)}), ${r.surveyMode}`),
    row('broadcast sends in the window (Messenger + Zalo)', (r) => `${fmt(r.broadcast.windowSends.messenger)} + ${fmt(r.broadcast.windowSends.zalo)}`),
    row('broadcast sends /s', (r) => fmt(r.broadcast.sendsPerSecond, 1)),
    row('fan-out of each broadcast done at (s into the window)', (r) => !r.broadcast.list.length ? '—' : r.broadcast.list.map((b) => (b.fannedOutAtS === null ? 'not done' : `${fmt(b.fannedOutAtS, 1)} (sent at ${fmt(b.submittedAtS, 1)})`)).join('; ')),
    row('peak RSS MiB: web', (r) => fmt(proc(r, 'web')?.peakRssMb ?? NaN)),
    ...workerNames.map((n) => row(`peak RSS MiB: ${n}`, (r) => fmt(proc(r, n)?.peakRssMb ?? NaN))),
    row('peak RSS MiB: fakes / load driver', (r) => `${fmt(proc(r, 'fakes')?.peakRssMb ?? NaN)} / ${fmt(proc(r, 'load driver')?.peakRssMb ?? NaN)}`),
    row('CPU (cores): web', (r) => fmt(proc(r, 'web')?.cpuCores ?? NaN, 2)),
    ...workerNames.map((n) => row(`CPU (cores): ${n}`, (r) => fmt(proc(r, n)?.cpuCores ?? NaN, 2))),
    row('CPU (cores): PostgreSQL backends of the run / Redis (shared)', (r) => `${fmt(r.postgresCpuCores, 2)} / ${fmt(r.redisCpuCores, 2)}`),
    row('Redis at the end of the window: keys / MiB (est.) · database size MiB', (r) => `${fmt(r.redis.keys)} / ${fmt(r.redis.mb)} · ${fmt(r.databaseMb)}`),
    row('CPU (cores): fakes / load driver', (r) => `${fmt(proc(r, 'fakes')?.cpuCores ?? NaN, 2)} / ${fmt(proc(r, 'load driver')?.cpuCores ?? NaN, 2)}`),
    row('machine busy % (all processes, incl. other users) · load average start → end', (r) => `${fmt(r.machineBusyPercent)} % · ${fmt(r.loadAverage.start, 1)} → ${fmt(r.loadAverage.end, 1)}`),
    row('roles ready after (s): web · workers', (r) => `${fmt(proc(r, 'web')?.startedInS ?? NaN, 1)} · ${r.processes.filter((p) => p.name.startsWith('worker')).map((p) => fmt(p.startedInS ?? NaN, 1)).join(', ')}`),
    row('roles on SIGTERM', (r) => r.processes.filter((p) => p.stop !== null).map((p) => `${p.name} ${p.stop}`).join('; ')),
    row('errors / warnings logged by the roles', (r) => `${r.processes.reduce((a, p) => a + p.errors, 0)} / ${r.processes.reduce((a, p) => a + p.warnings, 0)}`),
    row('driver: sessions late by up to (ms) · skipped (citizen busy)', (r) => `${fmt(r.maxScheduleLagMs)} · ${r.sessionsSkippedBusy}`),
  ];
  return markdownTable(head, rows);
}

function seriesTable(r: ConfigResult): string {
  const q = (d: QueueDepth | undefined): string => (d ? `${fmt(d.waiting)}/${fmt(d.active)}/${fmt(d.delayed)}` : '—');
  const names = Object.keys(r.series[0]?.rssMb ?? {}).filter((n) => n === 'web' || n.startsWith('worker'));
  const queueNames = [...new Set(r.series.flatMap((s) => Object.keys(s.queues)))];
  const rows = thin(r.series, 16).map((s, i, all) => {
    const prev = all[i - 1];
    const dt = prev ? s.t - prev.t : s.t;
    return [
      fmt(s.t),
      ...queueNames.map((n) => q(s.queues[n])),
      fmt(s.backlog),
      prev && dt > 0 ? fmt((s.bulkSent - prev.bulkSent) / dt) : '—',
      names.map((n) => fmt(s.rssMb[n] ?? NaN)).join(' / '),
    ];
  });
  return markdownTable(
    ['t (s)', ...queueNames.map((n) => `${n} waiting/active/delayed`), 'deliveries pending', 'broadcast sends /s', `RSS MiB (${names.join(' / ')})`],
    rows,
  );
}

function smokeProblems(r: ConfigResult, o: LoadOptions): string[] {
  const problems: string[] = [];
  if (r.turns.answered === 0) problems.push('no turn was answered');
  if (r.turns.unanswered > 0) problems.push(`${r.turns.unanswered} turn(s) unanswered`);
  if (r.webhooks.failed > 0) problems.push(`${r.webhooks.failed} webhook(s) refused`);
  for (const k of ['question', 'subscribe', 'survey'] as const) if (r.sessions[k].started === 0) problems.push(`no ${k} session ran`);
  if (r.turns.byKind.question.n === 0) problems.push('no question was answered');
  if (r.subscriptionsRecorded === 0) problems.push('no subscription was recorded');
  if (r.surveyAnswersRecorded === 0 && r.turns.byKind.survey.n === 0) problems.push('no survey answer was recorded');
  if (r.broadcast.list.length !== 2) problems.push('the two broadcasts were not submitted');
  const wantMessenger = 2 * Math.floor(o.recipients / 2);
  if (r.broadcast.afterDrainSends.messenger < wantMessenger) problems.push(`Messenger broadcast sends ${r.broadcast.afterDrainSends.messenger} of ${wantMessenger}`);
  if (!r.broadcast.zaloDeferredAtNight && r.broadcast.afterDrainSends.zalo < 2 * o.recipients - wantMessenger) problems.push(`Zalo broadcast sends ${r.broadcast.afterDrainSends.zalo} of ${2 * o.recipients - wantMessenger}`);
  for (const p of r.processes) {
    if (p.errors > 0) problems.push(`${p.name} logged ${p.errors} error(s): ${p.errorMessages.join('; ')}`);
    if (!(p.peakRssMb > 0)) problems.push(`no memory figure for ${p.name}`);
  }
  if (r.series.length === 0) problems.push('no queue depth sample');
  return problems;
}

// ---- main -----------------------------------------------------------------------------------------

async function main(): Promise<number> {
  let o: LoadOptions;
  try {
    o = parseLoadArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof LoadArgsError) {
      process.stderr.write(`load: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (o.help) {
    out(LOAD_USAGE);
    return 0;
  }
  const questions = parseQuestionsTsv(fs.readFileSync(path.join(ROOT, '../shared/data/queries-dev.tsv'), 'utf8'));
  const registry = loadSurveyRegistry(path.join(ROOT, 'surveys'));
  const plan = planSeed(o);
  const dbName = o.smoke ? `motcua_load_smoke_${randomBytes(3).toString('hex')}` : 'motcua_load';
  const started = new Date();
  out(`motcua load — ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${os.cpus().length} cores, ${fmt(os.totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  out(`command: npm run load -- ${process.argv.slice(2).join(' ')}`.trimEnd());
  out(`mix: ${fmt(o.rate, 1)} citizen sessions/s for ${o.durationS} s per configuration — questions ${fmt(o.mix.question * 100)} %, subscriptions ${fmt(o.mix.subscribe * 100)} %, SIPAS surveys ${fmt(o.mix.survey * 100)} %; 60 % Zalo, 40 % Messenger; ${questions.length} real questions, 40 % sent without diacritics`);
  out(
    o.recipients > 0
      ? `broadcasts: 2 × ${fmt(o.recipients)} recipients per configuration (half Messenger, half Zalo), rates ${process.env.MESSENGER_SEND_RATE ?? 300}/s per Page, ${process.env.ZALO_SEND_RATE ?? 30}/s per OA`
      : 'broadcasts: none (--recipients 0): the citizens\' traffic alone',
  );

  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  let seeded: Seeded | undefined;
  const results: ConfigResult[] = [];
  const onSignal = (): void => {
    interrupted = true;
    out('\ninterrupted: stopping the processes and cleaning up…');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    out(`seeding database ${dbName}: ${o.units} units, ${2 * o.units} channel accounts, ${fmt(o.subscribers)} subscribers…`);
    seeded = await seed(o, plan, dbName);
    step(`seeded in ${fmt(seeded.seedSeconds, 1)} s`);
    let surveyMode: 'chat' | 'repository' | undefined;
    for (let ci = 0; ci < o.workers.length && !interrupted; ci++) {
      const r = await runConfiguration(ci, o.workers[ci] ?? 1, o, plan, seeded, registry, questions, redis, surveyMode);
      surveyMode = r.surveyMode;
      results.push(r);
      step(`reply latency p50/p95/p99 ${ms(r.turns.all)} ms, ${fmt(r.throughput.webhooksPerS, 1)} webhooks/s, ${fmt(r.broadcast.sendsPerSecond, 1)} broadcast sends/s`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (seeded) {
      await seeded.db.close().catch(() => undefined);
      fs.rmSync(seeded.tmpDir, { recursive: true, force: true });
      if (!o.keepDb) await adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    }
    redis.disconnect();
  }

  out('\n## Figures, configurations side by side\n');
  out(comparison(results));
  for (const r of results) {
    out(`\n## Queue depths and memory over time — ${r.label}\n`);
    out(seriesTable(r));
    for (const b of r.broadcast.list) {
      out(`\nbroadcast ${b.unitId}: ${b.status} at the end of the run; deliveries ${Object.entries(b.deliveries).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
    }
    if (r.broadcast.zaloDeferredAtNight) out('Zalo promotions wait for 06:00 Vietnam time: the Zalo half of each broadcast was deferred, not sent, in this run.');
    const errs = r.processes.filter((p) => p.errors > 0);
    for (const p of errs) out(`${p.name}: ${p.errors} error line(s) logged: ${p.errorMessages.join('; ')}`);
  }
  if (o.jsonFile) fs.writeFileSync(o.jsonFile, JSON.stringify({ startedAt: started.toISOString(), options: o, results }, null, 2));
  if (o.smoke) {
    const problems = results.flatMap((r) => smokeProblems(r, o));
    out(problems.length ? `\nsmoke: FAILED\n- ${problems.join('\n- ')}` : '\nsmoke: ok');
    return problems.length ? 1 : 0;
  }
  return interrupted ? 130 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`load: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
