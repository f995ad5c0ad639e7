// The conversation module's public surface: the engine, its ports, the intents loader.
export { createEngine, type Engine, type EngineDeps, type ProcedureLookup } from './engine.js';
export { loadIntents, defaultIntentsDir, IntentFileError, type IntentSet } from './intents.js';
export {
  ConversationState,
  StoredAspect,
  type ConversationKey,
  type ConversationStateStore,
  type HandoffQueue,
  type HandoffRequest,
  type QueryLog,
  type QueryLogEntry,
  type QueryOutcome,
  type UnitContact,
  type UnitDirectory,
} from './ports.js';
export { MemoryHandoffQueue, MemoryQueryLog, MemoryStateStore, MemoryUnitDirectory } from './memory-ports.js';
export { maskDigits, MAX_INPUT_CHARS } from './input.js';
export { PAYLOAD_PREFIX, parsePayload, looksLikePayload } from './payload.js';
