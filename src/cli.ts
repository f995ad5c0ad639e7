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
import { openDatabase } from './store/database.js';
import { migrate } from './store/migrate.js';
import { UnitRepository } from './store/unit-repository.js';
import { AccountPlatform, AccountRepository } from './store/account-repository.js';
import { SecretBox } from './store/secret-box.js';
import { Unit, loadUnitsFile } from './units/unit.js';
import { ChannelName } from './channels/channel.js';
import { StaffRepository } from './store/staff-repository.js';
import { AuditRepository } from './store/audit-repository.js';
import { Role } from './admin/auth/roles.js';

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
  motcua unit add --id ID --name NAME [--province P] [--address A] [--phone T] [--hours H] [--portal-url URL]
                                       add or update a commune / ward
  motcua unit list
  motcua account add --unit ID --platform messenger|zalo|web --external-id ID [--name N]
                     [--page-token -] [--access-token -] [--refresh-token -] [--expires-in SECONDS]
                                       connect a Facebook Page / Zalo OA to a unit; a token given as "-"
                                       is read from standard input (keeps it out of shell history)
  motcua account list --unit ID
  motcua user add <username> --role admin|officer|reporter [--unit ID]
                                       create a staff account; prints its one-time password
  motcua token add <username> --name NAME
                                       create an API token (Authorization: Bearer); printed once
  motcua handoff list --unit ID        open requests to talk to an officer
  motcua handoff close <id>            close one: the bot answers that citizen again
  motcua account connect-zalo --unit ID [--hours 24]
  motcua report surveys --period 2026-Q3 --out FILE|- [--unit ID …] [--survey dossier-evaluation|sipas|all]
                       [--format xlsx|csv] [--content raw|summary] [--procedure CODE] [--field F] [--channel C]
                                       satisfaction survey figures for the quarterly/6-month/yearly report
                                       print a signed link an OA admin opens to connect a Zalo OA (OAuth v4, PKCE)
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
    case 'unit':
      return runUnit(rest);
    case 'account':
      return runAccount(rest);
    case 'handoff':
      return runHandoff(rest);
    case 'user':
      return runUser(rest);
    case 'report':
      return runReport(rest);
    case 'token':
      return runToken(rest);
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

async function withStore<T>(fn: (store: { units: UnitRepository; accounts: AccountRepository; staff: StaffRepository; audit: AuditRepository }) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openDatabase(config.DATABASE_URL ? { url: config.DATABASE_URL } : { dataDir: path.join(config.dataDir, 'pglite') });
  try {
    await migrate(db);
    const box = new SecretBox(config.SECRET_KEY ?? 'motcua-development-secret-not-for-production');
    // The units of UNITS_FILE exist for every command, as they do for the server (seeded only
    // when absent: the database holds officers' later edits).
    const seed = new UnitRepository(db);
    for (const u of loadUnitsFile(config.UNITS_FILE)) await seed.create(u);
    return await fn({ units: new UnitRepository(db), accounts: new AccountRepository(db, box), staff: new StaffRepository(db), audit: new AuditRepository(db) });
  } finally {
    await db.close();
  }
}

async function runUnit(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'list') {
    return withStore(async ({ units }) => {
      for (const u of await units.list()) process.stdout.write(`${u.id}\t${u.name}\n`);
      return 0;
    });
  }
  if (action !== 'add') {
    process.stderr.write(USAGE);
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      id: { type: 'string' },
      name: { type: 'string' },
      province: { type: 'string' },
      address: { type: 'string' },
      phone: { type: 'string' },
      email: { type: 'string' },
      hours: { type: 'string' },
      'portal-url': { type: 'string' },
      website: { type: 'string' },
    },
  });
  const parsed = Unit.safeParse({
    id: values.id,
    name: values.name,
    province: values.province ?? null,
    address: values.address ?? null,
    phone: values.phone ?? null,
    email: values.email ?? null,
    hours: values.hours ?? null,
    portalUrl: values['portal-url'] ?? null,
    website: values.website ?? null,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    process.stderr.write(`--${String(issue?.path[0] ?? '')}: ${issue?.message ?? 'không hợp lệ'}\n`);
    return 2;
  }
  const unit = { ...parsed.data, name: parsed.data.name.normalize('NFC') };
  return withStore(async ({ units }) => {
    await units.upsert([unit]);
    process.stdout.write(`Đã lưu đơn vị ${unit.id} (${unit.name}).\n`);
    return 0;
  });
}

