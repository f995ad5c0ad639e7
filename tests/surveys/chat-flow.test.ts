// The survey in chat (src/surveys/chat-flow.ts) through the real conversation engine and the real
// SurveyRepository on PostgreSQL: whole evaluations on Messenger, Zalo and the widget with every
// reply rendered by the platform renderers within their limits, typed numbers and labels, skip,
// stop, resumption after a procedure question and after the state expired, stale and forged
// taps, a double start, links that never answer, masked comments, the dossier code typed in
// chat, the procedure questions the flow must not take, and the offer after an answer with its
// limiter (memory and Redis).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { Redis } from 'ioredis';
import type { InboundEvent, Reply } from '../../src/channels/channel.js';
import {
  MESSENGER_BUTTONS_MAX,
  MESSENGER_QUICK_REPLIES_MAX,
  MESSENGER_TEMPLATE_TEXT_MAX,
  MESSENGER_TEXT_MAX,
  MESSENGER_TITLE_MAX,
  renderMessengerReply,
} from '../../src/channels/messenger/render.js';
import { renderZaloReply, ZALO_MAX_BUTTONS, ZALO_MAX_TEXT, zaloNumberedChoices } from '../../src/channels/zalo/render.js';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { formatFee, formatTime } from '../../src/catalogue/format.js';
import { createEngine } from '../../src/conversation/engine.js';
import type { FlowTurn } from '../../src/conversation/flow.js';
import { defaultIntentsDir, loadIntents } from '../../src/conversation/intents.js';
import { MemoryHandoffQueue, MemoryQueryLog, MemoryStateStore, MemoryUnitDirectory } from '../../src/conversation/memory-ports.js';
import type { Searcher } from '../../src/search/types.js';
import { buildSearchIndex } from '../../src/search/index.js';
import type { Database } from '../../src/store/database.js';
import { parseSurveyAction } from '../../src/surveys/chat-actions.js';
import { createSurveyFlow, type UnitSurveys } from '../../src/surveys/chat-flow.js';
import { MemoryOfferLimiter, RedisOfferLimiter, type OfferPolicy } from '../../src/surveys/chat-offer.js';
import { surveyStartPayload } from '../../src/surveys/chat-payload.js';
import { loadSurveyChatTexts, parseSurveyChatTexts, type SurveyChatTexts } from '../../src/surveys/chat-texts.js';
import { loadSurveyRegistry, type SurveyRegistry } from '../../src/surveys/definition-loader.js';
import { SurveyRepository } from '../../src/surveys/survey-repository.js';
import { isolatedName, TEST_REDIS_URL } from '../helpers/services.js';
import { FakeSearcher, fixtureCatalogue, SCRIPTS, UNIT } from '../conversation/fixtures.js';
import { dropSchema, KEY, openTestDatabase, surveysCopy, unit } from './harness.js';

const intents = loadIntents(defaultIntentsDir());
const T0 = Date.parse('2026-11-20T03:00:00Z'); // Quý IV/2026 in Vietnam
let clock = T0;
const DAY = 24 * 3600 * 1000;

const schema = isolatedName('chatflow');
let db: Database;
let registry: SurveyRegistry;
let repo: SurveyRepository;
let texts: SurveyChatTexts;

beforeAll(async () => {
  db = await openTestDatabase('postgres', schema, [unit('xa-mau', 'UBND xã Mẫu')]);
  registry = loadSurveyRegistry();
  repo = new SurveyRepository(db, registry, { respondentKey: KEY });
  texts = loadSurveyChatTexts();
});

afterAll(async () => {
  await db?.close();
  await dropSchema(schema);
});

const fixtures = fixtureCatalogue();

interface RigOptions {
  offer?: OfferPolicy;
  searcher?: Searcher;
  catalogue?: { byCode(code: string): ReturnType<typeof fixtures.byCode> };
  registry?: SurveyRegistry;
  repo?: SurveyRepository;
  unitSurveys?: (unitId: string) => UnitSurveys;
}

