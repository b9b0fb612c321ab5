// The CXone sandbox: a local SCIM 2.0 service provider that behaves like NICE CXone (see SPEC.md).
//   const sandbox = await startSandbox({ port: 0 });
//   … sandbox.scimBaseUrl, sandbox.tokenUrl, sandbox.setSwitches({ failNext: 2 }) …
//   await sandbox.close();
import type { AddressInfo } from 'node:net';
import { ConsoleActions } from './admin';
import { buildApp, SCIM_PATH, WEBHOOKS_PATH } from './app';
import { Tokens } from './auth';
import { profileNamed, type ProfileName } from './profile';
import { LEGACY_TOKEN_PATH, TOKEN_PATH, type DiscoveryFault } from './token-endpoints';
import { BulkJobs } from './bulk';
import { Deliveries, type DeliveryRecord, type DeliveryRetry } from './delivery';
import { resolveSigningScheme, type SigningSetting } from './signing';
import type { RequestLogEntry } from './requestLog';
import { Resources } from './resources';
import type { CxoneOptionalUserAttribute } from './schemas';
import { ServiceProviderConfig } from './spc';
import { Store } from './store';
import { SwitchBoard, type Switches } from './switches';
import { CxoneTenant, type TenantDirectory, type TenantSeed } from './tenant';
import type { Attrs } from './validate';

export type { FilterMode, RateLimit, Switches } from './switches';
export type { RequestLogEntry } from './requestLog';
export type { DeliveryRecord, DeliveryRetry, WebhookEvent } from './delivery';
export type { UserEventType } from './resources';
export { DEFAULT_SWITCHES } from './switches';
export { PROFILES, type ProfileName } from './profile';
export type { DiscoveryFault } from './token-endpoints';
export type { LoginAuthenticator, Role, Skill, SkillAgent, Status, Team } from './tenant-state';
export type { TenantDirectory, TenantSeed } from './tenant';
export { DEFAULT_TENANT_SEED, PENDING_RENAME_DETAIL } from './tenant';
export { CXONE_OPTIONAL_USER_ATTRIBUTES, type CxoneOptionalUserAttribute, NICE_USER_SCHEMA } from './schemas';

/** The cxone profile's tenant: its directory at start (a persisted one wins) and the optional attributes it enabled. */
export interface CxoneTenantOptions extends TenantSeed {
  /** Optional core User attributes the tenant has enabled (default all); the others are absent from /Schemas and refused. */
  userAttributes?: CxoneOptionalUserAttribute[];
}

export interface SandboxOptions extends Partial<Switches> {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** `full` (default): every optional feature. `cxone`: what real CXone offers (see profile.ts). */
  profile?: ProfileName;
  /** cxone profile: the tenant's roles, login authenticators, teams, skills and enabled attributes. */
  cxoneTenant?: CxoneTenantOptions;
  clientId?: string;
  clientSecret?: string;
  /** The API user's access key. Defaults 'sandbox-access-key-id' / 'sandbox-access-key-secret'. */
  accessKeyId?: string;
  accessKeySecret?: string;
  /** A static bearer token the API accepts (every scope, never expires); none by default. */
  staticToken?: string;
  /** Break discovery on purpose, to test a client's error messages. */
  discoveryFault?: DiscoveryFault;
  /** Scopes the client may be granted. Default ['scim:write', 'cxone.webhook.manage']. */
  scopes?: string[];
  /** Scope the SCIM endpoints require. Default 'scim:write'. */
  scimScope?: string;
  /** Scope /api/v2/webhooks requires. Default 'cxone.webhook.manage'. */
  webhookScope?: string;
  tokenTtlSeconds?: number;
  webhookSecret?: string;
  /** How deliveries are signed: `cxone` (default), `nexus`, or a custom scheme. */
  webhookSignature?: SigningSetting;
  /** tenantId carried by webhook events. Default 'sandbox-tenant'. */
  tenantId?: string;
  /** Persist users, groups, ServiceProviderConfig, subscriptions and the cxone tenant to this JSON file. */
  dataFile?: string;
  /** Initial ServiceProviderConfig limits (a persisted or PUT config wins). */
  bulkMaxOperations?: number;
  bulkMaxPayloadSize?: number;
  filterMaxResults?: number;
  deliveryRetry?: Partial<DeliveryRetry>;
  /** Allow webhook subscriptions to non-loopback URLs. Default false. */
  allowRemoteWebhooks?: boolean;
  /** Seed of the generator behind failRate. Default 1. */
  seed?: number;
  /** Oldest request log entries are dropped beyond this. Default 10 000. */
  requestLogLimit?: number;
}

