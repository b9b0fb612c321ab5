import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TenantConfig } from '../../src/config/tenants';

export type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;

/** A scripted HTTP server on 127.0.0.1 with a random port, for tests that need odd answers. */
export async function startScriptedServer(handler: Handler): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/scim+json', ...headers });
  res.end(JSON.stringify(body));
}

/** A tenant whose token endpoint and SCIM base (`/oauth/token`, `/scim/v2`) are a scripted server's. */
export function scriptedTenant(url: string, tenantId: string, clientSecret: string): TenantConfig {
  return {
    tenantId,
    baseUrl: url,
    scimPath: '/scim/v2',
    auth: {
      type: 'client-credentials',
      tokenUrl: `${url}/oauth/token`,
      clientId: `${tenantId}-client`,
      clientSecret,
      scopes: ['scim:write'],
      clientAuthMethod: 'client_secret_basic',
    },
  };
}

/** The same client-credentials tenant, reached through a proxy at `url` (SCIM and token endpoint). */
export function throughProxy(tenant: TenantConfig, tenantId: string, url: string): TenantConfig {
  if (tenant.auth.type !== 'client-credentials') throw new Error('throughProxy expects a client-credentials tenant');
  return { ...tenant, tenantId, baseUrl: url, auth: { ...tenant.auth, tokenUrl: `${url}/oauth/token` } };
}
