// Signs a staff user in the way a browser does: GET the sign-in page (which sets the form's
// CSRF cookie and hidden field), then POST the form with both.
import { LOGIN_CSRF_COOKIE, SESSION_COOKIE } from '../../src/admin/auth/index.js';

export interface LoginAttempt {
  /** The POST's response (303 on success). */
  response: Response;
  /** "motcua_admin=…" when the sign-in succeeded, '' otherwise. */
  cookie: string;
}

export function cookieValue(res: Response, name: string): string {
  return (res.headers.getSetCookie().find((c) => c.startsWith(name + '=')) ?? '').split(';')[0] ?? '';
}

/** The login form's token and cookie, as a browser would hold them. */
export async function loginForm(base: string): Promise<{ csrf: string; cookie: string }> {
  const page = await fetch(base + '/admin/login', { redirect: 'manual' });
  const html = await page.text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
  return { csrf, cookie: cookieValue(page, LOGIN_CSRF_COOKIE) };
}

export async function tryLogin(base: string, username: string, password: string, headers: Record<string, string> = {}): Promise<LoginAttempt> {
  const form = await loginForm(base);
  const response = await fetch(base + '/admin/login', {
    method: 'POST',
    body: new URLSearchParams({ username, password, _csrf: form.csrf }),
    headers: { cookie: form.cookie, ...headers },
    redirect: 'manual',
  });
  return { response, cookie: cookieValue(response, SESSION_COOKIE) };
}

/** Signs in and returns the session cookie; throws when the sign-in fails. */
export async function loginAs(base: string, username: string, password: string): Promise<string> {
  const { response, cookie } = await tryLogin(base, username, password);
  if (response.status !== 303 || cookie === '') throw new Error(`sign-in of ${username} failed: HTTP ${response.status}`);
  return cookie;
}
