// Hands a verified, validated event to its userLifecycle workflow with signal-with-start, under a
// request id derived from the event (see request-ids.ts): Temporal records it once, a replay into
// the same run is answered as done and writes nothing, and no worker is needed to acknowledge.
// The answer's deadline is a timer, not client.withDeadline: that one keeps the deadline in an
// AsyncLocalStorage, which once used slows every promise of the process, and the native connection
// retries a refused call for up to 10 s whatever the deadline. A call still running at the timer
// goes on unobserved; if Temporal records it after all, the sender's retry (same request id) is a no-op.
import { isGrpcServiceError } from '@temporalio/client';
import { NamespaceNotFoundError } from '@temporalio/common';
import type { LifecycleEvent } from '../scim/lifecycle-events';
import {
  lifecycleEventSignal,
  userLifecycleWorkflowId,
  type userLifecycle,
  type UserLifecycleInput,
} from '../workflows/user-lifecycle/workflow';
import { eventRequestId, withRequestId } from './request-ids';
import type { TemporalClientSource } from './temporal-client';
import { workPriority } from '../temporal/priority';
import { startMetadata } from '../workflows/ui-metadata';

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
      const runId = await within(this.options.timeoutMs, this.#signalWithStart(workflowId, input, event));
      return { kind: 'accepted', workflowId, runId };
    } catch (err) {
      return classify(err, this.options.timeoutMs);
    }
  }

  async #signalWithStart(workflowId: string, input: UserLifecycleInput, event: LifecycleEvent): Promise<string> {
    const client = await this.options.temporal.get();
    const handle = await client.workflow.signalWithStart<typeof userLifecycle, [LifecycleEvent]>('userLifecycle', {
      workflowId,
      taskQueue: this.options.taskQueue,
      args: [input],
      signal: lifecycleEventSignal,
      signalArgs: [withRequestId(eventRequestId(workflowId, event.eventId), event)],
      // Lifecycle work goes before scheduled and bulk work; the tenant is the fairness key.
      priority: workPriority('lifecycle', input.tenant),
      // Used only when this starts the run: the CXone user id (opaque, already in the workflow id), never a name.
      ...startMetadata('userLifecycle', input, {
        startedBy: `cxone-scim webhook-server (first event ${event.eventType} ${event.eventId})`,
        source: `CXone user ${event.userId}`,
      }),
    });
    return handle.signaledRunId;
  }
}

/** Rejects with TemporalTimeout when `work` has not settled within `ms` (it goes on, unobserved). */
export function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TemporalTimeout(ms)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export class TemporalTimeout extends Error {
  constructor(readonly ms: number) {
    super(`Temporal did not answer within ${ms} ms`);
  }
}

/** "Retry later" with the reason for Temporal being unreachable, overloaded or slow; "failed" otherwise. */
export function classify(err: unknown, timeoutMs: number): DeliveryOutcome {
  if (err instanceof TemporalTimeout)
    return { kind: 'unavailable', cause: `Temporal did not answer within ${timeoutMs} ms` };
  // The client turns NOT_FOUND for the namespace into this error, without the gRPC status: a misconfiguration.
  if (err instanceof NamespaceNotFoundError)
    return { kind: 'failed', cause: `Temporal refused the signal: ${err.message}` };
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (!isGrpcServiceError(e)) continue;
    const name = TRANSIENT[e.code];
    if (!name) return { kind: 'failed', cause: `Temporal refused the signal: ${e.details || e.message}` };
    if (e.code === 4)
      return { kind: 'unavailable', cause: `Temporal did not answer within ${timeoutMs} ms (DEADLINE_EXCEEDED)` };
    if (e.code === 8)
      return { kind: 'unavailable', cause: `Temporal is overloaded (RESOURCE_EXHAUSTED: ${e.details || e.message})` };
    return { kind: 'unavailable', cause: `Temporal is unreachable (${name}: ${e.details || e.message})` };
  }
  // Connection failures (the native connection's TransportError) and a closed client carry no gRPC status.
  return { kind: 'unavailable', cause: `Temporal is unreachable (${(err as Error)?.message ?? String(err)})` };
}
