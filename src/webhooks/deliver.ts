// Hands a verified, validated event to its userLifecycle workflow.
//
// First choice: update-with-start of `lifecycleEvent`. The workflow's validator refuses an eventId
// it has already received, and a refused update is never written to history, so a replayed
// delivery leaves no trace and the sender still gets a synchronous "duplicate".
// An update needs a worker to accept it. When none answers in time (workers down or busy), the
// event goes as signal-with-start instead, which Temporal records without a worker; the workflow
// deduplicates that path by eventId too. So a delivery is never refused just because workers are.
import {
  isGrpcServiceError,
  WithStartWorkflowOperation,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { LifecycleEvent } from '../scim/lifecycle-events';
import {
  DUPLICATE_EVENT,
  lifecycleEventSignal,
  lifecycleEventUpdate,
  userLifecycleWorkflowId,
  type userLifecycle,
  type UserLifecycleInput,
} from '../workflows/user-lifecycle';
import type { TemporalClientSource } from './temporal-client';

export type DeliveryOutcome =
  | { kind: 'accepted'; workflowId: string; via: 'update' | 'signal'; runId?: string }
  | { kind: 'duplicate'; workflowId: string }
  /** The workflow refused the event (it checks again what the receiver checked). */
  | { kind: 'refused'; workflowId: string; detail: string }
  /** Not recorded; the sender should retry. `cause` says why, for the log. */
  | { kind: 'unavailable'; cause: string }
  | { kind: 'failed'; cause: string };

export interface TemporalDeliveryOptions {
  temporal: TemporalClientSource;
  taskQueue: string;
  /** Budget for Temporal's answer, per delivery, once it is being sent. */
  timeoutMs: number;
  /** Share of the budget the update may use before the signal fallback takes over. */
  updateShare?: number;
}

// gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html) that mean "not now".
const GRPC_NAMES: Record<number, string> = { 1: 'CANCELLED', 2: 'UNKNOWN', 4: 'DEADLINE_EXCEEDED', 8: 'RESOURCE_EXHAUSTED', 14: 'UNAVAILABLE' };

export class TemporalDelivery {
  constructor(private readonly options: TemporalDeliveryOptions) {}

  async deliver(input: UserLifecycleInput, event: LifecycleEvent): Promise<DeliveryOutcome> {
    const workflowId = userLifecycleWorkflowId(input.tenant, event.userId);
    const started = Date.now();
    const deadline = started + this.options.timeoutMs;
    let client: Client;
    try {
      client = await this.options.temporal.get();
    } catch (err) {
      return { kind: 'unavailable', cause: `no Temporal client: ${(err as Error)?.message}` };
    }
    const updateDeadline = started + Math.round(this.options.timeoutMs * (this.options.updateShare ?? 0.6));
    try {
      const startWorkflowOperation = new WithStartWorkflowOperation<typeof userLifecycle>('userLifecycle', {
        workflowId,
        taskQueue: this.options.taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      await client.withDeadline(updateDeadline, () =>
        client.workflow.executeUpdateWithStart(lifecycleEventUpdate, { args: [event], updateId: event.eventId, startWorkflowOperation }),
      );
      return { kind: 'accepted', workflowId, via: 'update' };
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        if (err.cause.type === DUPLICATE_EVENT) return { kind: 'duplicate', workflowId };
        return { kind: 'refused', workflowId, detail: err.cause.message };
      }
      if (!isTimeout(err)) return classify(err, this.options.timeoutMs);
    }
    // No worker accepted the update in time: record the event as a signal.
    try {
      const handle = await client.withDeadline(Math.max(deadline, Date.now() + 500), () =>
        client.workflow.signalWithStart<typeof userLifecycle, [LifecycleEvent]>('userLifecycle', {
          workflowId,
          taskQueue: this.options.taskQueue,
          args: [input],
          signal: lifecycleEventSignal,
          signalArgs: [event],
        }),
      );
      return { kind: 'accepted', workflowId, via: 'signal', runId: handle.signaledRunId };
    } catch (err) {
      return classify(err, this.options.timeoutMs);
    }
  }
}

function isTimeout(err: unknown): boolean {
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e)) return e.code === 4 /* DEADLINE_EXCEEDED */ || e.code === 1 /* CANCELLED */;
  }
  return false;
}

/** "Retry later" (with the reason) for Temporal being unreachable, overloaded or slow; "failed" otherwise. */
export function classify(err: unknown, timeoutMs: number): DeliveryOutcome {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e)) {
      const name = GRPC_NAMES[e.code];
      if (!name) return { kind: 'failed', cause: `Temporal refused the request: ${e.details || e.message}` };
      if (e.code === 4) return { kind: 'unavailable', cause: `Temporal did not answer within ${timeoutMs} ms (DEADLINE_EXCEEDED)` };
      if (e.code === 8) return { kind: 'unavailable', cause: `Temporal is overloaded (RESOURCE_EXHAUSTED: ${e.details})` };
      return { kind: 'unavailable', cause: `Temporal is unreachable (${name}: ${e.details || e.message})` };
    }
  }
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    return { kind: 'unavailable', cause: `Temporal did not answer within ${timeoutMs} ms` };
  }
  // Connection failures carry no gRPC status.
  return { kind: 'unavailable', cause: `Temporal is unreachable (${(err as Error)?.message ?? String(err)})` };
}
