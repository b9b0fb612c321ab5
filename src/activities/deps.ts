import { Context } from '@temporalio/activity';
import type { TenantRegistry } from '../config/tenants';
import { RequestGates, ScimClient, TenantTokenProvider, type TokenProvider } from '../http';
import { toActivityFailure } from './provider/failure-mapping';
import { FilterDialects } from './provider/user-lookup';

/** What activities need from the worker process. Secrets stay here, never in workflow history. */
export interface ActivityDeps {
  tenants: TenantRegistry;
  /** Tokens (and discovered API bases) for every tenant, cached for the worker's life. */
  tokens: TokenProvider;
  /** One rate limit per tenant, shared by every activity of this worker. */
  gates: RequestGates;
  /** Per tenant: whether its filter takes `or` (learnt from its answers). */
  filterDialects: FilterDialects;
  /** Per-request timeout for provider calls. */
  requestTimeoutMs?: number;
}

export function createActivityDeps(tenants: TenantRegistry, requestTimeoutMs?: number): ActivityDeps {
  return {
    tenants,
    tokens: new TenantTokenProvider(),
    gates: new RequestGates(),
    filterDialects: new FilterDialects(),
    requestTimeoutMs,
  };
}

export function scimClientFor(deps: ActivityDeps, tenantId: string): ScimClient {
  const tenant = deps.tenants.get(tenantId);
  const gate = deps.gates.for(tenantId, {
    requestsPerSecond: tenant.maxRequestsPerSecond,
    concurrency: tenant.maxConcurrentRequests,
  });
  return new ScimClient({
    tenant,
    tokens: deps.tokens,
    timeoutMs: tenant.requestTimeoutMs ?? deps.requestTimeoutMs,
    gate,
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
