// Finds crawl records that carry ANOTHER procedure's page: the crawler sometimes stored the
// same detail page under several codes (e.g. ten codes of Bộ Công an holding a Sơn La farming
// support page), so a citizen asking about "khóa căn cước điện tử" would be shown the steps of
// "Hỗ trợ phát triển sản xuất cộng đồng". Works from the crawl alone, without the workbooks.
//
// Evidence, strongest first:
// 1. The page's own code: raw_text reads "…Mã thủ tục1.014023…"; when that differs from
//    ma_thu_tuc, the content belongs to the other code.
// 2. A group of records with different codes that share a page (same detail_url) or the same
//    normalised name AND the same steps AND documents text. Legitimate near-duplicates (one
//    procedure published at cấp tỉnh and cấp xã under two codes) differ in name or in text, so
//    they never form such a group. In a group, a member without page evidence is flagged when
//    another member's page shows that member's own code; otherwise it is kept only when it is
//    the one member whose field fits its ministry folder (the field occurs in that folder
//    outside the group); otherwise nobody can tell which code the page belongs to, and every
//    member is flagged: correct information matters more than coverage.
// 3. Records sharing only a name (different content) are legitimate by default; a member is
//    flagged only when its page code disagrees or, lacking one, its field does not fit its folder
//    — judged only where the folder holds enough other records for an absent field to mean
//    something (a partial import of a few records must not flag legitimate ones).
import type { PortalRecord } from './portal-record.js';
import { compareCodes } from './slugify.js';
import { clean } from './text.js';

export interface ContentMismatch {
  code: string;
  /** Why, in English, for the import report. */
  reason: string;
  /** The code the page itself shows, when the raw text gives one. */
  pageCode: string | null;
}

const PAGE_CODE = /Mã thủ tục\s*(\d+\.\d+)/;

/** Records a folder must hold outside a name group before a field it lacks counts as implausible. */
const MIN_FOLDER_RECORDS = 30;

/** The code printed on the crawled page, or null when the raw text does not show one. */
export function pageCodeOf(r: PortalRecord): string | null {
  const m = clean(r.raw_text ?? '').match(PAGE_CODE);
  return m?.[1] ?? null;
}

/** Lower case, one space, trailing full stops and semicolons dropped: "Hỗ trợ … đồng." = "hỗ trợ … đồng". */
export function normaliseName(s: string): string {
  return clean(s).toLowerCase().replace(/\s+/g, ' ').replace(/[.;:\s]+$/, '');
}

function squash(s: string): string {
  return clean(s).toLowerCase().replace(/\s+/g, ' ').trim();
}

export function detectContentMismatch(recs: readonly PortalRecord[]): ContentMismatch[] {
  const code = (r: PortalRecord) => clean(r.ma_thu_tuc);
  const out = new Map<string, ContentMismatch>();
  const flag = (r: PortalRecord, reason: string) => {
    if (!out.has(code(r))) out.set(code(r), { code: code(r), reason, pageCode: pageCodeOf(r) });
  };

  // 1. Page code evidence, record by record.
  for (const r of recs) {
    const page = pageCodeOf(r);
    if (page !== null && page !== code(r)) flag(r, `the page shows code ${page}: its content belongs to that procedure`);
  }

  // 2. Groups sharing a page or the whole content.
  const parent = recs.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      const p = parent[i] ?? i;
      parent[i] = parent[p] ?? p;
      i = p;
    }
    return i;
  };
  const union = (a: number, b: number) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  const firstBy = new Map<string, number>();
  const link = (key: string, i: number) => {
    const prior = firstBy.get(key);
    if (prior === undefined) firstBy.set(key, i);
    else union(prior, i);
  };
  recs.forEach((r, i) => {
    const url = clean(r.detail_url);
    if (url !== '') link(`url\u0000${url}`, i);
    const steps = squash(r.trinh_tu_thuc_hien);
    const docs = squash(r.thanh_phan_ho_so);
    // Two records without any steps or documents have nothing a citizen could be misled by.
    if (steps.length + docs.length >= 40) link(`content\u0000${normaliseName(r.ten_thu_tuc)}\u0000${steps}\u0000${docs}`, i);
  });
  const components = new Map<number, number[]>();
  recs.forEach((_, i) => {
    const root = find(i);
    components.set(root, [...(components.get(root) ?? []), i]);
  });

  const fieldsByFolder = (excluded: ReadonlySet<number>) => {
    const m = new Map<string, Set<string>>();
    recs.forEach((r, i) => {
      if (excluded.has(i)) return;
      const folder = clean(r._ministry_folder);
      const set = m.get(folder) ?? new Set<string>();
      set.add(clean(r.linh_vuc));
      m.set(folder, set);
    });
    return m;
  };
  const fits = (r: PortalRecord, folders: Map<string, Set<string>>) => folders.get(clean(r._ministry_folder))?.has(clean(r.linh_vuc)) ?? false;
  const folderSize = new Map<string, number>();
  for (const r of recs) folderSize.set(clean(r._ministry_folder), (folderSize.get(clean(r._ministry_folder)) ?? 0) + 1);

  for (const members of components.values()) {
    const codes = new Set(members.map((i) => code(recs[i] as PortalRecord)));
    if (codes.size < 2) continue;
    const group = members.map((i) => recs[i] as PortalRecord);
    const others = (r: PortalRecord) => [...codes].filter((c) => c !== code(r)).join(', ');
    const byEvidence = group.filter((r) => pageCodeOf(r) === code(r));
    const folders = fieldsByFolder(new Set(members));
    const unproven = group.filter((r) => pageCodeOf(r) === null);
    const fitting = unproven.filter((r) => fits(r, folders));
    for (const r of unproven) {
      if (byEvidence.length > 0) {
        flag(r, `same page or content as ${others(r)}; the page shows code ${byEvidence.map(code).join(', ')}`);
      } else if (fitting.length !== 1 || fitting[0] !== r) {
        flag(r, `same page or content as ${others(r)}; cannot tell which code it belongs to`);
      }
    }
  }

  // 3. Same name only: flag members whose field does not fit their folder (when no page code).
  const byName = new Map<string, number[]>();
  recs.forEach((r, i) => byName.set(normaliseName(r.ten_thu_tuc), [...(byName.get(normaliseName(r.ten_thu_tuc)) ?? []), i]));
  for (const members of byName.values()) {
    if (new Set(members.map((i) => code(recs[i] as PortalRecord))).size < 2) continue;
    const folders = fieldsByFolder(new Set(members));
    for (const i of members) {
      const r = recs[i] as PortalRecord;
      const others = (folderSize.get(clean(r._ministry_folder)) ?? 0) - members.length;
      if (pageCodeOf(r) === null && others >= MIN_FOLDER_RECORDS && !fits(r, folders)) {
        flag(r, `shares its name with other codes and its field "${clean(r.linh_vuc)}" does not occur in folder ${clean(r._ministry_folder)}`);
      }
    }
  }

  return [...out.values()].sort((a, b) => compareCodes(a.code, b.code));
}
