import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

// temporal-compose.yml through a real Compose loader: `.tools/compose-check` (compose-go, the
// library `docker compose` is built on; `npm run setup` builds it when Go is installed), else
// `docker compose config`. Then the one-shot search-attribute job's shell script, run against a
// stand-in `temporal` that records its arguments.

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const composeFile = path.join(root, 'temporal-compose.yml');
const composeCheck = path.join(root, '.tools', 'compose-check', 'compose-check');

interface ComposeService {
  environment?: Record<string, string | null>;
  command?: string[];
  profiles?: string[];
  ports?: Array<{ host_ip?: string; target: number; published?: string }>;
  deploy?: { replicas?: number };
  image?: string;
}
type ComposeConfig = { services: Record<string, ComposeService> };
type Loader = (file: string, profiles: string[], env: NodeJS.ProcessEnv) => Promise<{ stdout: string; stderr: string }>;

function dockerComposeInstalled(): boolean {
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function findLoader(): { loader: Loader; name: string } | { reason: string } {
  if (fs.existsSync(composeCheck)) {
    return {
      name: 'compose-check',
      loader: (file, profiles, env) =>
        run(composeCheck, [...profiles.flatMap((p) => ['--profile', p]), '--json', file], { env }),
    };
  }
  if (dockerComposeInstalled()) {
    return {
      name: 'docker compose',
      loader: (file, profiles, env) =>
        run(
          'docker',
          ['compose', '-f', file, ...profiles.flatMap((p) => ['--profile', p]), 'config', '--format', 'json'],
          { env },
        ),
    };
  }
  return {
    reason: 'neither .tools/compose-check (`npm run setup` with Go installed) nor `docker compose` is available',
  };
}

const found = findLoader();
// CI must validate for real: there a missing loader fails the test instead of skipping it.
const skip = 'reason' in found && !process.env.CI ? found.reason : false;

/** The environment of `docker compose`: none of the developer's own settings, dummy secrets. */
function composeEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TEMPORAL_|CXONE_|COMPOSE_)/.test(k)));
  return {
    ...env,
    CXONE_BASE_URL: 'https://cxone.example.test',
    CXONE_CLIENT_ID: 'dummy-client',
    CXONE_CLIENT_SECRET: 'dummy-client-secret',
    CXONE_WEBHOOK_SECRET: 'dummy-webhook-secret',
    CXONE_SCIM_PAYLOAD_KEY: 'ZHVtbXktcGF5bG9hZC1rZXktMzItYnl0ZXMtbG9uZyEh',
    ...extra,
  };
}

async function load(file: string, profiles: string[] = [], extra: Record<string, string> = {}): Promise<ComposeConfig> {
  if ('reason' in found) throw new Error(found.reason);
  const { stdout } = await found.loader(file, profiles, composeEnv(extra));
  return JSON.parse(stdout) as ComposeConfig;
}

