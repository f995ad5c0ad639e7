// The real `serve` role wired to local fakes of the Graph API and the Zalo OpenAPI/OAuth, for
// end-to-end tests: one Page and one OA of the default unit, set through the same settings a
// deployment uses (base URLs included), so production code never knows it talks to fakes.
import { startTestServer, type TestServer } from './start-server.js';
import { startFakeGraphServer, type FakeGraphServer } from '../fakes/graph-server.js';
import { startZaloFake, type ZaloFake } from '../fakes/zalo-server.js';

export interface PlatformIds {
  fbAppSecret: string;
  fbPageId: string;
  fbToken: string;
  fbVerifyToken: string;
  zaloAppId: string;
  zaloAppSecret: string;
  zaloOaSecret: string;
  zaloOaId: string;
}

export interface PlatformServer {
  graph: FakeGraphServer;
  zalo: ZaloFake;
  srv: TestServer;
  stop(): Promise<void>;
}

export async function startPlatformServer(
  ids: PlatformIds,
  options: { grant?: (zalo: ZaloFake) => { accessToken: string; refreshToken: string }; env?: Record<string, string> } = {},
): Promise<PlatformServer> {
  const graph = await startFakeGraphServer({ tokens: { [ids.fbToken]: ids.fbPageId } });
  const zalo = await startZaloFake({ appId: ids.zaloAppId, appSecret: ids.zaloAppSecret });
  const grant = options.grant ? options.grant(zalo) : zalo.grant(ids.zaloOaId);
  const srv = await startTestServer({
    FB_APP_ID: '999000111',
    FB_APP_SECRET: ids.fbAppSecret,
    FB_VERIFY_TOKEN: ids.fbVerifyToken,
    FB_PAGE_ID: ids.fbPageId,
    FB_PAGE_ACCESS_TOKEN: ids.fbToken,
    FB_GRAPH_URL: graph.url,
    ZALO_APP_ID: ids.zaloAppId,
    ZALO_APP_SECRET: ids.zaloAppSecret,
    ZALO_OA_SECRET_KEY: ids.zaloOaSecret,
    ZALO_OA_ID: ids.zaloOaId,
    ZALO_ACCESS_TOKEN: grant.accessToken,
    ZALO_REFRESH_TOKEN: grant.refreshToken,
    ZALO_OPENAPI_URL: zalo.url,
    ZALO_OAUTH_URL: zalo.url,
    ...options.env,
  });
  return {
    graph,
    zalo,
    srv,
    stop: async () => {
      await srv.stop();
      await graph.close();
      await zalo.close();
    },
  };
}
