// `cxone-scim sandbox`: runs the CXone sandbox until SIGINT/SIGTERM.
import { type Command, InvalidArgumentError } from 'commander';
import {
  type FilterMode,
  PROFILES,
  type ProfileName,
  type RateLimit,
  type SandboxOptions,
  startSandbox,
} from './sandbox';

function integer(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}

function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a number between 0 and 1');
  return n;
}

/** every:N | first:N | bucket:CAPACITY/PER_SECOND */
export function parseRateLimit(value: string): RateLimit {
  const every = /^every:(\d+)$/.exec(value);
  if (every && Number(every[1]) >= 1) return { mode: 'everyNth', n: Number(every[1]) };
  const first = /^first:(\d+)$/.exec(value);
  if (first && Number(first[1]) >= 1) return { mode: 'firstN', n: Number(first[1]) };
  const bucket = /^bucket:(\d+)\/(\d+(?:\.\d+)?)$/.exec(value);
  if (bucket && Number(bucket[1]) >= 1 && Number(bucket[2]) > 0) {
    return { mode: 'tokenBucket', capacity: Number(bucket[1]), refillPerSecond: Number(bucket[2]) };
  }
  throw new InvalidArgumentError('expected every:N, first:N or bucket:CAPACITY/PER_SECOND');
}

const list = (value: string) => value.split(/[\s,]+/).filter(Boolean);
/** Names may hold spaces ("Default Team"): only commas separate them. */
const names = (value: string) =>
  value
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);

