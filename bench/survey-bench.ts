// Survey exports and reports at province scale (npm run bench:surveys):
// 1. export of ~1,000,000 stored answers to CSV through writeRawCsv (keyset pages, streamed),
//    in a child process so its peak RSS is its own, beside PostgreSQL's own
//    `COPY (same rows) TO STDOUT` through psql, in the same run;
// 2. the quarterly report (buildSurveyReport: every unit side by side, levels, Điều 15 indices,
//    trend by month) for 100 units over 1,000,000 responses, all of them in the quarter.
// Creates its own database (CREATE DATABASE over trust auth at 127.0.0.1:5432), fills it with
// generate_series, prints a table, drops the database unless BENCH_KEEP_DB=1. Asserts nothing.
import { fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { openDatabase } from '../src/store/database.js';
import { migrate } from '../src/store/migrate.js';
import { UnitRepository } from '../src/store/unit-repository.js';
import { loadSurveyRegistry } from '../src/surveys/definition-loader.js';
import { writeRawCsv, writeReportXlsx } from '../src/surveys/export.js';
import { parsePeriod } from '../src/surveys/period.js';
import { buildSurveyReport, type ReportFilter } from '../src/surveys/report.js';
import { SurveyRepository } from '../src/surveys/survey-repository.js';

const HOST = process.env.BENCH_PG_HOST ?? '127.0.0.1';
const PORT = Number(process.env.BENCH_PG_PORT ?? 5432);
const USER = process.env.BENCH_PG_USER ?? 'postgres';
const DB = 'motcua_bench_surveys';
const url = (db: string) => `postgres://${USER}@${HOST}:${PORT}/${db}`;
const RESPONSES = Number(process.env.BENCH_RESPONSES ?? 1_000_000);
const UNITS = 100;
const EXPORT_UNITS = Array.from({ length: 20 }, (_, i) => `xa-${String(i + 1).padStart(3, '0')}`);
const PERIOD = '2026-Q3';
const KEY = 'bench-survey-respondent-key-0123456789';
// The parent's scratch folder (the export children write into it through BENCH_TMP).
const tmpDir = process.argv.includes('--child') ? '' : fs.mkdtempSync(path.join(os.tmpdir(), 'survey-bench-'));

const exportFilter = (): ReportFilter => ({ period: parsePeriod(PERIOD), family: 'dossier-evaluation', unitIds: EXPORT_UNITS });

interface ChildResult {
  kind: 'csv' | 'xlsx';
  rows: number;
  bytes: number;
  ms: number;
  maxRssMb: number;
}

// --- the child: one export, its own memory ------------------------------------------------------

async function child(kind: 'csv' | 'xlsx'): Promise<void> {
  const db = await openDatabase({ url: url(DB) });
  const registry = loadSurveyRegistry();
  const file = path.join(process.env.BENCH_TMP ?? os.tmpdir(), `export.${kind}`);
  const out = fs.createWriteStream(file);
  const done = new Promise<void>((resolve, reject) => {
    out.on('close', () => resolve());
    out.on('error', reject);
  });
  const t0 = performance.now();
  let rows = 0;
  if (kind === 'csv') rows = await writeRawCsv(db, out, { filter: exportFilter(), registry });
  else await writeReportXlsx(db, out, { filter: exportFilter(), registry });
  await done;
  const ms = performance.now() - t0;
  await db.close();
  const result: ChildResult = { kind, rows, bytes: fs.statSync(file).size, ms, maxRssMb: process.resourceUsage().maxRSS / 1024 };
  fs.rmSync(file, { force: true });
  process.send?.(result);
}

function runChild(kind: 'csv' | 'xlsx'): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const c = fork(process.argv[1] ?? '', ['--child', kind], { env: { ...process.env, BENCH_TMP: tmpDir }, stdio: 'inherit' });
    c.once('message', (m: ChildResult) => resolve(m));
    c.once('error', reject);
    c.once('exit', (code) => {
      if (code !== 0) reject(new Error(`export child exited with ${code}`));
    });
  });
}

// --- the parent ----------------------------------------------------------------------------------

