// The satisfaction survey as a conversation flow (src/conversation/flow.ts): started by a start
// payload (a tap, or a link / QR code at the desk, chat-payload.ts) or by typed words ("đánh
// giá", "khảo sát", "đánh giá hồ sơ <mã>"), it asks the definition's questions one at a time
// with buttons, takes typed option labels and numbers, "bỏ qua" and "dừng", and a free-text
// comment. The conversation state holds only a pointer (the response id, or the survey waiting
// for a dossier code); the answers, the current question and whether the citizen already
// answered live in the database (SurveyRepository), so a survey interrupted by a procedure
// question — or by the state expiring — resumes where it stopped. Text the flow does not
// understand is let go to the engine (the response stays unfinished). After a procedure answer
// it reminds of an unfinished survey, or offers the unit's periodic survey when the policy allows.
import { z } from 'zod';
import type { Reply, ReplyButton } from '../channels/channel.js';
import { ZALO_MAX_BUTTONS } from '../channels/zalo/render.js';
import type { ConversationFlow, FlowTurn, FlowVia } from '../conversation/flow.js';
import { choiceNumber } from '../conversation/input.js';
import { findReceiptCodes, typedDossierCode } from '../dossiers/code.js';
import { plainPayload } from '../conversation/payload.js';
import { fill, reply } from '../conversation/replies.js';
import { actionPayload, MAX_ACTION_PAYLOAD, parseSurveyAction, type SurveyAction } from './chat-actions.js';
import type { OfferPolicy } from './chat-offer.js';
import { parseSurveyStart, SURVEY_ACTION, surveyStartPayload, type SurveyStart } from './chat-payload.js';
import { createPhraseMatcher, labelKey, wordsOf, type SurveyChatTexts } from './chat-texts.js';
import type { SurveyDefinition, SurveyQuestion } from './definition.js';
import type { SurveyRegistry } from './definition-loader.js';
import { parsePeriod, quarterOf } from './period.js';
import {
  SurveyError,
  type Occasion,
  type Progress,
  type RespondentRef,
  type StartInput,
  type StartResult,
  type SurveyChannel,
  type SurveyResponse,
} from './survey-repository.js';

/** What the flow needs of the responses (SurveyRepository satisfies it). */
export interface SurveyStore {
  start(input: StartInput): Promise<StartResult>;
  get(id: number): Promise<SurveyResponse | undefined>;
  answer(id: number, questionId: string, optionId: string, at?: Date): Promise<Progress>;
  skip(id: number, questionId: string, at?: Date): Promise<Progress>;
  comment(id: number, questionId: string, text: string, at?: Date): Promise<Progress>;
  complete(id: number, at?: Date): Promise<SurveyResponse>;
  cancel(id: number, at?: Date): Promise<SurveyResponse>;
  resume(who: RespondentRef): Promise<Progress | undefined>;
}

/** The surveys a unit runs in chat; null: none of that kind. */
export interface UnitSurveys {
  /** Answered once per period (SIPAS-style). */
  periodic: string | null;
  /** Answered once per dossier (TT 01/2018 evaluation). */
  dossier: string | null;
}

export interface SurveyFlowDeps {
  store: SurveyStore;
  registry: SurveyRegistry;
  /** surveys/chat.yaml, loaded with loadSurveyChatTexts(). */
  texts: SurveyChatTexts;
  /** The surveys of a unit. Default: sipas and dossier-evaluation for every unit. */
  unitSurveys?: (unitId: string) => UnitSurveys;
  /** The occasion of a periodic survey answered at `at`. Default: its quarter ("2026-Q3"). */
  periodOf?: (at: Date) => string;
  /** The offer after a procedure answer. Default: never offered. */
  offer?: OfferPolicy;
  /** The field (lĩnh vực) of a procedure code, stored with the response for the reports. */
  procedures?: { byCode(code: string): { field: string } | null | undefined };
  /** Times answers are stored with. Default: the engine's clock (turn.now). */
  now?: () => Date;
}

export const DEFAULT_UNIT_SURVEYS: UnitSurveys = { periodic: 'sipas', dossier: 'dossier-evaluation' };

