import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { runDev } from '../src/cli/dev';

// The main job as `npm start` runs it, with a small user count: embedded Temporal, two sandboxes,
// worker, receiver; every step must really happen for the summary and the report to come out.
describe('the end-to-end demo', () => {
  it('configures, registers webhooks, provisions, syncs lifecycle events to the IdP and reports', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const summary = await runDev({ users: 200, uiPort: 0, out, progress: false });

    assert.equal(summary.provisioned, 199, 'every valid record is provisioned');
    assert.equal(summary.invalid, 1, 'the row without an email is reported, not sent');
    assert.equal(summary.syncedToIdp, 199, 'every USER_CREATED webhook reached the IdP');
    assert.deepEqual(
      summary.syncRuns.map((r) => r.outcome),
      ['succeeded', 'succeeded'],
      'the scheduled syncUsers runs',
    );
    assert.equal(summary.syncRuns[0].changes, 1, 'the first scheduled run puts the user edited in the console back');
    assert.equal(summary.syncRuns[1].changes, 0, 'the second scheduled run finds the provider in sync');
    assert.match(text, /succeeded PUT ServiceProviderConfig \(If-Match\)/);
    assert.match(text, /record 200 \(line 201\): userName/);
    assert.match(text, /status inactive, IdP in-sync, events USER_CREATED:applied → USER_DEACTIVATED:applied/);
    assert.match(text, /\| configureServiceProvider \| 1 \| 1 \| 0 \|/);
    assert.match(
      text,
      /\| provisionUsers \| 1 \| 0 \| 1 \| 0 \| 200 \| 199 \| 1 \|/,
      'a run with an invalid record is partial',
    );
    assert.match(text, /\| userLifecycle \| 199 \|/);
  });
});
