import { defineQuery, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { Activities } from '../../activities';
import type { AdoptionPlanSummary, LinkFailure, LinkTally } from '../../activities/adoption';
import type { PlanSource } from '../../activities/provisioning';
import type { SourceFormat } from '../../activities/sources/user-source';
import type { PlanOut } from '../../activities/sync-review';
import { FailureType } from '../../core/failures';
import { compileMapping } from '../../mapping/mapping';
import { linkAttributeProblem, WEAK_KEYS, type AdoptionCounts, type WeakKey } from '../../scim/adoption';
import type { User } from '../../scim/codecs';
import { PROVIDER_CALL, providerCallFor } from '../activity-options';
import { ReportRecorder, reportTotals } from '../report';
import { LinkApproval, type LinkDecision } from './link-approval';
import { approvalWaitText, withSummary } from '../ui-metadata';
import { approvalWaiting, countRecords } from '../business-metrics';
import { discoverUsers } from '../discover-users';
import { InputChecks } from '../input-checks';

const { recordAdoption } = proxyActivities<Activities>(PROVIDER_CALL);
const { planAdoption } = proxyActivities<Activities>({
  ...PROVIDER_CALL,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
});

export interface AdoptUsersInput {
  tenant: string;
  /** Inline SCIM Users (small runs), or `source`: a file the worker can read, as for syncUsers. */
  users?: Array<User | Record<string, unknown>>;
  source?: { path: string; format?: SourceFormat; mapping?: unknown };
  /** Write the links once `approveLinks` names the plan. Default false: a dry run, the report only. */
  apply?: boolean;
  /** Weaker keys to match by when userName and the link attribute find nothing: `email`, `name`. Default `email`. */
  weakKeys?: WeakKey[];
  /** Where the source key is written on the provider (and compared). Default `externalId`. */
  linkAttribute?: string;
  /** Also write the whole report (CSV or JSON) to this path on the worker's file system. */
  reportOut?: PlanOut;
  /** How long to wait for approveLinks, e.g. `24 hours` (default). */
  approvalTimeout?: string;
  /** How long transient provider failures are retried while writing links. Default 6 hours. */
  runDeadline?: string;
  /** Provider users per listing page (capped by its filter.maxResults). Default 500. */
  pageSize?: number;
  /** Links per activity. Default 200. */
  sliceSize?: number;
  /** Report lines, invalid records and failures carried in the result (all are counted). Default 100. */
  maxReported?: number;
}

export type AdoptOutcome = 'dry-run' | 'succeeded' | 'partial' | 'rejected' | 'approval-timeout';

export interface AdoptUsersResult {
  tenant: string;
  outcome: AdoptOutcome;
  plan: Omit<AdoptionPlanSummary, 'slices'>;
  linkAttribute: string;
  weakKeys: WeakKey[];
  linked: number;
  alreadyLinked: number;
  failed: number;
  failures: LinkFailure[];
  requests: number;
  decision?: LinkDecision;
  /** Where the tenant's adoption was recorded (after every approved link was written). */
  adoptionRecord?: string;
  note?: string;
}

export interface AdoptProgress {
  phase: 'planning' | 'awaitingApproval' | 'linking' | 'completed' | 'failed';
  planHash?: string;
  counts?: AdoptionCounts;
  linked: number;
  failed: number;
  awaitingApproval?: { links: number; planHash: string };
}

export const adoptProgressQuery = defineQuery<AdoptProgress>('progress');

const checks = new InputChecks(FailureType.InvalidSyncInput);
const { invalid } = checks;

function checkInput(input: AdoptUsersInput): void {
  if (!input.tenant) throw invalid('tenant is required');
  if ((input.users === undefined) === (input.source === undefined))
    throw invalid('give either users (inline) or source (a file), not both and not neither');
  if (input.source !== undefined && !input.source.path) throw invalid('source.path is required');
  if (input.source?.mapping !== undefined) {
    const mapping = compileMapping(input.source.mapping);
    if (!mapping.ok) throw invalid(`source.mapping is invalid: ${mapping.problems.join('; ')}`);
  }
  if (input.reportOut !== undefined && !input.reportOut.path) throw invalid('reportOut.path is required');
  if (input.reportOut?.format !== undefined && input.reportOut.format !== 'csv' && input.reportOut.format !== 'json')
    throw invalid(`reportOut.format must be csv or json, got ${String(input.reportOut.format)}`);
  for (const key of input.weakKeys ?? [])
    if (!WEAK_KEYS.includes(key)) throw invalid(`weakKeys: "${String(key)}" is not one of ${WEAK_KEYS.join(', ')}`);
  const problem = input.linkAttribute !== undefined ? linkAttributeProblem(input.linkAttribute) : undefined;
  if (problem) throw invalid(`linkAttribute: ${problem}`);
  checks.duration(input.approvalTimeout, 'approvalTimeout', '24 hours');
  checks.duration(input.runDeadline, 'runDeadline', '6 hours');
}

/**
 * Identity over time, day one: adopting a tenant whose users were made by hand.
 *
 *   discovery GET /ServiceProviderConfig, /ResourceTypes, /Schemas
 *     ─▶ planAdoption (activity: read + validate the source, list provider users page by page,
 *        classify exact / weak / ambiguous / provider-only / source-only, store the links in the
 *        claim store, write the report; history holds counts, a sample and the plan hash)
 *     ├─ dry run (default) ─▶ report, write nothing
 *     ─▶ `awaitingApproval` until approveLinks({planHash}) (hash must match), rejectLinks, or the timeout
 *     ─▶ applyAdoptionLinks per slice (each user re-read and compared before its link is written)
 *     ─▶ every link written: recordAdoption (a first sync now treats orphans as leavers) ─▶ report
 */
export async function adoptUsers(input: AdoptUsersInput): Promise<AdoptUsersResult> {
  const { users, ...request } = input;
  const report = new ReportRecorder<Record<string, unknown>, AdoptUsersResult>(input.tenant, {
    ...request,
    ...(users ? { users: `${users.length} inline users` } : {}),
  });
  const progress: AdoptProgress = { phase: 'planning', linked: 0, failed: 0 };
  setHandler(adoptProgressQuery, () => progress);
  const approval = new LinkApproval();
  report.useTotals(() => reportTotals(progress.linked, progress.failed, []));
  try {
    checkInput(input);
    const result = await run(input, report, progress, approval);
    progress.phase = 'completed';
    report.succeed(result, result.outcome);
    return result;
  } catch (err) {
    progress.phase = 'failed';
    report.fail(err);
    throw err;
  }
}

async function run(
  input: AdoptUsersInput,
  report: ReportRecorder<Record<string, unknown>, AdoptUsersResult>,
  progress: AdoptProgress,
  approval: LinkApproval,
): Promise<AdoptUsersResult> {
  const maxReported = checks.positiveInteger(input.maxReported, 'maxReported', 100);
  const sliceSize = checks.positiveInteger(input.sliceSize, 'sliceSize', 200);
  const discovered = await discoverUsers(report, input.tenant);
  const built = { model: discovered.model };
  const capabilities = discovered.serviceProviderConfig;
  const pageSize = discovered.pageSize(checks.positiveInteger(input.pageSize, 'pageSize', 500));
  const source: PlanSource = input.users
    ? { kind: 'inline', users: input.users }
    : { kind: 'file', ...(input.source as NonNullable<AdoptUsersInput['source']>) };
  const rules = { linkAttribute: input.linkAttribute ?? 'externalId', weakKeys: input.weakKeys ?? ['email'] };

  const plan = await report.step(
    'plan: read source, list provider users, classify for adoption',
    () =>
      planAdoption({
        tenant: input.tenant,
        source,
        model: built.model,
        rules,
        pageSize,
        maxReported,
        sliceSize,
        ...(input.reportOut ? { reportOut: input.reportOut } : {}),
      }),
    (p) => ({ payloadSha256: p.planHash, detail: describe(p) }),
  );
  const { slices, ...shown } = plan;
  progress.planHash = plan.planHash;
  progress.counts = plan.counts;
  const result: AdoptUsersResult = {
    tenant: input.tenant,
    outcome: 'succeeded',
    plan: shown,
    linkAttribute: rules.linkAttribute,
    weakKeys: rules.weakKeys,
    linked: 0,
    alreadyLinked: 0,
    failed: 0,
    failures: [],
    requests: plan.pages,
  };
  if (!input.apply) {
    report.skip('write links', `dry run: plan ${plan.planHash}`);
    return { ...result, outcome: 'dry-run' };
  }

  // Even without links to write, approving records the adoption: orphans become leavers for later syncs.
  progress.phase = 'awaitingApproval';
  progress.awaitingApproval = { links: plan.counts.toLink, planHash: plan.planHash };
  const timeout = (input.approvalTimeout ?? '24 hours') as Duration;
  const links = `${plan.counts.toLink} links (${plan.counts.weak} by a weak key)`;
  report.details.set(
    'approval',
    approvalWaitText('cxone-scim adopt', workflowInfo().workflowId, links, plan.planHash, String(timeout)),
  );
  const decided = approvalWaiting(input.tenant);
  result.decision = await report
    .step(
      `await approval of ${links}`,
      () => approval.decide(plan.planHash, timeout, `waiting for approval of ${links}, plan ${plan.planHash}`),
      (d) => ({ detail: d.decision === 'timed-out' ? `no decision within ${timeout}` : d.decision }),
    )
    .finally(decided);
  progress.awaitingApproval = undefined;
  report.details.set('approval', `links ${result.decision.decision} (plan ${plan.planHash})`);
  if (result.decision.decision !== 'approved') {
    report.skip('write links', `not approved: ${result.decision.decision}`);
    return { ...result, outcome: result.decision.decision === 'rejected' ? 'rejected' : 'approval-timeout' };
  }

  progress.phase = 'linking';
  // Transient failures (429, 5xx, outages) are retried until the run's deadline, never by a count.
  const { applyAdoptionLinks } = proxyActivities<Activities>(
    providerCallFor((input.runDeadline ?? '6 hours') as Duration, {
      startToCloseTimeout: '10 minutes',
      heartbeatTimeout: '30 seconds',
    }),
  );
  if (slices.length > 0)
    await report.step(
      `write ${plan.counts.toLink} links to ${rules.linkAttribute}`,
      async () => {
        for (let index = 0; index < slices.length; index++) {
          const tally: LinkTally = await applyAdoptionLinks.executeWithOptions(
            withSummary(
              `write links slice ${index + 1} of ${slices.length} (≤ ${sliceSize} users), plan ${plan.planHash.slice(0, 12)}`,
            ),
            [
              {
                tenant: input.tenant,
                planHash: plan.planHash,
                slice: slices[index],
                from: index * sliceSize,
                endpoint: built.model.endpoint,
                patchSupported: capabilities.patch?.supported === true,
                linkAttribute: rules.linkAttribute,
                maxReported,
              },
            ],
          );
          countRecords(input.tenant, { linked: tally.linked, unchanged: tally.alreadyLinked, failed: tally.failed });
          result.linked += tally.linked;
          result.alreadyLinked += tally.alreadyLinked;
          result.failed += tally.failed;
          result.requests += tally.requests;
          result.failures.push(...tally.failures.slice(0, Math.max(0, maxReported - result.failures.length)));
          progress.linked = result.linked + result.alreadyLinked;
          progress.failed = result.failed;
          report.details.set(
            'progress',
            `links: ${result.linked} linked, ${result.alreadyLinked} already linked, ${result.failed} failed (${index + 1} of ${slices.length} slices)`,
          );
        }
      },
      () => ({ detail: `${result.linked} linked, ${result.alreadyLinked} already linked, ${result.failed} failed` }),
    );
  if (result.failed > 0) {
    report.skip('record adoption', `${result.failed} links failed`);
    return {
      ...result,
      outcome: 'partial',
      note: `${result.failed} links were not written, so the tenant is not recorded as adopted (its syncs keep orphans out of scope): fix what the failures say and run adopt again`,
    };
  }
  const info = workflowInfo();
  result.adoptionRecord = await report.step(
    'record adoption',
    () =>
      recordAdoption({
        tenant: input.tenant,
        planHash: plan.planHash,
        linkAttribute: rules.linkAttribute,
        adoptedAt: new Date(Date.now()).toISOString(),
        workflowId: info.workflowId,
        counts: plan.counts,
      }),
    (where) => ({ detail: where }),
  );
  return result;
}

function describe(p: AdoptionPlanSummary): string {
  const c = p.counts;
  return (
    `${p.records} records (${p.invalid} invalid), ${p.providerUsers} provider users in ${p.pages} pages: ` +
    `${c.exact} exact (${c.alreadyLinked} already linked), ${c.weak} weak, ${c.ambiguousRecords} ambiguous records / ` +
    `${c.ambiguousProviderUsers} provider users, ${c.providerOnly} provider-only, ${c.sourceOnly} source-only; ${c.toLink} links to write`
  );
}
