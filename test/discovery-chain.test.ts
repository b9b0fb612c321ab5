import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TemporalEnvironment } from '../src/temporal/server';
import { discoverServiceProvider } from '../src/workflows';
import { reportQuery } from '../src/workflows/report';
import { scriptedTenant, sendJson, startScriptedServer } from './helpers/http';
import { historyText, startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';

// Proof of the chain: client → real Temporal dev server → worker → activity → OAuth + SCIM HTTP
// against a scripted loopback provider, including a 429 whose Retry-After sets the retry delay.

const SECRET = 'chain-test-client-secret';
const TOKEN = 'chain-test-access-token';
const SPC = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
  patch: { supported: true },
  bulk: { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 },
  filter: { supported: true, maxResults: 200 },
  changePassword: { supported: false },
  sort: { supported: false },
  etag: { supported: true },
  authenticationSchemes: [{ type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'client credentials' }],
};

/** What the provider does on each /ServiceProviderConfig GET, in order; then 200 forever. */
let script: Array<{ status: number; headers?: Record<string, string> }> = [];
const spcRequestTimes: number[] = [];
let tokenRequests = 0;

describe('discovery chain on a real Temporal server', () => {
  let temporal: TemporalEnvironment;
  let provider: Awaited<ReturnType<typeof startScriptedServer>>;
  let worker: TestWorker;

  before(async () => {
    provider = await startScriptedServer((req, _body, res) => {
      if (req.method === 'POST' && req.url === '/oauth/token') {
        tokenRequests++;
        return sendJson(
          res,
          200,
          { access_token: TOKEN, token_type: 'Bearer', expires_in: 3600 },
          { 'content-type': 'application/json' },
        );
      }
      if (req.url === '/scim/v2/ServiceProviderConfig') {
        if (req.headers.authorization !== `Bearer ${TOKEN}`)
          return sendJson(res, 401, { status: '401', detail: 'bad token' });
        spcRequestTimes.push(Date.now());
        const next = script.shift() ?? { status: 200 };
        if (next.status !== 200) {
          return sendJson(
            res,
            next.status,
            {
              schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
              status: String(next.status),
              detail: 'scripted',
            },
            next.headers,
          );
        }
        return sendJson(res, 200, SPC, { etag: 'W/"spc-1"' });
      }
      sendJson(res, 404, { status: '404', detail: `no route ${req.url}` });
    });
    const tenant = scriptedTenant(provider.url, 'chain', SECRET);
    temporal = await startTestTemporal();
    worker = await startTestWorker(temporal, [tenant]);
  });

  after(async () => {
    await worker?.stop();
    await temporal?.stop();
    await provider?.close();
  });

  it('discovers the ServiceProviderConfig through an activity and reports the step', async () => {
    script = [];
    const handle = await temporal.testEnv.client.workflow.start(discoverServiceProvider, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `discover-ok-${Date.now()}`,
      args: [{ tenant: 'chain' }],
    });
    const result = await handle.result();
    assert.equal(result.httpStatus, 200);
    assert.equal(result.etag, 'W/"spc-1"');
    assert.deepEqual(result.serviceProviderConfig, SPC);
    assert.match(result.payloadSha256 ?? '', /^[0-9a-f]{64}$/);

    const report = await handle.query(reportQuery);
    assert.equal(report.status, 'succeeded');
    assert.equal(report.tenant, 'chain');
    assert.equal(report.steps.length, 1);
    assert.equal(report.steps[0].httpStatus, 200);
    assert.equal(report.steps[0].etagAfter, 'W/"spc-1"');
    assert.deepEqual(report.totals.attempted, 1);
    assert.deepEqual(report.totals.successRate, 1);

    const description = await handle.describe();
    const attributes = description.typedSearchAttributes;
    assert.equal(attributes.get({ name: 'ScimTenant', type: 'KEYWORD' } as never), 'chain');
    assert.equal(attributes.get({ name: 'ScimOperation', type: 'KEYWORD' } as never), 'discoverServiceProvider');
    assert.equal(attributes.get({ name: 'ScimOutcome', type: 'KEYWORD' } as never), 'succeeded');
  });

  it('waits as long as Retry-After says after a 429, then succeeds', async () => {
    script = [{ status: 429, headers: { 'retry-after': '2' } }];
    spcRequestTimes.length = 0;
    const result = await temporal.testEnv.client.workflow.execute(discoverServiceProvider, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `discover-429-${Date.now()}`,
      args: [{ tenant: 'chain' }],
    });
    assert.equal(result.httpStatus, 200);
    assert.equal(spcRequestTimes.length, 2, 'one 429, then one success');
    const waited = spcRequestTimes[1] - spcRequestTimes[0];
    assert.ok(waited >= 1900, `retried after ${waited} ms, Retry-After said 2 s`);
    assert.ok(waited < 4000, `retried after ${waited} ms, far beyond Retry-After`);
  });

  it('fails without retrying on 403, and the history holds neither secret nor token', async () => {
    script = [{ status: 403 }];
    spcRequestTimes.length = 0;
    const handle = await temporal.testEnv.client.workflow.start(discoverServiceProvider, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `discover-403-${Date.now()}`,
      args: [{ tenant: 'chain' }],
    });
    await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError);
    assert.equal(spcRequestTimes.length, 1, '403 is not retried');
    const report = await handle.query(reportQuery);
    assert.equal(report.status, 'failed');
    assert.equal(report.steps[0].httpStatus, 403);
    const history = await historyText(handle);
    assert.ok(history.includes('discoverServiceProviderConfig'), 'history is readable text');
    assert.ok(!history.includes(SECRET), 'client secret in history');
    assert.ok(!history.includes(TOKEN), 'access token in history');
    assert.ok(tokenRequests >= 1);
  });
});
