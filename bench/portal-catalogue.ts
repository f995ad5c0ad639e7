// Fallback catalogue for the bench and tests: CatalogueProcedure-shaped objects built straight
// from the portal crawl (/work/shared/data/dvc-portal-records.jsonl.gz, or $MOTCUA_PORTAL_GZ)
// when the shipped catalogue (procedures/national + loadCatalogue) is not available. Only the
// fields the search reads are filled faithfully (code, name, field, levels, communeCore,
// document text); the rest are empty.
import { readFileSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import type { CatalogueProcedure, Level } from '../src/catalogue/schema.js';

export const PORTAL_GZ = process.env['MOTCUA_PORTAL_GZ'] ?? '/work/shared/data/dvc-portal-records.jsonl.gz';
export const COMMUNE_CORE = process.env['MOTCUA_COMMUNE_CORE'] ?? '/work/shared/data/commune-core-codes.txt';

const PortalRecord = z.object({
  ma_thu_tuc: z.string(),
  ten_thu_tuc: z.string(),
  cap_thuc_hien: z.string().default(''),
  linh_vuc: z.string().default(''),
  thanh_phan_ho_so: z.string().default(''),
  detail_url: z.string().default(''),
});

const LEVELS: readonly Level[] = ['Cấp bộ', 'Cấp tỉnh', 'Cấp xã'];

function isLevel(s: string): s is Level {
  return LEVELS.some((l) => l === s);
}

export function portalCatalogueAvailable(): boolean {
  return existsSync(PORTAL_GZ);
}

export function loadPortalCatalogue(path = PORTAL_GZ): CatalogueProcedure[] {
  const core = existsSync(COMMUNE_CORE) ? new Set(readFileSync(COMMUNE_CORE, 'utf8').split(/\s+/).filter(Boolean)) : new Set<string>();
  const out: CatalogueProcedure[] = [];
  for (const line of gunzipSync(readFileSync(path)).toString('utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = PortalRecord.parse(JSON.parse(line));
    const nfc = (s: string): string => s.normalize('NFC').replace(/\s+/g, ' ').trim();
    const levels = nfc(r.cap_thuc_hien).split(',').map((s) => s.trim()).filter(isLevel);
    const docs = nfc(r.thanh_phan_ho_so).replace(/^--Tên giấy tờMẫu đơn, tờ khaiSố lượng/, '');
    out.push({
      code: r.ma_thu_tuc.trim(),
      name: nfc(r.ten_thu_tuc),
      decision: null,
      levels,
      type: null,
      field: nfc(r.linh_vuc) || 'Khác',
      agencies: { competent: null, executing: null, authorized: null, coordinating: null, receivingAddress: null },
      targets: [],
      steps: [],
      channels: [],
      documents: docs ? [{ name: docs.slice(0, 600), kind: 'submit', quantity: null, form: null, group: null }] : [],
      legalBasis: [],
      conditions: null,
      result: null,
      related: null,
      sourceUrl: r.detail_url || null,
      ministry: null,
      communeCore: core.has(r.ma_thu_tuc.trim()),
      origin: 'portal',
      detail: 'full',
      summary: null,
      aliases: [],
      curated: false,
    });
  }
  return out;
}
