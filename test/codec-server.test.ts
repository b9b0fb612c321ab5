import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import chromium from '@sparticuz/chromium';
import { Client } from '@temporalio/client';
import puppeteer from 'puppeteer-core';
import { startCodecServer, type RunningCodecServer } from '../src/temporal/codec-server';
import { dataConverter } from '../src/temporal/connection';
import { AesGcmPayloadCodec } from '../src/temporal/encryption-codec';
import { resolveTemporalServer, type TemporalEnvironment } from '../src/temporal/server';
import { discoverServiceProvider } from '../src/workflows';
import { scriptedTenant, sendJson, startScriptedServer } from './helpers/http';
import { historyText, startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';

// The codec server decrypts a real encrypted history for the real Temporal CLI
// (`temporal workflow show --codec-endpoint`), and keeps browsers other than the UI and callers
// without the token out.

const run = promisify(execFile);
const PAYLOAD_KEY = randomBytes(32).toString('base64');
const UI_ORIGIN = 'http://localhost:8233';
const TOKEN = `codec-token-${randomUUID()}`;
/** Only the provider's answer carries it: it reaches Temporal only inside the workflow result. */
const MARKER = `https://docs.example.test/codec-${randomUUID()}`;
const SPC = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
  documentationUri: MARKER,
  patch: { supported: true },
  bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
  filter: { supported: true, maxResults: 200 },
  changePassword: { supported: false },
  sort: { supported: false },
  etag: { supported: false },
  authenticationSchemes: [{ type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'client credentials' }],
};

/** The Temporal CLI binary, found the way the dev server is found (TEMPORAL_ADDRESS aside). */
function temporalCli(): string | undefined {
  const source = resolveTemporalServer({ ...process.env, TEMPORAL_ADDRESS: '' });
  return source.kind === 'executable' ? source.path : undefined;
}

/** Every payload of a history (SDK object or `temporal … -o json`): its encoding and its data as text. */
function payloadsOf(history: unknown): Array<{ encoding: string; data: string }> {
  const found: Array<{ encoding: string; data: string }> = [];
  const bytes = (value: unknown) =>
    typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.from(value as Uint8Array);
  const visit = (node: unknown, key?: string): void => {
    if (Array.isArray(node)) {
      // Search attributes are indexed in plain text by design; they hold no personal data.
      if (key === 'payloads') {
        for (const p of node as Array<{ metadata: Record<string, unknown>; data?: unknown }>) {
          found.push({ encoding: bytes(p.metadata.encoding).toString(), data: p.data ? bytes(p.data).toString() : '' });
        }
      } else node.forEach((item) => visit(item));
    } else if (node && typeof node === 'object' && !(node instanceof Uint8Array)) {
      for (const [k, v] of Object.entries(node)) visit(v, k);
    }
  };
  visit(history);
  return found;
}

