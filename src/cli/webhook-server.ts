import type { Command } from 'commander';
import { DEFAULT_TENANT_ID, TenantRegistry } from '../config/tenants';
import { connectClient, temporalSettingsFromEnv } from '../temporal/connection';
import {
  registerWebhooks,
  registerWebhooksWorkflowId,
  type RegisterWebhooksInput,
} from '../workflows/register-webhooks';
import type { IdpTarget } from '../workflows/user-lifecycle/workflow';
import { LIFECYCLE_EVENT_TYPES } from '../scim/lifecycle-events';
import {
  consoleLogger,
  DEFAULT_BODY_LIMIT_BYTES,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_WAIT_MS,
  DEFAULT_TEMPORAL_TIMEOUT_MS,
  DEFAULT_TOLERANCE_SECONDS,
  startWebhookReceiver,
} from '../webhooks/receiver';
import { LazyTemporalClient } from '../webhooks/temporal-client';
import { workPriority } from '../temporal/priority';
import { startMetadata } from '../workflows/ui-metadata';

const int = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${value}`);
  return n;
};

interface ServerOptions {
  port: number;
  host: string;
  tenant?: string;
  idpTenant?: string;
  taskQueue?: string;
  toleranceSeconds: number;
  bodyLimit: number;
  temporalTimeoutMs: number;
  maxInFlight: number;
  maxWaitMs: number;
  verbose?: boolean;
}

/** `cxone-scim webhook-server` and `cxone-scim register-webhooks`. */
export function registerWebhookServerCommand(program: Command): void {
  program
    .command('webhook-server')
    .description(
      'Receive CXone lifecycle webhooks: POST /webhooks/cxone/{tenant} (and /webhooks/cxone for --tenant), verified with the ' +
        "tenant's webhook secret and signature scheme, then signal-with-start userLifecycle. GET /healthz, GET /readyz, GET /metrics. " +
        'Tenants from CXONE_* or CXONE_TENANTS_FILE; Temporal from TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE.',
    )
    .option('--port <port>', 'port to listen on', int('--port'), Number(process.env.CXONE_WEBHOOK_PORT ?? 8080))
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--tenant <id>', 'tenant of POST /webhooks/cxone (default: CXONE_TENANT_ID, "default", or the only tenant)')
    .option('--idp-tenant <id>', "sync users to this tenant's SCIM endpoint (the IdP); default: no IdP sync")
    .option(
      '--task-queue <name>',
      'task queue of the userLifecycle workflows (default TEMPORAL_TASK_QUEUE or cxone-scim)',
    )
    .option(
      '--tolerance-seconds <s>',
      'accepted clock distance of the signature timestamp, for tenants whose webhookSignature sets none',
      int('--tolerance-seconds'),
      DEFAULT_TOLERANCE_SECONDS,
    )
    .option('--body-limit <bytes>', 'largest accepted body', int('--body-limit'), DEFAULT_BODY_LIMIT_BYTES)
    .option(
      '--temporal-timeout-ms <ms>',
      'answer 503 when Temporal has not accepted the signal by then',
      int('--temporal-timeout-ms'),
      DEFAULT_TEMPORAL_TIMEOUT_MS,
    )
    .option(
      '--max-in-flight <n>',
      'deliveries handed to Temporal at once; more wait for a slot',
      int('--max-in-flight'),
      DEFAULT_MAX_IN_FLIGHT,
    )
    .option(
      '--max-wait-ms <ms>',
      'answer 503 when a delivery waited this long for a slot',
      int('--max-wait-ms'),
      DEFAULT_MAX_WAIT_MS,
    )
    .option('--verbose', 'log every accepted event')
    .action(async (options: ServerOptions) => {
      await runWebhookServer(options);
    });

  program
    .command('register-webhooks')
    .description(
      'Run registerWebhooks: make sure CXone webhook subscriptions exist for the events and callback URL (idempotent).',
    )
    .requiredOption(
      '--url <url>',
      "the receiver's public callback URL, e.g. https://hooks.example.com/webhooks/cxone/acme",
    )
    .option('--tenant <id>', 'tenant id', process.env.CXONE_TENANT_ID || DEFAULT_TENANT_ID)
    .option('--events <list>', 'comma-separated event types', LIFECYCLE_EVENT_TYPES.join(','))
    .option('--description <text>', 'subscription description')
    .action(async (options: { url: string; tenant: string; events: string; description?: string }) => {
      const settings = temporalSettingsFromEnv();
      const client = await connectClient(settings);
      try {
        const input: RegisterWebhooksInput = {
          tenant: options.tenant,
          url: options.url,
          events: options.events
            .split(',')
            .map((e) => e.trim())
            .filter(Boolean),
          ...(options.description ? { description: options.description } : {}),
        };
        const result = await client.workflow.execute(registerWebhooks, {
          taskQueue: settings.taskQueue,
          // One id per tenant: Temporal refuses a second concurrent registration, so two runs
          // can't both find an event uncovered and both create a subscription.
          workflowId: registerWebhooksWorkflowId(options.tenant),
          args: [input],
          priority: workPriority('interactive', options.tenant),
          ...startMetadata('registerWebhooks', input, { startedBy: 'cxone-scim webhook-server' }),
        });
        console.log(JSON.stringify(result, null, 2));
      } finally {
        await client.connection.close();
      }
    });
}

export async function runWebhookServer(options: ServerOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const tenants = TenantRegistry.fromEnv(env);
  const ids = tenants.ids();
  if (ids.length === 0) {
    throw new Error(
      'No tenant configured: set CXONE_BASE_URL, CXONE_CLIENT_ID/CXONE_CLIENT_SECRET and CXONE_WEBHOOK_SECRET, or CXONE_TENANTS_FILE.',
    );
  }
  const withSecret = ids.filter((id) => tenants.get(id).webhookSecret);
  if (withSecret.length === 0)
    throw new Error('No tenant has a webhook secret (CXONE_WEBHOOK_SECRET or webhookSecretEnv in the tenant file).');
  const defaultTenant =
    options.tenant ??
    (ids.includes(env.CXONE_TENANT_ID ?? DEFAULT_TENANT_ID)
      ? (env.CXONE_TENANT_ID ?? DEFAULT_TENANT_ID)
      : ids.length === 1
        ? ids[0]
        : undefined);
  if (options.idpTenant) tenants.get(options.idpTenant); // fails early on a typo
  const idp: IdpTarget = options.idpTenant ? { type: 'scim', tenant: options.idpTenant } : { type: 'none' };

  const settings = temporalSettingsFromEnv(env);
  const taskQueue = options.taskQueue ?? settings.taskQueue;
  const temporal = new LazyTemporalClient(settings);
  const log = consoleLogger(options.verbose);
  const receiver = await startWebhookReceiver({
    tenants,
    temporal,
    taskQueue,
    defaultTenant,
    idp,
    toleranceSeconds: options.toleranceSeconds,
    bodyLimitBytes: options.bodyLimit,
    temporalTimeoutMs: options.temporalTimeoutMs,
    maxInFlight: options.maxInFlight,
    maxWaitMs: options.maxWaitMs,
    port: options.port,
    host: options.host,
    log,
  });
  console.log(`[webhook] listening on ${receiver.url}`);
  for (const id of withSecret)
    console.log(
      `[webhook]   POST ${receiver.callbackUrl(id)}${id === defaultTenant ? `  (also ${receiver.callbackUrl()})` : ''}`,
    );
  console.log(
    `[webhook] Temporal ${settings.address} namespace ${settings.namespace}, task queue ${taskQueue}; IdP: ${idp.type === 'scim' ? idp.tenant : 'none'}`,
  );
  // Connect now rather than on the first delivery; if Temporal is not there yet, deliveries get
  // 503 and each tries to connect again.
  temporal
    .get()
    .catch((err: unknown) =>
      log.warn(`Temporal is not reachable yet (${(err as Error)?.message}); deliveries get 503 until it is`),
    );

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  try {
    await receiver.close();
  } finally {
    await temporal.close();
  }
}