function profile(value: string): ProfileName {
  if (!(PROFILES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${PROFILES.join(', ')}`);
  return value as ProfileName;
}

interface CliOptions {
  port: number;
  host: string;
  dataFile?: string;
  clientId: string;
  clientSecret: string;
  profile: ProfileName;
  accessKeyId?: string;
  accessKeySecret?: string;
  staticToken?: string;
  scopes?: string[];
  scimScope?: string;
  webhookScope?: string;
  tokenTtl?: number;
  webhookSecret: string;
  webhookSignature?: 'cxone' | 'nexus';
  tenantId?: string;
  asyncBulk?: boolean;
  asyncJobMs?: number;
  bulkMaxOperations?: number;
  bulkMaxPayloadSize?: number;
  filterMaxResults?: number;
  rateLimit?: RateLimit;
  retryAfter?: number;
  failRate?: number;
  failStatus?: number;
  failNext?: number;
  latencyMs?: number;
  readOnlySpc?: boolean;
  filterMode?: FilterMode;
  deliveryAttempts?: number;
  deliveryDelayMs?: number;
  allowRemoteWebhooks?: boolean;
  seed?: number;
  roles?: string[];
  teams?: string[];
  skills?: string[];
}

export function registerSandboxCommand(program: Command): void {
  program
    .command('sandbox')
    .description(
      'Run the CXone sandbox: a local SCIM 2.0 service provider with OAuth, bulk, webhooks and fault switches. /admin needs no token: it is a local test tool.',
    )
    .option('--port <port>', 'port to listen on (0 = any free port)', integer(0), 8787)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--data-file <path>', 'persist users, groups, ServiceProviderConfig and webhooks to this JSON file')
    .option(
      '--profile <name>',
      'full: every optional feature; cxone: what NICE publishes (access keys with discovery; SCIM Users and Schemas only, with the NICE extension and Pending employees; roles, teams and skills APIs)',
      profile,
      'full',
    )
    .option('--client-id <id>', 'OAuth client id', 'sandbox-client')
    .option('--client-secret <secret>', 'OAuth client secret', 'sandbox-secret')
    .option('--access-key-id <id>', "the API user's access key id (default sandbox-access-key-id)")
    .option('--access-key-secret <secret>', "the API user's access key secret (default sandbox-access-key-secret)")
    .option('--static-token <token>', 'also accept this static bearer token (every scope, never expires)')
    .option('--scopes <list>', 'scopes the client may get (default "scim:write cxone.webhook.manage")', list)
    .option('--scim-scope <scope>', 'scope the SCIM endpoints require (default scim:write)')
    .option('--webhook-scope <scope>', 'scope /api/v2/webhooks requires (default cxone.webhook.manage)')
    .option('--token-ttl <seconds>', 'access token lifetime (default 3600)', integer(1))
    .option('--webhook-secret <secret>', 'secret that signs webhook deliveries', 'sandbox-webhook-secret')
    .option(
      '--webhook-signature <preset>',
      'signature scheme of webhook deliveries: cxone (X-CXone-Signature) or nexus (X-Nexus-Signature-256)',
    )
    .option('--tenant-id <id>', 'tenantId carried by webhook events (default sandbox-tenant)')
    .option('--async-bulk', 'answer every /Bulk with 202 + job id (as CXone does), not only on Prefer: respond-async')
    .option('--async-job-ms <ms>', 'how long an async bulk job runs (default 250)', integer(0))
    .option('--bulk-max-operations <n>', 'initial bulk.maxOperations (default 1000)', integer(1))
    .option('--bulk-max-payload-size <bytes>', 'initial bulk.maxPayloadSize (default 1048576)', integer(1))
    .option('--filter-max-results <n>', 'initial filter.maxResults (default 1000)', integer(1))
    .option('--rate-limit <spec>', '429 + Retry-After: every:N | first:N | bucket:CAPACITY/PER_SECOND', parseRateLimit)
    .option('--retry-after <seconds>', 'Retry-After sent with 429 and 503 (default 1)', integer(0))
    .option('--fail-rate <fraction>', 'share of requests that fail with --fail-status (seeded, reproducible)', fraction)
    .option('--fail-status <status>', 'status of injected faults (default 503)', integer(500))
    .option('--fail-next <n>', 'the next N requests fail with --fail-status', integer(0))
    .option('--latency-ms <ms>', 'latency added to every request', integer(0))
    .option('--read-only-spc', 'PUT /ServiceProviderConfig answers 405 (a read-only provider, for verify mode)')
    .option(
      '--filter-mode <mode>',
      'rfc (default), caseExact (every eq compares exactly), ignored (filter dropped, everyone listed) or eqOnly (one `attribute eq value` only; and/or answer 400)',
    )
    .option('--delivery-attempts <n>', 'webhook delivery attempts per event (default 5)', integer(1))
    .option(
      '--delivery-delay-ms <ms>',
      'delay before the first delivery retry; doubles each time (default 500)',
      integer(0),
    )
    .option('--allow-remote-webhooks', 'allow webhook subscriptions to non-loopback URLs')
    .option('--seed <n>', 'seed of the --fail-rate generator (default 1)', integer(0))
    .option('--roles <names>', 'cxone: comma-separated role names (default "Agent,Supervisor,Administrator")', names)
    .option('--teams <names>', 'cxone: comma-separated team names (default "Default Team,Sales,Support")', names)
    .option('--skills <names>', 'cxone: comma-separated skill names (default "Sales,Support,Billing")', names)
    .action(async (cli: CliOptions) => {
      const options: SandboxOptions = {
        port: cli.port,
        host: cli.host,
        dataFile: cli.dataFile,
        clientId: cli.clientId,
        clientSecret: cli.clientSecret,
        profile: cli.profile,
        accessKeyId: cli.accessKeyId,
        accessKeySecret: cli.accessKeySecret,
        staticToken: cli.staticToken,
        scopes: cli.scopes,
        scimScope: cli.scimScope,
        webhookScope: cli.webhookScope,
        tokenTtlSeconds: cli.tokenTtl,
        webhookSecret: cli.webhookSecret,
        webhookSignature: cli.webhookSignature,
        tenantId: cli.tenantId,
        asyncBulk: cli.asyncBulk,
        asyncJobDurationMs: cli.asyncJobMs,
        bulkMaxOperations: cli.bulkMaxOperations,
        bulkMaxPayloadSize: cli.bulkMaxPayloadSize,
        filterMaxResults: cli.filterMaxResults,
        rateLimit: cli.rateLimit,
        retryAfterSeconds: cli.retryAfter,
        failRate: cli.failRate,
        failStatus: cli.failStatus,
        failNext: cli.failNext,
        latencyMs: cli.latencyMs,
        readOnlySpc: cli.readOnlySpc,
        filterMode: cli.filterMode,
        deliveryRetry: {
          ...(cli.deliveryAttempts !== undefined ? { attempts: cli.deliveryAttempts } : {}),
          ...(cli.deliveryDelayMs !== undefined ? { initialDelayMs: cli.deliveryDelayMs } : {}),
        },
        allowRemoteWebhooks: cli.allowRemoteWebhooks,
        seed: cli.seed,
        cxoneTenant: { roles: cli.roles, teams: cli.teams, skills: cli.skills },
      };
      const sandbox = await startSandbox(options);
      const s = sandbox.switches;
      console.log(
        [
          `CXone sandbox listening on ${sandbox.url} (profile ${sandbox.profile})`,
          `  SCIM base URL   ${sandbox.scimBaseUrl}`,
          `  issuer          ${sandbox.issuer}  (/.well-known/openid-configuration, /.well-known/cxone-configuration?tenantId=${sandbox.tenantId})`,
          `  token URL       ${sandbox.tokenUrl}  (grant_type=password${sandbox.profile === 'full' ? ' or client_credentials' : ''})`,
          `  legacy flow     ${sandbox.legacyTokenUrl}`,
          `  client id       ${sandbox.clientId}`,
          `  client secret   ${sandbox.clientSecret}`,
          `  access key      ${sandbox.accessKeyId} / ${sandbox.accessKeySecret}`,
          ...(sandbox.staticToken ? [`  static token    ${sandbox.staticToken}`] : []),
          `  scopes          ${sandbox.scopes.join(' ')}`,
          `  webhooks        ${sandbox.webhooksUrl}  (signed with webhook secret "${sandbox.webhookSecret}")`,
          `  admin (no auth) ${sandbox.adminUrl}/switches, /requests, /deliveries, /users${sandbox.tenant ? ', /roles, /teams, /skills, /login-authenticators' : ''}`,
          ...(sandbox.tenant
            ? [
                `  tenant APIs     ${sandbox.url}/user-management/v1/roles, /user-management/v4/teams/search, /skills, /authentication/v1/login-authenticators`,
                `  roles           ${sandbox.tenant.roles.map((r) => `${r.name} (${r.id})`).join(', ')}`,
                `  teams           ${sandbox.tenant.teams.map((t) => `${t.name} (${t.id})`).join(', ')}`,
                `  skills          ${sandbox.tenant.skills.map((k) => `${k.skillName} (${k.skillId})`).join(', ')}`,
              ]
            : []),
          `  bulk            ${sandbox.profile === 'cxone' ? 'none (404)' : s.asyncBulk ? `asynchronous (jobs take ${s.asyncJobDurationMs} ms)` : 'synchronous (Prefer: respond-async for a job)'}`,
          `  data            ${cli.dataFile ?? 'in memory'}`,
          'Ctrl-C to stop.',
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await sandbox.close();
      console.log('CXone sandbox stopped.');
    });
}
