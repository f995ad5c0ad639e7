// Staff authentication for the admin web and the /api routes: the sign-in, sign-out and
// password pages, the session cookie, Bearer API tokens, CSRF checks on state-changing admin
// requests, and requireUser() which answers 401/302, 403 or lets the request through with
// the signed-in user in res.locals (read it with getAuth / authOf).
import { timingSafeEqual, createHash, randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import type { AuditRepository } from '../../store/audit-repository.js';
import type { StaffRepository, StaffUser } from '../../store/staff-repository.js';
import type { LoginLimiter } from './login-limiter.js';
import { AUTH_ERRORS, AUTH_MESSAGES as M, type AuthErrorCode } from './messages.js';
import { errorPage, loginPage, passwordPage } from './pages.js';
import { hashPassword, verifyPassword } from './password.js';
import { Action, Role, can, hasRole } from './roles.js';
import type { SessionData, SessionStore } from './session-store.js';

export const SESSION_COOKIE = 'motcua_admin';
/** The pre-session CSRF cookie of the sign-in form (double submit: cookie == hidden field). */
export const LOGIN_CSRF_COOKIE = 'motcua_login';
export const MIN_PASSWORD_LENGTH = 12;

/** What requireUser leaves in res.locals.auth for the handlers. */
export class AuthContext {
  constructor(
    readonly user: StaffUser,
    /** 'session' for the admin pages (cookie), 'token' for Bearer API calls. */
    readonly via: 'session' | 'token',
    readonly session?: { id: string; data: SessionData },
  ) {}

  can(action: Action, unitId: string | null): boolean {
    return can(this.user, action, unitId);
  }

  /** The CSRF token to put in a hidden `_csrf` field of every form (sessions only). */
  get csrfToken(): string {
    return this.session?.data.csrfToken ?? '';
  }
}

export function getAuth(res: Response): AuthContext | undefined {
  const v: unknown = res.locals.auth;
  return v instanceof AuthContext ? v : undefined;
}

/** The signed-in user of a request that went through requireUser (throws otherwise: a wiring bug). */
export function authOf(res: Response): AuthContext {
  const a = getAuth(res);
  if (!a) throw new Error('authOf() used on a route without requireUser()');
  return a;
}

export type Requirement =
  | undefined
  | Role
  | Action
  | {
      action: Action;
      /** The unit the request acts on; defaults to req.params.unitId, else null (deployment-wide). */
      unit?: (req: Request) => string | null;
    };

export interface AuthDeps {
  sessions: SessionStore;
  staff: StaffRepository;
  limiter: LoginLimiter;
  audit: AuditRepository;
  /** Add `Secure` to the cookie (true behind HTTPS). */
  secureCookies: boolean;
  /** Where a signed-in user lands; default '/admin'. */
  homePath?: string;
}

export interface Auth {
  /** GET/POST /admin/login, POST /admin/logout, GET/POST /admin/password. */
  router: Router;
  requireUser(requirement?: Requirement): RequestHandler;
  /**
   * requireUser without the CSRF check (the token is inside the body): placed before a large
   * body parser so that only a signed-in user with the right role makes the server read a
   * big upload; requireUser after the parser still checks the token.
   */
  requireSignedIn(requirement?: Requirement): RequestHandler;
  /** urlencoded body parser (16 kB) for admin forms. */
  formParser: RequestHandler;
}

const LoginForm = z.object({
  username: z.string().max(200).default(''),
  password: z.string().max(1000).default(''),
  _csrf: z.string().max(200).default(''),
});
const PasswordForm = z.object({
  current: z.string().max(1000).default(''),
  next: z.string().max(1000).default(''),
  confirm: z.string().max(1000).default(''),
});
const CsrfField = z.object({ _csrf: z.string().max(200) });

/** An auth refusal: a Vietnamese page for a browser asking for a page, JSON for API clients. */
export function sendAuthError(res: Response, code: AuthErrorCode, req?: Request): void {
  sendError(res, code, req);
}

function sendError(res: Response, code: AuthErrorCode, req?: Request): void {
  const e = AUTH_ERRORS[code];
  // A browser asking for a page gets a page in Vietnamese; API clients and scripts get JSON.
  if (req && !wantsJson(req) && (req.headers.accept ?? '').includes('text/html')) {
    pageHeaders(res);
    res.status(e.status).send(errorPage(e.message));
    return;
  }
  res.status(e.status).json({ error: { code, message: e.message } });
}

function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function safeEqual(a: string, b: string): boolean {
  // Hash first so lengths match and nothing about the expected token leaks through timing.
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db) && a.length > 0;
}

