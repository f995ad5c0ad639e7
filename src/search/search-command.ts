// `motcua search`: the CLI face of the search. With --json it is a filter: one question per
// stdin line in, one JSON object per line out, in order (an empty line gives an empty result, so
// line numbers stay aligned). Without --json it prints a readable Vietnamese answer for a person.
import readline from 'node:readline';
import type { CatalogueProcedure } from '../catalogue/schema.js';
import type { Aspect, Searcher, SearchResult } from './types.js';

export interface SearchCommandArgs {
  query?: string;
  top: number;
  json: boolean;
}

export interface SearchCommandIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
}

export interface CatalogueLookup {
  byCode(code: string): CatalogueProcedure | undefined;
}

/** The JSON line printed for one question (the public `--json` contract). */
export function searchResultLine(result: SearchResult): string {
  return JSON.stringify({
    query: result.query,
    outcome: result.outcome,
    results: result.results.map((r) => ({ code: r.code, name: r.name, score: Math.round(r.score * 1000) / 1000 })),
  });
}

const ASPECT_LABELS: Record<Aspect, string> = {
  documents: 'hồ sơ, giấy tờ',
  fee: 'phí, lệ phí',
  time: 'thời hạn giải quyết',
  where: 'nơi nộp hồ sơ',
  online: 'nộp trực tuyến',
  steps: 'trình tự thực hiện',
  legal: 'căn cứ pháp lý',
  form: 'mẫu đơn, tờ khai',
  result: 'kết quả',
};

/** Human-readable Vietnamese rendering of one search result. */
export function formatSearchResult(result: SearchResult, catalogue: CatalogueLookup): string {
  const lines: string[] = [];
  const [best, ...others] = result.results;
  if (!best) {
    lines.push(`Không tìm thấy thủ tục phù hợp với câu hỏi: "${result.query.trim()}".`);
    lines.push('Bạn có thể diễn đạt lại, hoặc liên hệ cán bộ một cửa để được hướng dẫn.');
    return lines.join('\n') + '\n';
  }
  const describe = (code: string, name: string): string[] => {
    const p = catalogue.byCode(code);
    const out = [`${name} (mã ${code})`];
    if (p) out.push(`   Lĩnh vực: ${p.field}${p.levels.length > 0 ? ` · ${p.levels.join(', ')}` : ''}`);
    if (p?.summary) out.push(`   ${p.summary}`);
    return out;
  };
  if (result.outcome === 'answer') {
    lines.push('Thủ tục phù hợp nhất:');
    lines.push(...describe(best.code, best.name).map((l, i) => (i === 0 ? `  ${l}` : l)));
    if (others.length > 0) {
      lines.push('', 'Các thủ tục liên quan khác:');
      others.forEach((h, i) => lines.push(`  ${i + 2}. ${h.name} (mã ${h.code})`));
    }
  } else {
    lines.push(
      result.outcome === 'choices'
        ? 'Có thể bạn đang hỏi về một trong các thủ tục sau:'
        : 'Chưa tìm được thủ tục thật sự khớp với câu hỏi. Một vài gợi ý gần nhất:',
    );
    result.results.forEach((h, i) => {
      const d = describe(h.code, h.name);
      lines.push(`  ${i + 1}. ${d[0] ?? ''}`, ...d.slice(1).map((l) => `  ${l}`));
    });
    if (result.outcome === 'none') lines.push('', 'Bạn có thể diễn đạt lại, hoặc liên hệ cán bộ một cửa để được hướng dẫn.');
  }
  if (result.aspects.length > 0) lines.push('', `Bạn hỏi về: ${result.aspects.map((a) => ASPECT_LABELS[a]).join(', ')}.`);
  lines.push(`(Độ tin cậy: ${Math.round(result.confidence * 100)}%)`);
  return lines.join('\n') + '\n';
}

function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

export async function runSearchCommand(
  args: SearchCommandArgs,
  io: SearchCommandIo,
  searcher: Searcher,
  catalogue: CatalogueLookup,
): Promise<void> {
  const top = Math.max(1, Math.floor(args.top) || 3);
  if (!args.json) {
    const result = searcher.search(args.query ?? '', { top });
    await write(io.stdout, formatSearchResult(result, catalogue));
    return;
  }
  if (args.query !== undefined && args.query !== '') {
    await write(io.stdout, searchResultLine(searcher.search(args.query, { top })) + '\n');
    return;
  }
  const rl = readline.createInterface({ input: io.stdin, crlfDelay: Number.POSITIVE_INFINITY, terminal: false });
  for await (const line of rl) {
    await write(io.stdout, searchResultLine(searcher.search(line, { top })) + '\n');
  }
}
