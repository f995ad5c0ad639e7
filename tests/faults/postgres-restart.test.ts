// Fault: PostgreSQL crashes (pg_ctl stop -m immediate: every backend killed, crash recovery on
// the next start) and comes back 2 s later, on a private cluster of this test file:
// 1. during a broadcast to 1,000 Messenger subscribers sent by a worker child process: the send
//    resumes by itself, every recipient gets exactly one message, the report agrees;
// 2. while citizens write (the inbound path writes contacts and the question log) and while 40
//    respondents answer a satisfaction survey (each call retried after an error, as a worker's
//    job is): every acknowledged event is answered exactly once, and each respondent ends with
//    one completed response holding exactly their answers.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL } from '../helpers/services.js';
import { startPostgres, type PostgresInstance } from './instances.js';
import { createDatabase, IDS, killChild, SECRETS, startFaultService, startWorkerChild, type FaultService } from './service.js';
import { deliver, newDeliveryLog, paced, repliesByRecipient, waitUntil, type CitizenEvent } from './traffic.js';
import { replyTitles, TOPICS } from './replies.js';
import { BroadcastQueue } from '../../src/jobs/broadcast-queue.js';
import { AnnouncementInput } from '../../src/broadcast/types.js';

let pg: PostgresInstance;
let svc: FaultService;
let child: ChildProcess | undefined;

beforeAll(async () => {
  pg = await startPostgres();
  const db = await createDatabase(pg.url, 'fault_pg');
  svc = await startFaultService({
    databaseUrl: db.url,
    redisUrl: TEST_REDIS_URL,
    runWorkers: false,
    env: { BROADCAST_LEASE_SECONDS: '2', BROADCAST_TICK_SECONDS: '1', BROADCAST_THROTTLE_BASE_MS: '200', OUTBOUND_CONCURRENCY: '32' },
  });
  child = await startWorkerChild(svc.env);
}, 60_000);

afterAll(async () => {
  if (child) await killChild(child);
  await svc?.stop().catch(() => undefined);
  await pg?.destroy();
}, 30_000);

/** Restarts PostgreSQL as after a crash: down for `downMs`, then crash recovery. */
async function crashPostgres(downMs: number): Promise<number> {
  const t0 = Date.now();
  await pg.crash();
  await new Promise((r) => setTimeout(r, downMs));
  await pg.start();
  return Date.now() - t0;
}

