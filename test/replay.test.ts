import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import * as workflows from '../src/workflows';
import { HISTORIES_DIR, readHistoryFiles, type RecordedHistory } from './helpers/history-files';
import { installTestRuntime, workflowBundle } from './helpers/temporal';

// Determinism guard: every history under test/histories/ (recorded from real runs by
// `npm run record:histories`) is replayed against the workflow code as it is now. A change that
// would make running workflows fail after a deploy (a different activity, timer, child workflow or
// order of them for the same history) fails here. No Temporal server is needed: replay runs the
// workflow code against the recorded events. docs/development.md: "Changing workflow code safely".

const HOW_TO_RECORD = 'add a scenario to test/histories/scenarios.ts and run `npm run record:histories`';

/** Replays the histories in order; the error each one ended with, if any (same order). */
async function replay(bundle: WorkflowBundle, histories: RecordedHistory[]): Promise<Array<Error | undefined>> {
  const errors: Array<Error | undefined> = [];
  const results = Worker.runReplayHistories(
    { workflowBundle: bundle, replayName: 'replay-test' },
    histories.map(({ workflowId, history }) => ({ workflowId, history })),
  );
  // The replay worker runs one history at a time and yields one result each, in order.
  for await (const result of results) errors.push(result.error);
  assert.equal(errors.length, histories.length, 'one replay result per history');
  return errors;
}

describe('replay of the recorded workflow histories (no Temporal server)', () => {
  const recorded = readHistoryFiles();
  let bundle: WorkflowBundle;

  before(async () => {
    installTestRuntime();
    bundle = await workflowBundle();
  });

  it('has histories for every workflow type the worker registers, named after their type', () => {
    assert.ok(recorded.length > 0, `no *.json under ${HISTORIES_DIR}: ${HOW_TO_RECORD}`);
    const registered = Object.entries(workflows)
      .filter(([, value]) => typeof value === 'function')
      .map(([name]) => name)
      .sort();
    const covered = new Set(recorded.map((r) => r.workflowType));
    assert.deepEqual(
      registered.filter((type) => !covered.has(type)),
      [],
      `workflow types without a recorded history: ${HOW_TO_RECORD}`,
    );
    for (const r of recorded)
      assert.ok(path.basename(r.file).startsWith(`${r.workflowType}-`), `${r.file} holds a ${r.workflowType} history`);
  });

  it('replays every recorded history against the current workflow code without a determinism error', async (t) => {
    const errors = await replay(bundle, recorded);
    const failures = recorded.flatMap((r, i) =>
      errors[i] ? [`${r.file}: ${errors[i].name}: ${errors[i].message}`] : [],
    );
    t.diagnostic(`${recorded.length} histories replayed, ${failures.length} failed`);
    assert.deepEqual(
      failures,
      [],
      'a workflow change is not replay-compatible: guard it with patched() or ship it under a new worker build id (docs/development.md, "Changing workflow code safely")',
    );
  });

  it('fails the replay with a DeterminismViolationError when the code schedules another activity than the history', async () => {
    // A history recorded by code that called another activity at this point: what replay sees when
    // an activity is renamed or replaced in workflow code that running workflows still execute.
    const original = recorded.find((r) => r.file === 'registerWebhooks-create.json');
    assert.ok(original, 'registerWebhooks-create.json is recorded');
    const tampered = readHistoryFiles().find((r) => r.file === original.file) as RecordedHistory;
    const scheduled = tampered.history.events?.find(
      (e) => e.activityTaskScheduledEventAttributes,
    )?.activityTaskScheduledEventAttributes;
    assert.ok(scheduled?.activityType?.name, 'the history schedules an activity');
    scheduled.activityType.name = `${scheduled.activityType.name}V2`;

    const [untouched, error] = await replay(bundle, [original, tampered]);
    assert.equal(untouched, undefined, 'the untouched history replays');
    assert.ok(
      error instanceof DeterminismViolationError,
      `expected a DeterminismViolationError, got ${error ? `${error.name}: ${error.message}` : 'success'}`,
    );
    assert.match(error.message, /listWebhookSubscriptions/);
  });
});