function rig(opts: RigOptions = {}) {
  const state = new MemoryStateStore(() => clock);
  const catalogue = opts.catalogue ?? fixtures;
  const flow = createSurveyFlow({
    store: opts.repo ?? repo,
    registry: opts.registry ?? registry,
    texts,
    procedures: catalogue,
    ...(opts.offer ? { offer: opts.offer } : {}),
    ...(opts.unitSurveys ? { unitSurveys: opts.unitSurveys } : {}),
  });
  const engine = createEngine({
    catalogue,
    searcher: opts.searcher ?? new FakeSearcher(SCRIPTS),
    state,
    queryLog: new MemoryQueryLog(),
    handoff: new MemoryHandoffQueue(),
    units: new MemoryUnitDirectory([UNIT]),
    intents,
    flows: [flow],
    now: () => new Date(clock),
    onError: (e) => {
      throw e;
    },
  });
  return { engine, state, flow };
}

let seq = 0;
type Channel = 'messenger' | 'zalo' | 'web';

function person(engine: ReturnType<typeof rig>['engine'], channel: Channel) {
  const userId = `u${++seq}-${Math.random().toString(36).slice(2, 8)}`;
  const base = { unitId: 'xa-mau', channel, accountId: 'acc-1', userId, timestamp: 0 };
  const send = async (event: InboundEvent) => {
    const replies = await engine.handle(event);
    checkRender(replies);
    return replies;
  };
  return {
    userId,
    key: { unitId: 'xa-mau', channel, userId },
    say: (text: string) => send({ ...base, kind: 'text', messageId: `m${++seq}`, text }),
    // A Zalo tap arrives as text carrying the payload; Messenger and the widget send a postback.
    tap: (payload: string) =>
      send(channel === 'zalo' ? { ...base, kind: 'text', messageId: `m${++seq}`, text: payload } : { ...base, kind: 'postback', messageId: `m${++seq}`, payload }),
    link: (ref: string) => send({ ...base, kind: 'postback', messageId: `m${++seq}`, payload: ref, ref }),
  };
}

/** Every reply rendered for Messenger and Zalo within their limits, every choice still reachable. */
function checkRender(replies: readonly Reply[]): void {
  for (const r of replies) {
    const choices = [...r.buttons, ...r.quickReplies];
    const fb = renderMessengerReply(r, 'psid', 'RESPONSE');
    const reachable = new Map<string, string>();
    for (const { message } of fb) {
      if ('attachment' in message) {
        const { text, buttons } = message.attachment.payload;
        expect(text.length).toBeLessThanOrEqual(MESSENGER_TEMPLATE_TEXT_MAX);
        expect(buttons.length).toBeLessThanOrEqual(MESSENGER_BUTTONS_MAX);
        for (const b of buttons) if (b.type === 'postback') reachable.set(b.payload, b.title);
      } else {
        expect(message.text.length).toBeLessThanOrEqual(MESSENGER_TEXT_MAX);
      }
      expect(message.quick_replies?.length ?? 0).toBeLessThanOrEqual(MESSENGER_QUICK_REPLIES_MAX);
      for (const q of message.quick_replies ?? []) reachable.set(q.payload, q.title);
    }
    for (const c of choices) {
      expect(reachable.has(c.payload)).toBe(true);
      // The survey's own buttons are never shortened: a Messenger title holds the whole label.
      if (c.payload.startsWith('mc:sv:')) {
        expect(Array.from(c.title).length).toBeLessThanOrEqual(MESSENGER_TITLE_MAX);
        expect(reachable.get(c.payload)).toBe(c.title);
      }
    }
    const zalo = renderZaloReply(r, 'zuid');
    for (const body of zalo) expect(body.message.text.length).toBeLessThanOrEqual(ZALO_MAX_TEXT);
    const last = zalo.at(-1);
    const zButtons = last?.message.attachment?.payload.buttons ?? [];
    expect(zButtons.length).toBeLessThanOrEqual(ZALO_MAX_BUTTONS);
    const numbered = zaloNumberedChoices(r);
    if (numbered) {
      // More than 5 choices: all listed by number (a typed number picks them), the first ones tappable.
      choices.forEach((c, i) => expect(last?.message.text).toContain(`${i + 1}. ${c.title}`));
    } else {
      expect(zButtons.filter((b) => b.type !== 'oa.open.url').map((b) => b.payload)).toEqual(choices.map((c) => c.payload));
    }
  }
}

