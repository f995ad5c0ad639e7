// The survey's in-chat button payloads, besides the start payload of chat-payload.ts:
//   mc:sv:_a:<response id>:<question id>:<option id>   answer
//   mc:sv:_s:<response id>:<question id>                skip ("Bỏ qua")
//   mc:sv:_x[:<response id>]                            stop ("Dừng đánh giá")
// The "_" cannot begin a definition id, so none of these is ever read as a start. Each carries
// the response and question it was shown for: a tap on an old button (an earlier question, a
// finished or someone else's response) is recognised as such, never recorded against the
// current question. A payload is external input: parsed strictly.
import { PAYLOAD_PREFIX } from '../conversation/payload.js';
import { SURVEY_ACTION } from './chat-payload.js';

export type SurveyAction =
  | { kind: 'answer'; responseId: number; questionId: string; optionId: string }
  | { kind: 'skip'; responseId: number; questionId: string }
  | { kind: 'stop'; responseId: number | null };

/** The conversation state keeps button payloads of at most 200 characters (ports.ts). */
export const MAX_ACTION_PAYLOAD = 200;

const ID = /^[1-9]\d{0,14}$/;
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const head = `${PAYLOAD_PREFIX}:${SURVEY_ACTION}`;

export function actionPayload(action: SurveyAction): string {
  switch (action.kind) {
    case 'answer':
      return `${head}:_a:${action.responseId}:${action.questionId}:${action.optionId}`;
    case 'skip':
      return `${head}:_s:${action.responseId}:${action.questionId}`;
    case 'stop':
      return action.responseId === null ? `${head}:_x` : `${head}:_x:${action.responseId}`;
  }
}

/** The action of one of our payloads, or null (a start payload, or not ours). */
export function parseSurveyAction(raw: string): SurveyAction | null {
  if (raw.length > MAX_ACTION_PAYLOAD) return null;
  const [prefix, action, kind, ...rest] = raw.trim().split(':');
  if (prefix !== PAYLOAD_PREFIX || action !== SURVEY_ACTION) return null;
  const id = (s: string | undefined) => (s !== undefined && ID.test(s) ? Number(s) : null);
  const slug = (s: string | undefined) => (s !== undefined && s.length <= 63 && SLUG.test(s) ? s : null);
  switch (kind) {
    case '_a': {
      const [r, q, o] = rest;
      const responseId = id(r);
      const questionId = slug(q);
      const optionId = slug(o);
      return rest.length === 3 && responseId !== null && questionId !== null && optionId !== null ? { kind: 'answer', responseId, questionId, optionId } : null;
    }
    case '_s': {
      const [r, q] = rest;
      const responseId = id(r);
      const questionId = slug(q);
      return rest.length === 2 && responseId !== null && questionId !== null ? { kind: 'skip', responseId, questionId } : null;
    }
    case '_x': {
      if (rest.length === 0) return { kind: 'stop', responseId: null };
      const responseId = id(rest[0]);
      return rest.length === 1 && responseId !== null ? { kind: 'stop', responseId } : null;
    }
    default:
      return null;
  }
}
