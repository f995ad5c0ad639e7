// Builds the long-lived parts every role shares, from the settings: database (migrated), Redis,
// units, catalogue, search index, intents and the conversation engine. One place, so `serve`,
// `worker` and the CLI are wired the same way.
import path from 'node:path';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { loadCatalogue, type Catalogue } from './catalogue/index.js';
import { buildSearchIndex } from './search/index.js';
import type { Searcher } from './search/types.js';
import { createEngine, type Engine } from './conversation/engine.js';
import { loadIntents, type IntentSet } from './conversation/intents.js';
import type { UnitContact, UnitDirectory } from './conversation/ports.js';
import { openDatabase, type Database } from './store/database.js';
import { migrate } from './store/migrate.js';
import { connectRedis, type RedisHandle } from './store/redis.js';
import { UnitRepository } from './store/unit-repository.js';
import { QueryLogRepository } from './store/query-log-repository.js';
import { HandoffRepository } from './store/handoff-repository.js';
import { RedisConversationStateStore } from './store/conversation-state-store.js';
import { loadUnitsFile, type Unit } from './units/unit.js';
import { LiveUnits } from './units/live-units.js';
import { AliasRepository } from './store/alias-repository.js';
import { createAliasService, type AliasService } from './units/alias-service.js';
import { AccountRepository } from './store/account-repository.js';
import { ContactRepository } from './store/contact-repository.js';
import { SecretBox } from './store/secret-box.js';
import { StaffRepository } from './store/staff-repository.js';
import { AuditRepository } from './store/audit-repository.js';
import { BroadcastRepository } from './store/broadcast-repository.js';
import { SubscriptionRepository, subscriptionPort } from './store/subscription-repository.js';
import { DossierRepository, DossierVerifier, DossierImporter, ImportMappingRepository, IdempotencyStore } from './dossiers/index.js';
import { loadSurveyRegistry, SurveyRepository, type SurveyRegistry } from './surveys/index.js';
import { createDossierFlow } from './dossiers/chat-flow.js';
import { createSurveyFlow } from './surveys/chat-flow.js';
import { loadSurveyChatTexts } from './surveys/chat-texts.js';
import { RedisOfferLimiter } from './surveys/chat-offer.js';
import { chatContactResolver } from './dossiers/chat-contacts.js';
import { RedisLookupGuard } from './store/redis-lookup-guard.js';
import type { ConversationFlow } from './conversation/flow.js';

export interface Services {
  config: Config;
  logger: Logger;
  db: Database;
  redis: RedisHandle;
  units: UnitRepository;
  /** The units as loaded at start (for settings checks); liveUnits follows later changes. */
  unitList: Unit[];
  liveUnits: LiveUnits;
  aliases: AliasRepository;
  aliasService: AliasService;
  /** The procedure's name when the unit's bot may answer with it; undefined otherwise. */
  procedureName: (unitId: string, code: string) => string | undefined;
  defaultUnitId: string;
  catalogue: Catalogue;
  searcher: Searcher;
  intents: IntentSet;
  engine: Engine;
  queryLog: QueryLogRepository;
  handoffs: HandoffRepository;
  accounts: AccountRepository;
  contacts: ContactRepository;
  state: RedisConversationStateStore;
  staff: StaffRepository;
  audit: AuditRepository;
  /** Announcements and their deliveries (issue #5). */
  broadcasts: BroadcastRepository;
  /** Subscriber groups and citizens' consent (issue #5). */
  subscriptions: SubscriptionRepository;
  /** Dossiers received at the desk and their feeds (issue #7). */
  dossiers: DossierRepository;
  dossierMappings: ImportMappingRepository;
  dossierImporter: DossierImporter;
  idempotency: IdempotencyStore;
  /** Survey definitions and responses (issue #6). */
  surveyRegistry: SurveyRegistry;
  surveys: SurveyRepository;
  close(): Promise<void>;
}

/** Without SECRET_KEY (development) a fixed key is used; production requires one (config.ts). */
const DEV_SECRET = 'motcua-development-secret-not-for-production';
export const devSecret = DEV_SECRET;

