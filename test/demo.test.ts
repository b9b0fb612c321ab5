import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { runDev } from '../src/cli/dev';

/** The demo's output, collected while it runs. */
function capture(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { out, text: () => text };
}

// The jobs as `npm start` runs them, with a small user count: embedded Temporal, two sandboxes,
// worker, receiver; every step must really happen for the summary and the report to come out.
describe('the end-to-end demo', () => {
  it('configures, registers webhooks, provisions, syncs lifecycle events to the IdP and reports', async () => {
    const { out, text } = capture();
    const summary = await runDev({ users: 200, uiPort: 0, out, progress: false });

    assert.equal(summary.provisioned, 199, 'every valid record is provisioned');
    assert.equal(summary.invalid, 1, 'the row without an email is reported, not sent');
    assert.equal(summary.syncedToIdp, 199, 'every USER_CREATED webhook reached the IdP');
    assert.deepEqual(
      summary.syncRuns.map((r) => r.outcome),
      ['succeeded', 'succeeded'],
      'the scheduled syncUsers runs',
    );
    assert.equal(
      summary.syncRuns[0].changes,
      3,
      'the first scheduled run puts the user edited in the console back and deactivates the 2 leavers',
    );
    assert.equal(summary.syncRuns[0].deactivated, 2);
    assert.equal(summary.syncRuns[1].changes, 0, 'the second scheduled run finds the provider in sync');
    assert.deepEqual(
      summary.steps.map((s) => `${s.step}: ${s.outcome}`),
      [
        'tenantsCheck: ok',
        'configureServiceProvider: succeeded',
        'registerWebhooks: created',
        'provisionUsers: partial',
        'syncUsers: succeeded, succeeded',
        'syncAssignments: skipped',
        'userLifecycle: inactive, IdP in-sync',
        'report: written',
      ],
    );
    const output = text();
    assert.match(output, /succeeded PUT ServiceProviderConfig \(If-Match\)/);
    assert.match(output, /record 200 \(line 201\): userName/);
    assert.match(output, /status inactive, IdP in-sync, events USER_CREATED:applied → USER_DEACTIVATED:applied/);
    assert.match(output, /\| configureServiceProvider \| 1 \| 1 \| 0 \|/);
    assert.match(
      output,
      /\| provisionUsers \| 1 \| 0 \| 1 \| 0 \| 200 \| 199 \| 1 \|/,
      'a run with an invalid record is partial',
    );
    assert.match(output, /\| userLifecycle \| 199 \|/);
  });

  it('runs every step against the cxone profile (the surface NICE publishes), with skills and teams', async () => {
    const { out, text } = capture();
    const summary = await runDev({ users: 200, uiPort: 0, out, progress: false, profile: 'cxone' });

    assert.equal(summary.profile, 'cxone');
    assert.deepEqual(
      summary.steps.map((s) => `${s.step}: ${s.outcome}`),
      [
        'tenantsCheck: ok',
        // No ServiceProviderConfig to compare with: an expected outcome on CXone, not a failure.
        'configureServiceProvider: not-published',
        'registerWebhooks: created',
        'provisionUsers: partial',
        'syncUsers: succeeded, succeeded',
        'syncAssignments: succeeded',
        'userLifecycle: inactive, IdP in-sync',
        'report: written',
      ],
    );
    assert.equal(summary.provisioned, 199, 'every valid record is provisioned, one resource at a time');
    assert.equal(summary.invalid, 1);
    // Nobody activated them in the console (a deactivation leaves an employee's status alone).
    assert.equal(summary.pending, 199, 'employees are created Pending and stay so until activated');
    assert.deepEqual(
      summary.syncRuns.map((r) => [r.outcome, r.changes, r.deactivated]),
      [
        ['succeeded', 3, 2],
        ['succeeded', 0, 0],
      ],
      'the console edit put back and two leavers deactivated, then nothing to do',
    );
    assert.deepEqual(summary.assignments && [summary.assignments.outcome, summary.assignments.failed], [
      'succeeded',
      0,
    ]);
    assert.deepEqual(summary.assignments?.applied, {
      'set-team': 4,
      'add-skill': 7,
      'set-proficiency': 0,
      'remove-skill': 0,
    });
    assert.equal(summary.syncedToIdp, 199, 'every USER_CREATED webhook reached the IdP');

    const output = text();
    assert.match(output, /capabilities {2}bulk: no, etag: no, patch: yes, filter: yes, paging: yes/);
    assert.match(output, /endpoints {5}users \/Users \(default\), groups none \(configured\)/);
    assert.match(output, /the provider publishes no ServiceProviderConfig \(HTTP 404\), as NICE documents for CXone/);
    assert.match(output, /per resource \(no Bulk\)/);
    assert.match(output, /record 200 \(line 201\): emails\[0\]\.value: is required; userName: is required/);
    assert.match(output, /Applied: 1 update, 2 deactivate; 0 failed/);
    assert.match(output, /given the Supervisor role/);
    assert.match(output, /status inactive, IdP in-sync, events USER_CREATED:applied → USER_DEACTIVATED:applied/);
    assert.match(output, /\| configureServiceProvider \| 1 \| 1 \| 0 \|/);
    assert.match(output, /\| syncAssignments \| 1 \| 1 \| 0 \| 0 \|/);
    assert.match(output, /\| userLifecycle \| 199 \|/);
  });
});
