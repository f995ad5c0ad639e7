// The one command line: `motcua serve | worker | import portal|xlsx <file> | search | chat`.
// Errors reach the person as one clear line and a non-zero exit code, never a stack trace.
import { parseArgs } from 'node:util';
import path from 'node:path';
import readline from 'node:readline';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { CatalogueError, importPortal, importXlsx, loadCatalogue } from './catalogue/index.js';
import { buildSearchIndex } from './search/index.js';
import { runSearchCommand } from './search/search-command.js';

const USAGE = `motcua — trợ lý một cửa cho xã/phường

Usage:
  motcua serve                         start the web server (widget, API) and, unless RUN_WORKERS=false, the workers
  motcua worker                        start the background workers only
  motcua import portal <file> [--out DIR] [--core-codes FILE]
                                       import national portal records (.jsonl or .jsonl.gz) into procedures/national
  motcua import xlsx <file> [--catalogue DIR]
                                       merge a portal "Danh sách TTHC" workbook into the catalogue
  motcua search [--top N] [--json] ["câu hỏi"]
                                       search the catalogue; --json reads one question per line from stdin
  motcua chat [--unit ID]              talk to the bot in the terminal (needs Redis and the database)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
    case 'worker': {
      const { runRole } = await import('./main.js');
      return runRole(command);
    }
    case 'import':
      return runImport(rest);
    case 'search':
      return runSearch(rest);
    case 'chat':
      return runChat(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}

async function runImport(args: string[]): Promise<number> {
  const [kind, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { out: { type: 'string' }, 'core-codes': { type: 'string' }, catalogue: { type: 'string' } },
  });
  const file = positionals[0];
  if (!file || (kind !== 'portal' && kind !== 'xlsx')) {
    process.stderr.write(USAGE);
    return 2;
  }
  const config = loadConfig();
  if (kind === 'portal') {
    const report = await importPortal({
      input: file,
      outDir: values.out ?? path.join(config.CATALOGUE_DIR, 'national'),
      ...(values['core-codes'] ? { coreCodesFile: values['core-codes'] } : {}),
    });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const report = await importXlsx({ input: file, catalogueDir: values.catalogue ?? config.CATALOGUE_DIR });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  }
  return 0;
}

async function runSearch(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { top: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } },
  });
  const top = Number(values.top);
  if (!Number.isInteger(top) || top < 1 || top > 20) {
    process.stderr.write('--top must be a whole number from 1 to 20\n');
    return 2;
  }
  const query = positionals.join(' ');
  if (!values.json && !query) {
    process.stderr.write('Give a question, e.g. motcua search "làm giấy khai sinh", or use --json with questions on stdin.\n');
    return 2;
  }
  const config = loadConfig();
  const catalogue = loadCatalogue(config.CATALOGUE_DIR);
  const searcher = buildSearchIndex(catalogue.procedures);
  await runSearchCommand(
    { ...(query ? { query } : {}), top, json: values.json },
    { stdin: process.stdin, stdout: process.stdout },
    searcher,
    catalogue,
  );
  return 0;
}

async function runChat(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { unit: { type: 'string' } } });
  const config = loadConfig();
  const logger = createLogger('warn');
  const { buildServices } = await import('./services.js');
  const services = await buildServices(config, logger);
  const unitId = values.unit ?? services.defaultUnitId;
  const userId = `cli-${process.pid}`;
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, prompt: '> ' });
  const show = (replies: Array<{ text: string; buttons: Array<{ title: string; payload: string }> }>): Map<string, string> => {
    const choices = new Map<string, string>();
    for (const r of replies) {
      process.stdout.write(`${r.text}\n`);
      r.buttons.forEach((b, i) => {
        const key = `#${i + 1}`;
        choices.set(key, b.payload);
        process.stdout.write(`  [${key}] ${b.title}\n`);
      });
    }
    return choices;
  };
  let buttons = new Map<string, string>();
  let n = 0;
  rl.prompt();
  for await (const line of rl) {
    const payload = buttons.get(line.trim());
    const replies = await services.engine.handle({
      kind: payload ? 'postback' : 'text',
      unitId,
      channel: 'web',
      accountId: 'cli',
      userId,
      messageId: `cli-${process.pid}-${n++}`,
      ...(payload ? { payload } : { text: line }),
      timestamp: Date.now(),
    });
    buttons = show(replies);
    rl.prompt();
  }
  await services.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof CatalogueError) {
      process.stderr.write(`${err.message}\n`);
    } else {
      process.stderr.write(`motcua: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.exitCode = 1;
  },
);
