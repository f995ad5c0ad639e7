// Server-rendered sign-in and password pages: self-contained HTML (inline style, no CDN, no
// script), every value escaped by the html template.
import { html, raw, type Html } from './html.js';
import { AUTH_MESSAGES as M } from './messages.js';

const STYLE = raw(`body{font-family:system-ui,sans-serif;background:#f4f6f8;margin:0;color:#1b1f23}
main{max-width:24rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.4rem;margin-top:0}label{display:block;margin:.8rem 0 .3rem}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{margin-top:1.2rem;padding:.6rem 1.2rem;font-size:1rem;background:#0b5cad;color:#fff;border:0;border-radius:4px}
.error{background:#fdecea;color:#8a1c12;padding:.6rem;border-radius:4px}.note{background:#fff6d6;padding:.6rem;border-radius:4px}`);

export function layout(title: string, body: Html): string {
  return html`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} — ${M.appName}</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`.value;
}

export function loginPage(opts: { username?: string; error?: string; csrfToken: string }): string {
  return layout(
    M.loginTitle,
    html`<h1>${M.loginTitle}</h1>
${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
<form method="post" action="/admin/login">
<input type="hidden" name="_csrf" value="${opts.csrfToken}">
<label for="username">${M.username}</label>
<input type="text" id="username" name="username" value="${opts.username ?? ''}" autocomplete="username" autocapitalize="none" required>
<label for="password">${M.password}</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">${M.loginButton}</button>
</form>`,
  );
}

export function passwordPage(opts: { csrfToken: string; mustChange: boolean; error?: string }): string {
  return layout(
    M.passwordTitle,
    html`<h1>${M.passwordTitle}</h1>
${opts.mustChange ? html`<p class="note">${M.passwordMustChange}</p>` : ''}
${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
<form method="post" action="/admin/password">
<input type="hidden" name="_csrf" value="${opts.csrfToken}">
<label for="current">${M.currentPassword}</label>
<input type="password" id="current" name="current" autocomplete="current-password" required>
<label for="next">${M.newPassword}</label>
<input type="password" id="next" name="next" autocomplete="new-password" minlength="12" required>
<label for="confirm">${M.confirmPassword}</label>
<input type="password" id="confirm" name="confirm" autocomplete="new-password" minlength="12" required>
<button type="submit">${M.passwordButton}</button>
</form>
<form method="post" action="/admin/logout"><input type="hidden" name="_csrf" value="${opts.csrfToken}"><button type="submit">${M.logout}</button></form>`,
  );
}

/** A refusal (403 and the like) as a page: the reason, and a way back. */
export function errorPage(message: string): string {
  return layout(
    M.errorTitle,
    html`<h1>${M.errorTitle}</h1>
<p class="error" role="alert">${message}</p>
<p><a href="/admin">${M.backHome}</a></p>`,
  );
}
