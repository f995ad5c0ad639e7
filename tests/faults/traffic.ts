// Citizens' traffic for the fault tests: signed Messenger and Zalo webhook bodies posted the way
// the platforms post them (a refused or unanswered delivery is retried a little later, the same
// body with the same event id), a record of which events were acknowledged (200), and the
// accounting of replies in the fakes' logs per acknowledged event.
import { createHash, createHmac } from 'node:crypto';
import type { FakeGraphServer } from '../fakes/graph-server.js';
import type { ZaloFake } from '../fakes/zalo-server.js';

export interface PlatformSecrets {
  fbAppSecret: string;
  zaloAppId: string;
  zaloOaSecret: string;
}

export interface CitizenEvent {
  platform: 'messenger' | 'zalo';
  /** The Page id or OA id the citizen writes to. */
  accountId: string;
  userId: string;
  /** The platform's message id (our dedupe key). */
  messageId: string;
  text: string;
  timestamp: number;
}

export function messengerBody(e: CitizenEvent): string {
  return JSON.stringify({
    object: 'page',
    entry: [
      {
        id: e.accountId,
        time: e.timestamp,
        messaging: [{ sender: { id: e.userId }, recipient: { id: e.accountId }, timestamp: e.timestamp, message: { mid: e.messageId, text: e.text } }],
      },
    ],
  });
}

export function zaloBody(e: CitizenEvent, appId: string): string {
  return `{"app_id":"${appId}","sender":{"id":"${e.userId}"},"user_id_by_app":"552177279717587730","recipient":{"id":"${e.accountId}"},"event_name":"user_send_text","message":{"text":${JSON.stringify(e.text)},"msg_id":"${e.messageId}"},"timestamp":"${e.timestamp}"}`;
}

export interface PostResult {
  status: number;
  ms: number;
}

/** One delivery attempt of an event (status 0 when the connection failed or timed out). */
export async function postEvent(baseUrl: string, secrets: PlatformSecrets, e: CitizenEvent, timeoutMs = 5000): Promise<PostResult> {
  const t0 = Date.now();
  const raw = e.platform === 'messenger' ? messengerBody(e) : zaloBody(e, secrets.zaloAppId);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (e.platform === 'messenger') headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', secrets.fbAppSecret).update(raw).digest('hex')}`;
  else headers['x-zevent-signature'] = `mac=${createHash('sha256').update(`${secrets.zaloAppId}${raw}${e.timestamp}${secrets.zaloOaSecret}`).digest('hex')}`;
  try {
    const res = await fetch(`${baseUrl}/webhooks/${e.platform}`, { method: 'POST', headers, body: raw, signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return { status: res.status, ms: Date.now() - t0 };
  } catch {
    return { status: 0, ms: Date.now() - t0 };
  }
}

export interface DeliveryLog {
  /** Events answered 200, with the time of the acknowledgement. */
  acknowledged: Map<string, { event: CitizenEvent; at: number }>;
  /** Every attempt's status, in order (0: no answer). */
  attempts: Array<{ messageId: string; platform: CitizenEvent['platform']; status: number; ms: number; at: number }>;
  /** Events the platform gave up on after our refusal (Zalo does not retry an error answer). */
  dropped: CitizenEvent[];
}

export function newDeliveryLog(): DeliveryLog {
  return { acknowledged: new Map(), attempts: [], dropped: [] };
}

/**
 * Delivers an event as the platform does (PLATFORMS.md): Meta retries the same body after a
 * refusal or no answer; Zalo retries only when it could not connect, and drops an event that
 * was answered with an error. Until acknowledged or `giveUpAfterMs` (the platforms retry far
 * longer; the tests wait less). `alwaysRetry` retries Zalo's refusals too.
 */
export async function deliver(
  baseUrl: string,
  secrets: PlatformSecrets,
  e: CitizenEvent,
  log: DeliveryLog,
  options: { retryMs?: number; giveUpAfterMs?: number; timeoutMs?: number; alwaysRetry?: boolean } = {},
): Promise<boolean> {
  const end = Date.now() + (options.giveUpAfterMs ?? 30_000);
  for (;;) {
    const r = await postEvent(baseUrl, secrets, e, options.timeoutMs);
    log.attempts.push({ messageId: e.messageId, platform: e.platform, status: r.status, ms: r.ms, at: Date.now() });
    if (r.status === 200) {
      if (!log.acknowledged.has(e.messageId)) log.acknowledged.set(e.messageId, { event: e, at: Date.now() });
      return true;
    }
    if (e.platform === 'zalo' && r.status !== 0 && !options.alwaysRetry) {
      log.dropped.push(e);
      return false;
    }
    if (Date.now() > end) return false;
    await new Promise((res) => setTimeout(res, options.retryMs ?? 250));
  }
}

/** Runs `fn` over the items with at most `limit` in flight, spread over about `spreadMs`. */
export async function paced<T>(items: readonly T[], spreadMs: number, limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  const t0 = Date.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const item = items[i];
      if (item === undefined) return;
      const due = t0 + (spreadMs * i) / Math.max(1, items.length);
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await fn(item, i);
    }
  };
  await Promise.all(Array.from({ length: limit }, lane));
}

/** Messages the fakes accepted, per recipient (Messenger PSID or Zalo user id). */
export function repliesByRecipient(graph: FakeGraphServer | undefined, zalo: ZaloFake | undefined): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  const add = (id: string, body: unknown): void => {
    const list = out.get(id) ?? [];
    list.push(body);
    out.set(id, list);
  };
  for (const s of graph?.sent() ?? []) add(s.recipientId, s.body);
  for (const s of zalo?.sent ?? []) add(s.userId, s.body);
  return out;
}

/** Polls until `fn` returns something truthy. */
export async function waitUntil<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, ms: number, label: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
