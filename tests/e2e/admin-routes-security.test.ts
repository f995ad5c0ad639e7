// Every admin and API route refuses an anonymous request. The routes are read from the running
// app's router (not a hand-kept list), so a new page cannot be added without this check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/start-server.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
}, 60_000);
afterAll(async () => {
  await srv?.stop();
});

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  rawPath?: unknown;
  /** A router (stack) or a mounted sub-application (router.stack). */
  handle?: { stack?: Layer[]; router?: { stack?: Layer[] } };
}

function isLayerList(v: unknown): v is Layer[] {
  return Array.isArray(v);
}

function collect(stack: Layer[], prefix: string, out: Array<{ method: string; path: string }>): void {
  for (const layer of stack) {
    if (layer.route) {
      for (const method of Object.keys(layer.route.methods)) out.push({ method, path: `${prefix}${layer.route.path}` });
    } else if (layer.handle && (isLayerList(layer.handle.stack) || isLayerList(layer.handle.router?.stack))) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      const sub = layer.handle.stack ?? layer.handle.router?.stack ?? [];
      collect(sub, `${prefix}${mount}`, out);
      if (mount) out.push({ method: 'get', path: mount }); // a mounted sub-app (e.g. the queue dashboard)
    }
  }
}

// Public by design: the sign-in form and the API's description.
const PUBLIC = new Set(['get /admin/login', 'post /admin/login', 'get /api/v1/openapi.json']);

describe('admin and API routes', () => {
  it('refuse anonymous requests, every one of them', async () => {
    const app = srv.running.server?.listeners('request')[0];
    const router: unknown = app && typeof app === 'function' && 'router' in app ? app.router : undefined;
    const stack = router && (typeof router === 'object' || typeof router === 'function') && 'stack' in router ? router.stack : undefined;
    expect(isLayerList(stack)).toBe(true);
    const routes: Array<{ method: string; path: string }> = [];
    collect(isLayerList(stack) ? stack : [], '', routes);
    const guarded = routes.filter((r) => (r.path.startsWith('/admin') || r.path.startsWith('/api/v1')) && !PUBLIC.has(`${r.method} ${r.path}`));
    expect(guarded.length).toBeGreaterThanOrEqual(6);
    expect(guarded.some((r) => r.path.startsWith('/admin/queues'))).toBe(true);
    for (const r of guarded) {
      const path = r.path.replace(/:[A-Za-z]+/g, 'xa-mau');
      const res = await fetch(`${srv.url}${path}`, {
        method: r.method.toUpperCase(),
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: srv.url },
        body: r.method === 'get' || r.method === 'head' ? undefined : '',
      });
      const refused = res.status === 401 || res.status === 403 || ((res.status === 302 || res.status === 303) && (res.headers.get('location') ?? '').includes('/admin/login'));
      expect(refused, `${r.method.toUpperCase()} ${path} answered ${res.status}`).toBe(true);
    }
  });
});
