import fs from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import * as t from 'io-ts';
import type { TenantConnection } from '../http/tenant';
import { decode, formatIssues } from '../scim/decode';

/**
 * Tenants live in the worker process only. Workflow inputs name a tenant by id; activities look
 * the connection (with its secrets) up here, so secrets never enter workflow history.
 */
export interface TenantConfig extends TenantConnection {
  /** Shared secret for signing/verifying webhooks; absent when the tenant uses none. */
  webhookSecret?: string;
}

export const DEFAULT_TENANT_ID = 'default';

/** Failure type of a workflow that names a tenant the worker does not know. */
export const UNKNOWN_TENANT = 'UnknownTenant';

/** A tenant file names the env variables that hold secrets; it never holds a secret itself. */
const TenantFileEntry = t.intersection([
  t.type({
    id: t.string,
    baseUrl: t.string,
    tokenUrl: t.string,
    clientId: t.string,
    clientSecretEnv: t.string,
  }),
  t.partial({
    scimPath: t.string,
    scopes: t.array(t.string),
    webhookSecretEnv: t.string,
    requestTimeoutMs: t.number,
  }),
]);
const TenantFile = t.type({ tenants: t.array(TenantFileEntry) });

function requireEnv(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const value = env[name];
  if (!value) throw new Error(`${what}: environment variable ${name} is not set`);
  return value;
}

function splitScopes(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter(Boolean);
}

export class TenantRegistry {
  private readonly tenants = new Map<string, TenantConfig>();

  constructor(tenants: TenantConfig[] = []) {
    for (const tenant of tenants) this.add(tenant);
  }

  add(tenant: TenantConfig): void {
    if (this.tenants.has(tenant.tenantId)) throw new Error(`tenant ${tenant.tenantId} is configured twice`);
    this.tenants.set(tenant.tenantId, tenant);
  }

  get(tenantId: string): TenantConfig {
    const tenant = this.tenants.get(tenantId);
    if (!tenant) {
      const known = [...this.tenants.keys()].join(', ') || 'none';
      // Non-retryable: waiting will not make the worker know the tenant (its configuration is read at start).
      throw ApplicationFailure.create({
        message: `unknown tenant "${tenantId}": this worker is configured for ${known} (CXONE_* variables, CXONE_TENANTS_FILE)`,
        type: UNKNOWN_TENANT,
        nonRetryable: true,
      });
    }
    return tenant;
  }

  ids(): string[] {
    return [...this.tenants.keys()];
  }

  /**
   * The default tenant from CXONE_* variables (when CXONE_BASE_URL is set) plus every tenant of
   * the JSON file named by CXONE_TENANTS_FILE.
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): TenantRegistry {
    const registry = new TenantRegistry();
    if (env.CXONE_BASE_URL) {
      const baseUrl = env.CXONE_BASE_URL;
      registry.add({
        tenantId: env.CXONE_TENANT_ID || DEFAULT_TENANT_ID,
        baseUrl,
        scimPath: env.CXONE_SCIM_PATH || '/scim/v2',
        tokenUrl: env.CXONE_TOKEN_URL || new URL('/oauth/token', baseUrl).toString(),
        clientId: requireEnv(env, 'CXONE_CLIENT_ID', 'default tenant'),
        clientSecret: requireEnv(env, 'CXONE_CLIENT_SECRET', 'default tenant'),
        scopes: splitScopes(env.CXONE_SCOPES),
        webhookSecret: env.CXONE_WEBHOOK_SECRET || undefined,
      });
    }
    if (env.CXONE_TENANTS_FILE) {
      for (const tenant of readTenantFile(env.CXONE_TENANTS_FILE, env)) registry.add(tenant);
    }
    return registry;
  }
}

export function readTenantFile(file: string, env: NodeJS.ProcessEnv = process.env): TenantConfig[] {
  const parsed = decode(TenantFile, JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.ok) throw new Error(`tenant file ${file} is invalid:\n${formatIssues(parsed.errors)}`);
  return parsed.value.tenants.map((entry) => ({
    tenantId: entry.id,
    baseUrl: entry.baseUrl,
    scimPath: entry.scimPath ?? '/scim/v2',
    tokenUrl: entry.tokenUrl,
    clientId: entry.clientId,
    clientSecret: requireEnv(env, entry.clientSecretEnv, `tenant ${entry.id}`),
    scopes: entry.scopes ?? [],
    requestTimeoutMs: entry.requestTimeoutMs,
    webhookSecret: entry.webhookSecretEnv ? requireEnv(env, entry.webhookSecretEnv, `tenant ${entry.id}`) : undefined,
  }));
}
