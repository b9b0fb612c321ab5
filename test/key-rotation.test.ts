import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { sandboxTenant } from '../src/cli/dev';
import { TenantRegistry, type TenantConfig } from '../src/config/tenants';
import { startCodecServer, type RunningCodecServer } from '../src/temporal/codec-server';
import { dataConverter, payloadKeysFromEnv, type TemporalSettings } from '../src/temporal/connection';
import { AesGcmPayloadCodec, payloadKeyId } from '../src/temporal/encryption-codec';
import { resolveTemporalServer, type TemporalEnvironment } from '../src/temporal/server';
import { createProjectWorker } from '../src/worker';
import { approveDeletionsUpdate, syncProgressQuery, syncUsers } from '../src/workflows';
import { startTestTemporal, workflowBundle } from './helpers/temporal';
import { scimUser as user } from './helpers/users';

// Rotating CXONE_SCIM_PAYLOAD_KEY while a sync waits for approval: the run was started and
// planned under key K1 by worker A; worker B has K2 as its current key and K1 as an old one, and
// it finishes the run. Every payload of the history is then read through the codec server (the
// real CLI process), which needs both keys.

const run = promisify(execFile);
const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const TOKEN = `rotation-token-${randomUUID()}`;
const SECRET = 'rotation-secret';
const CLI_MAIN = path.resolve(__dirname, '..', 'src', 'cli', 'main.js');

function temporalCli(): string | undefined {
  const source = resolveTemporalServer({ ...process.env, TEMPORAL_ADDRESS: '' });
  return source.kind === 'executable' ? source.path : undefined;
}

interface RawPayload {
  metadata: Record<string, string>;
  data?: string;
}

/** Every payload of a history in protobuf JSON (`temporal workflow show -o json`). */
function payloadsOf(history: unknown): RawPayload[] {
  const found: RawPayload[] = [];
  const visit = (node: unknown, key?: string): void => {
    if (Array.isArray(node)) {
      if (key === 'payloads') found.push(...(node as RawPayload[]));
      else node.forEach((item) => visit(item));
    } else if (node && typeof node === 'object') {
      // A patched() marker is written by the SDK's core, not through the data converter: it holds the patch id only.
      if (key === 'markerRecordedEventAttributes' && (node as { markerName?: string }).markerName === 'core_patch') {
        const ids = payloadsOfMarker(node).map((p) => JSON.parse(text(p.data)).id);
        assert.deepEqual(ids, ['sync-dated-plans'], 'a patch marker holds a patch id, nothing else');
        return;
      }
      for (const [k, v] of Object.entries(node)) visit(v, k);
    }
  };
  visit(history);
  return found;
}
const text = (base64: string | undefined) => Buffer.from(base64 ?? '', 'base64').toString();
const payloadsOfMarker = (marker: object): RawPayload[] =>
  Object.values((marker as { details?: Record<string, { payloads?: RawPayload[] }> }).details ?? {}).flatMap(
    (d) => d.payloads ?? [],
  );

/** `cxone-scim codec-server` as its own process; resolves once it listens, with its output so far. */
async function startCodecCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; output: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI_MAIN, 'codec-server', ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/listening on/.test(output)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`codec-server exited with ${code}: ${output}`)));
  });
  return { child, output: () => output, exited };
}

