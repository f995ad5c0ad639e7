// The outbound queue: every message to a platform goes through it. Citizens' replies have a
// BullMQ queue and worker slots of their own ('outbound-replies'), so a reply is never queued
// behind bulk work nor waits for a worker busy with a broadcast; broadcast deliveries go on
// 'outbound'. Each account is held to its send rate by the sliding-window limiter of
// src/store/rate-limiter.ts (no second above the rate), shared by replies and broadcasts, where
// replies keep a share of the window ahead of broadcasts. Each send's classified outcome
// decides: retry with backoff and jitter, drop (and maybe mark the contact unreachable), pause
// the account, or refresh the Zalo token and retry once. A job holds one turn's messages in
// order and remembers how many were sent, so a retry never sends a message twice. Before each
// message it records the attempt in the job; a job that starts again with its attempt still open
// (its worker died mid-send, or the platform timed out) asks the platform's conversation history
// whether that message arrived before sending it again (docs/decisions/009-reply-in-doubt.md).
// A broadcast job names one delivery of an announcement instead of carrying bodies: the broadcast sender
// (src/broadcast/sender.ts) decides, claims, sends and records its outcome, and may ask for the
// job to come back later (rate, cool-down, 06:00 for Zalo).
import { DelayedError, Queue, Worker, type Job, type Processor, type WorkerOptions } from 'bullmq';
import { duplicateClient, type RedisClient } from '../store/redis.js';
import { z } from 'zod';
import { PlatformName, type SendOutcome } from '../channels/platform-event.js';
import { acquireSend, evalScript, type RateSpec } from '../store/rate-limiter.js';
import type { HistoryLookup, SendStep } from '../broadcast/sender.js';

/** Broadcast deliveries (and any bulk send). */
export const OUTBOUND_QUEUE = 'outbound';
/** Citizens' replies: a queue and worker slots of their own. */
export const REPLY_QUEUE = 'outbound-replies';

export const OutboundJob = z.object({
  kind: z.enum(['reply', 'broadcast']),
  platform: PlatformName,
  accountId: z.number().int().positive(),
  /** PSID / Zalo user id. */
  userId: z.string().min(1),
  /** Platform bodies, rendered by the adapter, sent in order (none for a delivery job). */
  bodies: z.array(z.unknown()).default([]),
  /** How many bodies were already sent (kept across retries). */
  sent: z.number().int().nonnegative().default(0),
  /** A Zalo token refresh was already tried for this job. */
  refreshed: z.boolean().default(false),
  /** For broadcasts: the delivery row to record the outcome on. */
  deliveryId: z.number().int().positive().optional(),
  /** A broadcast delivery (announcement, contact): rendered and recorded by the broadcast sender. */
  delivery: z.object({ announcementId: z.number().int().positive(), contactId: z.number().int().positive() }).optional(),
  /** Broadcast: the send slot reserved in the account's schedule while the job waits for it. */
  slotAt: z.number().optional(),
  /**
   * The send of bodies[index] began at `at` (epoch ms) and its outcome is not recorded yet: found
   * open when the job starts, that message is in doubt.
   */
  attempt: z.object({ index: z.number().int().nonnegative(), at: z.number() }).optional(),
}).refine((j) => j.bodies.length > 0 || (j.kind === 'broadcast' && j.delivery !== undefined), { message: 'a job needs bodies or a delivery' });
export type OutboundJob = z.infer<typeof OutboundJob>;

export type OutboundResult =
  | { status: 'sent'; messageIds: Array<string | null> }
  | { status: 'dropped'; code: string; reason: string }
  | { status: 'paused'; code: string; reason: string }
  | { status: 'failed'; code: string; reason: string };

export interface OutboundHandlers {
  /** Sends one rendered body; never throws for platform errors (they come back classified). */
  send(job: OutboundJob, body: unknown): Promise<SendOutcome>;
  refreshToken(job: OutboundJob): Promise<void>;
  markUnreachable(job: OutboundJob, reason: string): Promise<void>;
  pauseAccount(job: OutboundJob, code: string, reason: string): Promise<void>;
  /** Is the account paused or awaiting reconnection? Then nothing is sent. */
  accountBlocked(job: OutboundJob): Promise<string | null>;
  onResult?(job: OutboundJob, result: OutboundResult): void;
  /** Runs one step of a broadcast delivery job (kind 'broadcast' with `delivery`). */
  broadcast?(job: OutboundJob & { delivery: { announcementId: number; contactId: number } }): Promise<SendStep>;
  /**
   * The latest messages between the job's account and user (Conversations API / Zalo
   * conversation), asked before resending a message in doubt. Without it a message in doubt is
   * sent again (as when the history cannot be read).
   */
  recentMessages?(job: OutboundJob): Promise<HistoryLookup>;
  /** A message in doubt was settled: for logs and counts (no personal data). */
  onInDoubt?(job: OutboundJob, verdict: InDoubtVerdict, code?: string): void;
}

