// The statuses of a dossier, their Vietnamese names, which are still open, and the reading of a
// status as a one-stop system's spreadsheet writes it ("Đang giải quyết", "Chờ bổ sung hồ sơ",
// "Đã trả kết quả"…). Pure.
import { z } from 'zod';
import { foldMarks } from '../search/normalize.js';

export const DossierStatus = z.enum(['received', 'processing', 'needs_supplement', 'result_ready', 'returned', 'rejected', 'withdrawn']);
export type DossierStatus = z.infer<typeof DossierStatus>;

/** What an officer or a citizen reads. */
export const STATUS_VI: Record<DossierStatus, string> = {
  received: 'Đã tiếp nhận',
  processing: 'Đang xử lý',
  needs_supplement: 'Chờ bổ sung',
  result_ready: 'Đã có kết quả',
  returned: 'Đã trả kết quả',
  rejected: 'Từ chối',
  withdrawn: 'Rút hồ sơ',
};

/** Still being worked on: counts as overdue once past its due date. */
export const OPEN_STATUSES: ReadonlySet<DossierStatus> = new Set(['received', 'processing', 'needs_supplement']);
/** The result exists (ready to collect, or collected). */
export const RESOLVED_STATUSES: ReadonlySet<DossierStatus> = new Set(['result_ready', 'returned']);
/** Ended without a result. */
export const CLOSED_STATUSES: ReadonlySet<DossierStatus> = new Set(['rejected', 'withdrawn']);

/** Folded, lower case, single spaces, without trailing punctuation: how status texts compare. */
export function statusKey(text: string): string {
  return foldMarks(text.normalize('NFC'))
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/**
 * Spellings seen in one-stop system exports (and the statuses' own names and codes). A unit's
 * mapping adds its own; anything else is a row error, never a guess.
 */
const DEFAULT_SPELLINGS: ReadonlyArray<readonly [string, DossierStatus]> = [
  ['Đã tiếp nhận', 'received'],
  ['Tiếp nhận', 'received'],
  ['Mới tiếp nhận', 'received'],
  ['Chờ xử lý', 'received'],
  ['Đang xử lý', 'processing'],
  ['Đang giải quyết', 'processing'],
  ['Đang thụ lý', 'processing'],
  ['Đang thẩm định', 'processing'],
  ['Chuyển xử lý', 'processing'],
  ['Chờ bổ sung', 'needs_supplement'],
  ['Chờ bổ sung hồ sơ', 'needs_supplement'],
  ['Yêu cầu bổ sung', 'needs_supplement'],
  ['Bổ sung hồ sơ', 'needs_supplement'],
  ['Cần bổ sung', 'needs_supplement'],
  ['Đã có kết quả', 'result_ready'],
  ['Có kết quả', 'result_ready'],
  ['Chờ trả kết quả', 'result_ready'],
  ['Đã giải quyết', 'result_ready'],
  ['Đã trả kết quả', 'returned'],
  ['Đã trả', 'returned'],
  ['Trả kết quả', 'returned'],
  ['Đã trả kết quả cho công dân', 'returned'],
  ['Từ chối', 'rejected'],
  ['Từ chối giải quyết', 'rejected'],
  ['Không giải quyết', 'rejected'],
  ['Rút hồ sơ', 'withdrawn'],
  ['Đã rút hồ sơ', 'withdrawn'],
  ['Công dân rút hồ sơ', 'withdrawn'],
];

const DEFAULT_BY_KEY: ReadonlyMap<string, DossierStatus> = new Map([
  ...DEFAULT_SPELLINGS.map(([text, s]) => [statusKey(text), s] as const),
  ...DossierStatus.options.map((s) => [statusKey(s), s] as const),
]);

/** The status a text names, with a unit's own spellings first; undefined when unknown. */
export function parseStatusText(text: string, extra: Readonly<Record<string, DossierStatus>> = {}): DossierStatus | undefined {
  const key = statusKey(text);
  if (key === '') return undefined;
  for (const [spelling, status] of Object.entries(extra)) if (statusKey(spelling) === key) return status;
  return DEFAULT_BY_KEY.get(key);
}
