// The second pass of a provisionUsers run (docs/mappings.md "Manager references"): the records
// whose manager is one of the run's own new records, linked now that the run has written them.
// Each link finds the manager (by the key the source names it by) and the user (by userName),
// both verified, and writes `manager.value` only where it differs: a retried pass links nothing
// twice. A manager or user that is not there (its create failed) is a warning, never a failure.
import { Context } from '@temporalio/activity';
import { ScimHttpError } from '../http';
import type { ClaimRef } from '../core/claim-ref';
import { URN } from '../scim/urns';
import { mergedForPut, patchRequest, userPatchOperations } from '../scim/patch';
import type { MatchResult } from '../scim/user-match';
import { getClaimLines } from './claims/claim-store';
import { asActivity, dialectFor, scimClientFor, type ActivityDeps } from './deps';
import type { ManagerWarning, PendingManagerLink } from './manager-refs';
import { attemptDeadline, type AttributeFinder, providerFinder } from './provider/attribute-finder';
import { isTransientFailure } from './provider/existing-user';
import { patchOrPut } from './provider/patch-or-put';
import { DeadlinePassedError, untilDeadline } from './provider/until-deadline';

export interface LinkManagersInput {
  tenant: string;
  /** The User endpoint. */
  endpoint: string;
  patchSupported: boolean;
  /** Send If-Match with the user's meta.version (ServiceProviderConfig etag.supported). */
  etag?: boolean;
  /** The plan's pending links (ManagerPlan.claim). */
  links: ClaimRef;
  /** Warnings described (all are counted). */
  maxReported: number;
}

export interface LinkManagersResult {
  linked: number;
  /** Already linked to that manager (a retried pass, or someone else did). */
  unchanged: number;
  warned: number;
  warnings: ManagerWarning[];
}

/** One pending link: linked, already so, or why not (a warning). */
async function link(
  find: AttributeFinder,
  write: (user: Record<string, unknown> & { id: string }, managerId: string) => Promise<void>,
  pending: PendingManagerLink,
): Promise<'linked' | 'unchanged' | string> {
  const lookedUp = (what: string, found: MatchResult) =>
    found.kind === 'ambiguous'
      ? `${what}: ${found.ids.length} provider users match (ids ${found.ids.join(', ')})`
      : undefined;
  const ignoreCase = pending.providerAttribute.trim().toLowerCase() === 'username';
  const manager = await find(pending.providerAttribute, pending.key, ignoreCase);
  if (manager.kind === 'none')
    return `manager: no user has ${pending.providerAttribute} "${pending.key}" after the run (its record failed?); not linked`;
  if (manager.kind === 'ambiguous')
    return `${lookedUp(`manager ${pending.providerAttribute} "${pending.key}"`, manager)}; not linked`;
  const user = await find('userName', pending.userName, true);
  if (user.kind === 'none') return `manager: the user was not found after the run (its record failed?); not linked`;
  if (user.kind === 'ambiguous') return `${lookedUp('the user', user)}; not linked`;
  // Found by userName: written to only when it is the record's user (its externalId, when the record has one).
  const externalId = user.resource.externalId;
  if (pending.externalId !== undefined && externalId !== pending.externalId)
    return `manager: the user named ${pending.userName} has externalId ${JSON.stringify(externalId ?? null)}, not the record's "${pending.externalId}" (its write failed?); not linked`;
  const current = (user.resource[URN.EnterpriseUser] as { manager?: { value?: unknown } } | undefined)?.manager?.value;
  if (current === manager.resource.id) return 'unchanged';
  await write(user.resource, manager.resource.id);
  return 'linked';
}

export async function linkManagers(deps: ActivityDeps, input: LinkManagersInput): Promise<LinkManagersResult> {
  const client = scimClientFor(deps, input.tenant);
  const find = providerFinder(client, input.endpoint);
  const deadline = attemptDeadline();
  const write = async (user: Record<string, unknown> & { id: string }, managerId: string) => {
    const desired = { [URN.EnterpriseUser]: { manager: { value: managerId } } };
    const version = (user.meta as { version?: unknown } | undefined)?.version;
    const ifMatch = input.etag && typeof version === 'string' ? version : undefined;
    const path = `${input.endpoint}/${encodeURIComponent(user.id)}`;
    await patchOrPut(
      dialectFor(deps, input.tenant),
      input.patchSupported,
      () =>
        untilDeadline(deadline, () =>
          client.patch(path, patchRequest(userPatchOperations(desired, user)), { ifMatch }),
        ),
      () => untilDeadline(deadline, () => client.put(path, mergedForPut(desired, user), { ifMatch })),
    );
  };
  const links = (await getClaimLines(input.links, 'the pending manager links')) as PendingManagerLink[];
  // A retried attempt resumes after the last link its heartbeat named (a pass of thousands of links
  // against a rate-limited tenant may need several attempts; each goes on where the last stopped).
  let context: Context | undefined;
  try {
    context = Context.current();
  } catch {
    context = undefined; // called outside an activity (tests)
  }
  const resumed = context?.info.heartbeatDetails as { next: number; result: LinkManagersResult } | undefined;
  const result: LinkManagersResult = resumed?.result ?? { linked: 0, unchanged: 0, warned: 0, warnings: [] };
  let next = resumed?.next ?? 0;
  // A copy: the SDK sends the latest details later, and the result must match `next` exactly.
  const beat = () => context?.heartbeat({ next, result: structuredClone(result) });
  const timer = setInterval(beat, 1000);
  const warn = (pending: PendingManagerLink, detail: string) => {
    result.warned++;
    if (result.warnings.length < input.maxReported)
      result.warnings.push({ record: pending.index + 1, userName: pending.userName, detail });
  };
  try {
    for (; next < links.length; next++, beat()) {
      const pending = links[next];
      try {
        const outcome = await link(find, write, pending);
        if (outcome === 'linked') result.linked++;
        else if (outcome === 'unchanged') result.unchanged++;
        else warn(pending, outcome);
      } catch (err) {
        // A transient fault past this attempt's window fails the attempt (retried from this link, as
        // its heartbeat says); a refusal of this user's write is its warning.
        if (err instanceof DeadlinePassedError || isTransientFailure(err)) throw err;
        if (!(err instanceof ScimHttpError)) throw err;
        warn(pending, `manager: the provider refused the link (HTTP ${err.status}: ${err.message}); not linked`);
      }
    }
  } finally {
    clearInterval(timer);
  }
  return result;
}

export function createManagerLinkActivities(deps: ActivityDeps) {
  return {
    /** provisionUsers' second pass: links the records whose manager the run itself created. */
    async linkManagers(input: LinkManagersInput): Promise<LinkManagersResult> {
      return asActivity(() => linkManagers(deps, input));
    },
  };
}