async function rejection(file: string): Promise<string> {
  if ('reason' in found) throw new Error(found.reason);
  try {
    await found.loader(file, [], composeEnv());
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
  assert.fail(`${found.name} accepted the broken file ${file}`);
}

describe(`temporal-compose.yml (${'name' in found ? found.name : 'no loader'})`, { skip }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-test-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('loads, and wires the worker, receiver and codec server from the environment', async () => {
    const config = await load(composeFile, ['encryption'], {
      TEMPORAL_CODEC_ENDPOINT: 'http://localhost:8081',
      CXONE_SCIM_CODEC_TOKEN: 'dummy-token',
    });
    for (const name of [
      'postgresql',
      'temporal',
      'temporal-search-attributes',
      'temporal-ui',
      'worker',
      'webhook-receiver',
      'codec-server',
    ]) {
      assert.ok(config.services[name], `service ${name}`);
    }
    for (const name of ['worker', 'webhook-receiver']) {
      const env = config.services[name].environment ?? {};
      assert.equal(env.TEMPORAL_ADDRESS, 'temporal:7233');
      assert.equal(env.TEMPORAL_TASK_QUEUE, 'cxone-scim');
      assert.equal(env.CXONE_CLIENT_SECRET, 'dummy-client-secret', 'secrets come from the environment');
      assert.equal(env.CXONE_SCIM_PAYLOAD_KEY, composeEnv().CXONE_SCIM_PAYLOAD_KEY);
    }
    assert.deepEqual(config.services.worker.command, ['worker']);

    const codec = config.services['codec-server'];
    assert.deepEqual(codec.command?.slice(0, 1), ['codec-server']);
    // The codec server gets the payload key and its token, and none of the CXone secrets.
    assert.deepEqual(codec.environment, {
      CXONE_SCIM_PAYLOAD_KEY: composeEnv().CXONE_SCIM_PAYLOAD_KEY,
      CXONE_SCIM_PAYLOAD_KEYS_OLD: '',
      CXONE_SCIM_CODEC_TOKEN: 'dummy-token',
    });
    assert.deepEqual(
      codec.ports?.map((p) => [p.host_ip, p.published, p.target]),
      [['127.0.0.1', '8081', 8081]],
      'loopback only',
    );
    assert.equal(config.services['temporal-ui'].environment?.TEMPORAL_CODEC_ENDPOINT, 'http://localhost:8081');
  });

  it('runs several worker replicas that read s3:// sources from the object store, with Worker Versioning from the environment', async () => {
    const config = await load(composeFile, [], {
      AWS_ACCESS_KEY_ID: 'dummy-s3-key',
      AWS_SECRET_ACCESS_KEY: 'dummy-s3-secret',
      TEMPORAL_DEPLOYMENT_NAME: 'cxone-scim',
      TEMPORAL_BUILD_ID: 'b42',
    });
    const worker = config.services.worker;
    assert.equal(worker.deploy?.replicas, 3);
    // No fixed host port: replicas would fight over it.
    assert.deepEqual(
      worker.ports?.map((p) => [p.published ?? '', p.target]),
      [['', 9464]],
    );
    const env = worker.environment ?? {};
    assert.equal(env.CXONE_SCIM_S3_ENDPOINT, 'http://object-store:7070');
    assert.equal(env.CXONE_SCIM_S3_FORCE_PATH_STYLE, 'true');
    assert.equal(env.AWS_SECRET_ACCESS_KEY, 'dummy-s3-secret');
    // Chunks and sync plans go where every replica reads them, never into one replica's data dir.
    assert.equal(env.CXONE_SCIM_CLAIM_STORE, 's3://cxone-scim-claims');
    assert.equal(
      (await load(composeFile, [], { CXONE_SCIM_CLAIM_STORE: 's3://acme-claims/cxone' })).services.worker.environment
        ?.CXONE_SCIM_CLAIM_STORE,
      's3://acme-claims/cxone',
    );
    assert.deepEqual(
      [env.TEMPORAL_DEPLOYMENT_NAME, env.TEMPORAL_BUILD_ID, env.TEMPORAL_VERSIONING_BEHAVIOR],
      ['cxone-scim', 'b42', 'PINNED'],
    );
    const store = config.services['object-store'];
    assert.match(store.image ?? '', /^versity\/versitygw:v\d+\.\d+\.\d+$/, 'a pinned image');
    assert.deepEqual(store.environment, {
      ROOT_ACCESS_KEY_ID: 'dummy-s3-key',
      ROOT_SECRET_ACCESS_KEY: 'dummy-s3-secret',
    });
    assert.deepEqual(
      store.ports?.map((p) => [p.host_ip, p.published, p.target]),
      [['127.0.0.1', '7070', 7070]],
      'loopback only',
    );
    // An empty endpoint means AWS S3 itself.
    const aws = await load(composeFile, [], { CXONE_SCIM_S3_ENDPOINT: '' });
    assert.equal(aws.services.worker.environment?.CXONE_SCIM_S3_ENDPOINT, '');
  });

  it('starts the codec server only with the "encryption" profile', async () => {
    const config = await load(composeFile);
    assert.equal(config.services['codec-server'], undefined);
    assert.ok(config.services.worker);
  });

  it('rejects a broken copy: an unknown key, a dependency on a service that does not exist', async () => {
    const text = fs.readFileSync(composeFile, 'utf8');
    const misspelled = path.join(tmp, 'misspelled.yml');
    fs.writeFileSync(misspelled, text.replace('    restart: unless-stopped', '    restrat: unless-stopped'));
    assert.match(await rejection(misspelled), /restrat/);

    const dangling = path.join(tmp, 'dangling.yml');
    const broken = text.replace(
      '      temporal-search-attributes:\n        condition',
      '      temporal-search-attribute:\n        condition',
    );
    assert.notEqual(broken, text);
    fs.writeFileSync(dangling, broken);
    assert.match(await rejection(dangling), /temporal-search-attribute\b/);
  });

  describe('the search-attribute job', () => {
    /** Runs the job's resolved script with a stand-in `temporal` on PATH; returns its calls and exit code. */
    async function runJob(stub: { createExit: number; listed: string }): Promise<{ calls: string[]; code: number }> {
      const service = (await load(composeFile, [], { TEMPORAL_NAMESPACE: 'scim-prod' })).services[
        'temporal-search-attributes'
      ];
      const script = service.command?.[0] ?? '';
      const bin = fs.mkdtempSync(path.join(tmp, 'bin-'));
      const log = path.join(bin, 'calls.log');
      fs.writeFileSync(
        path.join(bin, 'temporal'),
        `#!/bin/sh\necho "$*" >> "${log}"\ncase "$3" in create) exit ${stub.createExit};; list) printf '%s\\n' ${stub.listed};; esac\n`,
        { mode: 0o755 },
      );
      const env = { PATH: `${bin}:/usr/bin:/bin`, ...(service.environment as Record<string, string>) };
      let code = 0;
      try {
        await run('/bin/sh', ['-c', script], { env });
      } catch (err) {
        code = (err as { code?: number }).code ?? -1;
      }
      const calls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
      return { calls, code };
    }

    it('creates the three Keyword attributes in the configured namespace', async () => {
      const { calls, code } = await runJob({ createExit: 0, listed: '' });
      assert.equal(code, 0);
      assert.deepEqual(
        calls,
        ['ScimTenant', 'ScimOperation', 'ScimOutcome'].map(
          (name) =>
            `operator search-attribute create --address temporal:7233 --namespace scim-prod --name ${name} --type Keyword`,
        ),
      );
    });

    it('succeeds on a re-run (attributes exist) and fails when an attribute could not be created', async () => {
      const rerun = await runJob({ createExit: 1, listed: 'ScimTenant ScimOperation ScimOutcome' });
      assert.equal(rerun.code, 0);
      assert.equal(rerun.calls.filter((c) => c.includes(' list ')).length, 3);
      const broken = await runJob({ createExit: 1, listed: 'ScimTenant' });
      assert.notEqual(broken.code, 0, 'the worker must not start without its search attributes');
    });
  });
});
