import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { TenantRegistry, type TenantConfig } from '../config/tenants';
import type { AuthType } from '../http';
import type { ProfileName, Sandbox } from 'cxone-sandbox';
import { temporalSettingsFromEnv } from '../temporal/connection';
import { installRuntime } from '../temporal/runtime';
import { startTemporal } from '../temporal/server';
import { startWebhookReceiver } from '../webhooks/receiver';
import { fixedClient } from '../webhooks/temporal-client';
import { createProjectWorker } from '../worker';
import { registerWebhooks, registerWebhooksWorkflowId } from '../workflows/register-webhooks';
import { stateQuery, userLifecycleWorkflowId } from '../workflows/user-lifecycle/workflow';
import { runConfigure } from './configure';
import { loadSandbox } from './sandbox';
import { printReport } from './print-report';
import { printProvisionReport, progressPrinter, runProvision } from './provision';
import { formatReport, gatherReport } from './report';
import { createSyncSchedule, triggerSyncSchedule } from './schedule';
import { followSync } from './sync';
import { formatSyncResult } from './sync-print';

const EXAMPLES = path.resolve(__dirname, '..', '..', '..', 'examples');
const CXONE_TENANT = 'cxone-demo';
const IDP_TENANT = 'idp-demo';

export interface DevOptions {
  /** Users to generate and provision (default 1000). */
  users?: number;
  dbFile?: string;
  /** Temporal UI port of the embedded server (default 8233; 0 turns the UI off). */
  uiPort?: number;
  keepRunning?: boolean;
  /** Where the demo writes (default stdout). */
  out?: NodeJS.WritableStream;
  /** Live progress bar (default on when stderr is a terminal). */
  progress?: boolean;
  /**
   * The CXone sandbox's profile: `full` (default) offers every optional feature; `cxone` behaves
   * like real CXone (access keys with discovery, no Bulk, no ETags, read-only ServiceProviderConfig).
   */
  profile?: ProfileName;
}

export interface DemoSummary {
  provisioned: number;
  invalid: number;
  syncedToIdp: number;
  /** The scheduled syncUsers runs: changes each applied (the second, in sync, none). */
  syncRuns: Array<{ workflowId: string; outcome: string; changes: number }>;
  workflowIds: { configure: string; register: string; provision: string; lifecycle: string };
}

/**
 * Step 4: a schedule running syncUsers over the HR export just provisioned (Skip overlaps, daily),
 * triggered twice after a console edit: the first run puts the edited user back, the second changes nothing; then it goes.
 */
async function demoSyncSchedule(
  client: Client,
  taskQueue: string,
  csv: string,
  log: (line?: string) => void,
  drift: () => string,
): Promise<DemoSummary['syncRuns']> {
  log('\n-- 4. syncUsers on a schedule (cxone-scim schedule create / trigger / delete)');
  const scheduleId = await createSyncSchedule(client, taskQueue, csv, {
    tenant: CXONE_TENANT,
    format: 'csv',
    mapping: path.join(EXAMPLES, 'hr-mapping.json'),
    every: '1 day',
    catchupWindow: '10 minutes',
  });
  log(`schedule ${scheduleId}: every day, overlap policy Skip`);
  log(`console edit (drift): ${drift()} renamed in CXone`);
  const runs: DemoSummary['syncRuns'] = [];
  try {
    for (const run of ['first', 'second']) {
      const workflowId = await triggerSyncSchedule(client, scheduleId);
      if (!workflowId) throw new Error(`schedule ${scheduleId}: the ${run} run was skipped`);
      const end = await followSync(client.workflow.getHandle(workflowId));
      if (end.state !== 'completed') throw new Error(`syncUsers ${workflowId} did not complete (${end.state})`);
      const changes = Object.values(end.result.applied).reduce((n, c) => n + c, 0);
      log(`${run} run:`);
      log(formatSyncResult(workflowId, end.result).trimEnd());
      runs.push({ workflowId, outcome: end.result.outcome, changes });
    }
  } finally {
    await client.schedule.getHandle(scheduleId).delete();
  }
  log(`second run: ${runs[1].changes} changes; schedule ${scheduleId} deleted`);
  return runs;
}

/**
 * The tenant that points at a local sandbox, with the sandbox's credentials, authenticating the
 * way the sandbox's profile expects: client credentials (`full`), or access keys with the API base
 * discovered from the issuer (`cxone`). Any other strategy on request.
 */
