// The shape of one generated file under procedures/national/: a field and its procedures.
import { z } from 'zod';
import { Procedure } from './schema.js';
import type { Procedure as ProcedureT } from './schema.js';

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

/**
 * A procedure known only by name (from a workbook, or a crawl record that carried another
 * procedure's page): no steps, channels, documents or legal basis to show, so the bot can name
 * it and send the citizen to an officer, and never shows someone else's details.
 */
export function listOnlyProcedure(p: {
  code: string;
  name: string;
  field?: string;
  executing?: string | null;
  ministry: string | null;
  communeCore: boolean;
}): ProcedureT {
  return {
    code: p.code,
    name: p.name,
    decision: null,
    levels: [],
    type: null,
    field: p.field ?? LIST_ONLY_FIELD,
    agencies: { competent: null, executing: p.executing ?? null, authorized: null, coordinating: null, receivingAddress: null },
    targets: [],
    steps: [],
    channels: [],
    documents: [],
    legalBasis: [],
    conditions: null,
    result: null,
    related: null,
    sourceUrl: null,
    ministry: p.ministry,
    communeCore: p.communeCore,
    origin: 'portal',
    detail: 'list',
  };
}
