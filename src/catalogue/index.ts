// The catalogue module's public surface: the schemas, the importers (portal crawl, workbook
// lists), the loader, and the reply formatting helpers.
export * from './schema.js';
export { CatalogueError, type CatalogueErrorCode, type CatalogueErrorWhere } from './catalogue-error.js';
export { importPortal, DEFAULT_NATIONAL_DIR, type ImportReport } from './import-portal.js';
export { importXlsx, resolveNationalDir, type XlsxReport, type XlsxNameMismatch } from './import-xlsx.js';
export { detectContentMismatch, type ContentMismatch } from './detect-content-mismatch.js';
export { loadCatalogue, type Catalogue, type LoadOptions } from './load.js';
export { formatTime, formatFee, summariseChannels, type ChannelSummary } from './format.js';
export { NationalFile, LIST_ONLY_FILE } from './national-file.js';
