import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { runCli } from '../src/cli/program';
import { ARGUMENT_CASES, CONFIG_CASES, PROVIDER_CASES, SPC } from './bad-input/config-cases';
import { csv, MAPPING, row, type Case } from './bad-input/cases';
import { startHarness, type Harness } from './bad-input/harness';
import { Capture, cliContext } from './helpers/cli';
import { CSV_CASES } from './bad-input/csv-cases';
import { MAPPING_CASES, RECORD_CASES } from './bad-input/record-cases';
import { LOOKALIKE_CASE, REFUSED_KEY_CASES } from './bad-input/refused-key-cases';
import { validEvent, WEBHOOK_CASES } from './bad-input/webhook-cases';
import { sandboxTenant } from '../src/cli/dev';
import { TenantRegistry } from '../src/config/tenants';
import { parseSignatureScheme } from '../src/http/webhook-signature';
import { sendSignedDelivery } from '../src/http/webhook-delivery';
import { silentLogger, startWebhookReceiver, type RunningReceiver } from '../src/webhooks/receiver';
import { fixedClient } from '../src/webhooks/temporal-client';

// The bad-input table: every row runs `cxone-scim` (in-process, against one real Temporal dev
// server, worker and CXone sandbox) and asserts the exit code, that the output names the field or
// line and the reason, and, for sources, that the valid records of the same input were provisioned.

const ROOT = path.join(__dirname, '..', '..');
const run = promisify(execFile);

const TABLE: Array<{ title: string; cases: Case[]; concurrency: number }> = [
  { title: 'CSV sources', cases: CSV_CASES, concurrency: 4 },
  { title: 'mappings', cases: MAPPING_CASES, concurrency: 3 },
  { title: 'JSON and NDJSON records', cases: RECORD_CASES, concurrency: 4 },
  { title: 'providers and tenants', cases: PROVIDER_CASES, concurrency: 1 },
  // configureServiceProvider runs one at a time per tenant (its workflow id is the tenant's).
  { title: 'configuration files and read-only providers', cases: CONFIG_CASES, concurrency: 1 },
  { title: 'command-line arguments', cases: ARGUMENT_CASES, concurrency: 4 },
  { title: 'keys __proto__, constructor and prototype', cases: [...REFUSED_KEY_CASES, LOOKALIKE_CASE], concurrency: 4 },
];

