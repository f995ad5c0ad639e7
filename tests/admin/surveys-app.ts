// Shared set-up of the survey page and API tests: a PostgreSQL schema with three units, the
// hand-computed fixture of tests/surveys/fixture.ts (figures worked out in report.test.ts), one
// more response in xã Châu in Q4 whose comment is markup, the unit's channel accounts, staff of
// every role and scope (signed in, and with API tokens), and the admin and API routers on an
// ephemeral port.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type { Database } from '../../src/store/database.js';
import { UnitRepository } from '../../src/store/unit-repository.js';
import { StaffRepository } from '../../src/store/staff-repository.js';
import { AuditRepository } from '../../src/store/audit-repository.js';
import { AccountRepository } from '../../src/store/account-repository.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { createApp } from '../../src/http/create-app.js';
import { createLogger } from '../../src/logger.js';
import { createAuth, LoginLimiter, SessionStore } from '../../src/admin/auth/index.js';
import { createSurveysRouter } from '../../src/admin/surveys-router.js';
import { createSurveysApiRouter } from '../../src/api/surveys-api.js';
import { loadSurveyRegistry, type SurveyRegistry } from '../../src/surveys/definition-loader.js';
import { SurveyRepository } from '../../src/surveys/survey-repository.js';
import type { Role } from '../../src/admin/auth/roles.js';
import { loginAs } from '../helpers/admin-login.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';
import { giveFixture } from '../surveys/fixture.js';
import { KEY, dropSchema, openTestDatabase, unit } from '../surveys/harness.js';

export const PUBLIC_BASE = 'https://motcua.example.gov.vn';
/** 15/10/2026 10:00 in Vietnam: the default period is 2026-Q4. */
export const NOW = new Date('2026-10-15T10:00:00+07:00');
export const SCRIPT_COMMENT = '<script>alert("x")</script> Cán bộ tận tình';
export const PROCEDURES: Record<string, string> = { '1.001193': 'Thủ tục đăng ký khai sinh' };

export type Who = 'officerA' | 'officerB' | 'reporterA' | 'reporterProvince' | 'admin';
const STAFF: ReadonlyArray<readonly [Who, string, Role, string | null]> = [
  ['officerA', 'ks.canbo.a', 'officer', 'xa-a'],
  ['officerB', 'ks.canbo.b', 'officer', 'xa-b'],
  ['reporterA', 'ks.baocao.a', 'reporter', 'xa-a'],
  ['reporterProvince', 'ks.baocao.tinh', 'reporter', null],
  ['admin', 'ks.quantri', 'admin', null],
];

export interface SurveysApp {
  base: string;
  db: Database;
  registry: SurveyRegistry;
  audit: AuditRepository;
  cookies: Record<Who, string>;
  tokens: Record<Who, string>;
  close(): Promise<void>;
}

export async function startSurveysApp(label: string, opts: { login: boolean; tokens: boolean }): Promise<SurveysApp> {
  const name = isolatedName(label);
  const prefix = name + ':';
  // PostgreSQL (a schema of its own): opens in milliseconds where PGlite takes seconds.
  const db = await openTestDatabase('postgres', name, [unit('xa-a', 'UBND xã An'), unit('xa-b', 'UBND xã Bình'), unit('xa-c', 'UBND xã Châu')]);
  const units = new UnitRepository(db);
  const registry = loadSurveyRegistry();
  const surveys = new SurveyRepository(db, registry, { respondentKey: KEY });
  await giveFixture(surveys);
  // xã Châu, November (Q4): a comment that is markup, and a satisfied overall rating.
  const extra = await surveys.start({
    definitionId: 'dossier-evaluation',
    unitId: 'xa-c',
    channel: 'web',
    platformUserId: 'c1',
    occasion: { kind: 'dossier', code: 'HS-C1' },
    at: new Date('2026-11-02T08:00:00+07:00'),
  });
  await surveys.answer(extra.response.id, 'overall', 'satisfied');
  await surveys.comment(extra.response.id, 'comment', SCRIPT_COMMENT);
  await surveys.complete(extra.response.id, new Date('2026-11-02T08:05:00+07:00'));

  const accounts = new AccountRepository(db, new SecretBox('a test secret key that is long enough for the box'));
  await accounts.upsert({ unitId: 'xa-a', platform: 'messenger', externalId: '111222333', name: 'Trang UBND xã An' });
  await accounts.upsert({ unitId: 'xa-a', platform: 'zalo', externalId: '4318000000000000001', name: 'Zalo OA xã An' });

  const redis = new Redis(TEST_REDIS_URL);
  const staff = new StaffRepository(db);
  const audit = new AuditRepository(db);
  const auth = createAuth({
    sessions: new SessionStore(redis, { prefix: prefix + 'sess:' }),
    limiter: new LoginLimiter(redis, { prefix: prefix + 'login:' }),
    staff,
    audit,
    secureCookies: false,
  });
  const now = () => NOW;
  const app = createApp({
    logger: createLogger('silent'),
    readiness: [],
    routers: [
      auth.router,
      createSurveysRouter({ auth, db, registry, units, accounts, publicBaseUrl: PUBLIC_BASE, audit, procedureName: (_u, code) => PROCEDURES[code], now }),
      createSurveysApiRouter({ auth, db, registry, units, audit, now }),
    ],
  });
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const cookies = {} as Record<Who, string>;
  const tokens = {} as Record<Who, string>;
  await Promise.all(
    STAFF.map(async ([who, username, role, unitId]) => {
      const created = await staff.create({ username, role, unitId });
      const id = created?.user.id ?? 0;
      // A new account must change its one-time password before anything else (tokens too).
      await staff.setPassword(id, `mật khẩu của ${username}`);
      if (opts.login) cookies[who] = await loginAs(base, username, `mật khẩu của ${username}`);
      if (opts.tokens) tokens[who] = (await staff.createApiToken(id, 'báo cáo')).token;
    }),
  );
  return {
    base,
    db,
    registry,
    audit,
    cookies,
    tokens,
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      const keys = await redis.keys(prefix + '*');
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      await db.close();
      await dropSchema(name);
    },
  };
}
