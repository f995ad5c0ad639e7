// A unit is a commune (xã) or ward (phường) served by the deployment; a province deployment has
// many. Their contact details come from UNITS_FILE (YAML), validated here.
import fs from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

export const Unit = z.object({
  id: z.string().regex(/^[a-z0-9-]+$/, 'mã đơn vị chỉ gồm chữ thường không dấu, số và -'),
  name: z.string().min(1),
  province: z.string().nullable().default(null),
  address: z.string().nullable().default(null),
  phone: z.string().nullable().default(null),
  email: z.string().nullable().default(null),
  hours: z.string().nullable().default(null),
  // Shown to citizens as links: web addresses only (no javascript: or data: URLs).
  portalUrl: z.string().url().regex(/^https?:\/\//i, 'phải là địa chỉ http(s)').nullable().default(null),
  website: z.string().url().regex(/^https?:\/\//i, 'phải là địa chỉ http(s)').nullable().default(null),
  /** Restrict the bot to these procedure codes; null = the whole catalogue. */
  procedureCodes: z.array(z.string().regex(/^\d+\.\d+$/)).nullable().default(null),
});
export type Unit = z.infer<typeof Unit>;

export const UnitsFile = z.object({ units: z.array(Unit).min(1, 'cần ít nhất một đơn vị') });

export class UnitsFileError extends Error {
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'UnitsFileError';
  }
}

export function loadUnitsFile(file: string): Unit[] {
  let doc: unknown;
  try {
    doc = parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UnitsFileError(file, `không đọc được tệp: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = UnitsFile.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UnitsFileError(file, `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'không hợp lệ'}`);
  }
  const ids = new Set<string>();
  for (const u of parsed.data.units) {
    if (ids.has(u.id)) throw new UnitsFileError(file, `units: mã đơn vị trùng lặp "${u.id}"`);
    ids.add(u.id);
  }
  return parsed.data.units.map((u) => ({ ...u, name: u.name.normalize('NFC') }));
}