async function fill(): Promise<number> {
  const admin = new pg.Client({ connectionString: url('postgres') });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB}`);
  await admin.end();

  const db = await openDatabase({ url: url(DB) });
  await migrate(db);
  await new UnitRepository(db).upsert(
    Array.from({ length: UNITS }, (_, i) => ({
      id: `xa-${String(i + 1).padStart(3, '0')}`,
      name: `UBND xã Thử Nghiệm ${i + 1}`,
      province: 'Tỉnh Mẫu',
      address: null,
      phone: null,
      email: null,
      hours: null,
      portalUrl: null,
      website: null,
      procedureCodes: null,
    })),
  );
  await new SurveyRepository(db, loadSurveyRegistry(), { respondentKey: KEY }).syncDefinitions();
  await db.close();

  const c = new pg.Client({ connectionString: url(DB) });
  await c.connect();
  const t0 = performance.now();
  // The rows are consistent by construction: skip the foreign-key triggers while filling.
  await c.query('SET session_replication_role = replica');
  await c.query('SET synchronous_commit = off');
  const q = parsePeriod(PERIOD);
  const step = (q.to.getTime() - q.from.getTime()) / 1000 / RESPONSES;
  await c.query(
    `INSERT INTO survey_responses (id, unit_id, definition_id, definition_version, family, occasion_kind, occasion, respondent, channel,
       procedure_code, field, status, overall_level, overall_satisfied, index_points, dossier_counted, started_at, updated_at, completed_at)
     SELECT i + 1, 'xa-' || lpad((1 + i % ${UNITS})::text, 3, '0'),
       CASE WHEN i % 5 = 0 THEN 'dossier-evaluation-5' ELSE 'dossier-evaluation' END, 1, 'dossier-evaluation', 'dossier',
       'HS-' || lpad(i::text, 8, '0'), md5(i::text) || md5('r' || i), (ARRAY['messenger', 'zalo', 'web'])[1 + i % 3],
       (ARRAY['1.001193', '1.000894', '1.004873', '2.000488', '1.003003'])[1 + (i / 7) % 5],
       (ARRAY['Hộ tịch', 'Hộ tịch', 'Hộ tịch', 'Đất đai', 'Chứng thực'])[1 + (i / 7) % 5],
       'completed', lvl, lvl IN ('very_satisfied', 'satisfied'),
       ARRAY[p1, NULL, p3, p4, NULL, NULL, CASE WHEN h % 23 = 0 THEN 0 ELSE p1 END, NULL, NULL]::smallint[], true,
       t - interval '3 minutes', t, t
     FROM (
       SELECT i, h, t,
         CASE WHEN h % 10 < 6 THEN 2 WHEN h % 10 < 9 THEN 1 ELSE 0 END AS p1,
         CASE WHEN (h / 10) % 10 < 7 THEN 2 WHEN (h / 10) % 10 < 9 THEN 1 ELSE 0 END AS p3,
         CASE WHEN (h / 100) % 10 < 8 THEN 2 WHEN (h / 100) % 10 < 9 THEN 1 ELSE 0 END AS p4,
         CASE WHEN i % 5 = 0
           THEN CASE WHEN h < 400 THEN 'very_satisfied' WHEN h < 800 THEN 'satisfied' WHEN h < 900 THEN 'neutral' WHEN h < 970 THEN 'dissatisfied' ELSE 'very_dissatisfied' END
           ELSE CASE WHEN h < 450 THEN 'very_satisfied' WHEN h < 910 THEN 'satisfied' ELSE 'dissatisfied' END
         END AS lvl
       FROM (SELECT i, (i * 2654435761) % 1000 AS h, $1::timestamptz + i * ($2 * interval '1 second') AS t FROM generate_series(0, $3 - 1) AS i) s
     ) p`,
    [q.from, step, RESPONSES],
  );
  await c.query(
    `INSERT INTO survey_answers (response_id, question_id, position, kind, index_no, option_id, value, answered_at)
     SELECT r.id, x.qid, x.pos, 'index', x.idx,
       CASE x.idx WHEN 1 THEN (ARRAY['longer', 'equal', 'shorter'])[1 + x.v]
                  WHEN 3 THEN (ARRAY['more-than-once', 'once', 'none'])[1 + x.v]
                  WHEN 4 THEN (ARRAY['more-than-one', 'one-stop-only', 'none'])[1 + x.v]
                  ELSE CASE WHEN x.v = 0 AND r.index_points[1] <> 0 THEN 'met' ELSE 'not-met' END END,
       x.v, r.completed_at - interval '1 minute'
     FROM survey_responses r
     CROSS JOIN LATERAL (VALUES ('total-time', 0, 1, r.index_points[1]), ('contact-count', 1, 3, r.index_points[3]),
                                ('agency-count', 2, 4, r.index_points[4]), ('harassment', 3, 7, r.index_points[7])) AS x(qid, pos, idx, v)`,
  );
  await c.query(
    `INSERT INTO survey_answers (response_id, question_id, position, kind, role, option_id, value, satisfied, level, answered_at)
     SELECT id, 'overall', 4, 'satisfaction', 'overall', replace(overall_level, '_', '-'),
       CASE overall_level WHEN 'very_satisfied' THEN 5 WHEN 'satisfied' THEN 4 WHEN 'neutral' THEN 3 WHEN 'dissatisfied' THEN 2 ELSE 1 END,
       overall_satisfied, overall_level, completed_at - interval '1 minute'
     FROM survey_responses`,
  );
  // Comments (digits already masked, as stored), some with commas, quotes and a leading '='.
  await c.query(
    `INSERT INTO survey_answers (response_id, question_id, position, kind, comment, answered_at)
     SELECT id, 'comment', 5, 'comment',
       (ARRAY['Cán bộ nhiệt tình, hướng dẫn rõ ràng.', 'Phải đi lại # lần, "hơi" mất thời gian', '=Cần thêm ghế ngồi chờ', 'Rất tốt; cảm ơn!'])[1 + (id / 20) % 4],
       completed_at - interval '1 minute'
     FROM survey_responses WHERE id % 20 = 0`,
  );
  await c.query(`SELECT setval('survey_responses_id_seq', (SELECT max(id) FROM survey_responses))`);
  await c.query('SET session_replication_role = origin');
  await c.query('VACUUM ANALYZE survey_responses');
  await c.query('VACUUM ANALYZE survey_answers');
  await c.query('CHECKPOINT');
  await c.end();
  return performance.now() - t0;
}

function copyBaseline(): Promise<{ ms: number; bytes: number; rows: number }> {
  const q = parsePeriod(PERIOD);
  const units = EXPORT_UNITS.map((u) => `'${u}'`).join(', ');
  const sql = `COPY (
    SELECT r.id, r.unit_id, u.name, r.definition_id, r.definition_version, r.occasion_kind, r.occasion, r.channel, r.procedure_code, r.field,
      to_char(r.completed_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'DD/MM/YYYY HH24:MI:SS'), a.position + 1, a.question_id, a.index_no,
      a.option_id, a.value, a.satisfied, a.level, a.skipped, a.comment
    FROM survey_responses r JOIN units u ON u.id = r.unit_id JOIN survey_answers a ON a.response_id = r.id
    WHERE r.status = 'completed' AND r.completed_at >= '${q.from.toISOString()}' AND r.completed_at < '${q.to.toISOString()}'
      AND r.family = 'dossier-evaluation' AND r.unit_id IN (${units})
    ORDER BY r.completed_at, r.id, a.position
  ) TO STDOUT WITH (FORMAT csv, HEADER)`;
  const file = path.join(tmpDir, 'copy.csv');
  return new Promise((resolve, reject) => {
    const out = fs.createWriteStream(file);
    const t0 = performance.now();
    const p = spawn('psql', ['-X', '-q', '-h', HOST, '-p', String(PORT), '-U', USER, '-d', DB, '-c', sql], { stdio: ['ignore', 'pipe', 'inherit'] });
    p.stdout.pipe(out);
    p.once('error', reject);
    out.once('close', () => {
      const ms = performance.now() - t0;
      const text = fs.readFileSync(file, 'utf8');
      // Lines minus the header (no comment holds a line break).
      const rows = text.split('\n').length - 2;
      const bytes = Buffer.byteLength(text);
      fs.rmSync(file, { force: true });
      resolve({ ms, bytes, rows });
    });
  });
}

async function reportTimes(runs: number): Promise<{ times: number[]; responses: number; units: number; rate: number | null }> {
  const db = await openDatabase({ url: url(DB) });
  const registry = loadSurveyRegistry();
  const filter: ReportFilter = { period: parsePeriod(PERIOD), family: 'dossier-evaluation' };
  const first = await buildSurveyReport(db, filter, { registry }); // warm-up (plans, caches)
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await buildSurveyReport(db, filter, { registry });
    times.push(performance.now() - t0);
  }
  await db.close();
  return { times, responses: first.total.responses, units: first.units.length, rate: first.total.rate };
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const c = new pg.Client({ connectionString: url('postgres') });
  await c.connect();
  const version = (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?';
  await c.end();
  console.log(`Survey bench — Node ${process.version}, PostgreSQL ${version}, ${os.cpus().length} CPU, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB`);
  console.log(`Filling ${DB}: ${fmt(RESPONSES)} completed responses in ${PERIOD} over ${UNITS} units, 5 answers each (+ a comment on 1 in 20)…`);
  const fillMs = await fill();
  console.log(`  filled in ${fmt(fillMs / 1000, 1)} s`);

  const csv = await runChild('csv');
  const copy = await copyBaseline();
  const xlsx = process.env.BENCH_XLSX === '0' ? null : await runChild('xlsx');
  const report = await reportTimes(5);

  const rows: Array<[string, string, string, string, string]> = [
    ['motcua CSV export (writeRawCsv)', `${fmt(csv.rows)} rows, ${fmt(csv.bytes / 2 ** 20, 1)} MiB`, `${fmt(csv.ms / 1000, 2)} s`, `${fmt(csv.rows / (csv.ms / 1000))} rows/s`, `peak RSS ${fmt(csv.maxRssMb)} MB`],
    ['PostgreSQL COPY … TO STDOUT (psql)', `${fmt(copy.rows)} rows, ${fmt(copy.bytes / 2 ** 20, 1)} MiB`, `${fmt(copy.ms / 1000, 2)} s`, `${fmt(copy.rows / (copy.ms / 1000))} rows/s`, 'no labels, no BOM/guard'],
  ];
  if (xlsx) {
    rows.push(['motcua XLSX export (summary + raw)', `${fmt(xlsx.bytes / 2 ** 20, 1)} MiB`, `${fmt(xlsx.ms / 1000, 2)} s`, `${fmt(csv.rows / (xlsx.ms / 1000))} rows/s`, `peak RSS ${fmt(xlsx.maxRssMb)} MB`]);
  }
  rows.push([
    `Quarterly report, ${report.units} units`,
    `${fmt(report.responses)} responses`,
    `median ${fmt(median(report.times))} ms`,
    `min ${fmt(Math.min(...report.times))} / max ${fmt(Math.max(...report.times))} ms`,
    `rate ${report.rate === null ? '—' : fmt(report.rate * 100, 2)} %`,
  ]);
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0), 8));
  const line = (r: readonly string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log('');
  console.log(line(['what', 'volume', 'time', 'throughput', 'note']));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log('');
  console.log(`Targets: CSV of 1,000,000 answers < 20 s with peak RSS < 300 MB; quarterly report < 1 s.`);
  console.log(`CSV / COPY time ratio: ${fmt(csv.ms / copy.ms, 1)}×`);

  if (process.env.BENCH_KEEP_DB !== '1') {
    const admin = new pg.Client({ connectionString: url('postgres') });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await admin.end();
  }
  fs.rmSync(tmpDir, { recursive: true, force: true });
}

const childIndex = process.argv.indexOf('--child');
if (childIndex >= 0) {
  const kind = process.argv[childIndex + 1] === 'xlsx' ? 'xlsx' : 'csv';
  child(kind).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
