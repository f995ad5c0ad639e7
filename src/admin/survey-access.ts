// Who sees the satisfaction survey figures (issue #6). The reporters (reports.view) and the
// admins see them for their scope; the one-stop desk's officers see their own unit's, because
// the Bộ phận Một cửa is who aggregates the evaluations each quarter (TT 01/2018, Điều 15) and
// who prints the QR codes at the desk. Downloading the files needs exports.download (reporters,
// admins), as every other export. A unit-bound user never sees another unit nor the province.
import type { AuthContext } from './auth/index.js';

type Can = Pick<AuthContext, 'can'>;

/** The report pages, comments and QR posters of `unitId` (null: the province, side by side). */
export function canViewSurveys(auth: Can, unitId: string | null): boolean {
  return auth.can('reports.view', unitId) || (unitId !== null && auth.can('dossiers.manage', unitId));
}

/** The CSV and XLSX files of `unitId` (null: the province). */
export function canExportSurveys(auth: Can, unitId: string | null): boolean {
  return auth.can('exports.download', unitId);
}
