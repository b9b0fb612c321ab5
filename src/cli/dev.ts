import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { TenantRegistry, type TenantConfig } from '../config/tenants';
import type { AuthType } from '../http';
import type { ProfileName, Sandbox } from 'cxone-sandbox';
import { NICE_USER_EXTENSION } from '../scim/assignments';
import { temporalSettingsFromEnv } from '../temporal/connection';
import { installRuntime } from '../temporal/runtime';
import { startTemporal } from '../temporal/server';
import { startWebhookReceiver } from '../webhooks/receiver';
import { fixedClient } from '../webhooks/temporal-client';
import { createProjectWorker } from '../worker';
import { registerWebhooks, registerWebhooksWorkflowId } from '../workflows/register-webhooks';
import { stateQuery, userLifecycleWorkflowId } from '../workflows/user-lifecycle/workflow';
import { syncAssignments, type ConfigureServiceProviderResult, type SyncAssignmentsResult } from '../workflows';
import { runConfigure } from './configure';
import { loadSandbox } from './sandbox';
import { printReport } from './print-report';
import { printProvisionReport, progressPrinter, runProvision } from './provision';
import { formatReport, gatherReport } from './report';
import { createSyncSchedule, triggerSyncSchedule } from './schedule';
import { followSync } from './sync';
import { formatAssignmentsResult } from './sync-assignments';
import { formatSyncResult } from './sync-print';
import { checkTenant, formatTenantCheck } from './tenants';
import { workPriority } from '../temporal/priority';
import { startMetadata } from '../workflows/ui-metadata';

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
   * The CXone sandbox's profile: `full` (default) offers every optional feature; `cxone` serves
   * what NICE publishes (access keys with discovery; SCIM Users and Schemas only, no
   * ServiceProviderConfig, Bulk, ETags, Groups or DELETE; Pending employees; skills and teams APIs).
   */
  profile?: ProfileName;
}

/** A demo step and how it ended. */
export interface DemoStep {
  step: string;
  outcome: string;
}

export interface DemoSummary {
  profile: ProfileName;
  /** Every step in order with its outcome (e.g. configureServiceProvider `not-published` on the cxone profile). */
  steps: DemoStep[];
  provisioned: number;
  invalid: number;
  /** cxone profile: the employees CXone holds as Pending (created, not yet activated in the console). */
  pending: number;
  syncedToIdp: number;
  /** The scheduled syncUsers runs: changes each applied and leavers deactivated (the second, in sync, none). */
  syncRuns: Array<{ workflowId: string; outcome: string; changes: number; deactivated: number }>;
  /** cxone profile: the syncAssignments run (skills with proficiency, teams); the full profile has no such API. */
  assignments?: { workflowId: string; outcome: string; applied: SyncAssignmentsResult['applied']; failed: number };
  workflowIds: { configure: string; register: string; provision: string; lifecycle: string };
}

type Attrs = Record<string, unknown>;

/** What the demo does differently per profile (CXone's User has no displayName, title or enterprise extension). */
interface ProfileDemo {
  mapping: string;
  /** A console edit the scheduled sync puts back. */
  drift: (user: Attrs) => Attrs;
  /** A console promotion, as it reads, and how the IdP's copy shows it. */
  promotion: string;
  promote: (cxone: Sandbox) => Attrs;
  promoted: (idpUser: Attrs | undefined, cxone: Sandbox) => boolean;
}

const supervisorRole = (cxone: Sandbox) => String(cxone.tenant?.roles.find((r) => r.name === 'Supervisor')?.id);

const PROFILE_DEMO: Record<ProfileName, ProfileDemo> = {
  full: {
    mapping: 'hr-mapping.json',
    drift: () => ({ displayName: 'Renamed In Console' }),
    promotion: 'promoted to Team Lead',
    promote: () => ({ title: 'Team Lead' }),
    promoted: (user) => user?.title === 'Team Lead',
  },
  cxone: {
    mapping: 'hr-mapping-cxone.json',
    drift: (user) => ({ name: { ...(user.name as object), familyName: 'RenamedInConsole' } }),
    promotion: 'given the Supervisor role',
    promote: (cxone) => ({ roles: [{ value: supervisorRole(cxone), primary: true }] }),
    promoted: (user, cxone) =>
      (user?.roles as Attrs[] | undefined)?.some((r) => r.value === supervisorRole(cxone)) === true,
  },
};

