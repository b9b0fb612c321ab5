// tenantRateLimiter: one per tenant (id rateLimiterWorkflowId), the fleet's shared request budget.
// Every worker process asks it, once a slice, for its share of the tenant's requests per second
// and requests in flight (update `requestBudget`); its local request gate then spends that share
// request by request. A Retry-After any worker gets is booked (signal `pauseRequests`) and carried
// by every later grant. No timers per slice and no I/O: the update answers at once from the book
// (budget.ts). It ends after IDLE without a request (the next request starts it again) and
// continues as new before its history grows long.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineSignal,
  defineUpdate,
  setHandler,
  setWorkflowOptions,
  workflowInfo,
} from '@temporalio/workflow';
import {
  type BudgetGrant,
  type BudgetRequest,
  PAUSE_REQUESTS_SIGNAL,
  REQUEST_BUDGET_UPDATE,
} from '../../temporal/rate-limit-protocol';
import { bookPause, emptyBook, grantBudget, type LimiterBook } from './budget';

export interface TenantRateLimiterInput {
  tenant: string;
  /** Grants per run before it continues as new (default GRANTS_PER_RUN; tests set a few). */
  grantsPerRun?: number;
  /** Carried across continue-as-new. */
  book?: LimiterBook;
}

export const requestBudgetUpdate = defineUpdate<BudgetGrant, [BudgetRequest]>(REQUEST_BUDGET_UPDATE);
/** A Retry-After some worker got: epoch ms before which no request of the tenant should go. */
export const pauseRequestsSignal = defineSignal<[number]>(PAUSE_REQUESTS_SIGNAL);

const IDLE = '10 minutes';
/** About five events per grant: well under Temporal's 10 240-event warning. */
const GRANTS_PER_RUN = 1500;

export async function tenantRateLimiter(input: TenantRateLimiterInput): Promise<void> {
  const book = input.book ?? emptyBook();
  const grantsPerRun = Math.max(1, input.grantsPerRun ?? GRANTS_PER_RUN);
  let grants = 0;
  setHandler(
    requestBudgetUpdate,
    (request) => {
      grants += 1;
      return grantBudget(book, request);
    },
    { validator: checkBudgetRequest },
  );
  setHandler(pauseRequestsSignal, (until) => {
    if (Number.isFinite(until)) bookPause(book, until);
  });
  for (;;) {
    const before = grants;
    const full = await condition(() => grants >= grantsPerRun || workflowInfo().continueAsNewSuggested, IDLE);
    if (full) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof tenantRateLimiter>({ tenant: input.tenant, grantsPerRun: input.grantsPerRun, book });
    }
    if (grants === before) return; // idle: the next request starts a new run
  }
}

// Long-lived like userLifecycle: under Worker Versioning it moves to the current build.
setWorkflowOptions(
  () => (workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior: 'AUTO_UPGRADE' } : {}),
  tenantRateLimiter,
);

function checkBudgetRequest(request: BudgetRequest): void {
  const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  const positive = (v: unknown) => v === undefined || (finite(v) && (v as number) > 0);
  if (typeof request?.worker !== 'string' || request.worker === '') throw new TypeError('worker: a non-empty string');
  if (!Number.isInteger(request.slice)) throw new TypeError('slice: an integer');
  if (!finite(request.now)) throw new TypeError('now: epoch milliseconds');
  if (request.wantRate !== undefined && !(finite(request.wantRate) && request.wantRate >= 0))
    throw new TypeError('wantRate: a number >= 0');
  if (!positive(request.limits?.requestsPerSecond)) throw new TypeError('limits.requestsPerSecond: a positive number');
  if (!positive(request.limits?.concurrency)) throw new TypeError('limits.concurrency: a positive number');
}
