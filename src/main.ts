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
import { createMaintenanceQueue, createMaintenanceWorker, scheduleMaintenance } from './jobs/maintenance-queue.js';

export interface Running {
  services: Services;
  server?: http.Server;
  url?: string;
  stop(): Promise<void>;
}

async function startWorkers(services: Services): Promise<() => Promise<void>> {
  const { config, logger, redis } = services;
  const prefix = `${config.REDIS_KEY_PREFIX}:bull`;
  const queue = createMaintenanceQueue(redis.client, prefix);
  await scheduleMaintenance(queue, config.QUERY_RETENTION_DAYS);
  const worker = createMaintenanceWorker({
    connection: redis.client,
    prefix,
    retentionDays: config.QUERY_RETENTION_DAYS,
    handlers: { purgeQueries: (days) => services.queryLog.purgeOlderThan(days) },
    onResult: (name, result) => logger.info({ job: name, result }, 'maintenance job done'),
  });
  logger.info('workers started');
  return async () => {
    await worker.close();
    await queue.close();
  };
}

export async function start(role: 'serve' | 'worker', env: Record<string, string | undefined> = process.env, logger?: Logger): Promise<Running> {
  const config = loadConfig(env);
  const log = logger ?? createLogger(config.LOG_LEVEL);
  const services = await buildServices(config, log);
  const stops: Array<() => Promise<void>> = [];
  let server: http.Server | undefined;
  let url: string | undefined;
  try {
    if (role === 'worker' || config.RUN_WORKERS) stops.push(await startWorkers(services));
    if (role === 'serve') {
      const app = createApp({
        logger: log,
        readiness: [
          { name: 'database', check: () => services.db.ping() },
          { name: 'redis', check: async () => void (await services.redis.client.ping()) },
        ],
        routers: [
          createWebChannelRouter({
            engine: services.engine,
            // An unknown unit is refused rather than silently answered as another commune.
            resolveUnit: (requested) =>
              requested === undefined ? services.defaultUnitId : services.unitList.some((u) => u.id === requested) ? requested : null,
            logger: log,
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
