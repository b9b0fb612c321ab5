import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { readPlanFile, readPlanSlice, storePlanSlices } from '../src/activities/claims/plan-claims';
import { FailureType } from '../src/core/failures';

// Sync plans as claims: each phase cut into the slices the apply activities take, each slice read
// back only as the part of the plan (hash, phase, position) the activity was given.

async function failureOf(run: () => Promise<unknown> | unknown): Promise<ApplicationFailure> {
  try {
    await run();
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `an ApplicationFailure, not ${String(err)}`);
    return err;
  }
  assert.fail('it succeeded');
}

describe('plan claims', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-claims-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const planHash = 'a'.repeat(64);
  type Change = { action: string; userName?: string; id?: string };
  const writes: Change[] = Array.from({ length: 7 }, (_, i) => ({ action: 'create', userName: `u${i}@example.com` }));
  const removals: Change[] = [{ action: 'deactivate', id: 'x1' }];

  it('stores each phase in slices of the apply size, in order, and reads each one back alone', async () => {
    const counts: number[] = [];
    const slices = await storePlanSlices(dir, planHash, { writes, removals, empty: [] }, 3, (n) => counts.push(n));
    assert.deepEqual([slices.writes.length, slices.removals.length, slices.empty.length], [3, 1, 0]);
    assert.deepEqual(counts, [1, 2, 3, 4], 'told after every object');
    for (const ref of [...slices.writes, ...slices.removals])
      assert.equal(path.dirname(ref.location), path.join(dir, 'plans'));
    const read = await Promise.all(
      slices.writes.map((ref, i) => readPlanSlice(ref, { planHash, phase: 'writes', from: i * 3 }, `slice ${i}`)),
    );
    assert.deepEqual(read, [writes.slice(0, 3), writes.slice(3, 6), writes.slice(6)]);
    assert.deepEqual(
      await readPlanSlice(slices.removals[0], { planHash, phase: 'removals', from: 0 }, 'removals'),
      removals,
    );
    const again = await storePlanSlices(dir, planHash, { writes, removals, empty: [] }, 3);
    assert.deepEqual(again, slices, 'the same plan stored again (a retried planner) gives the same references');
  });

  it('refuses a slice that is another part of the plan, or of another plan', async () => {
    const slices = await storePlanSlices(dir, planHash, { writes, removals }, 3);
    const otherPosition = await failureOf(() =>
      readPlanSlice(slices.writes[1], { planHash, phase: 'writes', from: 0 }, 'slice 0'),
    );
    assert.equal(otherPosition.type, FailureType.PlanUnavailable);
    assert.match(
      otherPosition.message,
      /slice 0 at .* is changes 3… of the writes of plan a+, not changes 0… of the writes/,
    );
    const otherPhase = await failureOf(() =>
      readPlanSlice(slices.removals[0], { planHash, phase: 'writes', from: 0 }, 'slice 0'),
    );
    assert.match(otherPhase.message, /of the removals of plan .*, not changes 0… of the writes/);
    const otherPlan = await failureOf(() =>
      readPlanSlice(slices.writes[0], { planHash: 'b'.repeat(64), phase: 'writes', from: 0 }, 'slice 0'),
    );
    assert.match(otherPlan.message, /not changes 0… of the writes of plan b{64}/);
  });

  it('reads the whole-plan file of a run planned by an earlier build, and says why it cannot', async () => {
    const file = path.join(dir, 'sandbox-plan.json');
    fs.writeFileSync(file, JSON.stringify({ planHash, changes: writes }));
    assert.deepEqual(readPlanFile(file, planHash, 'the sync plan'), writes);
    const wrong = await failureOf(() => readPlanFile(file, 'c'.repeat(64), 'the sync plan'));
    assert.equal(wrong.type, FailureType.PlanUnavailable);
    const missing = await failureOf(() => readPlanFile(path.join(dir, 'gone.json'), planHash, 'the sync plan'));
    assert.equal(missing.type, FailureType.PlanUnavailable);
    assert.match(missing.message, /cannot read the sync plan .*gone\.json: ENOENT.*planned by an earlier build/);
  });
});
