// The raw shape of one line of the portal crawl (dvc-portal-records.jsonl). Parsed, never cast:
// a missing or non-string field fails the import with the field named.
import { z } from 'zod';

const text = z.string();

export const PortalRecord = z.object({
  ma_thu_tuc: z.string().regex(/^\s*\d+\.\d+\s*$/, 'mã thủ tục phải có dạng 1.001193'),
  ten_thu_tuc: z.string().refine((s) => s.trim().length > 0, 'tên thủ tục trống'),
  so_quyet_dinh: text,
  cap_thuc_hien: text,
  loai_thu_tuc: text,
  linh_vuc: z.string().refine((s) => s.trim().length > 0, 'lĩnh vực trống'),
  doi_tuong_thuc_hien: text,
  co_quan_co_tham_quyen: text,
  dia_chi_tiep_nhan: text,
  co_quan_duoc_uy_quyen: text,
  co_quan_phoi_hop: text,
  thu_tuc_lien_quan: text,
  trinh_tu_thuc_hien: text,
  cach_thuc_thuc_hien: text,
  thanh_phan_ho_so: text,
  can_cu_phap_ly: text,
  co_quan_thuc_hien: text,
  yeu_cau_dieu_kien: text,
  ket_qua_xu_ly: text,
  raw_text: text.optional(),
  detail_url: text,
  _ministry_folder: text,
  formality_id: text.optional(),
});
export type PortalRecord = z.infer<typeof PortalRecord>;
