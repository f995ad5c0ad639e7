// The shape of one generated file under procedures/national/: a field and its procedures.
import { z } from 'zod';
import { Procedure } from './schema.js';

export const NationalFile = z.object({
  field: z.string().min(1),
  procedures: z.array(Procedure),
});
export type NationalFile = z.infer<typeof NationalFile>;

/** The file holding procedures known only from a "Danh sách TTHC" workbook. */
export const LIST_ONLY_FILE = 'list-only.json';
export const LIST_ONLY_FIELD = 'Thủ tục chỉ có trong danh sách';

/** Stable serialisation: the same catalogue always gives the same bytes. */
export function serializeNationalFile(file: NationalFile): string {
  return `${JSON.stringify(file, null, 1)}\n`;
}
