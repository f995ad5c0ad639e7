// The Facebook Messenger channel adapter's public surface: webhook verification and parsing,
// reply rendering within Messenger's limits, and the Send API client with its error table.
export { verifyMessengerSignature, verifyHandshake } from './verify.js';
export { parseMessengerWebhook, MessengerPayloadError, type ParseMessengerOptions } from './parse-webhook.js';
export {
  renderMessengerReply,
  splitMessengerText,
  shortenTitle,
  MESSENGER_TEXT_MAX,
  MESSENGER_TEMPLATE_TEXT_MAX,
  MESSENGER_BUTTONS_MAX,
  MESSENGER_QUICK_REPLIES_MAX,
  MESSENGER_TITLE_MAX,
  MESSENGER_PAYLOAD_MAX,
  type MessengerSendBody,
  type MessengerMessage,
  type MessengerMessagingType,
  type MessengerButton,
  type MessengerQuickReply,
} from './render.js';
export { createMessengerClient, classifyMessengerError, type MessengerClient, type MessengerClientOptions } from './send-client.js';
