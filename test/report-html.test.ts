import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import chromium from '@sparticuz/chromium';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import puppeteer from 'puppeteer-core';
import { sandboxTenant } from '../src/cli/dev';
import type { ComplianceReport } from '../src/cli/report';
import { auditFigures, RUN_STATUSES, runUiUrl, untilInstant } from '../src/cli/report-figures';
import { escapeHtml, formatRate, renderReportHtml } from '../src/cli/report-html';
import type { LifecycleEvent } from '../src/scim/lifecycle-events';
import type { TemporalEnvironment } from '../src/temporal/server';
import type { WorkflowReport } from '../src/workflows/report';
import {
  approveDeletionsUpdate,
  rejectDeletionsUpdate,
  syncProgressQuery,
  syncUsers,
  type SyncUsersInput,
} from '../src/workflows';
import {
  lifecycleEventSignal,
  stateQuery,
  userLifecycle,
  userLifecycleWorkflowId,
} from '../src/workflows/user-lifecycle/workflow';
import { startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';
import { CORE_USER, scimUser as user } from './helpers/users';

// `cxone-scim report --format html` over real runs (approved, rejected and dry-run syncs, two
// kinds of failure, a lifecycle workflow that deactivated a user), opened in a real headless
// browser: no request leaves the page, no console error, no markup from the data, and every
// number shown is the JSON report's. The screenshot is kept in dist/test-output/report.png.

const run = promisify(execFile);
const CLI_MAIN = path.resolve(__dirname, '..', 'src', 'cli', 'main.js');
const OUTPUT_DIR = path.resolve(__dirname, '..', 'test-output');
const TENANT = 'report';
const IDP = 'report-idp';
// Data that would be markup if the page did not escape it.
const APPROVER = `jane.admin <img src=x onerror="document.title='pwned'">`;
const REJECTER = `bob & "co"`;
const REJECT_REASON = `</td></tr></table><script>document.title='pwned'</script>`;
const SCOPE_SUFFIX = `@<svg onload="document.title='pwned'">`;
const UI_URL = 'http://temporal-ui.example:8233';

async function waitFor<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const value = await read();
    if (ok(value)) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe("the auditor's HTML report", () => {
  let temporal: TemporalEnvironment;
  let cxone: Sandbox;
  let idp: Sandbox;
  let worker: TestWorker;
  let client: Client;
  let json: ComplianceReport;
  let htmlFile: string;
  let htmlText: string;
  let seq = 0;
  const today = new Date().toISOString().slice(0, 10);
  const yesterday = new Date(Date.now() - 24 * 60 * 60 * 1000).toISOString().slice(0, 10);

  const start = (input: Omit<SyncUsersInput, 'tenant'>): Promise<WorkflowHandle<typeof syncUsers>> =>
    client.workflow.start(syncUsers, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `report-sync-${++seq}-${randomUUID()}`,
      args: [{ tenant: TENANT, orphans: 'leavers', ...input }],
    });
  const awaitingApproval = (handle: WorkflowHandle<typeof syncUsers>) =>
    waitFor(
      () => handle.query(syncProgressQuery),
      (p) => p.phase === 'awaitingApproval',
      'awaiting approval',
    );

  async function cliReport(format: string): Promise<string> {
    const out = path.join(OUTPUT_DIR, `report.${format}`);
    const args = ['report', '--format', format, '--tenant', TENANT, '--since', yesterday, '--until', today];
    await run(process.execPath, [CLI_MAIN, ...args, '--ui-url', UI_URL, '--out', out], {
      env: { PATH: process.env.PATH, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: temporal.namespace },
    });
    return out;
  }

  before(async () => {
    fs.mkdirSync(OUTPUT_DIR, { recursive: true });
    temporal = await startTestTemporal();
    cxone = await startSandbox({ port: 0, clientSecret: 'report-secret' });
    idp = await startSandbox({ port: 0 });
    for (const name of ['keep', 'leaver1', 'leaver2', 'leaver3']) cxone.adminCreateUser(user(`${name}@corp.example`));
    worker = await startTestWorker(temporal, [sandboxTenant(cxone, TENANT), sandboxTenant(idp, IDP)]);
    client = temporal.testEnv.client;

    // Three removals above a threshold of two: approved.
    const approved = await start({
      users: [user('keep@corp.example'), user('joiner@corp.example')],
      deletionThreshold: { maxCount: 2 },
    });
    const { awaitingApproval: plan } = await awaitingApproval(approved);
    await approved.executeUpdate(approveDeletionsUpdate, {
      args: [{ planHash: plan?.planHash as string, approvedBy: APPROVER }],
    });
    assert.equal((await approved.result()).outcome, 'succeeded');
    // joiner leaving: rejected.
    const rejected = await start({ users: [user('keep@corp.example')], deletionThreshold: { maxCount: 0 } });
    await awaitingApproval(rejected);
    await rejected.executeUpdate(rejectDeletionsUpdate, { args: [{ rejectedBy: REJECTER, reason: REJECT_REASON }] });
    assert.equal((await rejected.result()).outcome, 'rejected');
    assert.equal(
      (await (await start({ users: [user('keep@corp.example')], dryRun: true })).result()).outcome,
      'dry-run',
    );
    // Two failures of different types.
    const empty = await start({ users: [{ schemas: [CORE_USER], displayName: 'no userName' }] });
    await assert.rejects(empty.result());
    const noScope = await start({ users: [user('keep@corp.example')], scope: { userNameSuffixes: [SCOPE_SUFFIX] } });
    await assert.rejects(noScope.result());

    // A user created and deactivated in CXone, both synced to the IdP.
    const userId = `report-${randomUUID()}`;
    const lifecycleEvent = (eventType: string, active: boolean): LifecycleEvent => ({
      eventId: randomUUID(),
      eventType: eventType as LifecycleEvent['eventType'],
      userId,
      timestamp: new Date().toISOString(),
      tenantId: 'sandbox-tenant',
      user: { schemas: [CORE_USER], id: userId, userName: `${userId}@corp.example`, active },
    });
    const send = (event: LifecycleEvent) =>
      client.workflow.signalWithStart(userLifecycle, {
        workflowId: userLifecycleWorkflowId(TENANT, userId),
        taskQueue: worker.settings.taskQueue,
        args: [{ tenant: TENANT, userId, idp: { type: 'scim', tenant: IDP } }],
        signal: lifecycleEventSignal,
        signalArgs: [event],
      });
    const lifecycle = await send(lifecycleEvent('USER_CREATED', true));
    await waitFor(
      () => lifecycle.query(stateQuery),
      (s) => s.counts.synced === 1,
      'creation synced',
    );
    await send(lifecycleEvent('USER_DEACTIVATED', false));
    await waitFor(
      () => lifecycle.query(stateQuery),
      (s) => s.counts.synced === 2,
      'deactivation synced',
    );

    // Visibility is eventually consistent: wait until it lists all six workflows.
    await waitFor(
      async () => {
        const listed = [];
        for await (const e of client.workflow.list({ query: `ScimTenant = '${TENANT}'` })) listed.push(e);
        return listed.length;
      },
      (n) => n === 6,
      'six workflows listed',
    );
    json = JSON.parse(fs.readFileSync(await cliReport('json'), 'utf8')) as ComplianceReport;
    htmlFile = await cliReport('html');
    htmlText = fs.readFileSync(htmlFile, 'utf8');
  });

  after(async () => {
    await worker?.stop();
    await temporal?.stop();
    await cxone?.close();
    await idp?.close();
  });

  it('gathers approvals, rejections, deactivations, failures by type, days and lag into the JSON report', () => {
    const { audit } = json;
    assert.equal(json.runs.length, 6);
    assert.deepEqual(
      audit.days.map((d) => d.day),
      [yesterday, today],
      'every day of the period, the empty one too',
    );
    assert.equal(audit.days[0].runs, 0);
    assert.equal(audit.days[1].runs, 5, 'five syncs; the lifecycle workflow is reported apart');
    assert.deepEqual(
      { ...audit.days[1].byStatus },
      { succeeded: 3, partial: 0, quarantined: 0, failed: 2, running: 0 },
    );
    assert.deepEqual(
      audit.failuresByType.map((f) => [f.type, f.runs]),
      [
        ['EmptySource', 1],
        ['InvalidSyncInput', 1],
      ],
    );
    assert.equal(audit.failuresByType[0].class, 'fatal');
    assert.deepEqual(
      audit.decisions.map((d) => [d.decision, d.by, d.removals, d.reason]),
      [
        ['approved', APPROVER, { users: 3 }, undefined],
        ['rejected', REJECTER, { users: 1 }, REJECT_REASON],
      ],
    );
    assert.ok(audit.decisions.every((d) => /^[0-9a-f]{64}$/.test(d.planHash)));
    assert.deepEqual(
      audit.deactivations.map((d) => [d.workflowType, d.usersDeactivated, d.approvedBy]),
      [
        ['syncUsers', 3, APPROVER],
        ['userLifecycle', 1, undefined],
      ],
    );
    const [lifecycle] = json.entities;
    assert.equal(lifecycle.idpSync.succeeded, 2);
    assert.ok(lifecycle.idpSync.lagMs.max >= lifecycle.idpSync.lagMs.p50);
    assert.deepEqual(json.temporal, { namespace: temporal.namespace, uiUrl: UI_URL });
  });

  it('renders one self-contained page that a real browser shows without errors, and shows the JSON numbers', async () => {
    assert.doesNotMatch(
      htmlText,
      /<(script|img|link|iframe|object|embed)\b/i,
      'no element from the data, none fetched',
    );
    assert.doesNotMatch(htmlText, /<[a-z][^>]*\s(src|srcset|action)=|url\(/i, 'nothing to fetch');
    assert.ok(htmlText.includes(escapeHtml(APPROVER)));

    const browser = await puppeteer.launch({
      executablePath: await chromium.executablePath(),
      args: chromium.args,
      headless: true,
    });
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1200, height: 900 });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warn') errors.push(message.text());
      });
      page.on('pageerror', (err) => errors.push(String(err)));
      await page.setRequestInterception(true);
      const fileUrl = pathToFileURL(htmlFile).href;
      page.on('request', (request) => {
        requests.push(request.url());
        if (request.url() === fileUrl) void request.continue();
        else void request.abort();
      });
      await page.goto(fileUrl, { waitUntil: 'load' });
      await page.screenshot({ path: `${OUTPUT_DIR}/report.png`, fullPage: true });

      assert.deepEqual(requests, [fileUrl], 'the page fetches nothing');
      assert.deepEqual(errors, [], 'no console errors');
      assert.notEqual(await page.title(), 'pwned');
      assert.equal(await page.$$eval('script, img, [onerror], [onload]', (found) => found.length), 0);
      // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person reads
      const bodyText = await page.$eval('body', (body) => body.innerText);
      for (const literal of [APPROVER, REJECTER, REJECT_REASON]) assert.ok(bodyText.includes(literal), literal);
      // The failure message quotes the scope as JSON.
      assert.ok(bodyText.includes(JSON.stringify(SCOPE_SUFFIX).slice(1, -1)), 'the scope in the failure, as text');

      const rows = (id: string) =>
        page.$$eval(`#${id} tbody tr`, (trs) =>
          trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')),
        );
      const text = (id: string) => page.$eval(`#${id}`, (el) => el.textContent?.trim());
      const t = json.audit.totals;
      assert.equal(await text('total-runs'), String(t.runs));
      for (const s of RUN_STATUSES) assert.equal(await text(`total-${s}`), String(t.byStatus[s]), s);
      assert.equal(await text('total-success-rate'), formatRate(t.successRate));

      assert.deepEqual(
        await rows('days'),
        json.audit.days.map((d) => [
          d.day,
          String(d.runs),
          ...RUN_STATUSES.map((s) => String(d.byStatus[s])),
          String(d.attempted),
          String(d.succeeded),
          formatRate(d.successRate),
        ]),
      );
      assert.deepEqual(
        await rows('failures-by-type'),
        json.audit.failuresByType.map((f) => [f.type, f.class ?? '', String(f.runs), f.meaning ?? '']),
      );
      const decisions = await rows('decisions');
      assert.deepEqual(
        decisions.map((cells) => [cells[0], cells[1], cells[2], cells[4], cells[5], cells[6], cells[7]]),
        json.audit.decisions.map((d) => [
          d.at,
          d.decision,
          d.by,
          `${d.removals.users} users`,
          d.reason ?? d.thresholdReason,
          d.tenant,
          d.workflowId,
        ]),
      );
      const planHashes = await page.$$eval('#decisions code', (codes) => codes.map((c) => c.getAttribute('title')));
      assert.deepEqual(
        planHashes,
        json.audit.decisions.map((d) => d.planHash),
      );
      assert.deepEqual(
        await rows('deactivations'),
        json.audit.deactivations.map((d) => [
          d.at,
          String(d.usersDeactivated),
          String(d.usersDeleted),
          String(d.groupsDeleted),
          String(d.membershipsRemoved),
          d.approvedBy ?? '—',
          d.tenant,
          d.workflowId,
        ]),
      );
      const [lifecycleRow] = await rows('lifecycle');
      const e = json.entities[0];
      assert.deepEqual(
        lifecycleRow.slice(-3),
        [e.idpSync.lagMs.p50, e.idpSync.lagMs.p95Worst, e.idpSync.lagMs.max].map(String),
      );
      assert.deepEqual(
        (await rows('summaries')).map((cells) => cells.slice(0, 9)),
        json.summaries.map((s) => [
          s.workflowType,
          ...[s.runs, s.runsSucceeded, s.runsPartial, s.runsFailed, s.attempted, s.succeeded, s.failed].map(String),
          formatRate(s.successRate),
        ]),
      );
      const links = await page.$$eval('#runs a', (anchors) => anchors.map((a) => a.getAttribute('href')));
      assert.deepEqual(
        links,
        json.runs.map((r) => runUiUrl(json.temporal, r)),
      );
      assert.ok(links.every((href) => href?.startsWith(`${UI_URL}/namespaces/${temporal.namespace}/workflows/`)));
      // One bar segment per day and outcome that had runs, each titled with its figure.
      const segments = await page.$$eval('svg[aria-label="Runs per day by outcome"] rect title', (titles) =>
        titles.map((title) => title.textContent),
      );
      assert.deepEqual(
        segments.sort(),
        json.audit.days
          .flatMap((d) => RUN_STATUSES.filter((s) => d.byStatus[s] > 0).map((s) => `${d.day}: ${d.byStatus[s]} ${s}`))
          .sort(),
      );
    } finally {
      await browser.close();
    }
  });
});

