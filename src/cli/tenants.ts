// `cxone-scim tenants check [--tenant id]`: proves a tenant's configuration works — gets a token,
// reads the ServiceProviderConfig — and prints what it found, never a secret.
import type { Command } from 'commander';
import type { CliContext } from './context';
import { ExitCode } from './exit-codes';
import { TenantRegistry, type TenantConfig } from '../config/tenants';
import { ScimClient, scimBaseUrl, TenantTokenProvider, type TenantAuth, type TokenProvider } from '../http';

export interface TenantCheck {
  tenantId: string;
  auth: string;
  ok: boolean;
  apiBase?: string;
  /** Whether the API base came from the configuration or from discovery. */
  apiBaseSource?: 'configured' | 'discovered';
  scimBase?: string;
  /** ISO time; absent for a static token. */
  tokenExpiresAt?: string;
  capabilities?: {
    bulk: boolean;
    etag: boolean;
    patch: boolean;
    filter: boolean;
    filterMaxResults?: number;
    paging: boolean;
  };
  error?: string;
}

/** What the auth strategy is, with its non-secret settings. */
function describeAuth(auth: TenantAuth): string {
  switch (auth.type) {
    case 'cxone-access-key':
      return `cxone-access-key (issuer ${auth.issuer}, client ${auth.clientId})`;
    case 'cxone-access-key-legacy':
      return `cxone-access-key-legacy (${auth.authUrl})`;
    case 'client-credentials':
      return `client-credentials (${auth.tokenUrl}, client ${auth.clientId}, ${auth.clientAuthMethod})`;
    case 'bearer':
      return 'bearer (static token)';
  }
}

const supported = (value: unknown) =>
  typeof value === 'object' && value !== null && (value as { supported?: unknown }).supported === true;

export async function checkTenant(
  tenant: TenantConfig,
  tokens: TokenProvider = new TenantTokenProvider(),
): Promise<TenantCheck> {
  const result: TenantCheck = { tenantId: tenant.tenantId, auth: describeAuth(tenant.auth), ok: false };
  try {
    const access = await tokens.access(tenant);
    result.apiBase = access.apiBase;
    result.apiBaseSource = tenant.baseUrl ? 'configured' : 'discovered';
    result.scimBase = scimBaseUrl({ baseUrl: access.apiBase, scimPath: tenant.scimPath });
    if (access.expiresAt !== undefined) result.tokenExpiresAt = new Date(access.expiresAt).toISOString();
    const client = new ScimClient({ tenant, tokens });
    const spc = (await client.get<Record<string, unknown>>('/ServiceProviderConfig')).body ?? {};
    const page =
      (await client.get<Record<string, unknown>>('/Users', { query: { startIndex: 1, count: 1 } })).body ?? {};
    const filter = spc.filter as { maxResults?: unknown } | undefined;
    result.capabilities = {
      bulk: supported(spc.bulk),
      etag: supported(spc.etag),
      patch: supported(spc.patch),
      filter: supported(spc.filter),
      ...(typeof filter?.maxResults === 'number' ? { filterMaxResults: filter.maxResults } : {}),
      // RFC 7644 §3.4.2.4: a paged list answers with startIndex and itemsPerPage.
      paging: typeof page.startIndex === 'number' && typeof page.itemsPerPage === 'number' && page.itemsPerPage <= 1,
    };
    result.ok = true;
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  }
  return result;
}

export function formatTenantCheck(check: TenantCheck, now = Date.now()): string {
  const yes = (flag: boolean) => (flag ? 'yes' : 'no');
  const lines = [`tenant ${check.tenantId}: ${check.ok ? 'OK' : 'FAILED'}`, `  auth          ${check.auth}`];
  if (check.apiBase)
    lines.push(`  API base      ${check.apiBase} (${check.apiBaseSource})`, `  SCIM base     ${check.scimBase}`);
  if (check.ok) {
    lines.push(
      `  token         ${check.tokenExpiresAt ? `expires ${check.tokenExpiresAt} (in ${Math.round((Date.parse(check.tokenExpiresAt) - now) / 1000)} s)` : 'static, never refreshed'}`,
    );
  }
  const c = check.capabilities;
  if (c) {
    lines.push(
      `  capabilities  bulk: ${yes(c.bulk)}, etag: ${yes(c.etag)}, patch: ${yes(c.patch)}, ` +
        `filter: ${yes(c.filter)}${c.filterMaxResults !== undefined ? ` (max ${c.filterMaxResults})` : ''}, paging: ${yes(c.paging)}`,
    );
  }
  if (check.error) lines.push(`  error         ${check.error}`);
  return lines.join('\n');
}

export function registerTenantsCommand(program: Command, context: CliContext): void {
  const tenants = program
    .command('tenants')
    .description('Tenant configuration (CXONE_* variables and CXONE_TENANTS_FILE).');
  tenants
    .command('check')
    .description(
      'For each tenant (or --tenant): get a token, read the ServiceProviderConfig, print auth type, API base, token expiry and capabilities. Never prints a secret.',
    )
    .option('--tenant <id>', 'check only this tenant')
    .action(async (options: { tenant?: string }) => {
      const registry = TenantRegistry.fromEnv(context.env);
      const ids = options.tenant ? [registry.get(options.tenant).tenantId] : registry.ids();
      if (ids.length === 0)
        throw new Error(
          'no tenant configured: set CXONE_AUTH / CXONE_BASE_URL (the default tenant) or CXONE_TENANTS_FILE',
        );
      const tokens = new TenantTokenProvider();
      let failed = 0;
      for (const id of ids) {
        const check = await checkTenant(registry.get(id), tokens);
        if (!check.ok) failed += 1;
        context.stdout.write(`${formatTenantCheck(check)}\n`);
      }
      if (failed > 0) context.exitCode = ExitCode.Error;
    });
}
