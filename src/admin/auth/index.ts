// Public surface of the staff authentication module.
export { createAuth, getAuth, authOf, sendAuthError, AuthContext, SESSION_COOKIE, LOGIN_CSRF_COOKIE, MIN_PASSWORD_LENGTH } from './auth-middleware.js';
export type { Auth, AuthDeps, Requirement } from './auth-middleware.js';
export { SessionStore, type SessionStoreOptions, type SessionData } from './session-store.js';
export { LoginLimiter, type LoginLimiterOptions } from './login-limiter.js';
export { Role, Action, can, hasRole, type Principal } from './roles.js';
export { hashPassword, verifyPassword, generateOneTimePassword } from './password.js';
export { html, raw, escapeHtml, Html } from './html.js';
export { ensureFirstAdmin } from './ensure-first-admin.js';
export { AUTH_ERRORS, AUTH_MESSAGES } from './messages.js';
