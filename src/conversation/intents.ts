// Loads and validates intents/*.yaml (one file per intent) and intents/messages.yaml: every text
// the bot says lives there, not in code. A malformed file fails at start-up with the file and the
// field named, so a typo never reaches a citizen as a missing message.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';

const Text = z.string().trim().min(1, 'văn bản không được để trống');
const Examples = z.array(Text).min(1, 'cần ít nhất một câu ví dụ');

export const GreetingIntent = z.object({
  name: z.literal('greeting'),
  examples: Examples,
  replies: z.object({ welcome: Text, prompt: Text }).strict(),
});

export const ContactIntent = z.object({
  name: z.literal('contact'),
  examples: Examples,
  replies: z
    .object({ header: Text, address: Text, phone: Text, hours: Text, portal: Text, missing: Text })
    .strict(),
});

export const HandoffIntent = z.object({
  name: z.literal('handoff'),
  examples: Examples,
  replies: z.object({ requested: Text, requestedNoHours: Text }).strict(),
});

export const ThanksIntent = z.object({
  name: z.literal('thanks'),
  examples: Examples,
  replies: z.object({ thanks: Text }).strict(),
});

export const ProcedureQuestionIntent = z.object({
  name: z.literal('procedure-question'),
  examples: Examples,
  replies: z
    .object({
      answer: z
        .object({
          header: Text,
          where: Text,
          whereCommuneDesk: Text,
          whereUnknown: Text,
          time: Text,
          timeUnknown: Text,
          fee: Text,
          feeUnknown: Text,
          perChannel: Text,
          onlineYes: Text,
          onlineNo: Text,
          onlineUnknown: Text,
          listOnly: Text,
          more: Text,
        })
        .strict(),
      details: z
        .object({
          documentsHeader: Text,
          documentsNone: Text,
          documentShow: Text,
          documentForm: Text,
          formsHeader: Text,
          formsNone: Text,
          stepsHeader: Text,
          stepsNone: Text,
          feeTimeHeader: Text,
          feeTimeChannel: Text,
          timeUnknownShort: Text,
          feeUnknownShort: Text,
          feeTimeNone: Text,
          feeTimeAskOfficer: Text,
          legalHeader: Text,
          legalNone: Text,
          onlineYes: Text,
          onlineNo: Text,
          whereHeader: Text,
          whereAddress: Text,
          resultHeader: Text,
          resultNone: Text,
          sourceNote: Text,
          truncated: Text,
        })
        .strict(),
      choices: z.object({ intro: Text, item: Text }).strict(),
      none: z.object({ text: Text, suggestions: Text, phone: Text, noPhone: Text, rephrase: Text }).strict(),
    })
    .strict(),
});

/**
 * Asking to receive the unit's announcements ("đăng ký nhận tin"). Matched only when the whole
 * message is one of the examples (fillers aside): "đăng ký" alone, or "đăng ký khai sinh", is a
 * procedure question. The replies are in messages.yaml (subscriptions).
 */
export const SubscribeIntent = z
  .object({
    name: z.literal('subscribe'),
    examples: Examples,
  })
  .strict();

/**
 * Leaving groups: `examples` list the citizen's groups to choose from ("hủy đăng ký"),
 * `stopExamples` withdraw every consent at once ("STOP", "dừng nhận tin").
 */
export const UnsubscribeIntent = z
  .object({
    name: z.literal('unsubscribe'),
    examples: Examples,
    stopExamples: Examples,
  })
  .strict();

export const IntentFile = z.discriminatedUnion('name', [
  GreetingIntent,
  ContactIntent,
  HandoffIntent,
  ThanksIntent,
  ProcedureQuestionIntent,
  SubscribeIntent,
  UnsubscribeIntent,
]);
export type IntentFile = z.infer<typeof IntentFile>;

export const MessagesFile = z
  .object({
    buttons: z
      .object({
        documents: Text,
        steps: Text,
        feeTime: Text,
        legal: Text,
        online: Text,
        handoff: Text,
        contact: Text,
        menu: Text,
        portal: Text,
        source: Text,
      })
      .strict(),
    menuTopics: z
      .array(z.object({ title: Text, code: z.string().regex(/^\d+\.\d+$/, 'mã thủ tục phải có dạng 1.001193') }).strict())
      .max(10),
    input: z
      .object({
        empty: Text,
        tooLong: Text,
        noLetters: Text,
        attachment: Text,
        unsupportedScript: Text,
        choiceOutOfRange: Text,
        procedureGone: Text,
        error: Text,
      })
      .strict(),
    unitFallbackName: Text,
    /** Subscriber groups and consent in chat. Placeholders: {unitName}, {group}, {groups}, {count}. */
    subscriptions: z
      .object({
        buttons: z
          .object({ subscribe: Text, unsubscribe: Text, unsubscribeAll: Text, more: Text, otherGroups: Text })
          .strict(),
        list: z.object({ intro: Text, following: Text, allFollowed: Text, noGroups: Text, privacy: Text }).strict(),
        subscribed: Text,
        already: Text,
        groupGone: Text,
        howToStop: Text,
        platformNote: z.object({ messenger: Text, zalo: Text, web: Text }).strict(),
        unavailable: Text,
        unsubscribeList: z.object({ intro: Text, none: Text }).strict(),
        unsubscribed: Text,
        stillFollowing: Text,
        notFollowing: Text,
        unsubscribedAll: Text,
        nothingToStop: Text,
        resubscribe: Text,
      })
      .strict(),
  })
  .strict();
