// The satisfaction survey pages (issue #6):
//   GET /admin/units/:unitId/surveys                 the unit's figures for a period and filters:
//                                                    satisfaction rate, every level, responses,
//                                                    trend by month, SIPAS elements and criteria,
//                                                    TT 01/2018 index scores (Điều 15) and band
//   GET /admin/units/:unitId/surveys/comments        the comments behind those figures, paged
//   GET /admin/units/:unitId/surveys/raw.csv         exports, streamed (src/surveys/export.ts):
//       …/summary.csv, …/report.xlsx                 answers, the per-unit table, the workbook
//   GET /admin/units/:unitId/surveys/qr              the QR codes for the desk: the periodic
//   GET /admin/units/:unitId/surveys/poster          survey, or the dossier evaluation (a
//                                                    procedure, a dossier code) → an A4 poster
//   GET /admin/surveys (+ /comments, exports)        province-wide: every unit side by side
// Filters (query string): period (2026-09, 2026-Q3, 2026-H1, 2026, or custom with from/to, in
// Vietnam time), survey (a family, or all), procedure, field, channel. Charts are inline SVG
// with a title, a description and the same figures in a table. Server-rendered, escaped, no
// script. Who may see what: src/admin/survey-access.ts.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { authOf, html, raw, sendAuthError, type Auth, type AuthContext, type Html } from './auth/index.js';
import { layout } from './admin-layout.js';
import { formatVietnamTime, routeParam } from './handoffs-router.js';
import { messengerLink, widgetLink, zaloLink } from './catalogue-router.js';
import { POSTER_CSS, qrSvg, QR_MAX_TEXT } from './qr.js';
import { canExportSurveys, canViewSurveys } from './survey-access.js';
import { barChart, columnChart, type Bar, type Tone } from './svg-charts.js';
import type { AuditInput } from '../store/audit-repository.js';
import type { Queryable, SqlParam } from '../store/database.js';
import type { AccountRepository } from '../store/account-repository.js';
import type { Unit } from '../units/unit.js';
import { LEVEL_LABELS, SATISFACTION_LEVELS, familyOf, type SatisfactionLevel, type SurveyDefinition } from '../surveys/definition.js';
import type { SurveyRegistry } from '../surveys/definition-loader.js';
import { CHANNEL_LABELS, writeRawCsv, writeReportXlsx, writeSummaryCsv } from '../surveys/export.js';
import { parsePeriod, PeriodError, quarterOf, vietnamDate, vietnamParts, type Period } from '../surveys/period.js';
import { buildSurveyReport, percent, responseWhere, type ReportFilter, type SurveyReport } from '../surveys/report.js';
import { UNIT_BAND_LABELS } from '../surveys/scoring.js';
import { SurveyChannel } from '../surveys/survey-repository.js';
import { MAX_SURVEY_PAYLOAD, surveyStartPayload } from '../surveys/chat-payload.js';

export interface SurveysRouterDeps {
  auth: Auth;
  db: Queryable;
  registry: SurveyRegistry;
  units: { get(id: string): Promise<Unit | undefined>; list(): Promise<Unit[]> };
  accounts: Pick<AccountRepository, 'listByUnit'>;
  /** Where citizens reach this deployment (the widget page is `<publicBaseUrl>/`). */
  publicBaseUrl: string;
  audit: { record(entry: AuditInput): Promise<void> };
  /** The name of a procedure in the unit's catalogue (services.procedureName); undefined = not in it. */
  procedureName?: (unitId: string, code: string) => string | undefined;
  /** The clock (tests pin it). */
  now?: () => Date;
}

// --- filters (shared with the API) --------------------------------------------------------------

/** The query's filters, checked; `family` null = every survey. */
export interface SurveyFilter {
  period: Period;
  family: string | null;
  procedureCode: string | null;
  field: string | null;
  channel: SurveyChannel | null;
}

export type SurveyFilterResult = { ok: true; filter: SurveyFilter } | { ok: false; errors: Record<string, string> };

/** The value `survey` takes for every survey family. */
export const ALL_SURVEYS = 'all';
const PROCEDURE = /^[0-9A-Za-z._-]{1,50}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const PERIOD_HELP = 'Kỳ báo cáo không hợp lệ (ví dụ 2026-09, 2026-Q3, 2026-H1, 2026, hoặc một khoảng ngày).';

