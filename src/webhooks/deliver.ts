// Hands a verified, validated event to its userLifecycle workflow with signal-with-start, under a
// request id derived from the event (see request-ids.ts): Temporal records it once, a replay into
// the same run is answered as done and writes nothing, and no worker is needed to acknowledge.
import { isGrpcServiceError } from '@temporalio/client';
import type { LifecycleEvent } from '../scim/lifecycle-events';
import {
  lifecycleEventSignal,
  userLifecycleWorkflowId,
  type userLifecycle,
  type UserLifecycleInput,
} from '../workflows/user-lifecycle/workflow';
import { eventRequestId, withRequestId } from './request-ids';
import type { TemporalClientSource } from './temporal-client';

export type DeliveryOutcome =
  | { kind: 'accepted'; workflowId: string; runId: string }
  /** Not recorded; the sender should retry. `cause` says why, for the log. */
  | { kind: 'unavailable'; cause: string }
  | { kind: 'failed'; cause: string };

export interface TemporalDeliveryOptions {
  temporal: TemporalClientSource;
  taskQueue: string;
  /** Budget for Temporal's answer, per delivery, once it is being sent. */
  timeoutMs: number;
}

// gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html) that mean "not now".
const TRANSIENT: Record<number, string> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  4: 'DEADLINE_EXCEEDED',
  8: 'RESOURCE_EXHAUSTED',
  14: 'UNAVAILABLE',
};

export class TemporalDelivery {
  constructor(private readonly options: TemporalDeliveryOptions) {}

  async deliver(input: UserLifecycleInput, event: LifecycleEvent): Promise<DeliveryOutcome> {
    const workflowId = userLifecycleWorkflowId(input.tenant, event.userId);
    try {
      const client = await this.options.temporal.get();
      const handle = await client.withDeadline(Date.now() + this.options.timeoutMs, () =>
        client.workflow.signalWithStart<typeof userLifecycle, [LifecycleEvent]>('userLifecycle', {
          workflowId,
          taskQueue: this.options.taskQueue,
          args: [input],
          signal: lifecycleEventSignal,
          signalArgs: [withRequestId(eventRequestId(workflowId, event.eventId), event)],
        }),
      );
      return { kind: 'accepted', workflowId, runId: handle.signaledRunId };
    } catch (err) {
      return classify(err, this.options.timeoutMs);
    }
  }
}

/** "Retry later" with the reason for Temporal being unreachable, overloaded or slow; "failed" otherwise. */
export function classify(err: unknown, timeoutMs: number): DeliveryOutcome {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (!isGrpcServiceError(e)) continue;
    const name = TRANSIENT[e.code];
    if (!name) return { kind: 'failed', cause: `Temporal refused the signal: ${e.details || e.message}` };
    if (e.code === 4)
      return { kind: 'unavailable', cause: `Temporal did not answer within ${timeoutMs} ms (DEADLINE_EXCEEDED)` };
    if (e.code === 8)
      return { kind: 'unavailable', cause: `Temporal is overloaded (RESOURCE_EXHAUSTED: ${e.details})` };
    return { kind: 'unavailable', cause: `Temporal is unreachable (${name}: ${e.details || e.message})` };
  }
  // Connection failures and a closed client carry no gRPC status.
  return { kind: 'unavailable', cause: `Temporal is unreachable (${(err as Error)?.message ?? String(err)})` };
}
