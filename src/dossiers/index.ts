// Dossiers (issue #7): the record of a dossier received at the desk, its status history, the
// three feeds that keep it current (admin, spreadsheet import, API), verification of the
// citizen's digits, chat links for notifications, and the per-period figures.
export { DossierStatus, STATUS_VI, OPEN_STATUSES, RESOLVED_STATUSES, CLOSED_STATUSES, parseStatusText } from './status.js';
export { DossierCode, codeKey, CODE_MAX } from './code.js';
export { DossierVerifier, lastFourDigits, type VerificationDigest } from './verification.js';
export {
  DossierRepository,
  DossierWriter,
  DossierSource,
  planWrite,
  type Dossier,
  type DossierEvent,
  type HistoryEntry,
  type DossierInput,
  type DossierLink,
  type DossierFigures,
  type DossierReport,
  type ProcedureFigures,
  type OutboxEvent,
  type Provenance,
  type StatusChangeInput,
  type WriteResult,
  type WriteOutcome,
  type ChangedField,
} from './dossier-repository.js';
export { DossierImporter, readRows, readSpreadsheet, SpreadsheetError, IMPORT_MAX_BYTES, PREVIEW_TTL_MINUTES, type ImportPreview, type ConfirmResult } from './import.js';
export { ImportMapping, ImportMappingRepository, ImportField, DEFAULT_COLUMNS, FIELD_VI, effectiveColumns } from './import-mapping.js';
export { IdempotencyStore, IdempotencyKey, requestHash, canonicalJson } from './idempotency-store.js';
export { parseLocalDate, localInstant } from './local-time.js';
