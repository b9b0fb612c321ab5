// The worker side of the fleet-wide rate limit: a FleetBudget (src/http/request-gate.ts) that asks
// the tenant's tenantRateLimiter workflow for this process's share, slice by slice, with
// update-with-start (the first worker to ask starts the limiter, the others find it running), and
// passes a Retry-After on to it. See docs/fleet.md "One rate limit for the fleet".
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { Context } from '@temporalio/activity';
import { type Client, WithStartWorkflowOperation } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type { FleetBudget, FleetGrant, GateLimits } from '../http';
import { WORKFLOW_TYPES } from '../temporal/constants';
import { workPriority } from '../temporal/priority';
import {
  type BudgetGrant,
  type BudgetRequest,
  PAUSE_REQUESTS_SIGNAL,
  rateLimiterWorkflowId,
  REQUEST_BUDGET_UPDATE,
  SLICE_MS,
} from '../temporal/rate-limit-protocol';

/** One id per worker process: the limiter shares a slice among the processes that ask. */
export const WORKER_PROCESS_ID = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;

/** How long a worker waits for its grant before it falls back to a cautious share of its own. */
const GRANT_TIMEOUT_MS = 2_000;
/** After a failed ask, this many slices use the fallback share without asking (no 2 s wait per slice). */
const FALLBACK_SLICES = 10;

/** CXONE_SCIM_RATE_LIMIT_SCOPE=worker: each process keeps its tenants' limits alone (the behaviour before the fleet limiter). */
export function fleetLimitsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const scope = (env.CXONE_SCIM_RATE_LIMIT_SCOPE ?? 'fleet').trim().toLowerCase();
  if (scope !== 'fleet' && scope !== 'worker')
    throw new Error(`CXONE_SCIM_RATE_LIMIT_SCOPE is "${env.CXONE_SCIM_RATE_LIMIT_SCOPE}": use fleet or worker`);
  return scope === 'fleet';
}

export interface TemporalFleetBudgetOptions {
  client: Client;
  /** The limiter runs on the task queue of the workers that use it. */
  taskQueue: string;
  tenant: string;
  limits: GateLimits;
  worker?: string;
  log?: (message: string, attrs: Record<string, unknown>) => void;
}

export class TemporalFleetBudget implements FleetBudget {
  readonly sliceMs = SLICE_MS;
  readonly #options: TemporalFleetBudgetOptions;
  readonly #workflowId: string;
  /** Workers seen sharing the last grant: a fallback share divides the limits by this. */
  #workers = 1;
  #reportedPause = 0;
  /** Slices before this one use the fallback share without asking (after a failed ask). */
  #localUntilSlice = Number.NEGATIVE_INFINITY;

  constructor(options: TemporalFleetBudgetOptions) {
    this.#options = options;
    this.#workflowId = rateLimiterWorkflowId(options.taskQueue, options.tenant);
  }

  async grant(slice: number, now: number, wantRate: number | undefined): Promise<FleetGrant> {
    const { client, taskQueue, tenant, limits } = this.#options;
    if (slice < this.#localUntilSlice) return fallbackGrant(slice, now, limits, this.#workers);
    const request: BudgetRequest = {
      worker: this.#options.worker ?? WORKER_PROCESS_ID,
      slice,
      now,
      ...(wantRate === undefined ? {} : { wantRate }),
      limits: { requestsPerSecond: limits.requestsPerSecond, concurrency: limits.concurrency },
    };
    try {
      const grant = await client.withDeadline(Date.now() + GRANT_TIMEOUT_MS, () =>
        client.workflow.executeUpdateWithStart<Workflow, BudgetGrant, [BudgetRequest]>(REQUEST_BUDGET_UPDATE, {
          args: [request],
          startWorkflowOperation: new WithStartWorkflowOperation<Workflow>(WORKFLOW_TYPES.tenantRateLimiter, {
            workflowId: this.#workflowId,
            taskQueue,
            args: [{ tenant }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            priority: workPriority('rateLimiter', tenant),
          }),
        }),
      );
      this.#workers = Math.max(1, grant.workers);
      return grant;
    } catch (err) {
      // Temporal unreachable or slow: spend a cautious share (the limits split among the workers
      // last seen) rather than stop every request; the next slice asks again.
      this.#options.log?.('fleet rate limiter not reached; using a local share for one slice', {
        tenant,
        workers: this.#workers,
        error: (err as Error)?.message ?? String(err),
      });
      this.#localUntilSlice = slice + FALLBACK_SLICES;
      return fallbackGrant(slice, now, limits, this.#workers);
    }
  }

  pause(until: number): void {
    if (until <= this.#reportedPause) return; // one signal per new pause, not one per 429
    this.#reportedPause = until;
    this.#options.client.workflow
      .getHandle(this.#workflowId)
      .signal(PAUSE_REQUESTS_SIGNAL, until)
      .catch(() => undefined); // best effort: this process pauses anyway
  }
}

/** This process's even share of the limits for one slice, when the limiter cannot be asked. */
export function fallbackGrant(slice: number, now: number, limits: GateLimits, workers: number): FleetGrant {
  const start = slice * SLICE_MS;
  return {
    slice,
    from: Math.max(start, Math.min(now, start + SLICE_MS)),
    until: start + SLICE_MS,
    ...(limits.requestsPerSecond === undefined ? {} : { requestsPerSecond: limits.requestsPerSecond / workers }),
    ...(limits.concurrency === undefined ? {} : { concurrency: Math.max(1, Math.floor(limits.concurrency / workers)) }),
    pausedUntil: 0,
  };
}

/**
 * The fleet budget of `tenant` when the caller runs inside an activity of a worker (the limiter
 * needs the worker's client and task queue) and the tenant has a limit; otherwise undefined, and
 * the process's gate keeps the limits alone.
 */
export function fleetBudgetInActivity(tenant: string, limits: GateLimits): FleetBudget | undefined {
  if (limits.requestsPerSecond === undefined && limits.concurrency === undefined) return undefined;
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return undefined; // not inside an activity (tests calling activity code directly)
  }
  let client: Client;
  try {
    client = context.client;
  } catch {
    return undefined; // a MockActivityEnvironment without a client
  }
  return new TemporalFleetBudget({
    client,
    taskQueue: context.info.taskQueue,
    tenant,
    limits,
    log: (message, attrs) => context.log.warn(message, attrs),
  });
}