describe('the audit figures and the page, from given runs', () => {
  const at = (day: string, status: WorkflowReport['status'], attempted = 2, succeeded = 1): WorkflowReport => ({
    workflowType: 'provisionUsers',
    workflowId: `p-${day}-${status}`,
    runId: randomUUID(),
    tenant: 'acme',
    request: {},
    status,
    startedAt: `${day}T10:00:00.000Z`,
    steps: [],
    totals: {
      attempted,
      succeeded,
      failed: attempted - succeeded,
      successRate: succeeded / attempted,
      latencyMs: { total: 0, p50: 0, p95: 0, p99: 0, max: 0 },
    },
  });

  it('lists every day of the period, counts by day, and takes a bare --until date as that whole day', () => {
    assert.equal(untilInstant('2026-03-03'), '2026-03-04T00:00:00.000Z');
    assert.equal(untilInstant('2026-03-03T12:00:00Z'), '2026-03-03T12:00:00.000Z');
    const figures = auditFigures(
      [at('2026-03-01', 'succeeded'), at('2026-03-03', 'failed'), at('2026-03-03', 'partial')],
      {
        since: '2026-03-01T00:00:00.000Z',
        until: untilInstant('2026-03-04'),
      },
    );
    assert.deepEqual(
      figures.days.map((d) => [d.day, d.runs, d.attempted, d.succeeded, d.successRate]),
      [
        ['2026-03-01', 1, 2, 1, 0.5],
        ['2026-03-02', 0, 0, 0, null],
        ['2026-03-03', 2, 4, 2, 0.5],
        ['2026-03-04', 0, 0, 0, null],
      ],
    );
    assert.deepEqual(figures.failuresByType, [{ type: 'unclassified', runs: 1 }]);
    // Over a long period only the days with runs are listed.
    const long = auditFigures([at('2024-01-01', 'succeeded'), at('2026-01-01', 'succeeded')], {
      since: '2024-01-01T00:00:00.000Z',
    });
    assert.equal(long.days.length, 2);
  });

  it('renders an empty period without charts, and escapes what it is given', () => {
    const empty: ComplianceReport = {
      generatedAt: '2026-03-05T00:00:00.000Z',
      filter: { tenant: '<b>acme</b>' },
      temporal: { namespace: 'default', uiUrl: 'http://localhost:8233' },
      summaries: [],
      entities: [],
      audit: auditFigures([]),
      runs: [],
    };
    const page = renderReportHtml(empty);
    assert.match(page, /No runs in this period\./);
    assert.doesNotMatch(page, /<svg/);
    assert.match(page, /tenant &lt;b&gt;acme&lt;\/b&gt;/);
    assert.doesNotMatch(page, /<b>acme/);
    assert.equal(escapeHtml(`<a href="x" title='y'>&`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;');
  });
});
