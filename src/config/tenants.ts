import fs from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import * as t from 'io-ts';
import type { TenantConnection } from '../http/tenant';
import { type CxoneAdminPaths, DEFAULT_CXONE_ADMIN_PATHS } from '../http/cxone-admin';
import { decode, formatIssues, type DecodeIssue } from '../core/decode';
import { JsonInputError, parseUntrustedJson } from '../core/json';
import { CAPABILITY_NAMES, type CapabilitySettings } from '../scim/capabilities';
import { FailureType } from '../core/failures';
import { authFromEnv, authFromFile, missingFileFields, TenantFileAuthFields } from './tenant-auth';

/**
 * Tenants live in the worker process only. Workflow inputs name a tenant by id; activities look
 * the connection (with its secrets) up here, so secrets never enter workflow history.
 */
export interface TenantConfig extends TenantConnection {
  /** Shared secret for signing/verifying webhooks; absent when the tenant uses none. */
  webhookSecret?: string;
  /** The secret being rotated out: deliveries signed with it are still accepted. */
  webhookPreviousSecret?: string;
  /** How deliveries are signed: a preset name or an object (checked by the receiver at start). */
  webhookSignature?: string | Record<string, unknown>;
  /** CXone's own APIs (skills, teams, ...) at other paths than NICE publishes (src/http/cxone-admin.ts). */
  cxoneAdminPaths?: Partial<CxoneAdminPaths>;
}

export const DEFAULT_TENANT_ID = 'default';

/** Failure type of a workflow that names a tenant the worker does not know. */
export const UNKNOWN_TENANT = FailureType.UnknownTenant;

const Count = t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer');
const PositiveCount = t.refinement(t.number, (n) => Number.isInteger(n) && n >= 1, 'a positive integer');

/** `capabilities`: what the provider can do, beating (or standing in for) its ServiceProviderConfig. */
const Capabilities = t.partial({
  bulk: t.boolean,
  bulkMaxOperations: Count,
  bulkMaxPayloadSize: Count,
  patch: t.boolean,
  etag: t.boolean,
  filter: t.boolean,
  maxResults: Count,
  filterOr: t.boolean,
  sort: t.boolean,
  changePassword: t.boolean,
  attributes: t.boolean,
  excludedAttributes: t.boolean,
  count: t.boolean,
});

