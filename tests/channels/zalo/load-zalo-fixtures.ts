// Loads the real Zalo webhook samples of ../shared/data/webhooks as (name, raw bytes, headers).
// A sample's body is a JSON string whose exact bytes matter, or an object (a code literal).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const repoRoot = path.resolve(import.meta.dirname, '..', '..', '..');
export const WEBHOOKS_DIR = path.resolve(repoRoot, '../shared/data/webhooks');

const Sample = z.object({
  headers: z.record(z.string(), z.string()).default({}),
  body: z.union([z.string(), z.record(z.string(), z.unknown())]),
  app_id: z.string().optional(),
  timestamp: z.string().optional(),
});

export interface ZaloSample {
  name: string;
  raw: Buffer;
  headers: Record<string, string>;
  appId?: string;
  timestamp?: string;
}

export function loadZaloSamples(): ZaloSample[] {
  return readdirSync(WEBHOOKS_DIR)
    .filter((f) => f.startsWith('zalo-') && f.endsWith('.json'))
    .sort()
    .map((file) => {
      const s = Sample.parse(JSON.parse(readFileSync(path.join(WEBHOOKS_DIR, file), 'utf8')));
      const raw = Buffer.from(typeof s.body === 'string' ? s.body : JSON.stringify(s.body), 'utf8');
      return {
        name: file.replace(/\.json$/, ''),
        raw,
        headers: s.headers,
        ...(s.app_id ? { appId: s.app_id } : {}),
        ...(s.timestamp ? { timestamp: s.timestamp } : {}),
      };
    });
}
