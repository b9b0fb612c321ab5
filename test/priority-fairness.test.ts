// Task Queue Priority and Fairness on the embedded dev server (src/temporal/server.ts turns them
// on): work queued while no worker polls is dispatched by priority key — lifecycle and on-demand
// work before bulk work queued earlier — and, within one priority, round-robin by tenant (the
// fairness key), so a tenant with a long backlog does not hold back another's. Each case has its
// control: the same backlog without priorities is served in arrival order.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Priority } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import type { TemporalEnvironment } from '../src/temporal/server';
import { workPriority } from '../src/temporal/priority';
import { startTestTemporal } from './helpers/temporal';

const PROBES = require.resolve('./fixtures/priority/workflows');

describe('Task Queue Priority and Fairness on the dev server', () => {
  let temporal: TemporalEnvironment;

  before(async () => {
    temporal = await startTestTemporal();
  });

  after(async () => {
    await temporal?.stop();
  });

  /** Queues `work` (in this order) with no worker polling, then serves it one activity at a time; the labels in dispatch order. */
  async function dispatchOrder(work: Array<{ label: string; priority?: Priority }>): Promise<string[]> {
    const taskQueue = `priority-${randomUUID()}`;
    const { client } = temporal.testEnv;
    const handles = [];
    for (const { label, priority } of work) {
      handles.push(
        await client.workflow.start('dispatchProbe', {
          taskQueue,
          workflowId: `${taskQueue}-${label}`,
          args: [label],
          ...(priority ? { priority } : {}),
        }),
      );
      // The server queues a started workflow's first task a moment later, and not always in
      // start order: a short gap keeps arrival order (what the controls compare against).
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await new Promise((resolve) => setTimeout(resolve, 500)); // every task queued before a worker polls
    const order: string[] = [];
    const worker = await Worker.create({
      connection: temporal.testEnv.nativeConnection,
      namespace: temporal.namespace,
      taskQueue,
      workflowsPath: PROBES,
      activities: { recordDispatch: async (label: string) => void order.push(label) },
      maxConcurrentActivityTaskExecutions: 1,
      maxConcurrentWorkflowTaskExecutions: 2,
    });
    await worker.runUntil(Promise.all(handles.map((h) => h.result())));
    return order;
  }

  const bulk = (tenant: string, n: number, priority = true) =>
    Array.from({ length: n }, (_, i) => ({
      label: `${tenant}-bulk-${i}`,
      ...(priority ? { priority: workPriority('bulk', tenant) } : {}),
    }));

  it('dispatches lifecycle and on-demand work before bulk work queued earlier', async () => {
    const order = await dispatchOrder([
      ...bulk('tenant-a', 8),
      { label: 'tenant-b-lifecycle', priority: workPriority('lifecycle', 'tenant-b') },
      { label: 'tenant-a-on-demand', priority: workPriority('onDemand', 'tenant-a') },
    ]);
    assert.deepEqual(order.slice(0, 2).sort(), ['tenant-a-on-demand', 'tenant-b-lifecycle'], order.join(', '));
    assert.equal(order.length, 10);
  });

  it('control: without priorities the same backlog is served in arrival order', async () => {
    const order = await dispatchOrder([...bulk('tenant-a', 8, false), { label: 'tenant-b-lifecycle' }]);
    // Two workflow tasks run at once, so neighbours may swap; the latecomer stays near the end.
    assert.ok(order.indexOf('tenant-b-lifecycle') >= 6, order.join(', '));
  });

  it("within one priority, tenant B's work is not held back behind tenant A's longer backlog", async () => {
    const order = await dispatchOrder([...bulk('tenant-a', 8), ...bulk('tenant-b', 2)]);
    const positions = order.flatMap((label, i) => (label.startsWith('tenant-b') ? [i] : []));
    // Round-robin by fairness key: B's two tasks are among the first four, not after A's eight.
    assert.ok(Math.max(...positions) <= 3, order.join(', '));
  });

  it('control: without fairness keys the other tenant waits for the whole backlog', async () => {
    const order = await dispatchOrder([...bulk('tenant-a', 8, false), ...bulk('tenant-b', 2, false)]);
    const positions = order.flatMap((label, i) => (label.startsWith('tenant-b') ? [i] : []));
    assert.ok(Math.min(...positions) >= 6, order.join(', '));
  });
});
