// The Zalo OAuth v4 connect flow with PKCE: /oauth/zalo/start (from a signed connect link)
// redirects the OA admin to Zalo; /oauth/zalo/callback exchanges the code with the verifier
// and stores the token pair for the OA under the unit. State and verifier live in Redis for
// 10 minutes and are taken once.
import { randomBytes } from 'node:crypto';
import express, { type Router } from 'express';
import { z } from 'zod';
import { buildZaloAuthorizeUrl, createPkcePair, exchangeZaloCode, ZaloOAuthCallback, type ZaloTokenPair } from '../zalo/index.js';
import { verifyConnectToken } from './connect-link.js';

export interface ZaloConnectDeps {
  secret: string;
  oauthUrl: string;
  appId: string | undefined;
  appSecret: string | undefined;
  publicBaseUrl: string;
  /** Store `value` under `key` for `ttlSeconds`; `take` returns it once. */
  stash(key: string, value: string, ttlSeconds: number): Promise<void>;
  take(key: string): Promise<string | null>;
  saveAccount(unitId: string, oaId: string, pair: ZaloTokenPair): Promise<void>;
  fetch?: typeof fetch;
  /** The code Zalo gives to verify the domain (meta tag or zalo_verifier<CODE>.html). */
  siteVerification?: string;
}

const Pending = z.object({ unit: z.string().min(1), verifier: z.string().min(43) });

const page = (title: string, text: string): string =>
  `<!doctype html><html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title></head>` +
  `<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem"><h1>${title}</h1><p>${text}</p></body></html>`;

export function createZaloConnectRouter(deps: ZaloConnectDeps): Router {
  const router = express.Router();

  const code = deps.siteVerification;
  if (code) {
    // Zalo's domain check: the verifier file, carrying the meta tag too.
    router.get(`/zalo_verifier${code}.html`, (_req, res) => {
      res
        .type('html')
        .send(`<!doctype html><html><head><meta name="zalo-platform-site-verification" content="${code}" /></head><body>There Is No Limit To What You Can Accomplish Using Zalo!</body></html>`);
    });
  }

  router.get('/oauth/zalo/start', async (req, res) => {
    const token = typeof req.query.t === 'string' ? req.query.t : '';
    const claims = verifyConnectToken(deps.secret, token);
    if (!claims || !deps.appId || !deps.appSecret) {
      res.status(403).type('html').send(page('Liên kết không hợp lệ', 'Liên kết kết nối Zalo OA đã hết hạn hoặc không đúng. Vui lòng tạo liên kết mới.'));
      return;
    }
    const state = randomBytes(16).toString('base64url');
    const { codeVerifier, codeChallenge } = createPkcePair();
    await deps.stash(state, JSON.stringify({ unit: claims.unit, verifier: codeVerifier }), 600);
    res.redirect(
      302,
      buildZaloAuthorizeUrl({
        oauthUrl: deps.oauthUrl,
        appId: deps.appId,
        redirectUri: `${deps.publicBaseUrl.replace(/\/+$/, '')}/oauth/zalo/callback`,
        state,
        codeChallenge,
      }),
    );
  });

  router.get('/oauth/zalo/callback', async (req, res) => {
    const query = ZaloOAuthCallback.safeParse(req.query);
    if (!query.success || !deps.appId || !deps.appSecret) {
      res.status(400).type('html').send(page('Không kết nối được', 'Thiếu thông tin từ Zalo. Vui lòng thử lại từ đầu.'));
      return;
    }
    const raw = await deps.take(query.data.state);
    const pending = raw ? Pending.safeParse(JSON.parse(raw)) : null;
    if (!pending?.success) {
      res.status(400).type('html').send(page('Không kết nối được', 'Phiên kết nối đã hết hạn hoặc đã được dùng. Vui lòng tạo liên kết mới.'));
      return;
    }
    try {
      const pair = await exchangeZaloCode({
        oauthUrl: deps.oauthUrl,
        appId: deps.appId,
        appSecret: deps.appSecret,
        code: query.data.code,
        codeVerifier: pending.data.verifier,
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
      });
      await deps.saveAccount(pending.data.unit, query.data.oaId, pair);
    } catch {
      res.status(502).type('html').send(page('Không kết nối được', 'Zalo không chấp nhận yêu cầu kết nối. Vui lòng thử lại sau.'));
      return;
    }
    res.status(200).type('html').send(page('Đã kết nối Zalo OA', 'Zalo Official Account đã được kết nối với trợ lý. Bạn có thể đóng trang này.'));
  });
  return router;
}
