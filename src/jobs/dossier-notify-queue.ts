// The queue side of dossier notices (issue #7): a 'tick' job scheduler on the dossier-notify
// queue (one scheduler whatever the number of workers; the tick itself claims the event cursor
// in PostgreSQL, so two ticks never create anything twice), and the send jobs on the outbound
// queue — kind 'reply' (the replies' queue), one body naming the notice ({dossierNotice: id}),
// job id dn-<notice>-<generation> — so that notices share the replies' rate limits, retries and
// error classification. The outbound worker's send handler hands such a body to the notifier
// (withNoticeSends), which renders, claims, sends and records it.
import type { SchedulerSpec } from './upkeep.js';
import { Queue, Worker, type Job } from 'bullmq';
import { duplicateClient, type RedisClient } from '../store/redis.js';
import type { Config } from '../config.js';
import type { Platforms } from '../platforms.js';
import type { Services } from '../services.js';
import type { OutboundHandlers, OutboundJob, OutboundQueue } from './outbound-queue.js';
import type { FetchLike } from '../channels/zalo/tokens.js';
import { createDossierNotifier, noticeIdOf, noticeJobBody, type DossierNotifier, type NoticeJobs, type NotifierOptions } from '../dossiers/notifier.js';
import { createNoticeGateway } from '../dossiers/notice-gateway.js';
import { NoticeStore, type NoticeJobRef } from '../dossiers/notice-store.js';

export const DOSSIER_NOTIFY_QUEUE = 'dossier-notify';

/** BullMQ job ids may not contain ':'. */
export function noticeJobId(noticeId: number, generation: number): string {
  return `dn-${noticeId}-${generation}`;
}

const LIVE_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/** Notice send jobs on the outbound queue. */
export function createNoticeJobs(outbound: OutboundQueue): NoticeJobs {
  const toJob = (r: NoticeJobRef): OutboundJob => ({
    kind: 'reply',
    platform: r.platform,
    accountId: r.accountId,
    userId: r.userId,
    bodies: [noticeJobBody(r.noticeId)],
    sent: 0,
    refreshed: false,
  });
  return {
    async enqueue(refs) {
      // Few at a time (a dossier has a linked citizen or two): one add each, on the replies' queue.
      for (const r of refs) await outbound.add(toJob(r), noticeJobId(r.noticeId, r.generation));
    },
    async isLive(r) {
      return LIVE_STATES.has(await outbound.replies.getJobState(noticeJobId(r.noticeId, r.generation)));
    },
  };
}

/** The outbound worker's send: a notice body goes to the notifier, any other to `inner`. */
export function withNoticeSends(inner: OutboundHandlers['send'], notifier: Pick<DossierNotifier, 'send'>): OutboundHandlers['send'] {
  return (job, body) => {
    const id = noticeIdOf(body);
    return id === undefined ? inner(job, body) : notifier.send(id);
  };
}

export interface DossierNotices {
  notifier: DossierNotifier;
  store: NoticeStore;
  /** Wraps the platforms' send for the outbound worker. */
  wrapSend(inner: OutboundHandlers['send']): OutboundHandlers['send'];
}

