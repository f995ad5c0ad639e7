// The dossier look-up in chat (issue #7), a conversation flow (src/conversation/flow.ts). A
// citizen starts it with "tra cứu hồ sơ", by pasting a receipt code anywhere in a message, or
// through the receipt's QR code / link ("mc:hs:<code>"). Unless their chat account already
// linked that dossier, the bot asks for the last 4 digits of the phone number given at the desk
// and checks them (DossierRepository.verify); the answer gives the status, dates, lateness, what
// is missing and where to collect the result, with "Nhận thông báo" (link the dossier to this
// chat account, only right after a successful check in this conversation) and "Hủy nhận thông
// báo". An unknown code and wrong digits read the same, and the guard (lookup-guard.ts) stops
// guessing: 5 failures per citizen or per code within an hour start a cool-down.
// The digits are never kept: the flow's stored data holds the step, the code, and after a
// successful check the dossier id, each with a short expiry.
import { z } from 'zod';
import type { Reply, ReplyButton } from '../channels/channel.js';
import type { ConversationFlow, FlowTurn, FlowVia } from '../conversation/flow.js';
import type { SubscriberKey } from '../conversation/ports.js';
import { fill, reply } from '../conversation/replies.js';
import { tokenize } from '../search/normalize.js';
import { vietnamDate } from '../surveys/period.js';
import type { ChatContactResolver } from './chat-contacts.js';
import { DOSSIER_ACTION, dossierAskPayload, dossierLinkPayload, parseDossierPayload } from './chat-payload.js';
import { DOSSIER_CHAT_TEXTS, type DossierChatTexts } from './chat-texts.js';
import { CODE_MAX, codeKey, findReceiptCodes, typedDossierCode } from './code.js';
import type { Dossier, DossierRepository } from './dossier-repository.js';
import type { LookupGuard, LookupSubject } from './lookup-guard.js';
import { CLOSED_STATUSES, OPEN_STATUSES, RESOLVED_STATUSES, STATUS_VI } from './status.js';
import { lastFourDigits } from './verification.js';

/** What the flow needs of the dossiers; DossierRepository satisfies it. */
export type DossierLookupPort = Pick<DossierRepository, 'getByCode' | 'verify' | 'link' | 'unlink' | 'getLink'>;

export interface DossierFlowDeps {
  dossiers: DossierLookupPort;
  contacts: ChatContactResolver;
  guard: LookupGuard;
  /** Defaults to DOSSIER_CHAT_TEXTS. */
  texts?: DossierChatTexts;
  /**
   * How long the flow waits for a code or the digits, and how long a successful check lets
   * "Nhận thông báo" link the dossier. Default 10 minutes.
   */
  holdSeconds?: number;
}

export const DOSSIER_FLOW_NAME = 'dossier';

const Until = z.number().int().nonnegative();
const Code = z.string().min(1).max(CODE_MAX);
const FlowData = z.discriminatedUnion('step', [
  z.object({ step: z.literal('code'), until: Until }),
  z.object({ step: z.literal('digits'), code: Code, until: Until }),
  z.object({ step: z.literal('verified'), code: Code, dossierId: z.number().int().positive(), until: Until }),
]);
type FlowData = z.infer<typeof FlowData>;

/** The longest "what is missing" shown (an officer's note; the rest is at the desk). */
const MISSING_MAX = 600;

const foldWord = (word: string): string[] => tokenize(word).map((t) => t.fold);
const foldPhrase = (text: string): string => foldWord(text).join(' ');

