// Every ```sh block of README.md and of every markdown file under docs/ runs, in order, against a
// real Temporal dev server, a worker, and two sandboxes (tenant `acme` = CXone, tenant `okta` = the
// IdP), so no example can go stale. The order: README.md, then the files in FIRST (their blocks
// start what later ones use), then every other file under docs/ alphabetically.
// `cxone-scim` is this checkout's CLI and `temporal` the pinned Temporal CLI, both on PATH; the
// blocks run with `bash -e -o pipefail` in a scratch directory that links `examples/`.
// Blocks that cannot run here are skipped only through SKIPPED below, each with its reason; an
// entry that matches no block fails the test, so the list cannot outlive the documents.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import type { TemporalEnvironment } from '../src/temporal/server';
import { startTestTemporal } from './helpers/temporal';

const ROOT = path.resolve(__dirname, '..', '..');

/** A distinctive piece of the block → why it is not run here. */
const SKIPPED: Record<string, string> = {
  'npm install && npm start': 'installs and runs the whole demo and test suite (this test is part of that suite)',
  'docker compose -f temporal-compose.yml up -d':
    'starts containers with Docker Compose; temporal-compose.yml itself is checked by test/compose.test.ts',
  '--profile encryption up -d':
    'starts containers with Docker Compose (encryption profile); checked by test/compose.test.ts',
  'cxone-scim tenants check': 'a template for real CXone credentials (the … placeholders override any environment)',
  'cxone-scim codec-server':
    'placeholders for the key and workflow id, and a second dev server (temporal server start-dev); the codec server is tested by test/codec-server.test.ts',
  'groupsFile":{"path":"/data/groups.csv"}':
    'a template: the groups file and the plan hash are placeholders; syncGroups runs in test/sync-groups.test.ts',
  'cxone-scim sync approve sync-acme-6f1c…':
    'the workflow id and plan hash come from a run waiting for approval; test/sync-cli.test.ts runs these commands',
  '--name approveDeletions \\\n  --input \'{"planHash":"3b9e…"':
    'the plan hash comes from a run waiting for approval; test/sync-users.test.ts sends these updates',
  'put-bucket-lifecycle-configuration':
    'the AWS CLI against a real claim-store bucket; the claim store itself is exercised by test/claim-store.test.ts and test/fleet.test.ts',
  'compose-check [--profile':
    'a usage synopsis ([optional] arguments), not a command; test/compose.test.ts runs the checker',
};

/** After README.md, before the rest of docs/: the workflow runs that docs/operations.md reports and audits. */
const FIRST = ['docs/workflows.md'];

function markdownFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(relative);
    return entry.name.endsWith('.md') ? [relative] : [];
  });
}

/** The documents whose blocks run, in the order they run. */
function documents(): string[] {
  const rest = markdownFiles('docs')
    .filter((file) => !FIRST.includes(file))
    .sort();
  return ['README.md', ...FIRST, ...rest];
}

