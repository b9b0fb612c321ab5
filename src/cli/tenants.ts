// `cxone-scim tenants check [--tenant id]`: proves a tenant's configuration works — gets a token,
// reads what discovery documents the provider publishes (none is required), tries the optional
// request shapes that can be tried without writing (`attributes`, `count`, an `or` filter) — and
// prints every capability with where it came from, never a secret.
import type { Command } from 'commander';
import type { CliContext } from './context';
import { ExitCode } from './exit-codes';
import { configuredCapabilities, TenantRegistry, type TenantConfig } from '../config/tenants';
import {
  ScimClient,
  ScimHttpError,
  scimBaseUrl,
  TenantDialect,
  TenantTokenProvider,
  type TokenProvider,
} from '../http';
import { describeAuth } from '../http/auth';
import { fetchDocument } from '../activities/discovery';
import {
  CAPABILITY_NAMES,
  capabilityModel,
  discoveredCapabilities,
  endpointModel,
  isResourceList,
  isServiceProviderConfig,
  type CapabilityModel,
  type EndpointModel,
} from '../scim/capabilities';
import { filterString } from '../scim/filter';

export type DocumentName = 'ServiceProviderConfig' | 'ResourceTypes' | 'Schemas';

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
  /** Which discovery documents the provider publishes (none is required). */
  documents?: Record<DocumentName, { published: boolean; status: number; absence?: string }>;
  /** Every capability with where it came from: discovered, configured, default, or learnt by this check. */
  model?: CapabilityModel;
  endpoints?: EndpointModel;
  /** What the provider refused during the check, and how it answered. */
  refusals?: Record<string, string>;
  error?: string;
}

/** A refusal of a request shape (rather than a fault): the provider does not take it. */
const refused = (err: unknown) => err instanceof ScimHttpError && [400, 422, 501].includes(err.status);

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
    // A dialect of its own: what this check learns is printed as `learnt`.
    const configured = configuredCapabilities(tenant);
    const dialect = new TenantDialect(configured);
    const client = new ScimClient({ tenant, tokens, dialect });
    const spc = await fetchDocument(client, '/ServiceProviderConfig', isServiceProviderConfig);
    const types = await fetchDocument(client, '/ResourceTypes', isResourceList);
    const schemas = await fetchDocument(client, '/Schemas', isResourceList);
    const describe = (d: typeof spc) => ({
      published: d.published,
      status: d.status,
      ...(d.published ? {} : { absence: d.absence }),
    });
    result.documents = {
      ServiceProviderConfig: describe(spc),
      ResourceTypes: describe(types),
      Schemas: describe(schemas),
    };
    const endpoints = endpointModel(types.published ? types.body : undefined, tenant.endpoints);
    const users = endpoints.users.value;

    // The listing shapes every run uses: a page of one, with `attributes` (a refusal is learnt by the client).
    const page =
      (
        await client.get<Record<string, unknown>>(users, {
          query: { startIndex: 1, count: 1, attributes: 'userName' },
        })
      ).body ?? {};
    let model = capabilityModel({
      discovered: spc.published ? discoveredCapabilities(spc.body) : undefined,
      configured,
      learnt: dialect.learnt(),
    });
    if (model.filter.value && model.filterOr.value) {
      // Two keys in one lookup, as provisioning asks; refused but answered without `or`: learnt.
      const name = (n: string) => filterString(`tenants-check-${n}@invalid.example`);
      try {
        await client.get(users, { query: { filter: `userName eq ${name('a')} or userName eq ${name('b')}` } });
      } catch (err) {
        if (!refused(err)) throw err;
        try {
          await client.get(users, { query: { filter: `userName eq ${name('a')}` } });
          dialect.or = false;
        } catch (plain) {
          if (!refused(plain)) throw plain;
          dialect.learn('filter', `GET ${users}?filter=userName eq … answered HTTP ${(plain as ScimHttpError).status}`);
        }
      }
    }
    model = capabilityModel({
      discovered: spc.published ? discoveredCapabilities(spc.body) : undefined,
      configured,
      learnt: dialect.learnt(),
    });
    result.model = model;
    result.endpoints = endpoints;
    const refusals = dialect.refusals();
    if (Object.keys(refusals).length > 0) result.refusals = refusals;
    result.capabilities = {
      bulk: model.bulk.value,
      etag: model.etag.value,
      patch: model.patch.value,
      filter: model.filter.value,
      ...(model.maxResults.value > 0 ? { filterMaxResults: model.maxResults.value } : {}),
      // RFC 7644 §3.4.2.4: a paged list answers with startIndex and itemsPerPage.
      paging: typeof page.startIndex === 'number' && typeof page.itemsPerPage === 'number' && page.itemsPerPage <= 1,
    };
    result.ok = true;
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  }
  return result;
}

/** How each capability's provenance reads. */
const FROM: Record<string, string> = {
  discovered: 'discovered (ServiceProviderConfig)',
  configured: 'configured (tenant `capabilities`)',
  default: 'default',
  learnt: 'learnt (the provider refused it during this check)',
};

const NOTES: Partial<Record<string, string>> = {
  patch: 'a refused PATCH (400/405/501) is learnt by the worker, which then writes with GET + PUT',
};

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
  if (check.documents) {
    const docs = Object.entries(check.documents).map(([name, d]) =>
      d.published ? `${name} published` : `${name} not published (${d.absence})`,
    );
    lines.push(`  documents     ${docs.join('; ')}`);
  }
  if (check.endpoints) {
    const e = check.endpoints;
    lines.push(
      `  endpoints     users ${e.users.value} (${e.users.from}), groups ${e.groups.value ?? 'none'} (${e.groups.from})`,
    );
  }
  if (check.model) {
    for (const name of CAPABILITY_NAMES) {
      const { value, from } = check.model[name];
      const shown = typeof value === 'boolean' ? yes(value) : value === 0 ? 'not stated' : String(value);
      const note = from === 'default' && NOTES[name] ? `; ${NOTES[name]}` : '';
      lines.push(`  capability    ${name.padEnd(19)} ${shown.padEnd(10)} ${FROM[from]}${note}`);
    }
  }
  for (const [what, answer] of Object.entries(check.refusals ?? {})) lines.push(`  refused       ${what}: ${answer}`);
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
      'For each tenant (or --tenant): get a token, read the discovery documents the provider publishes (none is required), try the optional request shapes that need no write, and print auth type, API base, token expiry, endpoints and every capability with where it came from (discovered, configured, default, learnt). Never prints a secret.',
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
