import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { TenantRegistry } from '../src/config/tenants';
import { SCIM_SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes';
import { startTimeSkippingTemporal } from '../src/temporal/server';
import { createProjectWorker } from '../src/worker';
import { discoverServiceProvider } from '../src/workflows';
import { scriptedTenant, sendJson, startScriptedServer } from './helpers/http';
import { workflowBundle } from './helpers/temporal';

// Waits that would make a test slow run on the time-skipping test server: here a provider that
// asks for an hour's pause (429, Retry-After: 3600) before it answers.
describe('long Retry-After on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let provider: Awaited<ReturnType<typeof startScriptedServer>>;
  const spcTimes: number[] = [];

  before(async () => {
    provider = await startScriptedServer((req, _body, res) => {
      if (req.url === '/oauth/token')
        return sendJson(
          res,
          200,
          { access_token: 'ts-token', token_type: 'Bearer', expires_in: 86400 },
          { 'content-type': 'application/json' },
        );
      spcTimes.push(Date.now());
      if (spcTimes.length === 1)
        return sendJson(res, 429, { status: '429', detail: 'slow down' }, { 'retry-after': '3600' });
      sendJson(res, 200, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'] });
    });
    env = await startTimeSkippingTemporal();
    // Unlike the dev server, the test server starts without the project's search attributes.
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(
        SCIM_SEARCH_ATTRIBUTES.map((key) => [
          key.name,
          temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        ]),
      ),
    });
  });

  after(async () => {
    await env?.teardown();
    await provider?.close();
  });

  it('honours an hour of Retry-After in virtual time', async () => {
    const tenant = scriptedTenant(provider.url, 'slow', 'time-skipping-secret');
    const taskQueue = `ts-${randomUUID()}`;
    const worker = await createProjectWorker({
      settings: { address: env.address, namespace: env.namespace ?? 'default', taskQueue },
      tenants: new TenantRegistry([tenant]),
      connection: env.nativeConnection,
      workflowBundle: await workflowBundle(),
    });
    const started = Date.now();
    const virtualStart = await env.currentTimeMs();
    const result = await worker.runUntil(
      env.client.workflow.execute(discoverServiceProvider, {
        taskQueue,
        workflowId: `ts-${randomUUID()}`,
        args: [{ tenant: 'slow' }],
      }),
    );
    assert.equal(result.httpStatus, 200);
    assert.equal(spcTimes.length, 2, 'one 429, then the retry');
    const virtualWait = (await env.currentTimeMs()) - virtualStart;
    assert.ok(virtualWait >= 3600_000, `the retry waited the hour Retry-After asked for (virtual ${virtualWait} ms)`);
    assert.ok(Date.now() - started < 60_000, 'the hour passed in virtual time, not real time');
  });
});