describe('payload key rotation', {
  skip: !temporalCli() && 'the Temporal CLI is not installed (npm run setup)',
}, () => {
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  let tenant: TenantConfig;
  let handle: WorkflowHandle<typeof syncUsers>;
  const taskQueue = `rotation-${randomUUID()}`;
  const workflowId = `rotation-sync-${randomUUID()}`;
  const cli = temporalCli() ?? 'temporal';
  const stops: Array<() => Promise<void>> = [];

  /** A project worker on the shared task queue with these keys; stopped in `after` if the test does not. */
  async function startWorker(keys: Pick<TemporalSettings, 'payloadKey' | 'payloadKeysOld'>) {
    const settings: TemporalSettings = { address: temporal.address, namespace: temporal.namespace, taskQueue, ...keys };
    const worker = await createProjectWorker({
      settings,
      tenants: new TenantRegistry([tenant]),
      connection: temporal.testEnv.nativeConnection,
      workflowBundle: await workflowBundle(),
    });
    const running = worker.run();
    const stop = async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    };
    stops.push(stop);
    return stop;
  }
  const clientWith = (keys: Pick<TemporalSettings, 'payloadKey' | 'payloadKeysOld'>) =>
    new Client({
      connection: temporal.testEnv.connection,
      namespace: temporal.namespace,
      dataConverter: dataConverter(keys),
    });

  function show(codecEndpoint?: string, auth?: string) {
    const args = ['workflow', 'show', '--workflow-id', workflowId, '--address', temporal.address];
    args.push('--namespace', temporal.namespace, '-o', 'json');
    if (codecEndpoint) args.push('--codec-endpoint', codecEndpoint);
    if (auth) args.push('--codec-auth', auth);
    return run(cli, args, { maxBuffer: 16 * 1024 * 1024 });
  }

  before(async () => {
    temporal = await startTestTemporal();
    sandbox = await startSandbox({ port: 0, clientSecret: SECRET });
    for (const name of ['keep', 'leaver1', 'leaver2', 'leaver3']) sandbox.adminCreateUser(user(`${name}@corp.example`));
    tenant = { ...sandboxTenant(sandbox), tenantId: 'rotation' };
  });

  after(async () => {
    for (const stop of stops) await stop();
    await sandbox?.close();
    await temporal?.stop();
  });

  it('finishes a run started under the old key on a worker whose current key is the new one', async () => {
    const stopA = await startWorker({ payloadKey: K1 });
    handle = await clientWith({ payloadKey: K1 }).workflow.start(syncUsers, {
      taskQueue,
      workflowId,
      args: [
        {
          tenant: 'rotation',
          users: [user('keep@corp.example'), user('joiner@corp.example')],
          orphans: 'leavers',
          deletionThreshold: { maxCount: 2 },
        },
      ],
    });
    let progress = await handle.query(syncProgressQuery);
    for (let i = 0; i < 300 && progress.phase !== 'awaitingApproval'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      progress = await handle.query(syncProgressQuery);
    }
    assert.equal(progress.phase, 'awaitingApproval');
    const planHash = progress.awaitingApproval?.planHash as string;
    await stopA();

    // The rotation: K2 encrypts from now on, K1 still decrypts what it wrote.
    await startWorker(payloadKeysFromEnv({ CXONE_SCIM_PAYLOAD_KEY: K2, CXONE_SCIM_PAYLOAD_KEYS_OLD: ` ${K1} ,` }));
    const rotated = clientWith({ payloadKey: K2, payloadKeysOld: [K1] }).workflow.getHandle<typeof syncUsers>(
      workflowId,
    );
    const decision = await rotated.executeUpdate(approveDeletionsUpdate, {
      args: [{ planHash, approvedBy: 'rotation.admin' }],
    });
    assert.equal(decision.decision, 'approved');
    const result = await rotated.result();
    assert.equal(result.outcome, 'succeeded');
    assert.equal(result.applied.deactivate, 3);
    assert.equal(result.applied.create, 1);
    for (const name of ['leaver1', 'leaver2', 'leaver3']) {
      const found = sandbox.listUsers().find((u) => u.userName === `${name}@corp.example`);
      assert.equal(found?.active, false, `${name} deactivated`);
    }
    // Without the old key, the input written under K1 cannot be read.
    const history = await temporal.testEnv.client.workflow.getHandle(workflowId).fetchHistory();
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    assert.equal(input.length, 1);
    await assert.rejects(
      AesGcmPayloadCodec.fromBase64(K2).decode(input),
      /encrypted with key id .*add the key it was written with to CXONE_SCIM_PAYLOAD_KEYS_OLD/,
    );
  });

  it('reads the whole history, written under both keys, through the codec server with the token', async () => {
    const raw = payloadsOf(JSON.parse((await show()).stdout));
    const keyIds = new Set(
      raw
        .filter((p) => text(p.metadata.encoding) === 'binary/encrypted')
        .map((p) => text(p.metadata['encryption-key-id'])),
    );
    assert.deepEqual(
      [...keyIds].sort(),
      [payloadKeyId(Buffer.from(K1, 'base64')), payloadKeyId(Buffer.from(K2, 'base64'))].sort(),
      'the history holds payloads of both keys',
    );
    assert.ok(
      raw.every((p) => text(p.metadata.encoding) === 'binary/encrypted'),
      'every payload is ciphertext at rest',
    );

    // With the new key alone, the payloads written before the rotation cannot be read.
    const newOnly: RunningCodecServer = await startCodecServer({ codec: AesGcmPayloadCodec.fromBase64(K2) });
    try {
      const answer = await fetch(`${newOnly.url}/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ payloads: raw }),
      });
      assert.equal(answer.status, 422);
      assert.match(((await answer.json()) as { detail: string }).detail, /encrypted with key id/);
    } finally {
      await newOnly.close();
    }

    const server = await startCodecCli(['--port', '0'], {
      CXONE_SCIM_PAYLOAD_KEY: K2,
      CXONE_SCIM_PAYLOAD_KEYS_OLD: K1,
      CXONE_SCIM_CODEC_TOKEN: TOKEN,
    });
    try {
      const url = /listening on (http:\/\/\S+)/.exec(server.output())?.[1] as string;
      assert.ok(url, server.output());
      await assert.rejects(show(url), /Command failed/, 'no token: refused');
      const decoded = payloadsOf(JSON.parse((await show(url, `Bearer ${TOKEN}`)).stdout));
      assert.equal(decoded.length, raw.length);
      assert.ok(
        decoded.every((p) => text(p.metadata.encoding) === 'json/plain'),
        'every payload, from either key, was decoded',
      );
      assert.ok(
        decoded.some((p) => text(p.data).includes('rotation.admin')),
        'the approval (under K2) reads',
      );
      assert.ok(
        decoded.some((p) => text(p.data).includes('joiner@corp.example')),
        'the input (under K1) reads',
      );
      const output = server.output();
      assert.match(output, new RegExp(`key id ${payloadKeyId(Buffer.from(K2, 'base64'))}`));
      assert.match(output, new RegExp(`old key ids \\(decode only\\) ${payloadKeyId(Buffer.from(K1, 'base64'))}`));
      for (const secret of [K1, K2, TOKEN]) assert.ok(!output.includes(secret), 'no key or token in the output');
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('will not listen beyond loopback without a token, and says why', async () => {
    const refused = spawn(process.execPath, [CLI_MAIN, 'codec-server', '--host', '0.0.0.0', '--port', '0'], {
      env: { PATH: process.env.PATH, CXONE_SCIM_PAYLOAD_KEY: K2 },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    refused.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    refused.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => refused.once('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(output, /will not listen on 0\.0\.0\.0 without a bearer token/);
    assert.doesNotMatch(output, /listening on/);
    assert.ok(!output.includes(K2));

    await assert.rejects(
      startCodecServer({ codec: AesGcmPayloadCodec.fromBase64(K2), host: '0.0.0.0' }),
      /CXONE_SCIM_CODEC_TOKEN/,
    );
    const guarded = await startCodecServer({
      codec: AesGcmPayloadCodec.fromBase64(K2),
      host: '0.0.0.0',
      bearerToken: TOKEN,
    });
    try {
      const port = new URL(guarded.url).port;
      const post = (headers: Record<string, string>) =>
        fetch(`http://127.0.0.1:${port}/decode`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: '{"payloads":[]}',
        });
      assert.equal((await post({})).status, 401);
      assert.equal((await post({ authorization: `Bearer ${TOKEN}` })).status, 200);
    } finally {
      await guarded.close();
    }
  });

  it('refuses malformed keys by name, never echoing them', () => {
    assert.throws(
      () => payloadKeysFromEnv({ CXONE_SCIM_PAYLOAD_KEYS_OLD: K1 }),
      /CXONE_SCIM_PAYLOAD_KEYS_OLD is set but CXONE_SCIM_PAYLOAD_KEY is not/,
    );
    const short = randomBytes(16).toString('base64');
    assert.throws(
      () =>
        dataConverter(
          payloadKeysFromEnv({ CXONE_SCIM_PAYLOAD_KEY: K2, CXONE_SCIM_PAYLOAD_KEYS_OLD: `${K1},${short}` }),
        ),
      (err: Error) =>
        /CXONE_SCIM_PAYLOAD_KEYS_OLD key 2 must be base64 of 32 bytes/.test(err.message) &&
        !err.message.includes(short),
    );
    assert.throws(
      () => AesGcmPayloadCodec.fromBase64('not base64 at all!!'),
      /CXONE_SCIM_PAYLOAD_KEY must be base64 of 32 bytes/,
    );
  });
});
