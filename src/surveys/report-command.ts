// `motcua report surveys --period 2026-Q3 [--unit ID …] [--survey FAMILY] [--format xlsx|csv]
// [--content raw|summary] [--procedure CODE] [--field TEXT] [--channel C] --out FILE|-`:
// the survey report as a file, for a person or a scheduled job. The file appears complete or not
// at all (written beside it, then renamed); "-" writes to standard output.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Queryable } from '../store/database.js';
import type { SurveyRegistry } from './definition-loader.js';
import { writeRawCsv, writeReportXlsx, writeSummaryCsv } from './export.js';
import { parsePeriod, PeriodError } from './period.js';
import { percent, type ReportFilter, type SurveyReport } from './report.js';
import { SurveyChannel } from './survey-repository.js';

export const REPORT_USAGE = `motcua report surveys --period KỲ --out TỆP [tùy chọn]
  --period KỲ          2026-09 (tháng), 2026-Q3 (quý), 2026-H1 (6 tháng), 2026 (năm), 2026-09-01..2026-09-15
  --out TỆP            tệp kết quả; "-" để ghi ra màn hình (stdout)
  --unit MÃ            đơn vị (lặp lại để chọn nhiều); bỏ trống = mọi đơn vị
  --survey HỌ_PHIẾU    dossier-evaluation (mặc định), sipas, hoặc all
  --format xlsx|csv    mặc định xlsx (bảng tổng hợp và dữ liệu chi tiết)
  --content raw|summary  với csv: dữ liệu từng câu trả lời (mặc định) hoặc bảng tổng hợp theo đơn vị
  --procedure MÃ  --field LĨNH_VỰC  --channel messenger|zalo|web|api|cli
`;

export interface ReportCommandIo {
  stdout: Writable;
  stderr: Writable;
}

export interface ReportCommandDeps {
  db: Queryable;
  registry: SurveyRegistry;
  now?: () => Date;
}

/** `args` are the words after `motcua report`. Returns the exit code. */
export async function runReportCommand(args: readonly string[], io: ReportCommandIo, deps: ReportCommandDeps): Promise<number> {
  const fail = (message: string, code = 2): number => {
    io.stderr.write(`${message}\n`);
    return code;
  };
  const [what, ...rest] = args;
  if (what !== 'surveys') return fail(REPORT_USAGE);
  let values;
  try {
    ({ values } = parseArgs({
      args: [...rest],
      options: {
        period: { type: 'string' },
        out: { type: 'string' },
        unit: { type: 'string', multiple: true },
        survey: { type: 'string', default: 'dossier-evaluation' },
        format: { type: 'string', default: 'xlsx' },
        content: { type: 'string', default: 'raw' },
        procedure: { type: 'string' },
        field: { type: 'string' },
        channel: { type: 'string' },
      },
    }));
  } catch (err) {
    return fail(`${err instanceof Error ? err.message : String(err)}\n\n${REPORT_USAGE}`);
  }
  if (!values.period) return fail(`Thiếu --period.\n\n${REPORT_USAGE}`);
  if (!values.out) return fail(`Thiếu --out.\n\n${REPORT_USAGE}`);
  if (values.format !== 'xlsx' && values.format !== 'csv') return fail('--format phải là xlsx hoặc csv');
  if (values.content !== 'raw' && values.content !== 'summary') return fail('--content phải là raw hoặc summary');
  let period;
  try {
    period = parsePeriod(values.period);
  } catch (err) {
    if (err instanceof PeriodError) return fail(err.message);
    throw err;
  }
  const channel = values.channel === undefined ? null : SurveyChannel.safeParse(values.channel);
  if (channel && !channel.success) return fail('--channel phải là messenger, zalo, web, api hoặc cli');
  const family = values.survey === 'all' ? null : (values.survey ?? null);
  if (family && deps.registry.family(family).length === 0) {
    const known = [...new Set(deps.registry.all().map((d) => d.family ?? d.id))].join(', ');
    return fail(`Không có phiếu khảo sát "${family}" (có: ${known}, hoặc all)`);
  }
  const unitIds = values.unit && values.unit.length > 0 ? [...new Set(values.unit)] : null;
  if (unitIds) {
    const found = new Set((await deps.db.query<{ id: string }>('SELECT id FROM units WHERE id = ANY($1::text[])', [unitIds])).map((r) => r.id));
    const unknown = unitIds.filter((u) => !found.has(u));
    if (unknown.length > 0) return fail(`Không có đơn vị: ${unknown.join(', ')}`);
  }

  const filter: ReportFilter = {
    period,
    family,
    unitIds,
    procedureCode: values.procedure ?? null,
    field: values.field?.normalize('NFC') ?? null,
    channel: channel?.success ? channel.data : null,
  };
  const opts = { filter, registry: deps.registry, now: deps.now?.() ?? new Date() };
  const write = async (out: Writable): Promise<SurveyReport | number> => {
    if (values.format === 'xlsx') return writeReportXlsx(deps.db, out, opts);
    if (values.content === 'summary') return writeSummaryCsv(deps.db, out, opts);
    return writeRawCsv(deps.db, out, opts);
  };

  if (values.out === '-') {
    const result = await write(io.stdout);
    io.stderr.write(`${describe(result, period.label)}\n`);
    return 0;
  }
  const target = path.resolve(values.out);
  const tmp = `${target}.${process.pid}.tmp`;
  const file = fs.createWriteStream(tmp);
  try {
    const result = await write(file);
    // Rejects when the file failed (the writers stop early then), so a half file is never renamed.
    await finished(file);
    fs.renameSync(tmp, target);
    io.stdout.write(`Đã ghi ${target}: ${describe(result, period.label)}\n`);
    return 0;
  } catch (err) {
    file.destroy();
    fs.rmSync(tmp, { force: true });
    return fail(`Không ghi được báo cáo: ${err instanceof Error ? err.message : String(err)}`, 1);
  }
}

function describe(result: SurveyReport | number, label: string): string {
  if (typeof result === 'number') return `${label}, ${result.toLocaleString('vi-VN')} dòng câu trả lời`;
  const rate = percent(result.total.rate);
  return `${label}, ${result.total.responses} phiếu (${result.total.valid} hợp lệ), tỷ lệ hài lòng ${rate === null ? '—' : `${String(rate).replace('.', ',')}%`}`;
}
