// Activities of datedUserActions (future-dated joiners and leavers): carry out one dated action on
// the provider — create the joiner (inactive, or active when there is no lead time), activate it at
// the start of day one, deactivate the leaver at the end of the last day. Each finds the user by a
// verified lookup first and writes only to that user, and only what differs, so that a retry or a
// replay changes nothing twice. And the planners' side: send each dated user's plan to the user's
// workflow (signal-with-start), from the sync (an activity) or `cxone-scim pending schedule`.
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { FailureType } from '../core/failures';
import { ScimHttpError, type ScimClient, type TenantDialect } from '../http';
import { DATED_PLAN_SIGNAL, type DatedActionKind, type DatedPlan } from '../scim/dated-actions';
import { WORKFLOW_TYPES } from '../temporal/constants';
import { getClaimLines, type ClaimRef } from './claims/claim-store';
import { mergedForPut, patchRequest } from '../scim/patch';
import type { MatchResult } from '../scim/user-match';
import { asActivity, dialectFor, scimClientFor, type ActivityDeps } from './deps';
import { patchOrPut } from './provider/patch-or-put';
import { lookupUser } from './provider/user-lookup';

export interface ApplyDatedActionInput {
  tenant: string;
  userName: string;
  kind: DatedActionKind;
  /** `create`: the SCIM User to POST when the provider has none (its `active` is set from `active`). */
  user?: Record<string, unknown>;
  /** `create`: whether the account starts active (no lead time) or inactive until day one. */
  active?: boolean;
  /** The User endpoint, relative to the tenant's SCIM base. Default `/Users`. */
  endpoint?: string;
}

export type DatedOutcome = 'created' | 'activated' | 'deactivated' | 'already' | 'not-found';

export interface ApplyDatedActionResult {
  outcome: DatedOutcome;
  /** The provider's id of the user written (or found in the wanted state). */
  id?: string;
  /** One sentence for the report. */
  detail: string;
  requests: number;
}

/**
 * The workflow id of a user's dated actions. The userName is hashed (lower-cased, SHA-256): a
 * workflow id is visible in the UI and in visibility queries, where the payload codec does not
 * reach, and the userName is personal data. The input and the `state` query carry it (encrypted
 * with the codec).
 */
export function datedUserWorkflowId(tenant: string, userName: string): string {
  const digest = createHash('sha256').update(userName.toLowerCase()).digest('hex').slice(0, 32);
  return `dated-user:${encodeURIComponent(tenant)}:${digest}`;
}

async function findUser(
  client: ScimClient,
  dialect: TenantDialect,
  endpoint: string,
  userName: string,
  count: () => void,
): Promise<MatchResult> {
  const match = await lookupUser(
    client,
    { userName },
    {
      endpoint,
      filter: true,
      scanOnMiss: true,
      dialect,
      call: (request) => {
        count();
        return request();
      },
    },
  );
  if (match.kind === 'ambiguous')
    throw ApplicationFailure.nonRetryable(
      `ambiguous: ${match.ids.length} provider users match userName "${userName}" (ids ${match.ids.join(', ')}); nothing written`,
      FailureType.Conflict,
    );
  return match;
}

/** Sets `active` on the verified user, by PATCH or (where PATCH is refused) GET + PUT with If-Match. */
async function setActive(
  client: ScimClient,
  dialect: TenantDialect,
  endpoint: string,
  id: string,
  active: boolean,
  count: () => void,
): Promise<void> {
  const path = `${endpoint}/${encodeURIComponent(id)}`;
  await patchOrPut(
    dialect,
    true,
    () => {
      count();
      return client.patch(path, patchRequest([{ op: 'replace', path: 'active', value: active }]));
    },
    async () => {
      count();
      count();
      const current = await client.get<Record<string, unknown>>(path);
      await client.put(path, mergedForPut({ active }, current.body), current.etag ? { ifMatch: current.etag } : {});
    },
  );
}

export async function applyDatedAction(
  deps: ActivityDeps,
  input: ApplyDatedActionInput,
): Promise<ApplyDatedActionResult> {
  const endpoint = input.endpoint ?? '/Users';
  const client = scimClientFor(deps, input.tenant);
  const dialect = dialectFor(deps, input.tenant);
  let requests = 0;
  const count = () => {
    requests++;
  };
  const wanted = input.kind === 'deactivate' ? false : input.kind === 'activate' ? true : input.active === true;
  let match = await findUser(client, dialect, endpoint, input.userName, count);
  if (match.kind === 'none' && input.kind === 'create') {
    if (!input.user)
      throw ApplicationFailure.nonRetryable(
        `create ${input.userName}: the plan carries no user to create`,
        FailureType.InvalidSyncInput,
      );
    try {
      count();
      const created = await client.post<{ id?: unknown }>(endpoint, {
        ...input.user,
        userName: input.userName,
        active: wanted,
      });
      const id = typeof created.body?.id === 'string' ? created.body.id : undefined;
      return {
        outcome: 'created',
        ...(id ? { id } : {}),
        detail: `created ${input.userName} ${wanted ? 'active' : 'inactive'}`,
        requests,
      };
    } catch (err) {
      // Created meanwhile (or by an earlier attempt whose answer was lost): look again, verified.
      if (!(err instanceof ScimHttpError && err.status === 409)) throw err;
      match = await findUser(client, dialect, endpoint, input.userName, count);
      if (match.kind === 'none') throw err;
    }
  }
  if (match.kind !== 'one')
    return {
      outcome: 'not-found',
      detail:
        input.kind === 'deactivate'
          ? `no user ${input.userName} at the provider: nothing to deactivate`
          : `no user ${input.userName} at the provider to ${input.kind}`,
      requests,
    };
  const { id } = match.resource;
  const active = match.resource.active !== false;
  // A joiner the provider has already (created by a sync, or a returning employee) is never taken
  // away by `create`: it only activates one that must be active from now on.
  if (active === wanted || (input.kind === 'create' && active))
    return {
      outcome: 'already',
      id,
      detail: `${input.userName} (${id}) exists and is ${active ? 'active' : 'inactive'} already`,
      requests,
    };
  await setActive(client, dialect, endpoint, id, wanted, count);
  return {
    outcome: wanted ? 'activated' : 'deactivated',
    id,
    detail: `${wanted ? 'activated' : 'deactivated'} ${input.userName} (${id})`,
    requests,
  };
}

