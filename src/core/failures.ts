// Every `ApplicationFailure.type` the project throws, listed once: how the run treats it and what
// a person should do about it. Pure data (no Temporal, no Node built-ins), so workflows branch on
// it, activities throw it, the CLI explains it, and a test keeps docs/troubleshooting.md's table in step.

/**
 * - `retryable`: transient; the activity is retried (Retry-After or backoff) until its deadline.
 * - `fatal`: not retried, and no other record could succeed either: the run stops.
 * - `per-record`: not retried; only the request or records at hand fail, the run goes on.
 */
export type FailureClass = 'retryable' | 'fatal' | 'per-record';

export const FAILURE_CLASSES: readonly FailureClass[] = ['retryable', 'fatal', 'per-record'];

export interface FailureEntry {
  /** The `ApplicationFailure.type` on the wire (history, `temporal workflow show`, reports). */
  type: string;
  class: FailureClass;
  /** HTTP statuses an activity turns into this type (the provider's answer, after the client's own handling). */
  httpStatuses?: readonly number[];
  /** What happened, one sentence for a person. */
  meaning: string;
  /** What to do about it, one sentence. */
  fix: string;
}

const LIST = {
  // The provider's HTTP answers, mapped at the activity boundary.
  BadRequest: {
    type: 'ScimBadRequest',
    class: 'per-record',
    httpStatuses: [400],
    meaning: 'The provider rejected the payload; the failure carries its scimType and detail.',
    fix: 'Records are validated against /Schemas first, so look for a tenant-specific rule (e.g. a custom attribute) in the detail and fix the record or the mapping.',
  },
  Unauthorized: {
    type: 'ScimUnauthorized',
    class: 'fatal',
    httpStatuses: [401],
    meaning: 'The provider refused the access token, even after one refresh.',
    fix: 'Check CXONE_TOKEN_URL and that the client id/secret (or access key) belong to this tenant.',
  },
  Forbidden: {
    type: 'ScimForbidden',
    class: 'fatal',
    httpStatuses: [403],
    meaning: 'The token lacks a permission; the failure names it when the provider says which (e.g. scim:write).',
    fix: 'Grant that scope to the API application in CXone and add it to CXONE_SCOPES.',
  },
  NotFound: {
    type: 'ScimNotFound',
    class: 'per-record',
    httpStatuses: [404],
    meaning: 'The provider has no such endpoint or resource.',
    fix: 'Check CXONE_SCIM_PATH, and whether the resource was deleted at the provider meanwhile.',
  },
  ReadOnly: {
    type: 'ScimReadOnly',
    class: 'per-record',
    httpStatuses: [405, 501],
    meaning: 'The provider does not allow this method on this endpoint.',
    fix: 'Nothing to retry; for /ServiceProviderConfig run configure with --verify.',
  },
  Conflict: {
    type: 'ScimConflict',
    class: 'per-record',
    httpStatuses: [409],
    meaning: 'The provider reports a conflict that looking the user up did not settle (e.g. an ambiguous userName).',
    fix: 'Find the users with that userName at the provider and remove the duplicate.',
  },
  PreconditionFailed: {
    type: 'ScimPreconditionFailed',
    class: 'per-record',
    httpStatuses: [412],
    meaning: 'The resource changed since it was read (If-Match no longer matches its ETag).',
    fix: 'configure re-reads and retries by itself (maxPreconditionRetries); elsewhere rerun.',
  },
  PayloadTooLarge: {
    type: 'ScimPayloadTooLarge',
    class: 'per-record',
    httpStatuses: [413],
    meaning: 'The request was larger than the provider accepts (bytes or operations).',
    fix: 'provisionUsers splits the Bulk request and resends both halves; lower maxOperationsPerRequest if it keeps happening.',
  },
  UnexpectedStatus: {
    type: 'ScimUnexpectedStatus',
    class: 'per-record',
    meaning: 'The provider answered with a status the call does not expect (e.g. a redirect or 410).',
    fix: 'Check CXONE_BASE_URL and CXONE_SCIM_PATH; the failure details give method, path and status.',
  },
  Throttled: {
    type: 'ScimThrottled',
    class: 'retryable',
    httpStatuses: [429],
    meaning: "The provider's rate limit was hit.",
    fix: 'Retried after Retry-After (seconds or HTTP date); lower maxChunksInFlight for large runs.',
  },
  Unavailable: {
    type: 'ScimUnavailable',
    class: 'retryable',
    httpStatuses: [503],
    meaning: 'The provider is temporarily unavailable.',
    fix: 'Retried after Retry-After, or with backoff, until the deadline; nothing to do unless it lasts.',
  },
  ServerError: {
    type: 'ScimServerError',
    class: 'retryable',
    meaning: 'The provider failed with another 5xx status.',
    fix: 'Retried with backoff until the deadline; if it lasts, report the method and path in the failure details to the provider.',
  },
  NetworkError: {
    type: 'ScimNetworkError',
    class: 'retryable',
    meaning: 'No HTTP answer: timeout, refused or reset connection, or DNS failure.',
    fix: 'Retried with backoff; if it lasts, check CXONE_BASE_URL and that the worker can reach it.',
  },
  ForeignUrl: {
    type: 'ScimForeignUrl',
    class: 'fatal',
    meaning:
      "A URL the provider gave (e.g. a bulk job's Location) is outside the tenant's origin, so no token was sent there.",
    fix: "Make the provider (or a proxy in front of it) hand out URLs on the tenant's own origin.",
  },
  OAuthFailed: {
    type: 'OAuthFailed',
    class: 'fatal',
    meaning: 'The token endpoint refused the request (e.g. invalid_client or invalid_grant).',
    fix: "Fix the tenant's authentication settings (CXONE_AUTH, client id/secret, access key, CXONE_TOKEN_URL).",
  },
  OAuthUnavailable: {
    type: 'OAuthUnavailable',
    class: 'retryable',
    meaning: 'The token endpoint was throttled, failing or unreachable.',
    fix: 'Retried with backoff; if it lasts, check that the worker can reach CXONE_TOKEN_URL or CXONE_ISSUER.',
  },

  // The users file.
  InvalidSource: {
    type: 'InvalidSource',
    class: 'fatal',
    meaning: 'The users file cannot be read in the given or guessed format.',
    fix: 'Give the format (csv, json or ndjson) and fix the part of the file the message names.',
  },
  InvalidMapping: {
    type: 'InvalidMapping',
    class: 'fatal',
    meaning: 'The attribute mapping, or the CSV header used as one, is not valid.',
    fix: 'Fix every mapping entry the message lists.',
  },
  SourceUnreadable: {
    type: 'SourceUnreadable',
    class: 'fatal',
    meaning: 'The worker cannot read the users file or object.',
    fix: 'Give a path that the worker process (not only the CLI) can read, or an s3:// or https:// URL when workers run on several hosts.',
  },
  SourceChanged: {
    type: 'SourceChanged',
    class: 'fatal',
    meaning: 'The users file changed while the planner read it.',
    fix: 'Leave the file alone until planning is done (the run then uses the version it planned), and start a new run.',
  },
  InvalidSourceUrl: {
    type: 'InvalidSourceUrl',
    class: 'fatal',
    meaning: 'The source location is not a path, file://, s3://bucket/key or https:// URL, or it carries credentials.',
    fix: 'Give s3://bucket/key, https://… (auth header from the variable named by authHeaderEnv), file://… or a path.',
  },
  SourceNotFound: {
    type: 'SourceNotFound',
    class: 'fatal',
    meaning: 'The source object (or its bucket) or URL does not exist.',
    fix: 'Check the location the message names, as the worker sees it.',
  },
  SourceAccessDenied: {
    type: 'SourceAccessDenied',
    class: 'fatal',
    meaning: "The object store or web server refused the worker's credentials for the source.",
    fix: 'Give the worker credentials that may read it (AWS credential chain for s3://, the authHeaderEnv variable for https://).',
  },
  SourceUnreachable: {
    type: 'SourceUnreachable',
    class: 'retryable',
    meaning: 'The object store or web server holding the source did not answer (or failed with a 5xx status).',
    fix: 'Retried with backoff; if it lasts, check CXONE_SCIM_S3_ENDPOINT or the URL, and that the worker can reach it.',
  },

  // Answers that break the protocol.
  InvalidBulkResponse: {
    type: 'InvalidBulkResponse',
    class: 'per-record',
    meaning: 'The answer to a Bulk request was not a BulkResponse (or a 202 came without a job link).',
    fix: "That request's records are reported failed and the run goes on; rerun them and report the answer to the provider.",
  },
  WebhookUnexpectedResponse: {
    type: 'WebhookUnexpectedResponse',
    class: 'fatal',
    meaning: 'POST /api/v2/webhooks answered 201 without the subscription in its body.',
    fix: 'Run registerWebhooks again: it lists the subscriptions first and keeps the ones that exist.',
  },

  // Inputs and settings, refused before anything is written.
  InvalidProvisionInput: {
    type: 'InvalidProvisionInput',
    class: 'fatal',
    meaning: 'The provisionUsers input is not valid.',
    fix: 'Fix the input field the message names.',
  },
  InvalidRegisterWebhooksInput: {
    type: 'InvalidRegisterWebhooksInput',
    class: 'fatal',
    meaning: 'The registerWebhooks input is not valid (url or event types).',
    fix: 'Fix every problem the message lists.',
  },
  InvalidServiceProviderConfig: {
    type: 'InvalidServiceProviderConfig',
    class: 'fatal',
    meaning: 'The desired ServiceProviderConfig failed validation, so nothing was sent.',
    fix: 'Fix every violation listed, each given with its JSON path.',
  },
  UnsupportedProvider: {
    type: 'UnsupportedProvider',
    class: 'fatal',
    meaning:
      "The provider's discovery documents lack what the run needs (a usable User schema, or Bulk when mode bulk is asked for).",
    fix: "The message names what is missing; check the provider's /ServiceProviderConfig, /ResourceTypes and /Schemas answers.",
  },
  InvalidConfigureInput: {
    type: 'InvalidConfigureInput',
    class: 'fatal',
    meaning: 'The configureServiceProvider input is not valid (e.g. gateway limits that are not positive integers).',
    fix: 'Fix the input field the message names.',
  },
  UnknownTenant: {
    type: 'UnknownTenant',
    class: 'fatal',
    meaning: 'The workflow names a tenant the worker is not configured for.',
    fix: 'Configure the tenant for the worker (CXONE_* variables or CXONE_TENANTS_FILE) and restart it, or fix the tenant id.',
  },
  AmbiguousIdpUser: {
    type: 'AmbiguousIdpUser',
    class: 'per-record',
    meaning:
      'More than one identity-provider user has the userName or externalId of the CXone user, so nothing was written to either.',
    fix: 'Remove or rename the duplicate at the identity provider; the next lifecycle event syncs again.',
  },
  InvalidSyncInput: {
    type: 'InvalidSyncInput',
    class: 'fatal',
    meaning: 'The syncUsers input is not valid, or its scope rule matches none of the provider users.',
    fix: 'Fix the input field or scope rule the message names.',
  },
  EmptySource: {
    type: 'EmptySource',
    class: 'fatal',
    meaning: 'The source has no valid user, so a sync would deprovision every managed user; nothing was written.',
    fix: 'Check the export and the mapping: an empty or broken file is refused on purpose.',
  },
  PlanUnavailable: {
    type: 'PlanUnavailable',
    class: 'fatal',
    meaning:
      'The worker cannot read an object the run stored for its later activities (a chunk of users, a sync plan), or it is not the object stored.',
    fix: 'Workers on several hosts need CXONE_SCIM_CLAIM_STORE set to an s3:// location all of them can read; then start the run again.',
  },
  NoWebhookSecret: {
    type: 'NoWebhookSecret',
    class: 'fatal',
    meaning: 'The tenant has no webhook secret to sign the scim.config.updated notification with.',
    fix: 'Set CXONE_WEBHOOK_SECRET (or webhookSecretEnv in the tenant file), or leave out --notify-url.',
  },
  WrongWorkflowId: {
    type: 'WrongWorkflowId',
    class: 'fatal',
    meaning:
      'The workflow was started under another id than the one per tenant (or user) that keeps runs from overlapping.',
    fix: 'Start it with the cxone-scim CLI, or with the workflow id the message gives.',
  },
  DuplicateEvent: {
    type: 'DuplicateEvent',
    class: 'per-record',
    meaning:
      'The lifecycleEvent update was refused: its eventId was already received, nothing changed (a refused update leaves no trace in history).',
    fix: 'Nothing to do: the event is already recorded; a sender may treat this as delivered.',
  },
  InvalidEvent: {
    type: 'InvalidEvent',
    class: 'per-record',
    meaning: 'The lifecycleEvent update was refused: the event is malformed, of an unknown type, or for another user.',
    fix: 'Fix the event as the message says (it names the field) and send it again.',
  },

  // configureServiceProvider outcomes.
  ConcurrentModification: {
    type: 'ConcurrentModification',
    class: 'fatal',
    meaning: 'The ServiceProviderConfig kept changing: every PUT was refused with 412.',
    fix: 'Find the other writer, then rerun (or raise maxPreconditionRetries).',
  },
  ServiceProviderConfigMismatch: {
    type: 'ServiceProviderConfigMismatch',
    class: 'fatal',
    meaning: 'The provider accepted the PUT but does not report the desired value afterwards.',
    fix: 'Run configure with --verify to see which attributes it ignores, and leave those out of the desired config.',
  },
  ReadOnlyProvider: {
    type: 'ReadOnlyProvider',
    class: 'fatal',
    meaning: 'The provider refused the PUT to /ServiceProviderConfig, which RFC 7644 §4 allows to be read-only.',
    fix: 'Run configure with --verify to compare desired and actual without writing.',
  },
} as const satisfies Record<string, FailureEntry>;

