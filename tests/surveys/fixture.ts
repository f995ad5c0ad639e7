// The hand-computed fixture of the report and export tests: responses given through the
// repository as citizens would, with completion times chosen around the end of 2026-Q3.
// The expected figures are written out by hand in report.test.ts.
import type { StartInput, SurveyChannel, SurveyRepository } from '../../src/surveys/survey-repository.js';

type Step = readonly [question: string, option: string] | readonly [question: string, 'skip'] | readonly [question: string, { comment: string }];

export interface Given {
  ref: string;
  definitionId: 'dossier-evaluation' | 'dossier-evaluation-5' | 'sipas';
  unitId: string;
  channel: SurveyChannel;
  user: string;
  occasion: StartInput['occasion'];
  steps: readonly Step[];
  /** ISO time with offset; undefined = left in progress. */
  completedAt?: string;
  cancel?: boolean;
  procedureCode?: string;
  field?: string;
}

const d = (code: string) => ({ kind: 'dossier', code }) as const;
const q3 = { kind: 'period', period: '2026-Q3' } as const;

export const FIXTURE: readonly Given[] = [
  // xa-a: the 3-level form, on Messenger.
  { ref: 'A1', definitionId: 'dossier-evaluation', unitId: 'xa-a', channel: 'messenger', user: 'a1', occasion: d('HS-A1'), completedAt: '2026-07-05T09:00:00+07:00',
    steps: [['total-time', 'shorter'], ['contact-count', 'none'], ['agency-count', 'none'], ['harassment', 'not-met'], ['overall', 'very-satisfied']] },
  { ref: 'A2', definitionId: 'dossier-evaluation', unitId: 'xa-a', channel: 'messenger', user: 'a2', occasion: d('HS-A2'), completedAt: '2026-07-20T10:00:00+07:00',
    procedureCode: '1.001193', field: 'Hộ tịch',
    steps: [['total-time', 'equal'], ['contact-count', 'once'], ['agency-count', 'one-stop-only'], ['harassment', 'not-met'], ['overall', 'satisfied'], ['comment', { comment: '=HYPERLINK("http://x.example","bấm") gọi 0912 345 678' }]] },
  { ref: 'A3', definitionId: 'dossier-evaluation', unitId: 'xa-a', channel: 'messenger', user: 'a3', occasion: d('HS-A3'), completedAt: '2026-08-03T08:00:00+07:00',
    steps: [['total-time', 'longer'], ['contact-count', 'more-than-once'], ['agency-count', 'more-than-one'], ['harassment', 'met'], ['overall', 'dissatisfied'], ['comment', { comment: '+ phải đi lại, "rất" mệt, nhiều lần' }]] },
  { ref: 'A4', definitionId: 'dossier-evaluation', unitId: 'xa-a', channel: 'messenger', user: 'a4', occasion: d('HS-A4'), completedAt: '2026-08-25T15:00:00+07:00',
    steps: [['total-time', 'shorter'], ['contact-count', 'none'], ['agency-count', 'skip'], ['harassment', 'skip'], ['overall', 'skip']] },
  // Another person (web) evaluates dossier HS-A1 later: both are phiếu, only this one is HS-A1's score.
  { ref: "A1'", definitionId: 'dossier-evaluation', unitId: 'xa-a', channel: 'web', user: 'a1-bis', occasion: d('HS-A1'), completedAt: '2026-09-10T11:00:00+07:00',
    steps: [['total-time', 'equal'], ['contact-count', 'once'], ['agency-count', 'none'], ['harassment', 'not-met'], ['overall', 'satisfied']] },
  // Not phiếu: one left in progress, one cancelled.
  { ref: 'A5', definitionId: 'dossier-evaluation', unitId: 'xa-a', channel: 'messenger', user: 'a5', occasion: d('HS-A5'), steps: [['overall', 'very-satisfied']] },
  { ref: 'A6', definitionId: 'dossier-evaluation', unitId: 'xa-a', channel: 'messenger', user: 'a6', occasion: d('HS-A6'), cancel: true, steps: [['overall', 'very-satisfied']] },

  // xa-b: the 5-level form, on Zalo.
  { ref: 'B1', definitionId: 'dossier-evaluation-5', unitId: 'xa-b', channel: 'zalo', user: 'b1', occasion: d('HS-B1'), completedAt: '2026-07-15T09:30:00+07:00',
    steps: [['total-time', 'equal'], ['contact-count', 'skip'], ['agency-count', 'none'], ['harassment', 'not-met'], ['overall', 'very-satisfied']] },
  { ref: 'B2', definitionId: 'dossier-evaluation-5', unitId: 'xa-b', channel: 'zalo', user: 'b2', occasion: d('HS-B2'), completedAt: '2026-08-12T14:00:00+07:00',
    steps: [['total-time', 'skip'], ['contact-count', 'once'], ['agency-count', 'one-stop-only'], ['harassment', 'not-met'], ['overall', 'neutral']] },
  { ref: 'B3', definitionId: 'dossier-evaluation-5', unitId: 'xa-b', channel: 'zalo', user: 'b3', occasion: d('@HS-B3'), completedAt: '2026-09-02T08:15:00+07:00',
    field: '+Đất đai',
    steps: [['total-time', 'longer'], ['contact-count', 'more-than-once'], ['agency-count', 'more-than-one'], ['harassment', 'met'], ['overall', 'very-dissatisfied']] },
  // The last half hour of Q3 in Vietnam (16:30 UTC)…
  { ref: 'B4', definitionId: 'dossier-evaluation-5', unitId: 'xa-b', channel: 'zalo', user: 'b4', occasion: d('HS-B4'), completedAt: '2026-09-30T23:30:00+07:00',
    steps: [['total-time', 'shorter'], ['contact-count', 'none'], ['agency-count', 'none'], ['harassment', 'not-met'], ['overall', 'satisfied']] },
  // …and ten minutes into Q4 (still 30/09 in UTC).
  { ref: 'B5', definitionId: 'dossier-evaluation-5', unitId: 'xa-b', channel: 'zalo', user: 'b5', occasion: d('HS-B5'), completedAt: '2026-10-01T00:10:00+07:00',
    steps: [['total-time', 'shorter'], ['overall', 'very-satisfied']] },

  // SIPAS in xa-a for Q3.
  { ref: 'S1', definitionId: 'sipas', unitId: 'xa-a', channel: 'zalo', user: 's1', occasion: q3, completedAt: '2026-09-05T09:00:00+07:00',
    steps: [['access-seats', 'yes'], ['access-equipment', 'no'], ['access-satisfaction', 'satisfied'], ['overall', 'very-satisfied']] },
  { ref: 'S2', definitionId: 'sipas', unitId: 'xa-a', channel: 'zalo', user: 's2', occasion: q3, completedAt: '2026-09-06T09:00:00+07:00',
    steps: [['access-seats', 'yes'], ['access-equipment', 'skip'], ['access-satisfaction', 'neutral'], ['overall', 'satisfied']] },
  { ref: 'S3', definitionId: 'sipas', unitId: 'xa-a', channel: 'zalo', user: 's3', occasion: q3, completedAt: '2026-09-07T09:00:00+07:00',
    steps: [['access-seats', 'no'], ['access-satisfaction', 'very-satisfied'], ['officials-satisfaction', 'dissatisfied'], ['overall', 'dissatisfied']] },
];

/** Gives every response of the fixture; returns the response id of each ref. */
export async function giveFixture(repo: SurveyRepository): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const g of FIXTURE) {
    const end = g.completedAt ? new Date(g.completedAt) : new Date('2026-09-20T10:00:00+07:00');
    const startAt = new Date(end.getTime() - 10 * 60_000);
    const { response } = await repo.start({
      definitionId: g.definitionId,
      unitId: g.unitId,
      channel: g.channel,
      platformUserId: g.user,
      occasion: g.occasion,
      procedureCode: g.procedureCode ?? null,
      field: g.field ?? null,
      at: startAt,
    });
    ids.set(g.ref, response.id);
    for (const [question, choice] of g.steps) {
      if (choice === 'skip') await repo.skip(response.id, question, startAt);
      else if (typeof choice === 'string') await repo.answer(response.id, question, choice, startAt);
      else await repo.comment(response.id, question, choice.comment, startAt);
    }
    if (g.completedAt) await repo.complete(response.id, end);
    if (g.cancel) await repo.cancel(response.id, end);
  }
  return ids;
}