/** A path below the SCIM base, e.g. `/Users`. */
const EndpointPath = t.refinement(t.string, (p) => /^\/[^?#\s]*$/.test(p), 'a path starting with "/"');

/** `endpoints`: where Users and Groups live (groups null: the tenant has none). */
/** `cxoneAdminPaths`: any of the adapter's paths, each a string. */
const CxoneAdminPathsCodec = t.partial(
  Object.fromEntries(Object.keys(DEFAULT_CXONE_ADMIN_PATHS).map((name) => [name, t.string])) as Record<
    keyof CxoneAdminPaths,
    t.StringC
  >,
);
const Endpoints = t.partial({ users: EndpointPath, groups: t.union([EndpointPath, t.null]) });

const IdenticalFailures = t.partial({ attempts: PositiveCount, spanMs: Count });

/** A tenant file names the env variables that hold secrets; it never holds a secret itself. */
const TenantFileEntry = t.intersection([
  t.type({ id: t.string }),
  t.partial({
    baseUrl: t.string,
    scimPath: t.string,
    webhookSecretEnv: t.string,
    webhookPreviousSecretEnv: t.string,
    webhookSignature: t.union([t.string, t.UnknownRecord]),
    requestTimeoutMs: t.number,
    maxRequestsPerSecond: t.number,
    maxConcurrentRequests: t.number,
    filterOr: t.boolean,
    capabilities: Capabilities,
    endpoints: Endpoints,
    identicalFailures: IdenticalFailures,
    cxoneAdminPaths: CxoneAdminPathsCodec,
  }),
  TenantFileAuthFields,
]);
const TenantFile = t.type({ tenants: t.array(TenantFileEntry) });

function requireEnv(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const value = env[name];
  if (!value) throw new Error(`${what}: environment variable ${name} is not set`);
  return value;
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
   * The default tenant from CXONE_* variables (when CXONE_BASE_URL or CXONE_AUTH is set) plus
   * every tenant of the JSON file named by CXONE_TENANTS_FILE.
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): TenantRegistry {
    const registry = new TenantRegistry();
    if (env.CXONE_BASE_URL || env.CXONE_AUTH) {
      const tenantId = env.CXONE_TENANT_ID || DEFAULT_TENANT_ID;
      const { auth, baseUrl } = authFromEnv(env, `tenant ${tenantId} (from CXONE_* variables)`);
      registry.add({
        tenantId,
        baseUrl,
        scimPath: env.CXONE_SCIM_PATH || '/scim/v2',
        auth,
        webhookSecret: env.CXONE_WEBHOOK_SECRET || undefined,
        webhookPreviousSecret: env.CXONE_WEBHOOK_PREVIOUS_SECRET || undefined,
        webhookSignature: webhookSignatureFromEnv(env.CXONE_WEBHOOK_SIGNATURE),
        maxRequestsPerSecond: rateLimitFromEnv(env, 'CXONE_MAX_REQUESTS_PER_SECOND', false),
        maxConcurrentRequests: rateLimitFromEnv(env, 'CXONE_MAX_CONCURRENT_REQUESTS', true),
        ...jsonFromEnv(env, 'CXONE_SCIM_CAPABILITIES', 'capabilities', Capabilities, KNOWN_CAPABILITIES),
        ...jsonFromEnv(env, 'CXONE_SCIM_ENDPOINTS', 'endpoints', Endpoints, KNOWN_ENDPOINTS),
      });
    }
    if (env.CXONE_TENANTS_FILE) {
      for (const tenant of readTenantFile(env.CXONE_TENANTS_FILE, env)) registry.add(tenant);
    }
    return registry;
  }
}

export function readTenantFile(file: string, env: NodeJS.ProcessEnv = process.env): TenantConfig[] {
  let raw: unknown;
  try {
    // Not JSON (line and column named), or a key __proto__, constructor or prototype anywhere (path named).
    raw = parseUntrustedJson(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if (err instanceof JsonInputError) throw new Error(`tenant file ${file} is invalid:\n${err.message}`);
    throw err;
  }
  const parsed = decode(TenantFile, raw);
  // Members a tenant's auth type requires, reported together with any mistyped member.
  const rawEntries = (raw as { tenants?: unknown })?.tenants;
  const missing: DecodeIssue[] = (Array.isArray(rawEntries) ? rawEntries : []).flatMap((entry, i) =>
    typeof entry === 'object' && entry !== null
      ? missingFileFields(entry as Record<string, unknown>).map(({ member, why }) => ({
          path: `$.tenants[${i}].${member}`,
          message: why,
        }))
      : [],
  );
  // A misspelt capability would otherwise be ignored without a word.
  const unknown: DecodeIssue[] = (Array.isArray(rawEntries) ? rawEntries : []).flatMap((entry, i) =>
    typeof entry === 'object' && entry !== null
      ? [
          ...unknownMembers((entry as Record<string, unknown>).capabilities, KNOWN_CAPABILITIES),
          ...unknownMembers((entry as Record<string, unknown>).endpoints, KNOWN_ENDPOINTS),
        ].map((member) => ({ path: `$.tenants[${i}].${member.where}.${member.name}`, message: member.message }))
      : [],
  );
  const issues = [
    ...(parsed.ok ? [] : parsed.errors),
    ...missing.filter((m) => parsed.ok || !parsed.errors.some((e) => e.path === m.path)),
    ...unknown,
  ];
  if (!parsed.ok || issues.length > 0) throw new Error(`tenant file ${file} is invalid:\n${formatIssues(issues)}`);
  for (const entry of parsed.value.tenants) {
    for (const key of ['maxRequestsPerSecond', 'maxConcurrentRequests'] as const) {
      const value = entry[key];
      if (value !== undefined && !(value > 0 && (key === 'maxRequestsPerSecond' || Number.isInteger(value)))) {
        throw new Error(
          `tenant file ${file}: tenant ${entry.id}: ${key} must be a positive ${key === 'maxConcurrentRequests' ? 'integer' : 'number'}, got ${value}`,
        );
      }
    }
  }
  return parsed.value.tenants.map((entry) => ({
    tenantId: entry.id,
    baseUrl: entry.baseUrl,
    scimPath: entry.scimPath ?? '/scim/v2',
    auth: authFromFile(entry, env, `tenant ${entry.id}`),
    requestTimeoutMs: entry.requestTimeoutMs,
    maxRequestsPerSecond: entry.maxRequestsPerSecond,
    maxConcurrentRequests: entry.maxConcurrentRequests,
    ...(entry.filterOr !== undefined ? { filterOr: entry.filterOr } : {}),
    ...(entry.capabilities ? { capabilities: entry.capabilities } : {}),
    ...(entry.endpoints ? { endpoints: entry.endpoints } : {}),
    ...(entry.identicalFailures ? { identicalFailures: entry.identicalFailures } : {}),
    ...(entry.cxoneAdminPaths ? { cxoneAdminPaths: entry.cxoneAdminPaths } : {}),
    webhookSecret: entry.webhookSecretEnv ? requireEnv(env, entry.webhookSecretEnv, `tenant ${entry.id}`) : undefined,
    webhookPreviousSecret: entry.webhookPreviousSecretEnv
      ? requireEnv(env, entry.webhookPreviousSecretEnv, `tenant ${entry.id}`)
      : undefined,
    webhookSignature: entry.webhookSignature,
  }));
}

/** CXONE_MAX_REQUESTS_PER_SECOND / CXONE_MAX_CONCURRENT_REQUESTS: the default tenant's gate (unset: no limit). */
function rateLimitFromEnv(env: NodeJS.ProcessEnv, name: string, integer: boolean): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!(value > 0) || (integer && !Number.isInteger(value)))
    throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, got "${raw}"`);
  return value;
}

/** CXONE_WEBHOOK_SIGNATURE: a preset name (`cxone`, `nexus`) or a JSON object. */
function webhookSignatureFromEnv(value: string | undefined): TenantConfig['webhookSignature'] {
  if (!value) return undefined;
  if (!value.trim().startsWith('{')) return value.trim();
  try {
    return JSON.parse(value) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`CXONE_WEBHOOK_SIGNATURE: not a preset name nor valid JSON (${(err as Error).message})`);
  }
}

const KNOWN_CAPABILITIES = new Set<string>(CAPABILITY_NAMES);
const KNOWN_ENDPOINTS = new Set(['users', 'groups']);

function unknownMembers(
  value: unknown,
  known: ReadonlySet<string>,
): Array<{ where: string; name: string; message: string }> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const where = known === KNOWN_CAPABILITIES ? 'capabilities' : 'endpoints';
  return Object.keys(value)
    .filter((name) => !known.has(name))
    .map((name) => ({ where, name, message: `unknown member (known: ${[...known].join(', ')})` }));
}

/** CXONE_SCIM_CAPABILITIES / CXONE_SCIM_ENDPOINTS: the default tenant's entries, as JSON objects. */
function jsonFromEnv<K extends 'capabilities' | 'endpoints', A>(
  env: NodeJS.ProcessEnv,
  name: string,
  key: K,
  codec: t.Decoder<unknown, A>,
  known: ReadonlySet<string>,
): Partial<Record<K, A>> {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new Error(`${name} is not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${name} must be a JSON object, e.g. {"patch": false}`);
  const decoded = decode(codec, value);
  const issues = [
    ...(decoded.ok ? [] : decoded.errors),
    ...unknownMembers(value, known).map((m) => ({ path: `$.${m.name}`, message: m.message })),
  ];
  if (!decoded.ok || issues.length > 0) throw new Error(`${name} is invalid: ${formatIssues(issues)}`);
  return { [key]: decoded.value } as Partial<Record<K, A>>;
}

/** A tenant's configured capabilities, with the older top-level `filterOr` folded in. */
export function configuredCapabilities(tenant: TenantConnection): CapabilitySettings {
  return {
    ...(tenant.filterOr !== undefined ? { filterOr: tenant.filterOr } : {}),
    ...tenant.capabilities,
  };
}