export function sandboxTenant(sandbox: Sandbox, tenantId = 'sandbox', authType?: AuthType): TenantConfig {
  const type = authType ?? (sandbox.profile === 'cxone' ? 'cxone-access-key' : 'client-credentials');
  // Deliveries are verified the way this sandbox signs them.
  const webhookSignature =
    typeof sandbox.webhookSignature === 'string' ? sandbox.webhookSignature : { ...sandbox.webhookSignature };
  const common = { tenantId, scimPath: '/scim/v2', webhookSecret: sandbox.webhookSecret, webhookSignature };
  const { clientId, clientSecret, accessKeyId, accessKeySecret, scopes } = sandbox;
  switch (type) {
    case 'client-credentials':
      return {
        ...common,
        baseUrl: sandbox.url,
        auth: {
          type,
          tokenUrl: sandbox.tokenUrl,
          clientId,
          clientSecret,
          scopes,
          clientAuthMethod: 'client_secret_basic',
        },
      };
    case 'cxone-access-key':
      return {
        ...common,
        auth: { type, issuer: sandbox.issuer, clientId, clientSecret, accessKeyId, accessKeySecret, scopes: [] },
      };
    case 'cxone-access-key-legacy':
      return {
        ...common,
        baseUrl: sandbox.url,
        auth: { type, authUrl: sandbox.authUrl, accessKeyId, accessKeySecret },
      };
    case 'bearer':
      if (!sandbox.staticToken) throw new Error('bearer auth needs a sandbox started with a staticToken');
      return { ...common, baseUrl: sandbox.url, auth: { type, token: sandbox.staticToken } };
  }
}

/**
 * An HR export as identity teams get them: CSV, one row per person. Every 200th row has no
 * email, so the demo shows validation reporting a record and provisioning the rest.
 */
