import { randomUUID } from 'node:crypto';
import { TenantRegistry, type TenantConfig } from '../config/tenants';
import { startSandbox, type Sandbox } from '../sandbox';
import { temporalSettingsFromEnv } from '../temporal/connection';
import { startTemporal } from '../temporal/server';
import { createProjectWorker } from '../worker';
import { discoverServiceProvider } from '../workflows';

export interface DevOptions {
  dbFile?: string;
  uiPort?: number;
  keepRunning?: boolean;
}

/** The tenant that points at a local sandbox, with the sandbox's credentials. */
export function sandboxTenant(sandbox: Sandbox, tenantId = 'sandbox'): TenantConfig {
  return {
    tenantId,
    baseUrl: sandbox.url,
    scimPath: '/scim/v2',
    tokenUrl: sandbox.tokenUrl,
    clientId: sandbox.clientId,
    clientSecret: sandbox.clientSecret,
    scopes: sandbox.scopes,
    webhookSecret: sandbox.webhookSecret,
  };
}

/** `cxone-scim dev` / `npm start`: everything on one laptop, then a clean exit. */
export async function runDev(options: DevOptions): Promise<void> {
  const log = (line: string) => console.log(`[dev] ${line}`);
  const temporal = await startTemporal({ dbFilename: options.dbFile, uiPort: options.uiPort });
  log(`Temporal server at ${temporal.address} (${temporal.source.kind === 'executable' ? temporal.source.path : temporal.source.kind})`);
  const sandbox = await startSandbox({ port: 0 });
  log(`CXone sandbox at ${sandbox.url}`);
  const settings = temporalSettingsFromEnv(process.env, temporal.address);
  const tenant = sandboxTenant(sandbox);
  const worker = await createProjectWorker({
    settings,
    tenants: new TenantRegistry([tenant]),
    connection: temporal.testEnv.nativeConnection,
  });
  try {
    await worker.runUntil(async () => {
      log(`worker polling task queue ${settings.taskQueue}`);
      const client = temporal.testEnv.client;
      const result = await client.workflow.execute(discoverServiceProvider, {
        taskQueue: settings.taskQueue,
        workflowId: `discover-${tenant.tenantId}-${randomUUID()}`,
        args: [{ tenant: tenant.tenantId }],
      });
      log(`discovered ServiceProviderConfig: HTTP ${result.httpStatus}, ETag ${result.etag}, sha256 ${result.payloadSha256}`);
      if (options.keepRunning) {
        log('running until Ctrl-C');
        await new Promise<void>((resolve) => process.once('SIGINT', resolve));
      }
    });
  } finally {
    await sandbox.close();
    await temporal.stop();
  }
  log('done');
}
