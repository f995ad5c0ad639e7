// The platforms as the dossier notifier sees them: Messenger through the broadcast gateway (the
// Page's client, its account cache, the Conversations API), Zalo through a transaction-message
// call of its own (POST /v3.0/oa/message/transaction, which the shared clients do not send) with
// the OA's token from the token manager. A Zalo token refused (-216 / -220) is refreshed once,
// naming the token that was refused, and the message sent again: the refused call delivered
// nothing. Failures come back classified exactly as the send clients classify them.
import type { SendOutcome } from '../channels/platform-event.js';
import { createZaloClient } from '../channels/zalo/send-client.js';
import type { FetchLike, ZaloTokenManager } from '../channels/zalo/tokens.js';
import type { BroadcastGateway } from '../broadcast/sender.js';
import type { NoticeGateway } from './notifier.js';

export const ZALO_TRANSACTION_PATH = '/v3.0/oa/message/transaction';

export interface NoticeGatewayDeps {
  /** The broadcast gateway (platforms.ts): Messenger sends and both platforms' history. */
  broadcast: Pick<BroadcastGateway, 'send' | 'recentMessages'>;
  /** The OA id of a Zalo account (undefined when there is no such account). */
  zaloOaId(accountId: number): Promise<string | undefined>;
  /** Absent when the Zalo app is not configured. */
  zaloTokens?: ZaloTokenManager | undefined;
  zaloOpenapiUrl: string;
  fetch?: FetchLike | undefined;
}

export function createNoticeGateway(deps: NoticeGatewayDeps): NoticeGateway {
  return {
    recentMessages: (accountId, platform, userId) => deps.broadcast.recentMessages(accountId, platform, userId),
    async send(target, body): Promise<SendOutcome> {
      if (target.platform === 'messenger') return deps.broadcast.send(target.accountId, 'messenger', body);
      const tokens = deps.zaloTokens;
      if (!tokens) return { kind: 'pause', code: 'no_app', reason: 'app_misconfigured' };
      const oaId = await deps.zaloOaId(target.accountId);
      if (!oaId) return { kind: 'pause', code: 'no_account', reason: 'app_misconfigured' };
      const client = createZaloClient({ openapiUrl: deps.zaloOpenapiUrl, getAccessToken: () => tokens.getAccessToken(oaId), ...(deps.fetch ? { fetch: deps.fetch } : {}) });
      const first = await client.post(ZALO_TRANSACTION_PATH, body);
      if (first.outcome.kind !== 'refresh') return first.outcome;
      try {
        await tokens.forceRefresh(oaId, first.accessToken ?? undefined);
      } catch {
        // The token manager marked the OA reconnect_required: an admin must connect it again.
        return { kind: 'pause', code: first.outcome.code, reason: 'token_invalid' };
      }
      return (await client.post(ZALO_TRANSACTION_PATH, body)).outcome;
    },
  };
}