function isStateChanging(req: Request): boolean {
  return !['GET', 'HEAD', 'OPTIONS'].includes(req.method);
}

function wantsJson(req: Request): boolean {
  return req.originalUrl.startsWith('/api/') || req.headers.authorization !== undefined;
}

function pageHeaders(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader(
    'Content-Security-Policy',
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  res.setHeader('X-Frame-Options', 'DENY');
  res.type('html');
}

function normaliseUsername(s: string): string {
  return s.normalize('NFC').trim().toLowerCase();
}

export function createAuth(deps: AuthDeps): Auth {
  const home = deps.homePath ?? '/admin';
  const formParser = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });
  // Compared against when the username is unknown, so both paths take as long.
  let dummyHash: Promise<string> | undefined;
  const dummy = () => (dummyHash ??= hashPassword('not-a-real-password-' + Math.random()));

  const cookie = (value: string, maxAge: number): string =>
    `${SESSION_COOKIE}=${value}; Path=/admin; HttpOnly; SameSite=Lax; Max-Age=${maxAge}` + (deps.secureCookies ? '; Secure' : '');
  const setSessionCookie = (res: Response, id: string) => res.append('Set-Cookie', cookie(id, deps.sessions.idleSeconds));
  // Before there is a session, the sign-in form is protected by a random token held both in a
  // strict cookie scoped to the form and in a hidden field: another site can post the form but
  // can neither read nor set the cookie, so it cannot sign a victim into the attacker's account.
  const newLoginToken = (res: Response): string => {
    const token = randomBytes(24).toString('base64url');
    res.append(
      'Set-Cookie',
      `${LOGIN_CSRF_COOKIE}=${token}; Path=/admin/login; HttpOnly; SameSite=Strict; Max-Age=7200` + (deps.secureCookies ? '; Secure' : ''),
    );
    return token;
  };
  const clearLoginToken = (res: Response) =>
    res.append('Set-Cookie', `${LOGIN_CSRF_COOKIE}=; Path=/admin/login; HttpOnly; SameSite=Strict; Max-Age=0` + (deps.secureCookies ? '; Secure' : ''));
  const clearSessionCookie = (res: Response) => res.append('Set-Cookie', cookie('', 0));

  /** The session and user behind the cookie, renewing the idle timeout; undefined if none. */
  async function fromSession(req: Request): Promise<AuthContext | undefined> {
    const id = readCookie(req, SESSION_COOKIE);
    if (!id) return undefined;
    const data = await deps.sessions.get(id);
    if (!data) return undefined;
    const user = await deps.staff.findById(data.userId);
    if (!user || user.disabled) {
      await deps.sessions.destroy(id);
      return undefined;
    }
    await deps.sessions.touch(id);
    return new AuthContext(user, 'session', { id, data });
  }

  async function fromToken(req: Request): Promise<AuthContext | undefined> {
    const header = req.headers.authorization;
    const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!m?.[1]) return undefined;
    const user = await deps.staff.findUserByToken(m[1]);
    return user ? new AuthContext(user, 'token') : undefined;
  }

  function csrfOk(req: Request, ctx: AuthContext): boolean {
    const header = req.headers['x-csrf-token'];
    const fromHeader = typeof header === 'string' ? header : undefined;
    const field = CsrfField.safeParse(req.body);
    const sent = fromHeader ?? (field.success ? field.data._csrf : '');
    return safeEqual(sent, ctx.csrfToken);
  }

  const parseForm = (req: Request, res: Response): Promise<void> =>
    new Promise((resolve, reject) => formParser(req, res, (err?: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve())));

  function allowed(ctx: AuthContext, req: Request, requirement: Requirement): boolean {
    if (requirement === undefined) return true;
    if (typeof requirement === 'string') {
      const role = Role.safeParse(requirement);
      if (role.success) return hasRole(ctx.user, role.data);
      const action = Action.parse(requirement);
      return ctx.can(action, defaultUnit(req));
    }
    return ctx.can(requirement.action, requirement.unit ? requirement.unit(req) : defaultUnit(req));
  }

  function defaultUnit(req: Request): string | null {
    const p: unknown = req.params.unitId;
    return typeof p === 'string' && p !== '' ? p : null;
  }

  function requireUser(requirement?: Requirement, checkCsrf = true): RequestHandler {
    return async (req: Request, res: Response, next: NextFunction) => {
      try {
        const api = req.originalUrl.startsWith('/api/');
        // Bearer tokens only for /api: admin pages work with the cookie session alone.
        const ctx = api ? await fromToken(req) : await fromSession(req);
        if (!ctx) {
          if (wantsJson(req)) sendError(res, 'UNAUTHENTICATED', req);
          else res.redirect(302, '/admin/login');
          return;
        }
        if (checkCsrf && ctx.via === 'session' && isStateChanging(req)) {
          if (req.body === undefined) await parseForm(req, res);
          if (!csrfOk(req, ctx)) {
            sendError(res, 'CSRF_INVALID', req);
            return;
          }
        }
        if (ctx.user.mustChangePassword) {
          if (ctx.via === 'session' && !isStateChanging(req)) res.redirect(302, '/admin/password');
          else sendError(res, 'PASSWORD_CHANGE_REQUIRED', req);
          return;
        }
        if (!allowed(ctx, req, requirement)) {
          sendError(res, 'FORBIDDEN', req);
          return;
        }
        res.locals.auth = ctx;
        next();
      } catch (err) {
        next(err);
      }
    };
  }

  const router = express.Router();

  router.get('/admin/login', async (req, res, next) => {
    try {
      const ctx = await fromSession(req);
      if (ctx) {
        res.redirect(302, ctx.user.mustChangePassword ? '/admin/password' : home);
        return;
      }
      pageHeaders(res);
      res.send(loginPage({ csrfToken: newLoginToken(res) }));
    } catch (err) {
      next(err);
    }
  });

  router.post('/admin/login', formParser, async (req, res, next) => {
    try {
      pageHeaders(res);
      // No session yet: a cross-site post is refused by its Origin and by the form's own token.
      const again = (status: number, error: string, username?: string) =>
        res.status(status).send(loginPage({ error, csrfToken: newLoginToken(res), ...(username !== undefined ? { username } : {}) }));
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `${req.protocol}://${req.get('host') ?? ''}`) {
        again(403, M.badOrigin);
        return;
      }
      const parsed = LoginForm.safeParse(req.body ?? {});
      if (!parsed.success) {
        again(400, M.loginFailed);
        return;
      }
      const expected = readCookie(req, LOGIN_CSRF_COOKIE) ?? '';
      if (!safeEqual(parsed.data._csrf, expected)) {
        again(403, M.badOrigin, parsed.data.username);
        return;
      }
      const form = parsed.data;
      const username = normaliseUsername(form.username);
      const ip = req.ip ?? 'unknown';
      const limit = await deps.limiter.check(username, ip);
      if (!limit.allowed) {
        await deps.audit.record({ actor: null, action: 'auth.login_blocked', target: username.slice(0, 64) });
        res.setHeader('Retry-After', String(limit.retryAfterSeconds));
        again(429, M.rateLimited(Math.ceil(limit.retryAfterSeconds / 60)), form.username);
        return;
      }
      const user = await deps.staff.findByUsername(username);
      const ok = user ? await verifyPassword(form.password, user.passwordHash) : await verifyPassword(form.password, await dummy()).then(() => false);
      if (!user || !ok || user.disabled) {
        await deps.limiter.recordFailure(username, ip);
        await deps.audit.record({ actor: null, action: 'auth.login_failed', unitId: user?.unitId ?? null, target: username.slice(0, 64) });
        again(401, M.loginFailed, form.username);
        return;
      }
      await deps.limiter.reset(username);
      await deps.staff.recordLogin(user.id);
      // A fresh id at every sign-in (no session fixation).
      const old = readCookie(req, SESSION_COOKIE);
      if (old) await deps.sessions.destroy(old);
      const session = await deps.sessions.create(user.id);
      setSessionCookie(res, session.id);
      clearLoginToken(res);
      await deps.audit.record({ actor: user.id, action: 'auth.login', unitId: user.unitId, target: user.username });
      res.redirect(303, user.mustChangePassword ? '/admin/password' : home);
    } catch (err) {
      next(err);
    }
  });

  /** A session form POST: the signed-in user when the CSRF token matches; else answered here. */
  async function signedInForm(req: Request, res: Response): Promise<AuthContext | undefined> {
    const ctx = await fromSession(req);
    if (!ctx) {
      res.redirect(303, '/admin/login');
      return undefined;
    }
    if (!csrfOk(req, ctx)) {
      sendError(res, 'CSRF_INVALID', req);
      return undefined;
    }
    return ctx;
  }

  router.post('/admin/logout', formParser, async (req, res, next) => {
    try {
      const ctx = await signedInForm(req, res);
      if (!ctx) return;
      if (ctx.session) await deps.sessions.destroy(ctx.session.id);
      clearSessionCookie(res);
      await deps.audit.record({ actor: ctx.user.id, action: 'auth.logout', unitId: ctx.user.unitId, target: ctx.user.username });
      res.redirect(303, '/admin/login');
    } catch (err) {
      next(err);
    }
  });

  router.get('/admin/password', async (req, res, next) => {
    try {
      const ctx = await fromSession(req);
      if (!ctx) {
        res.redirect(302, '/admin/login');
        return;
      }
      pageHeaders(res);
      res.send(passwordPage({ csrfToken: ctx.csrfToken, mustChange: ctx.user.mustChangePassword }));
    } catch (err) {
      next(err);
    }
  });

  router.post('/admin/password', formParser, async (req, res, next) => {
    try {
      const ctx = await signedInForm(req, res);
      if (!ctx) return;
      pageHeaders(res);
      const again = (error: string) =>
        res.status(400).send(passwordPage({ csrfToken: ctx.csrfToken, mustChange: ctx.user.mustChangePassword, error }));
      const parsed = PasswordForm.safeParse(req.body ?? {});
      if (!parsed.success) return void again(M.passwordWrongCurrent);
      const form = parsed.data;
      const full = await deps.staff.findByUsername(ctx.user.username);
      if (!full || !(await verifyPassword(form.current, full.passwordHash))) {
        await deps.audit.record({ actor: ctx.user.id, action: 'auth.password_change_failed', unitId: ctx.user.unitId, target: ctx.user.username });
        again(M.passwordWrongCurrent);
        return;
      }
      const next_ = form.next.normalize('NFC');
      if ([...next_].length < MIN_PASSWORD_LENGTH) return void again(M.passwordTooShort);
      if (next_ !== form.confirm.normalize('NFC')) return void again(M.passwordMismatch);
      if (next_ === form.current.normalize('NFC')) return void again(M.passwordSame);
      await deps.staff.setPassword(ctx.user.id, next_);
      // Rotate the session (new id and CSRF token) after the credential changed.
      if (ctx.session) await deps.sessions.destroy(ctx.session.id);
      const session = await deps.sessions.create(ctx.user.id);
      setSessionCookie(res, session.id);
      await deps.audit.record({ actor: ctx.user.id, action: 'auth.password_changed', unitId: ctx.user.unitId, target: ctx.user.username });
      res.redirect(303, home);
    } catch (err) {
      next(err);
    }
  });

  return { router, requireUser: (requirement) => requireUser(requirement), requireSignedIn: (requirement) => requireUser(requirement, false), formParser };
}
