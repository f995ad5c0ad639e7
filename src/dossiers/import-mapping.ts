// Which column of a unit's spreadsheet holds what: the default headers of common one-stop
// system exports ("Mã hồ sơ", "Thủ tục", "Ngày tiếp nhận", "Ngày hẹn trả", "Trạng thái", "Số
// điện thoại"…), overridden per unit (stored in dossier_import_mappings, edited in the admin),
// plus a unit's own spellings of statuses. Headers compare folded (no marks, lower case, no
// punctuation, "(…)" dropped), so "NGÀY TIẾP NHẬN (dd/mm/yyyy)" is "Ngày tiếp nhận". Columns
// not mapped — the applicant's name, address — are never read.
import { z } from 'zod';
import type { Queryable } from '../store/database.js';
import { DossierStatus, statusKey } from './status.js';

export const ImportField = z.enum(['code', 'procedureCode', 'procedureName', 'receivedAt', 'dueAt', 'status', 'statusAt', 'phone', 'pickupPlace', 'missing']);
export type ImportField = z.infer<typeof ImportField>;

/** How the admin names each field. */
export const FIELD_VI: Record<ImportField, string> = {
  code: 'Mã hồ sơ',
  procedureCode: 'Mã thủ tục',
  procedureName: 'Tên thủ tục',
  receivedAt: 'Ngày tiếp nhận',
  dueAt: 'Ngày hẹn trả',
  status: 'Trạng thái',
  statusAt: 'Ngày của trạng thái (ngày có/trả kết quả)',
  phone: 'Số điện thoại (chỉ 4 số cuối được dùng, đã mã hoá)',
  pickupPlace: 'Nơi trả kết quả',
  missing: 'Nội dung cần bổ sung',
};

export const DEFAULT_COLUMNS: Readonly<Record<ImportField, readonly string[]>> = {
  code: ['Mã hồ sơ', 'Số hồ sơ', 'Mã số hồ sơ', 'Mã HS', 'Số biên nhận', 'Mã biên nhận'],
  procedureCode: ['Mã thủ tục', 'Mã TTHC', 'Mã thủ tục hành chính'],
  procedureName: ['Thủ tục', 'Tên thủ tục', 'Tên TTHC', 'Thủ tục hành chính', 'Tên thủ tục hành chính'],
  receivedAt: ['Ngày tiếp nhận', 'Ngày nhận', 'Ngày nhận hồ sơ', 'Nhận hồ sơ', 'Thời gian tiếp nhận', 'Ngày nộp'],
  dueAt: ['Ngày hẹn trả', 'Hẹn trả', 'Ngày hẹn trả kết quả', 'Hẹn trả kết quả', 'Hạn xử lý', 'Hạn giải quyết'],
  status: ['Trạng thái', 'Tình trạng', 'Trạng thái hồ sơ', 'Tình trạng hồ sơ', 'Tình trạng xử lý'],
  statusAt: ['Ngày trả kết quả', 'Ngày có kết quả', 'Ngày trả', 'Ngày cập nhật', 'Thời gian cập nhật'],
  phone: ['Số điện thoại', 'Điện thoại', 'SĐT', 'Số ĐT', 'Điện thoại liên hệ', 'Số điện thoại liên hệ', 'Địa chỉ/Số điện thoại'],
  pickupPlace: ['Nơi trả kết quả', 'Nơi nhận kết quả', 'Địa điểm trả kết quả', 'Nơi trả'],
  missing: ['Nội dung bổ sung', 'Nội dung cần bổ sung', 'Yêu cầu bổ sung', 'Nội dung yêu cầu bổ sung', 'Lý do bổ sung'],
};

const Header = z.string().trim().min(1).max(100);
export const ImportMapping = z
  .object({
    /** Per field, the headers to look for (replacing the default headers of that field). */
    columns: z.partialRecord(ImportField, z.array(Header).min(1).max(20)).default({}),
    /** A unit's own status spellings → status. */
    statuses: z.record(z.string().trim().min(1).max(100), DossierStatus).default({}),
  })
  .strict();
export type ImportMapping = z.infer<typeof ImportMapping>;

export const EMPTY_MAPPING: ImportMapping = { columns: {}, statuses: {} };

/** Folded header text: no marks, lower case, words of letters and digits, "(…)" dropped. */
export function headerKey(text: string): string {
  return statusKey(text.replace(/\([^)]*\)/g, ' '));
}

/** The headers to look for per field: the unit's where given, the default otherwise. */
export function effectiveColumns(mapping: ImportMapping): Record<ImportField, readonly string[]> {
  const out = { ...DEFAULT_COLUMNS };
  for (const f of ImportField.options) {
    const own = mapping.columns[f];
    if (own !== undefined && own.length > 0) out[f] = own;
  }
  return out;
}

/** Column index per field found in a header row (first match wins; a column serves one field). */
export function matchHeader(cells: readonly string[], mapping: ImportMapping): Partial<Record<ImportField, number>> {
  const wanted = effectiveColumns(mapping);
  const keys = cells.map(headerKey);
  const taken = new Set<number>();
  const found: Partial<Record<ImportField, number>> = {};
  for (const field of ImportField.options) {
    for (const header of wanted[field]) {
      const k = headerKey(header);
      const at = keys.findIndex((c, i) => c === k && !taken.has(i));
      if (at >= 0) {
        found[field] = at;
        taken.add(at);
        break;
      }
    }
  }
  return found;
}

const MappingRow = z.object({ mapping: z.union([z.record(z.string(), z.unknown()), z.string().transform((s): unknown => JSON.parse(s))]) });

/** The stored mapping of each unit. */
export class ImportMappingRepository {
  constructor(private readonly db: Queryable) {}

  /** The unit's mapping, or the empty one (defaults everywhere). */
  async get(unitId: string): Promise<ImportMapping> {
    const rows = await this.db.query('SELECT mapping FROM dossier_import_mappings WHERE unit_id = $1', [unitId]);
    if (rows[0] === undefined) return EMPTY_MAPPING;
    const parsed = ImportMapping.safeParse(MappingRow.parse(rows[0]).mapping);
    return parsed.success ? parsed.data : EMPTY_MAPPING;
  }

  async set(unitId: string, mapping: ImportMapping, by: number | null): Promise<void> {
    await this.db.query(
      `INSERT INTO dossier_import_mappings (unit_id, mapping, updated_by) VALUES ($1, $2::jsonb, $3)
       ON CONFLICT (unit_id) DO UPDATE SET mapping = EXCLUDED.mapping, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [unitId, JSON.stringify(ImportMapping.parse(mapping)), by],
    );
  }
}
