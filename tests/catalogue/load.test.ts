import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CatalogueError } from '../../src/catalogue/catalogue-error.js';
import { importPortal } from '../../src/catalogue/import-portal.js';
import { loadCatalogue } from '../../src/catalogue/load.js';

const RECORDS = join(import.meta.dirname, '..', 'fixtures', 'portal', 'records.jsonl');

let work: string;
let base: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'motcua-load-'));
  base = join(work, 'base');
  await importPortal({ input: RECORDS, outDir: join(base, 'national') });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function catalogueWith(name: string, curated: Record<string, unknown> | null): Promise<string> {
  const dir = join(work, name);
  await mkdir(join(dir, 'national'), { recursive: true });
  for (const f of ['ho-tich.json', 'khieu-nai-to-cao.json']) {
    await writeFile(join(dir, 'national', f), await readFile(join(base, 'national', f), 'utf8'));
  }
  if (curated) {
    await mkdir(join(dir, 'curated'), { recursive: true });
    await writeFile(join(dir, 'curated', 'ho-tich.yaml'), stringify(curated));
  }
  return dir;
}

const channel = {
  kind: 'direct',
  label: 'Trực tiếp',
  time: { value: 3, unit: 'working_day', text: '3 ngày làm việc', unitFrom: 'curated' },
  fee: { stated: true, free: false, setByProvince: true, amountVnd: null, text: 'Theo mức do HĐND tỉnh quy định' },
  description: '',
};

describe('loadCatalogue', () => {
  it('loads national files without a curated folder', async () => {
    const c = loadCatalogue(await catalogueWith('plain', null));
    expect(c.size).toBe(5);
    expect(c.procedures.map((p) => p.code)).toEqual(['1.000094', '1.000178', '1.001193', '1.004873', '2.000635']);
    const ks = c.byCode('1.001193');
    expect(ks?.name).toBe('Thủ tục đăng ký khai sinh');
    expect([ks?.summary, ks?.aliases, ks?.curated]).toEqual([null, [], false]);
    expect(c.byCode('9.999999')).toBeUndefined();
  });

  it('loads the whole generated directory', () => {
    expect(loadCatalogue(base).size).toBe(12);
    expect(loadCatalogue(join(work, 'missing')).size).toBe(0);
  });

  it('merges curated summary, aliases and channels over the national record, and adds records', async () => {
    const khaiSinh = loadCatalogue(base).byCode('1.001193');
    if (!khaiSinh) throw new Error('fixture lacks 1.001193');
    const { summary: _s, aliases: _a, curated: _c, ...plain } = khaiSinh;
    const record = { ...plain, code: '2.000744', name: 'Trợ cấp xã hội hằng tháng', field: 'Bảo trợ xã hội', origin: 'curated' };
    const dir = await catalogueWith('merged', {
      procedures: [
        { code: '1.000094', summary: 'Đăng ký kết hôn với người nước ngoài ở vùng biên giới.', aliases: ['cưới người nước ngoài'], channels: [channel] },
        { code: '2.000744', summary: 'Trợ cấp hằng tháng cho đối tượng bảo trợ xã hội.', record },
      ],
    });
    const c = loadCatalogue(dir);
    expect(c.size).toBe(6);
    const kh = c.byCode('1.000094');
    expect(kh?.summary).toBe('Đăng ký kết hôn với người nước ngoài ở vùng biên giới.');
    expect(kh?.aliases).toEqual(['cưới người nước ngoài']);
    expect(kh?.curated).toBe(true);
    expect(kh?.channels).toHaveLength(1);
    expect(kh?.channels[0]?.time.text).toBe('3 ngày làm việc');
    expect(kh?.name).toBe('Thủ tục đăng ký kết hôn có yếu tố nước ngoài tại khu vực biên giới');
    expect(c.byCode('2.000744')?.name).toBe('Trợ cấp xã hội hằng tháng');
  });

  it('restricts to a subset of codes', async () => {
    const c = loadCatalogue(await catalogueWith('subset', null), { codes: ['1.001193', '2.000635', '9.000000'] });
    expect(c.procedures.map((p) => p.code)).toEqual(['1.001193', '2.000635']);
  });

  it('rejects a curated entry for a code that is neither imported nor carries a record', async () => {
    const dir = await catalogueWith('unknown', { procedures: [{ code: '9.123456', summary: 'Không có.' }] });
    const err = catchError(() => loadCatalogue(dir));
    expect(err?.code).toBe('CATALOGUE_UNKNOWN_CODE');
    expect(err?.file).toBe(join(dir, 'curated', 'ho-tich.yaml'));
    expect(err?.field).toBe('procedures.0.code');
  });

  it('names the file and zod path of a malformed curated field', async () => {
    const bad = { ...channel, time: { ...channel.time, unit: 'tuần' } };
    const dir = await catalogueWith('badyaml', { procedures: [{ code: '1.001193', summary: 'Khai sinh.', channels: [bad] }] });
    const err = catchError(() => loadCatalogue(dir));
    expect(err?.code).toBe('CATALOGUE_INVALID_RECORD');
    expect(err?.field).toBe('procedures.0.channels.0.time.unit');
    expect(err?.message).toContain('ho-tich.yaml');
  });

  it('names the file and zod path of a malformed national file', async () => {
    const dir = await catalogueWith('badjson', null);
    const file = join(dir, 'national', 'ho-tich.json');
    const data = JSON.parse(await readFile(file, 'utf8'));
    data.procedures[1].channels[0].fee.amountVnd = 'tám nghìn';
    await writeFile(file, JSON.stringify(data));
    const err = catchError(() => loadCatalogue(dir));
    expect([err?.file, err?.field]).toEqual([file, 'procedures.1.channels.0.fee.amountVnd']);
  });

  it('rejects a YAML syntax error with the file named', async () => {
    const dir = await catalogueWith('syntax', null);
    await mkdir(join(dir, 'curated'), { recursive: true });
    await writeFile(join(dir, 'curated', 'x.yaml'), 'procedures: [\n  - code: "1.001193"\n');
    const err = catchError(() => loadCatalogue(dir));
    expect([err?.code, err?.file]).toEqual(['CATALOGUE_BAD_YAML', join(dir, 'curated', 'x.yaml')]);
  });
});

function catchError(fn: () => unknown): CatalogueError | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof CatalogueError) return e;
    throw e;
  }
  return undefined;
}