/** The conversation state's data while the flow is active: a pointer, never the answers. */
const FlowData = z.union([
  z.strictObject({ responseId: z.number().int().positive() }),
  z.strictObject({
    awaitCode: z.strictObject({ definitionId: z.string().min(1).max(63), procedureCode: z.string().max(20).optional() }),
  }),
]);
type FlowData = z.infer<typeof FlowData>;

const CHANNELS: Record<FlowTurn['key']['channel'], SurveyChannel> = { messenger: 'messenger', zalo: 'zalo', web: 'web' };

/** A Messenger button template holds 640 characters of text. */
const TEMPLATE_TEXT_MAX = 640;
/** The longest response id a payload may carry (15 digits), for the start-up size check. */
const LONGEST_ID = 999_999_999_999_999;

type Located =
  | { kind: 'open'; progress: Progress }
  | { kind: 'closed'; response: SurveyResponse; mine: boolean }
  | { kind: 'stale' };

type CodeRead = { kind: 'code'; code: string } | { kind: 'empty' } | { kind: 'other' };

export function createSurveyFlow(deps: SurveyFlowDeps): ConversationFlow {
  const { store, registry } = deps;
  const t = deps.texts.texts;
  const b = deps.texts.buttons;
  const fillers = new Set(deps.texts.phrases.fillers);
  const phrase = (list: readonly string[]) => createPhraseMatcher(list, fillers);
  const said = {
    periodic: phrase(deps.texts.phrases.periodic),
    choose: phrase(deps.texts.phrases.choose),
    dossier: phrase(deps.texts.phrases.dossier),
    resume: phrase(deps.texts.phrases.resume),
    resumeActive: phrase(deps.texts.phrases.resumeActive),
    skip: phrase(deps.texts.phrases.skip),
    codeLead: phrase(deps.texts.phrases.codeLead),
    cancel: phrase(deps.texts.phrases.cancel),
  };
  const unitSurveys = deps.unitSurveys ?? (() => DEFAULT_UNIT_SURVEYS);
  const periodOf = deps.periodOf ?? quarterOf;
  const offer = deps.offer;
  checkPayloadSizes(registry);

  // ---- helpers ----------------------------------------------------------------------------------

  const at = (turn: FlowTurn): Date => deps.now?.() ?? turn.now;

  function dataOf(turn: FlowTurn): FlowData | null {
    if (!turn.data) return null;
    const parsed = FlowData.safeParse(turn.data);
    return parsed.success ? parsed.data : null;
  }

  function pointerOf(turn: FlowTurn): number | null {
    const data = dataOf(turn);
    return data && 'responseId' in data ? data.responseId : null;
  }

  function who(turn: FlowTurn): RespondentRef {
    return { channel: CHANNELS[turn.key.channel], platformUserId: turn.key.userId, unitId: turn.key.unitId };
  }

  /** A button whose payload the conversation state can remember (else it is left out). */
  function fits(button: ReplyButton): boolean {
    return button.payload.length <= MAX_ACTION_PAYLOAD;
  }

  function menuButton(turn: FlowTurn): ReplyButton {
    return { title: turn.ctx.texts.messages.buttons.menu, payload: plainPayload('menu') };
  }

  /** A response's place, from the database: its definition in the unit's wording and the question to ask. */
  function progressOf(response: SurveyResponse): Progress {
    const version = registry.get(response.definitionId, response.definitionVersion);
    if (!version) throw new SurveyError('SURVEY_UNKNOWN_DEFINITION', `${response.definitionId} version ${response.definitionVersion}`);
    const definition = registry.forUnit(version, response.unitId);
    const next = response.currentQuestion === null ? null : (definition.questions.find((q) => q.id === response.currentQuestion) ?? null);
    return { response, definition, next };
  }

  /** The buttons of a question in the order a typed number picks them: options, "Bỏ qua", "Dừng". */
  function choicesOf(responseId: number, q: SurveyQuestion): { button: ReplyButton; action: SurveyAction }[] {
    const out: { button: ReplyButton; action: SurveyAction }[] = [];
    if (q.type !== 'comment') {
      for (const o of q.options) {
        const action: SurveyAction = { kind: 'answer', responseId, questionId: q.id, optionId: o.id };
        out.push({ button: { title: o.label, payload: actionPayload(action) }, action });
      }
    }
    if (q.optional) {
      const action: SurveyAction = { kind: 'skip', responseId, questionId: q.id };
      out.push({ button: { title: b.skip, payload: actionPayload(action) }, action });
    }
    const stop: SurveyAction = { kind: 'stop', responseId };
    out.push({ button: { title: b.stop, payload: actionPayload(stop) }, action: stop });
    return out;
  }

  /**
   * What a typed number picks: every choice where the platform lists them by number (Zalo, past
   * 5 buttons), else the options only — "5" typed as a mark on a 3-level question stops nothing.
   */
  function numbered(turn: FlowTurn, responseId: number, q: SurveyQuestion): { button: ReplyButton; action: SurveyAction }[] {
    const all = choicesOf(responseId, q);
    if (turn.key.channel === 'zalo' && all.length > ZALO_MAX_BUTTONS) return all;
    return all.filter((c) => c.action.kind === 'answer');
  }

  function questionReply(p: Progress, q: SurveyQuestion): Reply {
    const n = p.definition.questions.findIndex((x) => x.id === q.id) + 1;
    const withNumber = fill(t.question, { n, total: p.definition.questions.length, text: q.text });
    // Within a Messenger button template; the bare question always fits (definition.ts).
    const text = withNumber.length <= TEMPLATE_TEXT_MAX ? withNumber : q.text;
    const choices = choicesOf(p.response.id, q).map((c) => c.button);
    const options = q.type === 'comment' ? 0 : q.options.length;
    // Options as buttons, "Bỏ qua" / "Dừng" as quick replies: Messenger keeps up to 3 options in
    // the message's template and floats the rest; Zalo lists more than 5 as numbers; the widget shows all.
    return reply(text, { buttons: choices.slice(0, options), quickReplies: choices.slice(options) });
  }

  /** Asks the response's current question (completing it when none is left), after `lead`. */
  async function ask(turn: FlowTurn, p: Progress, lead: Reply[] = []): Promise<Reply[]> {
    if (!p.next) return finish(turn, p);
    await turn.enter({ responseId: p.response.id });
    return [...lead, questionReply(p, p.next)];
  }

  async function finish(turn: FlowTurn, p: Progress): Promise<Reply[]> {
    try {
      await store.complete(p.response.id, at(turn));
    } catch (error) {
      if (error instanceof SurveyError && error.code === 'SURVEY_CLOSED') return closed(turn, (await store.get(p.response.id)) ?? p.response, true);
      throw error;
    }
    await turn.leave();
    return [reply(p.definition.thanks, { quickReplies: [menuButton(turn)] })];
  }

  function restartButton(response: SurveyResponse): ReplyButton[] {
    const start: SurveyStart = { definitionId: response.definitionId };
    if (response.procedureCode !== null) start.procedureCode = response.procedureCode;
    if (response.occasionKind === 'dossier') start.dossierCode = response.occasion;
    try {
      return [{ title: b.restart, payload: surveyStartPayload(start) }].filter(fits);
    } catch {
      return [];
    }
  }

  /** A finished response: completed, or stopped. Only the citizen's own gets a restart button. */
  async function closed(turn: FlowTurn, response: SurveyResponse, mine: boolean): Promise<Reply[]> {
    if (mine) await turn.leave();
    if (response.status === 'completed') return [reply(t.closedCompleted)];
    return [reply(t.closedCancelled, { quickReplies: mine ? restartButton(response) : [] })];
  }

  /**
   * The response a button or the state points at, if it is the citizen's: the state's pointer,
   * or their latest unfinished response of that survey family in this unit (the pointer may
   * have expired). Someone else's response id in a forged payload is "stale", never answered.
   */
  async function locate(turn: FlowTurn, responseId: number): Promise<Located> {
    const response = await store.get(responseId);
    if (!response || response.unitId !== turn.key.unitId) return { kind: 'stale' };
    const mine = pointerOf(turn) === responseId;
    if (response.status !== 'in_progress') return { kind: 'closed', response, mine };
    if (!mine) {
      const latest = await store.resume({ ...who(turn), family: response.family });
      if (latest?.response.id !== responseId) return { kind: 'stale' };
    }
    return { kind: 'open', progress: progressOf(response) };
  }

  /** The unfinished response the state points at, if it still is unfinished. */
  async function current(turn: FlowTurn): Promise<Progress | null> {
    const pointer = pointerOf(turn);
    if (pointer === null) return null;
    const response = await store.get(pointer);
    return response && response.status === 'in_progress' && response.unitId === turn.key.unitId ? progressOf(response) : null;
  }

  async function stale(turn: FlowTurn): Promise<Reply[]> {
    const p = await current(turn);
    const notice = reply(t.staleButton);
    return p ? ask(turn, p, [notice]) : [notice];
  }

  // ---- recording --------------------------------------------------------------------------------

  /** Records one answer / skip / comment on the current question, then asks the next or finishes. */
  async function record(turn: FlowTurn, p: Progress, op: (at: Date) => Promise<Progress>): Promise<Reply[]> {
    let next: Progress;
    try {
      next = await op(at(turn));
    } catch (error) {
      if (!(error instanceof SurveyError)) throw error;
      switch (error.code) {
        case 'SURVEY_CLOSED': {
          const now = await store.get(p.response.id);
          return now ? closed(turn, now, true) : stale(turn);
        }
        case 'SURVEY_NOT_FOUND':
          return stale(turn);
        case 'SURVEY_NOT_SKIPPABLE':
          return ask(turn, p, [reply(t.notSkippable)]);
        case 'SURVEY_EMPTY_COMMENT':
          return ask(turn, p, [reply(t.commentNeedsLetters)]);
        case 'SURVEY_UNKNOWN_QUESTION':
        case 'SURVEY_UNKNOWN_OPTION':
        case 'SURVEY_WRONG_QUESTION_TYPE':
          return ask(turn, p, [reply(t.staleQuestion)]);
        default:
          throw error;
      }
    }
    return ask(turn, next);
  }

  async function stop(turn: FlowTurn, response: SurveyResponse): Promise<Reply[]> {
    const stopped = await store.cancel(response.id, at(turn));
    await turn.leave();
    return [reply(t.cancelled, { quickReplies: [...restartButton(stopped), menuButton(turn)] })];
  }

  async function onAction(turn: FlowTurn, action: SurveyAction): Promise<Reply[]> {
    const responseId = action.responseId;
    if (responseId === null) {
      // "Thôi" under the request for a dossier code (or an old such button).
      const p = await current(turn);
      if (p) return stop(turn, p.response);
      if (dataOf(turn)) await turn.leave();
      return [reply(t.codeCancelled)];
    }
    const where = await locate(turn, responseId);
    if (where.kind === 'stale') return stale(turn);
    if (where.kind === 'closed') return closed(turn, where.response, where.mine);
    const p = where.progress;
    if (action.kind === 'stop') return stop(turn, p.response);
    // A button of an earlier question (or a forged one): never recorded against another question.
    if (!p.next || p.next.id !== action.questionId) return ask(turn, p, [reply(t.staleQuestion)]);
    const id = p.response.id;
    const questionId = action.questionId;
    if (action.kind === 'skip') return record(turn, p, (when) => store.skip(id, questionId, when));
    const optionId = action.optionId;
    return record(turn, p, (when) => store.answer(id, questionId, optionId, when));
  }

  // ---- starting ---------------------------------------------------------------------------------

  function occasionText(response: SurveyResponse): string {
    if (response.occasionKind === 'dossier') return fill(t.occasion.dossier, { code: response.occasion });
    let period = response.occasion;
    try {
      period = parsePeriod(response.occasion).label;
    } catch {
      // An occasion code the period parser no longer reads is shown as it is.
    }
    return fill(t.occasion.period, { period });
  }

  async function askCode(turn: FlowTurn, def: SurveyDefinition, procedureCode: string | undefined, lead: Reply[] = []): Promise<Reply[]> {
    await turn.enter({ awaitCode: { definitionId: def.id, ...(procedureCode !== undefined ? { procedureCode } : {}) } });
    return [...lead, reply(t.askDossierCode, { quickReplies: [{ title: b.cancelCode, payload: actionPayload({ kind: 'stop', responseId: null }) }] })];
  }

  async function start(turn: FlowTurn, s: SurveyStart): Promise<Reply[]> {
    const def = registry.latest(s.definitionId);
    if (!def) return [reply(t.unknownSurvey, { quickReplies: [menuButton(turn)] })];
    let occasion: Occasion;
    if (def.kind === 'dossier') {
      if (s.dossierCode === undefined) return askCode(turn, def, s.procedureCode);
      occasion = { kind: 'dossier', code: s.dossierCode };
    } else {
      occasion = { kind: 'period', period: periodOf(at(turn)) };
    }
    const field = s.procedureCode !== undefined ? (deps.procedures?.byCode(s.procedureCode)?.field ?? null) : null;
    let started: StartResult;
    try {
      started = await store.start({
        definitionId: def.id,
        unitId: turn.key.unitId,
        channel: CHANNELS[turn.key.channel],
        platformUserId: turn.key.userId,
        occasion,
        procedureCode: s.procedureCode ?? null,
        field,
        at: at(turn),
      });
    } catch (error) {
      if (error instanceof SurveyError && error.code === 'SURVEY_BAD_OCCASION' && def.kind === 'dossier') {
        return askCode(turn, def, s.procedureCode, [reply(t.badDossierCode)]);
      }
      if (error instanceof SurveyError && error.code === 'SURVEY_UNKNOWN_DEFINITION') return [reply(t.unknownSurvey)];
      throw error;
    }
    const { response, definition } = started;
    if (response.status === 'completed') {
      if (dataOf(turn) && pointerOf(turn) === null) await turn.leave();
      return [reply(fill(t.alreadyDone, { title: definition.title, occasion: occasionText(response) }), { quickReplies: [menuButton(turn)] })];
    }
    const lead = started.created ? reply(definition.intro) : reply(fill(t.resumed, { title: definition.title }));
    return ask(turn, started, [lead]);
  }

  /** "đánh giá" / "khảo sát": the unit's periodic survey, or the choice when it also evaluates dossiers. */
  async function startByWords(turn: FlowTurn, choose: boolean): Promise<Reply[]> {
    const { periodic, dossier } = usable(turn.key.unitId);
    if (choose && periodic && dossier) {
      return [
        reply(t.choose, {
          buttons: [
            { title: b.dossier, payload: surveyStartPayload({ definitionId: dossier }) },
            { title: b.periodic, payload: surveyStartPayload({ definitionId: periodic }) },
          ],
        }),
      ];
    }
    const id = periodic ?? dossier;
    return id ? start(turn, { definitionId: id }) : [reply(t.unavailable)];
  }

  function usable(unitId: string): UnitSurveys {
    const s = unitSurveys(unitId);
    const ok = (id: string | null, kind: 'periodic' | 'dossier') => (id !== null && registry.latest(id)?.kind === kind ? id : null);
    return { periodic: ok(s.periodic, 'periodic'), dossier: ok(s.dossier, 'dossier') };
  }

  async function resumeAny(turn: FlowTurn): Promise<Reply[]> {
    const p = (await current(turn)) ?? (await store.resume(who(turn)));
    if (!p) return [reply(t.nothingToResume)];
    return ask(turn, p, [reply(fill(t.resumed, { title: p.definition.title }))]);
  }

  // ---- reading typed text -----------------------------------------------------------------------

  /** A word that is only politeness ("ạ", "nhé", "giúp tôi"), never part of a code. */
  const isFiller = (word: string): boolean => !/\p{N}/u.test(word) && wordsOf(word).every((w) => fillers.has(w.fold));

  /**
   * A dossier code making up all of `rest` (politeness words aside), recognised as the dossier
   * look-up recognises a typed code (src/dossiers/code.ts): one token, or a few parts each with
   * a digit or in capitals ("000.00.01.h56 - 240101-0001"), never a procedure code or a phone
   * number. The code is otherwise opaque: the repository keys it (no spaces, upper case).
   */
  function readCode(rest: string): CodeRead {
    let words = rest
      .normalize('NFC')
      .split(/\s+/u)
      .filter((w) => w !== '');
    // "đánh giá hồ sơ: 000.00.01.H56-…", "… hồ sơ - HS-2024/001": a separator before the code.
    while (words.length > 0 && (isFiller(words[0] ?? '') || /^[:#–—-]+$/u.test(words[0] ?? ''))) words = words.slice(1);
    while (words.length > 0 && isFiller(words.at(-1) ?? '')) words = words.slice(0, -1);
    if (words.length === 0) return { kind: 'empty' };
    if (words.length > 4 || !words.every((w) => /\p{N}/u.test(w) || /^[\p{Lu}0-9._/-]+$/u.test(w))) return { kind: 'other' };
    const code = typedDossierCode(words.join(''));
    return code === undefined ? { kind: 'other' } : { kind: 'code', code };
  }

  /** "đánh giá hồ sơ <mã>" (code, or nothing after the words), else null. */
  function dossierRequest(text: string): CodeRead | null {
    const end = said.dossier.prefix(text);
    if (end === null) return null;
    const read = readCode(text.normalize('NFC').slice(end));
    return read.kind === 'other' ? null : read;
  }

  /** The code in a message sent when the code was asked for ("mã hồ sơ …", or a receipt's code in a sentence). */
  function codeMessage(text: string): string | null {
    const nfc = text.normalize('NFC');
    const lead = said.codeLead.prefix(nfc);
    for (const candidate of lead === null ? [nfc] : [nfc.slice(lead), nfc]) {
      const read = readCode(candidate);
      if (read.kind === 'code') return read.code;
    }
    const receipts = findReceiptCodes(nfc);
    return receipts.length === 1 ? (receipts[0] ?? null) : null;
  }

  async function startDossier(turn: FlowTurn, read: CodeRead, definitionId?: string, procedureCode?: string): Promise<Reply[]> {
    const id = definitionId ?? usable(turn.key.unitId).dossier;
    if (!id) return [reply(t.unavailable)];
    if (read.kind === 'code') return start(turn, { definitionId: id, dossierCode: read.code, ...(procedureCode !== undefined ? { procedureCode } : {}) });
    return start(turn, { definitionId: id, ...(procedureCode !== undefined ? { procedureCode } : {}) });
  }

  /** An option named by its label (or longer wording): with the same diacritics, else folded if unambiguous. */
  function optionNamed(q: SurveyQuestion, text: string): string | null {
    if (q.type === 'comment') return null;
    for (const folded of [false, true]) {
      const typed = labelKey(text, fillers, folded);
      if (typed === '') return null;
      const hits = q.options.filter((o) => [o.label, o.text].some((l) => l !== undefined && labelKey(l, fillers, folded) === typed));
      if (hits.length === 1) return hits[0]?.id ?? null;
      if (hits.length > 1) return null;
    }
    return null;
  }

  async function activeText(turn: FlowTurn, data: FlowData, text: string): Promise<Reply[] | null> {
    if ('awaitCode' in data) {
      if (said.cancel.matches(text) || said.skip.matches(text)) {
        await turn.leave();
        return [reply(t.codeCancelled)];
      }
      const { definitionId, procedureCode } = data.awaitCode;
      const asked = dossierRequest(text);
      if (asked) return startDossier(turn, asked, definitionId, procedureCode);
      const code = codeMessage(text);
      if (code !== null) return startDossier(turn, { kind: 'code', code }, definitionId, procedureCode);
      return idleText(turn, text);
    }
    const p = await current(turn);
    if (!p) {
      // The response was finished elsewhere (another device, an expired pointer): forget it.
      await turn.leave();
      return idleText(turn, text);
    }
    const q = p.next;
    if (!q) return finish(turn, p);
    const n = choiceNumber(text);
    const listed = numbered(turn, p.response.id, q);
    if (n !== null && listed.length > 0) {
      const choice = listed[n - 1];
      if (!choice) return ask(turn, p, [reply(fill(t.choiceOutOfRange, { n }))]);
      return onAction(turn, choice.action);
    }
    if (said.cancel.matches(text)) return stop(turn, p.response);
    if (said.skip.matches(text)) return onAction(turn, { kind: 'skip', responseId: p.response.id, questionId: q.id });
    if (said.resumeActive.matches(text) || said.resume.matches(text) || said.choose.matches(text) || said.periodic.matches(text)) {
      return ask(turn, p, [reply(fill(t.resumed, { title: p.definition.title }))]);
    }
    const asked = dossierRequest(text);
    if (asked?.kind === 'code') return startDossier(turn, asked);
    if (q.type === 'comment') {
      if (!/\p{L}/u.test(text)) return ask(turn, p, [reply(t.commentNeedsLetters)]);
      const id = p.response.id;
      return record(turn, p, (when) => store.comment(id, q.id, text, when));
    }
    const optionId = optionNamed(q, text);
    if (optionId !== null) return onAction(turn, { kind: 'answer', responseId: p.response.id, questionId: q.id, optionId });
    // Anything else is not an answer (a procedure question, a greeting): the engine answers it.
    return null;
  }

  /** Text while no survey is active: only the survey's own words are claimed. */
  async function idleText(turn: FlowTurn, text: string): Promise<Reply[] | null> {
    if (said.resume.matches(text)) return resumeAny(turn);
    const asked = dossierRequest(text);
    if (asked) return startDossier(turn, asked);
    if (said.periodic.matches(text)) return startByWords(turn, false);
    if (said.choose.matches(text)) return startByWords(turn, true);
    return null;
  }

  return {
    name: 'survey',
    actions: [SURVEY_ACTION],

    async onPayload(turn: FlowTurn, payload: string, via: FlowVia): Promise<Reply[]> {
      const action = parseSurveyAction(payload);
      if (action) {
        // A link only ever opens: an answer, skip or stop carried by a link shows where the response stands.
        if (via === 'link') {
          if (action.responseId === null) return stale(turn);
          const where = await locate(turn, action.responseId);
          if (where.kind !== 'open') return stale(turn);
          return ask(turn, where.progress, [reply(fill(t.resumed, { title: where.progress.definition.title }))]);
        }
        return onAction(turn, action);
      }
      const s = parseSurveyStart(payload);
      if (s) return start(turn, s);
      return stale(turn);
    },

    async onText(turn: FlowTurn, text: string): Promise<Reply[] | null> {
      const data = dataOf(turn);
      if (data) return activeText(turn, data, text);
      if (turn.data) await turn.leave(); // data of an older shape: forget it
      return idleText(turn, text);
    },

    async afterAnswer(turn: FlowTurn): Promise<Reply[]> {
      // The citizen left a survey for a procedure question (turn.data is still the state the
      // answer replaced): remind them once — in text only, so that a typed number still picks
      // among the answer's buttons (the engine remembers the last reply's buttons).
      if ((await current(turn)) !== null) return [reply(t.reminder)];
      if (!offer || offer.mode !== 'on' || usable(turn.key.unitId).periodic === null) return [];
      if (!(await offer.limiter.take(turn.key, offer.intervalDays * 24 * 3600))) return [];
      return [reply(t.offer)];
    },
  };
}

/** Every answer / skip payload of every loaded definition fits the state's 200 characters. */
function checkPayloadSizes(registry: SurveyRegistry): void {
  for (const d of registry.all()) {
    for (const q of d.questions) {
      const options = q.type === 'comment' ? ['x'] : q.options.map((o) => o.id);
      for (const optionId of options) {
        const payload = actionPayload({ kind: 'answer', responseId: LONGEST_ID, questionId: q.id, optionId });
        if (payload.length > MAX_ACTION_PAYLOAD) {
          throw new Error(`survey ${d.id} v${d.version}: question "${q.id}" / option "${optionId}" ids are too long for a button payload`);
        }
      }
    }
  }
}
