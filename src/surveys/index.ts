// The surveys module's public surface: definitions and their loader, the repository, reports,
// exports and the report command.
export {
  SATISFACTION_LEVELS,
  LEVEL_LABELS,
  LEVEL_VALUE,
  SurveyDefinition,
  SurveyQuestion,
  UnitOverrides,
  applyWording,
  familyOf,
  fold3,
  isSatisfied,
  meaningHash,
  type ChoiceQuestion,
  type SatisfactionLevel,
  type SurveyKind,
  type SurveyOption,
} from './definition.js';
export { loadSurveyRegistry, SurveyDefinitionError, SURVEYS_DIR, type SurveyRegistry } from './definition-loader.js';
export { parsePeriod, PeriodError, quarterOf, vietnamDate, vietnamDateTime, type Period } from './period.js';
export { respondentHash } from './respondent.js';
export {
  SurveyChannel,
  SurveyError,
  SurveyRepository,
  type Occasion,
  type Progress,
  type StartInput,
  type StartResult,
  type StoredAnswer,
  type SurveyErrorCode,
  type SurveyResponse,
} from './survey-repository.js';
export { buildSurveyReport, percent, type ReportFilter, type SurveyReport } from './report.js';
export { classifyOfficer, classifyUnit, indexScoreTenths, officerBand, unitBand, OFFICER_BAND_LABELS, UNIT_BAND_LABELS } from './scoring.js';
export { writeRawCsv, writeReportXlsx, writeSummaryCsv, inertCell } from './export.js';
export { runReportCommand, REPORT_USAGE, type ReportCommandDeps, type ReportCommandIo } from './report-command.js';