export function createDossierFlow(deps: DossierFlowDeps): ConversationFlow {
  const t = deps.texts ?? DOSSIER_CHAT_TEXTS;
  const holdMs = (deps.holdSeconds ?? 600) * 1000;
  const triggers = new Set(t.triggers.map(foldPhrase));
  const triggerWords = Math.max(...t.triggers.map((s) => foldWord(s).length));
  const cancels = new Set(t.cancelWords.map(foldPhrase));
  const otherFlows = t.otherFlows.map(foldPhrase);
  // Words around a code or the digits that carry nothing: labels ("mã số"), politeness ("giúp em ạ").
  const fillers = new Set([...t.codeLabels, ...t.fillerWords].flatMap(foldWord));
  const isFiller = (word: string): boolean => foldWord(word).every((w) => fillers.has(w));

  const subject = (turn: FlowTurn): LookupSubject => ({ unitId: turn.key.unitId, channel: turn.key.channel, userId: turn.key.userId });
  const citizen = (turn: FlowTurn): SubscriberKey => ({ ...turn.key, accountId: turn.accountId });
  const unitName = (turn: FlowTurn): string => turn.unit?.name ?? turn.ctx.texts.messages.unitFallbackName;
  const another: ReplyButton = { title: t.buttons.another, payload: dossierAskPayload() };
  /** "Nhận thông báo" / "Hủy nhận thông báo" for a code; none for a code too long for a payload. */
  const linkButtons = (code: string, on: boolean): ReplyButton[] => {
    try {
      return [{ title: on ? t.buttons.link : t.buttons.unlink, payload: dossierLinkPayload(code, on) }];
    } catch {
      return [];
    }
  };

  /** The stored data, or null when there is none, it is not ours any more, or it expired. */
  function dataOf(turn: FlowTurn): FlowData | null {
    if (turn.data === null) return null;
    const parsed = FlowData.safeParse(turn.data);
    return parsed.success && parsed.data.until > turn.now.getTime() ? parsed.data : null;
  }

  const hold = (turn: FlowTurn): number => turn.now.getTime() + holdMs;

  function coolDown(turn: FlowTurn, until: Date): Reply[] {
    const minutes = Math.max(1, Math.ceil((until.getTime() - turn.now.getTime()) / 60_000));
    const phone = turn.unit?.phone;
    return [reply(fill(t.coolDown, { minutes, contact: phone ? fill(t.coolDownContact, { phone }) : '' }))];
  }

  async function askCode(turn: FlowTurn): Promise<Reply[]> {
    await turn.enter({ step: 'code', until: hold(turn) }, holdMs / 1000);
    return [reply(t.askCode)];
  }

  async function linkedContact(turn: FlowTurn, dossierId: number): Promise<boolean> {
    const contactId = await deps.contacts.contactOf(citizen(turn), null);
    return contactId !== null && (await deps.dossiers.getLink(dossierId, contactId)) !== undefined;
  }

  /** A code to look up: answered at once for a linked citizen, else the digits are asked for. */
  async function startLookup(turn: FlowTurn, code: string): Promise<Reply[]> {
    const contactId = await deps.contacts.contactOf(citizen(turn), null);
    if (contactId !== null) {
      // Only a citizen who linked the dossier learns anything here; everyone else is asked for
      // the digits whether or not the code exists.
      const d = await deps.dossiers.getByCode(turn.key.unitId, code);
      if (d && (await deps.dossiers.getLink(d.id, contactId))) return answer(turn, d, true);
    }
    const until = await deps.guard.blockedUntil(subject(turn), codeKey(code), turn.now);
    if (until) {
      await turn.leave();
      return coolDown(turn, until);
    }
    await turn.enter({ step: 'digits', code, until: hold(turn) }, holdMs / 1000);
    return [reply(fill(t.askDigits, { code }))];
  }

  /** Checks the digits for the code waited on. */
  async function check(turn: FlowTurn, code: string, digits: string): Promise<Reply[]> {
    const who = subject(turn);
    const key = codeKey(code);
    const attempt = await deps.guard.attempt(who, key, turn.now);
    if (!attempt.allowed) {
      await turn.leave();
      return coolDown(turn, attempt.retryAt);
    }
    const d = await deps.dossiers.verify(turn.key.unitId, code, digits);
    if (d) {
      await deps.guard.succeeded(who, key, attempt.id);
      return answer(turn, d, await linkedContact(turn, d.id));
    }
    if (attempt.remaining <= 0) {
      const until = await deps.guard.blockedUntil(who, key, turn.now);
      await turn.leave();
      return coolDown(turn, until ?? new Date(turn.now.getTime() + holdMs));
    }
    await turn.enter({ step: 'digits', code, until: hold(turn) }, holdMs / 1000);
    return [reply(t.refused, { buttons: [another] })];
  }

  /** The dossier as the citizen may now read it; the flow remembers the check for a while. */
  async function answer(turn: FlowTurn, d: Dossier, linked: boolean): Promise<Reply[]> {
    await turn.enter({ step: 'verified', code: d.code, dossierId: d.id, until: hold(turn) }, holdMs / 1000);
    const a = t.answer;
    const lines = [fill(a.header, { code: d.code })];
    const procedure = [d.procedureCode, d.procedureName].filter((x): x is string => x !== null && x !== '').join(' — ');
    if (procedure !== '') lines.push(fill(a.procedure, { procedure }));
    lines.push(fill(a.status, { status: STATUS_VI[d.status] }));
    lines.push(fill(a.received, { date: vietnamDate(d.receivedAt) }));
    lines.push(d.dueAt ? fill(a.due, { date: vietnamDate(d.dueAt) }) : a.dueNone);
    if (OPEN_STATUSES.has(d.status) && d.dueAt) lines.push(d.dueAt < turn.now ? a.overdue : a.onTime);
    if (RESOLVED_STATUSES.has(d.status) && d.dueAt && d.resolvedAt) lines.push(d.resolvedAt > d.dueAt ? a.resolvedLate : a.resolvedOnTime);
    if (d.status === 'needs_supplement') {
      const missing = d.missing?.trim() ?? '';
      lines.push(missing === '' ? a.missingNone : fill(a.missing, { missing: missing.length > MISSING_MAX ? `${missing.slice(0, MISSING_MAX - 1)}…` : missing }));
    }
    if (d.status === 'result_ready') {
      const desk = [fill(a.pickupDesk, { unitName: unitName(turn) }), turn.unit?.address].filter((x): x is string => !!x && x.trim() !== '').join(', ');
      lines.push(fill(a.pickup, { place: d.pickupPlace?.trim() || desk }));
      if (turn.unit?.hours) lines.push(fill(a.hours, { hours: turn.unit.hours }));
      lines.push(a.bring);
    }
    if (d.status === 'returned' && d.returnedAt) lines.push(fill(a.returned, { date: vietnamDate(d.returnedAt) }));
    if (CLOSED_STATUSES.has(d.status)) lines.push(fill(a.closed, { status: STATUS_VI[d.status] }));
    if (linked) lines.push(a.linkedNote);
    const buttons: ReplyButton[] = [];
    if (linked) buttons.push(...linkButtons(d.code, false));
    else if (OPEN_STATUSES.has(d.status) || d.status === 'result_ready') buttons.push(...linkButtons(d.code, true));
    buttons.push(another);
    return [reply(lines.join('\n'), { buttons })];
  }

  async function link(turn: FlowTurn, code: string): Promise<Reply[]> {
    const data = dataOf(turn);
    if (data?.step !== 'verified' || codeKey(data.code) !== codeKey(code)) {
      return [reply(fill(t.linkNeedsCheck, { code })), ...(await startLookup(turn, code))];
    }
    const contactId = await deps.contacts.contactOf(citizen(turn), { at: turn.now });
    if (contactId === null) return [reply(fill(t.linkUnavailable, { unitName: unitName(turn) }), { buttons: [another] })];
    await deps.dossiers.link(data.dossierId, contactId);
    const d = await deps.dossiers.getByCode(turn.key.unitId, data.code);
    const lines = [fill(t.linked[turn.key.channel], { code: data.code, unitName: unitName(turn) })];
    if (d?.status === 'result_ready') lines.push(t.linked.resultReady);
    lines.push(t.linked.evaluation);
    return [reply(lines.join('\n'), { buttons: [...linkButtons(data.code, false), another] })];
  }

  async function unlink(turn: FlowTurn, code: string): Promise<Reply[]> {
    const contactId = await deps.contacts.contactOf(citizen(turn), null);
    const d = contactId === null ? undefined : await deps.dossiers.getByCode(turn.key.unitId, code);
    // The same answer whether the code exists or not when nothing was linked.
    const removed = contactId !== null && d !== undefined && (await deps.dossiers.unlink(d.id, contactId));
    const shown = d?.code ?? code;
    if (!removed) return [reply(fill(t.notLinked, { code: shown }), { buttons: [another] })];
    const data = dataOf(turn);
    const canRelink = data?.step === 'verified' && data.dossierId === d?.id;
    return [
      reply(fill(t.unlinked, { code: shown }), {
        buttons: [...(canRelink ? linkButtons(shown, true) : []), another],
      }),
    ];
  }

  /**
   * "tra cứu hồ sơ" (with politeness around it) and what follows: undefined when the text does
   * not start with a trigger, else the words after it.
   */
  function afterTrigger(text: string): string[] | undefined {
    const words = text.split(/\s+/).filter((w) => w !== '');
    let start = 0;
    while (start < words.length && isFiller(words[start] ?? '')) start++;
    let folded: string[] = [];
    let end: number | undefined;
    for (let i = start; i < words.length && folded.length < triggerWords; i++) {
      folded = [...folded, ...foldWord(words[i] ?? '')];
      if (triggers.has(folded.join(' '))) end = i + 1;
    }
    return end === undefined ? undefined : words.slice(end);
  }

  /** A code typed as one token, or as a few parts each with a digit or in capitals ("HS 2024/001"). */
  function codeOfWords(words: readonly string[]): string | undefined {
    if (words.length === 1) return typedDossierCode(words[0] ?? '');
    if (words.length > 4 || !words.every((w) => /\d/.test(w) || /^[A-Z0-9./_-]+$/.test(w))) return undefined;
    return typedDossierCode(words.join(''));
  }

  /** Text that starts a look-up when no look-up is waiting for anything; null lets it go. */
  async function claim(turn: FlowTurn, text: string): Promise<Reply[] | null> {
    const folded = foldPhrase(text);
    if (otherFlows.some((p) => folded === p || folded.startsWith(`${p} `))) return null;
    const found = findReceiptCodes(text)[0];
    if (found !== undefined) return startLookup(turn, found);
    const rest = afterTrigger(text);
    if (rest === undefined) return null;
    let words = [...rest];
    while (words.length > 0 && isFiller(words[0] ?? '')) words = words.slice(1);
    while (words.length > 0 && isFiller(words.at(-1) ?? '')) words = words.slice(0, -1);
    if (words.length === 0) return askCode(turn);
    const code = codeOfWords(words);
    if (code !== undefined) return startLookup(turn, code);
    // "kiểm tra hồ sơ đăng ký khai sinh": a question about a procedure, for the engine.
    return words.some((w) => /\d/.test(w)) ? askCode(turn) : null;
  }

  /** The 4 digits in a message while they are awaited; 'format' for other numbers; null: not digits. */
  function digitsOf(text: string): string | 'format' | null {
    const compact = text.replace(/[\s.-]/g, '');
    if (/^\d{4}$/.test(compact)) return compact;
    if (/^[\d\s.()+-]+$/.test(text)) {
      const phone = lastFourDigits(text); // the whole phone number: its last 4 digits
      if (phone !== null) return phone;
      return compact.replace(/\D/g, '').length <= 1 ? null : 'format'; // "2": a numbered choice
    }
    const words = tokenize(text)
      .map((w) => w.fold)
      .filter((w) => !fillers.has(w));
    return words.length === 1 && /^\d{4}$/.test(words[0] ?? '') ? (words[0] ?? null) : null;
  }

  return {
    name: DOSSIER_FLOW_NAME,
    actions: [DOSSIER_ACTION],

    async onPayload(turn: FlowTurn, payload: string, via: FlowVia): Promise<Reply[]> {
      const p = parseDossierPayload(payload);
      if (p === null) return turn.menu();
      switch (p.kind) {
        case 'ask':
          return askCode(turn);
        case 'lookup':
          return startLookup(turn, p.code);
        // A link or QR code only opens the look-up: linking and unlinking are taps.
        case 'link':
          return via === 'link' ? startLookup(turn, p.code) : link(turn, p.code);
        case 'unlink':
          return via === 'link' ? startLookup(turn, p.code) : unlink(turn, p.code);
      }
    },

    async onText(turn: FlowTurn, text: string): Promise<Reply[] | null> {
      const data = dataOf(turn);
      if (data === null) {
        const claimed = await claim(turn, text);
        // Our stored data expired or no longer parses: forget it when the text goes elsewhere.
        if (claimed === null && turn.data !== null) await turn.leave();
        return claimed;
      }
      if (data.step !== 'verified' && cancels.has(foldPhrase(text))) {
        await turn.leave();
        return [reply(t.cancelled)];
      }
      const claimed = await claim(turn, text);
      if (claimed !== null) return claimed;
      if (data.step === 'code') {
        const code = codeOfWords(text.split(/\s+/).filter((w) => w !== ''));
        return code === undefined ? null : startLookup(turn, code);
      }
      if (data.step === 'digits') {
        const digits = digitsOf(text);
        if (digits === 'format') return [reply(t.digitsFormat)];
        return digits === null ? null : check(turn, data.code, digits);
      }
      return null;
    },
  };
}