describe('bad input: every mistake named, valid work never lost, exit codes CI can gate on', () => {
  let h: Harness;
  let rowNumber = 0;

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.stop();
  });

  it(`the table has at least 80 rows (${TABLE.reduce((n, t) => n + t.cases.length, 0)})`, () => {
    assert.ok(TABLE.reduce((n, t) => n + t.cases.length, 0) >= 80);
  });

  /** Writes the row's files into its own directory; returns the path resolver its arguments use. */
  function prepare(c: Case, prefix: string): (name: string) => string {
    const dir = path.join(h.dir, prefix);
    fs.mkdirSync(dir, { recursive: true });
    const files = { 'mapping.json': MAPPING, ...c.files?.(prefix) };
    for (const [name, content] of Object.entries(files)) {
      fs.writeFileSync(
        path.join(dir, name),
        typeof content === 'string' || Buffer.isBuffer(content) ? content : JSON.stringify(content),
      );
    }
    return (name) => path.join(dir, name);
  }

  for (const { title, cases, concurrency } of TABLE) {
    describe(title, { concurrency }, () => {
      for (const c of cases) {
        const prefix = `r${String(++rowNumber).padStart(3, '0')}`;
        it(`${prefix} ${c.name}`, async () => {
          const f = prepare(c, prefix);
          const { code, output } = await h.cli(c.args(f), c.env?.(f));
          assert.match(output, c.says, `what was printed:\n${output}`);
          assert.equal(code, c.exit, `exit code\n${output}`);
          if (c.provisioned !== undefined) {
            const count = c.server === 'scim2' ? await h.provisionedInScim2(prefix) : h.provisioned(prefix);
            assert.equal(count, c.provisioned, `valid records provisioned\n${output}`);
          }
        });
      }
    });
  }

  describe('webhook bodies (a receiver in front of the same Temporal server and worker)', () => {
    let receiver: RunningReceiver;
    const send = (rawBody: string) => {
      const tenant = sandboxTenant(h.sandbox);
      const scheme = parseSignatureScheme(tenant.webhookSignature, 'sandbox');
      return sendSignedDelivery({
        url: receiver.callbackUrl('sandbox'),
        secret: tenant.webhookSecret as string,
        scheme,
        rawBody,
      });
    };
    before(async () => {
      receiver = await startWebhookReceiver({
        tenants: new TenantRegistry([sandboxTenant(h.sandbox)]),
        temporal: fixedClient(h.temporal.testEnv.client),
        taskQueue: h.worker.settings.taskQueue,
        log: silentLogger,
      });
    });
    after(async () => {
      await receiver?.close();
    });

    for (const c of WEBHOOK_CASES) {
      it(`${c.name}: ${c.status}, the path named; the next valid event is accepted`, async () => {
        const refused = await send(c.body());
        assert.equal(refused.status, c.status, JSON.stringify(refused.body));
        assert.match(String(refused.body?.detail), c.detail);
        assert.equal(refused.body?.error, 'malformed event');
        const accepted = await send(validEvent());
        assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
      });
    }
  });

  it('the binary itself exits 0, 1, 2 and 3 as documented', async () => {
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: h.temporal.address,
      TEMPORAL_NAMESPACE: h.temporal.namespace,
      TEMPORAL_TASK_QUEUE: h.worker.settings.taskQueue,
      CXONE_TENANT_ID: 'sandbox',
    };
    const cli = (...args: string[]) =>
      run(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], { env }).then(
        (r) => ({ code: 0, output: r.stdout + r.stderr }),
        (err: { code: number; stdout: string; stderr: string }) => ({
          code: err.code,
          output: err.stdout + err.stderr,
        }),
      );
    const dir = path.join(h.dir, 'binary');
    fs.mkdirSync(dir);
    const file = (name: string, content: unknown) => {
      fs.writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
      return path.join(dir, name);
    };
    const mapping = file('mapping.json', MAPPING);
    const [done, partial, drift, usage] = await Promise.all([
      cli('provision', file('ok.csv', csv(row('bin0', 1), row('bin0', 2))), '--mapping', mapping),
      cli(
        'provision',
        file('partial.csv', csv(row('bin2', 1), 'x,"y', row('bin2', 3))),
        '--mapping',
        mapping,
        '--output',
        'json',
      ),
      cli('configure', file('drift.json', { ...SPC, sort: { supported: true } }), '--verify'),
      cli('provision', 'x.csv', '--output', 'xml'),
    ]);
    assert.equal(done.code, 0, done.output);
    assert.equal(h.provisioned('bin0'), 2);
    assert.equal(partial.code, 2, partial.output);
    assert.match(partial.output, /"status": "partial"/);
    assert.equal(h.provisioned('bin2'), 2);
    assert.equal(drift.code, 3, drift.output);
    assert.match(drift.output, /drift: \$\.sort\.supported: desired true, provider has false/);
    assert.equal(usage.code, 1, usage.output);
    assert.match(usage.output, /argument 'xml' is invalid/);
  });

  it('watch re-attaches to a finished run and exits with its outcome', async () => {
    const f = prepare({ name: 'watch', args: () => [], exit: 2, says: /./ }, 'watch');
    fs.writeFileSync(f('users.csv'), csv(row('watch', 1), `${row('watch', 2)},extra`));
    const started = await h.cli([
      'provision',
      f('users.csv'),
      '--mapping',
      f('mapping.json'),
      '--workflow-id',
      'bad-input-watch',
    ]);
    assert.equal(started.code, 2, started.output);
    const watched = await h.cli(['watch', 'bad-input-watch']);
    assert.equal(watched.code, 2, watched.output);
    assert.match(watched.output, /provisionUsers bad-input-watch \(tenant sandbox\): partial/);
    assert.match(watched.output, /line 3: 5 fields, but the header has 4/);
  });

  it('a Temporal outage while provision waits is waited out: reconnecting, then the result (the run went on)', async () => {
    // The CLI reaches Temporal through a TCP proxy that the test cuts and restores; the worker keeps its own connection.
    const [host, port] = h.temporal.address.split(':');
    const sockets = new Set<net.Socket>();
    let down = false;
    const proxy = net.createServer((socket) => {
      if (down) return void socket.destroy();
      const upstream = net.connect(Number(port), host);
      for (const s of [socket, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined).on('close', () => sockets.delete(s));
      }
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    // No gRPC retries in this client: the SDK would otherwise hide an outage of up to ~20 s behind its own.
    const connection = await Connection.connect({
      address: `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`,
      interceptors: [],
    });
    const client = new Client({ connection, namespace: h.temporal.namespace });
    const stderr = new Capture();
    const f = prepare({ name: 'outage', args: () => [], exit: 0, says: /./ }, 'outage');
    fs.writeFileSync(f('users.csv'), csv(...Array.from({ length: 12 }, (_, i) => row('outage', i))));
    h.sandbox.setSwitches({ latencyMs: 250 });
    try {
      const running = runCli(
        ['provision', f('users.csv'), '--mapping', f('mapping.json'), '--max-operations', '2', '--max-in-flight', '1'],
        cliContext(client, h.worker.settings.taskQueue, { stderr }),
      );
      const until = async (done: () => boolean, what: string) => {
        for (const deadline = Date.now() + 60_000; !done(); await new Promise((resolve) => setTimeout(resolve, 20))) {
          assert.ok(Date.now() < deadline, `${what} (stderr so far:\n${stderr.text})`);
        }
      };
      await until(() => h.provisioned('outage') >= 2, 'the run got going');
      down = true;
      for (const socket of sockets) socket.destroy();
      await until(() => /reconnecting/.test(stderr.text), 'the CLI noticed the outage');
      down = false;
      assert.equal(await running, 0, stderr.text);
      assert.match(stderr.text, /Temporal unreachable for \d+ s: reconnecting…/);
      assert.match(stderr.text, /Temporal reachable again/);
      assert.match(stderr.text, /100% completed 12\/12 users · ok 12/);
      assert.equal(h.provisioned('outage'), 12);
    } finally {
      h.sandbox.setSwitches({ latencyMs: 0 });
      await connection.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});
