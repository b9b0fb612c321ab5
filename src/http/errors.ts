/**
 * Typed outcomes of HTTP calls to a SCIM provider or its token endpoint. The activities turn them
 * into Temporal failures (src/activities/provider/failure-mapping.ts); nothing here knows about Temporal.
 * No error here ever holds a secret: messages and properties carry method, path (never the
 * query), status and what the server said, with any known secret scrubbed from the server's words.
 */

export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** RFC 7644 §3.12 error response (only the standard members are kept). */
export interface ScimErrorBody {
  schemas?: string[];
  status?: string | number;
  scimType?: string;
  detail?: string;
}

/** Plain JSON summary of a failed SCIM call; becomes the activity failure's `details[0]`. */
export interface ScimErrorSummary {
  status: number;
  scimType?: string;
  detail?: string;
  method: string;
  path: string;
  missingPermission?: string;
  retryAfterMs?: number;
  /**
   * Set when this exact request failed this many times in a row with the same answer while the
   * tenant answered other requests: not an outage, so not worth retrying (see dialect.ts).
   */
  persistent?: number;
}

/** A SCIM endpoint answered with a status the caller did not expect (by default: any non-2xx). */
export class ScimHttpError extends Error {
  override readonly name = 'ScimHttpError';
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly scimType?: string;
  readonly detail?: string;
  readonly retryAfterMs?: number;
  /** The scope/permission a 403 says is missing, when it says so. */
  readonly missingPermission?: string;
  /** The response body, when it is an RFC 7644 §3.12 error. */
  readonly scimError?: ScimErrorBody;
  /** Identical failures in a row while the tenant answered other requests (a 5xx that retrying will not cure). */
  readonly persistent?: number;

  constructor(init: ScimErrorSummary & { scimError?: ScimErrorBody }) {
    super(
      `SCIM ${init.method} ${init.path} failed: HTTP ${init.status}` +
        (init.scimType ? ` (${init.scimType})` : '') +
        (init.detail ? `: ${init.detail}` : '') +
        (init.missingPermission ? ` [missing permission: ${init.missingPermission}]` : '') +
        (init.persistent
          ? ` (the same answer ${init.persistent} times in a row while the tenant answers other requests: not retried further)`
          : ''),
    );
    this.persistent = init.persistent;
    this.method = init.method;
    this.path = init.path;
    this.status = init.status;
    this.scimType = init.scimType;
    this.detail = init.detail;
    this.retryAfterMs = init.retryAfterMs;
    this.missingPermission = init.missingPermission;
    this.scimError = init.scimError;
  }

  /** Builds the error from a response whose body is already parsed (and scrubbed of secrets). */
  static fromResponse(
    method: string,
    path: string,
    status: number,
    headers: Headers,
    body: unknown,
    now = Date.now(),
  ): ScimHttpError {
    const scimError = asScimError(body);
    const detail = scimError?.detail ?? stringMember(body, 'detail', 'message', 'error_description');
    return new ScimHttpError({
      method,
      path,
      status,
      scimType: scimError?.scimType,
      detail,
      retryAfterMs: parseRetryAfter(headers.get('retry-after'), now),
      missingPermission:
        status === 403 ? findMissingPermission(body, headers.get('www-authenticate'), detail) : undefined,
      scimError,
    });
  }

  summary(): ScimErrorSummary {
    return compact({
      status: this.status,
      scimType: this.scimType,
      detail: this.detail,
      method: this.method,
      path: this.path,
      missingPermission: this.missingPermission,
      retryAfterMs: this.retryAfterMs,
      persistent: this.persistent,
    });
  }

  /** The same answer, marked as persistent after `attempts` identical failures. */
  persistentAfter(attempts: number): ScimHttpError {
    return new ScimHttpError({ ...this.summary(), scimError: this.scimError, persistent: attempts });
  }
}

/** The request never got an HTTP answer: timeout, connection refused/reset, DNS failure. */
export class ScimNetworkError extends Error {
  override readonly name = 'ScimNetworkError';
  readonly timedOut: boolean;
  /** System error code when there is one, e.g. `ECONNREFUSED`. */
  readonly code?: string;
  readonly causeMessage: string;

  constructor(
    readonly method: string,
    readonly path: string,
    failure: FetchFailure,
  ) {
    super(`SCIM ${method} ${path} failed: ${failure.message}`);
    this.timedOut = failure.timedOut;
    this.code = failure.code;
    this.causeMessage = failure.message;
  }

  summary(): { method: string; path: string; timedOut: boolean; code?: string } {
    return compact({ method: this.method, path: this.path, timedOut: this.timedOut, code: this.code });
  }
}

/**
 * Getting a token (or discovering where to get one) failed: the endpoint refused, could not be
 * reached, or answered without what the tenant's configuration needs. `status` is undefined when
 * there was no HTTP answer. `fix` names the setting to change, when the cause is configuration.
 */