/** A port nobody listens on right now, for the UI (which must be known before the codec server starts). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as Record<string, unknown>,
  };
}

describe('codec server', { skip: !temporalCli() && 'the Temporal CLI is not installed (npm run setup)' }, () => {
  let temporal: TemporalEnvironment;
  let provider: Awaited<ReturnType<typeof startScriptedServer>>;
  let worker: TestWorker;
  let open: RunningCodecServer;
  let guarded: RunningCodecServer;
  let forUi: RunningCodecServer;
  let workflowId: string;
  let runId: string;
  const guardedLog: Array<Record<string, unknown>> = [];
  const cli = temporalCli() ?? 'temporal';

  before(async () => {
    provider = await startScriptedServer((req, _body, res) => {
      if (req.url === '/oauth/token')
        return sendJson(res, 200, { access_token: 'codec-access', token_type: 'Bearer', expires_in: 3600 });
      if (req.url === '/scim/v2/ServiceProviderConfig') return sendJson(res, 200, SPC);
      sendJson(res, 404, { status: '404', detail: `no route ${req.url}` });
    });
    const codec = AesGcmPayloadCodec.fromBase64(PAYLOAD_KEY);
    // The embedded Temporal UI calls this one from the browser, so it allows the UI's origin.
    const uiPort = await freePort();
    forUi = await startCodecServer({ codec, uiOrigin: `http://127.0.0.1:${uiPort}` });
    temporal = await startTestTemporal({ uiPort, uiCodecEndpoint: forUi.url });
    worker = await startTestWorker(temporal, [scriptedTenant(provider.url, 'codec', 'codec-client-secret')], {
      payloadKey: PAYLOAD_KEY,
    });
    open = await startCodecServer({ codec, uiOrigin: UI_ORIGIN, bodyLimitBytes: 64 * 1024 });
    const remember = (message: string, attrs?: Record<string, unknown>) => void guardedLog.push({ message, ...attrs });
    guarded = await startCodecServer({
      codec,
      uiOrigin: UI_ORIGIN,
      bearerToken: TOKEN,
      log: { info: remember, warn: remember },
    });

    const client = new Client({
      connection: temporal.testEnv.connection,
      namespace: temporal.namespace,
      dataConverter: dataConverter({ payloadKey: PAYLOAD_KEY }),
    });
    workflowId = `codec-discover-${randomUUID()}`;
    const handle = await client.workflow.start(discoverServiceProvider, {
      taskQueue: worker.settings.taskQueue,
      workflowId,
      args: [{ tenant: 'codec' }],
    });
    runId = handle.firstExecutionRunId;
    const result = await handle.result();
    assert.equal(
      result.serviceProviderConfig?.documentationUri,
      MARKER,
      'the workflow read the provider through the encrypted path',
    );
  });

  after(async () => {
    await open?.close();
    await guarded?.close();
    await forUi?.close();
    await worker?.stop();
    await temporal?.stop();
    await provider?.close();
  });

  function show(codecServer?: RunningCodecServer, auth?: string) {
    const args = [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      '--address',
      temporal.address,
      '--namespace',
      temporal.namespace,
      '-o',
      'json',
    ];
    if (codecServer) args.push('--codec-endpoint', codecServer.url);
    if (auth) args.push('--codec-auth', auth);
    return run(cli, args, { maxBuffer: 16 * 1024 * 1024 });
  }

  it('stores only ciphertext in the history', async () => {
    const history = await temporal.testEnv.client.workflow.getHandle(workflowId).fetchHistory();
    const raw = payloadsOf(history);
    assert.ok(raw.length >= 4, 'input, activity input and result, workflow result');
    assert.ok(
      raw.every((p) => p.encoding === 'binary/encrypted'),
      'every payload is encrypted',
    );
    assert.ok(!raw.some((p) => p.data.includes(MARKER)), 'the provider answer is not readable in the raw history');
    assert.ok(!(await historyText(temporal.testEnv.client.workflow.getHandle(workflowId))).includes(MARKER));
    const { stdout } = await show();
    assert.ok(
      payloadsOf(JSON.parse(stdout)).every((p) => p.encoding === 'binary/encrypted'),
      'the CLI without the codec server sees ciphertext',
    );
  });

  it('lets the Temporal CLI decode the history through --codec-endpoint', async () => {
    const { stdout } = await show(open);
    const decoded = payloadsOf(JSON.parse(stdout));
    assert.ok(decoded.length >= 4);
    assert.ok(
      decoded.every((p) => p.encoding === 'json/plain'),
      'every payload was decoded',
    );
    assert.ok(
      decoded.some((p) => p.data.includes(MARKER)),
      'the decoded result carries the provider answer',
    );
    assert.ok(
      decoded.some((p) => JSON.parse(p.data).tenant === 'codec'),
      'the decoded input names the tenant',
    );
  });

  it('decodes for the CLI only with the bearer token when one is configured', async () => {
    const before401 = guardedLog.filter((entry) => entry.status === 401).length;
    // The CLI retries a refused decode until its deadline, then gives up without output.
    await assert.rejects(show(guarded), /Command failed/);
    assert.ok(
      guardedLog.filter((entry) => entry.status === 401).length > before401,
      'the server refused the CLI with 401',
    );
    const { stdout } = await show(guarded, `Bearer ${TOKEN}`);
    assert.ok(payloadsOf(JSON.parse(stdout)).some((p) => p.data.includes(MARKER)));
    assert.ok(!JSON.stringify(guardedLog).includes(TOKEN), 'the token is never logged');
  });

  it('lets the Temporal UI decode the history in a real browser', async (t) => {
    if (!temporal.uiUrl) return t.skip('TEMPORAL_ADDRESS is set: no embedded Temporal UI');
    // This Chromium build switches off the same-origin policy by default; the test needs it on, to check CORS.
    const args = chromium.args.filter((arg) => arg !== '--disable-web-security');
    const browser = await puppeteer.launch({ executablePath: await chromium.executablePath(), args, headless: true });
    try {
      const page = await browser.newPage();
      await page.goto(`${temporal.uiUrl}/namespaces/${temporal.namespace}/workflows/${workflowId}/${runId}/history`);
      // The UI fetches /decode cross-origin: it shows the provider answer only if CORS and decoding work.
      await page.waitForFunction(`document.body.innerText.includes(${JSON.stringify(MARKER)})`, { timeout: 60_000 });
    } finally {
      await browser.close();
    }
  });

  it('round-trips /encode and /{namespace}/decode in the protocol JSON', async () => {
    const plain = {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from('{"name":"Ada"}').toString('base64'),
    };
    const encoded = await post(`${open.url}/encode`, { payloads: [plain] });
    assert.equal(encoded.status, 200);
    const [sealed] = encoded.json.payloads as Array<{ metadata: Record<string, string>; data: string }>;
    assert.equal(Buffer.from(sealed.metadata.encoding, 'base64').toString(), 'binary/encrypted');
    assert.ok(!Buffer.from(sealed.data, 'base64').toString().includes('Ada'));

    const decoded = await post(
      `${open.url}/${temporal.namespace}/decode`,
      { payloads: [sealed] },
      { 'x-namespace': temporal.namespace },
    );
    assert.equal(decoded.status, 200);
    assert.deepEqual(decoded.json.payloads, [plain]);
  });

  it('answers the CORS preflight for the UI origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${open.url}/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-namespace,authorization',
        },
      });
    const ok = await preflight(UI_ORIGIN);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), UI_ORIGIN);
    assert.match(ok.headers.get('access-control-allow-methods') ?? '', /POST/);
    for (const header of ['content-type', 'x-namespace', 'authorization']) {
      assert.ok((ok.headers.get('access-control-allow-headers') ?? '').toLowerCase().includes(header), header);
    }
    // No token is asked for on a preflight, even when the server needs one for the POST.
    assert.equal(
      (await fetch(`${guarded.url}/decode`, { method: 'OPTIONS', headers: { origin: UI_ORIGIN } })).status,
      204,
    );

    const foreign = await preflight('http://evil.example');
    assert.equal(foreign.status, 403);
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    const foreignPost = await post(`${open.url}/decode`, { payloads: [] }, { origin: 'http://evil.example' });
    assert.equal(foreignPost.status, 403);

    const fromUi = await post(`${open.url}/decode`, { payloads: [] }, { origin: UI_ORIGIN });
    assert.equal(fromUi.status, 200);
    assert.equal(fromUi.headers.get('access-control-allow-origin'), UI_ORIGIN);
  });

  it('needs the bearer token on POST when configured, and keeps CORS headers on the 401', async () => {
    const missing = await post(`${guarded.url}/decode`, { payloads: [] }, { origin: UI_ORIGIN });
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer');
    assert.equal(missing.headers.get('access-control-allow-origin'), UI_ORIGIN, 'the UI can read why it failed');
    assert.equal(
      (await post(`${guarded.url}/decode`, { payloads: [] }, { authorization: `Bearer ${TOKEN}x` })).status,
      401,
    );
    assert.equal((await post(`${guarded.url}/decode`, { payloads: [] }, { authorization: TOKEN })).status, 401);
    const good = await post(`${guarded.url}/decode`, { payloads: [] }, { authorization: `Bearer ${TOKEN}` });
    assert.equal(good.status, 200);
    assert.ok(!JSON.stringify(missing.json).includes(TOKEN));
  });

  it('refuses bad JSON, bad fields, large bodies and foreign ciphertext with a reason', async () => {
    const notJson = await post(`${open.url}/decode`, '{"payloads": [');
    assert.equal(notJson.status, 400);
    assert.match(String(notJson.json.detail), /not valid JSON/);

    const noPayloads = await post(`${open.url}/decode`, { items: [] });
    assert.equal(noPayloads.status, 400);
    assert.match(String(noPayloads.json.detail), /\$\.payloads: required attribute is missing/);

    const notBase64 = await post(`${open.url}/decode`, {
      payloads: [{ metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'not base64!' }],
    });
    assert.equal(notBase64.status, 400);
    assert.match(String(notBase64.json.detail), /\$\.payloads\[0\]\.data: expected base64 string/);

    const tooLarge = await post(`${open.url}/decode`, {
      payloads: [{ data: Buffer.alloc(100 * 1024).toString('base64') }],
    });
    assert.equal(tooLarge.status, 413);
    assert.match(String(tooLarge.json.detail), /limit of 65536 bytes/);

    const otherKey = AesGcmPayloadCodec.fromBase64(randomBytes(32).toString('base64'));
    const [foreign] = await otherKey.encode([
      { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"x"') },
    ]);
    const json = {
      metadata: Object.fromEntries(
        Object.entries(foreign.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
      data: Buffer.from(foreign.data ?? []).toString('base64'),
    };
    const plainOne = { metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'Ingi' };
    const wrongKey = await post(`${open.url}/decode`, { payloads: [plainOne, json] });
    assert.equal(wrongKey.status, 422);
    assert.match(String(wrongKey.json.detail), /^\$\.payloads\[1\]: payload was encrypted with key id/);

    assert.equal((await post(`${open.url}/transmogrify`, { payloads: [] })).status, 404);
  });
});
