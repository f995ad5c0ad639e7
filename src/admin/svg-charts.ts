// Charts for the admin pages drawn on the server as inline SVG: no script, no library, nothing
// fetched (the admin policy forbids both). Each chart is an image with a title and a description
// for screen readers (role="img", aria-labelledby); the page puts the same figures in a table
// beside it, which is what assistive technology and printing rely on. Every text goes through
// the escaping html`` template.
import { html, type Html } from './auth/index.js';

export type Tone = 'good' | 'neutral' | 'bad' | 'plain';

const FILL: Record<Tone, string> = { good: '#1e7b34', neutral: '#8a8f98', bad: '#a4161a', plain: '#1d4ed8' };

export interface ChartText {
  /** Unique on the page (ids of the title and description). */
  id: string;
  title: string;
  /** One or two sentences saying what the chart shows and its main figures. */
  desc: string;
}

export interface Bar {
  label: string;
  value: number;
  /** The figure written after the bar ("12 (48%)"). */
  text: string;
  tone?: Tone;
}

const WIDTH = 640;
const LABEL_W = 230;
const TEXT_W = 100;
const PLOT_W = WIDTH - LABEL_W - TEXT_W;

/** A label cut to what fits its column (the full text stays in the row's tooltip and the table). */
function fit(label: string, max: number): string {
  const chars = Array.from(label);
  return chars.length <= max ? label : `${chars.slice(0, max - 1).join('').trimEnd()}…`;
}

const round1 = (n: number): number => Math.round(n * 10) / 10;

/** Horizontal bars, one per row, scaled to `max` (e.g. 100 for rates, the largest count otherwise). */
export function barChart(t: ChartText, bars: readonly Bar[], max: number): Html {
  const row = bars.length > 20 ? 22 : 30;
  const height = Math.max(1, bars.length) * row + 8;
  const scale = max > 0 ? PLOT_W / max : 0;
  return html`<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-labelledby="${t.id}-t ${t.id}-d">
<title id="${t.id}-t">${t.title}</title><desc id="${t.id}-d">${t.desc}</desc>
${bars.map((b, i) => {
  const y = 4 + i * row;
  const w = round1(Math.max(0, Math.min(max, b.value)) * scale);
  return html`<g><title>${b.label}: ${b.text}</title>
<text x="${LABEL_W - 8}" y="${y + row / 2 + 4}" text-anchor="end" font-size="13" fill="#1b1f23">${fit(b.label, 30)}</text>
<rect x="${LABEL_W}" y="${y + 4}" width="${PLOT_W}" height="${row - 10}" fill="#eef1f4"/>
<rect x="${LABEL_W}" y="${y + 4}" width="${w}" height="${row - 10}" fill="${FILL[b.tone ?? 'plain']}"/>
<text x="${LABEL_W + PLOT_W + 6}" y="${y + row / 2 + 4}" font-size="13" fill="#1b1f23">${b.text}</text></g>`;
})}
</svg>`;
}

export interface Column {
  /** Under the column ("T7/2026"). */
  label: string;
  /** null = no data (no column drawn, "—" written). */
  value: number | null;
  /** Above the column ("75%"). */
  text: string;
  /** Second line under the label ("9 phiếu"). */
  sub?: string;
}

/** Vertical columns on a 0–`max` scale with grid lines at 0, half and max (a trend by month). */
export function columnChart(t: ChartText, columns: readonly Column[], max: number, axisSuffix = ''): Html {
  const height = 240;
  const top = 24;
  const bottom = 44;
  const left = 44;
  const plotH = height - top - bottom;
  const plotW = WIDTH - left - 8;
  const n = Math.max(1, columns.length);
  const slot = plotW / n;
  const colW = round1(Math.min(48, slot * 0.6));
  // Past a dozen columns only every k-th label fits.
  const every = Math.max(1, Math.ceil(n / 12));
  const y = (v: number) => round1(top + plotH - (max > 0 ? (Math.max(0, Math.min(max, v)) / max) * plotH : 0));
  const grid = [0, max / 2, max];
  return html`<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-labelledby="${t.id}-t ${t.id}-d">
<title id="${t.id}-t">${t.title}</title><desc id="${t.id}-d">${t.desc}</desc>
${grid.map(
  (g) => html`<line x1="${left}" x2="${WIDTH - 8}" y1="${y(g)}" y2="${y(g)}" stroke="#d6dbe0"/><text x="${left - 6}" y="${y(g) + 4}" text-anchor="end" font-size="11" fill="#555">${String(round1(g)).replace('.', ',')}${axisSuffix}</text>`,
)}
${columns.map((c, i) => {
  const cx = round1(left + slot * i + slot / 2);
  const showLabel = i % every === 0;
  const bar =
    c.value === null
      ? html`<text x="${cx}" y="${y(0) - 6}" text-anchor="middle" font-size="12" fill="#555">—</text>`
      : html`<rect x="${round1(cx - colW / 2)}" y="${y(c.value)}" width="${colW}" height="${round1(y(0) - y(c.value))}" fill="${FILL.plain}"/>
<text x="${cx}" y="${y(c.value) - 6}" text-anchor="middle" font-size="12" fill="#1b1f23">${c.text}</text>`;
  return html`<g><title>${c.label}: ${c.value === null ? 'không có dữ liệu' : c.text}${c.sub ? `, ${c.sub}` : ''}</title>${bar}
${showLabel ? html`<text x="${cx}" y="${height - bottom + 16}" text-anchor="middle" font-size="11" fill="#1b1f23">${c.label}</text>` : ''}
${showLabel && c.sub ? html`<text x="${cx}" y="${height - bottom + 31}" text-anchor="middle" font-size="10" fill="#555">${c.sub}</text>` : ''}</g>`;
})}
</svg>`;
}