export type MessagesFile = z.infer<typeof MessagesFile>;

/** Everything the engine says, validated. */
export interface IntentSet {
  greeting: z.infer<typeof GreetingIntent>;
  contact: z.infer<typeof ContactIntent>;
  handoff: z.infer<typeof HandoffIntent>;
  thanks: z.infer<typeof ThanksIntent>;
  procedure: z.infer<typeof ProcedureQuestionIntent>;
  subscribe: z.infer<typeof SubscribeIntent>;
  unsubscribe: z.infer<typeof UnsubscribeIntent>;
  messages: MessagesFile;
}

export class IntentFileError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'IntentFileError';
  }
}

/** Reads a YAML file, normalises every string to NFC (the source may hold NFD marks), parses. */
function readYaml(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new IntentFileError(file, `không đọc được tệp: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return parse(text.normalize('NFC'));
  } catch (err) {
    throw new IntentFileError(file, `YAML không hợp lệ: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'không hợp lệ';
  const where = issue.path.length > 0 ? issue.path.join('.') : '(gốc)';
  return `${where}: ${issue.message}`;
}

/** Parses one intent file's content; exported so tests can check error messages without files. */
export function parseIntentFile(file: string, doc: unknown): IntentFile {
  const parsed = IntentFile.safeParse(doc);
  if (!parsed.success) throw new IntentFileError(file, firstIssue(parsed.error));
  return parsed.data;
}

export function parseMessagesFile(file: string, doc: unknown): MessagesFile {
  const parsed = MessagesFile.safeParse(doc);
  if (!parsed.success) throw new IntentFileError(file, firstIssue(parsed.error));
  return parsed.data;
}

export const MESSAGES_FILE_NAME = 'messages.yaml';

/** Loads intents/ (default: the repository's intents/ folder): one file per intent + messages.yaml. */
export function loadIntents(dir: string): IntentSet {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.yaml') || n.endsWith('.yml'));
  } catch (err) {
    throw new IntentFileError(dir, `không đọc được thư mục: ${err instanceof Error ? err.message : String(err)}`);
  }
  const found: Partial<Omit<IntentSet, 'messages'>> = {};
  let messages: MessagesFile | null = null;
  for (const name of names.sort()) {
    const file = path.join(dir, name);
    const doc = readYaml(file);
    if (name === MESSAGES_FILE_NAME) {
      messages = parseMessagesFile(file, doc);
      continue;
    }
    const intent = parseIntentFile(file, doc);
    const duplicate = (): never => {
      throw new IntentFileError(file, `name: ý định "${intent.name}" bị khai báo hai lần`);
    };
    switch (intent.name) {
      case 'greeting':
        if (found.greeting) duplicate();
        found.greeting = intent;
        break;
      case 'contact':
        if (found.contact) duplicate();
        found.contact = intent;
        break;
      case 'handoff':
        if (found.handoff) duplicate();
        found.handoff = intent;
        break;
      case 'thanks':
        if (found.thanks) duplicate();
        found.thanks = intent;
        break;
      case 'procedure-question':
        if (found.procedure) duplicate();
        found.procedure = intent;
        break;
      case 'subscribe':
        if (found.subscribe) duplicate();
        found.subscribe = intent;
        break;
      case 'unsubscribe':
        if (found.unsubscribe) duplicate();
        found.unsubscribe = intent;
        break;
    }
  }
  if (!messages) throw new IntentFileError(path.join(dir, MESSAGES_FILE_NAME), 'thiếu tệp');
  const { greeting, contact, handoff, thanks, procedure, subscribe, unsubscribe } = found;
  if (!greeting) throw new IntentFileError(dir, 'thiếu ý định "greeting"');
  if (!contact) throw new IntentFileError(dir, 'thiếu ý định "contact"');
  if (!handoff) throw new IntentFileError(dir, 'thiếu ý định "handoff"');
  if (!thanks) throw new IntentFileError(dir, 'thiếu ý định "thanks"');
  if (!procedure) throw new IntentFileError(dir, 'thiếu ý định "procedure-question"');
  if (!subscribe) throw new IntentFileError(dir, 'thiếu ý định "subscribe"');
  if (!unsubscribe) throw new IntentFileError(dir, 'thiếu ý định "unsubscribe"');
  return { greeting, contact, handoff, thanks, procedure, subscribe, unsubscribe, messages };
}

/** The repository's intents/ folder, resolved from this module's location (src/conversation/). */
export function defaultIntentsDir(): string {
  return fileURLToPath(new URL('../../intents/', import.meta.url));
}
