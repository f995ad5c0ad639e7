// An announcement that invites to the unit's periodic satisfaction survey (issue #6): stored
// (migration 010), composed in the admin form and through the API (only a periodic survey the
// unit has), and rendered with a "Tham gia khảo sát" button whose payload starts the survey: a
// postback on Messenger, an oa.query.hide button on Zalo, a payload button in the website chat
// and in a held reply; the officer's preview says so on each platform.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type { Database } from '../../src/store/database.js';
import { StaffRepository } from '../../src/store/staff-repository.js';
import { AuditRepository } from '../../src/store/audit-repository.js';
import { BroadcastRepository } from '../../src/store/broadcast-repository.js';
import { SubscriptionRepository } from '../../src/store/subscription-repository.js';
import { createApp } from '../../src/http/create-app.js';
import { createLogger } from '../../src/logger.js';
import { createAuth, LoginLimiter, SessionStore } from '../../src/admin/auth/index.js';
import { createAnnouncementsRouter, type AnnouncementsDeps } from '../../src/admin/announcements-router.js';
import { createAnnouncementsApiRouter } from '../../src/api/announcements-api.js';
import { periodicSurveys } from '../../src/admin/surveys-router.js';
import { createPredictor } from '../../src/broadcast/prediction.js';
import { heldReply, previewAnnouncement, renderAnnouncement, SURVEY_BUTTON_TITLE } from '../../src/broadcast/render.js';
import { AnnouncementInput } from '../../src/broadcast/types.js';
import { parseSurveyStart } from '../../src/surveys/chat-payload.js';
import { loadSurveyRegistry } from '../../src/surveys/definition-loader.js';
import { loginAs } from '../helpers/admin-login.js';
import { TEST_REDIS_URL, isolatedName } from '../helpers/services.js';
import { dropSchema, openTestDatabase, unit } from '../surveys/harness.js';

const content = { title: 'Khảo sát sự hài lòng quý III', body: 'Mời bà con cho ý kiến về Bộ phận Một cửa.', linkUrl: 'https://xa.gov.vn/ks', imageUrl: null, survey: 'sipas' };
const PREVIEW_BUTTON = '[Nút “Tham gia khảo sát” → mở phiếu khảo sát trong khung chat]';

describe('rendering the invitation', () => {
  it('Messenger: a postback button beside the link, whose payload starts the survey', () => {
    const [body] = renderAnnouncement('messenger', content, '7001');
    expect(body).toMatchObject({
      messaging_type: 'UPDATE',
      message: {
        attachment: {
          type: 'template',
          payload: {
            template_type: 'button',
            buttons: [
              { type: 'postback', title: SURVEY_BUTTON_TITLE, payload: 'mc:sv:sipas' },
              { type: 'web_url', title: 'Xem chi tiết', url: 'https://xa.gov.vn/ks' },
            ],
          },
        },
      },
    });
    expect(parseSurveyStart('mc:sv:sipas')).toEqual({ definitionId: 'sipas' });
    expect(Array.from(SURVEY_BUTTON_TITLE).length).toBeLessThanOrEqual(20);
  });

  it('Zalo: one promotion with an oa.query.hide button carrying the payload', () => {
    const [body] = renderAnnouncement('zalo', content, '8001');
    expect(body?.message.attachment.payload.buttons).toEqual([
      { title: 'Xem chi tiết', type: 'oa.open.url', payload: { url: 'https://xa.gov.vn/ks' } },
      { title: SURVEY_BUTTON_TITLE, type: 'oa.query.hide', payload: 'mc:sv:sipas' },
    ]);
    // Without an invitation nothing changes.
    const [plain] = renderAnnouncement('zalo', { ...content, linkUrl: null, survey: null }, '8001');
    expect(plain?.message.attachment.payload.buttons).toBeUndefined();
  });

  it('website and held replies: a payload button; the preview says it on every platform', () => {
    const held = heldReply({ ...content, startedAt: new Date('2026-10-01T01:00:00Z'), createdAt: new Date('2026-10-01T00:00:00Z') });
    expect(held.buttons).toEqual([{ title: SURVEY_BUTTON_TITLE, payload: 'mc:sv:sipas' }]);
    expect(held.links).toEqual([{ title: 'Xem chi tiết', url: 'https://xa.gov.vn/ks' }]);
    for (const platform of ['messenger', 'zalo', 'web'] as const) {
      expect(previewAnnouncement(platform, content).parts.join('\n'), platform).toContain(PREVIEW_BUTTON);
      expect(previewAnnouncement(platform, { ...content, survey: null }).parts.join('\n'), platform).not.toContain('Tham gia khảo sát');
    }
  });
});

