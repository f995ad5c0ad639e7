// Wires the Messenger and Zalo adapters to the deployment: webhook verification and parsing
// with the app's secrets, per-account send clients with their tokens, the Zalo token manager
// (tokens in channel_accounts, sealed; refresh under a Redis lock per OA), and the handlers the
// inbound and outbound workers call. Composition only: the logic lives in the modules it joins.
import { createHash } from 'node:crypto';
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
}

export function createPlatforms(services: Services, config: Config, logger: Logger, fetchImpl?: typeof fetch): Platforms {
  const { accounts, contacts, redis } = services;
  const fetchFn = fetchImpl ?? ((input: string | URL | Request, init?: RequestInit) => fetch(input, init));

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

  const send = async (job: OutboundJob, body: unknown): Promise<SendOutcome> => {
    const account = await accounts.get(job.accountId);
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
      const token = account.secrets.pageAccessToken;
      if (!token) return { kind: 'pause', code: 'no_token', reason: 'token_invalid' };
      // Bodies were rendered before queueing; they are our own objects, sent as they are.
      return createMessengerClient({ graphUrl: config.FB_GRAPH_URL, pageAccessToken: token, fetch: (i, init) => fetchFn(i, init) }).send(body as MessengerSendBody);
    }
    if (!zaloTokens) return { kind: 'pause', code: 'no_app', reason: 'app_misconfigured' };
    const client = createZaloClient({
      openapiUrl: config.ZALO_OPENAPI_URL,
      getAccessToken: () => zaloTokens.getAccessToken(account.externalId),
      fetch: (i, init) => fetchFn(i, init),
    });
    return client.sendCs(body as ZaloCsBody);
  };

  const outboundHandlers: OutboundHandlers = {
    send,
    refreshToken: async (job) => {
      const account = await accounts.get(job.accountId);
      if (account && zaloTokens) await zaloTokens.forceRefresh(account.externalId, account.secrets.accessToken);
    },
    markUnreachable: async (job, reason) => contacts.markUnreachable(job.accountId, job.userId, reason),
    pauseAccount: async (job, code, reason) => {
      await accounts.setStatus(job.accountId, reason === 'token_invalid' && job.platform === 'zalo' ? 'reconnect_required' : 'paused', `${code}: ${reason}`);
      logger.error({ platform: job.platform, accountId: job.accountId, code, reason }, 'channel account paused: an officer must check it');
    },
    accountBlocked: async (job) => {
      const account = await accounts.get(job.accountId);
      if (!account) return 'unknown_account';
      return account.status === 'active' ? null : account.status;
    },
    onResult: (job, result) => {
      if (result.status !== 'sent') logger.warn({ platform: job.platform, kind: job.kind, status: result.status, code: 'code' in result ? result.code : undefined }, 'send not delivered');
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
    queueReplies: async (outbound, input) => {
      const bodies = input.replies.flatMap((r) => render(input.platform, r, input.userId, 'RESPONSE'));
      if (bodies.length === 0) return;
      // BullMQ job ids may not contain ':'; a hash of the turn keeps them unique and stable.
      const jobId = `reply-${createHash('sha256').update(`${input.accountId}\u0000${input.turnId}`).digest('hex').slice(0, 32)}`;
      await outbound.add({ kind: 'reply', platform: input.platform, accountId: input.accountId, userId: input.userId, bodies, sent: 0, refreshed: false }, jobId);
    },
  };
}
