import assert from 'node:assert/strict';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { CsvReader, type CsvRow } from '../src/activities/sources/csv-source';
import { sourceLines } from '../src/activities/sources/source-text';
import { readFileSource } from '../src/activities/sources/user-source';
import { sandboxTenant } from '../src/cli/dev';
import { FailureType } from '../src/core/failures';
import type { TemporalEnvironment } from '../src/temporal/server';
import { provisionUsers, type ProvisionUsersInput } from '../src/workflows';
import { boundHeapGrowth } from '../src/worker';
import { startScriptedServer, throughProxy } from './helpers/http';
import { startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';

// Claim checks for provisionUsers: the planner reads the source once, streaming, and stores each
// chunk's normalized users; chunk activities (and the splits and resends of a chunk) read only
// their chunk's stored users. Real Temporal dev server, real worker, the CXone sandbox behind a
// loopback proxy that advertises more than the sandbox takes (413 → splits) and fails some
// operations once (→ resends).

const ROOT = path.join(__dirname, '..', '..');
const MAPPING = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'provision', 'mapping.json'), 'utf8'),
) as unknown;
const CSV_HEADER = 'employee_id,email,first_name,last_name,department,enabled,phone';

function csv(prefix: string, n: number): string {
  const rows = Array.from({ length: n }, (_, i) => {
    const id = String(i).padStart(4, '0');
    return `${prefix}${id},${prefix}.user${id}@example.com,Given${id},Family${id},Dept${i % 3},true,+1 555 ${id}`;
  });
  return `${[CSV_HEADER, ...rows].join('\n')}\n`;
}

/** A history as text with every payload decoded (the client hands their bytes over as base64). */
async function payloadText(handle: { fetchHistory(): Promise<unknown> }): Promise<string> {
  return JSON.stringify(await handle.fetchHistory(), (key, value: unknown) =>
    value instanceof Uint8Array
      ? Buffer.from(value).toString('utf8')
      : key === 'data' && typeof value === 'string'
        ? Buffer.from(value, 'base64').toString('utf8')
        : value,
  );
}