export async function buildServices(config: Config, logger: Logger): Promise<Services> {
  const t0 = Date.now();
  const db = await openDatabase(config.DATABASE_URL ? { url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE } : { dataDir: path.join(config.dataDir, 'pglite') });
  try {
    const applied = await migrate(db);
    if (applied.length) logger.info({ applied }, 'migrations applied');

    const units = new UnitRepository(db);
    // The units file seeds units the database does not have yet; after that the database is the
    // source of truth (edited in the admin or with `motcua unit add`), so a restart never undoes
    // an officer's change.
    for (const u of loadUnitsFile(config.UNITS_FILE)) await units.create(u);
    const unitList = await units.list();
    const defaultUnitId = config.DEFAULT_UNIT ?? unitList[0]?.id ?? '';
    if (!unitList.some((u) => u.id === defaultUnitId)) {
      throw new Error(`DEFAULT_UNIT: không có đơn vị "${defaultUnitId}" trong ${config.UNITS_FILE} hay cơ sở dữ liệu`);
    }
    const box = new SecretBox(config.SECRET_KEY ?? DEV_SECRET);
    const accounts = new AccountRepository(db, box);
    const contacts = new ContactRepository(db);
    await seedAccountsFromSettings(config, accounts, defaultUnitId);

    const catalogue = loadCatalogue(config.CATALOGUE_DIR);
    const searcher = buildSearchIndex(catalogue.procedures);
    const intents = loadIntents(config.INTENTS_DIR);

    const redis = await connectRedis({ url: config.REDIS_URL, autostart: config.REDIS_AUTOSTART, dataDir: config.dataDir, cluster: config.REDIS_CLUSTER });
    if (redis.child) logger.warn('no Redis answered at REDIS_URL: started a local redis-server under DATA_DIR');

    const queryLog = new QueryLogRepository(db);
    const handoffs = new HandoffRepository(db);
    const aliases = new AliasRepository(db);
    const liveUnits = new LiveUnits({
      units,
      aliases,
      searcher,
      redis: redis.client,
      channel: `${config.REDIS_KEY_PREFIX}:units-changed`,
      onError: (err) => logger.warn({ err: err instanceof Error ? err.message : 'unknown' }, 'unit reload failed'),
    });
    await liveUnits.load();
    await liveUnits.subscribe();
    const audit = new AuditRepository(db);
    const procedureName = (unitId: string, code: string): string | undefined => {
      const codes = liveUnits.codes(unitId);
      return codes && !codes.has(code) ? undefined : catalogue.byCode(code)?.name;
    };
    const aliasService = createAliasService({
      aliases,
      audit,
      procedureName,
      contentKey: (text) => searcher.contentKey(text),
      onChanged: (unitId) => liveUnits.changed(unitId),
    });
    const directory: UnitDirectory = liveUnits;
    const state = new RedisConversationStateStore(redis.client, config.REDIS_KEY_PREFIX, config.SECRET_KEY ?? DEV_SECRET);
    const subscriptions = new SubscriptionRepository(db);
    const dossiers = new DossierRepository(db, new DossierVerifier(config.SECRET_KEY ?? DEV_SECRET));
    const dossierMappings = new ImportMappingRepository(db);
    const dossierImporter = new DossierImporter({ db, dossiers, mappings: dossierMappings });
    // Fails naming the file, path and problem when a definition is invalid.
    const surveyRegistry = loadSurveyRegistry(config.SURVEYS_DIR);
    const surveys = new SurveyRepository(db, surveyRegistry, { respondentKey: config.SECRET_KEY ?? DEV_SECRET });
    // Refuses a published version whose meaning (ids, points, levels) changed.
    await surveys.syncDefinitions();
    // Dossier look-up in chat (issue #7): verification digits, cool-down in Redis, linking.
    const dossierFlow = createDossierFlow({
      dossiers,
      contacts: chatContactResolver(subscriptions),
      guard: new RedisLookupGuard(redis.client, config.REDIS_KEY_PREFIX, config.SECRET_KEY ?? DEV_SECRET),
    });
    // Surveys in chat (issue #6): started by a QR code / link, "khảo sát", the result notice's button.
    const surveyFlow = createSurveyFlow({
      store: surveys,
      registry: surveyRegistry,
      texts: loadSurveyChatTexts(path.join(config.SURVEYS_DIR, 'chat.yaml')),
      procedures: catalogue,
      unitSurveys: () => ({ periodic: config.SURVEY_PERIODIC_ID || null, dossier: config.DOSSIER_EVALUATION_SURVEY }),
      offer: {
        mode: config.SURVEY_OFFER_AFTER_ANSWER,
        intervalDays: config.SURVEY_OFFER_INTERVAL_DAYS,
        limiter: new RedisOfferLimiter(redis.client, config.REDIS_KEY_PREFIX, config.SECRET_KEY ?? DEV_SECRET),
      },
    });
    // The survey flow comes first, so "đánh giá hồ sơ <mã>" starts an evaluation, not a look-up.
    const flows: ConversationFlow[] = [surveyFlow, dossierFlow];
    const engine = createEngine({
      flows,
      subscriptions: subscriptionPort(subscriptions),
      catalogue,
      searcher,
      intents,
      state,
      transcript: state,
      queryLog,
      handoff: handoffs,
      units: directory,
      maxInputChars: config.MAX_QUESTION_LENGTH,
      stateTtlSeconds: config.CONVERSATION_TTL_SECONDS,
      handoffTimeoutSeconds: config.HANDOFF_TIMEOUT_SECONDS,
      onError: (err) =>
        logger.error({ err: err instanceof Error ? { name: err.name, message: err.message } : 'unknown' }, 'engine error'),
    });
    logger.info({ procedures: catalogue.size, units: unitList.length, ms: Date.now() - t0, db: db.kind }, 'services ready');

    return {
      config,
      logger,
      db,
      redis,
      units,
      unitList,
      liveUnits,
      aliases,
      defaultUnitId,
      catalogue,
      searcher,
      intents,
      engine,
      queryLog,
      handoffs,
      accounts,
      contacts,
      state,
      staff: new StaffRepository(db),
      audit,
      broadcasts: new BroadcastRepository(db),
      subscriptions,
      dossiers,
      dossierMappings,
      dossierImporter,
      idempotency: new IdempotencyStore(),
      surveyRegistry,
      surveys,
      procedureName,
      aliasService,
      close: async () => {
        await liveUnits.close();
        await redis.close();
        await db.close();
      },
    };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

/**
 * One commune can run on settings alone: FB_PAGE_ID + FB_PAGE_ACCESS_TOKEN and ZALO_OA_ID (+ its
 * tokens) become accounts of the default unit. Zalo tokens are seeded only while none are stored:
 * a refresh token is single-use, so re-seeding an old one on every restart would break the OA.
 */
async function seedAccountsFromSettings(config: Config, accounts: AccountRepository, unitId: string): Promise<void> {
  if (config.FB_PAGE_ID) {
    await accounts.upsert({
      unitId,
      platform: 'messenger',
      externalId: config.FB_PAGE_ID,
      ...(config.FB_PAGE_ACCESS_TOKEN ? { secrets: { pageAccessToken: config.FB_PAGE_ACCESS_TOKEN } } : {}),
    });
  }
  if (config.ZALO_OA_ID) {
    const existing = await accounts.find('zalo', config.ZALO_OA_ID);
    const seedTokens = !existing?.secrets.refreshToken && config.ZALO_REFRESH_TOKEN;
    await accounts.upsert({
      unitId,
      platform: 'zalo',
      externalId: config.ZALO_OA_ID,
      ...(seedTokens
        ? {
            secrets: {
              refreshToken: config.ZALO_REFRESH_TOKEN,
              ...(config.ZALO_ACCESS_TOKEN ? { accessToken: config.ZALO_ACCESS_TOKEN } : {}),
              // Unknown age: treat the given access token as expiring soon so it is refreshed early.
              accessExpiresAt: new Date(Date.now() + 10 * 60_000).toISOString(),
            },
          }
        : {}),
    });
  }
}
