// The catalogue's shape: what `procedures/` holds and what the bot answers from.
// Every catalogue file is parsed with these schemas on load and on import, so a malformed
// file fails with the file and field named instead of reaching a citizen.
import { z } from 'zod';

/** Units a time limit may carry. `unknown` means the source gave a number we could not place. */
export const TimeUnit = z.enum([
  'working_day', // ngày làm việc
  'day', // ngày (calendar)
  'working_hour', // giờ làm việc
  'hour', // giờ
  'minute', // phút
  'month', // tháng
  'year', // năm
  'unknown',
]);
export type TimeUnit = z.infer<typeof TimeUnit>;

/**
 * A time limit. `value` with `unit` = 'unknown' must never be shown to a citizen as is:
 * renderers show `text` only when it carries its unit, otherwise say the limit is not stated.
 */
export const TimeLimit = z.object({
  value: z.number().nonnegative().nullable(),
  unit: TimeUnit,
  /** Vietnamese text as it should be shown, always with its unit; null when unknown. */
  text: z.string().nullable(),
  /** Where the unit came from: the channel table, the steps text, a curator, or nowhere. */
  unitFrom: z.enum(['table', 'steps', 'curated', 'none']),
  /** The raw cell, kept for review. */
  raw: z.string().optional(),
});
export type TimeLimit = z.infer<typeof TimeLimit>;

export const Fee = z.object({
  /** true when the source states the fee (an amount, "Miễn phí", or "theo HĐND tỉnh"). */
  stated: z.boolean(),
  free: z.boolean(),
  /** Set by the provincial People's Council: the amount is a per-province setting. */
  setByProvince: z.boolean(),
  /** Amount in VND when the source gives one number. */
  amountVnd: z.number().nonnegative().nullable(),
  /** Vietnamese text as stated by the source (null when not stated). */
  text: z.string().nullable(),
});
export type Fee = z.infer<typeof Fee>;

export const ChannelKind = z.enum(['direct', 'online', 'postal']);
export type ChannelKind = z.infer<typeof ChannelKind>;

export const SubmissionChannel = z.object({
  kind: ChannelKind,
  /** As the portal names it: "Trực tiếp", "Trực tuyến", "Dịch vụ bưu chính". */
  label: z.string().min(1),
  time: TimeLimit,
  fee: Fee,
  description: z.string(),
});
export type SubmissionChannel = z.infer<typeof SubmissionChannel>;

export const DocumentItem = z.object({
  name: z.string().min(1),
  /** submit: handed in; show: presented for checking and given back. */
  kind: z.enum(['submit', 'show']),
  /** e.g. "1 bản chính", "Bản chính: 1 - Bản sao: 0". */
  quantity: z.string().nullable(),
  /** The form (mẫu đơn, tờ khai) file or name, when the portal lists one. */
  form: z.string().nullable(),
  /** Case heading the document belongs to, when the table is split by case. */
  group: z.string().nullable(),
});
export type DocumentItem = z.infer<typeof DocumentItem>;

export const LegalBasis = z.object({
  title: z.string().min(1),
  number: z.string().nullable(),
});
export type LegalBasis = z.infer<typeof LegalBasis>;

export const Level = z.enum(['Cấp bộ', 'Cấp tỉnh', 'Cấp xã']);
export type Level = z.infer<typeof Level>;

export const Agencies = z.object({
  competent: z.string().nullable(), // co_quan_co_tham_quyen
  executing: z.string().nullable(), // co_quan_thuc_hien
  authorized: z.string().nullable(), // co_quan_duoc_uy_quyen
  coordinating: z.string().nullable(), // co_quan_phoi_hop
  receivingAddress: z.string().nullable(), // dia_chi_tiep_nhan
});
export type Agencies = z.infer<typeof Agencies>;

/** One procedure as imported from the national portal. */
export const Procedure = z.object({
  code: z.string().regex(/^\d+\.\d+$/, 'mã thủ tục phải có dạng 1.001193'),
  name: z.string().min(1),
  decision: z.string().nullable(),
  levels: z.array(Level),
  type: z.string().nullable(),
  field: z.string().min(1),
  agencies: Agencies,
  targets: z.array(z.string()),
  steps: z.array(z.string()),
  channels: z.array(SubmissionChannel),
  documents: z.array(DocumentItem),
  legalBasis: z.array(LegalBasis),
  conditions: z.string().nullable(),
  result: z.string().nullable(),
  related: z.string().nullable(),
  sourceUrl: z.string().url().nullable(),
  ministry: z.string().nullable(),
  /** Really handled by a commune People's Committee or commune police. */
  communeCore: z.boolean(),
  /** Where the record came from. */
  origin: z.enum(['portal', 'curated']),
  /** full: the whole portal record; list: only what a "Danh sách TTHC" workbook gives. */
  detail: z.enum(['full', 'list']),
});
export type Procedure = z.infer<typeof Procedure>;

/**
 * The curated layer: a file per procedure (or per field) under procedures/curated/, keyed by
 * code. It adds what the portal lacks (plain summary, colloquial names) and may override
 * time limits and fees after checking them against the record's own steps text.
 * `record` supplies a whole procedure the crawl lacks (e.g. Bộ Nội vụ social allowances).
 */
export const CuratedEntry = z.object({
  code: z.string().regex(/^\d+\.\d+$/),
  /** Plain-Vietnamese summary shown first to a citizen (one or two sentences). */
  summary: z.string().min(1),
  /** Colloquial names and phrasings people use, with diacritics. */
  aliases: z.array(z.string().min(1)).default([]),
  /** Channels with checked times and fees; replaces the imported ones when given. */
  channels: z.array(SubmissionChannel).optional(),
  /** A note for officers on what was checked and against what. */
  checked: z.string().optional(),
  /** Whole record for procedures missing from the crawl. */
  record: Procedure.optional(),
});
export type CuratedEntry = z.infer<typeof CuratedEntry>;

export const CuratedFile = z.object({
  procedures: z.array(CuratedEntry),
});
export type CuratedFile = z.infer<typeof CuratedFile>;

/** A procedure as the bot sees it: the imported record with its curated layer merged. */
export type CatalogueProcedure = Procedure & {
  summary: string | null;
  aliases: string[];
  curated: boolean;
};
