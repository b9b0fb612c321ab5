import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';

/**
 * For `assert.rejects(handle.result(), failedWith(…))`: the run failed (it was not left retrying its
 * workflow task) with an ApplicationFailure of `type` whose message matches `message`.
 */
export function failedWith(type: string, message: RegExp): (err: unknown) => true {
  return (err) => {
    assert.ok(err instanceof WorkflowFailedError, `the run failed, got ${String(err)}`);
    const cause = err.cause;
    assert.ok(cause instanceof ApplicationFailure, `an ApplicationFailure, got ${String(cause)}`);
    assert.equal(cause.type, type);
    assert.match(cause.message, message);
    return true;
  };
}
