// The tenantRateLimiter scenario of `npm run record:histories` (listed in scenarios.ts): two
// workers ask for shares of two slices, one asks twice, a Retry-After is booked, and the limiter
// continues as new (after 4 grants) with its book.
import assert from 'node:assert/strict';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { rateLimiterWorkflowId, SLICE_MS } from '../../src/temporal/rate-limit-protocol';
import { pauseRequestsSignal, requestBudgetUpdate, tenantRateLimiter } from '../../src/workflows';
import type { Scenario } from './scenarios';

export const rateLimiterScenario: Scenario = {
  name: 'tenantRateLimiter grants, a booked pause, continue-as-new',
  async record(c) {
    const workflowId = rateLimiterWorkflowId(c.taskQueue, 'sandbox');
    const first = 1_800_000_000; // a fixed slice, so that the recorded inputs never change
    const ask = (worker: string, slice: number) =>
      c.client.workflow.executeUpdateWithStart(requestBudgetUpdate, {
        args: [{ worker, slice, now: slice * SLICE_MS - 500, limits: { requestsPerSecond: 30, concurrency: 6 } }],
        startWorkflowOperation: new WithStartWorkflowOperation(tenantRateLimiter, {
          workflowId,
          taskQueue: c.taskQueue,
          args: [{ tenant: 'sandbox', grantsPerRun: 4 }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
    const a = await ask('worker-a', first);
    const b = await ask('worker-b', first);
    assert.deepEqual([a.requestsPerSecond, b.requestsPerSecond], [30, 0], 'worker-b came late for the first slice');
    await c.client.workflow.getHandle(workflowId).signal(pauseRequestsSignal, (first + 1) * SLICE_MS + 300);
    const again = await ask('worker-a', first + 1);
    assert.deepEqual(await ask('worker-a', first + 1), again, 'asking twice gets the same share');
    assert.equal(again.from, (first + 1) * SLICE_MS + 300, 'the booked pause delays the grant');
    const next = await ask('worker-b', first + 2); // the fifth grant: answered by the second run
    assert.equal(next.requestsPerSecond, 15, 'both workers share the slice evenly');
    const handle = c.client.workflow.getHandle(workflowId);
    // It waits ten idle minutes before ending: save once its last workflow task is recorded, then stop it.
    const settled = async () => {
      const last = (await handle.fetchHistory()).events?.at(-1);
      return !last?.workflowTaskScheduledEventAttributes && !last?.workflowTaskStartedEventAttributes;
    };
    for (let i = 0; !(await settled()); i++) {
      assert.ok(i < 300, 'the last workflow task completed');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await c.saveRuns('tenantRateLimiter-continue-as-new', workflowId, { minRuns: 2 });
    await handle.terminate('recorded');
  },
};
