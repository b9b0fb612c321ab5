import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import chromium from '@sparticuz/chromium';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal as proto } from '@temporalio/proto';
import puppeteer from 'puppeteer-core';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { sandboxTenant } from '../src/cli/dev';
import { runSync } from '../src/cli/sync';
import { syncInputFrom } from '../src/cli/sync-options';
import { dataConverter } from '../src/temporal/connection';
import type { TemporalEnvironment } from '../src/temporal/server';
import { rejectDeletionsUpdate, approveDeletionsUpdate, type SyncUsersResult } from '../src/workflows';
import { startMetadata } from '../src/workflows/ui-metadata';
import { freePort } from './helpers/object-store';
import { startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';
import { scimUser as user } from './helpers/users';

// Readable runs: a sync started the way `cxone-scim sync` starts it carries a static summary and
// details; while it waits for approval its current details say so (removals, plan hash, how to
// approve), and its activities and timer carry summaries. The real Temporal UI (the dev server's,
// in headless Chromium) shows the summary and the current details; with CXONE_SCIM_PAYLOAD_KEY all
// of it is ciphertext in the history. None of it names a user. Screenshot: dist/test-output/ui-metadata.png.

const SECRET = 'ui-metadata-secret';
const PAYLOAD_KEY = randomBytes(32).toString('base64');
const OUTPUT_DIR = path.resolve(__dirname, '..', 'test-output');
/** The UI's own query for a workflow's current details. */
const METADATA_QUERY = '__temporal_workflow_metadata';

type HistoryEvent = proto.api.history.v1.IHistoryEvent;

/** The events that carry user metadata (start, activities, timers), with the metadata's payloads. */
function metadataOf(events: HistoryEvent[]): Array<{
  type: string;
  summary?: proto.api.common.v1.IPayload | null;
  details?: proto.api.common.v1.IPayload | null;
}> {
  return events
    .filter((e) => e.userMetadata)
    .map((e) => ({
      type: e.workflowExecutionStartedEventAttributes
        ? 'started'
        : e.activityTaskScheduledEventAttributes
          ? `activity ${e.activityTaskScheduledEventAttributes.activityType?.name}`
          : e.timerStartedEventAttributes
            ? 'timer'
            : `event ${e.eventType}`,
      summary: e.userMetadata?.summary,
      details: e.userMetadata?.details,
    }));
}

const encodingOf = (payload?: proto.api.common.v1.IPayload | null) =>
  payload?.metadata?.encoding ? Buffer.from(payload.metadata.encoding).toString() : undefined;
const plainText = (payload?: proto.api.common.v1.IPayload | null) =>
  payload ? String(defaultPayloadConverter.fromPayload(payload)) : '';

describe('readable runs in the Temporal UI', () => {
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  let plain: TestWorker;
  let keyed: TestWorker;
  let dir: string;
  let usersFile: string;

  before(async () => {
    const uiPort = await freePort();
    temporal = await startTestTemporal({ uiPort });
    sandbox = await startSandbox({ port: 0, clientSecret: SECRET });
    for (const name of ['keep', 'leaver1', 'leaver2', 'leaver3']) sandbox.adminCreateUser(user(`${name}@corp.example`));
    const tenant = sandboxTenant(sandbox);
    plain = await startTestWorker(temporal, [tenant]);
    keyed = await startTestWorker(temporal, [tenant], { payloadKey: PAYLOAD_KEY });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ui-metadata-'));
    usersFile = path.join(dir, 'users.json');
    fs.writeFileSync(usersFile, JSON.stringify([user('keep@corp.example'), user('joiner@corp.example')]));
    fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  });

  after(async () => {
    await plain?.stop();
    await keyed?.stop();
    await sandbox?.close();
    await temporal?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Starts syncUsers as `cxone-scim sync --max-deletions 2 --orphans leavers --no-wait` does; returns once it waits for approval. */
  async function startWaitingSync(client: Client, worker: TestWorker, workflowId: string) {
    const input = syncInputFrom(usersFile, { tenant: 'sandbox', maxDeletions: 2, orphans: 'leavers' });
    const { handle, end } = await runSync(client, worker.settings.taskQueue, input, {
      workflowId,
      stopWhenAwaiting: true,
      pollMs: 100,
    });
    assert.equal(end.state, 'awaitingApproval', 'the run waits for approval of its removals');
    const planHash = end.state === 'awaitingApproval' ? (end.progress.planHash ?? '') : '';
    assert.match(planHash, /^[0-9a-f]{64}$/);
    return { handle, planHash };
  }

  it('shows the summary and the current details of a sync waiting for approval in the UI', async () => {
    const client = temporal.testEnv.client;
    const workflowId = `ui-sync-${Date.now()}`;
    const { handle, planHash } = await startWaitingSync(client, plain, workflowId);

    const described = await handle.describe();
    const summary = await described.staticSummary();
    const details = await described.staticDetails();
    assert.match(summary ?? '', /^syncUsers · tenant sandbox · users\.json \(sha256 [0-9a-f]{12}\)$/);
    assert.match(details ?? '', /- started by: cxone-scim sync\n/);
    assert.match(details ?? '', /- deletionThreshold\.maxCount: 2/);
    const { currentDetails } = await handle.query<{ currentDetails: string }>(METADATA_QUERY);
    const waiting = `waiting for approval: 3 removals, plan ${planHash}`;
    assert.ok(currentDetails.includes(waiting), `current details say what waits:\n${currentDetails}`);
    assert.ok(currentDetails.includes(`cxone-scim sync approve ${workflowId} --plan-hash ${planHash}`));
    assert.match(currentDetails, /^syncUsers · tenant sandbox\n/);
    assert.match(
      currentDetails,
      /- plan [0-9a-f]{64}: [^\n]*3 deactivate[^\n]*; 2 source records \(0 invalid\) from users\.json sha256 /,
    );
    assert.match(currentDetails, /- running: await approval of 3 removals/);

    const events = (await handle.fetchHistory()).events ?? [];
    const metadata = metadataOf(events);
    const summaries = metadata.map((m) => `${m.type}: ${plainText(m.summary)}`);
    assert.deepEqual(
      summaries.filter((s) => !s.startsWith('activity applySyncSlice')),
      [
        `started: ${summary}`,
        'activity discoverServiceProviderConfig: GET /ServiceProviderConfig',
        'activity discoverResourceTypes: GET /ResourceTypes',
        'activity discoverSchemas: GET /Schemas',
        'activity planSync: plan: read users.json, list provider users page by page, classify',
        `timer: waiting for approval of 3 removals, plan ${planHash}`,
      ],
    );
    assert.ok(summaries.some((s) => /^activity applySyncSlice: apply writes slice 1 of 1 /.test(s)));
    const shown = [summary, details, currentDetails, ...summaries].join('\n');
    assert.doesNotMatch(shown, /@|corp\.example|\bkeep\b|\bjoiner\b|leaver\d/i, 'no userName in anything the UI shows');

    const browser = await puppeteer.launch({
      executablePath: await chromium.executablePath(),
      args: chromium.args,
      headless: true,
    });
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1400, height: 1100 });
      const url = `${temporal.uiUrl}/namespaces/${temporal.namespace}/workflows/${encodeURIComponent(workflowId)}/${handle.firstExecutionRunId}/history`;
      await page.goto(url, { waitUntil: 'networkidle2' });
      // The workflow page's "User Metadata" tab shows the summary, the details and the current details.
      const tab = await page.waitForSelector('::-p-text(User Metadata)', { timeout: 30_000 });
      await tab?.click();
      // The UI renders summary and details (Temporal markdown) in sandboxed frames: read every frame's text.
      const shownText = async () => {
        const texts = await Promise.all(
          page.frames().map((frame) =>
            frame
              // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person reads
              .$eval('body', (body) => body.innerText)
              .catch(() => ''),
          ),
        );
        return texts.join('\n');
      };
      let text = '';
      for (let i = 0; i < 60; i++) {
        text = await shownText();
        if (text.includes(summary as string) && text.includes(waiting)) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      await page.screenshot({ path: `${OUTPUT_DIR}/ui-metadata.png`, fullPage: true });
      const found = text.includes(summary as string) && text.includes(waiting);
      assert.ok(found, `the UI page shows the summary and the current details; it shows:\n${text.slice(0, 3000)}`);
    } finally {
      await browser.close();
    }

    await handle.executeUpdate(approveDeletionsUpdate, { args: [{ planHash }] });
    const result = (await handle.result()) as SyncUsersResult;
    assert.equal(result.outcome, 'succeeded');
    const { currentDetails: ended } = await handle.query<{ currentDetails: string }>(METADATA_QUERY);
    assert.match(ended, /- removals approved \(plan [0-9a-f]{64}\)/);
    assert.match(ended, /- ended: succeeded/);
  });

  it('encrypts the summaries, details and current details with CXONE_SCIM_PAYLOAD_KEY', async () => {
    const client = new Client({
      connection: temporal.testEnv.connection,
      namespace: temporal.namespace,
      dataConverter: dataConverter({ payloadKey: PAYLOAD_KEY }),
    });
    const workflowId = `ui-sync-keyed-${Date.now()}`;
    // The first test deactivated the leavers: bring them back so that this run waits too.
    for (const u of sandbox.listUsers())
      if (u.active === false) sandbox.adminUpdateUser(String(u.id), { active: true });
    const { handle, planHash } = await startWaitingSync(client, keyed, workflowId);

    const metadata = metadataOf((await handle.fetchHistory()).events ?? []);
    assert.ok(metadata.some((m) => m.type === 'started'));
    assert.ok(metadata.some((m) => m.type === 'timer'));
    assert.ok(metadata.filter((m) => m.type.startsWith('activity')).length >= 4);
    for (const m of metadata) {
      assert.equal(encodingOf(m.summary), 'binary/encrypted', `${m.type}: summary encrypted`);
      if (m.details) assert.equal(encodingOf(m.details), 'binary/encrypted', `${m.type}: details encrypted`);
    }
    // With the key the client reads them back.
    assert.match((await (await handle.describe()).staticSummary()) ?? '', /^syncUsers · tenant sandbox · users\.json/);

    // The current details answer the UI's query encrypted too (read here without the codec).
    const answer = await temporal.testEnv.client.workflowService.queryWorkflow({
      namespace: temporal.namespace,
      execution: { workflowId },
      query: { queryType: METADATA_QUERY },
    });
    const raw = answer.queryResult?.payloads?.[0];
    assert.equal(encodingOf(raw), 'binary/encrypted');
    assert.ok(
      !Buffer.from(raw?.data ?? [])
        .toString()
        .includes('waiting for approval'),
    );
    const decoded = await handle.query<{ currentDetails: string }>(METADATA_QUERY);
    assert.ok(decoded.currentDetails.includes(`waiting for approval: 3 removals, plan ${planHash}`));

    await handle.executeUpdate(rejectDeletionsUpdate, { args: [{ reason: 'test' }] });
    assert.equal(((await handle.result()) as SyncUsersResult).outcome, 'rejected');
  });
});

describe('startMetadata (static summary and details)', () => {
  it('names the job, tenant and source file, and counts personal fields instead of showing them', () => {
    const meta = startMetadata(
      'syncUsers',
      {
        tenant: 'acme',
        users: [{ userName: 'ann@corp.example' }, { userName: 'bo@corp.example' }],
        user: 'ann@corp.example',
        protectedAccounts: ['admin@corp.example'],
        scope: { userNameSuffixes: ['@corp.example'] },
        planOut: { path: '/home/ann/plans/plan.csv' },
        notifyUrl: 'https://hooks.example/scim?token=s3cret',
        dryRun: true,
      } as { tenant: string },
      { startedBy: 'cxone-scim sync' },
    );
    assert.equal(meta.staticSummary, 'syncUsers · tenant acme · 2 inline users');
    assert.deepEqual(meta.staticDetails.split('\n'), [
      '- started by: cxone-scim sync',
      '- source: 2 inline users',
      '- users: 2 given',
      '- user: given',
      '- protectedAccounts: 1 given',
      '- scope.userNameSuffixes: @corp.example',
      '- planOut: plan.csv',
      '- notifyUrl: https://hooks.example/scim',
      '- dryRun: true',
    ]);
    assert.doesNotMatch(`${meta.staticSummary}\n${meta.staticDetails}`, /ann|bo@|admin|s3cret/);
  });

  it('shows a source by its file name and version, never its directories', () => {
    const meta = startMetadata(
      'provisionUsers',
      { tenant: 't', source: { path: '/home/ann/hr/users.csv', format: 'csv' } } as { tenant: string },
      { startedBy: 'cxone-scim provision', sourceVersion: 'sha256 0123456789ab' },
    );
    assert.equal(meta.staticSummary, 'provisionUsers · tenant t · users.csv (sha256 0123456789ab)');
    assert.match(meta.staticDetails, /- source\.format: csv/);
    assert.doesNotMatch(meta.staticDetails, /home|ann/);
  });
});
