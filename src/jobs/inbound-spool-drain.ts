// Moves webhook events kept in the PostgreSQL spool (Redis could not take them: issue #8) into
// the inbound queue once Redis answers again, oldest first, through the same claim + enqueue as
// the webhook (an event already claimed is a duplicate: its row is just deleted). Runs in the
// web role, which owns the intake: at start-up, every few seconds, at once when Redis reconnects
// or an event is spooled, and with backoff while Redis keeps failing.
//
// Order: while this process knows the spool holds events, the intake spools new events too
// (`active()`), behind the older ones, instead of sending them to Redis ahead of them. A process
// learns that another one spooled events at its next tick (a few seconds): an event it takes
// meanwhile may overtake that citizen's spooled ones (docs/operations.md, known gaps). Across
// processes one batch is in flight at a time (the repository's lease), so batches reach Redis
// in order; duplicates are impossible either way, the Redis claim decides.
import type { InboundSpoolRepository, SpoolJob } from '../store/inbound-spool.js';

export interface InboundSpoolDrainOptions {
  spool: Pick<InboundSpoolRepository, 'put' | 'lease' | 'remove' | 'release' | 'any'>;
  /** The webhook's claim + enqueue: true when queued, false for a duplicate; throws when Redis fails. */
  submit(key: string, job: SpoolJob): Promise<boolean>;
  /** Is the Redis connection up? (No attempt is made while it is not.) */
  redisReady(): boolean;
  /** How often the spool is looked at (default 2 s). */
  intervalMs?: number;
  /** The longest wait between attempts while Redis keeps failing (default 30 s). */
  maxBackoffMs?: number;
  /** Events per batch (default 200). */
  batchSize?: number;
  /** A batch whose drainer died is taken again after this long (default 10 s). */
  leaseMs?: number;
  /** Codes and counts only: never a text or a user id. */
  log?(level: 'info' | 'warn', event: string, fields: Record<string, unknown>): void;
}

export interface DrainReport {
  /** Events Redis took from the spool (queued or recognised as duplicates). */
  moved: number;
  /** Left for later: Redis was down or failed, the database failed, or another drainer is at work. */
  stopped?: 'redis_down' | 'redis_failed' | 'database_failed' | 'busy' | 'backoff';
}

