// The conversation engine: one inbound event in, the replies out. It owns the per-citizen state
// machine of DESIGN §7 (idle → answered / choosing → handoff), routes text to the small intents,
// the subscription commands or the procedure search, and records what was asked (digits masked)
// for the officers. It knows nothing of HTTP, Redis or SQL: everything outside comes through
// the ports.
import type { InboundEvent, Reply } from '../channels/channel.js';
import type { CatalogueProcedure } from '../catalogue/schema.js';
import type { Aspect, Searcher } from '../search/types.js';
import { formatFee, formatTime } from '../catalogue/format.js';
import { createIntentMatcher, type IntentMatcher } from './intent-matcher.js';
import { createCommandMatcher, type Command, type CommandMatcher } from './command-matcher.js';
import type { IntentSet } from './intents.js';
import { choiceNumber, classifyInput, maskDigits, MAX_INPUT_CHARS } from './input.js';
import { linkSafePayload, looksLikePayload, PAYLOAD_PREFIX, parsePayload, type ParsedPayload } from './payload.js';
import type { ConversationFlow, FlowTurn, FlowVia } from './flow.js';
import type {
  ConversationKey,
  ConversationState,
  ConversationStateStore,
  HandoffQueue,
  QueryLog,
  SubscriberKey,
  SubscriptionOverview,
  SubscriptionPort,
  SubscriptionVia,
  TranscriptLine,
  TranscriptStore,
  UnitContact,
  UnitDirectory,
} from './ports.js';
import {
  choicesReply,
  contactReply,
  fill,
  greetingReply,
  groupGoneReply,
  handoffReply,
  menuExtras,
  noneReply,
  procedureAnswer,
  procedureDetail,
  reply,
  subscribedReply,
  subscribeListReply,
  subscriptionUnavailableReply,
  unsubscribedAllReply,
  unsubscribedReply,
  unsubscribeListReply,
  type DetailKind,
  type Formatters,
  type ReplyContext,
} from './replies.js';

/** What the engine needs of the catalogue (loadCatalogue's result satisfies it). */
/** A national catalogue code typed on its own, optionally after "mã" / "thủ tục". */
const PROCEDURE_CODE = /^(?:(?:mã|ma|thủ tục|thu tuc)\s*:?\s*)?(\d\.\d{6})$/i;

/** Characters of one transcript line (a long answer is cut: the officer sees its start). */
const TRANSCRIPT_TEXT_MAX = 400;
const clip = (text: string, max: number): string => (text.length <= max ? text : text.slice(0, max - 1) + '…');

export interface ProcedureLookup {
  byCode(code: string): CatalogueProcedure | null | undefined;
}

export interface EngineDeps {
  catalogue: ProcedureLookup;
  searcher: Searcher;
  state: ConversationStateStore;
  queryLog: QueryLog;
  handoff: HandoffQueue;
  units: UnitDirectory;
  /** Keeps the last lines of each conversation for the officer of a hand-off (optional). */
  transcript?: TranscriptStore;
  /**
   * Subscriber groups and consent ("đăng ký nhận tin", "hủy đăng ký", "STOP"). Without it the
   * bot says that receiving news is not available here.
   */
  subscriptions?: SubscriptionPort;
  /**
   * Multi-turn flows beside the engine's own (the survey, the dossier look-up): see flow.ts.
   * Their payload actions must not clash with the engine's or each other's.
   */
  flows?: readonly ConversationFlow[];
  /** Loaded with loadIntents(dir). */
  intents: IntentSet;
  /** Defaults to the catalogue's formatTime / formatFee. */
  format?: Formatters;
  /** Defaults to the clock; tests move time. */
  now?: () => Date;
  /** How long a conversation's context (answered / choosing) is kept. Default 30 minutes. */
  stateTtlSeconds?: number;
  /** How long the bot stays quiet after "gặp cán bộ" if nobody closes the hand-off. Default 24 h. */
  handoffTimeoutSeconds?: number;
  /** Characters of a message the engine reads; the rest is cut and the citizen told. Default 500. */
  maxInputChars?: number;
  /** Called with errors the engine swallowed to keep replying politely (log them). */
  onError?: (error: unknown, event: InboundEvent) => void;
}