/** A single string parameter ('' when absent or repeated). */
function one(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** The survey families (latest title of each), in the order of the definitions. */
export function surveyFamilies(registry: SurveyRegistry): Array<{ id: string; title: string; kind: SurveyDefinition['kind'] }> {
  const out: Array<{ id: string; title: string; kind: SurveyDefinition['kind'] }> = [];
  for (const d of registry.all()) {
    const id = familyOf(d);
    if (out.some((f) => f.id === id)) continue;
    const latest = registry.family(id)[0] ?? d;
    out.push({ id, title: latest.title, kind: latest.kind });
  }
  return out;
}

/** The latest periodic surveys, worded as the unit words them (what an announcement may invite to). */
export function periodicSurveys(registry: SurveyRegistry, unitId: string): Array<{ id: string; title: string }> {
  return surveyFamilies(registry)
    .filter((f) => f.kind === 'periodic')
    .flatMap((f) => registry.family(f.id))
    .map((d) => ({ id: d.id, title: registry.forUnit(d, unitId).title }));
}

/** The family shown when none is asked: the per-dossier evaluation (as the report command). */
function defaultFamily(registry: SurveyRegistry): string | null {
  const families = surveyFamilies(registry);
  return (families.find((f) => f.id === 'dossier-evaluation') ?? families[0])?.id ?? null;
}

/** Reads the filters of a query string; the period defaults to the current quarter (Vietnam time). */
export function readSurveyFilter(query: Record<string, unknown>, registry: SurveyRegistry, now: Date): SurveyFilterResult {
  const errors: Record<string, string> = {};
  let period: Period | undefined;
  const code = one(query.period).trim();
  const from = one(query.from).trim();
  const to = one(query.to).trim();
  try {
    if (code === 'custom' || (code === '' && (from !== '' || to !== ''))) {
      if (!DAY.test(from) || !DAY.test(to)) errors.period = 'Chọn cả ngày bắt đầu và ngày kết thúc của khoảng ngày.';
      else period = parsePeriod(`${from}..${to}`);
    } else {
      period = parsePeriod(code === '' ? quarterOf(now) : code);
    }
  } catch (err) {
    if (!(err instanceof PeriodError)) throw err;
    errors.period = code === 'custom' || code === '' ? 'Khoảng ngày không hợp lệ: ngày kết thúc phải từ ngày bắt đầu trở đi.' : PERIOD_HELP;
  }
  const survey = one(query.survey).trim();
  let family: string | null = null;
  if (survey === ALL_SURVEYS) family = null;
  else if (survey === '') family = defaultFamily(registry);
  else if (surveyFamilies(registry).some((f) => f.id === survey)) family = survey;
  else errors.survey = 'Không có phiếu khảo sát này.';
  const procedure = one(query.procedure).trim();
  if (procedure !== '' && !PROCEDURE.test(procedure)) errors.procedure = 'Mã thủ tục không hợp lệ (ví dụ 1.001193).';
  const field = one(query.field).normalize('NFC').replace(/\s+/gu, ' ').trim();
  if (field.length > 200 || /[\p{Cc}\p{Cf}]/u.test(field)) errors.field = 'Lĩnh vực không hợp lệ.';
  const channelText = one(query.channel).trim();
  const channel = channelText === '' ? null : SurveyChannel.safeParse(channelText);
  if (channel && !channel.success) errors.channel = 'Kênh không hợp lệ.';
  if (Object.keys(errors).length > 0 || !period) return { ok: false, errors };
  return {
    ok: true,
    filter: { period, family, procedureCode: procedure || null, field: field || null, channel: channel?.success ? channel.data : null },
  };
}

/** The query string that shows the same figures (links to comments, exports, units). */
export function filterParams(f: SurveyFilter): URLSearchParams {
  const p = new URLSearchParams({ period: f.period.code, survey: f.family ?? ALL_SURVEYS });
  if (f.procedureCode) p.set('procedure', f.procedureCode);
  if (f.field) p.set('field', f.field);
  if (f.channel) p.set('channel', f.channel);
  return p;
}

export function reportFilter(f: SurveyFilter, unitIds: readonly string[] | null): ReportFilter {
  return { period: f.period, family: f.family, unitIds, procedureCode: f.procedureCode, field: f.field, channel: f.channel };
}

// --- exports (shared with the API) --------------------------------------------------------------

export const SURVEY_EXPORTS = ['raw.csv', 'summary.csv', 'report.xlsx'] as const;
export type SurveyExport = (typeof SURVEY_EXPORTS)[number];
const EXPORT_SUFFIX: Record<SurveyExport, string> = { 'raw.csv': 'chi-tiet.csv', 'summary.csv': 'tong-hop.csv', 'report.xlsx': 'bao-cao.xlsx' };
const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export interface SurveyExportRequest {
  db: Queryable;
  registry: SurveyRegistry;
  filter: ReportFilter;
  /** The unit id, or null for the province (in the file name). */
  unitId: string | null;
  actor: number;
  via: 'admin' | 'api';
  audit: { record(entry: AuditInput): Promise<void> };
  now: Date;
}

/** Audits the export, then streams the file as it is written (the writers wait for the client). */
export async function sendSurveyExport(res: Response, kind: SurveyExport, r: SurveyExportRequest): Promise<void> {
  await r.audit.record({
    actor: r.actor,
    action: 'export.survey_report',
    unitId: r.unitId,
    detail: { via: r.via, format: kind, period: r.filter.period.code, survey: r.filter.family ?? ALL_SURVEYS },
  });
  const name = `khao-sat-${(r.unitId ?? 'toan-tinh').replace(/[^a-z0-9-]/gi, '')}-${r.filter.period.code.replace(/[^0-9A-Za-z-]/g, '_')}-${EXPORT_SUFFIX[kind]}`;
  res.status(200);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', kind === 'report.xlsx' ? XLSX_TYPE : 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
  const opts = { filter: r.filter, registry: r.registry, now: r.now };
  try {
    if (kind === 'raw.csv') await writeRawCsv(r.db, res, opts);
    else if (kind === 'summary.csv') await writeSummaryCsv(r.db, res, opts);
    else await writeReportXlsx(r.db, res, opts);
  } catch (err) {
    // Headers are gone already: cut the download short rather than send a truncated file as whole.
    res.destroy(err instanceof Error ? err : new Error('survey export failed'));
  }
}

// --- formatting ---------------------------------------------------------------------------------

const ADMIN_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const nf = new Intl.NumberFormat('vi-VN');
const pf = new Intl.NumberFormat('vi-VN', { maximumFractionDigits: 2 });
const df = new Intl.NumberFormat('vi-VN', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const n = (v: number): string => nf.format(v);
/** A rate as "62,5%" ("—" without valid responses). */
export const pct = (rate: number | null): string => (rate === null ? '—' : `${pf.format(percent(rate) ?? 0)}%`);
const score = (v: number): string => df.format(v);
const LEVEL_TONE: Record<SatisfactionLevel, Tone> = { very_satisfied: 'good', satisfied: 'good', neutral: 'neutral', dissatisfied: 'bad', very_dissatisfied: 'bad' };
const COMMENTS_PAGE = 50;

const STYLE = raw(`<style>
.filters{display:flex;flex-wrap:wrap;gap:.6rem 1rem;align-items:flex-end;background:#fff;padding:.8rem;border-radius:8px;box-shadow:0 1px 3px #0002}
.filters label{display:flex;flex-direction:column;font-size:.9rem;gap:.2rem}.filters .hint{flex-basis:100%;margin:0;color:#555;font-size:.85rem}
.chart{max-width:100%;height:auto;background:#fff;border-radius:8px}figure{margin:.6rem 0}figcaption{font-size:.9rem;color:#555}
.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#555}.err{color:#a4161a;font-weight:600}
.exports a{margin-right:1rem}table{margin:.4rem 0 1rem}.comment{white-space:pre-wrap;overflow-wrap:anywhere}
.pager{display:flex;gap:1rem}section{margin-top:1.4rem}.cards .card{min-width:10rem;flex:1 1 0}
</style>`);

function pageHeaders(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', ADMIN_CSP);
  res.setHeader('X-Frame-Options', 'DENY');
  res.type('html');
}

const unitBase = (unitId: string): string => `/admin/units/${encodeURIComponent(unitId)}/surveys`;
const PROVINCE_BASE = '/admin/surveys';

/** The report periods offered in the form, newest first, with the shown one always among them. */
function periodGroups(now: Date, current: Period): Array<{ label: string; options: Array<{ code: string; label: string }> }> {
  const { year, month } = vietnamParts(now);
  const months: string[] = [];
  for (let i = 0; i < 12; i++) {
    const m = ((month - 1 - i) % 12 + 12) % 12;
    const y = year + Math.floor((month - 1 - i) / 12);
    months.push(`${y}-${String(m + 1).padStart(2, '0')}`);
  }
  const q = Math.floor((month - 1) / 3);
  const quarters = Array.from({ length: 8 }, (_, i) => {
    const k = q - i;
    return `${year + Math.floor(k / 4)}-Q${((k % 4) + 4) % 4 + 1}`;
  });
  const h = month <= 6 ? 0 : 1;
  const halves = Array.from({ length: 4 }, (_, i) => {
    const k = h - i;
    return `${year + Math.floor(k / 2)}-H${((k % 2) + 2) % 2 + 1}`;
  });
  const years = [year, year - 1, year - 2].map(String);
  const groups = [
    { kind: 'month', label: 'Tháng', codes: months },
    { kind: 'quarter', label: 'Quý', codes: quarters },
    { kind: 'half', label: '6 tháng', codes: halves },
    { kind: 'year', label: 'Năm', codes: years },
  ];
  return groups.map((g) => {
    const codes = g.kind === current.kind && !g.codes.includes(current.code) ? [current.code, ...g.codes] : g.codes;
    return { label: g.label, options: codes.map((code) => ({ code, label: parsePeriod(code).label })) };
  });
}

/** Responses read for the filter suggestions: the latest ones are enough to suggest from. */
const SUGGESTION_SAMPLE = 5000;

/**
 * The procedures and fields of the period's latest responses (suggestions for the filter
 * fields): bounded work whatever the size of the province.
 */
async function filterChoices(db: Queryable, f: SurveyFilter, unitIds: readonly string[] | null): Promise<{ procedures: string[]; fields: string[] }> {
  const where = responseWhere({ period: f.period, family: f.family, unitIds });
  const [row] = await db.query<{ procedures: string[] | null; fields: string[] | null }>(
    `SELECT array_agg(DISTINCT s.procedure_code) FILTER (WHERE s.procedure_code IS NOT NULL) AS procedures,
       array_agg(DISTINCT s.field) FILTER (WHERE s.field IS NOT NULL) AS fields
     FROM (SELECT r.procedure_code, r.field FROM survey_responses r WHERE ${where.sql}
           ORDER BY r.completed_at DESC LIMIT ${SUGGESTION_SAMPLE}) s`,
    where.params,
  );
  return { procedures: (row?.procedures ?? []).slice(0, 200), fields: (row?.fields ?? []).slice(0, 200) };
}

interface FormState {
  period: string;
  from: string;
  to: string;
  survey: string;
  procedure: string;
  field: string;
  channel: string;
}

function formState(query: Record<string, unknown>, f: SurveyFilter | null): FormState {
  if (f) {
    const custom = f.period.kind === 'custom';
    const [a = '', b = ''] = custom ? f.period.code.split('..') : [];
    return { period: custom ? 'custom' : f.period.code, from: a, to: b, survey: f.family ?? ALL_SURVEYS, procedure: f.procedureCode ?? '', field: f.field ?? '', channel: f.channel ?? '' };
  }
  return {
    period: one(query.period),
    from: one(query.from),
    to: one(query.to),
    survey: one(query.survey),
    procedure: one(query.procedure),
    field: one(query.field),
    channel: one(query.channel),
  };
}

function filterForm(
  action: string,
  registry: SurveyRegistry,
  now: Date,
  s: FormState,
  shown: Period,
  errors: Record<string, string>,
  choices: { procedures: string[]; fields: string[] },
  procedureLabel: (code: string) => string,
): Html {
  const err = (k: string): Html | string => (errors[k] ? html`<span class="err" role="alert">${errors[k]}</span>` : '');
  const sel = (on: boolean): Html | string => (on ? raw(' selected') : '');
  return html`<form class="filters" method="get" action="${action}" aria-label="Lọc số liệu">
<label>Kỳ báo cáo${err('period')}<select name="period">${periodGroups(now, shown).map(
    (g) => html`<optgroup label="${g.label}">${g.options.map((o) => html`<option value="${o.code}"${sel(o.code === s.period)}>${o.label}</option>`)}</optgroup>`,
  )}<option value="custom"${sel(s.period === 'custom')}>Khoảng ngày tùy chọn…</option></select></label>
<label>Từ ngày<input type="date" name="from" value="${s.from}"></label>
<label>Đến ngày<input type="date" name="to" value="${s.to}"></label>
<label>Phiếu khảo sát${err('survey')}<select name="survey">${surveyFamilies(registry).map(
    (f) => html`<option value="${f.id}"${sel(f.id === s.survey)}>${f.title}</option>`,
  )}<option value="${ALL_SURVEYS}"${sel(s.survey === ALL_SURVEYS)}>Tất cả các phiếu</option></select></label>
<label>Mã thủ tục${err('procedure')}<input type="text" name="procedure" value="${s.procedure}" list="ds-thu-tuc" size="12" maxlength="50" placeholder="1.001193"></label>
<datalist id="ds-thu-tuc">${choices.procedures.map((c) => html`<option value="${c}">${procedureLabel(c)}</option>`)}</datalist>
<label>Lĩnh vực${err('field')}<input type="text" name="field" value="${s.field}" list="ds-linh-vuc" size="18" maxlength="200"></label>
<datalist id="ds-linh-vuc">${choices.fields.map((c) => html`<option value="${c}"></option>`)}</datalist>
<label>Kênh${err('channel')}<select name="channel"><option value="">Tất cả các kênh</option>${SurveyChannel.options.map(
    (c) => html`<option value="${c}"${sel(c === s.channel)}>${CHANNEL_LABELS[c] ?? c}</option>`,
  )}</select></label>
<button type="submit">Xem số liệu</button>
<p class="hint">Giờ Việt Nam. “Từ ngày – Đến ngày” dùng khi chọn “Khoảng ngày tùy chọn”. Tỷ lệ hài lòng = (Rất hài lòng + Hài lòng) / số phiếu hợp lệ; Bình thường, Không hài lòng và Rất không hài lòng là chưa hài lòng.</p>
</form>`;
}

/** Index number → the exact name of Điều 13, from the definitions of the family (or all). */
function indexNames(registry: SurveyRegistry, family: string | null): Map<number, string> {
  const names = new Map<number, string>();
  for (const d of registry.all()) {
    if (family !== null && familyOf(d) !== family) continue;
    for (const q of d.questions) if (q.type === 'index' && !names.has(q.index)) names.set(q.index, q.legalName);
  }
  return names;
}

interface ReportView {
  report: SurveyReport;
  filter: SurveyFilter;
  /** The page the figures are on (its comments and exports live under it). */
  base: string;
  query: string;
  province: boolean;
  canExport: boolean;
  comments: number;
  registry: SurveyRegistry;
}

function summaryCards(v: ReportView): Html {
  const t = v.report.total;
  return html`<div class="cards" data-testid="survey-cards">
<div class="card"><h2>Số phiếu</h2><p class="big" data-figure="responses">${n(t.responses)}</p><p class="muted">phiếu đã hoàn thành trong kỳ</p></div>
<div class="card"><h2>Số phiếu hợp lệ</h2><p class="big" data-figure="valid">${n(t.valid)}</p><p class="muted">có trả lời câu đánh giá tổng thể</p></div>
<div class="card"><h2>Tỷ lệ hài lòng</h2><p class="big" data-figure="rate">${pct(t.rate)}</p><p class="muted">${n(t.satisfied)} phiếu Rất hài lòng hoặc Hài lòng</p></div>
<div class="card"><h2>Ý kiến góp ý</h2><p class="big" data-figure="comments">${n(v.comments)}</p><p><a href="${v.base}/comments?${v.query}">Xem các ý kiến</a></p></div>
</div>`;
}

function distributionSection(v: ReportView): Html {
  const t = v.report.total;
  const share = (k: number): string => (t.valid > 0 ? pct(k / t.valid) : '—');
  const max = Math.max(1, ...SATISFACTION_LEVELS.map((l) => t.levels[l]));
  const bars: Bar[] = SATISFACTION_LEVELS.map((l) => ({ label: LEVEL_LABELS[l], value: t.levels[l], text: `${n(t.levels[l])} (${share(t.levels[l])})`, tone: LEVEL_TONE[l] }));
  const desc = `${n(t.valid)} phiếu hợp lệ: ${SATISFACTION_LEVELS.map((l) => `${LEVEL_LABELS[l]} ${n(t.levels[l])}`).join(', ')}. Tỷ lệ hài lòng ${pct(t.rate)}.`;
  const commentsOf = (level: SatisfactionLevel) => `${v.base}/comments?${v.query}&level=${level}`;
  return html`<section aria-labelledby="h-phan-bo"><h2 id="h-phan-bo">Phân bố theo mức đánh giá tổng thể</h2>
<figure>${barChart({ id: 'bd-phan-bo', title: 'Phân bố theo mức đánh giá', desc }, bars, max)}<figcaption>Số phiếu theo mức đánh giá “Đánh giá tổng thể dịch vụ” (phiếu 3 mức và 5 mức cộng chung).</figcaption></figure>
<table data-testid="distribution"><thead><tr><th>Mức đánh giá</th><th class="num">Số phiếu</th><th class="num">Tỷ lệ trên phiếu hợp lệ</th><th>Ý kiến</th></tr></thead><tbody>
${SATISFACTION_LEVELS.map(
  (l) => html`<tr><td>${LEVEL_LABELS[l]}</td><td class="num">${n(t.levels[l])}</td><td class="num">${share(t.levels[l])}</td><td>${t.levels[l] > 0 ? html`<a href="${commentsOf(l)}">Xem</a>` : ''}</td></tr>`,
)}
<tr><th>Hài lòng (Rất hài lòng + Hài lòng)</th><th class="num">${n(t.satisfied)}</th><th class="num">${pct(t.rate)}</th><td></td></tr>
<tr><th>Chưa hài lòng</th><th class="num">${n(t.notSatisfied)}</th><th class="num">${share(t.notSatisfied)}</th><td></td></tr>
<tr><th>Số phiếu hợp lệ</th><th class="num">${n(t.valid)}</th><th class="num">${t.valid > 0 ? '100%' : '—'}</th><td></td></tr>
<tr><td>Phiếu không trả lời câu đánh giá tổng thể</td><td class="num">${n(t.responses - t.valid)}</td><td></td><td></td></tr>
</tbody></table></section>`;
}

function trendSection(v: ReportView): Html {
  const trend = v.report.trend;
  const short = (label: string) => label.replace('Tháng ', 'T');
  const desc = trend.map((m) => `${m.label}: ${m.rate === null ? 'chưa có phiếu hợp lệ' : pct(m.rate)} (${n(m.responses)} phiếu)`).join('; ');
  return html`<section aria-labelledby="h-dien-bien"><h2 id="h-dien-bien">Diễn biến theo tháng</h2>
<figure>${columnChart(
    { id: 'bd-dien-bien', title: 'Tỷ lệ hài lòng theo tháng', desc: `${desc}.` },
    trend.map((m) => ({ label: short(m.label), value: m.rate === null ? null : (percent(m.rate) ?? 0), text: pct(m.rate), sub: `${n(m.responses)} phiếu` })),
    100,
    '%',
  )}<figcaption>Tỷ lệ hài lòng của từng tháng (giờ Việt Nam); “—” là tháng chưa có phiếu hợp lệ.</figcaption></figure>
<table data-testid="trend"><thead><tr><th>Tháng</th><th class="num">Số phiếu</th><th class="num">Số phiếu hợp lệ</th><th class="num">Hài lòng</th><th class="num">Tỷ lệ hài lòng</th></tr></thead><tbody>
${trend.map((m) => html`<tr><td>${m.label}</td><td class="num">${n(m.responses)}</td><td class="num">${n(m.valid)}</td><td class="num">${n(m.satisfied)}</td><td class="num">${pct(m.rate)}</td></tr>`)}
</tbody></table></section>`;
}

function elementsSection(v: ReportView): Html | string {
  const { elements, criteria } = v.report;
  if (elements.length === 0 && criteria.length === 0) return '';
  const desc = elements.map((e) => `${e.name}: ${pct(e.rate)} (${n(e.valid)} phiếu)`).join('; ');
  const elementName = (id: string | null) => elements.find((e) => e.elementId === id)?.name ?? '';
  return html`<section aria-labelledby="h-yeu-to"><h2 id="h-yeu-to">Mức độ hài lòng theo yếu tố</h2>
${
  elements.length > 0
    ? html`<figure>${barChart(
        { id: 'bd-yeu-to', title: 'Tỷ lệ hài lòng theo yếu tố', desc: `${desc}.` },
        elements.map((e) => ({ label: e.name, value: percent(e.rate) ?? 0, text: pct(e.rate), tone: 'plain' as const })),
        100,
      )}<figcaption>Tỷ lệ Rất hài lòng + Hài lòng trên số phiếu trả lời câu hỏi về yếu tố đó.</figcaption></figure>
<table data-testid="elements"><thead><tr><th>Yếu tố</th><th class="num">Số phiếu hợp lệ</th>${SATISFACTION_LEVELS.map((l) => html`<th class="num">${LEVEL_LABELS[l]}</th>`)}<th class="num">Tỷ lệ hài lòng</th></tr></thead><tbody>
${elements.map((e) => html`<tr><td>${e.name}</td><td class="num">${n(e.valid)}</td>${SATISFACTION_LEVELS.map((l) => html`<td class="num">${n(e.levels[l])}</td>`)}<td class="num">${pct(e.rate)}</td></tr>`)}
</tbody></table>`
    : ''
}
${
  criteria.length > 0
    ? html`<h3>Theo tiêu chí</h3><table data-testid="criteria"><thead><tr><th>Tiêu chí</th><th>Yếu tố</th><th class="num">Số trả lời</th><th class="num">Đánh giá tích cực</th><th class="num">Tỷ lệ</th></tr></thead><tbody>
${criteria.map((c) => html`<tr><td>${c.text}</td><td>${elementName(c.elementId)}</td><td class="num">${n(c.answered)}</td><td class="num">${n(c.positive)}</td><td class="num">${pct(c.rate)}</td></tr>`)}
</tbody></table>`
    : ''
}</section>`;
}

function indicesSection(v: ReportView): Html | string {
  const rows = v.report.indices.filter((u) => u.indices.length > 0 || !v.province);
  if (!v.report.indices.some((u) => u.indices.length > 0)) return '';
  const names = indexNames(v.registry, v.filter.family);
  const shown = [...new Set([...names.keys(), ...v.report.indices.flatMap((u) => u.indices.map((s) => s.index))])].sort((a, b) => a - b);
  const band = (u: SurveyReport['indices'][number]): Html | string => {
    if (u.indices.length === 0) return '—';
    if (u.classification.band) return html`<strong>${UNIT_BAND_LABELS[u.classification.band]}</strong>`;
    return html`Chưa xếp loại: thiếu chỉ số ${u.classification.missing.join(', ')}`;
  };
  return html`<section aria-labelledby="h-chi-so"><h2 id="h-chi-so">Điểm các chỉ số đánh giá việc giải quyết thủ tục hành chính</h2>
<p class="muted">Thông tư 01/2018/TT-VPCP, Điều 15: điểm mỗi chỉ số = tổng điểm của các hồ sơ ÷ số hồ sơ được đánh giá, làm tròn một chữ số thập phân (mỗi hồ sơ tính một lần: lần đánh giá sau cùng); tổng điểm = tổng các chỉ số có dữ liệu.</p>
<table data-testid="indices"><thead><tr>${v.province ? html`<th>Đơn vị</th>` : ''}<th class="num">Số hồ sơ được đánh giá</th>${shown.map(
    (i) => html`<th class="num"><abbr title="${names.get(i) ?? ''}">Chỉ số ${i}</abbr></th>`,
  )}<th class="num">Tổng điểm</th><th>Xếp loại</th></tr></thead><tbody>
${rows.map(
  (u) => html`<tr>${v.province ? html`<td>${u.unitName}</td>` : ''}<td class="num">${n(u.dossiers)}</td>${shown.map((i) => {
    const s = u.indices.find((x) => x.index === i);
    return html`<td class="num">${s ? score(s.score) : '—'}</td>`;
  })}<td class="num">${u.indices.length > 0 ? html`${score(u.total)} / ${u.maxTotal}` : '—'}</td><td>${band(u)}</td></tr>`,
)}
</tbody></table>
<ul class="muted">${shown.map((i) => html`<li>Chỉ số ${i}: ${names.get(i) ?? ''}</li>`)}</ul>
<p class="muted">Xếp loại đơn vị theo tổng 9 chỉ số (tối đa 18 điểm): Xuất sắc từ 15 điểm; Tốt từ 12 đến dưới 15; Khá từ 9 đến dưới 12; Trung bình từ 6 đến dưới 9; Yếu dưới 6. Người dân đánh giá các chỉ số 1, 3, 4 và 7; các chỉ số 2, 5, 6, 8, 9 lấy từ Hệ thống thông tin một cửa điện tử, kiểm tra, báo cáo (Điều 14), nên chỉ xếp loại khi đã có đủ.</p>
</section>`;
}

function unitsSection(v: ReportView): Html {
  const units = v.report.units;
  const withRate = units.filter((u) => u.valid > 0);
  const desc = `${n(units.length)} đơn vị, ${n(withRate.length)} đơn vị có phiếu hợp lệ. ${withRate.map((u) => `${u.unitName} ${pct(u.rate)}`).join('; ')}`;
  const t = v.report.total;
  return html`<section aria-labelledby="h-don-vi"><h2 id="h-don-vi">Các đơn vị</h2>
${
  withRate.length > 0
    ? html`<figure>${barChart(
        { id: 'bd-don-vi', title: 'Tỷ lệ hài lòng theo đơn vị', desc },
        withRate.map((u) => ({ label: u.unitName, value: percent(u.rate) ?? 0, text: pct(u.rate), tone: 'plain' as const })),
        100,
      )}<figcaption>Đơn vị chưa có phiếu hợp lệ không có trong biểu đồ (xem bảng).</figcaption></figure>`
    : ''
}
<table data-testid="units"><thead><tr><th>STT</th><th>Đơn vị</th><th class="num">Số phiếu</th><th class="num">Số phiếu hợp lệ</th><th class="num">Rất hài lòng</th><th class="num">Hài lòng</th><th class="num">Chưa hài lòng</th><th class="num">Tỷ lệ hài lòng</th></tr></thead><tbody>
${units.map(
  (u, i) =>
    html`<tr data-unit="${u.unitId}"><td>${i + 1}</td><td><a href="${unitBase(u.unitId)}?${v.query}">${u.unitName}</a></td><td class="num">${n(u.responses)}</td><td class="num">${n(u.valid)}</td><td class="num">${n(u.levels.very_satisfied)}</td><td class="num">${n(u.levels.satisfied)}</td><td class="num">${n(u.notSatisfied)}</td><td class="num">${pct(u.rate)}</td></tr>`,
)}
<tr><th></th><th>Tổng cộng</th><th class="num">${n(t.responses)}</th><th class="num">${n(t.valid)}</th><th class="num">${n(t.levels.very_satisfied)}</th><th class="num">${n(t.levels.satisfied)}</th><th class="num">${n(t.notSatisfied)}</th><th class="num">${pct(t.rate)}</th></tr>
</tbody></table></section>`;
}

function exportsSection(v: ReportView): Html | string {
  if (!v.canExport) return '';
  return html`<section aria-labelledby="h-tai-ve"><h2 id="h-tai-ve">Tải về</h2>
<p class="exports"><a href="${v.base}/report.xlsx?${v.query}">Excel (XLSX): bảng tổng hợp và dữ liệu chi tiết</a><a href="${v.base}/summary.csv?${v.query}">CSV bảng tổng hợp</a><a href="${v.base}/raw.csv?${v.query}">CSV dữ liệu chi tiết</a></p>
<p class="muted">Tệp CSV mở được bằng Excel (UTF-8 có BOM). Tệp không chứa thông tin người trả lời.</p></section>`;
}

function reportBody(v: ReportView): Html {
  const p = v.report.period;
  return html`<h2>Kết quả ${p.label} <small class="muted">(từ ${vietnamDate(p.from)} đến ${vietnamDate(new Date(p.to.getTime() - 1))})</small></h2>
${summaryCards(v)}
${v.province ? unitsSection(v) : ''}
${distributionSection(v)}
${trendSection(v)}
${elementsSection(v)}
${indicesSection(v)}
${exportsSection(v)}`;
}

// --- comments -----------------------------------------------------------------------------------

interface CommentRow {
  id: string | number;
  unit_id: string;
  completed_at: Date;
  channel: string;
  procedure_code: string | null;
  field: string | null;
  overall_level: SatisfactionLevel | null;
  comment: string;
}

function commentsQuery(filter: ReportFilter, level: SatisfactionLevel | null): { sql: string; params: SqlParam[] } {
  const where = responseWhere(filter);
  const params: SqlParam[] = [...where.params];
  // Only a comment question's answer has a comment, and a skipped answer has none (CHECK of
  // survey_answers): this one condition is the partial index survey_answers_comments (010).
  let sql = `${where.sql} AND a.comment IS NOT NULL`;
  if (level) {
    params.push(level);
    sql += ` AND r.overall_level = $${params.length}`;
  }
  return { sql, params };
}

export async function countComments(db: Queryable, filter: ReportFilter, level: SatisfactionLevel | null = null): Promise<number> {
  const q = commentsQuery(filter, level);
  const [row] = await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM survey_responses r JOIN survey_answers a ON a.response_id = r.id WHERE ${q.sql}`, q.params);
  return Number(row?.n ?? 0);
}

async function listComments(db: Queryable, filter: ReportFilter, level: SatisfactionLevel | null, offset: number): Promise<CommentRow[]> {
  const q = commentsQuery(filter, level);
  const params = [...q.params, COMMENTS_PAGE + 1, offset];
  return db.query<CommentRow>(
    `SELECT r.id, r.unit_id, r.completed_at, r.channel, r.procedure_code, r.field, r.overall_level, a.comment
     FROM survey_responses r JOIN survey_answers a ON a.response_id = r.id
     WHERE ${q.sql} ORDER BY r.completed_at DESC, r.id DESC LIMIT $${params.length - 1} OFFSET $${params.length}`,
    params,
  );
}

// --- posters ------------------------------------------------------------------------------------

interface PosterCode {
  channel: string;
  account: string | null;
  url: string;
  instruction: string;
  say?: string;
}

/**
 * What a Zalo citizen sends (an OA link carries no payload): the words the chat flow answers to
 * (surveys/chat.yaml). "khảo sát" starts the periodic survey itself ("đánh giá" alone would ask
 * which of the two surveys is meant); "đánh giá hồ sơ <mã>" the dossier's evaluation (without a
 * code, the flow asks for it).
 */
export function zaloSurveyWords(kind: SurveyDefinition['kind'], dossierCode: string | null): string {
  return kind === 'periodic' ? 'khảo sát' : dossierCode ? `đánh giá hồ sơ ${dossierCode}` : 'đánh giá hồ sơ';
}

/** A dossier code as printed on the receipt: no spaces, upper case (as the survey repository keeps it). */
function normaliseDossierCode(raw: string): string {
  return raw.normalize('NFC').replace(/\s+/gu, '').toUpperCase();
}

const POSTER_STYLE = raw(`<style>\n${POSTER_CSS}</style>`);

// --- the router ---------------------------------------------------------------------------------

export function createSurveysRouter(deps: SurveysRouterDeps): Router {
  const router = express.Router();
  const now = deps.now ?? (() => new Date());

  /** Signed in, and allowed to see the surveys of the route's unit (or the province). */
  const viewer = (scope: 'unit' | 'province') => [
    deps.auth.requireUser(),
    (req: Request, res: Response, next: NextFunction): void => {
      const unitId = scope === 'unit' ? routeParam(req.params.unitId) : null;
      if ((scope === 'unit' && unitId === null) || !canViewSurveys(authOf(res), unitId)) return sendAuthError(res, 'FORBIDDEN', req);
      next();
    },
  ];
  const exporter = (scope: 'unit' | 'province') => [
    deps.auth.requireUser(),
    (req: Request, res: Response, next: NextFunction): void => {
      const unitId = scope === 'unit' ? routeParam(req.params.unitId) : null;
      if ((scope === 'unit' && unitId === null) || !canExportSurveys(authOf(res), unitId)) return sendAuthError(res, 'FORBIDDEN', req);
      next();
    },
  ];

  const send = (res: Response, status: number, title: string, auth: AuthContext, body: Html): void => {
    pageHeaders(res);
    res.status(status).send(layout(title, auth, html`${STYLE}${body}`));
  };
  const notFound = (res: Response, auth: AuthContext, message: string): void =>
    send(res, 404, 'Không tìm thấy', auth, html`<h1>Không tìm thấy</h1><p>${message}</p>`);

  /** The unit of the route, or a 404 page (and undefined). */
  const unitOf = async (req: Request, res: Response): Promise<Unit | undefined> => {
    const unitId = routeParam(req.params.unitId);
    const unit = unitId === null ? undefined : await deps.units.get(unitId);
    if (!unit) notFound(res, authOf(res), 'Không tìm thấy đơn vị này.');
    return unit;
  };

  const procedureLabel = (unitId: string | null) => (code: string): string => {
    const name = unitId !== null ? deps.procedureName?.(unitId, code) : undefined;
    return name ? `${code} — ${name}` : code;
  };

  async function reportPage(req: Request, res: Response, unit: Unit | null): Promise<void> {
    const auth = authOf(res);
    const at = now();
    const read = readSurveyFilter(req.query, deps.registry, at);
    const unitIds = unit ? [unit.id] : null;
    const base = unit ? unitBase(unit.id) : PROVINCE_BASE;
    const heading = unit ? html`<h1>Khảo sát sự hài lòng — ${unit.name}</h1>` : html`<h1>Khảo sát sự hài lòng — toàn tỉnh</h1>`;
    const links = html`<p>${
      unit ? html`<a href="${base}/qr">Mã QR khảo sát tại Bộ phận Một cửa</a>` : html`Các đơn vị được so sánh cạnh nhau; bấm tên đơn vị để xem chi tiết.`
    }${unit && auth.can('reports.view', null) ? html` · <a href="${PROVINCE_BASE}">Toàn tỉnh</a>` : ''}</p>`;
    const fallback = parsePeriod(quarterOf(at));
    const shown = read.ok ? read.filter.period : fallback;
    const choices = await filterChoices(deps.db, read.ok ? read.filter : { period: fallback, family: null, procedureCode: null, field: null, channel: null }, unitIds);
    const form = filterForm(base, deps.registry, at, formState(req.query, read.ok ? read.filter : null), shown, read.ok ? {} : read.errors, choices, procedureLabel(unit?.id ?? null));
    if (!read.ok) {
      send(res, 400, 'Khảo sát sự hài lòng', auth, html`${heading}${links}${form}<p class="warn" role="alert">Chưa xem được số liệu: sửa các ô báo lỗi ở trên.</p>`);
      return;
    }
    const filter = reportFilter(read.filter, unitIds);
    const [report, comments] = await Promise.all([buildSurveyReport(deps.db, filter, { registry: deps.registry }), countComments(deps.db, filter)]);
    const view: ReportView = {
      report,
      filter: read.filter,
      base,
      query: filterParams(read.filter).toString(),
      province: unit === null,
      canExport: canExportSurveys(auth, unit?.id ?? null),
      comments,
      registry: deps.registry,
    };
    send(res, 200, 'Khảo sát sự hài lòng', auth, html`${heading}${links}${form}${reportBody(view)}`);
  }

  async function commentsPage(req: Request, res: Response, unit: Unit | null): Promise<void> {
    const auth = authOf(res);
    const read = readSurveyFilter(req.query, deps.registry, now());
    const base = unit ? unitBase(unit.id) : PROVINCE_BASE;
    if (!read.ok) {
      send(res, 400, 'Ý kiến góp ý', auth, html`<h1>Ý kiến góp ý</h1>${Object.values(read.errors).map((e) => html`<p class="warn" role="alert">${e}</p>`)}<p><a href="${base}">Quay lại</a></p>`);
      return;
    }
    const levelText = one(req.query.level);
    const level = (SATISFACTION_LEVELS as readonly string[]).includes(levelText) ? (levelText as SatisfactionLevel) : null;
    const pageNo = /^\d{1,4}$/.test(one(req.query.page)) ? Math.max(1, Number(one(req.query.page))) : 1;
    const filter = reportFilter(read.filter, unit ? [unit.id] : null);
    const [total, rows, units] = await Promise.all([
      countComments(deps.db, filter, level),
      listComments(deps.db, filter, level, (pageNo - 1) * COMMENTS_PAGE),
      unit ? Promise.resolve([unit]) : deps.units.list(),
    ]);
    const names = new Map(units.map((u) => [u.id, u.name]));
    const shown = rows.slice(0, COMMENTS_PAGE);
    const qs = filterParams(read.filter);
    if (level) qs.set('level', level);
    const pageLink = (p: number) => {
      const q = new URLSearchParams(qs);
      q.set('page', String(p));
      return `${base}/comments?${q.toString()}`;
    };
    const label = procedureLabel(unit?.id ?? null);
    const familyTitle = read.filter.family ? (surveyFamilies(deps.registry).find((f) => f.id === read.filter.family)?.title ?? read.filter.family) : 'Tất cả các phiếu';
    send(
      res,
      200,
      'Ý kiến góp ý',
      auth,
      html`<h1>Ý kiến góp ý — ${unit ? unit.name : 'toàn tỉnh'}</h1>
<p>${read.filter.period.label} · ${familyTitle}${level ? html` · Đánh giá tổng thể: ${LEVEL_LABELS[level]}` : ''} · ${n(total)} ý kiến · <a href="${base}?${filterParams(read.filter).toString()}">Quay lại số liệu</a></p>
<p class="muted">Ý kiến được lưu không kèm danh tính người trả lời; các chữ số (số điện thoại, số giấy tờ) đã được che khi lưu.</p>
${
  shown.length === 0
    ? html`<p>Không có ý kiến nào.</p>`
    : html`<table data-testid="comments"><thead><tr><th>Thời điểm</th>${unit ? '' : html`<th>Đơn vị</th>`}<th>Kênh</th><th>Thủ tục</th><th>Đánh giá tổng thể</th><th>Ý kiến</th></tr></thead><tbody>
${shown.map(
  (c) =>
    html`<tr><td>${formatVietnamTime(c.completed_at)}</td>${unit ? '' : html`<td>${names.get(c.unit_id) ?? c.unit_id}</td>`}<td>${CHANNEL_LABELS[c.channel] ?? c.channel}</td><td>${
      c.procedure_code ? label(c.procedure_code) : ''
    }${c.field ? html`<br><small class="muted">${c.field}</small>` : ''}</td><td>${c.overall_level ? LEVEL_LABELS[c.overall_level] : '—'}</td><td class="comment">${c.comment}</td></tr>`,
)}
</tbody></table>`
}
<nav class="pager" aria-label="Trang">${pageNo > 1 ? html`<a href="${pageLink(pageNo - 1)}">← Trang trước</a>` : ''}${
        rows.length > COMMENTS_PAGE ? html`<a href="${pageLink(pageNo + 1)}">Trang sau →</a>` : ''
      }</nav>`,
    );
  }

  async function exportFile(req: Request, res: Response, unit: Unit | null, kind: SurveyExport): Promise<void> {
    const read = readSurveyFilter(req.query, deps.registry, now());
    if (!read.ok) {
      res.status(400).json({ error: { code: 'BAD_REQUEST', message: Object.values(read.errors)[0] ?? PERIOD_HELP } });
      return;
    }
    await sendSurveyExport(res, kind, {
      db: deps.db,
      registry: deps.registry,
      filter: reportFilter(read.filter, unit ? [unit.id] : null),
      unitId: unit?.id ?? null,
      actor: authOf(res).user.id,
      via: 'admin',
      audit: deps.audit,
      now: now(),
    });
  }

  router.get('/admin/surveys', ...viewer('province'), (req, res) => reportPage(req, res, null));
  router.get('/admin/surveys/comments', ...viewer('province'), (req, res) => commentsPage(req, res, null));
  router.get('/admin/units/:unitId/surveys', ...viewer('unit'), async (req, res) => {
    const unit = await unitOf(req, res);
    if (unit) await reportPage(req, res, unit);
  });
  router.get('/admin/units/:unitId/surveys/comments', ...viewer('unit'), async (req, res) => {
    const unit = await unitOf(req, res);
    if (unit) await commentsPage(req, res, unit);
  });
  for (const kind of SURVEY_EXPORTS) {
    router.get(`/admin/surveys/${kind}`, ...exporter('province'), (req, res) => exportFile(req, res, null, kind));
    router.get(`/admin/units/:unitId/surveys/${kind}`, ...exporter('unit'), async (req, res) => {
      const unit = await unitOf(req, res);
      if (unit) await exportFile(req, res, unit, kind);
    });
  }

  // --- QR codes ---------------------------------------------------------------------------------

  const periodicDefs = (): SurveyDefinition[] => surveyFamilies(deps.registry).flatMap((f) => (f.kind === 'periodic' ? deps.registry.family(f.id) : []));
  const dossierDefs = (): SurveyDefinition[] => surveyFamilies(deps.registry).flatMap((f) => (f.kind === 'dossier' ? deps.registry.family(f.id) : []));

  function qrForm(res: Response, status: number, unit: Unit, values: { survey: string; procedure: string; dossier: string }, errors: Record<string, string>): void {
    const auth = authOf(res);
    const base = unitBase(unit.id);
    const err = (k: string): Html | string => (errors[k] ? html`<span class="err" role="alert">${errors[k]}</span>` : '');
    const dossiers = dossierDefs();
    send(
      res,
      status,
      'Mã QR khảo sát',
      auth,
      html`<h1>Mã QR khảo sát tại Bộ phận Một cửa — ${unit.name}</h1>
<p>In poster khổ A4 để dán tại Bộ phận Một cửa: người dân quét mã bằng điện thoại để trả lời phiếu trên Facebook Messenger, Zalo hoặc trang web của đơn vị. Mỗi người chỉ trả lời một lần cho mỗi kỳ khảo sát hoặc mỗi hồ sơ.</p>
<section><h2>Khảo sát định kỳ</h2>
${
  periodicDefs().length === 0
    ? html`<p>Chưa có phiếu khảo sát định kỳ nào.</p>`
    : html`<ul>${periodicDefs().map((d) => html`<li><a href="${base}/poster?survey=${d.id}">In poster: ${deps.registry.forUnit(d, unit.id).title}</a></li>`)}</ul>`
}</section>
<section><h2>Đánh giá việc giải quyết hồ sơ</h2>
<p>Poster chung cho mọi hồ sơ, cho một thủ tục, hoặc cho đúng một hồ sơ (ghi mã hồ sơ để người dân không phải nhập lại).</p>
<form class="filters" method="get" action="${base}/poster">
<label>Phiếu đánh giá${err('survey')}<select name="survey">${dossiers.map(
        (d) => html`<option value="${d.id}"${d.id === values.survey ? raw(' selected') : ''}>${deps.registry.forUnit(d, unit.id).title} (${d.id})</option>`,
      )}</select></label>
<label>Mã thủ tục (không bắt buộc)${err('procedure')}<input type="text" name="procedure" value="${values.procedure}" size="12" maxlength="20" placeholder="1.001193"></label>
<label>Mã hồ sơ (không bắt buộc)${err('dossier')}<input type="text" name="dossier" value="${values.dossier}" size="30" maxlength="100" placeholder="000.00.01.H56-240101-0001"></label>
<button type="submit">Tạo poster</button>
<p class="hint">Mã thủ tục tra ở trang <a href="/admin/units/${encodeURIComponent(unit.id)}/catalogue">Tra cứu thủ tục</a>.</p>
</form></section>
<p><a href="${base}">Quay lại số liệu khảo sát</a></p>`,
    );
  }

  router.get('/admin/units/:unitId/surveys/qr', ...viewer('unit'), async (req, res) => {
    const unit = await unitOf(req, res);
    if (!unit) return;
    qrForm(res, 200, unit, { survey: dossierDefs()[0]?.id ?? '', procedure: '', dossier: '' }, {});
  });

  router.get('/admin/units/:unitId/surveys/poster', ...viewer('unit'), async (req, res) => {
    const unit = await unitOf(req, res);
    if (!unit) return;
    const values = { survey: one(req.query.survey).trim(), procedure: one(req.query.procedure).trim(), dossier: one(req.query.dossier) };
    const errors: Record<string, string> = {};
    const def = deps.registry.latest(values.survey);
    if (!def) errors.survey = 'Không có phiếu khảo sát này.';
    let procedureName: string | null = null;
    let dossierCode: string | null = null;
    if (def?.kind === 'dossier') {
      if (values.procedure !== '') {
        if (!/^\d+\.\d+$/.test(values.procedure)) errors.procedure = 'Mã thủ tục có dạng 1.001193.';
        else if (deps.procedureName) {
          procedureName = deps.procedureName(unit.id, values.procedure) ?? null;
          if (procedureName === null) errors.procedure = 'Thủ tục này không có trong danh mục của đơn vị.';
        }
      }
      const code = normaliseDossierCode(values.dossier);
      if (code !== '') {
        if (Array.from(code).length > 100 || /[\p{Cc}\p{Cf}]/u.test(code)) errors.dossier = 'Mã hồ sơ tối đa 100 ký tự in được.';
        else dossierCode = code;
      }
    }
    let payload = '';
    if (def && Object.keys(errors).length === 0) {
      payload = surveyStartPayload({
        definitionId: def.id,
        ...(def.kind === 'dossier' && values.procedure !== '' ? { procedureCode: values.procedure } : {}),
        ...(dossierCode !== null ? { dossierCode } : {}),
      });
      if (payload.length > MAX_SURVEY_PAYLOAD) errors.dossier = 'Mã hồ sơ quá dài để đưa vào mã QR.';
    }
    if (!def || Object.keys(errors).length > 0) {
      qrForm(res, 400, unit, { ...values, survey: def?.id ?? dossierDefs()[0]?.id ?? '' }, errors);
      return;
    }
    const accounts = (await deps.accounts.listByUnit(unit.id)).filter((a) => a.status === 'active');
    const periodic = def.kind === 'periodic';
    const codes: PosterCode[] = [];
    for (const a of accounts.filter((x) => x.platform === 'messenger')) {
      codes.push({ channel: 'Facebook Messenger', account: a.name, url: messengerLink(a.externalId, payload), instruction: 'Quét mã để mở Messenger: phiếu khảo sát hiện ra ngay.' });
    }
    for (const a of accounts.filter((x) => x.platform === 'zalo')) {
      codes.push({ channel: 'Zalo', account: a.name, url: zaloLink(a.externalId), instruction: 'Quét mã bằng Zalo, bấm “Nhắn tin” rồi gửi:', say: zaloSurveyWords(def.kind, dossierCode) });
    }
    codes.push({ channel: 'Trang web', account: null, url: widgetLink(deps.publicBaseUrl, unit.id, payload), instruction: 'Quét mã bằng camera điện thoại để trả lời trên trang web.' });
    if (codes.some((c) => c.url.length > QR_MAX_TEXT)) {
      qrForm(res, 400, unit, { ...values, survey: def.id }, { dossier: 'Mã hồ sơ quá dài để đưa vào mã QR.' });
      return;
    }
    const svgs = await Promise.all(codes.map((c) => qrSvg(c.url)));
    const worded = deps.registry.forUnit(def, unit.id);
    const local = /^https?:\/\/(localhost|127\.|\[::1\])/i.test(deps.publicBaseUrl);
    const contact = [unit.address, unit.phone ? `Điện thoại: ${unit.phone}` : null, unit.hours ? `Giờ làm việc: ${unit.hours}` : null].filter((x): x is string => !!x);
    const lead = periodic
      ? 'Xin ông/bà dành vài phút cho biết mức độ hài lòng với việc giải quyết thủ tục hành chính tại Bộ phận Một cửa. Phiếu không ghi tên.'
      : 'Sau khi nhận kết quả, xin ông/bà dành một phút đánh giá việc giải quyết hồ sơ. Phiếu không ghi tên, số điện thoại.';
    const page = html`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Poster — ${worded.title} — ${unit.name}</title>${POSTER_STYLE}</head>
<body>
<div class="toolbar"><a href="${unitBase(unit.id)}/qr">← Quay lại</a><span>In poster: bấm Ctrl+P (⌘P trên máy Mac), chọn máy in hoặc “Lưu dưới dạng PDF”, khổ A4.</span>${
      local ? html`<span class="warn">PUBLIC_BASE_URL chưa được đặt: mã QR của trang web đang trỏ tới máy này, người dân sẽ không mở được.</span>` : ''
    }</div>
<main class="sheet">
<p class="unit">${unit.name}</p>
<h1>${worded.title}</h1>
${procedureName || values.procedure ? html`<p class="summary">Thủ tục: ${procedureName ?? values.procedure}</p>` : ''}
${dossierCode ? html`<p class="dossier">Mã hồ sơ: ${dossierCode}</p>` : ''}
<p class="lead">${lead}</p>
<div class="codes ${codes.length <= 2 ? 'few' : codes.length >= 4 ? 'many' : ''}">${codes.map(
      (c, i) => html`<figure class="qr" data-channel="${c.channel}">${raw(svgs[i] ?? '')}<figcaption>
<p class="channel">${c.channel}</p>${c.account ? html`<p class="account">${c.account}</p>` : ''}
<p class="how">${c.instruction}</p>${c.say ? html`<p class="say">${c.say}</p>` : ''}
<p class="url"><a href="${c.url}">${c.url}</a></p></figcaption></figure>`,
    )}</div>
<p class="footer">${contact.join(' · ')}${contact.length > 0 ? html`<br>` : ''}Mỗi người trả lời một lần${periodic ? ' trong mỗi kỳ khảo sát' : ' cho mỗi hồ sơ'}; có thể bỏ qua câu bất kỳ hoặc nhắn “dừng” để ngừng. Ý kiến của ông/bà giúp Bộ phận Một cửa phục vụ tốt hơn.</p>
</main>
</body></html>`;
    pageHeaders(res);
    res.send(page.value);
  });

  return router;
}
