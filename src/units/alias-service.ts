// Attaching a citizen's phrasing to a procedure for a unit — one set of rules for the admin page
// and the API: the procedure must be one the unit's bot may answer with, the phrasing must have
// content to recognise, every change is audited (without the citizen's words) and made effective
// in every process at once.
import type { AliasRepository, UnitAlias } from '../store/alias-repository.js';
import { foldMarks } from '../search/normalize.js';
import type { AuditRepository } from '../store/audit-repository.js';

/** "  Đăng ký  KHAI sinh " → "dang ky khai sinh": how citizens' variants of one question meet. */
export function questionKey(text: string): string {
  return foldMarks(text.normalize('NFC').toLowerCase()).replace(/\s+/g, ' ').trim();
}

export type AttachResult =
  | { ok: true; alias: UnitAlias }
  | { ok: false; reason: 'unknown_code' | 'no_content' | 'empty' };

export interface AliasServiceDeps {
  aliases: AliasRepository;
  audit: AuditRepository;
  /** The procedure's name when the unit may answer with it; undefined otherwise. */
  procedureName: (unitId: string, code: string) => string | undefined;
  contentKey: (text: string) => string | null;
  onChanged: (unitId: string) => Promise<void>;
}

export interface AliasService {
  attach(input: { unitId: string; text: string; code: string; actor: number }): Promise<AttachResult>;
  remove(input: { unitId: string; id: number; actor: number }): Promise<UnitAlias | undefined>;
  list(unitId: string): Promise<UnitAlias[]>;
}

export function createAliasService(deps: AliasServiceDeps): AliasService {
  return {
    async attach({ unitId, text: raw, code: rawCode, actor }) {
      const text = raw.normalize('NFC').replace(/\s+/g, ' ').trim();
      const code = rawCode.trim();
      if (text === '') return { ok: false, reason: 'empty' };
      if (deps.procedureName(unitId, code) === undefined) return { ok: false, reason: 'unknown_code' };
      if (deps.contentKey(text) === null) return { ok: false, reason: 'no_content' };
      const alias = await deps.aliases.attach({ unitId, code, text, key: questionKey(text), createdBy: actor });
      await deps.audit.record({ actor, action: 'catalogue.alias_attach', unitId, target: code, detail: { aliasId: alias.id } });
      await deps.onChanged(unitId);
      return { ok: true, alias };
    },
    async remove({ unitId, id, actor }) {
      const removed = await deps.aliases.remove(unitId, id);
      if (!removed) return undefined;
      await deps.audit.record({ actor, action: 'catalogue.alias_remove', unitId, target: removed.code, detail: { aliasId: removed.id } });
      await deps.onChanged(unitId);
      return removed;
    },
    list: (unitId) => deps.aliases.list(unitId),
  };
}