export interface Engine {
  /** Never throws: a failure becomes a polite error reply (and onError is called). */
  handle(event: InboundEvent): Promise<Reply[]>;
}

const ASPECT_DETAIL: Record<Aspect, DetailKind> = {
  documents: 'docs',
  fee: 'fee',
  time: 'fee',
  where: 'where',
  online: 'online',
  steps: 'steps',
  legal: 'legal',
  form: 'forms',
  result: 'result',
};

export function createEngine(deps: EngineDeps): Engine {
  const texts = deps.intents;
  const format: Formatters = deps.format ?? { time: formatTime, fee: formatFee };
  const now = deps.now ?? (() => new Date());
  const stateTtl = deps.stateTtlSeconds ?? 30 * 60;
  const handoffTtl = deps.handoffTimeoutSeconds ?? 24 * 60 * 60;
  const maxInput = deps.maxInputChars ?? MAX_INPUT_CHARS;
  const matcher: IntentMatcher = createIntentMatcher([
    { name: 'greeting', examples: texts.greeting.examples },
    { name: 'contact', examples: texts.contact.examples },
    { name: 'handoff', examples: texts.handoff.examples },
    { name: 'thanks', examples: texts.thanks.examples },
  ]);
  const commands: CommandMatcher = createCommandMatcher([
    { name: 'subscribe', examples: texts.subscribe.examples },
    { name: 'unsubscribe', examples: texts.unsubscribe.examples },
    { name: 'stop', examples: texts.unsubscribe.stopExamples },
  ]);
  const flows = deps.flows ?? [];
  const flowByAction = new Map<string, ConversationFlow>();
  const flowByName = new Map<string, ConversationFlow>();
  const ENGINE_ACTIONS = new Set(['pick', 'docs', 'steps', 'fee', 'legal', 'online', 'where', 'forms', 'result', 'menu', 'contact', 'handoff', 'sub', 'unsub']);
  for (const flow of flows) {
    if (flowByName.has(flow.name)) throw new Error(`two conversation flows are named ${flow.name}`);
    flowByName.set(flow.name, flow);
    for (const action of flow.actions) {
      if (ENGINE_ACTIONS.has(action) || flowByAction.has(action)) throw new Error(`payload action ${action} of flow ${flow.name} is taken`);
      flowByAction.set(action, flow);
    }
  }
  const unitCodeSets = new WeakMap<readonly string[], ReadonlySet<string>>();

  function codesOf(unit: UnitContact | null): ReadonlySet<string> | undefined {
    const list = unit?.procedureCodes;
    if (!list) return undefined;
    let set = unitCodeSets.get(list);
    if (!set) {
      set = new Set(list);
      unitCodeSets.set(list, set);
    }
    return set;
  }

  /** One turn's context: who, their unit, what they were doing. */
  interface Turn {
    event: InboundEvent;
    key: ConversationKey;
    unit: UnitContact | null;
    ctx: ReplyContext;
    state: ConversationState | null;
  }

  function lookup(turn: Turn, code: string): CatalogueProcedure | null {
    const codes = codesOf(turn.unit);
    if (codes && !codes.has(code)) return null;
    return deps.catalogue.byCode(code) ?? null;
  }

  function hasCode(turn: Turn): (code: string) => boolean {
    return (code) => lookup(turn, code) !== null;
  }

  function menu(turn: Turn): Reply[] {
    return greetingReply(turn.ctx, hasCode(turn));
  }

  async function save(turn: Turn, state: ConversationState, ttl = stateTtl): Promise<void> {
    await deps.state.set(turn.key, state, ttl);
  }

  // ---- conversation flows (flow.ts) ----------------------------------------------------------

  function flowTurn(turn: Turn, flow: ConversationFlow): FlowTurn {
    const state = turn.state;
    const question = state?.question;
    return {
      event: turn.event,
      key: turn.key,
      accountId: turn.event.accountId,
      unit: turn.unit,
      ctx: turn.ctx,
      data: state?.mode === 'flow' && state.flow === flow.name ? state.data : null,
      question,
      now: now(),
      enter: async (data, ttl) => {
        const next: ConversationState = { mode: 'flow', flow: flow.name, data, ...(question !== undefined ? { question } : {}) };
        turn.state = next;
        await save(turn, next, ttl ?? stateTtl);
      },
      leave: async () => {
        const next: ConversationState = { mode: 'idle', ...(question !== undefined ? { question } : {}) };
        turn.state = next;
        await save(turn, next);
      },
      menu: () => menu(turn),
    };
  }

  /** The flow that owns a payload ("mc:<action>:…"), if any. */
  function flowOfPayload(raw: string): ConversationFlow | undefined {
    const parts = raw.trim().split(':', 3);
    return parts[0]?.toLowerCase() === PAYLOAD_PREFIX && parts[1] !== undefined ? flowByAction.get(parts[1]) : undefined;
  }

  /** A link (m.me ref, QR code, widget ?ref=) rather than a tap brought this payload. */
  function viaOf(event: InboundEvent, payload: string): FlowVia {
    return event.ref !== undefined && (payload === event.ref || payload === linkSafePayload(event.ref)) ? 'link' : 'tap';
  }

  /** Routes a payload to its flow, or to the engine's own actions. */
  async function onAnyPayload(turn: Turn, raw: string, via: FlowVia): Promise<Reply[]> {
    const flow = flowOfPayload(raw);
    if (flow) return flow.onPayload(flowTurn(turn, flow), raw.trim(), via);
    return onPayload(turn, parsePayload(raw));
  }

  async function answer(turn: Turn, p: CatalogueProcedure, aspects: readonly Aspect[], question?: string): Promise<Reply[]> {
    await save(turn, { mode: 'answered', code: p.code, ...(question !== undefined ? { question } : {}) });
    const kinds = [...new Set(aspects.map((a) => ASPECT_DETAIL[a]))];
    if (kinds.length > 0) return kinds.flatMap((k) => procedureDetail(turn.ctx, p, k));
    const replies = procedureAnswer(turn.ctx, p);
    for (const flow of flows) {
      if (!flow.afterAnswer) continue;
      try {
        replies.push(...(await flow.afterAnswer(flowTurn(turn, flow), p)));
      } catch (error) {
        deps.onError?.(error, turn.event); // an offer that fails never costs the citizen the answer
      }
    }
    return replies;
  }

  /**
   * `typed`: the citizen's own message that asked for an officer (null for the button);
   * `asked`: what the request is about (their last question, else what they typed).
   */
  async function requestHandoff(turn: Turn, typed: string | null, asked: string | null = typed): Promise<Reply[]> {
    const state = turn.state;
    const question = asked !== null ? maskDigits(asked) : (state?.question ?? texts.messages.buttons.handoff);
    const at = now();
    const transcript = deps.transcript ? await deps.transcript.read(turn.key) : [];
    await deps.handoff.request({
      unitId: turn.key.unitId,
      channel: turn.key.channel,
      userId: turn.key.userId,
      text: question,
      at,
      // The message that asked for an officer is not in the transcript yet (it is added after the turn).
      transcript: [...transcript, ...(typed !== null ? [{ from: 'citizen' as const, text: maskDigits(typed), at: at.getTime() }] : [])],
    });
    await deps.queryLog.record({
      unitId: turn.key.unitId,
      channel: turn.key.channel,
      text: question,
      outcome: 'handoff',
      confidence: null,
      topCode: state?.mode === 'answered' ? state.code : null,
      at,
    });
    await save(turn, { mode: 'handoff', until: at.getTime() + handoffTtl * 1000, question }, handoffTtl);
    return handoffReply(turn.ctx);
  }

  async function onPayload(turn: Turn, payload: ParsedPayload | null): Promise<Reply[]> {
    if (!payload) return menu(turn);
    switch (payload.action) {
      case 'menu':
        return menu(turn);
      case 'contact':
        return contactReply(turn.ctx);
      case 'handoff':
        return requestHandoff(turn, null);
      case 'sub':
        if ('groupId' in payload) return subscribeTo(turn, payload.groupId, 'chat:button');
        return listGroups(turn, 'page' in payload ? payload.page : 1);
      case 'unsub':
        if ('groupId' in payload) {
          return payload.groupId === 'all' ? unsubscribeAll(turn, 'chat:button', true) : unsubscribeFrom(turn, payload.groupId, 'chat:button');
        }
        return listFollowed(turn, 'page' in payload ? payload.page : 1);
      default: {
        const p = lookup(turn, payload.code);
        if (!p) return [reply(texts.messages.input.procedureGone, menuExtras(turn.ctx, hasCode(turn)))];
        const question = turn.state?.question;
        if (payload.action === 'pick') {
          const aspects = turn.state?.mode === 'choosing' ? (turn.state.aspects ?? []) : [];
          return answer(turn, p, aspects, question);
        }
        await save(turn, { mode: 'answered', code: p.code, ...(question !== undefined ? { question } : {}) });
        return procedureDetail(turn.ctx, p, payload.action);
      }
    }
  }

  // ---- subscriber groups (issue #5) ---------------------------------------------------------

  function subscriberKey(turn: Turn): SubscriberKey {
    return { ...turn.key, accountId: turn.event.accountId };
  }

  async function overviewOf(turn: Turn): Promise<SubscriptionOverview | null> {
    return deps.subscriptions ? deps.subscriptions.overview(subscriberKey(turn)) : null;
  }

  /** A subscription reply ends any choosing: a typed number now picks among its buttons. */
  async function idle(turn: Turn): Promise<void> {
    const question = turn.state?.question;
    await save(turn, { mode: 'idle', ...(question !== undefined ? { question } : {}) });
  }

  async function listGroups(turn: Turn, page: number): Promise<Reply[]> {
    const overview = await overviewOf(turn);
    if (!overview) return subscriptionUnavailableReply(turn.ctx);
    await idle(turn);
    return subscribeListReply(turn.ctx, overview, page);
  }

  async function listFollowed(turn: Turn, page: number): Promise<Reply[]> {
    const overview = await overviewOf(turn);
    if (!overview) return subscriptionUnavailableReply(turn.ctx);
    await idle(turn);
    return unsubscribeListReply(turn.ctx, overview, page);
  }

  async function subscribeTo(turn: Turn, groupId: number, via: SubscriptionVia): Promise<Reply[]> {
    const port = deps.subscriptions;
    const key = subscriberKey(turn);
    const changed = port ? await port.subscribe(key, [groupId], via, now()) : null;
    const overview = port && changed !== null ? await port.overview(key) : null;
    if (!port || changed === null || !overview) return subscriptionUnavailableReply(turn.ctx);
    await idle(turn);
    const group = overview.groups.find((g) => g.id === groupId);
    if (!group) return [groupGoneReply(turn.ctx), ...subscribeListReply(turn.ctx, overview)];
    const followed = new Set(overview.following.map((g) => g.id));
    const moreToChoose = overview.groups.some((g) => !followed.has(g.id));
    return subscribedReply(turn.ctx, group, !changed.includes(groupId), turn.key.channel, moreToChoose);
  }

  async function unsubscribeFrom(turn: Turn, groupId: number, via: SubscriptionVia): Promise<Reply[]> {
    const port = deps.subscriptions;
    const key = subscriberKey(turn);
    const before = await overviewOf(turn);
    const changed = port && before ? await port.unsubscribe(key, groupId, via, now()) : null;
    if (!before || changed === null) return subscriptionUnavailableReply(turn.ctx);
    await idle(turn);
    const group = before.following.find((g) => g.id === groupId);
    const remaining = before.following.filter((g) => !changed.includes(g.id));
    return unsubscribedReply(turn.ctx, group, changed.includes(groupId), remaining);
  }

  /** "STOP" / "Hủy tất cả": every consent withdrawn at once, confirmed. */
  async function unsubscribeAll(turn: Turn, via: SubscriptionVia, resetState: boolean): Promise<Reply[]> {
    const changed = deps.subscriptions ? await deps.subscriptions.unsubscribe(subscriberKey(turn), 'all', via, now()) : null;
    if (resetState) await idle(turn);
    return unsubscribedAllReply(turn.ctx, changed?.length ?? 0);
  }

  async function onCommand(turn: Turn, command: Command): Promise<Reply[]> {
    switch (command) {
      case 'subscribe':
        return listGroups(turn, 1);
      case 'unsubscribe':
        return listFollowed(turn, 1);
      case 'stop':
        return unsubscribeAll(turn, 'chat:text', true);
    }
  }

  /**
   * How the citizen asked to stop everything, when this event is "STOP" (typed) or the
   * "Hủy tất cả" button; null otherwise. Checked even while an officer has the conversation.
   */
  function stopRequest(event: InboundEvent): SubscriptionVia | null {
    const raw = event.kind === 'postback' ? (event.payload ?? event.text ?? '') : event.kind === 'text' ? (event.text ?? '') : '';
    if (looksLikePayload(raw)) {
      const p = parsePayload(raw);
      return p !== null && p.action === 'unsub' && 'groupId' in p && p.groupId === 'all' ? 'chat:button' : null;
    }
    const input = classifyInput(raw, maxInput);
    return input.kind === 'text' && commands.match(input.text) === 'stop' ? 'chat:text' : null;
  }

  async function onQuestion(turn: Turn, text: string): Promise<Reply[]> {
    const masked = maskDigits(text);
    const codes = codesOf(turn.unit);
    // A procedure code typed as is ("1.001193", as printed on a poster or the national portal).
    const typed = PROCEDURE_CODE.exec(text.trim());
    const byCode = typed?.[1] ? lookup(turn, typed[1]) : null;
    if (byCode) {
      await deps.queryLog.record({
        unitId: turn.key.unitId,
        channel: turn.key.channel,
        text: masked,
        outcome: 'answered',
        confidence: 1,
        topCode: byCode.code,
        at: now(),
      });
      return answer(turn, byCode, [], masked);
    }
    const aliases = turn.unit?.aliases;
    const result = deps.searcher.search(text, { top: 3, ...(codes ? { codes } : {}), ...(aliases && aliases.size > 0 ? { aliases } : {}) });
    const hits = result.results.filter((h) => lookup(turn, h.code) !== null);
    const top = hits[0];
    const log = (outcome: 'answered' | 'choices' | 'none') =>
      deps.queryLog.record({
        unitId: turn.key.unitId,
        channel: turn.key.channel,
        text: masked,
        outcome,
        confidence: result.confidence,
        topCode: top?.code ?? null,
        at: now(),
      });

    if (result.outcome === 'answer' && top) {
      const p = lookup(turn, top.code);
      if (p) {
        await log('answered');
        return answer(turn, p, result.aspects, masked);
      }
    }
    if (result.outcome === 'choices' && hits.length > 1) {
      const offered = hits.slice(0, 3);
      await log('choices');
      await save(turn, {
        mode: 'choosing',
        codes: offered.map((h) => h.code),
        ...(result.aspects.length > 0 ? { aspects: [...result.aspects] } : {}),
        question: masked,
      });
      return choicesReply(turn.ctx, offered);
    }
    if (result.outcome === 'choices' && top) {
      // Only one candidate survived the unit filter: offer it as a suggestion, not an answer.
      await log('choices');
    } else {
      await log('none');
    }
    const suggestions = hits.slice(0, 3);
    if (suggestions.length > 0) {
      await save(turn, { mode: 'choosing', codes: suggestions.map((h) => h.code), question: masked });
    } else {
      await save(turn, { mode: 'idle', question: masked });
    }
    return noneReply(turn.ctx, suggestions);
  }

  async function onText(turn: Turn, raw: string): Promise<Reply[]> {
    if (looksLikePayload(raw)) return onAnyPayload(turn, raw, 'tap');
    if (turn.event.attachment !== undefined && raw.trim() === '') {
      return [reply(texts.messages.input.attachment, menuExtras(turn.ctx, hasCode(turn)))];
    }
    const input = classifyInput(raw, maxInput);
    switch (input.kind) {
      case 'empty':
        return [reply(texts.messages.input.empty, menuExtras(turn.ctx, hasCode(turn)))];
      case 'no-letters': {
        // "1234" (verification digits) or "5" may mean something to the active flow.
        const taken = await activeFlowText(turn, raw.normalize('NFC').replace(/[\p{Cc}\p{Cf}]+/gu, ' ').replace(/\s+/gu, ' ').trim().slice(0, maxInput));
        if (taken) return taken;
        return [reply(texts.messages.input.noLetters, menuExtras(turn.ctx, hasCode(turn)))];
      }
      case 'foreign-script':
        return [reply(texts.messages.input.unsupportedScript, menuExtras(turn.ctx, hasCode(turn)))];
      case 'text':
        break;
    }
    const notice = input.truncated ? [reply(fill(texts.messages.input.tooLong, { max: maxInput }))] : [];
    const text = input.text;

    const active = await activeFlowText(turn, text);
    if (active) return [...notice, ...active];

    const n = choiceNumber(text);
    if (n !== null && turn.state?.mode === 'choosing') {
      const code = turn.state.codes[n - 1];
      if (!code) return [reply(fill(texts.messages.input.choiceOutOfRange, { n }))];
      return onPayload(turn, { action: 'pick', code });
    }
    if (n !== null && turn.state?.buttons) {
      // "2" typed under a reply whose buttons the platform showed as a numbered list.
      const payload = turn.state.buttons[n - 1];
      if (!payload) return [reply(fill(texts.messages.input.choiceOutOfRange, { n }))];
      return onAnyPayload(turn, payload, 'tap');
    }

    for (const flow of flows) {
      if (!flow.onText || isActive(turn, flow)) continue;
      const taken = await flow.onText(flowTurn(turn, flow), text);
      if (taken) return [...notice, ...taken];
    }

    const command = commands.match(text);
    if (command !== null) return [...notice, ...(await onCommand(turn, command))];

    switch (matcher.match(text)) {
      case 'greeting':
        return [...notice, ...menu(turn)];
      case 'contact':
        return [...notice, ...contactReply(turn.ctx)];
      case 'handoff':
        return [...notice, ...(await requestHandoff(turn, text, turn.state?.question ?? text))];
      case 'thanks':
        return [...notice, reply(texts.thanks.replies.thanks)];
      case null:
        return [...notice, ...(await onQuestion(turn, text))];
    }
  }

  function isActive(turn: Turn, flow: ConversationFlow): boolean {
    return turn.state?.mode === 'flow' && turn.state.flow === flow.name;
  }

  /** The active flow's answer to typed text, or null when no flow is active or it let go. */
  async function activeFlowText(turn: Turn, text: string): Promise<Reply[] | null> {
    if (turn.state?.mode !== 'flow' || text === '') return null;
    const flow = flowByName.get(turn.state.flow);
    if (!flow) {
      // A flow that no longer exists (configuration changed): forget its state.
      turn.state = { mode: 'idle' };
      await save(turn, turn.state);
      return null;
    }
    if (!flow.onText) return null;
    return flow.onText(flowTurn(turn, flow), text);
  }

  async function handleUnsafe(event: InboundEvent): Promise<Reply[]> {
    const key: ConversationKey = { unitId: event.unitId, channel: event.channel, userId: event.userId };
    if (event.kind === 'unfollow') {
      await deps.state.clear(key);
      return [];
    }
    const unit = await deps.units.get(event.unitId);
    let state = await deps.state.get(key);
    if (state?.mode === 'handoff') {
      // Quiet while an officer has the conversation; back to the bot once the hand-off expires.
      // Withdrawing consent is never held back: "STOP" is done and confirmed even then.
      if (state.until > now().getTime()) {
        const via = stopRequest(event);
        if (via === null) return [];
        return unsubscribeAll({ event, key, unit, ctx: { texts, format, unit }, state }, via, false);
      }
      await deps.state.clear(key);
      state = null;
    }
    const turn: Turn = { event, key, unit, ctx: { texts, format, unit }, state };
    switch (event.kind) {
      case 'follow':
      case 'referral':
        return menu(turn);
      case 'postback':
        if (event.payload !== undefined) return onAnyPayload(turn, event.payload, viaOf(event, event.payload));
        return onText(turn, event.text ?? '');
      case 'text':
        return onText(turn, event.text ?? '');
    }
  }

  /** Adds the turn to the conversation's transcript (what an officer reads on a hand-off). */
  async function remember(event: InboundEvent, replies: readonly Reply[]): Promise<void> {
    if (!deps.transcript || event.kind === 'unfollow' || event.kind === 'follow') return;
    const at = now().getTime();
    const said = event.kind === 'postback' && event.payload !== undefined ? describePayload(event.payload) : maskDigits(event.text ?? '').trim();
    const lines: TranscriptLine[] = [];
    if (said !== '') lines.push({ from: 'citizen', text: said.slice(0, TRANSCRIPT_TEXT_MAX), at });
    // A reply in handoff mode is empty: the officer answers in the platform's own inbox.
    for (const r of replies) if (r.text.trim() !== '') lines.push({ from: 'bot', text: clip(r.text, TRANSCRIPT_TEXT_MAX), at });
    await deps.transcript.append({ unitId: event.unitId, channel: event.channel, userId: event.userId }, lines, stateTtl);
  }

  /** A button tap as an officer can read it ("Bấm nút: Giấy tờ cần nộp — 1.001193"). */
  function describePayload(payload: string): string {
    const p = parsePayload(payload);
    if (!p) return 'Bấm nút';
    const b = texts.messages.buttons;
    const labels: Record<ParsedPayload['action'], string> = {
      pick: 'Chọn thủ tục',
      docs: b.documents,
      steps: b.steps,
      fee: b.feeTime,
      legal: b.legal,
      online: b.online,
      where: 'Nơi nộp',
      forms: 'Mẫu đơn, tờ khai',
      result: 'Kết quả',
      menu: b.menu,
      contact: b.contact,
      handoff: b.handoff,
      sub: texts.messages.subscriptions.buttons.subscribe,
      unsub: texts.messages.subscriptions.buttons.unsubscribe,
    };
    const detail = 'code' in p ? ` — ${p.code}` : 'groupId' in p ? ` — ${p.groupId === 'all' ? texts.messages.subscriptions.buttons.unsubscribeAll : `nhóm ${p.groupId}`}` : '';
    return `Bấm nút: ${labels[p.action]}${detail}`;
  }

  /** Remembers the last reply's button payloads in the state (see ConversationState.buttons). */
  async function rememberButtons(event: InboundEvent, replies: readonly Reply[]): Promise<void> {
    const last = [...replies].reverse().find((r) => r.buttons.length + r.quickReplies.length > 0);
    if (!last) return;
    const buttons = [...new Set([...last.buttons, ...last.quickReplies].map((b) => b.payload))].slice(0, 20);
    const key: ConversationKey = { unitId: event.unitId, channel: event.channel, userId: event.userId };
    const state = (await deps.state.get(key)) ?? { mode: 'idle' as const };
    if (state.mode === 'handoff') return;
    await deps.state.set(key, { ...state, buttons }, stateTtl);
  }

  return {
    async handle(event: InboundEvent): Promise<Reply[]> {
      try {
        const replies = await handleUnsafe(event);
        await rememberButtons(event, replies);
        await remember(event, replies);
        return replies;
      } catch (error) {
        deps.onError?.(error, event);
        return [reply(texts.messages.input.error)];
      }
    },
  };
}