describe('provisionUsers reads each chunk from its claim (real worker, CXone sandbox)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'provision-claims-'));
  const savedStore = process.env.CXONE_SCIM_CLAIM_STORE;
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  let worker: TestWorker;
  let proxy: { url: string; close(): Promise<void> };
  /** Runs once, before the first POST /Bulk is forwarded. */
  let onFirstBulk: (() => void) | undefined;
  /** Operations at these positions of a request answer 503 the first time their bulkId is seen. */
  let faultEvery = 0;
  const faulted = new Set<string>();

  before(async () => {
    // The sandbox takes 8 operations per request; the proxy advertises 1000, so larger requests get 413 and are split.
    sandbox = await startSandbox({ port: 0, bulkMaxOperations: 8 });
    proxy = await startScriptedServer(async (req: http.IncomingMessage, body: string, res: http.ServerResponse) => {
      const isBulk = req.method === 'POST' && req.url?.endsWith('/Bulk');
      let forwarded = body;
      const failed: string[] = [];
      if (isBulk) {
        const hook = onFirstBulk;
        onFirstBulk = undefined;
        hook?.();
        const request = JSON.parse(body) as { Operations: Array<{ bulkId: string }> };
        if (faultEvery > 0 && request.Operations.length <= 8) {
          request.Operations = request.Operations.filter((op, i) => {
            if (i % faultEvery !== 0 || faulted.has(op.bulkId)) return true;
            failed.push(op.bulkId);
            return false;
          });
          forwarded = JSON.stringify(request);
        }
      }
      const response = await fetch(`${sandbox.url}${req.url}`, {
        method: req.method,
        headers: Object.fromEntries(
          Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length'),
        ) as Record<string, string>,
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : forwarded,
      });
      let text = await response.text();
      if (req.url?.endsWith('/ServiceProviderConfig') && response.ok) {
        const spc = JSON.parse(text) as { bulk: Record<string, unknown> };
        text = JSON.stringify({ ...spc, bulk: { ...spc.bulk, maxOperations: 1000 } });
      }
      if (isBulk && response.status === 200 && failed.length > 0) {
        const answer = JSON.parse(text) as { Operations: unknown[] };
        for (const bulkId of failed) {
          faulted.add(bulkId);
          answer.Operations.push({
            method: 'POST',
            bulkId,
            status: '503',
            response: { status: '503', detail: 'injected by the test proxy' },
          });
        }
        text = JSON.stringify(answer);
      }
      res
        .writeHead(response.status, { 'content-type': response.headers.get('content-type') ?? 'application/scim+json' })
        .end(text);
    });
    temporal = await startTestTemporal();
    worker = await startTestWorker(temporal, [throughProxy(sandboxTenant(sandbox), 'proxied', proxy.url)]);
  });

  after(async () => {
    if (savedStore === undefined) delete process.env.CXONE_SCIM_CLAIM_STORE;
    else process.env.CXONE_SCIM_CLAIM_STORE = savedStore;
    await worker?.stop();
    await temporal?.stop();
    await proxy?.close();
    await sandbox?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const start = (input: ProvisionUsersInput, id: string) =>
    temporal.testEnv.client.workflow.start(provisionUsers, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `${id}-${Date.now()}`,
      args: [input],
    });

  const named = (prefix: string) =>
    sandbox
      .listUsers()
      .map((u) => String(u.userName))
      .filter((n) => n.startsWith(`${prefix}.`));

  it('the source file deleted after planning: every chunk, split and resend reads its claim; exact count; history holds references, never users', async () => {
    const store = path.join(tmp, 'claims-deleted');
    process.env.CXONE_SCIM_CLAIM_STORE = store;
    const file = path.join(tmp, 'deleted.csv');
    fs.writeFileSync(file, csv('gone', 60));
    onFirstBulk = () => fs.rmSync(file);
    faultEvery = 3;
    try {
      const handle = await start(
        {
          tenant: 'proxied',
          source: { path: file, mapping: MAPPING },
          maxOperationsPerRequest: 20,
          maxChunksInFlight: 2,
          chunksPerBatch: 2,
        },
        'claims-deleted',
      );
      const result = await handle.result();
      assert.equal(fs.existsSync(file), false, 'the file was deleted after planning');
      assert.deepEqual([result.totals.created, result.totals.failed, result.chunks.planned], [60, 0, 3]);
      const ids = result.chunks.outcomes.map((o) => o.chunk);
      assert.ok(
        ids.some((id) => /^c\d+a$/.test(id)),
        `a split chunk: ${ids.join(' ')}`,
      );
      assert.ok(
        ids.some((id) => /r\d+$/.test(id)),
        `a resend: ${ids.join(' ')}`,
      );
      assert.ok(result.totals.retried > 0);
      const users = named('gone');
      assert.equal(users.length, 60);
      assert.equal(new Set(users).size, 60, 'no duplicates');
      assert.equal(fs.readdirSync(path.join(store, 'chunks')).length, 3, 'one claim per planned chunk');

      const parent = await payloadText(handle);
      assert.match(
        parent,
        new RegExp(`${path.join(store, 'chunks').replace(/[/\\.]/g, '\\$&')}/[0-9a-f]{64}\\.ndjson`),
        'the plan references the claims',
      );
      const batch = await payloadText(temporal.testEnv.client.workflow.getHandle(`${handle.workflowId}-batch-0`));
      assert.match(parent, /\\"planned\\":3/, 'the payloads were decoded');
      for (const text of [parent, batch]) {
        assert.doesNotMatch(text, /gone\.user\d{4}|Given00\d\d/, 'no user data in history');
      }
    } finally {
      faultEvery = 0;
    }
  });

  it('a claim altered after planning: its chunk fails with PlanUnavailable naming it, and the run stops', async () => {
    const store = path.join(tmp, 'claims-tampered');
    process.env.CXONE_SCIM_CLAIM_STORE = store;
    const file = path.join(tmp, 'tampered.csv');
    fs.writeFileSync(file, csv('tamper', 15));
    // The first chunk has read its claim when its request reaches the provider; the others have not.
    onFirstBulk = () => {
      const dir = path.join(store, 'chunks');
      for (const name of fs.readdirSync(dir))
        fs.appendFileSync(path.join(dir, name), '{"index":0,"user":{"userName":"intruder@example.com"}}\n');
    };
    const handle = await start(
      {
        tenant: 'proxied',
        source: { path: file, mapping: MAPPING },
        maxOperationsPerRequest: 5,
        maxChunksInFlight: 1,
        chunksPerBatch: 1,
      },
      'claims-tampered',
    );
    const err = await handle.result().then(
      () => assert.fail('the run succeeded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, FailureType.PlanUnavailable);
    assert.match(err.cause.message, /the users of chunk c1 at .*[0-9a-f]{64}\.ndjson is not the object the run stored/);
    assert.equal(named('tamper').length, 5, 'only the first chunk, read before the change');
    assert.equal(named('intruder').length, 0);
  });
});

describe('streaming reads of a source', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'source-stream-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a file changed while the planner reads it fails with SourceChanged naming it', async () => {
    const file = path.join(tmp, 'growing.csv');
    fs.writeFileSync(file, csv('grow', 20));
    let appended = false;
    const read = readFileSource({ path: file, mapping: MAPPING }, () => {
      if (appended) return;
      appended = true;
      fs.appendFileSync(file, 'grow9999,late@example.com,Late,Row,Dept0,true,+1 555 9999\n');
    });
    await assert.rejects(read, (err: ApplicationFailure) => {
      assert.equal(err.type, FailureType.SourceChanged);
      assert.match(err.message, new RegExp(`${file.replace(/[/\\.]/g, '\\$&')} changed while the plan read it`));
      return true;
    });
  });

  it('an unchanged file: the SHA-256 and version of the bytes read, every record in order', async () => {
    const file = path.join(tmp, 'steady.csv');
    fs.writeFileSync(file, csv('steady', 5));
    const seen: number[] = [];
    const snapshot = await readFileSource({ path: file, mapping: MAPPING }, (_record, index) => {
      seen.push(index);
    });
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
    const stat = fs.statSync(file);
    assert.equal(snapshot.version, `${stat.size}:${stat.mtimeMs}`);
    assert.equal(snapshot.bytes, stat.size);
    assert.match(snapshot.sha256, /^[0-9a-f]{64}$/);
  });

  it('CSV rows are the same whatever sizes the bytes arrive in (quotes across lines, errors, CRLF, a BOM, no last line break)', async () => {
    const rows = (text: string, size: number) =>
      (async () => {
        async function* parts() {
          const bytes = Buffer.from(text);
          for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
        }
        const reader = new CsvReader();
        const out: CsvRow[] = [];
        for await (const lines of sourceLines(parts())) out.push(...(await reader.write(lines)));
        out.push(...(await reader.end()));
        return { columns: reader.columns, rows: out };
      })();
    const texts = [
      '\uFEFFa,b\r\n1,"x\r\ny"\r\n\r\n3,4\r\n5,6',
      'a,b\n1,"open\n2,3\n4,5\n',
      'a,b\n1,"x"y\n2,3\n4,"q\n5,6\n7,8"z\n9,10',
      'a,b\n1,b"c\n2,3,4\n5\n6,7\n',
    ];
    for (const text of texts) {
      const whole = await rows(text, text.length + 1);
      for (const size of [1, 2, 5, 13])
        assert.deepEqual(await rows(text, size), whole, `${JSON.stringify(text)} in parts of ${size}`);
    }
    assert.deepEqual((await rows(texts[1], 4)).rows, [
      { line: 2, endLine: 2, problem: 'a quoted field opens here and is never closed (unterminated quote)' },
      { line: 3, endLine: 3, values: { a: '2', b: '3' } },
      { line: 4, endLine: 4, values: { a: '4', b: '5' } },
    ]);
  });
});

describe('worker memory setting', () => {
  it('CXONE_SCIM_HEAP_GROWING_PERCENT: a whole number of percent, or a clear error naming it', () => {
    for (const bad of ['lots', '-5', '12.5']) {
      assert.throws(
        () => boundHeapGrowth({ CXONE_SCIM_HEAP_GROWING_PERCENT: bad }),
        new RegExp(
          `CXONE_SCIM_HEAP_GROWING_PERCENT must be a whole number of percent .*got "${bad.replace('.', '\\.')}"`,
        ),
      );
    }
    for (const good of ['0', '50', ''])
      assert.doesNotThrow(() => boundHeapGrowth({ CXONE_SCIM_HEAP_GROWING_PERCENT: good }));
  });
});
