// provisionUsers' second pass (docs/mappings.md "Manager references"): once every batch is done,
// the records whose manager is one of the run's own new records are linked (linkManagers), and
// the result names every record left without its manager. Workflow code: no I/O.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { ManagerWarning } from '../../activities/manager-refs';
import { providerCallUntil } from '../activity-options';
import type { ReportRecorder } from '../report';
import { withSummary } from '../ui-metadata';
import type { Continuation, ManagerLinks, ProvisionUsersInput, ProvisionUsersResult } from './contract';

/** The second pass, when the plan has manager references; undefined otherwise. */
export async function linkManagersOfRun(
  input: ProvisionUsersInput,
  state: Continuation,
  maxReported: number,
  report: ReportRecorder<Record<string, unknown>, ProvisionUsersResult>,
): Promise<ManagerLinks | undefined> {
  const managers = state.plan.managers;
  if (!managers) return undefined;
  let pass = { linked: 0, unchanged: 0, warned: 0, warnings: [] as ManagerWarning[] };
  if (managers.claim) {
    const { linkManagers } = proxyActivities<Activities>(
      providerCallUntil(state.model.deadline ?? Date.now() + 6 * 3_600_000, {
        startToCloseTimeout: '10 minutes',
        heartbeatTimeout: '30 seconds',
      }),
    );
    const links = managers.claim;
    pass = await report.step(
      'link managers created in this run',
      () =>
        linkManagers.executeWithOptions(withSummary(`link ${managers.pending} users to managers created in this run`), [
          {
            tenant: input.tenant,
            endpoint: state.model.endpoint,
            patchSupported: state.model.patchSupported,
            etag: state.model.capabilities?.etag === true,
            links,
            maxReported,
          },
        ]),
      (r) => ({
        detail: `${managers.pending} pending: ${r.linked} linked, ${r.unchanged} already linked, ${r.warned} not linked`,
      }),
    );
  }
  const warned = managers.warned + pass.warned;
  const warnings = [...managers.warnings, ...pass.warnings].sort((a, b) => a.record - b.record).slice(0, maxReported);
  if (warned > 0)
    report.details.set('managers', `${warned} users provisioned without their manager (see managerLinks)`);
  return {
    resolvedWhenPlanned: managers.resolved,
    linked: pass.linked,
    unchanged: pass.unchanged,
    warned,
    warnings,
    warningsOmitted: warned - warnings.length,
  };
}

/** The run's result with what became of its manager references. */
export function withManagerLinks(result: ProvisionUsersResult, links: ManagerLinks | undefined): ProvisionUsersResult {
  return links ? { ...result, managerLinks: links } : result;
}
