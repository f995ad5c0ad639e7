// Replaces a whole directory with new content so that readers see either the old catalogue
// or the new one, never a half-written mix, and a failed import leaves the old one untouched:
// everything is written into a temporary directory beside the target, then swapped in.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeDirAtomically(outDir: string, files: ReadonlyMap<string, string>): Promise<void> {
  const parent = dirname(outDir);
  await mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = join(parent, `.${basename(outDir)}.tmp-${tag}`);
  await mkdir(tmp);
  try {
    for (const [name, content] of files) {
      if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw new Error(`bad file name ${name}`);
      await writeFile(join(tmp, name), content, 'utf8');
    }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  if (!existsSync(outDir)) {
    await rename(tmp, outDir);
    return;
  }
  const old = join(parent, `.${basename(outDir)}.old-${tag}`);
  await rename(outDir, old);
  try {
    await rename(tmp, outDir);
  } catch (err) {
    await rename(old, outDir);
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  await rm(old, { recursive: true, force: true });
}
