// Composition root: reads the settings, builds the services, and starts a role —
// `serve` (HTTP: widget, health, metrics; plus the workers unless RUN_WORKERS=false) or
// `worker` (background jobs only). Shuts down cleanly on SIGINT/SIGTERM.
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { loadConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { buildServices, type Services } from './services.js';
import { createApp } from './http/create-app.js';
import { createWebChannelRouter } from './channels/web/web-channel-router.js';
import { createMaintenanceQueue, createMaintenanceWorker, maintenanceScheduler, scheduleMaintenance } from './jobs/maintenance-queue.js';
import { InboundQueue, createInboundWorker } from './jobs/inbound-queue.js';
import { InboundSpoolDrain } from './jobs/inbound-spool-drain.js';
import { InboundSpoolRepository } from './store/inbound-spool.js';
import { OutboundQueue, createOutboundWorker, readInDoubtCounts, sendRates } from './jobs/outbound-queue.js';
import { BroadcastQueue, startBroadcastWorkers } from './jobs/broadcast-queue.js';
import { errorReporter, keepSchedulers, type ErrorReporter } from './jobs/upkeep.js';
import { createDossierNotices, startDossierNotifyWorker, type DossierNotices } from './jobs/dossier-notify-queue.js';
import { createGroupsRouter } from './admin/groups-router.js';
import { createGroupsApiRouter } from './api/groups-api.js';
import { createAnnouncementsRouter, type AnnouncementsDeps } from './admin/announcements-router.js';
import { createAnnouncementsApiRouter } from './api/announcements-api.js';
import { createPredictor } from './broadcast/prediction.js';
import { previewAnnouncement } from './broadcast/render.js';
import { deliverHeld } from './broadcast/held.js';
import { createDossiersRouter } from './admin/dossiers-router.js';
import { createDossiersApiRouter } from './api/dossiers-api.js';
import { createWebhookRouter } from './channels/webhook-router.js';
import { createInboundHandler } from './channels/inbound-handler.js';
import { createPlatforms, type Platforms } from './platforms.js';
import { createZaloConnectRouter } from './channels/connect/zalo-connect-router.js';
import { devSecret } from './services.js';
import { cachedAccountLookup } from './channels/account-cache.js';
import { createAuth, ensureFirstAdmin, LoginLimiter, SessionStore } from './admin/auth/index.js';
import { createDashboardRouter } from './admin/dashboard-router.js';
import { createQueueDashboard } from './jobs/queue-dashboard.js';
import { createHandoffsRouter } from './admin/handoffs-router.js';
import { createQuestionsRouter } from './admin/questions-router.js';
import { createUnitsRouter } from './admin/units-router.js';
import { createUsersRouter } from './admin/users-router.js';
import { createCatalogueRouter } from './admin/catalogue-router.js';
import { signConnectToken } from './channels/connect/connect-link.js';
import { createApiV1Router } from './api/api-v1-router.js';
import { createSurveysRouter, periodicSurveys } from './admin/surveys-router.js';
import { createSurveysApiRouter } from './api/surveys-api.js';
import express from 'express';

export interface Running {
  services: Services;
  server?: http.Server;
  url?: string;
  stop(): Promise<void>;
}

async function startWorkers(services: Services, platforms: Platforms, outbound: OutboundQueue, notices: DossierNotices, errors: ErrorReporter): Promise<() => Promise<void>> {
  const { config, logger, redis } = services;
  const prefix = `${config.REDIS_KEY_PREFIX}:bull`;
  // WORKER_TASKS: citizens' messages and replies ('chat') and broadcasts may run in separate
  // processes, so that replies never share a process (CPU, event loop, database pool) with bulk work.
  const chat = config.WORKER_TASKS.includes('chat');
  // Broadcasts (issue #5): fan-out and tick worker; its step runs delivery jobs in the outbound worker.
  const subscriptions = services.subscriptions;
  const broadcasts = !config.WORKER_TASKS.includes('broadcasts') ? undefined : await startBroadcastWorkers({
    redis: redis.client,
    prefix,
    outbound,
    store: services.broadcasts,
    audiencePage: (query) => subscriptions.audiencePage(query),
    platform: platforms.broadcast,
    rates: sendRates(config),
    settings: {
      leaseMs: config.BROADCAST_LEASE_SECONDS * 1000,
      tickMs: config.BROADCAST_TICK_SECONDS * 1000,
      lockDurationMs: config.JOB_LOCK_SECONDS * 1000,
      throttleBaseMs: config.BROADCAST_THROTTLE_BASE_MS,
      zaloMonthlyCap: config.ZALO_PROMOTION_MONTHLY_CAP,
    },
    log: (level, event, fields) => logger[level](fields, event),
  });
  const handleInbound = createInboundHandler({
    engine: services.engine,
    state: services.state,
    touchContact: async (accountId, userId, at, following) => void (await services.contacts.touch(accountId, userId, at, following)),
    markUnreachable: (accountId, userId, reason) => services.contacts.markUnreachable(accountId, userId, reason),
    deliverHeld: async (accountId, platform, userId, at) => {
      const c = await services.contacts.find(accountId, userId);
      if (!c) return [];
      // Held announcements, then held dossier notices (issue #7), each delivered once.
      const announcements = broadcasts
        ? await broadcasts.runtime.deliverHeld(c.id, accountId, platform, userId, at)
        : (await deliverHeld(services.broadcasts, c.id, accountId, platform, userId, at)).map((h) => h.reply);
      return [...announcements, ...(await notices.notifier.deliverHeld(c.id, platform, at))];
    },
    queueReplies: (input) => platforms.queueReplies(outbound, input),
    handoffTimeoutSeconds: config.HANDOFF_TIMEOUT_SECONDS,
  });
  const inboundWorker = !chat ? undefined : createInboundWorker({
    redis: redis.client,
    prefix,
    handle: handleInbound,
    onEventError: (err, job) =>
      logger.error({ platform: job.event.platform, err: err instanceof Error ? err.message : 'unknown' }, 'inbound event failed'),
    // While PostgreSQL is unreachable an event waits for it instead of counting as failing.
    available: () => services.db.ping().then(() => true, () => false),
    lockDurationMs: config.JOB_LOCK_SECONDS * 1000,
    concurrency: config.INBOUND_CONCURRENCY,
    onRecovered: (count) => logger.warn({ count }, 'inbound: drains scheduled for citizens left waiting'),
    onError: (err) => errors.report('inbound worker', err),
  });
  const outboundWorker = createOutboundWorker({
    redis: redis.client,
    prefix,
    // A dossier notice's job names the notice: the notifier renders, claims, sends and records it.
    handlers: { ...platforms.outboundHandlers, send: notices.wrapSend(platforms.outboundHandlers.send), ...(broadcasts ? { broadcast: broadcasts.step } : {}) },
    queues: !broadcasts ? 'replies' : chat ? 'all' : 'bulk',
    concurrency: config.OUTBOUND_CONCURRENCY,
    rates: sendRates(config),
    lockDurationMs: config.JOB_LOCK_SECONDS * 1000,
  });
  // Dossier notices (issue #7): reads result_ready / returned events, queues their sends.
  const noticeWorker = await startDossierNotifyWorker({
    redis: redis.client,
    prefix,
    notifier: notices.notifier,
    tickMs: config.DOSSIER_NOTIFY_TICK_SECONDS * 1000,
    onError: (err) => logger.error({ err: err instanceof Error ? err.message : 'unknown' }, 'dossier notices tick failed'),
  });
  const queue = createMaintenanceQueue(redis.client, prefix);
  await scheduleMaintenance(queue, config.QUERY_RETENTION_DAYS);
  const worker = createMaintenanceWorker({
    connection: redis.client,
    prefix,
    retentionDays: config.QUERY_RETENTION_DAYS,
    handlers: { purgeQueries: (days) => services.queryLog.purgeOlderThan(days) },
    onResult: (name, result) => logger.info({ job: name, result }, 'maintenance job done'),
  });
  errors.watch('outbound worker', outboundWorker, outboundWorker.companion);
  errors.watch('broadcast worker', broadcasts?.worker);
  errors.watch('dossier notices', noticeWorker.worker, noticeWorker.queue);
  errors.watch('maintenance', worker, queue);
  // Periodic jobs re-created if Redis comes back without them (src/jobs/upkeep.ts).
  const keeper = keepSchedulers(
    [maintenanceScheduler(queue, config.QUERY_RETENTION_DAYS), noticeWorker.scheduler, ...(broadcasts ? [broadcasts.scheduler] : [])],
    (level, event, fields) => logger[level](fields, event),
  );
  logger.info('workers started');
  return async () => {
    keeper.stop();
    await inboundWorker?.close();
    await outboundWorker.close();
    await broadcasts?.close();
    await noticeWorker.close();
    await worker.close();
    await queue.close();
  };
}

export interface StartOptions {
  logger?: Logger;
  /** Tests point the platform clients at local fakes through settings; fetch can be wrapped too. */
  fetch?: typeof fetch;
}

export async function start(role: 'serve' | 'worker', env: Record<string, string | undefined> = process.env, options: StartOptions = {}): Promise<Running> {
  const config = loadConfig(env);
  const log = options.logger ?? createLogger(config.LOG_LEVEL);
  const services = await buildServices(config, log);
  const platforms = createPlatforms(services, config, log, options.fetch);
  const prefix = `${config.REDIS_KEY_PREFIX}:bull`;
  const outbound = new OutboundQueue(services.redis.client, prefix);
  const inbound = new InboundQueue({ redis: services.redis.client, prefix });
  // Producer side of broadcasts: broadcastQueue.scheduleFanout(id, scheduledAt) after submit.
  const broadcastQueue = new BroadcastQueue(services.redis.client, prefix);
  // Dossier notices: sent by the workers; held ones are handed over by both roles (widget: serve).
  const notices = createDossierNotices({
    services,
    platforms,
    outbound,
    config,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    log: (level, event, fields) => log[level](fields, event),
  });
  // BullMQ's 'error' events (each failed reconnect while Redis is down): a line when they start,
  // a count a minute, instead of one stderr line per event (src/jobs/upkeep.ts).
  const errors = errorReporter((level, event, fields) => log[level](fields, event));
  errors.watch('outbound queue', outbound.queue, outbound.replies);
  errors.watch('inbound queue', inbound.queue);
  errors.watch('broadcast queue', broadcastQueue.queue);
  const stops: Array<() => Promise<void>> = [
    async () => {
      errors.stop();
      await inbound.close();
      await outbound.close();
      await broadcastQueue.close();
    },
  ];
  let server: http.Server | undefined;
  let url: string | undefined;
  try {
    if (role === 'worker' || config.RUN_WORKERS) stops.unshift(await startWorkers(services, platforms, outbound, notices, errors));
    if (role === 'serve') {
      // Webhook events Redis cannot take are kept in PostgreSQL and moved to the inbound queue
      // once it answers again (issue #8); the web role owns the intake, so it runs the drain.
      const spool = new InboundSpoolRepository(services.db);
      const spoolDrain = new InboundSpoolDrain({
        spool,
        // Platforms retry for up to a day and a half; keep the claim longer.
        submit: (key, job) => inbound.submit(`${config.REDIS_KEY_PREFIX}:seen:${key}`, 48 * 3600, job),
        redisReady: () => services.redis.client.status === 'ready',
        log: (level, event, fields) => log[level](fields, event),
      });
      const onRedisReady = (): void => spoolDrain.redisReconnected();
      services.redis.client.on('ready', onRedisReady);
      spoolDrain.start();
      stops.unshift(async () => {
        services.redis.client.off('ready', onRedisReady);
        await spoolDrain.stop();
      });
      const first = await ensureFirstAdmin(services.staff, log);
      if (first) {
        // Printed once, on the very first start: the only time this password is ever shown.
        process.stdout.write(
          `\nTài khoản quản trị đầu tiên / first admin account: ${first.username}\n` +
            `Mật khẩu dùng một lần / one-time password: ${first.oneTimePassword}\n` +
            `Đăng nhập tại /admin/login và đổi mật khẩu ngay.\n\n`,
        );
      }
      const auth = createAuth({
        sessions: new SessionStore(services.redis.client, { prefix: `${config.REDIS_KEY_PREFIX}:sess:` }),
        limiter: new LoginLimiter(services.redis.client, { prefix: `${config.REDIS_KEY_PREFIX}:login:` }),
        staff: services.staff,
        audit: services.audit,
        secureCookies: (config.PUBLIC_BASE_URL ?? '').startsWith('https://'),
      });
      const announcementDeps: AnnouncementsDeps = {
        auth,
        broadcasts: services.broadcasts,
        groups: services.subscriptions,
        predict: createPredictor(services.db, { zaloMonthlyCap: config.ZALO_PROMOTION_MONTHLY_CAP }),
        preview: previewAnnouncement,
        audit: services.audit,
        onSubmitted: (a) => broadcastQueue.scheduleFanout(a.id, a.status === 'scheduled' ? a.scheduledAt : null),
        pseudonymKey: `announcement-report:${config.SECRET_KEY ?? devSecret}`,
        surveyInvitations: (unitId) => periodicSurveys(services.surveyRegistry, unitId),
      };
      const publicBaseUrl = (config.PUBLIC_BASE_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, '');
      // One read of the in-doubt counts serves the four gauges of a scrape.
      let inDoubtRead: { at: number; counts: ReturnType<typeof readInDoubtCounts> } | undefined;
      const inDoubtCounts = (): ReturnType<typeof readInDoubtCounts> => {
        if (!inDoubtRead || Date.now() - inDoubtRead.at > 1000) inDoubtRead = { at: Date.now(), counts: readInDoubtCounts(services.redis.client, prefix) };
        return inDoubtRead.counts;
      };
      const app = createApp({
        logger: log,
        gauges: [
          { name: 'motcua_inbound_spool_depth', help: 'Webhook events kept in PostgreSQL until Redis takes them', read: () => spool.depth() },
          // Counted by every worker in Redis (workers serve no /metrics): replies found in doubt
          // after a crash, by how they were settled (docs/decisions/009).
          ...(['delivered', 'absent', 'unreadable', 'unverifiable'] as const).map((verdict) => ({
            name: `motcua_reply_in_doubt_${verdict}`,
            help: `Reply messages found in doubt and settled as ${verdict} (${verdict === 'unreadable' || verdict === 'unverifiable' ? 'sent again unverified' : verdict === 'delivered' ? 'not sent again' : 'sent'})`,
            read: async () => (await inDoubtCounts())[verdict],
          })),
        ],
        readiness: [
          { name: 'database', check: () => services.db.ping() },
          { name: 'redis', check: async () => void (await services.redis.client.ping()) },
        ],
        routers: [
          auth.router,
          express.Router().use(
            '/admin/queues',
            auth.requireUser('queues.view'),
            (_req, res, next) => {
              // bull-board's page links a web font from Google: the policy keeps the browser on our
              // own assets (no third-party request; the system font is used instead).
              res.setHeader('Content-Security-Policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:");
              next();
            },
            createQueueDashboard([inbound.queue, outbound.replies, outbound.queue, broadcastQueue.queue]),
          ),
          createDashboardRouter({ auth, queryLog: services.queryLog, handoffs: services.handoffs, accounts: services.accounts }),
          createHandoffsRouter({ auth, handoffs: services.handoffs, state: services.state, audit: services.audit }),
          createGroupsRouter({ auth, subscriptions: services.subscriptions, audit: services.audit }),
          createGroupsApiRouter({ auth, subscriptions: services.subscriptions, audit: services.audit }),
          createAnnouncementsRouter(announcementDeps),
          createAnnouncementsApiRouter(announcementDeps),
          createDossiersRouter({
            auth,
            dossiers: services.dossiers,
            importer: services.dossierImporter,
            mappings: services.dossierMappings,
            audit: services.audit,
            chat: { accounts: services.accounts, publicBaseUrl, units: services.units },
          }),
          createDossiersApiRouter({ auth, dossiers: services.dossiers, idempotency: services.idempotency, audit: services.audit, units: services.units }),
          createSurveysRouter({
            auth,
            db: services.db,
            registry: services.surveyRegistry,
            units: services.units,
            accounts: services.accounts,
            publicBaseUrl,
            audit: services.audit,
            procedureName: services.procedureName,
          }),
          createSurveysApiRouter({ auth, db: services.db, registry: services.surveyRegistry, units: services.units, audit: services.audit }),
          createUsersRouter({ auth, staff: services.staff, audit: services.audit, units: services.units }),
          createUnitsRouter({
            auth,
            units: services.units,
            accounts: services.accounts,
            audit: services.audit,
            publicBaseUrl,
            // The link `motcua account connect-zalo` prints, short-lived: the admin's browser uses it at once.
            connectLink: (unitId) =>
              `${publicBaseUrl}/oauth/zalo/start?t=${encodeURIComponent(signConnectToken(config.SECRET_KEY ?? devSecret, unitId, 15 * 60))}`,
            onUnitsChanged: (unitId) => services.liveUnits.changed(unitId),
          }),
          createCatalogueRouter({
            auth,
            catalogue: services.catalogue,
            search: (unitId, text) => services.liveUnits.search(services.searcher, unitId, text),
            unitCodes: (unitId) => services.liveUnits.codes(unitId),
            units: services.liveUnits,
            accounts: services.accounts,
            publicBaseUrl,
            intents: services.intents,
            maxInputChars: config.MAX_QUESTION_LENGTH,
          }),
          createQuestionsRouter({
            auth,
            queryLog: services.queryLog,
            search: (unitId, text) => services.liveUnits.search(services.searcher, unitId, text),
            contentKey: (text) => services.searcher.contentKey(text),
            procedureName: services.procedureName,
            aliases: services.aliasService,
          }),
          createApiV1Router({
            auth,
            searcher: services.searcher,
            queryLog: services.queryLog,
            handoffs: services.handoffs,
            unitSearch: (unitId, text, top) => services.liveUnits.search(services.searcher, unitId, text, top),
            units: () => services.liveUnits.list(),
            aliases: services.aliasService,
            audit: services.audit,
            state: services.state,
          }),
          createWebhookRouter({
            messenger: platforms.messengerWebhook,
            zalo: platforms.zaloWebhook,
            intake: {
              findAccount: cachedAccountLookup((platform, externalId) => services.accounts.find(platform, externalId)),
              // Platforms retry for up to a day and a half; keep the claim longer.
              submit: (key, job) => inbound.submit(`${config.REDIS_KEY_PREFIX}:seen:${key}`, 48 * 3600, job),
              // Redis unreachable or failing: the event is kept in PostgreSQL and acknowledged.
              spool: spoolDrain,
              // An event older than its claim's TTL can only be a replay (issue #8): dropped.
              maxEventAgeMs: 48 * 3600 * 1000,
            },
            logger: log,
          }),
          createZaloConnectRouter({
            secret: config.SECRET_KEY ?? devSecret,
            oauthUrl: config.ZALO_OAUTH_URL,
            appId: config.ZALO_APP_ID,
            appSecret: config.ZALO_APP_SECRET,
            publicBaseUrl: config.PUBLIC_BASE_URL ?? `http://localhost:${config.PORT}`,
            ...(config.ZALO_SITE_VERIFICATION ? { siteVerification: config.ZALO_SITE_VERIFICATION } : {}),
            stash: async (key, value, ttl) => void (await services.redis.client.set(`${config.REDIS_KEY_PREFIX}:oauth:${key}`, value, 'EX', ttl)),
            take: (key) => services.redis.client.getdel(`${config.REDIS_KEY_PREFIX}:oauth:${key}`),
            saveAccount: async (unitId, oaId, pair) => {
              const account = await services.accounts.upsert({
                unitId,
                platform: 'zalo',
                externalId: oaId,
                secrets: { accessToken: pair.accessToken, refreshToken: pair.refreshToken, accessExpiresAt: new Date(pair.accessExpiresAt).toISOString() },
              });
              await services.accounts.setStatus(account.id, 'active', null);
              log.info({ platform: 'zalo', unitId }, 'Zalo OA connected');
            },
            ...(options.fetch ? { fetch: options.fetch } : {}),
          }),
          createWebChannelRouter({
            engine: services.engine,
            // An unknown unit is refused rather than silently answered as another commune.
            resolveUnit: (requested) =>
              requested === undefined ? services.defaultUnitId : services.liveUnits.has(requested) ? requested : null,
            logger: log,
            heldFor: async (unitId, sessionId) => {
              const found = await services.subscriptions.findContact({ unitId, platform: 'web', accountExternalId: '', userId: sessionId });
              if (!found?.contactId) return [];
              const at = new Date();
              const announcements = (await deliverHeld(services.broadcasts, found.contactId, found.accountId, 'web', sessionId, at)).map((h) => h.reply);
              return [...announcements, ...(await notices.notifier.deliverHeld(found.contactId, 'web', at))];
            },
            // Long pastes are answered (the engine reads the first MAX_QUESTION_LENGTH characters
            // and says so) rather than refused; the body limit still bounds the request.
            maxTextLength: 20_000,
            maxBodyBytes: 96 * 1024,
          }),
        ],
      });
      server = http.createServer(app);
      const s = server;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(config.PORT, config.HOST, () => resolve());
      });
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
      url = config.PUBLIC_BASE_URL ?? `http://localhost:${port}`;
      log.info({ url }, 'motcua is listening');
      stops.unshift(() => new Promise<void>((resolve) => s.close(() => resolve())));
    }
  } catch (err) {
    for (const stop of stops) await stop().catch(() => undefined);
    await services.close();
    throw err;
  }
  return {
    services,
    ...(server ? { server } : {}),
    ...(url ? { url } : {}),
    stop: async () => {
      for (const stop of stops) await stop();
      await services.close();
    },
  };
}

/** Runs a role until a signal; the exit code for the CLI. */
export async function runRole(role: 'serve' | 'worker'): Promise<number> {
  const running = await start(role);
  await new Promise<void>((resolve) => {
    const onSignal = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  running.services.logger.info('shutting down');
  await running.stop();
  return 0;
}

// `npm start` runs this file directly: `tsx src/main.ts serve`.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const role = process.argv[2] === 'worker' ? 'worker' : 'serve';
  runRole(role).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`motcua: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