async function runUser(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { role: { type: 'string' }, unit: { type: 'string' } } });
  const role = Role.safeParse(values.role);
  const username = positionals[0]?.toLowerCase();
  if (action !== 'add' || !username || !role.success) {
    process.stderr.write(`Need a username and --role admin|officer|reporter.\n\n${USAGE}`);
    return 2;
  }
  const unitId = values.unit ?? null;
  return withStore(async ({ units, staff, audit }) => {
    if (unitId && !(await units.get(unitId))) {
      process.stderr.write(`Không có đơn vị "${unitId}".\n`);
      return 1;
    }
    const created = await staff.create({ username, role: role.data, unitId }).catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      return null;
    });
    if (created === null) return 2;
    if (!created) {
      process.stderr.write(`Tên đăng nhập "${username}" đã có.\n`);
      return 1;
    }
    await audit.record({ actor: null, action: 'user.created', unitId, target: username, detail: { role: role.data, via: 'cli' } });
    process.stdout.write(`Đã tạo ${username} (${role.data}${unitId ? `, ${unitId}` : ', toàn tỉnh'}).\nMật khẩu dùng một lần: ${created.oneTimePassword}\n`);
    return 0;
  });
}

async function runToken(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { name: { type: 'string' } } });
  const username = positionals[0]?.toLowerCase();
  if (action !== 'add' || !username || !values.name) {
    process.stderr.write(`Need a username and --name.\n\n${USAGE}`);
    return 2;
  }
  const name = values.name;
  return withStore(async ({ staff, audit }) => {
    const user = await staff.findByUsername(username);
    if (!user) {
      process.stderr.write(`Không có tài khoản "${username}".\n`);
      return 1;
    }
    const token = await staff.createApiToken(user.id, name);
    await audit.record({ actor: user.id, action: 'token.created', unitId: user.unitId, target: name, detail: { via: 'cli' } });
    process.stdout.write(`${token.token}\n`);
    return 0;
  });
}

async function runHandoff(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { unit: { type: 'string' } } });
  const config = loadConfig();
  const logger = createLogger('warn');
  const { buildServices } = await import('./services.js');
  const services = await buildServices(config, logger);
  try {
    if (action === 'list' && values.unit) {
      for (const h of await services.handoffs.open(values.unit)) {
        process.stdout.write(`${h.id}\t${h.channel}\t${h.createdAt.toISOString()}\t${h.text}\n`);
      }
      return 0;
    }
    const id = Number(positionals[0]);
    if (action === 'close' && Number.isInteger(id) && id > 0) {
      const closed = await services.handoffs.close({ id, unitId: null, by: 'cli' });
      if (!closed) {
        process.stderr.write(`Không có yêu cầu gặp cán bộ số ${id} đang mở.\n`);
        return 1;
      }
      const channel = ChannelName.safeParse(closed.channel);
      if (channel.success) await services.state.clear({ unitId: closed.unitId, channel: channel.data, userId: closed.userRef });
      process.stdout.write(`Đã đóng yêu cầu ${id}; trợ lý trả lời lại người dân này.\n`);
      return 0;
    }
    process.stderr.write(USAGE);
    return 2;
  } finally {
    await services.close();
  }
}

async function readStdinOnce(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8').trim();
}

