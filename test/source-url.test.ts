import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { resetSourceStore } from '../src/activities/sources/source-store';
import { loadFileSource } from '../src/activities/sources/user-source';
import { sandboxTenant } from '../src/cli/dev';
import { FailureType } from '../src/core/failures';
import type { TemporalEnvironment } from '../src/temporal/server';
import { provisionUsers, type ProvisionUsersInput } from '../src/workflows';
import { startScriptedServer, throughProxy } from './helpers/http';
import { freePort, startObjectStore, type ObjectStore } from './helpers/object-store';
import { startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';

// Sources by URL: an S3-compatible object store (versitygw, a real server on loopback) and an
// https-style server that wants an auth header, read by a real worker and the CXone sandbox.

const ROOT = path.join(__dirname, '..', '..');
const MAPPING = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'provision', 'mapping.json'), 'utf8'),
) as unknown;
const CSV_HEADER = 'employee_id,email,first_name,last_name,department,enabled,phone';
const BUCKET = 'hr-exports';

function csv(prefix: string, n: number): string {
  const rows = Array.from({ length: n }, (_, i) => {
    const id = String(i).padStart(4, '0');
    return `${prefix}${id},${prefix}.user${id}@example.com,Given${id},Family${id},Dept${i % 3},true,+1 555 ${id}`;
  });
  return [CSV_HEADER, ...rows].join('\n');
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The one failure a load ends with: its type and message. */
async function failureOf(
  load: Promise<unknown>,
): Promise<{ type: string | undefined; message: string; retryable: boolean }> {
  try {
    await load;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `an ApplicationFailure, not ${String(err)}`);
    return { type: err.type ?? undefined, message: err.message, retryable: !err.nonRetryable };
  }
  assert.fail('the load succeeded');
}

/** Runs `body` with some environment variables replaced, and a fresh S3 client that reads them. */
async function withEnv<T>(vars: Record<string, string | undefined>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    resetSourceStore();
  };
  apply(vars);
  try {
    return await body();
  } finally {
    apply(saved);
  }
}

