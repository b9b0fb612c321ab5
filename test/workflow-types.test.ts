// WORKFLOW_TYPES (src/temporal/constants.ts) is the one list of workflow type names: it must name
// exactly the workflows the worker registers, i.e. the functions src/workflows/index.ts exports.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WORKFLOW_TYPES } from '../src/temporal/constants';
import * as workflows from '../src/workflows';

describe('WORKFLOW_TYPES', () => {
  it('lists every exported workflow, and nothing else', () => {
    const exported = Object.entries(workflows)
      .filter(([, value]) => typeof value === 'function')
      .map(([name]) => name)
      .sort();
    assert.ok(exported.length >= 8, `found ${exported.length} exported workflows`);
    assert.deepEqual(Object.values(WORKFLOW_TYPES).sort(), exported);
  });

  it('maps each name to itself', () => {
    for (const [key, value] of Object.entries(WORKFLOW_TYPES)) assert.equal(key, value);
  });
});