export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  readonly status?: number;
  /** OAuth 2.0 `error` code (RFC 6749 §5.2), e.g. `invalid_client`. */
  readonly error?: string;
  readonly errorDescription?: string;
  readonly retryAfterMs?: number;
  readonly fix?: string;

  constructor(
    readonly tenantId: string,
    /** Token (or discovery) URL without its query. */
    readonly tokenUrl: string,
    init: {
      status?: number;
      error?: string;
      errorDescription?: string;
      retryAfterMs?: number;
      reason: string;
      fix?: string;
    },
  ) {
    super(
      `Authentication for tenant ${tenantId} at ${tokenUrl} failed: ${init.reason}${init.fix ? `. Fix: ${init.fix}` : ''}`,
    );
    this.status = init.status;
    this.error = init.error;
    this.errorDescription = init.errorDescription;
    this.retryAfterMs = init.retryAfterMs;
    this.fix = init.fix;
  }

  /** 429, 5xx and network failures may pass; anything else needs a configuration change. */
  get transient(): boolean {
    return this.status === undefined || this.status === 429 || this.status >= 500;
  }

  summary(): { tenantId: string; tokenUrl: string; status?: number; error?: string; errorDescription?: string } {
    return compact({
      tenantId: this.tenantId,
      tokenUrl: this.tokenUrl,
      status: this.status,
      error: this.error,
      errorDescription: this.errorDescription,
    });
  }
}

/** A server-given URL points outside the tenant's origin; the client refuses to send the token there. */
export class ScimForeignUrlError extends Error {
  override readonly name = 'ScimForeignUrlError';
  constructor(
    readonly origin: string,
    readonly tenantOrigin: string,
  ) {
    super(`refusing to call ${origin}: not the tenant's origin ${tenantOrigin}`);
  }
}

/**
 * `Retry-After` (RFC 9110 §10.2.3) in milliseconds from `now`: delta-seconds or HTTP-date.
 * Invalid → undefined; negative or past → 0.
 */
export function parseRetryAfter(header: string | null | undefined, now = Date.now()): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^-?\d+$/.test(value)) return Math.max(0, Number(value) * 1000);
  // Date.parse accepts almost anything; an HTTP-date always starts with a day name.
  if (!/^[A-Za-z]{3,9},?\s/.test(value)) return undefined;
  // asctime carries no zone, but every HTTP-date is GMT.
  const at = Date.parse(/\bGMT$/i.test(value) ? value : `${value} GMT`);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** What went wrong with a `fetch` that threw, in words safe to log. */
export interface FetchFailure {
  timedOut: boolean;
  code?: string;
  message: string;
}

export function describeFetchFailure(err: unknown, timeoutMs: number): FetchFailure {
  if (err instanceof Error && err.name === 'TimeoutError') {
    return { timedOut: true, message: `timed out after ${timeoutMs} ms` };
  }
  // undici reports "fetch failed" and puts the system error in `cause`.
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return {
    timedOut: false,
    code: typeof code === 'string' ? code : undefined,
    message: cause instanceof Error ? cause.message : String(cause),
  };
}

/** Replaces every occurrence of a secret in text the server sent back (some servers echo credentials). */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  // A very short "secret" would match all over ordinary text (and break the JSON it is in).
  return secrets.reduce(
    (out, secret) => (secret.length >= MIN_REDACTED_LENGTH ? out.split(secret).join('[REDACTED]') : out),
    text,
  );
}

const MIN_REDACTED_LENGTH = 6;

function asScimError(body: unknown): ScimErrorBody | undefined {
  if (!isRecord(body)) return undefined;
  const tagged = Array.isArray(body.schemas) && body.schemas.includes(SCIM_ERROR_SCHEMA);
  // Some providers drop `schemas` but keep the §3.12 shape.
  const shaped = 'status' in body && (typeof body.scimType === 'string' || typeof body.detail === 'string');
  if (!tagged && !shaped) return undefined;
  return compact({
    schemas: Array.isArray(body.schemas) ? body.schemas.filter((s): s is string => typeof s === 'string') : undefined,
    status: typeof body.status === 'string' || typeof body.status === 'number' ? body.status : undefined,
    scimType: stringMember(body, 'scimType'),
    detail: stringMember(body, 'detail'),
  });
}

/** Ways a 403 names what is missing, most explicit first. */
const PERMISSION_MEMBERS = ['missingPermission', 'requiredPermission', 'missingScope', 'requiredScope'];
const PERMISSION_IN_TEXT = [
  /\b(?:scope|permission)s?\s*[:=]\s*['"`]?([\w.:/-]*\w)/i, // "required scope: scim:write"
  /\b(?:scope|permission)s?\s+['"`]([^'"`\s]+)['"`]/i, // "permission 'scim:write'"
  /['"`]([^'"`\s]+)['"`]\s+(?:scope|permission)/i, // "'scim:write' scope is required"
];

function findMissingPermission(
  body: unknown,
  wwwAuthenticate: string | null,
  detail: string | undefined,
): string | undefined {
  const member = stringMember(body, ...PERMISSION_MEMBERS);
  if (member) return member;
  // RFC 6750 §3: Bearer error="insufficient_scope", scope="…"
  const challenge = wwwAuthenticate?.match(/\bscope="([^"]+)"/i)?.[1];
  if (challenge) return challenge;
  for (const pattern of PERMISSION_IN_TEXT) {
    const found = detail?.match(pattern)?.[1];
    if (found) return found;
  }
  return undefined;
}

function stringMember(value: unknown, ...keys: string[]): string | undefined {
  if (!isRecord(value)) return undefined;
  for (const key of keys) {
    const member = value[key];
    if (typeof member === 'string' && member) return member;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Drops undefined members so details stay minimal plain JSON. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
