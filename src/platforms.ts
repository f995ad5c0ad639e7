// Wires the Messenger and Zalo adapters to the deployment: webhook verification and parsing
// with the app's secrets, per-account send clients with their tokens, the Zalo token manager
// (tokens in channel_accounts, sealed; refresh under a Redis lock per OA), and the handlers the
// inbound and outbound workers call. Composition only: the logic lives in the modules it joins.
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { Reply } from './channels/channel.js';
import type { PlatformName, SendOutcome } from './channels/platform-event.js';
import type { MessengerWebhookDeps, ZaloWebhookDeps } from './channels/webhook-router.js';
import { replyWindow } from './channels/window.js';
import { parseMessengerWebhook, renderMessengerReply, verifyMessengerSignature, createMessengerClient, type MessengerSendBody } from './channels/messenger/index.js';
import {
  createZaloClient,
  createZaloTokenManager,
  isZaloProbe,
  parseZaloJson,
  parseZaloWebhook,
  renderZaloReply,
  verifyZaloSignature,
  type ZaloCsBody,
  type ZaloTokenManager,
} from './channels/zalo/index.js';
import type { OutboundHandlers, OutboundJob, OutboundQueue } from './jobs/outbound-queue.js';
import type { MessengerOutgoingBody } from './channels/messenger/send-client.js';
import type { BroadcastGateway } from './broadcast/sender.js';
import type { ChannelAccount } from './store/account-repository.js';
import type { Services } from './services.js';
import { withLock } from './store/redis-primitives.js';

export interface Platforms {
  messengerWebhook: MessengerWebhookDeps;
  zaloWebhook: ZaloWebhookDeps;
  render(platform: PlatformName, reply: Reply, userId: string, mode: 'RESPONSE' | 'UPDATE'): unknown[];
  outboundHandlers: OutboundHandlers;
  zaloTokens?: ZaloTokenManager;
  /** Renders one turn's replies and queues them; a re-processed turn is not sent twice. */
  queueReplies(outbound: OutboundQueue, input: { platform: PlatformName; accountId: number; userId: string; replies: Reply[]; turnId: string }): Promise<void>;
  /** What the broadcast sender needs of the platforms and the accounts. */
  broadcast: BroadcastPlatformAccess;
}

export interface BroadcastPlatformAccess {
  gateway: BroadcastGateway;
  /** null when the account may send; else why not ('paused', 'reconnect_required', 'unknown_account'). */
  accountBlocked(accountId: number): Promise<string | null>;
  markUnreachable(accountId: number, userId: string, reason: string): Promise<void>;
  pauseAccount(accountId: number, platform: PlatformName, code: string, reason: string): Promise<void>;
}

/** How long an account (status, tokens) read for bulk sends is trusted before reading it again. */
const ACCOUNT_CACHE_MS = 1000;

