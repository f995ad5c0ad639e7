// The website chat widget channel's public surface.
export { createWebChannelRouter, defaultPublicDir, type WebChannelDeps, type WebChannelLogger } from './web-channel-router.js';
export { ChatRequest, SessionId } from './chat-request.js';
export { deepLinkPayload, DEEP_LINK_COOKIE } from './deep-link.js';
