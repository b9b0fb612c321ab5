// The bench worker's workflows: the project's own (userLifecycle among them) plus the lifecycle
// bench's baseline, so that both run on one worker with the same settings and task queue.
import {
  condition,
  defineQuery,
  defineSignal,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type { Activities } from '../src/activities';
import type { LifecycleEvent } from '../src/scim/lifecycle-events';
import { idpPatchOperations, type ScimUser } from '../src/scim/idp-user';
import { PROVIDER_CALL } from '../src/workflows/activity-options';

export * from '../src/workflows';

const remote = proxyActivities<Activities>(PROVIDER_CALL);
const local = proxyLocalActivities<Activities>(PROVIDER_CALL);

export const baselineEventSignal = defineSignal<[LifecycleEvent]>('baselineEvent');
export const baselineAppliedQuery = defineQuery<number>('applied');

/**
 * The lifecycle bench's baseline: what Temporal sustains for "one workflow per user, each event
 * one IdP call in one activity". Started by signal-with-start; no validation, no dedupe, no
 * ordering rule, no report, no search attributes: only the same IdP calls as userLifecycle
 * (create, then PATCH of what changed) in arrival order, from an activity (or, with `localActivity`,
 * a local activity).
 */
export async function lifecycleBaseline(input: {
  idpTenant: string;
  userId: string;
  localActivity?: boolean;
}): Promise<never> {
  const { idpCreateUser, idpPatchUser } = input.localActivity ? local : remote;
  const queue: LifecycleEvent[] = [];
  let applied = 0;
  let idpUserId: string | undefined;
  let previous: ScimUser | undefined;
  setHandler(baselineEventSignal, (event) => void queue.push(event));
  setHandler(baselineAppliedQuery, () => applied);
  for (;;) {
    await condition(() => queue.length > 0);
    const event = queue.shift() as LifecycleEvent;
    const user = event.user ?? {};
    const change = { cxoneUserId: input.userId, user };
    if (idpUserId === undefined) {
      idpUserId = (await idpCreateUser(input.idpTenant, change)).idpUserId;
    } else {
      await idpPatchUser(input.idpTenant, idpUserId, change, idpPatchOperations(input.userId, previous, user));
    }
    previous = user;
    applied++;
  }
}