/** People (the last rows with an email) who have left by the time the scheduled sync runs. */
const LEAVERS = 2;

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
  mapping: string,
): Promise<DemoSummary['syncRuns']> {
  log('\n-- 4. syncUsers on a schedule (cxone-scim schedule create / trigger / delete)');
  const scheduleId = await createSyncSchedule(client, taskQueue, csv, {
    tenant: CXONE_TENANT,
    format: 'csv',
    mapping,
    // The demo made this tenant itself (step 2 provisioned every user): its leavers are leavers, no adoption needed.
    orphans: 'leavers',
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
      runs.push({ workflowId, outcome: end.result.outcome, changes, deactivated: end.result.applied.deactivate });
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
  const common: Pick<TenantConfig, 'tenantId' | 'scimPath' | 'webhookSecret' | 'webhookSignature' | 'endpoints'> = {
    tenantId,
    scimPath: '/scim/v2',
    webhookSecret: sandbox.webhookSecret,
    webhookSignature,
    // CXone has no SCIM Groups (teams are the NICE extension's `team`): said, rather than found by a 404.
    ...(sandbox.profile === 'cxone' ? { endpoints: { groups: null } } : {}),
  };
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
 * Why the IdP refuses users, once it has answered a creation with 400: the demo then stops at once
 * with the userLifecycle workflow's reason instead of waiting out its deadline.
 */
async function idpRefusal(client: Client, idp: Sandbox, cxone: Sandbox): Promise<string | undefined> {
  if (!idp.requestLog.some((r) => r.method === 'POST' && r.path.endsWith('/Users') && r.status === 400))
    return undefined;
  for (const user of cxone.listUsers().slice(0, 50)) {
    const handle = client.workflow.getHandle(userLifecycleWorkflowId(CXONE_TENANT, String(user.id)));
    const state = await handle.query(stateQuery).catch(() => undefined);
    if (state?.lastSyncError) return state.lastSyncError;
  }
  return 'HTTP 400 to POST /Users';
}

/**
 * The HR export as the scheduled sync reads it: the last `count` people with an email have left
 * (their rows are gone), the rest is unchanged. Returns the leavers' userNames.
 */
export function writeLeaversExport(from: string, to: string, count: number): string[] {
  const [header, ...rows] = fs.readFileSync(from, 'utf8').trimEnd().split('\n');
  const column = header.split(',').indexOf('email');
  const leavers = rows.filter((row) => row.split(',')[column] !== '').slice(-count);
  fs.writeFileSync(to, `${[header, ...rows.filter((row) => !leavers.includes(row))].join('\n')}\n`);
  return leavers.map((row) => row.split(',')[column].toLowerCase());
}

/**
 * Skills (with proficiency 1..20) and a team for a few employees, as a workforce team keeps them:
 * `userName,skills,team`, skills as `Name:proficiency` joined by `;`.
 */
export function writeAssignments(file: string, userNames: readonly string[]): void {
  const plans = [
    ['Sales:12;Support:4', 'Sales'],
    ['Support:15', 'Support'],
    ['Sales:6;Billing:9', 'Sales'],
    ['Billing:18;Support:2', 'Support'],
  ];
  const rows = userNames.map((userName, i) => [userName, ...plans[i % plans.length]].join(','));
  fs.writeFileSync(file, `${['userName,skills,team', ...rows].join('\n')}\n`);
}

/**
 * `npm start` / `cxone-scim dev`: the jobs end to end on one laptop.
 *
 *   embedded Temporal (or TEMPORAL_ADDRESS) · CXone sandbox · IdP sandbox · worker · webhook receiver
 *   1. tenants check and configureServiceProvider: examples/service-provider-config.json → sandbox
 *      (If-Match PUT); on the cxone profile, which publishes no ServiceProviderConfig, `not-published`
 *   2. registerWebhooks           USER_CREATED / USER_UPDATED / USER_DEACTIVATED → the receiver
 *   3. provisionUsers             a generated HR CSV + the profile's mapping → /Bulk, or one
 *                                 resource at a time without Bulk (cxone: employees created Pending)
 *   4. syncUsers on a schedule    the HR export without the leavers, triggered twice: the first run
 *                                 puts a console edit back and deactivates the leavers, the second changes nothing
 *   5. syncAssignments            cxone profile: skills with proficiency and a team for a few employees
 *   6. userLifecycle              every webhook → signal-with-start → IdP sandbox; then console edits
 *   7. compliance report over all runs, and where to look in the Temporal UI
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
    const demo = PROFILE_DEMO[profile];
    const cxone = await startSandbox({ port: 0, tenantId: CXONE_TENANT, profile });
    cleanups.unshift(() => cxone.close());
    const idp = await startSandbox({ port: 0, tenantId: IDP_TENANT });
    cleanups.unshift(() => idp.close());
    log(
      `CXone sandbox     ${cxone.url} (profile ${profile}${profile === 'cxone' ? ': the surface NICE publishes; access keys, API base discovered from the issuer' : ''})`,
    );
    log(`IdP sandbox       ${idp.url}`);
    const cxoneTenant = sandboxTenant(cxone, CXONE_TENANT);
    const tenants = new TenantRegistry([cxoneTenant, sandboxTenant(idp, IDP_TENANT)]);
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
    const steps: DemoStep[] = [];
    const done = (step: string, outcome: string) => steps.push({ step, outcome });

    return await worker.runUntil(async () => {
      // CXone publishes no ServiceProviderConfig: the demo verifies (never writes) and expects to be told so.
      const mode = profile === 'cxone' ? 'verify' : 'apply';
      log(`\n-- 1. tenants check, configureServiceProvider (${mode})`);
      const check = await checkTenant(cxoneTenant);
      log(formatTenantCheck(check));
      if (!check.ok) throw new Error(`tenants check of ${CXONE_TENANT} failed: ${check.error}`);
      done('tenantsCheck', 'ok');
      const desired: unknown = JSON.parse(fs.readFileSync(path.join(EXAMPLES, 'service-provider-config.json'), 'utf8'));
      const configured = await runConfigure(client, settings.taskQueue, { tenant: CXONE_TENANT, desired, mode });
      printReport(configured.report, 'text', out);
      if (!configured.ok) throw new Error('configureServiceProvider failed; see the report above');
      const spc = configured.report.result as ConfigureServiceProviderResult | undefined;
      if (spc?.published === false) {
        log(
          `the provider publishes no ServiceProviderConfig (${spc.absence ?? 'not published'}), as NICE documents for CXone: ` +
            'expected; capabilities come from defaults and the tenant configuration (see the check above). ' +
            '`cxone-scim configure` exits 4 here.',
        );
      }
      done('configureServiceProvider', spc?.published === false ? 'not-published' : configured.report.status);

      log('\n-- 2. registerWebhooks');
      const registerId = registerWebhooksWorkflowId(CXONE_TENANT);
      const registerInput = { tenant: CXONE_TENANT, url: receiver.callbackUrl(CXONE_TENANT) };
      const registered = await client.workflow.execute(registerWebhooks, {
        taskQueue: settings.taskQueue,
        workflowId: registerId,
        args: [registerInput],
        priority: workPriority('interactive', CXONE_TENANT),
        ...startMetadata('registerWebhooks', registerInput, { startedBy: 'cxone-scim dev' }),
      });
      log(
        `subscription ${registered.created?.id ?? registered.existing.map((s) => s.id).join(', ')} for ${registered.events.join(', ')}`,
      );
      done('registerWebhooks', registered.created ? 'created' : 'existing');

      log(`\n-- 3. provisionUsers (${userCount} users from an HR CSV export, mapping examples/${demo.mapping})`);
      const csv = path.join(workDir, 'hr-export.csv');
      writeHrExport(csv, userCount);
      const mappingFile = path.join(EXAMPLES, demo.mapping);
      const mapping: unknown = JSON.parse(fs.readFileSync(mappingFile, 'utf8'));
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
      done('provisionUsers', provisioned.report.status);
      const pendingCount = () =>
        cxone
          .listUsers()
          .filter((u) => (u[NICE_USER_EXTENSION] as { status?: unknown } | undefined)?.status === 'Pending').length;
      if (profile === 'cxone')
        log(
          `${pendingCount()} employees are Pending in CXone: an administrator activates them; until then CXone refuses a change of their userName`,
        );

      const syncCsv = path.join(workDir, 'hr-export-after-leavers.csv');
      const leavers = writeLeaversExport(csv, syncCsv, LEAVERS);
      // Console edits are made to people who stay and are active.
      const staying = () =>
        cxone
          .listUsers()
          .filter((u) => u.active !== false && !leavers.includes(String(u.userName).toLowerCase())) as Array<
          Attrs & { id: string; userName: string }
        >;
      const drift = () => {
        const drifted = staying()[2];
        cxone.adminUpdateUser(drifted.id, demo.drift(drifted));
        return drifted.userName;
      };
      log(`\nleavers: ${leavers.join(', ')} are no longer in the HR export`);
      const syncRuns = await demoSyncSchedule(client, settings.taskQueue, syncCsv, log, drift, mappingFile);
      done('syncUsers', syncRuns.map((r) => r.outcome).join(', '));

      log('\n-- 5. syncAssignments: skills with proficiency and teams (cxone-scim sync-assignments)');
      let assignments: DemoSummary['assignments'];
      if (profile === 'cxone') {
        const file = path.join(workDir, 'assignments.csv');
        const staff = staying()
          .slice(3, 7)
          .map((u) => u.userName);
        writeAssignments(file, staff);
        log(fs.readFileSync(file, 'utf8').trimEnd());
        const workflowId = `sync-assignments-${CXONE_TENANT}-demo`;
        const assigned = await client.workflow.execute(syncAssignments, {
          taskQueue: settings.taskQueue,
          workflowId,
          args: [{ tenant: CXONE_TENANT, source: { path: file } }],
        });
        log(formatAssignmentsResult(workflowId, assigned).trimEnd());
        assignments = { workflowId, outcome: assigned.outcome, applied: assigned.applied, failed: assigned.failed };
        done('syncAssignments', assigned.outcome);
      } else {
        log('skipped: the full profile has no skills or teams API (try `npm start -- --profile cxone`)');
        done('syncAssignments', 'skipped');
      }

      log('\n-- 6. userLifecycle: CXone webhooks → receiver → workflows → IdP');
      await waitFor(
        `${valid} users in the IdP`,
        async () => {
          const refusal = await idpRefusal(client, idp, cxone);
          if (refusal) throw new Error(`the IdP refuses the users CXone sends: ${refusal}`);
          return idp.countUsers() >= valid;
        },
        300_000,
      );
      log(`${idp.countUsers()} users created in the IdP from USER_CREATED webhooks`);
      const [promoted, leaver] = staying().slice(0, 2);
      cxone.adminUpdateUser(promoted.id, demo.promote(cxone));
      cxone.adminDeactivateUser(leaver.id);
      log(`console edits: ${promoted.userName} ${demo.promotion}, ${leaver.userName} deactivated`);
      const idpUser = (userName: string) => idp.listUsers().find((u) => u.userName === userName);
      await waitFor(
        'the edits to reach the IdP',
        () => demo.promoted(idpUser(promoted.userName), cxone) && idpUser(leaver.userName)?.active === false,
        60_000,
      );
      const lifecycleId = userLifecycleWorkflowId(CXONE_TENANT, leaver.id);
      // The IdP has the change before the workflow has recorded its activity's result: wait for that too.
      const lifecycle = client.workflow.getHandle(lifecycleId);
      let state = await lifecycle.query(stateQuery);
      await waitFor(
        `${lifecycleId} to record the deactivation`,
        async () => {
          state = await lifecycle.query(stateQuery);
          return state.pending === 0 && state.idpSync !== 'pending';
        },
        60_000,
      );
      log(
        `${lifecycleId}: status ${state.status}, IdP ${state.idpSync}, events ${state.recent.map((e) => `${e.eventType}:${e.outcome}`).join(' → ')}`,
      );
      done('userLifecycle', `${state.status}, IdP ${state.idpSync}`);

      log('\n-- 7. compliance report (cxone-scim report --format md)');
      out.write(formatReport(await gatherReport(client, { tenant: CXONE_TENANT }), 'md'));
      log();
      done('report', 'written');
      log(`steps: ${steps.map((s) => `${s.step} ${s.outcome}`).join(' · ')}`);
      if (temporal.uiUrl) log(`Temporal UI: ${temporal.uiUrl}/namespaces/${settings.namespace}/workflows`);
      log(
        `Audit trail: cxone-scim audit ${provisioned.handle.workflowId}   (with TEMPORAL_ADDRESS=${temporal.address})`,
      );
      if (options.keepRunning) {
        log('Running until Ctrl-C (the sandbox keeps delivering webhooks; try `cxone-scim report`).');
        await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      }
      return {
        profile,
        steps,
        provisioned: valid,
        invalid: result.totals.invalid,
        pending: profile === 'cxone' ? pendingCount() : 0,
        syncedToIdp: idp.countUsers(),
        syncRuns,
        ...(assignments ? { assignments } : {}),
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