/** The notifier over the deployment's services (both roles: the web path delivers held ones). */
export function createDossierNotices(deps: {
  services: Pick<Services, 'db' | 'dossiers' | 'accounts' | 'liveUnits' | 'procedureName' | 'surveyRegistry'>;
  platforms: Pick<Platforms, 'broadcast' | 'zaloTokens'>;
  outbound: OutboundQueue;
  config: Pick<Config, 'ZALO_OPENAPI_URL' | 'DOSSIER_EVALUATION_SURVEY' | 'DOSSIER_HELD_DAYS' | 'BROADCAST_LEASE_SECONDS' | 'DOSSIER_NOTIFY_TICK_SECONDS' | 'JOB_LOCK_SECONDS'>;
  fetch?: FetchLike;
  now?: () => Date;
  log?: NotifierOptions['log'];
  /** Overrides for tests (batch size, gap grace…). */
  options?: Partial<Pick<NotifierOptions, 'batch' | 'gapGraceSeconds' | 'maxAttempts' | 'leaseMs' | 'idleMs'>>;
}): DossierNotices {
  const { services, config } = deps;
  const store = new NoticeStore(services.db);
  if (!services.surveyRegistry.latest(config.DOSSIER_EVALUATION_SURVEY)) {
    deps.log?.('warn', 'DOSSIER_EVALUATION_SURVEY names no loaded survey: offers open nothing', { code: 'DOSSIER_SURVEY_UNKNOWN' });
  }
  const leaseMs = config.BROADCAST_LEASE_SECONDS * 1000;
  const notifier = createDossierNotifier({
    store,
    gateway: createNoticeGateway({
      broadcast: deps.platforms.broadcast.gateway,
      zaloOaId: async (accountId) => {
        const a = await services.accounts.get(accountId);
        return a && a.platform === 'zalo' ? a.externalId : undefined;
      },
      zaloTokens: deps.platforms.zaloTokens,
      zaloOpenapiUrl: config.ZALO_OPENAPI_URL,
      fetch: deps.fetch,
    }),
    jobs: createNoticeJobs(deps.outbound),
    marks: {
      resultNotified: (d, c, at) => services.dossiers.markResultNotified(d, c, at),
      evaluationOffered: (d, c, at) => services.dossiers.markEvaluationOffered(d, c, at),
    },
    unit: async (unitId) => {
      const u = await services.liveUnits.get(unitId);
      return u ? { name: u.name, address: u.address, hours: u.hours } : null;
    },
    procedureName: (unitId, code) => services.procedureName(unitId, code),
    evaluationSurvey: config.DOSSIER_EVALUATION_SURVEY,
    heldDays: config.DOSSIER_HELD_DAYS,
    leaseMs,
    // A job lost with its worker comes back after the BullMQ lock; only then is it re-queued.
    idleMs: Math.max(2 * config.DOSSIER_NOTIFY_TICK_SECONDS * 1000, leaseMs, config.JOB_LOCK_SECONDS * 1000),
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.log ? { log: deps.log } : {}),
    ...deps.options,
  });
  return { notifier, store, wrapSend: (inner) => withNoticeSends(inner, notifier) };
}

/** Starts the tick (every `tickMs`, one scheduler for all workers) in this process. */
export async function startDossierNotifyWorker(options: {
  redis: RedisClient;
  prefix: string;
  notifier: Pick<DossierNotifier, 'tick'>;
  tickMs: number;
  onError?(err: unknown): void;
}): Promise<{ queue: Queue; worker: Worker; scheduler: SchedulerSpec; close(): Promise<void> }> {
  const { redis, prefix } = options;
  const queue = new Queue(DOSSIER_NOTIFY_QUEUE, { connection: redis, prefix });
  const scheduler: SchedulerSpec = {
    name: 'dossier-notify-tick',
    exists: async () => (await queue.getJobScheduler('dossier-notify-tick')) !== undefined,
    ensure: async () => {
      await queue.upsertJobScheduler('dossier-notify-tick', { every: options.tickMs }, { name: 'tick', data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } });
    },
  };
  await scheduler.ensure();
  const connection = duplicateClient(redis, { blocking: true });
  const worker = new Worker(
    DOSSIER_NOTIFY_QUEUE,
    async (job: Job) => (job.name === 'tick' ? options.notifier.tick() : { skipped: `unknown job ${job.name}` }),
    { connection, prefix, concurrency: 1 },
  );
  worker.on('failed', (_job, err) => options.onError?.(err));
  // BullMQ leaves a connection it was given open: ours is closed with the worker.
  worker.on('closed', () => connection.disconnect());
  return {
    queue,
    worker,
    scheduler,
    close: async () => {
      await worker.close();
      await queue.close();
    },
  };
}
