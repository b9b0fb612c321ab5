import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const composeFile = path.resolve(__dirname, '../../temporal-compose.yml');

function composeAvailable(): boolean {
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('temporal-compose.yml', () => {
  it('is valid for `docker compose config` and wires the worker and receiver to Temporal', { skip: !composeAvailable() && 'docker compose is not installed' }, async () => {
    const { stdout } = await run('docker', ['compose', '-f', composeFile, 'config', '--format', 'json'], {
      env: { ...process.env, CXONE_CLIENT_SECRET: 'not-a-real-secret' },
    });
    const config = JSON.parse(stdout) as { services: Record<string, { environment?: Record<string, string>; command?: string[] }> };
    for (const name of ['postgresql', 'temporal', 'temporal-search-attributes', 'temporal-ui', 'worker', 'webhook-receiver']) {
      assert.ok(config.services[name], `service ${name}`);
    }
    for (const name of ['worker', 'webhook-receiver']) {
      const env = config.services[name].environment ?? {};
      assert.equal(env.TEMPORAL_ADDRESS, 'temporal:7233');
      assert.equal(env.TEMPORAL_TASK_QUEUE, 'cxone-scim');
      assert.equal(env.CXONE_CLIENT_SECRET, 'not-a-real-secret', 'secrets come from the environment');
    }
    assert.deepEqual(config.services.worker.command, ['worker']);
    assert.match(JSON.stringify(config.services['temporal-search-attributes'].command), /ScimTenant ScimOperation ScimOutcome/);
  });
});