/** The payload of the choice titled `title` in the last reply that has choices. */
function pick(replies: readonly Reply[], title: string): string {
  const last = [...replies].reverse().find((r) => r.buttons.length + r.quickReplies.length > 0);
  const found = [...(last?.buttons ?? []), ...(last?.quickReplies ?? [])].find((b) => b.title === title);
  if (!found) throw new Error(`no choice "${title}" in ${JSON.stringify(last)}`);
  return found.payload;
}

function responseIdOf(replies: readonly Reply[]): number {
  for (const r of replies) {
    for (const b of [...r.buttons, ...r.quickReplies]) {
      const a = parseSurveyAction(b.payload);
      if (a && a.responseId !== null) return a.responseId;
    }
  }
  throw new Error('no survey button in the replies');
}

const lastText = (replies: readonly Reply[]) => replies.at(-1)?.text ?? '';

async function countResponses(occasion: string): Promise<number> {
  const [row] = await db.query<{ n: string }>('SELECT count(*) AS n FROM survey_responses WHERE occasion = $1', [occasion]);
  return Number(row?.n);
}

describe('survey chat flow', () => {
  it('runs a whole dossier evaluation on Messenger from a QR code, comment digits masked', async () => {
    const { engine, state } = rig();
    const p = person(engine, 'messenger');
    const qr = surveyStartPayload({ definitionId: 'dossier-evaluation', procedureCode: '1.001193', dossierCode: '000.00.01.H56-240101-0001' });
    let r = await p.link(qr);
    expect(r[0]?.text).toMatch(/^Xin ông\/bà dành khoảng một phút/);
    expect(lastText(r)).toMatch(/^Câu 1\/6\. So với thời hạn giải quyết/);
    const id = responseIdOf(r);
    expect(await repo.answers(id)).toEqual([]); // a link only opens
    r = await p.tap(pick(r, 'Sớm hơn hẹn'));
    expect(lastText(r)).toMatch(/^Câu 2\/6\./);
    r = await p.tap(pick(r, 'Không lần nào'));
    r = await p.tap(pick(r, 'Chỉ Bộ phận Một cửa'));
    r = await p.tap(pick(r, 'Không gặp'));
    expect(lastText(r)).toMatch(/^Câu 5\/6\. Đánh giá tổng thể dịch vụ/);
    r = await p.tap(pick(r, 'Rất hài lòng'));
    expect(lastText(r)).toMatch(/^Câu 6\/6\. Ông\/bà có góp ý gì thêm không/);
    r = await p.say('Cán bộ hướng dẫn tận tình, gọi lại cho tôi số 0912 345 678 nhé');
    expect(r[0]?.text).toBe(registry.latest('dossier-evaluation')?.thanks);

    const response = await repo.get(id);
    expect(response).toMatchObject({
      status: 'completed',
      occasionKind: 'dossier',
      occasion: '000.00.01.H56-240101-0001',
      channel: 'messenger',
      procedureCode: '1.001193',
      field: 'Hộ tịch',
      overallLevel: 'very_satisfied',
      // Index 7 without harassment is worth what index 1 was (2: early).
      indexPoints: [2, null, 2, 1, null, null, 2, null, null],
    });
    const comment = (await repo.answers(id)).find((a) => a.questionId === 'comment');
    expect(comment?.comment).toBe('Cán bộ hướng dẫn tận tình, gọi lại cho tôi số # # # nhé');
    expect((await state.get(p.key))?.mode).toBe('idle');
  });

  it('runs the 5-level evaluation on Zalo with typed numbers and labels, and "bỏ qua" completes', async () => {
    const { engine } = rig();
    const p = person(engine, 'zalo');
    // Typed with the code as on the receipt (spaces, lower case): the unit's dossier evaluation.
    let r = await p.say('đánh giá hồ sơ 000.00.01.h56 - 240101-0002');
    expect(lastText(r)).toMatch(/^Câu 1\/6/);
    const first = responseIdOf(r);
    expect((await repo.get(first))?.occasion).toBe('000.00.01.H56-240101-0002');
    await p.tap(pick(r, 'Dừng đánh giá'));
    // A unit using the 5-level form puts it in its QR codes.
    r = await p.tap(surveyStartPayload({ definitionId: 'dossier-evaluation-5', dossierCode: '000.00.01.H56-240101-0009' }));
    const id = responseIdOf(r);
    // Three options shown as buttons: "5" (a mark?) is no choice, and never "Dừng".
    r = await p.say('5');
    expect(r[0]?.text).toBe('Không có lựa chọn số 5. Bạn hãy bấm một nút hoặc gõ số trong danh sách.');
    expect(lastText(r)).toMatch(/^Câu 1\/6/);
    r = await p.say('2'); // Đúng hẹn
    expect(lastText(r)).toMatch(/^Câu 2\/6/);
    r = await p.say('không lần nào'); // a label with its marks
    r = await p.say('chi bo phan mot cua'); // a label typed without marks
    r = await p.tap(pick(r, 'Có gặp'));
    expect(lastText(r)).toMatch(/^Câu 5\/6/);
    // Five levels + "Bỏ qua" + "Dừng": Zalo shows them numbered, the typed number picks.
    const overall = r.at(-1);
    expect(overall && zaloNumberedChoices(overall)?.length).toBe(7);
    r = await p.say('3'); // Bình thường
    expect(lastText(r)).toMatch(/^Câu 6\/6/);
    // The comment takes text; digits alone are no comment.
    r = await p.say('0912345678');
    expect(r[0]?.text).toBe(texts.texts.commentNeedsLetters);
    r = await p.say('bỏ qua');
    expect(r[0]?.text).toBe(registry.latest('dossier-evaluation-5')?.thanks);

    expect(await repo.get(id)).toMatchObject({ status: 'completed', channel: 'zalo', overallLevel: 'neutral', overallSatisfied: false, indexPoints: [1, null, 2, 1, null, null, 0, null, null] });
    const answers = await repo.answers(id);
    expect(answers.map((a) => [a.questionId, a.optionId, a.skipped])).toEqual([
      ['total-time', 'equal', false],
      ['contact-count', 'none', false],
      ['agency-count', 'one-stop-only', false],
      ['harassment', 'met', false],
      ['overall', 'neutral', false],
      ['comment', null, true],
    ]);
  });

  it('runs the periodic survey on Zalo, started by "khảo sát", skipping by word, button and listed number', async () => {
    const { engine } = rig();
    const p = person(engine, 'zalo');
    let r = await p.say('khảo sát');
    expect(r[0]?.text).toBe(registry.latest('sipas')?.intro);
    const id = responseIdOf(r);
    const total = registry.latest('sipas')?.questions.length ?? 0;
    expect(lastText(r)).toMatch(new RegExp(`^Câu 1/${total}\\.`));
    r = await p.say('có');
    r = await p.say('Không');
    let byNumber = 0;
    for (let i = 3; i < total; i++) {
      const q = r.at(-1);
      const listed = q ? zaloNumberedChoices(q) : null;
      if (listed) {
        // Zalo lists 5 levels + "Bỏ qua" + "Dừng" by number: "6" is "Bỏ qua".
        expect(listed[5]).toBe(pick(r, 'Bỏ qua'));
        r = await p.say('6');
        byNumber++;
      } else if (i % 2 === 0) {
        r = await p.say('bo qua');
      } else {
        r = await p.tap(pick(r, 'Bỏ qua'));
      }
      expect(lastText(r)).toMatch(new RegExp(`^Câu ${i + 1}/${total}\\.`));
    }
    expect(byNumber).toBe(6); // 5 elements + overall
    r = await p.say('Nên có thêm chỗ ngồi chờ');
    expect(r[0]?.text).toBe(registry.latest('sipas')?.thanks);
    const response = await repo.get(id);
    expect(response).toMatchObject({ status: 'completed', occasionKind: 'period', occasion: '2026-Q4', channel: 'zalo' });
    const answers = await repo.answers(id);
    expect(answers).toHaveLength(total);
    expect(answers.slice(0, 2).map((a) => a.optionId)).toEqual(['yes', 'no']);
    expect(answers.filter((a) => a.skipped)).toHaveLength(total - 3);
  });

  it('stops on "dừng" and the button (not on "đúng"), and a stopped survey restarts from the start (widget)', async () => {
    const { engine, state } = rig();
    const p = person(engine, 'web');
    let r = await p.tap('mc:sv:sipas');
    const id = responseIdOf(r);
    r = await p.say('có');
    const q2 = r;
    // "đúng" folds like "dừng" but is no stop: it is not a survey answer either, so the engine answers it.
    r = await p.say('đúng');
    expect(r.map((x) => x.text).join(' ')).not.toContain('Đã dừng');
    expect((await repo.get(id))?.status).toBe('in_progress');
    r = await p.say('tiếp tục khảo sát');
    expect(r[0]?.text).toContain('Mời bạn tiếp tục');
    expect(lastText(r)).toMatch(/^Câu 2\//);
    r = await p.say('dừng');
    expect(r[0]?.text).toMatch(/^Đã dừng phiếu đánh giá/);
    expect((await repo.get(id))?.status).toBe('cancelled');
    expect((await state.get(p.key))?.mode).toBe('idle');
    const restart = pick(r, 'Đánh giá lại');
    // An old button of the stopped response records nothing.
    const old = await p.tap(pick(q2, 'Có'));
    expect(old[0]?.text).toBe(texts.texts.closedCancelled);
    expect((await repo.answers(id)).map((a) => a.questionId)).toEqual(['access-seats']);
    r = await p.tap(restart);
    expect(r[0]?.text).toBe(registry.latest('sipas')?.intro);
    expect(lastText(r)).toMatch(/^Câu 1\//);
    expect(responseIdOf(r)).toBe(id); // the same response, reopened
    r = await p.tap(pick(r, 'Dừng đánh giá'));
    expect(r[0]?.text).toMatch(/^Đã dừng/);
    expect((await repo.get(id))?.status).toBe('cancelled');
  });

  it('resumes after a procedure question and after the state expired; the start payload resumes too', async () => {
    const { engine, state } = rig();
    const p = person(engine, 'zalo');
    const qr = surveyStartPayload({ definitionId: 'dossier-evaluation', dossierCode: 'HS-RESUME-01' });
    let r = await p.tap(qr);
    const id = responseIdOf(r);
    r = await p.tap(pick(r, 'Trễ hẹn'));
    const q2 = r;
    // A procedure question mid-survey: the engine answers, the survey waits, a reminder follows.
    r = await p.say('ket hon');
    expect(r[0]?.text).toContain('kết hôn');
    expect(lastText(r)).toBe(texts.texts.reminder);
    expect((await state.get(p.key))?.mode).toBe('answered');
    expect((await repo.get(id))?.status).toBe('in_progress');
    // The same QR code again: where it stopped, not the intro.
    r = await p.tap(qr);
    expect(r[0]?.text).toContain('Mời bạn tiếp tục');
    expect(lastText(r)).toMatch(/^Câu 2\/6/);
    r = await p.tap(pick(q2, 'Một lần'));
    expect(lastText(r)).toMatch(/^Câu 3\/6/);
    // The conversation state expires: an old button still reaches the citizen's own response.
    await state.clear(p.key);
    r = await p.tap(pick(r, 'Hơn một nơi'));
    expect(lastText(r)).toMatch(/^Câu 4\/6/);
    await state.clear(p.key);
    r = await p.say('tiep tuc danh gia');
    expect(lastText(r)).toMatch(/^Câu 4\/6/);
    expect((await repo.answers(id)).map((a) => a.optionId)).toEqual(['longer', 'once', 'more-than-one']);
    // Nothing left to resume once it is done.
    for (const step of ['1', '1', 'bỏ qua']) r = await p.say(step);
    expect((await repo.get(id))?.status).toBe('completed');
    r = await p.say('tiếp tục khảo sát');
    expect(r[0]?.text).toBe(texts.texts.nothingToResume);
  });

  it('handles stale, forged and unknown taps politely, and one response per respondent per occasion', async () => {
    const { engine } = rig();
    const a = person(engine, 'messenger');
    const b = person(engine, 'messenger');
    const qr = surveyStartPayload({ definitionId: 'dossier-evaluation', dossierCode: 'HS-STALE-01' });
    // Two taps at once: one response.
    const [first, second] = await Promise.all([a.tap(qr), a.tap(qr)]);
    expect(await countResponses('HS-STALE-01')).toBe(1);
    expect(responseIdOf(first ?? [])).toBe(responseIdOf(second ?? []));
    let r = first ?? [];
    const id = responseIdOf(r);
    const q1 = r;
    r = await a.tap(pick(q1, 'Sớm hơn hẹn'));
    const q2 = r;
    // An earlier question's button: not recorded, the current question asked again.
    r = await a.tap(pick(q1, 'Trễ hẹn'));
    expect(r[0]?.text).toBe(texts.texts.staleQuestion);
    expect(lastText(r)).toMatch(/^Câu 2\/6/);
    // Someone else's button (a forwarded or forged payload): nothing recorded for either.
    r = await b.tap(pick(q2, 'Hơn một lần'));
    expect(r[0]?.text).toBe(texts.texts.staleButton);
    // Malformed, unknown response, unknown option.
    for (const bad of ['mc:sv:_a:abc', 'mc:sv:_a:999999999:total-time:shorter', 'mc:sv:_q:1', 'mc:sv:Bad_Id']) {
      r = await b.tap(bad);
      expect(r[0]?.text).toBe(texts.texts.staleButton);
    }
    r = await a.tap(`mc:sv:_a:${id}:contact-count:nope`);
    expect(r[0]?.text).toBe(texts.texts.staleQuestion);
    expect((await repo.answers(id)).map((x) => [x.questionId, x.optionId])).toEqual([['total-time', 'shorter']]);
    // Finish by skipping; old buttons then say it is done, and the QR code says it was answered.
    for (let i = 0; i < 5; i++) r = await a.say('bỏ qua');
    expect((await repo.get(id))?.status).toBe('completed');
    r = await a.tap(pick(q2, 'Một lần'));
    expect(r[0]?.text).toBe(texts.texts.closedCompleted);
    r = await a.tap(qr);
    expect(r[0]?.text).toBe('Bạn đã gửi phiếu "Đánh giá việc giải quyết thủ tục hành chính" cho hồ sơ HS-STALE-01 rồi. Mỗi người chỉ đánh giá một lần; cảm ơn bạn đã dành thời gian!');
    expect(await countResponses('HS-STALE-01')).toBe(1);
  });

  it('never answers from a link', async () => {
    const { engine } = rig();
    const owner = person(engine, 'web');
    const other = person(engine, 'web');
    let r = await owner.link(surveyStartPayload({ definitionId: 'dossier-evaluation', dossierCode: 'HS-LINK-01' }));
    const id = responseIdOf(r);
    const answer = pick(r, 'Sớm hơn hẹn');
    r = await owner.link(answer);
    expect(lastText(r)).toMatch(/^Câu 1\/6/);
    r = await owner.link(pick(r, 'Dừng đánh giá'));
    expect(lastText(r)).toMatch(/^Câu 1\/6/);
    r = await other.link(answer);
    expect(r[0]?.text).toBe(texts.texts.staleButton);
    expect(await repo.answers(id)).toEqual([]);
    expect((await repo.get(id))?.status).toBe('in_progress');
  });

  it('asks for the dossier code, offers the choice on "đánh giá", and leaves procedure questions alone', async () => {
    const { engine } = rig();
    const p = person(engine, 'messenger');
    let r = await p.say('Đánh giá hồ sơ');
    expect(r[0]?.text).toBe(texts.texts.askDossierCode);
    r = await p.say('mã hồ sơ 000.00.01.h56 - 240101-0003 ạ');
    expect(r[0]?.text).toMatch(/^Xin ông\/bà dành khoảng một phút/);
    expect((await repo.get(responseIdOf(r)))?.occasion).toBe('000.00.01.H56-240101-0003');

    const q = person(engine, 'zalo');
    r = await q.say('danh gia');
    expect(r[0]?.text).toBe(texts.texts.choose);
    const dossierChoice = pick(r, 'Đánh giá hồ sơ');
    r = await q.tap(dossierChoice);
    expect(r[0]?.text).toBe(texts.texts.askDossierCode);
    r = await q.say('thôi');
    expect(r[0]?.text).toBe(texts.texts.codeCancelled);
    r = await q.tap(dossierChoice);
    // A procedure question instead of the code: the engine answers it.
    r = await q.say('ket hon');
    expect(r[0]?.text).toContain('kết hôn');
    r = await q.tap(dossierChoice);
    r = await q.say('mã hồ sơ của tôi là 000.00.01.H56-240101-0004 nhé');
    expect(r[0]?.text).toMatch(/^Xin ông\/bà dành khoảng một phút/);
    expect((await repo.get(responseIdOf(r)))?.occasion).toBe('000.00.01.H56-240101-0004');

    // Words around "đánh giá" that are not a code: a procedure question, searched.
    const searcher = new FakeSearcher(SCRIPTS);
    const s = person(rig({ searcher }).engine, 'messenger');
    r = await s.say('đánh giá hồ sơ mời thầu');
    expect(searcher.calls.map((c) => c.query)).toEqual(['đánh giá hồ sơ mời thầu']);
    expect(r[0]?.text).not.toBe(texts.texts.askDossierCode);
  });

  it('does not take "đánh giá tác động môi trường" (real catalogue and search), nor any procedure name', async () => {
    const catalogue = loadCatalogue('procedures');
    // The real search over the procedures that share the survey's words (indexing all 2,600 is slow).
    const sharing = catalogue.procedures.filter((x) => /đánh giá|khảo sát|góp ý/iu.test(x.name));
    expect(sharing.length).toBeGreaterThan(10);
    const { engine, flow } = rig({ searcher: buildSearchIndex(sharing), catalogue });
    const p = person(engine, 'zalo');
    for (const text of ['đánh giá tác động môi trường', 'danh gia tac dong moi truong']) {
      const r = await p.say(text);
      expect(r[0]?.text).toContain('Tham vấn trong đánh giá tác động môi trường');
    }
    expect(await repo.resume({ channel: 'zalo', platformUserId: p.userId })).toBeUndefined();
    // No procedure name of the catalogue is read as the survey's words.
    const turn = (text: string): FlowTurn => ({
      event: { kind: 'text', unitId: 'xa-mau', channel: 'zalo', accountId: 'acc-1', userId: 'sweep', messageId: 'x', text, timestamp: 0 },
      key: { unitId: 'xa-mau', channel: 'zalo', userId: 'sweep' },
      accountId: 'acc-1',
      unit: UNIT,
      ctx: { texts: intents, format: { time: formatTime, fee: formatFee }, unit: UNIT },
      data: null,
      question: undefined,
      now: new Date(clock),
      enter: async () => {
        throw new Error(`claimed: ${text}`);
      },
      leave: async () => undefined,
      menu: () => [],
    });
    const claimed: string[] = [];
    for (const proc of catalogue.procedures) {
      for (const name of [proc.name, ...proc.aliases]) {
        if ((await flow.onText?.(turn(name), name)) != null) claimed.push(name);
      }
    }
    expect(claimed).toEqual([]);
  });

  it('offers the periodic survey after an answer at most once per interval (memory limiter), never when off', async () => {
    const limiter = new MemoryOfferLimiter(() => clock);
    const { engine } = rig({ offer: { mode: 'on', limiter, intervalDays: 30 } });
    const p = person(engine, 'messenger');
    try {
      let r = await p.say('ket hon');
      expect(lastText(r)).toBe(texts.texts.offer);
      r = await p.say('tam tru');
      expect(r.map((x) => x.text)).not.toContain(texts.texts.offer);
      clock += 31 * DAY;
      r = await p.say('ket hon');
      expect(lastText(r)).toBe(texts.texts.offer);
      // The offer says what to type; the typed words start the periodic survey.
      r = await p.say('khảo sát');
      expect(r[0]?.text).toBe(registry.latest('sipas')?.intro);
    } finally {
      clock = T0;
    }
    const off = person(rig({ offer: { mode: 'off', limiter: new MemoryOfferLimiter(() => clock), intervalDays: 30 } }).engine, 'messenger');
    expect((await off.say('ket hon')).map((x) => x.text)).not.toContain(texts.texts.offer);
    const none = person(rig().engine, 'messenger');
    expect((await none.say('ket hon')).map((x) => x.text)).not.toContain(texts.texts.offer);
  });

  it('limits offers in Redis with a TTL, under a key without the platform id', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    const prefix = isolatedName('svoffer');
    try {
      const limiter = new RedisOfferLimiter(redis, prefix, 'k'.repeat(32));
      const key = { unitId: 'xa-mau', channel: 'zalo' as const, userId: 'zalo-user-123456' };
      const takes = await Promise.all([limiter.take(key, 3 * 86400), limiter.take(key, 3 * 86400)]);
      expect(takes.sort()).toEqual([false, true]);
      expect(await limiter.take({ ...key, userId: 'zalo-user-2' }, 3 * 86400)).toBe(true);
      const keys = await redis.keys(`${prefix}:*`);
      expect(keys).toHaveLength(2);
      expect(keys.join(' ')).not.toContain('zalo-user');
      const ttl = await redis.ttl(limiter.key(key));
      expect(ttl).toBeGreaterThan(3 * 86400 - 10);
      expect(ttl).toBeLessThanOrEqual(3 * 86400);
    } finally {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    }
  });

  it('uses the unit\'s surveys and wording; a question that cannot be skipped is not', async () => {
    const dir = surveysCopy();
    try {
      fs.mkdirSync(path.join(dir, 'strict'));
      fs.writeFileSync(
        path.join(dir, 'strict/v1.yaml'),
        stringify({
          id: 'strict',
          version: 1,
          kind: 'periodic',
          title: 'Khảo sát thử',
          intro: 'Mời trả lời.',
          thanks: 'Cảm ơn.',
          questions: [
            { id: 'overall', type: 'satisfaction', role: 'overall', scale: 3, optional: false, text: 'Hài lòng không?', options: [
              { id: 'a', label: 'Rất hài lòng', level: 'very_satisfied' },
              { id: 'b', label: 'Hài lòng', level: 'satisfied' },
              { id: 'c', label: 'Không hài lòng', level: 'dissatisfied' },
            ] },
            { id: 'comment', type: 'comment', text: 'Góp ý?' },
          ],
        }),
      );
      fs.writeFileSync(path.join(dir, 'overrides/xa-mau.yaml'), stringify({ unit: 'xa-mau', surveys: { strict: { questions: { overall: { options: { a: { label: 'Rất ưng ý' } } } } } } }));
      const strictRegistry = loadSurveyRegistry(dir);
      const strictRepo = new SurveyRepository(db, strictRegistry, { respondentKey: KEY });
      const { engine } = rig({ registry: strictRegistry, repo: strictRepo, unitSurveys: () => ({ periodic: 'strict', dossier: null }) });
      const p = person(engine, 'messenger');
      // Only a periodic survey here: "đánh giá" starts it without asking which.
      let r = await p.say('đánh giá');
      expect(r[0]?.text).toBe('Mời trả lời.');
      const id = responseIdOf(r);
      expect(r.at(-1)?.buttons.map((x) => x.title)).toEqual(['Rất ưng ý', 'Hài lòng', 'Không hài lòng']);
      expect(r.at(-1)?.quickReplies.map((x) => x.title)).toEqual(['Dừng đánh giá']);
      r = await p.say('bỏ qua');
      expect(r[0]?.text).toBe(texts.texts.notSkippable);
      expect(lastText(r)).toBe('Câu 1/2. Hài lòng không?');
      r = await p.say('rat ung y');
      expect(lastText(r)).toBe('Câu 2/2. Góp ý?');
      r = await p.say('Xong rồi, cảm ơn');
      expect(r[0]?.text).toBe('Cảm ơn.');
      expect(await strictRepo.get(id)).toMatchObject({ status: 'completed', definitionId: 'strict', overallLevel: 'very_satisfied' });
      expect((await strictRepo.answers(id)).map((a) => a.comment)).toEqual([null, 'Xong rồi, cảm ơn']);

      const none = person(rig({ unitSurveys: () => ({ periodic: null, dossier: null }) }).engine, 'zalo');
      expect((await none.say('khảo sát'))[0]?.text).toBe(texts.texts.unavailable);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('validates surveys/chat.yaml (button titles within Messenger limits)', () => {
    const doc = structuredClone(texts) as unknown as { buttons: Record<string, string> };
    doc.buttons.skip = 'Bỏ qua câu hỏi này ngay bây giờ';
    expect(() => parseSurveyChatTexts(doc, 'chat.yaml')).toThrow(/buttons\.skip: at most 20/);
  });
});