export interface Sandbox {
  /** e.g. http://127.0.0.1:8787 */
  readonly url: string;
  readonly scimBaseUrl: string;
  readonly profile: ProfileName;
  /** OAuth token endpoint (client credentials and password grant). */
  readonly tokenUrl: string;
  /** Issuer for discovery (`/.well-known/openid-configuration`, `/.well-known/cxone-configuration`). */
  readonly issuer: string;
  /** Base of the legacy access-key flow (`{authUrl}/authentication/v1/token/access-key`). */
  readonly authUrl: string;
  readonly legacyTokenUrl: string;
  readonly webhooksUrl: string;
  readonly adminUrl: string;
  readonly port: number;
  readonly host: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly staticToken?: string;
  readonly scopes: string[];
  readonly webhookSecret: string;
  /** The scheme deliveries are signed with (preset name or custom scheme). */
  readonly webhookSignature: SigningSetting;
  readonly tenantId: string;
  /** Live switches: mutate directly or through setSwitches (which validates). */
  readonly switches: Switches;
  setSwitches(partial: Partial<Switches>): Switches;
  readonly requestLog: RequestLogEntry[];
  clearRequestLog(): void;
  readonly deliveryLog: DeliveryRecord[];
  /** Resolves when no webhook delivery is in flight or waiting to be retried. */
  deliveriesIdle(): Promise<void>;
  countUsers(): number;
  listUsers(): Attrs[];
  getUser(id: string): Attrs | undefined;
  countGroups(): number;
  /** Console-simulated changes: they raise webhook events like SCIM changes do. */
  adminCreateUser(user: Attrs): Attrs;
  adminUpdateUser(id: string, patch: Attrs): Attrs;
  adminDeactivateUser(id: string): Attrs;
  /** cxone profile: a Pending employee becomes Active (as `POST /admin/users/{id}/activate`). */
  adminActivateUser(id: string): Attrs;
  /** cxone profile: the tenant's roles, login authenticators, teams, skills and skill assignments; undefined on full. */
  readonly tenant: TenantDirectory | undefined;
  /** Expires every issued access token (the next call with one gets 401). */
  expireTokens(): void;
  close(): Promise<void>;
}

