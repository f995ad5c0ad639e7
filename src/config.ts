// Every setting of motcua, validated in one place. Nothing else reads process.env.
// A bad setting stops the process with a message naming it (fail closed).
import path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const urlWithProtocol = (protocols: string[]) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `phải là URL bắt đầu bằng ${protocols.join(' hoặc ')}`);

function isRedisUrl(v: string): boolean {
  try {
    return ['redis:', 'rediss:'].includes(new URL(v).protocol);
  } catch {
    return false;
  }
}

export const ConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_BASE_URL: urlWithProtocol(['http:', 'https:']).optional(),
  DATABASE_URL: urlWithProtocol(['postgres:', 'postgresql:']).optional(),
  /** PostgreSQL connections per process (web or worker); PGlite has one. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  DATA_DIR: z.string().min(1).default('./data'),
  /**
   * One Redis URL; with REDIS_CLUSTER, the seed node(s) of the cluster, comma-separated (the
   * client learns the other nodes from them).
   */
  REDIS_URL: z
    .string()
    .refine((v) => isRedisUrl(v) || v.split(',').every((u) => isRedisUrl(u.trim())), 'phải là URL bắt đầu bằng redis: hoặc rediss: (Redis Cluster: các nút cách nhau bởi dấu phẩy)')
    .default('redis://127.0.0.1:6379'),
  REDIS_AUTOSTART: bool.default(true),
  /** The Redis is a Redis Cluster (REDIS_URL: its seed nodes); needs a hash-tag REDIS_KEY_PREFIX. */
  REDIS_CLUSTER: bool.default(false),
  /**
   * Prefix of every Redis key. `{name}` (optionally followed by more characters) is a Redis Cluster
   * hash tag: every key then lives in one slot, as BullMQ's and our Lua scripts need.
   */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^(?:\{[a-z0-9_-]+\})?[a-z0-9_-]*$/i, 'chỉ gồm chữ, số, _ và -, có thể mở đầu bằng một hash tag trong ngoặc nhọn như {motcua}')
    .refine((v) => v.length > 0, 'không được để trống')
    .default('motcua'),
  /** `serve` also runs the background workers (one-process default); set false when a separate worker runs. */
  RUN_WORKERS: bool.default(true),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CATALOGUE_DIR: z.string().min(1).default('./procedures'),
  INTENTS_DIR: z.string().min(1).default('./intents'),
  SURVEYS_DIR: z.string().min(1).default('./surveys'),
  UNITS_FILE: z.string().min(1).default('./units.yaml'),
  DEFAULT_UNIT: z.string().regex(/^[a-z0-9-]+$/, 'mã đơn vị chỉ gồm chữ thường, số và -').optional(),
  /** Keyed hashing of platform ids (pseudonymisation); required in production. */
  SECRET_KEY: z.string().min(32, 'cần ít nhất 32 ký tự').optional(),
  // Facebook Messenger: the app (one per deployment) and, for a single commune, its Page.
  FB_GRAPH_URL: urlWithProtocol(['http:', 'https:']).default('https://graph.facebook.com/v25.0'),
  FB_APP_ID: z.string().regex(/^\d+$/, 'chỉ gồm chữ số').optional(),
  FB_APP_SECRET: z.string().min(8).optional(),
  FB_VERIFY_TOKEN: z.string().min(8).optional(),
  FB_PAGE_ID: z.string().regex(/^\d+$/, 'chỉ gồm chữ số').optional(),
  FB_PAGE_ACCESS_TOKEN: z.string().min(8).optional(),
  // Zalo OA: the app (one per deployment) and, for a single commune, its OA.
  ZALO_OPENAPI_URL: urlWithProtocol(['http:', 'https:']).default('https://openapi.zalo.me'),
  ZALO_OAUTH_URL: urlWithProtocol(['http:', 'https:']).default('https://oauth.zaloapp.com'),
  ZALO_APP_ID: z.string().regex(/^\d+$/, 'chỉ gồm chữ số').optional(),
  ZALO_APP_SECRET: z.string().min(8).optional(),
  ZALO_OA_SECRET_KEY: z.string().min(8).optional(),
  ZALO_OA_ID: z.string().regex(/^\d+$/, 'chỉ gồm chữ số').optional(),
  ZALO_ACCESS_TOKEN: z.string().min(8).optional(),
  ZALO_REFRESH_TOKEN: z.string().min(8).optional(),
  /** Zalo domain verification code (served as /zalo_verifier<CODE>.html with the meta tag). */
  ZALO_SITE_VERIFICATION: z.string().regex(/^[A-Za-z0-9_-]{4,128}$/, 'chỉ gồm chữ, số, _ và -').optional(),
  /** How long the bot stays quiet for a citizen after a hand-off nobody closed. */
  HANDOFF_TIMEOUT_SECONDS: z.coerce.number().int().min(60).default(24 * 3600),
  CONVERSATION_TTL_SECONDS: z.coerce.number().int().min(60).default(24 * 3600),
  /** Questions in the log are deleted after this many days (data minimisation). */
  QUERY_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
  MAX_QUESTION_LENGTH: z.coerce.number().int().min(50).max(5000).default(500),
  // Sending (outbound queue and broadcasts). Rates are per Page / OA, shared by replies and
  // broadcasts, kept below the platforms' limits (PLATFORMS.md §5 and §9): no second (sliding,
  // at any offset) above the rate (src/store/rate-limiter.ts).
  MESSENGER_SEND_RATE: z.coerce.number().positive().max(1_000_000).default(100),
  ZALO_SEND_RATE: z.coerce.number().positive().max(1_000_000).default(10),
  /**
   * What the workers of this process do: `chat` (citizens' messages and replies), `broadcasts`
   * (fan-out, tick and sends of announcements). Run a process with `broadcasts` apart so that
   * replies never share a process with bulk work (docs/benchmarks.md).
   */
  WORKER_TASKS: z
    .string()
    .default('chat,broadcasts')
    .transform((v) => [...new Set(v.split(',').map((t) => t.trim()).filter(Boolean))])
    .pipe(z.array(z.enum(['chat', 'broadcasts'], { message: 'chỉ gồm chat và/hoặc broadcasts, cách nhau bởi dấu phẩy' })).min(1, 'cần ít nhất một việc: chat, broadcasts')),
  /** Sends in progress at once per worker process. */
  OUTBOUND_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(16),
  /** Citizens whose messages a worker process handles at once (each holds that citizen's inbox lock). */
  INBOUND_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(8),
  /** A job of a worker that died comes back after this long (BullMQ lock and stalled check). */
  JOB_LOCK_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
  /** A broadcast send claimed longer ago than this is in doubt: its worker died mid-send. */
  BROADCAST_LEASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** Scheduled starts, re-driving and completion of broadcasts run this often. */
  BROADCAST_TICK_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  /** First wait after a platform throttles an account; doubles while throttling lasts (≤ 60 s or the platform's hint). */
  BROADCAST_THROTTLE_BASE_MS: z.coerce.number().int().min(10).max(600_000).default(2000),
  /** Zalo promotions per follower per month (OA package: Basic 1, Advanced/Trial 4, Premium 6). */
  ZALO_PROMOTION_MONTHLY_CAP: z.coerce.number().int().min(0).max(100).default(4),
  // Dossier notices (issue #7): result ready, and the one-time evaluation offer.
  /** New dossier status events are read (and lost send jobs re-queued) this often. */
  DOSSIER_NOTIFY_TICK_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  /** The survey the evaluation offer's button starts. */
  DOSSIER_EVALUATION_SURVEY: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'mã khảo sát chỉ gồm chữ thường, số và -').default('dossier-evaluation'),
  /** A notice held for the next message / visit (Messenger outside 24 h, website) is dropped after this many days. */
  DOSSIER_HELD_DAYS: z.coerce.number().int().min(0).max(90).default(7),
  // Surveys in chat (issue #6).
  /** Offer the periodic survey (as a line of text) after a procedure answer. */
  SURVEY_OFFER_AFTER_ANSWER: z.enum(['off', 'on']).default('off'),
  /** At most one offer per citizen per this many days. */
  SURVEY_OFFER_INTERVAL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** The periodic survey "khảo sát" starts; empty = none. */
  SURVEY_PERIODIC_ID: z.union([z.literal(''), z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'mã khảo sát chỉ gồm chữ thường, số và -')]).default('sipas'),
});

