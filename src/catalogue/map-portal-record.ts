// Maps one parsed portal record to a catalogue Procedure: the flattened tables become
// structured lists, "Không có thông tin" and empty strings become null, all text NFC.
import { emptyNotes, parseChannels, type ChannelParseNotes } from './parse-channels.js';
import { parseDocuments } from './parse-documents.js';
import { parseLegalBasis } from './parse-legal-basis.js';
import type { PortalRecord } from './portal-record.js';
import { Level, type Procedure } from './schema.js';
import { clean, orNull, splitTopLevelCommas } from './text.js';

export interface MapNotes extends ChannelParseNotes {}

export function mapPortalRecord(r: PortalRecord, coreCodes: ReadonlySet<string>, notes: MapNotes = emptyNotes()): Procedure {
  const code = clean(r.ma_thu_tuc);
  const docNotes = { warnings: [] as string[] };
  const procedure: Procedure = {
    code,
    name: clean(r.ten_thu_tuc),
    decision: orNull(r.so_quyet_dinh),
    levels: parseLevels(r.cap_thuc_hien),
    type: orNull(r.loai_thu_tuc),
    field: clean(r.linh_vuc),
    agencies: {
      competent: orNull(r.co_quan_co_tham_quyen),
      executing: orNull(r.co_quan_thuc_hien),
      authorized: orNull(r.co_quan_duoc_uy_quyen),
      coordinating: orNull(r.co_quan_phoi_hop),
      receivingAddress: orNull(r.dia_chi_tiep_nhan),
    },
    targets: splitTopLevelCommas(clean(r.doi_tuong_thuc_hien)),
    steps: parseSteps(r.trinh_tu_thuc_hien),
    channels: parseChannels(r.cach_thuc_thuc_hien, r.trinh_tu_thuc_hien, notes),
    documents: parseDocuments(r.thanh_phan_ho_so, docNotes),
    legalBasis: parseLegalBasis(r.can_cu_phap_ly),
    conditions: orNull(r.yeu_cau_dieu_kien),
    result: parseResult(r.ket_qua_xu_ly),
    related: orNull(r.thu_tuc_lien_quan),
    sourceUrl: orNull(r.detail_url),
    ministry: orNull(r._ministry_folder),
    communeCore: coreCodes.has(code),
    origin: 'portal',
    detail: 'full',
  };
  notes.warnings.push(...docNotes.warnings);
  return procedure;
}

/** "Cấp bộ, Cấp tỉnh, Cơ quan khác" → the levels the schema knows; others are dropped. */
export function parseLevels(s: string): Level[] {
  const out: Level[] = [];
  for (const part of clean(s).split(',')) {
    const level = Level.safeParse(part.trim());
    if (level.success && !out.includes(level.data)) out.push(level.data);
  }
  return out;
}

/** "Bước 1: …Bước 2: …" → one string per step; without markers, one per paragraph. */
export function parseSteps(raw: string): string[] {
  const s = clean(raw);
  if (orNull(s) === null) return [];
  const marker = /(?=Bước\s*\d+\s*[:.\-–])/g;
  const parts = /Bước\s*\d+\s*[:.\-–]/.test(s) ? s.split(marker) : s.split(/\n+/);
  // Drop bullets left alone by the split ("-", "+").
  return parts.map((p) => clean(p)).filter((p) => /[\p{L}\d]/u.test(p));
}

/**
 * "Giấy khai sinhMã: KQ.G15.000031Từ khóaKhông có thông tinMô tảKhông có thông tinChọn cơ quan…"
 * → "Giấy khai sinh". Several results ("…Mã: KQ.G12.001222Thông báo…Mã: G19-KQ0060102…") are
 * joined with "; ".
 */
export function parseResult(raw: string): string | null {
  let s = clean(raw);
  s = s.replace(/Chọn cơ quan thực hiện[\s\S]*$/, '');
  const CODE = /Mã: ?[A-Z0-9.\-]*\d/;
  if (!CODE.test(s)) return orNull(s);
  const names: string[] = [];
  for (const chunk of s.split(new RegExp(CODE.source))) {
    // After a code come its keywords and description, usually both "Không có thông tin"; a real
    // description cannot be told from the next result's name, so only the empty ones are cut.
    const c = clean(chunk.replace(/^Từ khóa[\s\S]*?Mô tả(?:Không có thông tin)?/, ''));
    if (c.length > 0 && orNull(c) !== null) names.push(c);
  }
  return names.length > 0 ? names.join('; ') : null;
}