export class InboundSpoolDrain {
  private readonly intervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly batchSize: number;
  private readonly leaseMs: number;
  /** The spool may hold events: the intake spools new ones behind them. */
  private spooling = false;
  /** Spool writes of this process started / not yet finished (see `drainAll`). */
  private writesStarted = 0;
  private writesInFlight = 0;
  private running: Promise<DrainReport> | undefined;
  private again = false;
  private failures = 0;
  private notBefore = 0;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: InboundSpoolDrainOptions) {
    this.intervalMs = options.intervalMs ?? 2000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.batchSize = options.batchSize ?? 200;
    this.leaseMs = options.leaseMs ?? 10_000;
  }

  /** For the intake: new events must go to the spool, behind the ones it holds. */
  active(): boolean {
    return this.spooling;
  }

  /** For the intake: keeps an event (false: already spooled). Throws when the database fails. */
  async put(key: string, job: SpoolJob): Promise<boolean> {
    if (!this.spooling) this.options.log?.('warn', 'inbound spool: Redis cannot take webhook events, keeping them in PostgreSQL', {});
    // Set before the write: an event of the same citizen arriving meanwhile queues behind this one.
    this.spooling = true;
    this.writesStarted++;
    this.writesInFlight++;
    try {
      return await this.options.spool.put(key, job);
    } finally {
      this.writesInFlight--;
      this.kick();
    }
  }

  /** Starts the timer, with a first look at once (events left by a previous run). */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops the timer and waits for a drain in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.timer = this.soon = undefined;
    await this.running?.catch(() => undefined);
  }

  /** Redis is connected again: drain at once, whatever the backoff of earlier failures. */
  redisReconnected(): void {
    this.failures = 0;
    this.notBefore = 0;
    this.kick();
  }

  /** Drain now (an event was spooled); coalesced with a drain in progress. */
  kick(): void {
    if (this.stopped || !this.spooling || !this.options.redisReady()) return;
    void this.drain().catch(() => undefined);
  }

  /** One drain until the spool is empty or something stops it (tests call it directly). */
  drain(): Promise<DrainReport> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = async (): Promise<DrainReport> => {
      const total: DrainReport = { moved: 0 };
      do {
        this.again = false;
        const r = await this.drainAll();
        total.moved += r.moved;
        if (r.stopped) total.stopped = r.stopped;
        else delete total.stopped;
      } while (this.again && !this.stopped && !total.stopped);
      return total;
    };
    const p = run().finally(() => {
      this.running = undefined;
    });
    this.running = p;
    return p;
  }

  private async drainAll(): Promise<DrainReport> {
    const { spool, submit } = this.options;
    let moved = 0;
    for (;;) {
      // Shutting down: what is left stays spooled for the next start (or another process).
      if (this.stopped) return { moved };
      if (!this.options.redisReady()) return { moved, stopped: 'redis_down' };
      if (Date.now() < this.notBefore) return { moved, stopped: 'backoff' };
      // The spool is known empty only if none of our own writes could have landed after the
      // lease's read: none in flight when it started and none started since.
      const writes = this.writesStarted;
      const idle = this.writesInFlight === 0;
      let lease: Awaited<ReturnType<typeof spool.lease>>;
      try {
        lease = await spool.lease(this.batchSize, this.leaseMs);
      } catch {
        this.failed('database_failed');
        return { moved, stopped: 'database_failed' };
      }
      if (lease.busy) {
        // Another process's batch is on its way to Redis; ours follow it. Look again shortly in
        // case that drainer stops there.
        this.spooling = true;
        this.retrySoon();
        return { moved, stopped: 'busy' };
      }
      const { token, events, unreadable } = lease;
      if (events.length === 0 && unreadable.length === 0) {
        if (idle && writes === this.writesStarted) {
          if (this.spooling) this.options.log?.('info', 'inbound spool: empty, webhook events go to Redis again', {});
          this.spooling = false;
        }
        this.failures = 0;
        return { moved };
      }
      // Concurrent submits share one Redis pipeline, in this (received) order.
      const results = await Promise.allSettled(events.map((e) => Promise.resolve().then(() => submit(e.key, e.job))));
      const done = events.filter((_, i) => results[i]?.status === 'fulfilled').map((e) => e.key);
      const left = events.filter((_, i) => results[i]?.status === 'rejected').map((e) => e.key);
      try {
        // A row no event can be read from (a hand-edited table) can never be queued: dropped.
        if (unreadable.length) this.options.log?.('warn', 'inbound spool: unreadable rows dropped', { count: unreadable.length });
        await spool.remove(token, [...done, ...unreadable]);
        await spool.release(token, left);
      } catch {
        // The lease lapses; the events already queued are then duplicates, deleted next time.
        this.failed('database_failed');
        return { moved: moved + done.length, stopped: 'database_failed' };
      }
      moved += done.length;
      if (left.length) {
        this.failed('redis_failed');
        return { moved, stopped: 'redis_failed' };
      }
      this.failures = 0;
    }
  }

  private failed(reason: 'redis_failed' | 'database_failed'): void {
    this.failures++;
    const wait = Math.min(this.maxBackoffMs, this.intervalMs * 2 ** Math.min(this.failures - 1, 16));
    this.notBefore = Date.now() + wait;
    if (this.failures === 1) this.options.log?.('warn', 'inbound spool: drain failed, retrying with backoff', { reason });
  }

  private retrySoon(): void {
    if (this.stopped || this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.kick();
    }, 250);
    this.soon.unref();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      // Another process may have spooled events (Redis failed for it): ours go behind them.
      if (!this.spooling && (await this.options.spool.any())) this.spooling = true;
      if (this.spooling && this.options.redisReady()) await this.drain();
    } catch {
      // The database is away: the next tick looks again.
    } finally {
      this.schedule(this.intervalMs);
    }
  }
}
