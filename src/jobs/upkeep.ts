// Keeping the queues healthy across Redis outages:
// - `errorReporter`: BullMQ queues and workers emit 'error' on every failed reconnect; without a
//   listener BullMQ prints each one to stderr (hundreds a minute during an outage). One line per
//   emitter when errors start, then a count at most once per interval, and one line when they stop.
// - `keepSchedulers`: the periodic jobs (broadcast tick, dossier notices tick, nightly purge) live
//   in Redis as job schedulers. A Redis that comes back empty (no persistence, a failover to an
//   empty replica, a FLUSHALL) loses them and nothing periodic would run again until a worker
//   restarted. Each worker checks them every minute and re-creates any that is missing.
import type { EventEmitter } from 'node:events';

export type UpkeepLog = (level: 'warn' | 'error' | 'info', event: string, fields: Record<string, string | number>) => void;

export interface ErrorReporter {
  /** Listens to 'error' on each emitter, under its name (e.g. 'outbound worker'). */
  watch(name: string, ...emitters: Array<EventEmitter | undefined>): void;
  /** One error of `name`, for code that takes an error callback rather than an emitter. */
  report(name: string, err: unknown): void;
  /** Reports the errors counted since the last line (called by the timer; tests call it). */
  flush(): void;
  stop(): void;
}

/** A message fit for logs: the error's code or first line, never its payload. */
function describe(err: unknown): string {
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code) return code;
  }
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]!.slice(0, 200);
}

export function errorReporter(log: UpkeepLog, options: { intervalMs?: number; now?: () => number } = {}): ErrorReporter {
  const intervalMs = options.intervalMs ?? 60_000;
  /** Per name: errors since the last line, the last one's description, and whether it is failing. */
  const state = new Map<string, { count: number; last: string; failing: boolean; lastAt: number }>();
  const now = options.now ?? Date.now;
  const flush = (): void => {
    for (const [name, s] of state) {
      if (s.count > 0) {
        log('warn', 'queue errors continue', { queue: name, errors: s.count, err: s.last });
        s.count = 0;
      } else if (s.failing && now() - s.lastAt >= intervalMs) {
        s.failing = false;
        log('info', 'queue errors stopped', { queue: name });
      }
    }
  };
  const timer = setInterval(flush, intervalMs);
  timer.unref();
  const report = (name: string, err: unknown): void => {
    let s = state.get(name);
    if (!s) state.set(name, (s = { count: 0, last: '', failing: false, lastAt: 0 }));
    s.last = describe(err);
    s.lastAt = now();
    if (!s.failing) {
      s.failing = true;
      log('error', 'queue error', { queue: name, err: s.last });
    } else s.count++;
  };
  return {
    watch(name, ...emitters) {
      for (const emitter of emitters) emitter?.on('error', (err: unknown) => report(name, err));
    },
    report,
    flush,
    stop: () => clearInterval(timer),
  };
}

export interface SchedulerSpec {
  /** For logs. */
  name: string;
  /** Is the scheduler still in Redis? */
  exists(): Promise<boolean>;
  /** Creates it (idempotent: an upsert). */
  ensure(): Promise<void>;
}

export interface SchedulerKeeper {
  /** One pass: re-creates the missing schedulers; returns their names. */
  check(): Promise<string[]>;
  stop(): void;
}

export function keepSchedulers(specs: readonly SchedulerSpec[], log: UpkeepLog, options: { intervalMs?: number } = {}): SchedulerKeeper {
  let running = false;
  const check = async (): Promise<string[]> => {
    if (running) return [];
    running = true;
    const restored: string[] = [];
    try {
      for (const spec of specs) {
        try {
          if (await spec.exists()) continue;
          await spec.ensure();
          restored.push(spec.name);
          log('warn', 'job scheduler re-created (Redis lost it)', { scheduler: spec.name });
        } catch {
          // Redis unreachable: the error reporter already says so; the next pass tries again.
        }
      }
    } finally {
      running = false;
    }
    return restored;
  };
  const timer = setInterval(() => void check(), options.intervalMs ?? 60_000);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