export type Config = z.infer<typeof ConfigSchema> & { dataDir: string };

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Cấu hình không hợp lệ / invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** A Redis Cluster hash tag opens the prefix: `{name}…` (all keys in the slot of `name`). */
export function hasHashTag(prefix: string): boolean {
  return /^\{[^{}]+\}/.test(prefix);
}

/** Parse settings from an environment map (process.env in production, a plain object in tests). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "not set" (docker-compose passes them that way).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = ConfigSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  const cfg = parsed.data;
  if (cfg.NODE_ENV === 'production' && !cfg.SECRET_KEY) {
    throw new ConfigError(['SECRET_KEY: bắt buộc khi NODE_ENV=production (ít nhất 32 ký tự ngẫu nhiên)']);
  }
  if (cfg.REDIS_CLUSTER && !hasHashTag(cfg.REDIS_KEY_PREFIX)) {
    throw new ConfigError([
      `REDIS_KEY_PREFIX: khi REDIS_CLUSTER=true phải mở đầu bằng một hash tag trong ngoặc nhọn, ví dụ {${cfg.REDIS_KEY_PREFIX}}, ` +
        `để mọi khóa của hàng đợi nằm trong cùng một slot / with REDIS_CLUSTER=true the prefix must start with a hash tag, ` +
        `e.g. {${cfg.REDIS_KEY_PREFIX}}, so that every key of the queues lives in one slot`,
    ]);
  }
  if (!cfg.REDIS_CLUSTER && !isRedisUrl(cfg.REDIS_URL)) {
    throw new ConfigError(['REDIS_URL: chỉ một URL khi không dùng REDIS_CLUSTER; nhiều nút (cách nhau bởi dấu phẩy) chỉ dành cho Redis Cluster / one URL unless REDIS_CLUSTER=true']);
  }
  return { ...cfg, dataDir: path.resolve(cfg.DATA_DIR) };
}