describe('composing an invitation', () => {
  const schema = isolatedName('survey_invitation');
  const prefix = `${schema}:`;
  let db: Database;
  let redis: Redis;
  let server: http.Server;
  let base = '';
  let officer = '';
  let token = '';
  let groupId = 0;
  let repo: BroadcastRepository;

  beforeAll(async () => {
    db = await openTestDatabase('postgres', schema, [unit('xa-a')]);
    repo = new BroadcastRepository(db);
    groupId = Number((await db.query<{ id: string }>(`INSERT INTO subscriber_groups (unit_id, kind, name) VALUES ('xa-a', 'village', 'Thôn Đông') RETURNING id`))[0]?.id);
    redis = new Redis(TEST_REDIS_URL);
    const staff = new StaffRepository(db);
    const audit = new AuditRepository(db);
    const auth = createAuth({
      sessions: new SessionStore(redis, { prefix: prefix + 'sess:' }),
      limiter: new LoginLimiter(redis, { prefix: prefix + 'login:' }),
      staff,
      audit,
      secureCookies: false,
    });
    const registry = loadSurveyRegistry();
    const deps: AnnouncementsDeps = {
      auth,
      broadcasts: repo,
      groups: new SubscriptionRepository(db),
      predict: createPredictor(db, { zaloMonthlyCap: 4 }),
      preview: previewAnnouncement,
      audit,
      onSubmitted: async () => undefined,
      pseudonymKey: 'khóa-ẩn-danh',
      surveyInvitations: (unitId) => periodicSurveys(registry, unitId),
    };
    const app = createApp({ logger: createLogger('silent'), readiness: [], routers: [auth.router, createAnnouncementsRouter(deps), createAnnouncementsApiRouter(deps)] });
    server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const u = await staff.create({ username: 'ks.thongbao', role: 'officer', unitId: 'xa-a' });
    await staff.setPassword(u?.user.id ?? 0, 'mật khẩu của cán bộ');
    officer = await loginAs(base, 'ks.thongbao', 'mật khẩu của cán bộ');
    token = (await staff.createApiToken(u?.user.id ?? 0, 'tự động')).token;
  });

  afterAll(async () => {
    await new Promise<void>((r) => server?.close(() => r()));
    const keys = await redis.keys(prefix + '*');
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await db?.close();
    await dropSchema(schema);
  });

  const compose = async (survey: string): Promise<Response> => {
    const page = await (await fetch(`${base}/admin/units/xa-a/announcements/new`, { headers: { cookie: officer } })).text();
    const fields = new URLSearchParams({
      _csrf: /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '',
      title: content.title,
      body: content.body,
      linkUrl: '',
      imageUrl: '',
      groupIds: String(groupId),
      channels: 'zalo',
      when: 'now',
      holdDays: '7',
      survey,
    });
    return fetch(`${base}/admin/units/xa-a/announcements`, { method: 'POST', body: fields, redirect: 'manual', headers: { cookie: officer } });
  };

  it('offers the unit’s periodic survey in the form, stores the choice and previews the button', async () => {
    const form = await (await fetch(`${base}/admin/units/xa-a/announcements/new`, { headers: { cookie: officer } })).text();
    expect(form).toContain('<legend>Mời tham gia khảo sát sự hài lòng</legend>');
    expect(form).toContain('value="sipas"');
    const res = await compose('sipas');
    expect(res.status).toBe(303);
    const id = Number(/announcements\/(\d+)\?/.exec(res.headers.get('location') ?? '')?.[1]);
    expect((await repo.get(id, 'xa-a'))?.survey).toBe('sipas');
    const draft = await (await fetch(`${base}/admin/units/xa-a/announcements/${id}`, { headers: { cookie: officer } })).text();
    expect(draft).toContain('<tr><th>Mời tham gia khảo sát</th><td>Khảo sát sự hài lòng về sự phục vụ hành chính</td></tr>');
    expect(draft).toContain('[Nút “Tham gia khảo sát” → mở phiếu khảo sát trong khung chat]');
    // No invitation: the column stays empty.
    const none = await compose('');
    const noneId = Number(/announcements\/(\d+)\?/.exec(none.headers.get('location') ?? '')?.[1]);
    expect((await repo.get(noneId, 'xa-a'))?.survey).toBeNull();
  });

  it('refuses a survey that is not one of the unit’s periodic surveys (form, API, database)', async () => {
    for (const survey of ['dossier-evaluation', 'khong-co']) {
      const res = await compose(survey);
      expect(res.status, survey).toBe(400);
      expect(await res.text()).toContain('Không có khảo sát định kỳ này để mời tham gia.');
    }
    const api = (survey: string) =>
      fetch(`${base}/api/v1/units/xa-a/announcements`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ title: content.title, body: content.body, groupIds: [groupId], channels: ['messenger'], survey }),
      });
    const created = await api('sipas');
    expect(created.status).toBe(201);
    expect(((await created.json()) as { survey: string | null }).survey).toBe('sipas');
    const refused = await api('dossier-evaluation');
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { fields: Record<string, string> } }).error.fields).toEqual({ survey: 'Không có khảo sát định kỳ này để mời tham gia.' });
    // The column itself only takes a definition id.
    await expect(repo.create('xa-a', { ...AnnouncementInput.parse({ title: 'x', body: 'x', groupIds: [groupId], channels: ['web'] }), survey: 'mc:sv:sipas' }, null)).rejects.toThrow();
  });
});