type List = typeof LIST;
export type FailureType = List[keyof List]['type'];

/** The failure type names: code writes `FailureType.PayloadTooLarge`, never the string. */
export const FailureType = Object.freeze(
  Object.fromEntries(Object.entries(LIST).map(([key, entry]) => [key, entry.type])),
) as { readonly [K in keyof List]: List[K]['type'] };

/** Every failure type with its class, statuses, meaning and fix, in the order above. */
export const FAILURES: readonly FailureEntry[] = Object.values(LIST);

const BY_TYPE: ReadonlyMap<string, FailureEntry> = new Map(FAILURES.map((entry) => [entry.type, entry]));

const BY_STATUS: ReadonlyMap<number, FailureType> = new Map(
  Object.values(LIST).flatMap((entry) =>
    'httpStatuses' in entry ? entry.httpStatuses.map((status) => [status, entry.type] as const) : [],
  ),
);

export function isFailureType(type: string | undefined): type is FailureType {
  return type !== undefined && BY_TYPE.has(type);
}

/** The list's entry for a type; undefined for types the project does not throw (e.g. a wrapped bug). */
export function failureEntry(type: string | undefined): FailureEntry | undefined {
  return type === undefined ? undefined : BY_TYPE.get(type);
}

export function failureClassOf(type: string | undefined): FailureClass | undefined {
  return failureEntry(type)?.class;
}

export function isRetryable(type: string | undefined): boolean {
  return failureClassOf(type) === 'retryable';
}

export function isFatal(type: string | undefined): boolean {
  return failureClassOf(type) === 'fatal';
}

export function failureTypesOf(cls: FailureClass): FailureType[] {
  return FAILURES.filter((entry) => entry.class === cls).map((entry) => entry.type as FailureType);
}

/** The type of a provider's non-2xx answer: the listed status, else any 5xx is a server error. */
export function failureTypeForStatus(status: number): FailureType {
  return (
    BY_STATUS.get(status) ?? (status >= 500 && status <= 599 ? FailureType.ServerError : FailureType.UnexpectedStatus)
  );
}