/** Calls `fn` until it succeeds (an error is retried after 100 ms, for at most `ms`). */
async function retried<T>(fn: () => Promise<T>, errors: { n: number }, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      errors.n++;
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('PostgreSQL crash and restart', () => {
  it('resumes a broadcast of 1,000 by itself: one message per recipient, none lost or doubled, report right', async () => {
    const t0 = Date.now();
    const { db, broadcasts } = svc.web.services;
    const unitId = svc.web.services.defaultUnitId;
    const now = Date.now();
    const [group] = await db.query<{ id: string }>(`INSERT INTO subscriber_groups (unit_id, kind, name) VALUES ($1, 'topic', 'Lịch tiếp công dân') RETURNING id`, [unitId]);
    const rows = await db.query<{ id: string; platform_user_id: string }>(
      `INSERT INTO contacts (account_id, platform_user_id, first_seen_at, last_interaction_at, reachable)
       SELECT $1, '75' || lpad(g::text, 10, '0'), $2, $2, true FROM generate_series(1, 1000) g RETURNING id, platform_user_id`,
      [svc.accounts.page, new Date(now - 3600_000)],
    );
    await db.query(`INSERT INTO subscriptions (contact_id, group_id, consented_at) SELECT unnest($1::bigint[]), $2, $3`, [rows.map((r) => Number(r.id)), Number(group?.id), new Date(now - 3600_000)]);
    const recipients = rows.map((r) => r.platform_user_id);
    for (const id of recipients) svc.graph.lastInteraction.set(id, now - 3600_000);
    const draft = await broadcasts.create(
      unitId,
      AnnouncementInput.parse({ title: 'Lịch tiếp công dân', body: 'Chủ tịch UBND xã tiếp công dân sáng thứ Năm hằng tuần tại Bộ phận Một cửa.', groupIds: [Number(group?.id)], channels: ['messenger'] }),
      null,
    );
    const a = await broadcasts.submit(draft.id, new Date());
    if (!a) throw new Error('announcement not submitted');
    const queue = new BroadcastQueue(svc.web.services.redis.client, `${svc.prefix}:bull`);
    await queue.scheduleFanout(a.id);
    await queue.close();
    svc.graph.setResponseDelay(5);

    const sent = (): number => svc.graph.sent().filter((s) => s.pageId === IDS.fbPageId && s.recipientId.startsWith('75')).length;
    await waitUntil(() => sent() >= 250, 30_000, '250 messages sent');
    const atCrash = sent();
    const crashAt = Date.now() - t0;
    const downMs = await crashPostgres(2000);
    const status = async (): Promise<string | undefined> => (await broadcasts.get(a.id).catch(() => undefined))?.status;
    await waitUntil(async () => (await status()) === 'done', 45_000, 'announcement done').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1000));

    const perRecipient = new Map<string, number>();
    for (const s of svc.graph.sent()) if (s.recipientId.startsWith('75')) perRecipient.set(s.recipientId, (perRecipient.get(s.recipientId) ?? 0) + 1);
    const lost = recipients.filter((id) => !perRecipient.has(id)).length;
    const doubled = [...perRecipient.values()].filter((n) => n > 1).length;
    const counts: Record<string, number> = {};
    for (const c of await broadcasts.counts(a.id)) counts[c.reason ? `${c.status}:${c.reason}` : c.status] = c.count;
    const summary = { recipients: recipients.length, atCrash, crashAtMs: crashAt, downMs, doneAtMs: Date.now() - t0 - 1000, status: await status(), lost, doubled, counts, seconds: Math.round((Date.now() - t0) / 1000) };
    process.stdout.write(`postgres fault test (broadcast): ${JSON.stringify(summary)}\n`);
    expect(atCrash).toBeLessThan(recipients.length);
    expect(await status()).toBe('done');
    expect(lost).toBe(0);
    expect(doubled).toBe(0);
    expect(counts).toEqual({ sent: recipients.length });
  }, 90_000);

  it('loses and doubles no citizen event and no survey answer across a crash', async () => {
    const t0 = Date.now();
    svc.graph.setResponseDelay(0);
    // Citizens' questions through the webhooks and the worker child.
    const events: CitizenEvent[] = [];
    for (let i = 0; i < 120; i++) {
      const platform = i % 2 === 0 ? 'messenger' : 'zalo';
      const user = platform === 'messenger' ? `7600000000${String(i).padStart(6, '0')}` : `2468458835292${String(i).padStart(5, '0')}`;
      const topic = TOPICS[i % TOPICS.length];
      if (!topic) throw new Error('no topic');
      events.push(svc.citizen(platform, user, `pg-${i}`, topic.question));
    }
    const log = newDeliveryLog();
    const before = svc.graph.sentCount() + svc.zalo.sent.length;
    const replied = (): number => svc.graph.sentCount() + svc.zalo.sent.length - before;
    const traffic = paced(events, 4000, 16, async (e) => {
      await deliver(svc.url, SECRETS, e, log, { retryMs: 200 });
    });

    // Survey answering: 40 respondents, each start → six answers → complete, 10 at a time.
    const surveys = svc.web.services.surveys;
    const unitId = svc.web.services.defaultUnitId;
    const choices = ['shorter', 'equal', 'longer'];
    const errors = { n: 0 };
    const respondents = Array.from({ length: 40 }, (_, i) => i);
    const answering = paced(respondents, 3500, 10, async (i) => {
      const started = await retried(
        () => surveys.start({ definitionId: 'dossier-evaluation', unitId, channel: 'zalo', platformUserId: `survey-${i}`, occasion: { kind: 'dossier', code: `HS-${1000 + i}` } }),
        errors,
      );
      const id = started.response.id;
      const plan: Array<[string, string]> = [
        ['total-time', choices[i % 3] ?? 'equal'],
        ['contact-count', 'none'],
        ['agency-count', 'one-stop-only'],
        ['harassment', 'met'],
        ['overall', i % 4 === 0 ? 'dissatisfied' : 'satisfied'],
      ];
      for (const [q, o] of plan) await retried(() => surveys.answer(id, q, o), errors);
      await retried(() => surveys.comment(id, 'comment', `Góp ý số ${i}`), errors);
      await retried(() => surveys.complete(id), errors);
    });

    await waitUntil(() => log.acknowledged.size >= 40, 20_000, '40 events acknowledged');
    const downMs = await crashPostgres(2000);
    await traffic;
    await answering;
    const acked = [...log.acknowledged.values()].map((x) => x.event);
    await waitUntil(() => replied() >= acked.length, 30_000, 'every acknowledged event answered').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1500));

    const byRecipient = repliesByRecipient(svc.graph, svc.zalo);
    let lost = 0;
    let doubled = 0;
    for (const e of acked) {
      const topic = TOPICS.find((t) => t.question === e.text);
      const n = replyTitles(byRecipient.get(e.userId) ?? []).filter((t) => topic?.title.test(t)).length;
      if (n === 0) lost++;
      if (n > 1) doubled += n - 1;
    }
    const db = svc.web.services.db;
    const responses = await db.query<{ status: string; n: string }>(`SELECT status, count(*) AS n FROM survey_responses GROUP BY status`);
    const answers = await db.query<{ response_id: string; n: string; total_time: string | null; overall: string | null }>(
      `SELECT response_id, count(*) AS n, max(option_id) FILTER (WHERE question_id = 'total-time') AS total_time,
              max(option_id) FILTER (WHERE question_id = 'overall') AS overall
       FROM survey_answers GROUP BY response_id`,
    );
    const [dissatisfied] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM survey_responses WHERE overall_satisfied = false AND status = 'completed'`);
    const summary = {
      events: events.length,
      acknowledged: acked.length,
      refused: log.attempts.filter((x) => x.status !== 200).length,
      downMs,
      lost,
      doubled,
      surveyCallErrors: errors.n,
      responses: Object.fromEntries(responses.map((r) => [r.status, Number(r.n)])),
      seconds: Math.round((Date.now() - t0) / 1000),
    };
    process.stdout.write(`postgres fault test (inbound + survey): ${JSON.stringify(summary)}\n`);
    expect(acked).toHaveLength(events.length);
    expect(lost).toBe(0);
    expect(doubled).toBe(0);
    expect(replied()).toBe(acked.length);
    // Surveys: 40 completed responses (one each), six answers each, the last choice kept.
    expect(summary.responses).toEqual({ completed: 40 });
    expect(answers).toHaveLength(40);
    expect(answers.every((r) => Number(r.n) === 6)).toBe(true);
    expect(answers.filter((r) => r.total_time === 'longer')).toHaveLength(13);
    expect(Number(dissatisfied?.n)).toBe(10);
    // The crash did reach the answering: some calls failed and were retried.
    expect(errors.n).toBeGreaterThan(0);
  }, 90_000);
});