function shellBlocks(file: string): Array<{ file: string; block: string }> {
  const markdown = fs.readFileSync(path.join(ROOT, file), 'utf8');
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => ({ file, block: m[1] }));
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('README and docs/ shell examples', () => {
  const files = documents();
  const blocks = files.flatMap(shellBlocks);
  let temporal: TemporalEnvironment;
  let cxone: Sandbox;
  let idp: Sandbox;
  let worker: ChildProcess | undefined;
  let workerLog = '';
  let scratch: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    [temporal, cxone, idp] = await Promise.all([
      startTestTemporal(),
      startSandbox({ port: 0, webhookSecret: 'acme-webhook-secret' }),
      startSandbox({ port: 0, tenantId: 'okta-tenant' }),
    ]);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-examples-'));
    fs.symlinkSync(path.join(ROOT, 'examples'), path.join(scratch, 'examples'));
    const bin = path.join(scratch, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(
      path.join(bin, 'cxone-scim'),
      `#!/bin/sh\nexec "${process.execPath}" "${path.join(ROOT, 'dist', 'src', 'cli', 'main.js')}" "$@"\n`,
      { mode: 0o755 },
    );
    const tenantsFile = path.join(scratch, 'tenants.json');
    const tenant = (id: string, sandbox: Sandbox, secretEnv: string) => ({
      id,
      baseUrl: sandbox.url,
      tokenUrl: sandbox.tokenUrl,
      clientId: sandbox.clientId,
      clientSecretEnv: secretEnv,
      scopes: sandbox.scopes,
    });
    fs.writeFileSync(
      tenantsFile,
      JSON.stringify({
        tenants: [
          { ...tenant('acme', cxone, 'ACME_CLIENT_SECRET'), webhookSecretEnv: 'ACME_WEBHOOK_SECRET' },
          tenant('okta', idp, 'OKTA_CLIENT_SECRET'),
        ],
      }),
    );
    const temporalBin = temporal.source.kind === 'executable' ? [path.dirname(temporal.source.path)] : [];
    env = {
      PATH: [bin, ...temporalBin, process.env.PATH].join(path.delimiter),
      HOME: scratch,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      CXONE_TENANTS_FILE: tenantsFile,
      ACME_CLIENT_SECRET: cxone.clientSecret,
      ACME_WEBHOOK_SECRET: cxone.webhookSecret,
      OKTA_CLIENT_SECRET: idp.clientSecret,
      CXONE_WEBHOOK_PORT: String(await freePort()),
    };
    // "Start a worker first": on the default task queue, in the scratch directory.
    worker = spawn('cxone-scim', ['worker'], { cwd: scratch, env, stdio: ['ignore', 'pipe', 'pipe'] });
    worker.stdout?.on('data', (chunk: Buffer) => (workerLog = (workerLog + chunk.toString()).slice(-5000)));
    worker.stderr?.on('data', (chunk: Buffer) => (workerLog = (workerLog + chunk.toString()).slice(-5000)));
  });

  after(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker!.once('exit', resolve));
    }
    await temporal?.stop();
    await Promise.all([cxone?.close(), idp?.close()]);
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('has an allowlist whose every entry names a block', () => {
    for (const key of Object.keys(SKIPPED))
      assert.ok(
        blocks.some(({ block }) => block.includes(key)),
        `SKIPPED entry ${JSON.stringify(key)} matches no block of ${files.join(', ')}`,
      );
    assert.ok(blocks.length >= 5, `found ${blocks.length} sh blocks`);
  });

  // One test per block, in document order: later blocks use what earlier ones started.
  blocks.forEach(({ file, block }, index) => {
    const title = `${file}: ${block.split('\n')[0]}`.slice(0, 100);
    const skip = Object.entries(SKIPPED).find(([key]) => block.includes(key))?.[1];
    it(`block ${index + 1}: ${title}`, { skip }, async () => {
      // Its own process group, so that what the block starts in the background ends with it.
      const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', block], {
        cwd: scratch,
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const timer = setTimeout(() => process.kill(-(child.pid as number), 'SIGTERM'), 120_000);
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      clearTimeout(timer);
      try {
        process.kill(-(child.pid as number), 'SIGTERM'); // background servers the block started
      } catch {
        // nothing left in the group
      }
      assert.equal(
        code,
        0,
        `block ${index + 1} (${file}) failed (exit ${code}):\n${block}\n--- output ---\n${output.slice(-4000)}\n--- worker ---\n${workerLog.slice(-2000)}`,
      );
    });
  });

  it('left the results the examples promise', async () => {
    const query = () =>
      spawnSync(
        'temporal',
        ['workflow', 'query', '--workflow-id', 'user-lifecycle:acme:2819c223', '--name', 'state', '--output', 'json'],
        { env, encoding: 'utf8' },
      );
    let state = query();
    for (let tries = 0; state.status === 0 && !/"applied":\s*1/.test(state.stdout) && tries < 100; tries++) {
      await new Promise((r) => setTimeout(r, 200));
      state = query();
    }
    assert.equal(state.status, 0, state.stderr);
    assert.match(state.stdout, /"applied":\s*1/);
    assert.ok(
      idp.listUsers().some((u) => u.externalId === '2819c223'),
      'the lifecycle example synced the user to the IdP tenant',
    );
    assert.ok(
      cxone.listUsers().some((u) => u.userName === 'bjensen@example.com'),
      'the provisioning example created the CSV users',
    );
    assert.ok(fs.existsSync(path.join(scratch, 'report.md')), 'the report example wrote report.md');
  });
});
