// The payload that starts a survey in chat: "mc:sv:<definition id>", optionally followed by
// ":p:<procedure code>" and ":d:<dossier code>" (percent-encoded, since a dossier code is an
// opaque string). It is what the desk's QR codes carry (m.me ref, the widget's ?ref=), what the
// offer after a procedure answer and the result-ready notice put on their button, and what an
// invitation announcement links to. A payload is external input: it is parsed strictly and a
// link that carries one only ever opens the survey's first question (never answers anything).
import { PAYLOAD_PREFIX } from '../conversation/payload.js';

/** The flow's payload action: "mc:sv:…". */
export const SURVEY_ACTION = 'sv';

export interface SurveyStart {
  definitionId: string;
  procedureCode?: string;
  dossierCode?: string;
}

const DEFINITION = /^[a-z0-9][a-z0-9-]{0,62}$/;
const PROCEDURE = /^\d+\.\d+$/;
const MAX_DOSSIER_CODE = 100;
/** Longest payload we issue or accept (Messenger's ref and postback limits are far above). */
export const MAX_SURVEY_PAYLOAD = 300;

export function surveyStartPayload(start: SurveyStart): string {
  if (!DEFINITION.test(start.definitionId)) throw new Error(`not a survey id: ${start.definitionId}`);
  let out = `${PAYLOAD_PREFIX}:${SURVEY_ACTION}:${start.definitionId}`;
  if (start.procedureCode !== undefined) {
    if (!PROCEDURE.test(start.procedureCode)) throw new Error(`not a procedure code: ${start.procedureCode}`);
    out += `:p:${start.procedureCode}`;
  }
  if (start.dossierCode !== undefined) {
    const code = start.dossierCode.normalize('NFC').trim();
    if (code === '' || code.length > MAX_DOSSIER_CODE) throw new Error('dossier code must have 1 to 100 characters');
    out += `:d:${encodeURIComponent(code)}`;
  }
  return out;
}

/** The start described by a payload, or null when it is not a well-formed survey start. */
export function parseSurveyStart(raw: string): SurveyStart | null {
  if (raw.length > MAX_SURVEY_PAYLOAD) return null;
  const parts = raw.trim().split(':');
  if (parts[0] !== PAYLOAD_PREFIX || parts[1] !== SURVEY_ACTION) return null;
  const definitionId = parts[2];
  if (definitionId === undefined || !DEFINITION.test(definitionId)) return null;
  const start: SurveyStart = { definitionId };
  let i = 3;
  if (parts[i] === 'p') {
    const code = parts[i + 1];
    if (code === undefined || !PROCEDURE.test(code)) return null;
    start.procedureCode = code;
    i += 2;
  }
  if (parts[i] === 'd') {
    const encoded = parts[i + 1];
    if (encoded === undefined || encoded === '') return null;
    let code: string;
    try {
      code = decodeURIComponent(encoded).normalize('NFC').trim();
    } catch {
      return null;
    }
    if (code === '' || code.length > MAX_DOSSIER_CODE || /[\u0000-\u001f\u007f]/.test(code)) return null;
    start.dossierCode = code;
    i += 2;
  }
  return i === parts.length ? start : null;
}
