// Pure helpers that turn a procedure's time limits and fees into the short Vietnamese phrases
// a reply shows. They return null rather than guess: a time without its unit or a fee the
// source does not state is never rendered.
import type { ChannelKind, Fee, Procedure, SubmissionChannel, TimeLimit } from './schema.js';

/** How each time unit is written in Vietnamese (shared with the importer). */
export const TIME_UNIT_WORDS = {
  working_day: 'ngày làm việc',
  day: 'ngày',
  working_hour: 'giờ làm việc',
  hour: 'giờ',
  minute: 'phút',
  month: 'tháng',
  year: 'năm',
} as const;

const KIND_WORDS: Record<ChannelKind, string> = {
  direct: 'Trực tiếp',
  online: 'Trực tuyến',
  postal: 'Dịch vụ bưu chính',
};

/** "15 ngày làm việc"; null when the unit is unknown. */
export function formatTime(t: TimeLimit): string | null {
  if (t.unit === 'unknown') return null;
  if (t.value === null) {
    // A curated limit may be text only; it is shown only when it names its unit.
    const text = t.text?.normalize('NFC').trim();
    return text && text.includes(TIME_UNIT_WORDS[t.unit]) ? text : null;
  }
  return `${formatNumber(t.value)} ${TIME_UNIT_WORDS[t.unit]}`.normalize('NFC');
}

/** "Miễn phí", "Theo mức do HĐND tỉnh quy định", "8.000 đồng", the source's text, or null. */
export function formatFee(f: Fee): string | null {
  if (!f.stated) return null;
  if (f.setByProvince) return 'Theo mức do HĐND tỉnh quy định';
  if (f.free) return 'Miễn phí';
  if (f.amountVnd !== null) return `${formatVndAmount(f.amountVnd)} đồng`;
  const text = f.text?.normalize('NFC').trim();
  return text ? text : null;
}

export interface ChannelSummary {
  /** Channel labels in the order the citizen sees them: direct, online, postal. */
  kinds: string[];
  /** One line per distinct time/fee combination, e.g. "Trực tiếp, Trực tuyến: 3 ngày làm việc; Miễn phí". */
  lines: string[];
  /** True when every channel gives the same time and fee. */
  uniform: boolean;
}

/**
 * Groups a procedure's channels by what they cost and how long they take, so a reply can say
 * "Trực tiếp, Trực tuyến: 3 ngày làm việc; lệ phí: Miễn phí" instead of three lines.
 * Parts the source does not state are said to be not stated, never invented.
 */
export function summariseChannels(p: Pick<Procedure, 'channels'>): ChannelSummary {
  const order: ChannelKind[] = ['direct', 'online', 'postal'];
  const channels = [...p.channels].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  const groups = new Map<string, { labels: string[]; time: string | null; fee: string | null }>();
  for (const ch of channels) {
    const time = formatTime(ch.time);
    const fee = formatFee(ch.fee);
    const key = `${time ?? ''}|${fee ?? ''}`;
    const g = groups.get(key) ?? { labels: [], time, fee };
    const label = labelOf(ch);
    if (!g.labels.includes(label)) g.labels.push(label);
    groups.set(key, g);
  }
  const lines = [...groups.values()].map((g) => {
    const time = g.time ?? 'thời hạn chưa được công bố';
    const fee = g.fee === null ? 'lệ phí chưa được công bố' : `lệ phí: ${g.fee}`;
    return `${g.labels.join(', ')}: ${time}; ${fee}`.normalize('NFC');
  });
  const kinds = [...new Set(channels.map(labelOf))];
  return { kinds, lines, uniform: groups.size <= 1 };
}

function labelOf(ch: SubmissionChannel): string {
  return KIND_WORDS[ch.kind];
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(n).replace('.', ',');
}

/** 8000 → "8.000" (Vietnamese thousands separator). */
export function formatVndAmount(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, '.');
}