const SWITCH_KEYS: (keyof Switches)[] = [
  'rateLimit',
  'retryAfterSeconds',
  'failRate',
  'failNext',
  'failStatus',
  'latencyMs',
  'asyncBulk',
  'asyncJobDurationMs',
  'readOnlySpc',
  'filterMode',
  'groupPatchNoop',
  'hideGroups',
];

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  const clientId = options.clientId ?? 'sandbox-client';
  const clientSecret = options.clientSecret ?? 'sandbox-secret';
  const scopes = options.scopes ?? ['scim:write', 'cxone.webhook.manage'];
  const webhookSecret = options.webhookSecret ?? 'sandbox-webhook-secret';
  const tenantId = options.tenantId ?? 'sandbox-tenant';
  const profile = profileNamed(options.profile, options.cxoneTenant?.userAttributes);
  const accessKeyId = options.accessKeyId ?? 'sandbox-access-key-id';
  const accessKeySecret = options.accessKeySecret ?? 'sandbox-access-key-secret';
  const initialSwitches = Object.fromEntries(
    SWITCH_KEYS.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]),
  );

  let scimBaseUrl = '';
  const store = new Store(options.dataFile);
  const switchBoard = new SwitchBoard(initialSwitches, options.seed ?? 1);
  const tokens = new Tokens({
    clientId,
    clientSecret,
    scopes,
    accessKeyId,
    accessKeySecret,
    staticToken: options.staticToken,
    tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
  });
  let url = '';
  const deliveries = new Deliveries(store, {
    secret: webhookSecret,
    scheme: resolveSigningScheme(options.webhookSignature),
    tenantId,
    retry: { attempts: 5, initialDelayMs: 500, timeoutMs: 5000, ...options.deliveryRetry },
  });
  const tenant = profile.nice ? new CxoneTenant(store, options.cxoneTenant) : undefined;
  const resources = new Resources({
    store,
    scimBaseUrl: () => scimBaseUrl,
    types: profile.types,
    onUserEvent: (type, user) => deliveries.publish(type, user),
    userRules: tenant,
  });
  const spc = new ServiceProviderConfig(
    store,
    {
      bulkMaxOperations: options.bulkMaxOperations ?? 1000,
      bulkMaxPayloadSize: options.bulkMaxPayloadSize ?? 1_048_576,
      filterMaxResults: options.filterMaxResults ?? 1000,
    },
    profile,
  );
  const jobs = new BulkJobs(resources, () => switchBoard.switches.asyncJobDurationMs);
  const actions = new ConsoleActions(resources, tenant);
  const requestLog: RequestLogEntry[] = [];

  const app = buildApp({
    scim: { resources, spc, jobs, scimBaseUrl: () => scimBaseUrl, profile },
    admin: { actions, deliveries },
    store,
    tokens,
    tokenEndpoints: {
      url: () => url,
      tenantId,
      clientCredentialsGrant: profile.clientCredentials,
      discoveryFault: options.discoveryFault,
    },
    switchBoard,
    requestLog,
    requestLogLimit: options.requestLogLimit ?? 10_000,
    scimScope: options.scimScope ?? 'scim:write',
    webhookScope: options.webhookScope ?? 'cxone.webhook.manage',
    allowRemoteWebhooks: options.allowRemoteWebhooks ?? false,
    tenant,
  });
  await app.listen({ port: options.port ?? 0, host });
  const port = (app.server.address() as AddressInfo).port;
  url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  scimBaseUrl = `${url}${SCIM_PATH}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    scimBaseUrl,
    profile: profile.name,
    tokenUrl: `${url}${TOKEN_PATH}`,
    issuer: url,
    authUrl: url,
    legacyTokenUrl: `${url}${LEGACY_TOKEN_PATH}`,
    webhooksUrl: `${url}${WEBHOOKS_PATH}/webhooks`,
    adminUrl: `${url}/admin`,
    port,
    host,
    clientId,
    clientSecret,
    accessKeyId,
    accessKeySecret,
    staticToken: options.staticToken,
    scopes,
    webhookSecret,
    webhookSignature: options.webhookSignature ?? 'cxone',
    tenantId,
    switches: switchBoard.switches,
    setSwitches: (partial) => switchBoard.set(partial),
    requestLog,
    clearRequestLog: () => {
      requestLog.length = 0;
    },
    deliveryLog: deliveries.log,
    deliveriesIdle: () => deliveries.whenIdle(),
    countUsers: () => resources.count('User'),
    listUsers: () => resources.list('User', { startIndex: 1, count: Number.MAX_SAFE_INTEGER }).resources,
    getUser: (id) => (store.users.has(id) ? resources.get('User', id) : undefined),
    countGroups: () => resources.count('Group'),
    adminCreateUser: (user) => actions.createUser(user),
    adminUpdateUser: (id, patch) => actions.updateUser(id, patch),
    adminDeactivateUser: (id) => actions.deactivateUser(id),
    adminActivateUser: (id) => actions.activateUser(id),
    tenant,
    expireTokens: () => tokens.expireAll(),
    close: () => {
      closed ??= (async () => {
        jobs.close();
        deliveries.close();
        await app.close();
        store.flush();
      })();
      return closed;
    },
  };
}
