import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { sandboxTenant } from '../../src/cli/dev';
import type { TenantConfig } from '../../src/config/tenants';
import { authSecrets } from '../../src/http/auth/config';
import type { TemporalEnvironment } from '../../src/temporal/server';
import { sendJson, startScriptedServer, throughProxy } from '../helpers/http';
import { formatHistoryFile, historyAsText, HISTORIES_DIR, parseHistoryFile, workflowTypeOf, type History } from '../helpers/history-files';
import { installTestRuntime, startTestTemporal, startTestWorker, type TestWorker } from '../helpers/temporal';
import { SCENARIOS, type RecordingContext } from './scenarios';

// `npm run record:histories`: runs every scenario of ./scenarios.ts against a fresh Temporal dev
// server and the CXone sandbox on loopback, and replaces test/histories/*.json with their histories.
// `npm run record:histories -- syncAssignments` runs only the scenarios whose name contains an
// argument and replaces only the files they write (the other histories stay as they are).
// Run it only when a workflow change is meant to be compatible with running workflows (docs/development.md,
// "Changing workflow code safely"): the old files are what proves that it is.
//
// No payload codec is set up (so the replay test needs no key), and every tenant secret is random
// for this run and looked for in each history before anything is written.

const SCENARIO_TIMEOUT_MS = 60_000;
const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');

interface Environment {
  temporal: TemporalEnvironment;
  worker: TestWorker;
  sandbox: Sandbox;
  idp: Sandbox;
  secrets: string[];
  close(): Promise<void>;
}

const secret = () => randomBytes(18).toString('base64url');

async function startEnvironment(): Promise<Environment> {
  const cleanups: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup().catch((err: unknown) => console.error(`cleanup: ${String(err)}`));
  };
  try {
    const started = async (options: Parameters<typeof startSandbox>[0]) => {
      const s = await startSandbox({ port: 0, clientSecret: secret(), webhookSecret: secret(), ...options });
      cleanups.unshift(() => s.close());
      return s;
    };
    const sandbox = await started({});
    const idp = await started({});
    // Takes 4 operations per Bulk request; the proxy in front of it advertises 1000, so a plan
    // made from the advertised limit meets 413s and splits.
    const small = await started({ bulkMaxOperations: 4 });
    const lying = await startScriptedServer(async (req, body, res) => {
      const upstream = await fetch(`${small.url}${req.url}`, {
        method: req.method,
        headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>,
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
      });
      const answer = (await upstream.json().catch(() => ({}))) as Record<string, unknown>;
      if (req.url?.endsWith('/ServiceProviderConfig') && upstream.ok) answer.bulk = { ...(answer.bulk as object), maxOperations: 1000 };
      sendJson(res, upstream.status, answer, Object.fromEntries([...upstream.headers].filter(([k]) => ['etag', 'retry-after'].includes(k))));
    });
    cleanups.unshift(() => lying.close());

    const tenants: TenantConfig[] = [
      sandboxTenant(sandbox),
      sandboxTenant(idp, 'idp'),
      throughProxy(sandboxTenant(small), 'lying', lying.url),
    ];
    installTestRuntime('ERROR'); // scenarios fail activities on purpose (405, 413): no warning for each
    const temporal = await startTestTemporal();
    cleanups.unshift(() => temporal.stop());
    const worker = await startTestWorker(temporal, tenants);
    cleanups.unshift(() => worker.stop());
    const secrets = tenants.flatMap((t) => [...authSecrets(t.auth), t.webhookSecret]).filter((s): s is string => typeof s === 'string' && s !== '');
    return { temporal, worker, sandbox, idp, secrets, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Every run of a workflow, oldest first, following continue-as-new back from the latest run. */
async function runsOf(client: Client, workflowId: string): Promise<History[]> {
  const runs: History[] = [];
  let runId: string | undefined;
  for (;;) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.unshift(history);
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) return runs;
  }
}

/** Refuses a history that holds a tenant secret, a token, or payloads only a codec could read. */
function assertShareable(name: string, history: History, secrets: string[]): void {
  const text = historyAsText(history);
  for (const s of secrets) assert.ok(!text.includes(s), `${name}: the history holds a tenant secret`);
  assert.ok(!/access_token|Bearer [A-Za-z0-9._~+/-]{8,}/.test(text), `${name}: the history holds an access token`);
  assert.ok(!text.includes('binary/encrypted'), `${name}: encrypted payloads (record without CXONE_SCIM_PAYLOAD_KEY's codec)`);
}

function withTimeout<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function main(only: string[]): Promise<void> {
  const scenarios = only.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => only.some((name) => s.name.includes(name)));
  assert.ok(scenarios.length > 0, `no scenario's name contains ${only.join(' or ')}: ${SCENARIOS.map((s) => s.name).join('; ')}`);
  const started = Date.now();
  const env = await startEnvironment();
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'record-histories-'));
  const workDir = path.join(staging, 'source');
  const written: string[] = [];
  try {
    fs.mkdirSync(workDir);
    const client = env.temporal.testEnv.client;
    const save = async (name: string, workflowId: string, runId?: string) => {
      const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
      write(name, workflowId, history);
    };
    const write = (name: string, workflowId: string, history: History) => {
      const file = `${name}.json`;
      assert.match(file, /^[A-Za-z]+-[a-z0-9-]+\.json$/, `history file name ${file}`);
      assert.ok(name.startsWith(`${workflowTypeOf(history)}-`), `${file} holds a ${workflowTypeOf(history)} history`);
      assert.ok(!written.includes(file), `${file} is written twice`);
      assertShareable(file, history, env.secrets);
      // Stack traces in failures name this checkout's directory: keep it out of committed files.
      const text = formatHistoryFile(workflowId, history).split(PROJECT_ROOT).join('.');
      assert.ok(!historyAsText(parseHistoryFile(file, text).history).includes(PROJECT_ROOT), `${file}: a payload names the project directory`);
      fs.writeFileSync(path.join(staging, file), text);
      written.push(file);
    };
    const context: RecordingContext = {
      client,
      taskQueue: env.worker.settings.taskQueue,
      sandbox: env.sandbox,
      idp: env.idp,
      workDir,
      save,
      async saveRuns(name, workflowId, { minRuns = 1 } = {}) {
        const runs = await runsOf(client, workflowId);
        assert.ok(runs.length >= minRuns, `${name}: ${runs.length} run(s), expected at least ${minRuns} (continue-as-new)`);
        runs.forEach((history, i) => write(runs.length === 1 ? name : `${name}-run${i + 1}`, workflowId, history));
        return runs;
      },
    };
    for (const scenario of scenarios) {
      const t0 = Date.now();
      await withTimeout(scenario.name, scenario.record(context), SCENARIO_TIMEOUT_MS);
      console.log(`recorded ${scenario.name} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  } finally {
    await env.close();
  }
  // Only now that every scenario passed are the committed files replaced.
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  if (only.length === 0) for (const old of fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'))) fs.rmSync(path.join(HISTORIES_DIR, old));
  for (const file of written) fs.copyFileSync(path.join(staging, file), path.join(HISTORIES_DIR, file));
  fs.rmSync(staging, { recursive: true, force: true });
  const bytes = written.reduce((n, f) => n + fs.statSync(path.join(HISTORIES_DIR, f)).size, 0);
  console.log(`wrote ${written.length} histories (${(bytes / 1024).toFixed(0)} KiB) to test/histories in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(`record:histories failed, test/histories left as it was: ${err instanceof Error ? err.stack : String(err)}`);
    process.exitCode = 1;
  });
}
