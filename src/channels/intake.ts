// Webhook intake after the signature check: route each parsed event to its account (and so its
// unit), claim it once (atomic dedupe on the platform's id), and enqueue it. Everything slow
// happens in the inbound worker; this must finish well inside Zalo's ~2 s and Meta's 5 s.
// When Redis cannot take an event it is written to the durable spool in PostgreSQL instead and
// still acknowledged (issue #8: Zalo never retries an event answered 503); while the spool holds
// events, new ones join it behind them, so that a citizen's messages keep their order.
import { ParsedEvent, type PlatformName } from './platform-event.js';

export interface IntakeAccount {
  id: number;
  unitId: string;
}

export interface IntakeJob {
  accountId: number;
  unitId: string;
  event: ParsedEvent;
  receivedAt: number;
}

/** Where events go when Redis cannot take them (src/jobs/inbound-spool-drain.ts). */
export interface IntakeSpool {
  /** The spool still holds events not yet moved to Redis: new events must queue behind them. */
  active(): boolean;
  /** Keeps the event durably; false when its key is already spooled. Throws when the database fails. */
  put(key: string, job: IntakeJob): Promise<boolean>;
}

export interface IntakeDeps {
  findAccount(platform: PlatformName, externalId: string): Promise<IntakeAccount | undefined>;
  /**
   * Claims `key` (the platform's event id) and enqueues the job, atomically: true when done,
   * false when the key was already claimed (a duplicate). When it throws nothing is claimed,
   * so the platform's retry is not taken for a duplicate.
   */
  submit(key: string, job: IntakeJob): Promise<boolean>;
  /**
   * When set, an event Redis could not take (submit threw) is spooled and acknowledged; only
   * when the spool fails too does the intake throw (503).
   */
  spool?: IntakeSpool;
  log?(entry: { platform: PlatformName; outcome: IntakeOutcome; reason?: string }): void;
  /**
   * Events stamped longer ago than this are dropped as stale. No platform retries that late, so
   * such a body is a replay whose dedupe claim has expired: keep this at most the claim's TTL.
   * Unset: no limit.
   */
  maxEventAgeMs?: number;
}

export type IntakeOutcome = 'enqueued' | 'spooled' | 'duplicate' | 'unknown_account' | 'ignored';

export interface IntakeReport {
  enqueued: number;
  duplicate: number;
  unknownAccount: number;
  ignored: number;
  /** Events kept in the spool (present only when there were some). */
  spooled?: number;
}

/**
 * Takes every event of one webhook body. Throws only when an event could be neither enqueued
 * nor spooled (the route then answers 5xx so the platform retries; already-taken events of the
 * same body are deduplicated on the retry).
 */
export async function intakeEvents(platform: PlatformName, events: readonly ParsedEvent[], deps: IntakeDeps, now = Date.now()): Promise<IntakeReport> {
  const report: IntakeReport = { enqueued: 0, duplicate: 0, unknownAccount: 0, ignored: 0 };
  for (const event of events) {
    if (event.type === 'ignored') {
      report.ignored++;
      deps.log?.({ platform, outcome: 'ignored', reason: event.reason });
      continue;
    }
    // A signed body can still carry what no platform sends (a NUL in an id, a timestamp past
    // year 275760): dropped here, not answered 503 for ever nor failed in the worker.
    if (!ParsedEvent.safeParse(event).success) {
      report.ignored++;
      deps.log?.({ platform, outcome: 'ignored', reason: 'malformed_event' });
      continue;
    }
    if (deps.maxEventAgeMs !== undefined && event.timestamp < now - deps.maxEventAgeMs) {
      report.ignored++;
      deps.log?.({ platform, outcome: 'ignored', reason: 'stale_event' });
      continue;
    }
    const account = await deps.findAccount(platform, event.accountId);
    if (!account) {
      report.unknownAccount++;
      deps.log?.({ platform, outcome: 'unknown_account' });
      continue;
    }
    const key = `${platform}:${event.dedupeKey}`;
    const job: IntakeJob = { accountId: account.id, unitId: account.unitId, event, receivedAt: now };
    let taken: boolean;
    let spooled = false;
    if (deps.spool?.active()) {
      taken = await deps.spool.put(key, job);
      spooled = true;
    } else {
      try {
        taken = await deps.submit(key, job);
      } catch (err) {
        // Redis is unreachable or refused the command (a duplicate is not an error): keep the
        // event in PostgreSQL. Nothing was claimed, so the drain's claim decides duplicates.
        if (!deps.spool) throw err;
        taken = await deps.spool.put(key, job);
        spooled = true;
      }
    }
    if (!taken) {
      report.duplicate++;
      deps.log?.({ platform, outcome: 'duplicate' });
      continue;
    }
    if (spooled) {
      report.spooled = (report.spooled ?? 0) + 1;
      deps.log?.({ platform, outcome: 'spooled' });
      continue;
    }
    report.enqueued++;
  }
  return report;
}
