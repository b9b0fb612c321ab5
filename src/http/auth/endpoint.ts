import { parseBody } from '../body';
import { describeFetchFailure, OAuthError, parseRetryAfter, redactSecrets } from '../errors';

const DEFAULT_TIMEOUT_MS = 30_000;
/** Assumed lifetime when the token response omits `expires_in` (optional per RFC 6749 §5.1). */
const DEFAULT_LIFETIME_S = 300;
/** RFC 6750 b64token is visible ASCII; anything else could not go into a header (and might leak in the error). */
const TOKEN_SYNTAX = /^[\x21-\x7e]+$/;

/** What the strategies share: the HTTP client and the clock (tests move it to reach expiry). */
export interface AuthHttp {
  fetch: typeof fetch;
  now: () => number;
}

/**
 * What getting a token needs of a tenant (a TenantConnection has it): the id errors name, the API
 * base when configured, the request timeout. Nothing more, so that auth never depends on tenant.ts.
 */
export interface AuthTenant {
  tenantId: string;
  baseUrl?: string;
  requestTimeoutMs?: number;
}

/** A token as an endpoint issued it. No `lifetimeMs`: it never expires (a static token). */
export interface IssuedToken {
  value: string;
  lifetimeMs?: number;
  /** The tenant's API base, when the strategy discovered it. */
  apiBase?: string;
  /** When the request was sent: the lifetime counts from here. */
  requestedAt: number;
}

export interface EndpointCall {
  tenant: AuthTenant;
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Scrubbed from anything the server sends back. */
  secrets: string[];
  /** The setting to change when the endpoint refuses (4xx but 429) or cannot be reached (no status). */
  fix(status: number | undefined, error: string | undefined): string | undefined;
}

export interface EndpointAnswer {
  status: number;
  json: Record<string, unknown>;
  requestedAt: number;
}

/** An OAuthError for this endpoint (its URL without the query: that may carry an id). */
export function endpointError(
  call: Pick<EndpointCall, 'tenant' | 'url'>,
  init: ConstructorParameters<typeof OAuthError>[2],
): OAuthError {
  const url = new URL(call.url);
  return new OAuthError(call.tenant.tenantId, `${url.origin}${url.pathname}`, init);
}

/**
 * One call to a token or discovery endpoint: its JSON object back, or an OAuthError that holds no
 * secret. Credentials never follow a redirect.
 */
export async function callAuthEndpoint(http: AuthHttp, call: EndpointCall): Promise<EndpointAnswer> {
  const timeoutMs = call.tenant.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const requestedAt = http.now();
  let response: Response;
  let text: string;
  try {
    response = await http.fetch(call.url, {
      method: call.method,
      headers: { accept: 'application/json', ...call.headers },
      body: call.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (err) {
    throw endpointError(call, {
      reason: describeFetchFailure(err, timeoutMs).message,
      fix: call.fix(undefined, undefined),
    });
  }
  const body = parseBody(redactSecrets(text, call.secrets), response.headers.get('content-type'));
  const json = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<
    string,
    unknown
  >;
  const { status } = response;
  if (!response.ok) {
    const error = typeof json.error === 'string' ? json.error : undefined;
    const errorDescription =
      typeof json.error_description === 'string'
        ? json.error_description
        : typeof json.message === 'string'
          ? json.message
          : undefined;
    const transient = status === 429 || status >= 500;
    throw endpointError(call, {
      status,
      error,
      errorDescription,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), http.now()),
      reason: `HTTP ${status}${error ? ` ${error}` : ''}${errorDescription ? `: ${errorDescription}` : ''}`,
      fix: transient ? undefined : call.fix(status, error),
    });
  }
  return { status, json, requestedAt };
}

/** `access_token` and `expires_in` of a successful token response (RFC 6749 §5.1). */
export function readAccessToken(call: Pick<EndpointCall, 'tenant' | 'url'>, answer: EndpointAnswer): IssuedToken {
  const token = answer.json.access_token;
  if (typeof token !== 'string' || !TOKEN_SYNTAX.test(token)) {
    throw endpointError(call, { status: answer.status, reason: `HTTP ${answer.status} without a usable access_token` });
  }
  const expiresIn = Number(answer.json.expires_in);
  const lifetimeS = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_LIFETIME_S;
  return { value: token, lifetimeMs: lifetimeS * 1000, requestedAt: answer.requestedAt };
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding. */
export function basicAuth(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

export const FORM = 'application/x-www-form-urlencoded';