export function createPlatforms(services: Services, config: Config, logger: Logger, fetchImpl?: typeof fetch): Platforms {
  const { accounts, contacts, redis } = services;
  const fetchFn = fetchImpl ?? ((input: string | URL | Request, init?: RequestInit) => fetch(input, init));
  // Broadcasts make thousands of calls to the same two hosts: node:http with keep-alive costs a
  // quarter of the CPU of the built-in fetch per call (bench/broadcast-bench.ts).
  const bulkFetch = fetchImpl ?? keepAliveFetch();

  const zaloTokens =
    config.ZALO_APP_ID && config.ZALO_APP_SECRET
      ? createZaloTokenManager({
          oauthUrl: config.ZALO_OAUTH_URL,
          appId: config.ZALO_APP_ID,
          appSecret: config.ZALO_APP_SECRET,
          fetch: (input, init) => fetchFn(input, init),
          lock: {
            withLock: (oaId, fn) => withLock(redis.client, `${config.REDIS_KEY_PREFIX}:lock:zalo-refresh:${oaId}`, fn, { ttlMs: 30_000, waitMs: 20_000 }),
          },
          store: {
            load: async (oaId) => {
              const a = await accounts.find('zalo', oaId);
              const s = a?.secrets;
              if (!s?.accessToken || !s.refreshToken) return null;
              return { accessToken: s.accessToken, refreshToken: s.refreshToken, accessExpiresAt: s.accessExpiresAt ? Date.parse(s.accessExpiresAt) : 0 };
            },
            save: async (oaId, pair) => {
              const a = await accounts.find('zalo', oaId);
              if (!a) throw new Error('Zalo OA account vanished during a token refresh');
              await accounts.setSecrets(a.id, {
                ...a.secrets,
                accessToken: pair.accessToken,
                refreshToken: pair.refreshToken,
                accessExpiresAt: new Date(pair.accessExpiresAt).toISOString(),
              });
              if (a.status === 'reconnect_required') await accounts.setStatus(a.id, 'active', null);
            },
            markReconnectRequired: async (oaId, reason) => {
              const a = await accounts.find('zalo', oaId);
              if (a) await accounts.setStatus(a.id, 'reconnect_required', reason);
              logger.error({ platform: 'zalo', code: 'ZALO_RECONNECT_REQUIRED' }, 'Zalo OA must be connected again by its admin');
            },
          },
        })
      : undefined;

  const render = (platform: PlatformName, reply: Reply, userId: string, mode: 'RESPONSE' | 'UPDATE'): unknown[] =>
    platform === 'messenger' ? renderMessengerReply(reply, userId, mode) : renderZaloReply(reply, userId);

  // Replies and broadcasts send thousands of messages per account: the account row (status and
  // sealed tokens) and the Zalo access token are read at most once a second per account, and
  // dropped at once when a send says the account or its token changed.
  const accountCache = new Map<number, { at: number; account: ChannelAccount | undefined }>();
  const cachedAccount = async (id: number): Promise<ChannelAccount | undefined> => {
    const hit = accountCache.get(id);
    if (hit && Date.now() - hit.at < ACCOUNT_CACHE_MS) return hit.account;
    const account = await accounts.get(id);
    accountCache.set(id, { at: Date.now(), account });
    return account;
  };
  const zaloTokenCache = new Map<string, { at: number; token: string }>();
  const cachedZaloToken = async (oaId: string): Promise<string> => {
    if (!zaloTokens) throw new Error('Zalo app not configured');
    const hit = zaloTokenCache.get(oaId);
    if (hit && Date.now() - hit.at < ACCOUNT_CACHE_MS) return hit.token;
    const token = await zaloTokens.getAccessToken(oaId);
    zaloTokenCache.set(oaId, { at: Date.now(), token });
    lastZaloToken.set(oaId, token);
    return token;
  };
  /**
   * The access token last handed to a send of each OA: a refresh after -216/-220 names it as the
   * rejected one, so that a token already replaced (by another process) is not refreshed again.
   */
  const lastZaloToken = new Map<string, string>();
  const forget = (account: ChannelAccount): void => {
    accountCache.delete(account.id);
    zaloTokenCache.delete(account.externalId);
  };
  const messengerFor = (account: ChannelAccount) => {
    const token = account.secrets.pageAccessToken;
    return token ? createMessengerClient({ graphUrl: config.FB_GRAPH_URL, pageAccessToken: token, fetch: bulkFetch }) : undefined;
  };
  const zaloFor = (account: ChannelAccount) =>
    zaloTokens ? createZaloClient({ openapiUrl: config.ZALO_OPENAPI_URL, getAccessToken: () => cachedZaloToken(account.externalId), fetch: bulkFetch }) : undefined;

  // Reply sends in flight in this process, per platform and per account. A platform (or one
  // Page / OA) answering slowly would otherwise hold every reply slot of the worker for seconds
  // per call, and every other account's replies would wait behind it: it may hold at most three
  // quarters (one account half) of the slots; a send over that comes back shortly, its slot freed.
  const slots = config.OUTBOUND_CONCURRENCY;
  const platformCap = Math.max(1, Math.floor((slots * 3) / 4));
  const accountCap = Math.max(1, Math.floor(slots / 2));
  const inFlight = new Map<string, number>();
  const held = (key: string, by: number): void => {
    const n = (inFlight.get(key) ?? 0) + by;
    if (n > 0) inFlight.set(key, n);
    else inFlight.delete(key);
  };
  const throttledSend = async (job: OutboundJob, call: () => Promise<SendOutcome>): Promise<SendOutcome> => {
    const accountKey = `${job.platform}:${job.accountId}`;
    if ((inFlight.get(job.platform) ?? 0) >= platformCap || (inFlight.get(accountKey) ?? 0) >= accountCap) {
      return { kind: 'retry', code: 'slots_busy', retryAfterMs: 500 };
    }
    held(job.platform, 1);
    held(accountKey, 1);
    try {
      return await call();
    } finally {
      held(job.platform, -1);
      held(accountKey, -1);
    }
  };

  const send = async (job: OutboundJob, body: unknown): Promise<SendOutcome> => {
    const account = await cachedAccount(job.accountId);
    if (!account) return { kind: 'drop', code: 'no_account', reason: 'unknown', markUnreachable: false };
    const contact = await contacts.find(account.id, job.userId);
    if (contact) {
      const window = replyWindow(job.platform, contact.lastInteractionAt, new Date());
      // Never call the API where the platform would refuse: record why instead.
      if (!window.allowed) return { kind: 'drop', code: 'window', reason: 'outside_window', markUnreachable: false };
      if (window.paid) logger.info({ platform: job.platform, code: 'ZALO_CS_BILLED' }, 'consultation message past 48 h (billed)');
      if (!contact.reachable) return { kind: 'drop', code: 'unreachable', reason: 'user_blocked', markUnreachable: false };
    }
    if (job.platform === 'messenger') {
      const client = messengerFor(account);
      if (!client) return { kind: 'pause', code: 'no_token', reason: 'token_invalid' };
      // Bodies were rendered before queueing; they are our own objects, sent as they are.
      const outcome = await throttledSend(job, () => client.send(body as MessengerSendBody));
      if (outcome.kind === 'pause') forget(account);
      return outcome;
    }
    const client = zaloFor(account);
    if (!client) return { kind: 'pause', code: 'no_app', reason: 'app_misconfigured' };
    const outcome = await throttledSend(job, () => client.sendCs(body as ZaloCsBody));
    if (outcome.kind === 'pause' || outcome.kind === 'refresh') forget(account);
    return outcome;
  };

  const gateway: BroadcastGateway = {
    send: async (accountId, platform, body) => {
      const account = await cachedAccount(accountId);
      if (!account) return { kind: 'pause', code: 'no_account', reason: 'app_misconfigured' };
      if (platform === 'messenger') {
        const client = messengerFor(account);
        if (!client) return { kind: 'pause', code: 'no_token', reason: 'token_invalid' };
        // The body is the broadcast renderer's own object (src/broadcast/render.ts).
        const outcome = await client.send(body as MessengerOutgoingBody);
        if (outcome.kind === 'pause') forget(account);
        return outcome;
      }
      const client = zaloFor(account);
      if (!client) return { kind: 'pause', code: 'no_app', reason: 'app_misconfigured' };
      const outcome = await client.sendPromotion(body);
      if (outcome.kind === 'pause' || outcome.kind === 'refresh') forget(account);
      return outcome;
    },
    recentMessages: async (accountId, platform, userId) => {
      const account = await cachedAccount(accountId);
      if (!account) return { kind: 'error', code: 'no_account' };
      if (platform === 'messenger') {
        const client = messengerFor(account);
        if (!client) return { kind: 'error', code: 'no_token' };
        const found = await client.recentMessages(account.externalId, userId);
        return found.kind === 'error' ? found : { kind: 'ok', messages: found.messages.map((m) => ({ at: m.createdAt, fromUs: m.fromPage, text: m.text, id: m.id })) };
      }
      const client = zaloFor(account);
      if (!client) return { kind: 'error', code: 'no_app' };
      const found = await client.recentMessages(userId);
      return found.kind === 'error' ? found : { kind: 'ok', messages: found.messages.map((m) => ({ at: m.at, fromUs: m.fromOa, text: m.text, id: m.id })) };
    },
    refreshToken: async (accountId, platform) => {
      if (platform !== 'zalo' || !zaloTokens) return;
      const account = await accounts.get(accountId);
      if (!account) return;
      forget(account);
      try {
        await zaloTokens.forceRefresh(account.externalId, lastZaloToken.get(account.externalId) ?? account.secrets.accessToken);
      } catch {
        // The token manager has marked the OA reconnect_required; the retried send says so.
      }
    },
  };

  const pauseAccount = async (accountId: number, platform: PlatformName, code: string, reason: string): Promise<void> => {
    await accounts.setStatus(accountId, reason === 'token_invalid' && platform === 'zalo' ? 'reconnect_required' : 'paused', `${code}: ${reason}`);
    accountCache.delete(accountId);
    logger.error({ platform, accountId, code, reason }, 'channel account paused: an officer must check it');
  };

  const broadcast: BroadcastPlatformAccess = {
    gateway,
    accountBlocked: async (accountId) => {
      const account = await cachedAccount(accountId);
      if (!account) return 'unknown_account';
      return account.status === 'active' ? null : account.status;
    },
    markUnreachable: async (accountId, userId, reason) => contacts.markUnreachable(accountId, userId, reason),
    pauseAccount,
  };

  const outboundHandlers: OutboundHandlers = {
    send,
    refreshToken: async (job) => {
      const account = await accounts.get(job.accountId);
      if (!account) return;
      forget(account);
      if (zaloTokens) await zaloTokens.forceRefresh(account.externalId, lastZaloToken.get(account.externalId) ?? account.secrets.accessToken);
    },
    markUnreachable: async (job, reason) => contacts.markUnreachable(job.accountId, job.userId, reason),
    pauseAccount: async (job, code, reason) => pauseAccount(job.accountId, job.platform, code, reason),
    accountBlocked: async (job) => {
      const account = await cachedAccount(job.accountId);
      if (!account) return 'unknown_account';
      return account.status === 'active' ? null : account.status;
    },
    onResult: (job, result) => {
      if (result.status !== 'sent') logger.warn({ platform: job.platform, kind: job.kind, status: result.status, code: 'code' in result ? result.code : undefined }, 'send not delivered');
    },
    // A message left in doubt by a worker that died mid-send is looked for in the conversation first.
    recentMessages: (job) => gateway.recentMessages(job.accountId, job.platform, job.userId),
    onInDoubt: (job, verdict, code) => {
      const fields = { platform: job.platform, kind: job.kind, accountId: job.accountId, verdict, ...(code ? { reason: code } : {}) };
      // Sent again without knowing whether the first copy arrived: the citizen may get it twice.
      if (verdict === 'unreadable' || verdict === 'unverifiable') logger.warn({ ...fields, code: 'REPLY_IN_DOUBT_RESENT' }, 'message in doubt sent again unverified');
      else logger.info({ ...fields, code: 'REPLY_IN_DOUBT' }, 'message in doubt settled from the conversation history');
    },
  };

  // The routes always exist; without the app's secrets every request fails closed (401).
  const messengerWebhook: MessengerWebhookDeps = {
    verifyToken: config.FB_VERIFY_TOKEN,
    verifySignature: (raw, header) => verifyMessengerSignature(raw, header, config.FB_APP_SECRET),
    parse: (raw) => parseMessengerWebhook(JSON.parse(raw.toString('utf8')), { ownAppIds: config.FB_APP_ID ? [config.FB_APP_ID] : [] }),
  };

  const zaloAppId = config.ZALO_APP_ID;
  const zaloOaSecretKey = config.ZALO_OA_SECRET_KEY;
  const zaloWebhook: ZaloWebhookDeps = {
    verifySignature: (raw, headers) =>
      zaloAppId !== undefined && zaloOaSecretKey !== undefined && verifyZaloSignature(raw, headers, { appId: zaloAppId, oaSecretKey: zaloOaSecretKey }),
    isProbe: (raw) => isZaloProbe(raw),
    parse: (raw) => parseZaloWebhook(parseZaloJson(raw)),
  };

  return {
    messengerWebhook,
    zaloWebhook,
    ...(zaloTokens ? { zaloTokens } : {}),
    render,
    outboundHandlers,
    broadcast,
    queueReplies: async (outbound, input) => {
      const bodies = input.replies.flatMap((r) => render(input.platform, r, input.userId, 'RESPONSE'));
      if (bodies.length === 0) return;
      // BullMQ job ids may not contain ':'; a hash of the turn keeps them unique and stable.
      const jobId = `reply-${createHash('sha256').update(`${input.accountId}\u0000${input.turnId}`).digest('hex').slice(0, 32)}`;
      await outbound.add({ kind: 'reply', platform: input.platform, accountId: input.accountId, userId: input.userId, bodies, sent: 0, refreshed: false }, jobId);
    },
  };
}