describe('sources by URL (object store and https on loopback, real worker, CXone sandbox)', () => {
  let store: ObjectStore;
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  let worker: TestWorker;
  /** In front of the sandbox: runs `onFirstBulk` before forwarding the first POST /Bulk. */
  let proxy: { url: string; close(): Promise<void> };
  let onFirstBulk: (() => Promise<void>) | undefined;

  before(async () => {
    store = await startObjectStore();
    Object.assign(process.env, store.env, { AWS_MAX_ATTEMPTS: '2' });
    await store.createBucket(BUCKET);
    sandbox = await startSandbox({ port: 0 });
    proxy = await startScriptedServer(async (req: http.IncomingMessage, body: string, res: http.ServerResponse) => {
      if (req.method === 'POST' && req.url?.endsWith('/Bulk') && onFirstBulk) {
        const hook = onFirstBulk;
        onFirstBulk = undefined;
        await hook();
      }
      const response = await fetch(`${sandbox.url}${req.url}`, {
        method: req.method,
        headers: Object.fromEntries(
          Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length'),
        ) as Record<string, string>,
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
      });
      const text = await response.text();
      res
        .writeHead(response.status, { 'content-type': response.headers.get('content-type') ?? 'application/scim+json' })
        .end(text);
    });
    temporal = await startTestTemporal();
    worker = await startTestWorker(temporal, [
      sandboxTenant(sandbox),
      throughProxy(sandboxTenant(sandbox), 'proxied', proxy.url),
    ]);
  });

  after(async () => {
    resetSourceStore();
    await worker?.stop();
    await temporal?.stop();
    await proxy?.close();
    await sandbox?.close();
    await store?.stop();
  });

  const start = (input: ProvisionUsersInput, id: string) =>
    temporal.testEnv.client.workflow.start(provisionUsers, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `${id}-${Date.now()}`,
      args: [input],
    });

  it('provisions a CSV from s3://bucket/key: planned from one read (its SHA-256 recorded), each chunk from its claim in the same bucket', async () => {
    const text = csv('s3src', 45);
    await store.put(BUCKET, 'exports/users.csv', text);
    const handle = await start(
      {
        tenant: 'sandbox',
        source: { path: `s3://${BUCKET}/exports/users.csv`, mapping: MAPPING },
        maxOperationsPerRequest: 10,
        maxChunksInFlight: 2,
      },
      'source-s3',
    );
    const result = await handle.result();
    assert.equal(result.totals.total, 45);
    assert.equal(result.totals.created, 45);
    assert.equal(result.totals.failed, 0);
    assert.deepEqual(
      { path: result.source.path, sha256: result.source.sha256, records: result.source.records },
      { path: `s3://${BUCKET}/exports/users.csv`, sha256: sha256(text), records: 45 },
    );
    const names = sandbox
      .listUsers()
      .map((u) => String(u.userName))
      .filter((n) => n.startsWith('s3src.'));
    assert.equal(names.length, 45);
    assert.ok(names.includes('s3src.user0044@example.com'));
  });

  it('an object replaced during a run: every chunk still sends the version planned (from its claim), and the result names that version', async () => {
    const key = 'mid-run.csv';
    const planned = csv('mid', 30);
    await store.put(BUCKET, key, planned);
    // The object is replaced while the provider handles the first Bulk request; chunks run one at a time.
    onFirstBulk = () => store.put(BUCKET, key, csv('other', 30));
    const handle = await start(
      {
        tenant: 'proxied',
        source: { path: `s3://${BUCKET}/${key}`, mapping: MAPPING },
        maxOperationsPerRequest: 10,
        maxChunksInFlight: 1,
        chunksPerBatch: 1,
      },
      'source-changed',
    );
    const result = await handle.result();
    assert.equal(onFirstBulk, undefined, 'the object was replaced mid-run');
    assert.deepEqual([result.totals.created, result.totals.failed], [30, 0]);
    assert.equal(result.source.sha256, sha256(planned), 'the SHA-256 of the version planned');
    assert.match(result.source.version ?? '', /^(etag|version) /);
    const names = sandbox.listUsers().map((u) => String(u.userName));
    assert.equal(names.filter((n) => n.startsWith('mid.')).length, 30, 'every record of the version planned');
    assert.equal(names.filter((n) => n.startsWith('other.')).length, 0, 'no record of the new object');
  });

  it('a replaced object is read again and gets another SHA-256 and version', async () => {
    const url = `s3://${BUCKET}/changing.csv`;
    await store.put(BUCKET, 'changing.csv', csv('v1', 3));
    const first = await loadFileSource({ url, mapping: MAPPING });
    assert.equal(first.sha256, sha256(csv('v1', 3)));
    assert.match(first.version, /^(etag|version) /);

    await store.put(BUCKET, 'changing.csv', csv('v2', 4));
    const second = await loadFileSource({ url, mapping: MAPPING });
    assert.equal(second.sha256, sha256(csv('v2', 4)));
    assert.notEqual(second.sha256, first.sha256);
    assert.notEqual(second.version, first.version);
    assert.equal(second.records.length, 4);
    // `path` may carry the URL too (what a provisionUsers input has today).
    assert.equal((await loadFileSource({ path: url, mapping: MAPPING })).sha256, second.sha256);
  });

  it('a missing object or bucket: SourceNotFound naming the URL, and the run stops before anything is sent to the provider', async () => {
    const missing = await failureOf(loadFileSource({ url: `s3://${BUCKET}/no-such.csv` }));
    assert.equal(missing.type, FailureType.SourceNotFound);
    assert.match(missing.message, new RegExp(`s3://${BUCKET}/no-such\\.csv`));
    const noBucket = await failureOf(loadFileSource({ url: 's3://no-such-bucket/users.csv' }));
    assert.equal(noBucket.type, FailureType.SourceNotFound);
    assert.match(noBucket.message, /s3:\/\/no-such-bucket\/users\.csv/);

    const before = sandbox.listUsers().length;
    const handle = await start(
      { tenant: 'sandbox', source: { path: `s3://${BUCKET}/no-such.csv`, mapping: MAPPING } },
      'source-missing',
    );
    const err = await handle.result().then(
      () => assert.fail('the run succeeded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    const text = JSON.stringify(await handle.fetchHistory());
    assert.match(text, /SourceNotFound/);
    assert.match(text, /no-such\.csv/);
    assert.equal(sandbox.listUsers().length, before, 'no user was written');
  });

  it('denied credentials: SourceAccessDenied naming the URL, never the secret', async () => {
    await store.put(BUCKET, 'secret.csv', csv('d', 1));
    const wrongSecret = 'wrong-secret-0123456789abcdef';
    const denied = await withEnv({ AWS_SECRET_ACCESS_KEY: wrongSecret }, () =>
      failureOf(loadFileSource({ url: `s3://${BUCKET}/secret.csv` })),
    );
    assert.equal(denied.type, FailureType.SourceAccessDenied);
    assert.match(denied.message, new RegExp(`s3://${BUCKET}/secret\\.csv`));
    assert.doesNotMatch(denied.message, new RegExp(wrongSecret));
    const unknownKey = await withEnv({ AWS_ACCESS_KEY_ID: 'AKUNKNOWN0000000' }, () =>
      failureOf(loadFileSource({ url: `s3://${BUCKET}/secret.csv` })),
    );
    assert.equal(unknownKey.type, FailureType.SourceAccessDenied);
  });

  it('an unreachable endpoint: SourceUnreachable (retried as a network fault) naming the URL', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const failure = await withEnv({ CXONE_SCIM_S3_ENDPOINT: closed }, () =>
      failureOf(loadFileSource({ url: `s3://${BUCKET}/users.csv` })),
    );
    assert.equal(failure.type, FailureType.SourceUnreachable);
    assert.equal(failure.retryable, true);
    assert.match(failure.message, new RegExp(`s3://${BUCKET}/users\\.csv`));
  });

  it('an unknown scheme or a URL with credentials: InvalidSourceUrl naming the URL without them', async () => {
    const ftp = await failureOf(loadFileSource({ url: 'ftp://files.example.com/users.csv' }));
    assert.equal(ftp.type, FailureType.InvalidSourceUrl);
    assert.match(ftp.message, /ftp:\/\/files\.example\.com\/users\.csv/);
    assert.match(ftp.message, /unsupported scheme "ftp"/);
    const withPassword = await failureOf(
      loadFileSource({ url: 'https://hr:hunter2@files.example.com/users.csv?X-Amz-Signature=abc123' }),
    );
    assert.equal(withPassword.type, FailureType.InvalidSourceUrl);
    assert.match(withPassword.message, /https:\/\/files\.example\.com\/users\.csv\?…/);
    assert.doesNotMatch(withPassword.message, /hunter2|abc123/);
  });

  it('the CLI refuses a URL it cannot read before starting a run', async () => {
    const cli = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
    const err = await promisify(execFile)(process.execPath, [cli, 'provision', 'ftp://files.example.com/users.csv'], {
      env: { ...process.env, TEMPORAL_ADDRESS: temporal.address },
    }).then(
      () => assert.fail('the CLI succeeded'),
      (e: { code?: number; stderr?: string }) => e,
    );
    assert.notEqual(err.code, 0);
    assert.match(err.stderr ?? '', /ftp:\/\/files\.example\.com\/users\.csv.*unsupported scheme "ftp"/);
  });

  describe('https:// with an auth header from the environment', () => {
    let server: { url: string; close(): Promise<void> };
    const seen: Array<{ authorization?: string; ifNoneMatch?: string }> = [];
    let body = csv('web', 2);

    before(async () => {
      server = await startScriptedServer(async (req: http.IncomingMessage, _body: string, res: http.ServerResponse) => {
        seen.push({
          authorization: req.headers.authorization,
          ifNoneMatch: req.headers['if-none-match'] as string | undefined,
        });
        if (req.headers.authorization !== 'Bearer export-token') return void res.writeHead(401).end();
        if (req.url !== '/exports/users.csv') return void res.writeHead(404).end();
        const etag = `"${sha256(body).slice(0, 16)}"`;
        if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { etag }).end();
        res.writeHead(200, { 'content-type': 'text/csv', etag }).end(body);
      });
    });
    after(() => server?.close());

    it('sends the header, takes the ETag as the version, and reads a changed document again', async () => {
      const url = `${server.url}/exports/users.csv`;
      const spec = { url, mapping: MAPPING, authHeaderEnv: 'HR_EXPORT_AUTH' };
      await withEnv({ HR_EXPORT_AUTH: 'Authorization: Bearer export-token' }, async () => {
        seen.length = 0;
        const first = await loadFileSource(spec);
        assert.equal(first.records.length, 2);
        assert.equal(first.sha256, sha256(body));
        assert.equal(first.version, `etag "${sha256(body).slice(0, 16)}"`);
        assert.deepEqual(seen, [{ authorization: 'Bearer export-token', ifNoneMatch: undefined }]);
        body = csv('web', 5);
        const second = await loadFileSource(spec);
        assert.equal(second.records.length, 5);
        assert.notEqual(second.sha256, first.sha256);
      });
    });

    it('a refused header, a missing variable or a missing document: one clear error naming the URL', async () => {
      const url = `${server.url}/exports/users.csv`;
      const refused = await withEnv({ HR_EXPORT_AUTH: 'Bearer wrong' }, () =>
        failureOf(loadFileSource({ url, authHeaderEnv: 'HR_EXPORT_AUTH' })),
      );
      assert.equal(refused.type, FailureType.SourceAccessDenied);
      assert.match(refused.message, new RegExp(`${url}.*HTTP 401.*HR_EXPORT_AUTH`));
      const unset = await withEnv({ HR_EXPORT_AUTH: undefined }, () =>
        failureOf(loadFileSource({ url, authHeaderEnv: 'HR_EXPORT_AUTH' })),
      );
      assert.equal(unset.type, FailureType.SourceAccessDenied);
      assert.match(unset.message, /HR_EXPORT_AUTH, which is not set/);
      const missing = await withEnv({ HR_EXPORT_AUTH: 'Bearer export-token' }, () =>
        failureOf(loadFileSource({ url: `${server.url}/exports/gone.csv`, authHeaderEnv: 'HR_EXPORT_AUTH' })),
      );
      assert.equal(missing.type, FailureType.SourceNotFound);
      assert.match(missing.message, /\/exports\/gone\.csv/);
    });
  });
});
