// The Zalo Official Account channel adapter's public surface.
export { verifyZaloSignature, isZaloProbe, zaloSignature, type ZaloWebhookSecrets, type ZaloHeaders } from './verify.js';
export { parseZaloJson } from './parse-zalo-json.js';
export { parseZaloWebhook } from './parse-webhook.js';
export {
  renderZaloReply,
  zaloNumberedChoices,
  splitZaloText,
  ZALO_MAX_TEXT,
  ZALO_MAX_BUTTONS,
  ZALO_MAX_BUTTON_TITLE,
  type ZaloCsBody,
  type ZaloButton,
} from './render.js';
export {
  createZaloClient,
  classifyZaloError,
  ZALO_OPENAPI_URL,
  type ZaloClient,
  type ZaloClientOptions,
  type ZaloSendResult,
} from './send-client.js';
export {
  createZaloTokenManager,
  createPkcePair,
  pkceChallenge,
  buildZaloAuthorizeUrl,
  exchangeZaloCode,
  ZaloOAuthCallback,
  ZaloTokenError,
  ZALO_OAUTH_URL,
  DEFAULT_REFRESH_MARGIN_MS,
  type ZaloTokenManager,
  type ZaloTokenManagerOptions,
  type ZaloTokenPair,
  type ZaloTokenStore,
  type ZaloRefreshLock,
  type ZaloTokenErrorCode,
  type FetchLike,
} from './tokens.js';
export { createMemoryZaloTokenStore, createMemoryRefreshLock, type MemoryZaloTokenStore } from './memory-ports.js';