/**
 * The part of fetch the platform clients use (method, headers, a string body, a timeout signal;
 * no redirects) over node:http / node:https with keep-alive agents.
 */
export function keepAliveFetch(): typeof fetch {
  const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 256 }), https: new https.Agent({ keepAlive: true, maxSockets: 256 }) };
  const noBody = new Set([101, 204, 205, 304]);
  const impl = (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      const body = typeof init?.body === 'string' ? init.body : undefined;
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((value, key) => {
        headers[key] = value;
      });
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      const secure = url.protocol === 'https:';
      const req = (secure ? https : http).request(
        url,
        { method: init?.method ?? 'GET', headers, agent: secure ? agents.https : agents.http, ...(init?.signal ? { signal: init.signal } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const out = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out.set(k, Array.isArray(v) ? v.join(', ') : v);
            const status = res.statusCode ?? 500;
            resolve(new Response(noBody.has(status) ? null : Buffer.concat(chunks), { status, headers: out }));
          });
        },
      );
      req.on('error', (err) => {
        // A timeout's abort surfaces as the signal's reason (TimeoutError), as with fetch.
        const reason: unknown = init?.signal?.aborted ? init.signal.reason : undefined;
        reject(reason instanceof Error ? reason : err);
      });
      req.end(body);
    });
  return impl as typeof fetch;
}