export function writeHrExport(file: string, count: number): void {
  const departments = ['Support', 'Sales', 'Billing', 'Quality', 'Workforce'];
  const rows = ['employee_id,email,first_name,last_name,department,enabled'];
  for (let i = 1; i <= count; i++) {
    const id = `E${String(i).padStart(6, '0')}`;
    const email = i % 200 === 0 ? '' : `Agent.${i}@Example.com`;
    rows.push(
      `${id},${email},Agent,Number${i},${departments[i % departments.length]},${i % 50 === 0 ? 'false' : 'true'}`,
    );
  }
  fs.writeFileSync(file, `${rows.join('\n')}\n`);
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * `npm start` / `cxone-scim dev`: the four jobs end to end on one laptop.
 *
 *   embedded Temporal (or TEMPORAL_ADDRESS) · CXone sandbox · IdP sandbox · worker · webhook receiver
 *   1. configureServiceProvider   examples/service-provider-config.json → sandbox (If-Match PUT)
 *   2. registerWebhooks           USER_CREATED / USER_UPDATED / USER_DEACTIVATED → the receiver
 *   3. provisionUsers             a generated HR CSV + examples/hr-mapping.json → /Bulk
 *   4. syncUsers on a schedule    the same HR export, triggered twice: the second run changes nothing
 *   5. userLifecycle              every webhook → signal-with-start → IdP sandbox; then console edits
 *   6. compliance report over all runs, and where to look in the Temporal UI
 */
export async function runDev(options: DevOptions = {}): Promise<DemoSummary> {
  const out = options.out ?? process.stdout;
  const log = (line = '') => out.write(`${line}\n`);
  const userCount = options.users ?? 1000;
  const ownServer = Boolean(process.env.TEMPORAL_ADDRESS);
  const uiPort = ownServer || options.uiPort === 0 ? undefined : (options.uiPort ?? 8233);

  // The demo prints its own story; the SDK's logs only when something is wrong.
  installRuntime(process.env, 'WARN');
  log('== cxone-scim demo ==');
  // Everything started is stopped again, in reverse order, however far the demo got.
  const cleanups: Array<() => Promise<unknown> | void> = [];
  const { startSandbox } = loadSandbox();
  try {
    const temporal = await startTemporal({ dbFilename: options.dbFile, uiPort });
    cleanups.unshift(() => temporal.stop());
    const source = temporal.source.kind === 'executable' ? temporal.source.path : temporal.source.kind;
    log(`Temporal server   ${temporal.address} (${source})`);
    const profile = options.profile ?? 'full';
    const cxone = await startSandbox({ port: 0, tenantId: CXONE_TENANT, profile });
    cleanups.unshift(() => cxone.close());
    const idp = await startSandbox({ port: 0, tenantId: IDP_TENANT });
    cleanups.unshift(() => idp.close());
    log(
      `CXone sandbox     ${cxone.url} (profile ${profile}${profile === 'cxone' ? ': access keys, API base discovered from the issuer' : ''})`,
    );
    log(`IdP sandbox       ${idp.url}`);
    const tenants = new TenantRegistry([sandboxTenant(cxone, CXONE_TENANT), sandboxTenant(idp, IDP_TENANT)]);
    const settings = temporalSettingsFromEnv(process.env, temporal.address);
    const client: Client = temporal.testEnv.client;
    const worker = await createProjectWorker({ settings, tenants, connection: temporal.testEnv.nativeConnection });
    const receiver = await startWebhookReceiver({
      tenants,
      temporal: fixedClient(client),
      taskQueue: settings.taskQueue,
      idp: { type: 'scim', tenant: IDP_TENANT },
    });
    cleanups.unshift(() => receiver.close());
    log(`Webhook receiver  ${receiver.callbackUrl(CXONE_TENANT)}`);
    log(`Worker            task queue ${settings.taskQueue}, namespace ${settings.namespace}`);
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cxone-scim-demo-'));
    cleanups.unshift(() => fs.rmSync(workDir, { recursive: true, force: true }));

    return await worker.runUntil(async () => {
      // CXone's ServiceProviderConfig is read-only: the demo compares instead of writing.
      const mode = profile === 'cxone' ? 'verify' : 'apply';
      log(`\n-- 1. configureServiceProvider (${mode})`);
      const desired: unknown = JSON.parse(fs.readFileSync(path.join(EXAMPLES, 'service-provider-config.json'), 'utf8'));
      const configured = await runConfigure(client, settings.taskQueue, { tenant: CXONE_TENANT, desired, mode });
      printReport(configured.report, 'text', out);
      if (!configured.ok) throw new Error('configureServiceProvider failed; see the report above');

      log('\n-- 2. registerWebhooks');
      const registerId = registerWebhooksWorkflowId(CXONE_TENANT);
      const registered = await client.workflow.execute(registerWebhooks, {
        taskQueue: settings.taskQueue,
        workflowId: registerId,
        args: [{ tenant: CXONE_TENANT, url: receiver.callbackUrl(CXONE_TENANT) }],
      });
      log(
        `subscription ${registered.created?.id ?? registered.existing.map((s) => s.id).join(', ')} for ${registered.events.join(', ')}`,
      );

      log(`\n-- 3. provisionUsers (${userCount} users from an HR CSV export)`);
      const csv = path.join(workDir, 'hr-export.csv');
      writeHrExport(csv, userCount);
      const mapping: unknown = JSON.parse(fs.readFileSync(path.join(EXAMPLES, 'hr-mapping.json'), 'utf8'));
      const showProgress = options.progress ?? Boolean(process.stderr.isTTY);
      const bar = showProgress ? progressPrinter() : undefined;
      const provisioned = await runProvision(
        client,
        settings.taskQueue,
        { tenant: CXONE_TENANT, source: { path: csv, format: 'csv', mapping } },
        { onProgress: bar?.update },
      );
      bar?.end();
      printProvisionReport(provisioned.report, 'text', out);
      const result = provisioned.report.result;
      if (!provisioned.ok || !result) throw new Error('provisionUsers failed; see the report above');
      const valid = result.totals.succeeded;
      const drift = () => {
        const drifted = cxone.listUsers()[2] as { id: string; userName: string };
        cxone.adminUpdateUser(drifted.id, { displayName: 'Renamed In Console' });
        return drifted.userName;
      };
      const syncRuns = await demoSyncSchedule(client, settings.taskQueue, csv, log, drift);

      log('\n-- 5. userLifecycle: CXone webhooks → receiver → workflows → IdP');
      await waitFor(`${valid} users in the IdP`, () => idp.countUsers() >= valid, 300_000);
      log(`${idp.countUsers()} users created in the IdP from USER_CREATED webhooks`);
      const [promoted, leaver] = cxone.listUsers().slice(0, 2) as Array<{ id: string; userName: string }>;
      cxone.adminUpdateUser(promoted.id, { title: 'Team Lead' });
      cxone.adminDeactivateUser(leaver.id);
      log(`console edits: ${promoted.userName} promoted to Team Lead, ${leaver.userName} deactivated`);
      const idpUser = (userName: string) =>
        idp.listUsers().find((u) => u.userName === userName) as Record<string, unknown> | undefined;
      await waitFor(
        'the edits to reach the IdP',
        () => idpUser(promoted.userName)?.title === 'Team Lead' && idpUser(leaver.userName)?.active === false,
        60_000,
      );
      const lifecycleId = userLifecycleWorkflowId(CXONE_TENANT, leaver.id);
      const state = await client.workflow.getHandle(lifecycleId).query(stateQuery);
      log(
        `${lifecycleId}: status ${state.status}, IdP ${state.idpSync}, events ${state.recent.map((e) => `${e.eventType}:${e.outcome}`).join(' → ')}`,
      );

      log('\n-- 6. compliance report (cxone-scim report --format md)');
      out.write(formatReport(await gatherReport(client, { tenant: CXONE_TENANT }), 'md'));
      log();
      if (temporal.uiUrl) log(`Temporal UI: ${temporal.uiUrl}/namespaces/${settings.namespace}/workflows`);
      log(
        `Audit trail: cxone-scim audit ${provisioned.handle.workflowId}   (with TEMPORAL_ADDRESS=${temporal.address})`,
      );
      if (options.keepRunning) {
        log('Running until Ctrl-C (the sandbox keeps delivering webhooks; try `cxone-scim report`).');
        await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      }
      return {
        provisioned: valid,
        invalid: result.totals.invalid,
        syncedToIdp: idp.countUsers(),
        syncRuns,
        workflowIds: {
          configure: configured.report.workflowId,
          register: registerId,
          provision: provisioned.handle.workflowId,
          lifecycle: lifecycleId,
        },
      };
    });
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
}
