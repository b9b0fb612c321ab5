import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { configuredCapabilities, type TenantRegistry } from '../config/tenants';
import {
  RequestGates,
  ScimClient,
  type TenantDialect,
  TenantDialects,
  TenantTokenProvider,
  type TokenProvider,
} from '../http';
import { providerAnswerCounter } from '../temporal/provider-metrics';
import { toActivityFailure } from './provider/failure-mapping';
import { fleetBudgetInActivity, fleetLimitsEnabled } from './rate-limit';

/** What activities need from the worker process. Secrets stay here, never in workflow history. */
export interface ActivityDeps {
  tenants: TenantRegistry;
  /** Tokens (and discovered API bases) for every tenant, cached for the worker's life. */
  tokens: TokenProvider;
  /**
   * One rate limit per tenant, shared by every activity of this worker; with `fleetLimits`, the
   * tenant's limits hold for all workers together (the tenant's tenantRateLimiter hands out shares).
   */
  gates: RequestGates;
  /** Default on; CXONE_SCIM_RATE_LIMIT_SCOPE=worker makes each process keep the limits alone. */
  fleetLimits: boolean;
  /**
   * Per tenant: what its answers taught this worker (a refused `or` filter, PATCH, optional query
   * parameter; see src/http/dialect.ts). Worker memory: a restarted worker learns again.
   */
  dialects: TenantDialects;
  /** Per-request timeout for provider calls. */
  requestTimeoutMs?: number;
  /** The worker's Temporal client and task queue: activities that start or signal workflows (the sync's dated plans). */
  temporal?: { client: Client; taskQueue: string };
}

export function createActivityDeps(
  tenants: TenantRegistry,
  requestTimeoutMs?: number,
  fleetLimits = fleetLimitsEnabled(),
): ActivityDeps {
  return {
    tenants,
    tokens: new TenantTokenProvider(),
    gates: new RequestGates(),
    fleetLimits,
    dialects: new TenantDialects(),
    requestTimeoutMs,
  };
}

/** What this worker knows of the tenant's dialect, seeded with its configured capabilities. */
export function dialectFor(deps: ActivityDeps, tenantId: string): TenantDialect {
  const tenant = deps.tenants.get(tenantId);
  return deps.dialects.for(tenantId, configuredCapabilities(tenant), tenant.identicalFailures);
}

export function scimClientFor(deps: ActivityDeps, tenantId: string): ScimClient {
  const tenant = deps.tenants.get(tenantId);
  const limits = { requestsPerSecond: tenant.maxRequestsPerSecond, concurrency: tenant.maxConcurrentRequests };
  const gate = deps.gates.for(tenantId, limits, () =>
    deps.fleetLimits ? fleetBudgetInActivity(tenantId, limits) : undefined,
  );
  return new ScimClient({
    tenant,
    tokens: deps.tokens,
    timeoutMs: tenant.requestTimeoutMs ?? deps.requestTimeoutMs,
    gate,
    dialect: dialectFor(deps, tenantId),
    onResponse: providerAnswerCounter(tenantId),
  });
}

/**
 * Runs an activity body and turns any failure into the one HTTP-outcome → Temporal-failure
 * mapping (failure types and their retry class from the failure list; Retry-After kept).
 */
export async function asActivity<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw toActivityFailure(err);
  }
}

/** Logs through the activity logger when running inside an activity (tests may call directly). */
export function activityLog(message: string, attrs: Record<string, unknown>): void {
  try {
    Context.current().log.info(message, attrs);
  } catch {
    // not inside an activity
  }
}