/** One dated user's plan, as a planner sends it. */
export interface DatedUserPlan {
  userName: string;
  plan: DatedPlan;
}

/** The visibility query of the running datedUserActions workflows (of one tenant, or all). */
export const runningDatedQuery = (tenant?: string) =>
  `WorkflowType = "${WORKFLOW_TYPES.datedUserActions}" AND ExecutionStatus = "Running"${tenant ? ` AND ScimTenant = "${tenant.replaceAll('"', '')}"` : ''}`;

/**
 * Signals each user's plan (signal-with-start: a user without a workflow gets one). With
 * `clearOthers`, a user of the tenant whose workflow is running but whom these plans leave out
 * (and `keep` does not name) gets an empty plan: the source no longer asks for the actions, so
 * they are removed. Returns the counts.
 */
export async function signalDatedPlans(
  client: Client,
  taskQueue: string,
  tenant: string,
  plans: ReadonlyArray<DatedUserPlan>,
  options: {
    endpoint?: string;
    plannedAt: string;
    /** Default true: the plans are a whole export. False for a sync of one user. */
    clearOthers?: boolean;
    /** userNames whose records could not be planned this time: their pending actions stay as they are. */
    keep?: readonly string[];
    /** Called after each signal (heartbeats). */
    onSignal?: (done: number) => void;
  },
): Promise<{ scheduled: number; cleared: number }> {
  const planned = new Set((options.keep ?? []).map((userName) => datedUserWorkflowId(tenant, userName)));
  let scheduled = 0;
  for (const { userName, plan } of plans) {
    if (plan.actions.length === 0) continue;
    const workflowId = datedUserWorkflowId(tenant, userName);
    planned.add(workflowId);
    await client.workflow.signalWithStart(WORKFLOW_TYPES.datedUserActions, {
      workflowId,
      taskQueue,
      args: [{ tenant, userName, ...(options.endpoint ? { endpoint: options.endpoint } : {}) }],
      signal: DATED_PLAN_SIGNAL,
      signalArgs: [plan],
    });
    scheduled++;
    options.onSignal?.(scheduled);
  }
  let cleared = 0;
  if (options.clearOthers === false) return { scheduled, cleared };
  for await (const execution of client.workflow.list({ query: runningDatedQuery(tenant) })) {
    if (planned.has(execution.workflowId)) continue;
    await client.workflow.getHandle(execution.workflowId).signal(DATED_PLAN_SIGNAL, {
      plannedAt: options.plannedAt,
      source: 'no dated action in the export',
      actions: [],
    });
    cleared++;
    options.onSignal?.(scheduled + cleared);
  }
  return { scheduled, cleared };
}

/** What planSync stores for the sync's dated users: one JSON line per user, a plan or a userName to keep. */
export type DatedClaimLine = DatedUserPlan | { userName: string; keep: true };

export interface SignalDatedPlansInput {
  tenant: string;
  /** The plans planSync stored (DatedClaimLine per line). */
  plans: ClaimRef;
  /** When the source was read (ISO): what a cleared user's empty plan says. */
  plannedAt: string;
  /** The User endpoint, relative to the tenant's SCIM base. */
  endpoint?: string;
  /** Clear the pending actions of the tenant's users the plans leave out: a whole export (not a sync of one user). */
  clearOthers: boolean;
}

/** The sync's side: its stored plans sent to each dated user's datedUserActions workflow, on this worker's Temporal client. */
export async function signalSyncDatedPlans(
  deps: ActivityDeps,
  input: SignalDatedPlansInput,
): Promise<{ scheduled: number; cleared: number }> {
  if (!deps.temporal)
    throw ApplicationFailure.nonRetryable(
      'this worker has no Temporal client to schedule dated actions with (ActivityDeps.temporal)',
      FailureType.PlanUnavailable,
    );
  const lines = (await getClaimLines(input.plans, 'the dated plans of the sync')) as DatedClaimLine[];
  const plans = lines.filter((l): l is DatedUserPlan => 'plan' in l);
  const keep = lines.filter((l) => 'keep' in l).map((l) => l.userName);
  const { client, taskQueue } = deps.temporal;
  return signalDatedPlans(client, taskQueue, input.tenant, plans, {
    plannedAt: input.plannedAt,
    clearOthers: input.clearOthers,
    keep,
    ...(input.endpoint ? { endpoint: input.endpoint } : {}),
    onSignal: (signalled) => Context.current().heartbeat({ signalled }),
  });
}

export function createDatedActivities(deps: ActivityDeps) {
  return {
    /** One dated action (create / activate / deactivate) on one verified user. */
    applyDatedAction: (input: ApplyDatedActionInput) => asActivity(() => applyDatedAction(deps, input)),
    /** The sync's dated users' plans sent to their datedUserActions workflows (signal-with-start). */
    signalDatedPlans: (input: SignalDatedPlansInput) => asActivity(() => signalSyncDatedPlans(deps, input)),
  };
}