async function runAccount(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      unit: { type: 'string' },
      platform: { type: 'string' },
      'external-id': { type: 'string' },
      name: { type: 'string' },
      'page-token': { type: 'string' },
      'access-token': { type: 'string' },
      'refresh-token': { type: 'string' },
      'expires-in': { type: 'string' },
      hours: { type: 'string' },
    },
  });
  if (action === 'connect-zalo') {
    const config = loadConfig();
    if (!values.unit) {
      process.stderr.write('--unit is required\n');
      return 2;
    }
    const unitId = values.unit;
    const exists = await withStore(async ({ units }) => Boolean(await units.get(unitId)));
    if (!exists) {
      process.stderr.write(`Không có đơn vị "${unitId}".\n`);
      return 1;
    }
    const { signConnectToken } = await import('./channels/connect/connect-link.js');
    const { devSecret } = await import('./services.js');
    const hours = Number(values.hours ?? '24');
    const token = signConnectToken(config.SECRET_KEY ?? devSecret, unitId, Math.round(hours * 3600));
    const base = (config.PUBLIC_BASE_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, '');
    process.stdout.write(`${base}/oauth/zalo/start?t=${token}\n`);
    return 0;
  }
  if (action === 'list') {
    if (!values.unit) {
      process.stderr.write('--unit is required\n');
      return 2;
    }
    const unitId = values.unit;
    return withStore(async ({ accounts }) => {
      for (const a of await accounts.listByUnit(unitId)) process.stdout.write(`${a.platform}\t${a.externalId}\t${a.status}\t${a.name ?? ''}\n`);
      return 0;
    });
  }
  const platform = AccountPlatform.safeParse(values.platform);
  const externalId = values['external-id'];
  if (action !== 'add' || !values.unit || !platform.success || !externalId || !/^[A-Za-z0-9_-]{1,64}$/.test(externalId)) {
    process.stderr.write(`Need --unit, --platform messenger|zalo|web and --external-id (digits for a Page or OA).\n\n${USAGE}`);
    return 2;
  }
  // A token given as "-" is read from standard input, so it never sits in shell history.
  const fromArg = async (v: string | undefined): Promise<string | undefined> => (v === '-' ? readStdinOnce() : v);
  const pageAccessToken = await fromArg(values['page-token']);
  const accessToken = await fromArg(values['access-token']);
  const refreshToken = await fromArg(values['refresh-token']);
  const expiresIn = values['expires-in'] ? Number(values['expires-in']) : undefined;
  if (expiresIn !== undefined && (!Number.isFinite(expiresIn) || expiresIn <= 0)) {
    process.stderr.write('--expires-in must be a number of seconds\n');
    return 2;
  }
  const unitId = values.unit;
  return withStore(async ({ units, accounts }) => {
    if (!(await units.get(unitId))) {
      process.stderr.write(`Không có đơn vị "${unitId}". Thêm bằng: motcua unit add --id ${unitId} --name "..."\n`);
      return 1;
    }
    const secrets = {
      ...(pageAccessToken ? { pageAccessToken } : {}),
      ...(accessToken ? { accessToken } : {}),
      ...(refreshToken ? { refreshToken } : {}),
      ...(accessToken ? { accessExpiresAt: new Date(Date.now() + (expiresIn ?? 600) * 1000).toISOString() } : {}),
    };
    const account = await accounts.upsert({ unitId, platform: platform.data, externalId, name: values.name ?? null, secrets });
    process.stdout.write(`Đã kết nối ${account.platform} ${account.externalId} với đơn vị ${unitId}.\n`);
    return 0;
  });
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

async function runReport(args: string[]): Promise<number> {
  const { runReportCommand, loadSurveyRegistry } = await import('./surveys/index.js');
  const config = loadConfig();
  const db = await openDatabase(config.DATABASE_URL ? { url: config.DATABASE_URL } : { dataDir: path.join(config.dataDir, 'pglite') });
  try {
    await migrate(db);
    const seed = new UnitRepository(db);
    for (const u of loadUnitsFile(config.UNITS_FILE)) await seed.create(u);
    return await runReportCommand(args, { stdout: process.stdout, stderr: process.stderr }, { db, registry: loadSurveyRegistry(config.SURVEYS_DIR) });
  } finally {
    await db.close();
  }
}