/**
 * How a message in doubt was settled: found in the history (not sent again), absent (sent), or
 * sent again unverified because the history could not be read or the body has no text to look for.
 */
export type InDoubtVerdict = 'delivered' | 'absent' | 'unreadable' | 'unverifiable';
const VERDICTS: readonly InDoubtVerdict[] = ['delivered', 'absent', 'unreadable', 'unverifiable'];

/** Messages in doubt settled by every worker, per verdict (a Redis hash, for metrics). */
export function inDoubtCountsKey(prefix: string): string {
  return `${prefix}:metrics:reply-in-doubt`;
}

/** The counts of messages in doubt per verdict since the deployment's Redis began. */
export async function readInDoubtCounts(redis: RedisClient, prefix: string): Promise<Record<InDoubtVerdict, number>> {
  const raw = await redis.hgetall(inDoubtCountsKey(prefix));
  const counts = { delivered: 0, absent: 0, unreadable: 0, unverifiable: 0 };
  for (const v of VERDICTS) counts[v] = Number(raw[v] ?? 0) || 0;
  return counts;
}

/**
 * What the platform's history shows for a body we render: the text of a text message (with or
 * without quick replies or Zalo buttons) or of a button template. 'none' for a message without
 * text (an image); 'delegated' for a body that is no platform message at all (a dossier notice
 * names its notice and the notifier settles its own doubt, docs/decisions/007).
 */
