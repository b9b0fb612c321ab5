import { parseBody } from './body';
import { describeFetchFailure, OAuthError, parseRetryAfter, redactSecrets } from './errors';
import type { TenantConnection } from './tenant';

const DEFAULT_TIMEOUT_MS = 30_000;
/** Assumed lifetime when the token response omits `expires_in` (optional per RFC 6749 §5.1). */
const DEFAULT_LIFETIME_S = 300;
const MAX_REFRESH_MARGIN_MS = 60_000;
/** RFC 6750 b64token is visible ASCII; anything else could not go into a header (and might leak in the error). */
const TOKEN_SYNTAX = /^[\x21-\x7e]+$/;

export interface OAuthTokenProviderOptions {
  fetch?: typeof fetch;
  /** Clock in ms since the epoch; tests move it to reach expiry. */
  now?: () => number;
}

interface CachedToken {
  value: string;
  refreshAt: number;
}

/**
 * OAuth 2.0 client-credentials tokens (RFC 6749 §4.4), cached per tenant, token URL, client and
 * scopes until shortly before expiry. Concurrent callers share one token request.
 */
export class OAuthTokenProvider {
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #cache = new Map<string, CachedToken>();
  readonly #inFlight = new Map<string, Promise<string>>();

  constructor(options: OAuthTokenProviderOptions = {}) {
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
  }

  getToken(tenant: TenantConnection): Promise<string> {
    const key = cacheKey(tenant);
    const cached = this.#cache.get(key);
    if (cached && this.#now() < cached.refreshAt) return Promise.resolve(cached.value);
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = this.#requestToken(tenant)
        .then((token) => {
          this.#cache.set(key, token);
          return token.value;
        })
        .finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    return pending;
  }

  /**
   * Forgets the tenant's cached token after a 401. Given the rejected token, forgets it only if it
   * is still the cached one, so a burst of 401s on one old token causes one refresh, not many.
   */
  invalidate(tenant: TenantConnection, rejectedToken?: string): void {
    const key = cacheKey(tenant);
    if (rejectedToken === undefined || this.#cache.get(key)?.value === rejectedToken) this.#cache.delete(key);
  }

  async #requestToken(tenant: TenantConnection): Promise<CachedToken> {
    const url = new URL(tenant.tokenUrl);
    const fail = (init: ConstructorParameters<typeof OAuthError>[2]) =>
      new OAuthError(tenant.tenantId, `${url.origin}${url.pathname}`, init);
    const timeoutMs = tenant.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (tenant.scopes.length > 0) form.set('scope', tenant.scopes.join(' '));
    const requestedAt = this.#now();

    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, {
        method: 'POST',
        headers: {
          authorization: basicAuth(tenant.clientId, tenant.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
        redirect: 'manual', // credentials never follow a redirect
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      throw fail({ reason: describeFetchFailure(err, timeoutMs).message });
    }

    const body = parseBody(redactSecrets(text, [tenant.clientSecret]), response.headers.get('content-type'));
    const json = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const { status } = response;
    if (!response.ok) {
      const error = typeof json.error === 'string' ? json.error : undefined;
      const errorDescription = typeof json.error_description === 'string' ? json.error_description : undefined;
      throw fail({
        status,
        error,
        errorDescription,
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), this.#now()),
        reason: `HTTP ${status}${error ? ` ${error}` : ''}${errorDescription ? `: ${errorDescription}` : ''}`,
      });
    }
    const token = json.access_token;
    if (typeof token !== 'string' || !TOKEN_SYNTAX.test(token)) {
      throw fail({ status, reason: `HTTP ${status} without a usable access_token` });
    }
    const expiresIn = Number(json.expires_in);
    const lifetimeMs = (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_LIFETIME_S) * 1000;
    // Refresh early enough that a token never expires in flight: 60 s or 10% of its life, whichever is less.
    return { value: token, refreshAt: requestedAt + lifetimeMs - Math.min(MAX_REFRESH_MARGIN_MS, lifetimeMs / 10) };
  }
}

function cacheKey(tenant: TenantConnection): string {
  return JSON.stringify([tenant.tenantId, tenant.tokenUrl, tenant.clientId, tenant.scopes]);
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding. */
function basicAuth(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}
