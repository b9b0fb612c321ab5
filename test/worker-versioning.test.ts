import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeVersioningBehavior } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { sandboxTenant } from '../src/cli/dev';
import { TenantRegistry } from '../src/config/tenants';
import { deploymentSettingsFromEnv, temporalSettingsFromEnv, type TemporalSettings } from '../src/temporal/connection';
import type { TemporalEnvironment } from '../src/temporal/server';
import { createProjectWorker } from '../src/worker';
import { provisionUsers, userLifecycle } from '../src/workflows';
import { userLifecycleWorkflowId } from '../src/workflows/user-lifecycle/workflow';
import { startTestTemporal, workflowBundle } from './helpers/temporal';

// Worker Versioning: TEMPORAL_DEPLOYMENT_NAME + TEMPORAL_BUILD_ID make the worker a version of a
// worker deployment, and the runs it takes are pinned to that build (real dev server).

describe('Worker Versioning settings', () => {
  it('takes both variables or neither, PINNED by default', () => {
    assert.equal(deploymentSettingsFromEnv({}), undefined);
    assert.deepEqual(deploymentSettingsFromEnv({ TEMPORAL_DEPLOYMENT_NAME: 'cxone-scim', TEMPORAL_BUILD_ID: 'b1' }), {
      name: 'cxone-scim',
      buildId: 'b1',
      defaultBehavior: 'PINNED',
    });
    assert.equal(
      deploymentSettingsFromEnv({
        TEMPORAL_DEPLOYMENT_NAME: 'd',
        TEMPORAL_BUILD_ID: 'b',
        TEMPORAL_VERSIONING_BEHAVIOR: 'auto_upgrade',
      })?.defaultBehavior,
      'AUTO_UPGRADE',
    );
    assert.throws(
      () => deploymentSettingsFromEnv({ TEMPORAL_BUILD_ID: 'b1' }),
      /both TEMPORAL_DEPLOYMENT_NAME and TEMPORAL_BUILD_ID/,
    );
    assert.throws(
      () =>
        deploymentSettingsFromEnv({
          TEMPORAL_DEPLOYMENT_NAME: 'd',
          TEMPORAL_BUILD_ID: 'b',
          TEMPORAL_VERSIONING_BEHAVIOR: 'sometimes',
        }),
      /"sometimes": use PINNED or AUTO_UPGRADE/,
    );
    assert.equal(
      temporalSettingsFromEnv({ TEMPORAL_DEPLOYMENT_NAME: 'd', TEMPORAL_BUILD_ID: 'b' }).deployment?.buildId,
      'b',
    );
  });
});

describe('a versioned worker (real Temporal dev server, CXone sandbox)', () => {
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  let worker: Worker;
  let running: Promise<void>;
  const deploymentName = `cxone-scim-${randomUUID().slice(0, 8)}`;
  let settings: TemporalSettings;

  before(async () => {
    sandbox = await startSandbox({ port: 0 });
    temporal = await startTestTemporal();
    settings = {
      address: temporal.address,
      namespace: temporal.namespace,
      taskQueue: `test-${randomUUID()}`,
      deployment: { name: deploymentName, buildId: 'build-1', defaultBehavior: 'PINNED' },
    };
    worker = await createProjectWorker({
      settings,
      tenants: new TenantRegistry([sandboxTenant(sandbox)]),
      connection: temporal.testEnv.nativeConnection,
      workflowBundle: await workflowBundle(),
    });
    running = worker.run();
  });

  after(async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
    await temporal?.stop();
    await sandbox?.close();
  });

  it('registers its build, and a run started once it is current is pinned to that build', async () => {
    const service = temporal.testEnv.client.workflowService;
    // The version exists once the worker has polled: retry until the server knows it (bounded).
    for (let attempt = 1; ; attempt++) {
      try {
        await service.setWorkerDeploymentCurrentVersion({
          namespace: temporal.namespace,
          deploymentName,
          buildId: 'build-1',
          identity: 'test',
        });
        break;
      } catch (err) {
        if (attempt >= 50) throw err;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const described = await service.describeWorkerDeployment({ namespace: temporal.namespace, deploymentName });
    assert.equal(described.workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId, 'build-1');

    const userName = `versioned.${randomUUID().slice(0, 8)}@example.com`;
    const handle = await temporal.testEnv.client.workflow.start(provisionUsers, {
      taskQueue: settings.taskQueue,
      workflowId: `versioned-${randomUUID()}`,
      args: [
        {
          tenant: 'sandbox',
          users: [{ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, active: true }],
        },
      ],
    });
    const result = await handle.result();
    assert.equal(result.totals.created, 1);
    const info = (await handle.describe()).raw.workflowExecutionInfo?.versioningInfo;
    assert.equal(decodeVersioningBehavior(info?.behavior), 'PINNED');
    assert.deepEqual(
      { name: info?.deploymentVersion?.deploymentName, buildId: info?.deploymentVersion?.buildId },
      { name: deploymentName, buildId: 'build-1' },
    );
  });

  it('userLifecycle, whose runs never end, auto-upgrades instead of staying pinned', async () => {
    const userId = randomUUID();
    const handle = await temporal.testEnv.client.workflow.start(userLifecycle, {
      taskQueue: settings.taskQueue,
      workflowId: userLifecycleWorkflowId('sandbox', userId),
      args: [{ tenant: 'sandbox', userId }],
    });
    try {
      // The behaviour is recorded with the first completed workflow task (bounded wait).
      let behavior: string | undefined;
      for (let attempt = 1; attempt <= 100 && behavior === undefined; attempt++) {
        behavior = decodeVersioningBehavior(
          (await handle.describe()).raw.workflowExecutionInfo?.versioningInfo?.behavior,
        );
        if (behavior === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(behavior, 'AUTO_UPGRADE');
    } finally {
      await handle.terminate('test done');
    }
  });
});