export function historyText(body: unknown): { kind: 'text'; text: string } | { kind: 'none' } | { kind: 'delegated' } {
  const message = isRecord(body) ? body['message'] : undefined;
  if (!isRecord(message)) return { kind: 'delegated' };
  const attachment = message['attachment'];
  const payload = isRecord(attachment) ? attachment['payload'] : undefined;
  const text = typeof message['text'] === 'string' ? message['text'] : isRecord(payload) && typeof payload['text'] === 'string' ? payload['text'] : '';
  const clean = comparable(text);
  return clean === '' ? { kind: 'none' } : { kind: 'text', text: clean };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Texts compared as a person reads them: NFC, line ends and outer spaces aside. */
function comparable(text: string): string {
  return text.normalize('NFC').replace(/\r\n?/g, '\n').trim();
}

/**
 * A failed send after which the message may or may not have reached the platform (no answer, a
 * 5xx, Graph's "unknown" 1/2, an unreadable answer): its attempt stays open. Any other failure
 * (throttling, busy slots, a refused token) certainly sent nothing.
 */
export function sendUncertain(code: string): boolean {
  return /^(fb:)?(timeout|network)$/.test(code) || /^(fb:)?http_5\d\d/.test(code) || /^fb:[12](\/|$)/.test(code) || /_unparsable$/.test(code);
}

/** The job data without an open attempt. */
function settled(data: OutboundJob): OutboundJob {
  const { attempt: _settled, ...rest } = data;
  return rest;
}

export const RATE_LIMITS: Record<PlatformName, RateSpec> = {
  // Meta allows 300 text sends per second per Page: stay at a third of it.
  messenger: { perSecond: 100 },
  // Zalo allows 4,000 requests per minute per app, shared by every OA of the app; the per-OA
  // limit is not published. 10/s per OA keeps a province of OAs well inside the app budget.
  zalo: { perSecond: 10 },
};

/** The per-account rates from the settings (MESSENGER_SEND_RATE, ZALO_SEND_RATE). */
export function sendRates(settings: { MESSENGER_SEND_RATE: number; ZALO_SEND_RATE: number }): Record<PlatformName, RateSpec> {
  return {
    messenger: { perSecond: settings.MESSENGER_SEND_RATE },
    zalo: { perSecond: settings.ZALO_SEND_RATE },
  };
}

const PRIORITY = { broadcastDue: 5, broadcast: 10 } as const;

export { evalScript as evalCached };

/** The base key of an account's limiter: one per account, shared by replies and broadcasts. */
export function rateKey(prefix: string, platform: PlatformName, accountId: number): string {
  return `${prefix}:rate:${platform}:${accountId}`;
}

const JOB_OPTIONS = { attempts: 8, backoff: { type: 'jittered' }, removeOnComplete: 5000, removeOnFail: 20000 } as const;

/** BullMQ job ids may not contain ':'; a delivery's send job is bc-<announcement>-<contact>-<generation>. */
export function broadcastJobId(announcementId: number, contactId: number, generation: number): string {
  return `bc-${announcementId}-${contactId}-${generation}`;
}

export class OutboundQueue {
  /** Broadcast deliveries (bulk sends), by priority: due ones ahead of those never looked at. */
  readonly queue: Queue;
  /** Citizens' replies, in order of arrival. */
  readonly replies: Queue;
  constructor(redis: RedisClient, prefix: string) {
    this.queue = new Queue(OUTBOUND_QUEUE, { connection: redis, prefix });
    this.replies = new Queue(REPLY_QUEUE, { connection: redis, prefix });
  }

  async add(job: OutboundJob, jobId?: string): Promise<void> {
    const data = OutboundJob.parse(job);
    const opts = { ...JOB_OPTIONS, ...(jobId ? { jobId } : {}) };
    if (data.kind === 'reply') await this.replies.add(data.kind, data, opts);
    else await this.queue.add(data.kind, data, { priority: PRIORITY.broadcast, ...opts });
  }

  /** Many bulk jobs in one round trip; a job whose id already exists is left as it is. */
  async addBulk(jobs: ReadonlyArray<{ job: OutboundJob; jobId: string; delayMs?: number | undefined }>): Promise<void> {
    if (jobs.length === 0) return;
    await this.queue.addBulk(
      jobs.map(({ job, jobId, delayMs }) => {
        const data = OutboundJob.parse(job);
        if (data.kind === 'reply') throw new Error('replies are queued one turn at a time (add)');
        return { name: data.kind, data, opts: { priority: PRIORITY.broadcast, ...JOB_OPTIONS, jobId, ...(delayMs && delayMs > 0 ? { delay: delayMs } : {}) } };
      }),
    );
  }

  /** The state of a bulk job ('unknown' when there is none). */
  async jobState(jobId: string): Promise<string> {
    return this.queue.getJobState(jobId);
  }

  async close(): Promise<void> {
    await Promise.all([this.queue.close(), this.replies.close()]);
  }
}

class TransientSendError extends Error {
  constructor(readonly code: string) {
    super(`transient send failure ${code}`);
    this.name = 'TransientSendError';
  }
}

export interface OutboundWorkerOptions {
  redis: RedisClient;
  prefix: string;
  handlers: OutboundHandlers;
  /** Bulk (broadcast) jobs in progress at once. */
  concurrency?: number;
  /** Replies in progress at once (default: as many as `concurrency`). */
  replyConcurrency?: number;
  /**
   * 'all' (default): replies and bulk sends, each with slots of its own; 'replies' / 'bulk' for
   * a process that does only one (bulk work kept out of the process that answers citizens).
   */
  queues?: OutboundQueues;
  rates?: Partial<Record<PlatformName, RateSpec>>;
  /** BullMQ lock (and stalled-check interval): a dead worker's jobs come back after this. */
  lockDurationMs?: number;
  /**
   * How far before an attempt began a message found in the history still counts as that attempt's
   * (clocks of ours and the platform's; Graph gives whole seconds). Default 5 s.
   */
  inDoubtSkewMs?: number;
}

/** A wait for the account's limiter up to this long is spent inside the job, beyond it the job is delayed. */
const INLINE_WAIT_MS = 250;

/** Which of the two outbound queues a process works on. */
export type OutboundQueues = 'all' | 'replies' | 'bulk';

/**
 * The worker of one outbound queue, with the worker of the other inside it when a process
 * works on both: closing it closes both (callers hold one BullMQ Worker).
 */
export class OutboundWorker extends Worker {
  readonly companion: Worker | undefined;
  constructor(first: { queue: string; options: WorkerOptions }, processor: Processor, second?: { queue: string; options: WorkerOptions }) {
    super(first.queue, processor, first.options);
    this.companion = second ? new Worker(second.queue, processor, second.options) : undefined;
  }

  override async close(force?: boolean): Promise<void> {
    await Promise.all([super.close(force), this.companion?.close(force)]);
  }
}

export function createOutboundWorker(options: OutboundWorkerOptions): OutboundWorker {
  const { redis, prefix, handlers } = options;
  const rates = { ...RATE_LIMITS, ...options.rates };
  const skewMs = options.inDoubtSkewMs ?? 5_000;
  const settle = async (data: OutboundJob, verdict: InDoubtVerdict, code?: string): Promise<void> => {
    handlers.onInDoubt?.(data, verdict, code);
    // Counted across processes (the worker role serves no /metrics); a failed count is no reason to fail the send.
    await redis.hincrby(inDoubtCountsKey(prefix), verdict, 1).catch(() => undefined);
  };

  /**
   * Did the message of an open attempt reach the citizen (then its id joins `messageIds`)? Looks
   * for it in the conversation: a message of ours with the same text, from the attempt's start
   * (less the skew) on, beyond the copies of that text the job sent before it. Anything short of
   * a readable history and a comparable text resends: a citizen's reply lost is worse than one
   * repeated (docs/decisions/009).
   */
  const reconcile = async (data: OutboundJob, attempt: { index: number; at: number }, messageIds: Array<string | null>): Promise<boolean> => {
    const body = historyText(data.bodies[attempt.index]);
    if (body.kind !== 'text') {
      await settle(data, 'unverifiable', body.kind);
      return false;
    }
    let history: HistoryLookup;
    try {
      history = handlers.recentMessages ? await handlers.recentMessages(data) : { kind: 'error', code: 'no_history' };
    } catch {
      history = { kind: 'error', code: 'exception' };
    }
    if (history.kind === 'error') {
      await settle(data, 'unreadable', history.code);
      return false;
    }
    const since = attempt.at - skewMs;
    const found = history.messages.filter((m) => m.fromUs && m.at.getTime() >= since && comparable(m.text) === body.text);
    // The same text sent earlier in this job may be in the window too: only a further copy is this one.
    const before = data.bodies.slice(0, attempt.index).filter((b) => {
      const t = historyText(b);
      return t.kind === 'text' && t.text === body.text;
    }).length;
    if (found.length > before) {
      await settle(data, 'delivered');
      // Newest first on both platforms: the oldest copy past the earlier ones is this attempt's.
      const oldestFirst = [...found].sort((a, b) => a.at.getTime() - b.at.getTime());
      messageIds.push(oldestFirst[before]?.id || null);
      return true;
    }
    await settle(data, 'absent');
    return false;
  };

  const process = async (job: Job, token?: string): Promise<OutboundResult | { status: 'broadcast'; result: string }> => {
    let data = OutboundJob.parse(job.data);
    if (data.kind === 'broadcast' && data.delivery && handlers.broadcast) {
      const step = await handlers.broadcast({ ...data, delivery: data.delivery });
      if (step.kind === 'delay') {
        if (step.slotAt !== data.slotAt) {
          const { slotAt: _old, ...rest } = data;
          await job.updateData(step.slotAt === undefined ? rest : { ...rest, slotAt: step.slotAt });
        }
        // A job coming back at its time goes ahead of broadcast jobs never looked at: otherwise a
        // long queue would make every scheduled send late.
        if (job.priority !== PRIORITY.broadcastDue) await job.changePriority({ priority: PRIORITY.broadcastDue });
        await job.moveToDelayed(Date.now() + Math.max(1, Math.ceil(step.ms)), token);
        throw new DelayedError();
      }
      return { status: 'broadcast', result: step.result };
    }
    const blocked = await handlers.accountBlocked(data);
    if (blocked) {
      const result: OutboundResult = { status: 'paused', code: 'account_blocked', reason: blocked };
      handlers.onResult?.(data, result);
      return result;
    }
    const messageIds: Array<string | null> = [];
    const limiter = rateKey(prefix, data.platform, data.accountId);
    while (data.sent < data.bodies.length) {
      const wait = await acquireSend(redis, limiter, rates[data.platform], data.kind === 'reply' ? 'reply' : 'bulk');
      if (wait > 0) {
        // A reply finds the window full at most for one send interval: wait here, in its slot.
        if (wait <= INLINE_WAIT_MS) {
          await new Promise((r) => setTimeout(r, wait));
          continue;
        }
        await job.moveToDelayed(Date.now() + wait, token);
        throw new DelayedError();
      }
      if (data.attempt) {
        // An attempt of an earlier run, never recorded: its worker died mid-send (or the send's
        // outcome was uncertain). Ask the platform before sending that message again. (Asked once
        // the limiter admits the send, so that a job put off by it asks only when it comes back.)
        const open = data.attempt;
        data = settled(data);
        if (open.index === data.sent && (await reconcile(data, open, messageIds))) {
          data = { ...data, sent: data.sent + 1 };
          await job.updateData(data);
          continue;
        }
      }
      const body = data.bodies[data.sent];
      // The one extra round trip per send: from here until its outcome is recorded the message is
      // in doubt. A body that is no platform message settles its own doubt (historyText).
      const tracked = historyText(body).kind !== 'delegated';
      if (tracked) {
        data = { ...data, attempt: { index: data.sent, at: Date.now() } };
        await job.updateData(data);
      }
      const outcome = await handlers.send(data, body);
      if (outcome.kind === 'sent') {
        messageIds.push(outcome.messageId);
        data = settled({ ...data, sent: data.sent + 1 });
        await job.updateData(data);
        continue;
      }
      if (outcome.kind === 'refresh' && !data.refreshed) {
        await handlers.refreshToken(data);
        data = settled({ ...data, refreshed: true });
        await job.updateData(data);
        continue;
      }
      if (outcome.kind === 'retry') {
        // Nothing was sent: the next run sends without asking. After an uncertain failure the
        // attempt stays open and the next run asks the platform first.
        if (tracked && !sendUncertain(outcome.code)) {
          data = settled(data);
          await job.updateData(data);
        }
        if (outcome.retryAfterMs && outcome.retryAfterMs > 0) {
          await job.moveToDelayed(Date.now() + outcome.retryAfterMs, token);
          throw new DelayedError();
        }
        throw new TransientSendError(outcome.code);
      }
      let result: OutboundResult;
      if (outcome.kind === 'drop') {
        if (outcome.markUnreachable) await handlers.markUnreachable(data, outcome.reason);
        result = { status: 'dropped', code: outcome.code, reason: outcome.reason };
      } else if (outcome.kind === 'pause') {
        await handlers.pauseAccount(data, outcome.code, outcome.reason);
        result = { status: 'paused', code: outcome.code, reason: outcome.reason };
      } else {
        // A second 'refresh' after refreshing: the new token is refused too.
        await handlers.pauseAccount(data, outcome.code, 'token_invalid');
        result = { status: 'paused', code: outcome.code, reason: 'token_invalid' };
      }
      handlers.onResult?.(data, result);
      return result;
    }
    const result: OutboundResult = { status: 'sent', messageIds };
    handlers.onResult?.(data, result);
    return result;
  };

  const concurrency = options.concurrency ?? 16;
  const workerOptions = (connection: RedisClient, slots: number): WorkerOptions => ({
    connection,
    prefix,
    concurrency: slots,
    ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs, stalledInterval: options.lockDurationMs } : {}),
    // A send whose worker was killed comes back (BullMQ's default fails it after one stall, and a
    // citizen's reply would be lost when workers die twice; tests/faults/worker-kill.test.ts).
    maxStalledCount: 10,
    settings: {
      // Exponential backoff with full jitter: 0.5 s, 1 s, 2 s … capped at 60 s.
      backoffStrategy: (attemptsMade: number) => Math.floor(Math.random() * Math.min(60_000, 500 * 2 ** Math.max(0, attemptsMade - 1))) + 100,
    },
  });
  const queues = options.queues ?? 'all';
  const connections: RedisClient[] = [];
  const part = (queue: string, slots: number): { queue: string; options: WorkerOptions } => {
    const connection = duplicateClient(redis, { blocking: true });
    connections.push(connection);
    return { queue, options: workerOptions(connection, slots) };
  };
  const replies = (): { queue: string; options: WorkerOptions } => part(REPLY_QUEUE, options.replyConcurrency ?? concurrency);
  const bulk = (): { queue: string; options: WorkerOptions } => part(OUTBOUND_QUEUE, concurrency);
  const worker = queues === 'replies' ? new OutboundWorker(replies(), process) : queues === 'bulk' ? new OutboundWorker(bulk(), process) : new OutboundWorker(bulk(), process, replies());
  const onFailed = (job: Job | undefined, err: Error): void => {
    // Only the final failure is an outcome; earlier ones are retried.
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) return;
    const parsed = OutboundJob.safeParse(job.data);
    if (!parsed.success) return;
    const code = err instanceof TransientSendError ? err.code : 'error';
    handlers.onResult?.(parsed.data, { status: 'failed', code, reason: 'retries_exhausted' });
  };
  worker.on('failed', onFailed);
  worker.companion?.on('failed', onFailed);
  // BullMQ leaves a connection it was given open: ours are closed with the worker(s).
  let open = worker.companion ? 2 : 1;
  const closed = (): void => {
    if (--open === 0) for (const c of connections) c.disconnect();
  };
  worker.on('closed', closed);
  worker.companion?.on('closed', closed);
  return worker;
}
