import { parseBody } from './body';
import {
  describeFetchFailure,
  parseRetryAfter,
  redactSecrets,
  ScimForeignUrlError,
  ScimHttpError,
  ScimNetworkError,
} from './errors';
import { authSecrets, type TokenProvider } from './auth';
import { OPTIONAL_PARAMETERS, type TenantDialect } from './dialect';
import type { RequestGate } from './request-gate';
import { scimBaseUrl, type TenantConnection } from './tenant';

const DEFAULT_TIMEOUT_MS = 30_000;
const SCIM_JSON = 'application/scim+json';
/** Response headers never copied into a ScimResponse. */
const HIDDEN_HEADERS = new Set(['authorization', 'proxy-authorization', 'set-cookie']);

export type ScimMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ScimRequestOptions {
  /** Sent as JSON with content type application/scim+json. */
  body?: unknown;
  /** Appended to the URL; undefined values are skipped. */
  query?: Record<string, string | number | undefined>;
  ifMatch?: string;
  headers?: Record<string, string>;
  /** Statuses that count as success; default any 2xx. Anything else throws ScimHttpError. */
  expect?: number[];
}

export type ScimBodylessOptions = Omit<ScimRequestOptions, 'body'>;

export interface ScimResponse<T = unknown> {
  status: number;
  etag?: string;
  location?: string;
  retryAfterMs?: number;
  /** Lower-case names; credentials and cookies left out. */
  headers: Record<string, string>;
  /** Parsed JSON; undefined when empty (e.g. 204). */
  body: T;
  durationMs: number;
  bodyBytes: number;
}

export interface ScimClientOptions {
  tenant: TenantConnection;
  tokens: TokenProvider;
  /** Only for tests that count calls; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Per-request timeout; defaults to the tenant's `requestTimeoutMs`, then 30 s. */
  timeoutMs?: number;
  /** The tenant's rate limit shared with every other client of the process (see request-gate.ts). */
  gate?: RequestGate;
  /**
   * What this process has learnt of the tenant (dialect.ts): refused optional query parameters are
   * left out, a refusal of one is learnt by repeating the request without it, and a request that
   * fails identically while the tenant answers others is reported as persistent.
   */
  dialect?: TenantDialect;
  /** Hears of every round trip (e.g. to count answers for metrics); must not throw. */
  onResponse?: (observed: ObservedResponse) => void;
}

/** One round trip as an observer hears of it: no URL, no body, no header but the wait asked for. */
export interface ObservedResponse {
  method: ScimMethod;
  /** Absent when no answer came (refused connection, timeout). */
  status?: number;
  /** A 429's or 503's Retry-After, in ms. */
  retryAfterMs?: number;
}

/** Answers that may mean "this request shape is not understood" (rather than "try later"). */
const SHAPE_REFUSALS = new Set([400, 422, 500, 501]);

/** Optional parameters, in the order they are given up when a request is refused: the least useful last. */
const GIVE_UP_ORDER: ReadonlyArray<readonly string[]> = [
  ['attributes', 'excludedAttributes'],
  ['sortBy', 'sortOrder'],
  ['count'],
];

interface Exchange {
  response: Response;
  text: string;
  bodyBytes: number;
  durationMs: number;
}

/** Builds a request's URL once the tenant's API base is known (it may be discovered). */
type Target = (apiBase: string) => URL;

/**
 * SCIM 2.0 over HTTP for one tenant: bearer token and API base from the token provider, SCIM
 * content types, one token refresh on 401, typed errors. Holds the tenant in private fields so
 * the client never serializes a secret.
 */
export class ScimClient {
  readonly #tenant: TenantConnection;
  readonly #tokens: TokenProvider;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #gate?: RequestGate;
  readonly #dialect?: TenantDialect;
  readonly #onResponse?: (observed: ObservedResponse) => void;

  constructor(options: ScimClientOptions) {
    this.#tenant = options.tenant;
    this.#tokens = options.tokens;
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? options.tenant.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#gate = options.gate;
    this.#dialect = options.dialect;
    this.#onResponse = options.onResponse;
  }

  /** `path` is relative to the tenant's SCIM base, e.g. `/Users/2819c223`. */
  async request<T = unknown>(
    method: ScimMethod,
    path: string,
    opts: ScimRequestOptions = {},
  ): Promise<ScimResponse<T>> {
    const dialect = this.#dialect;
    if (!dialect) return this.#scim<T>(method, path, opts);
    const query: Record<string, string | number> = {};
    for (const [name, value] of Object.entries(opts.query ?? {})) {
      const capability = OPTIONAL_PARAMETERS[name];
      if (value !== undefined && !(capability && !dialect.allows(capability, method))) query[name] = value;
    }
    const shape = `${method} ${path}?${Object.keys(query).sort().join('&')}`;
    try {
      const response = await this.#scim<T>(method, path, { ...opts, query });
      dialect.noteSuccess(shape);
      return response;
    } catch (err) {
      if (!(err instanceof ScimHttpError)) throw err;
      let last: ScimHttpError = err;
      if (SHAPE_REFUSALS.has(err.status)) {
        // The plainer shapes, one more optional parameter left out each time; the first accepted one is learnt.
        const dropped: string[] = [];
        for (const names of GIVE_UP_ORDER) {
          const present = names.filter((name) => name in query);
          if (present.length === 0) continue;
          dropped.push(...present);
          const plain = Object.fromEntries(Object.entries(query).filter(([name]) => !dropped.includes(name)));
          try {
            const response = await this.#scim<T>(method, path, { ...opts, query: plain });
            for (const name of dropped)
              dialect.learn(
                OPTIONAL_PARAMETERS[name],
                `${method} ${path} with ${name}= answered HTTP ${err.status}${err.detail ? ` (${err.detail})` : ''}; without it, ${response.status}`,
                method,
              );
            dialect.noteSuccess(shape);
            return response;
          } catch (plainErr) {
            if (!(plainErr instanceof ScimHttpError)) throw plainErr;
            last = plainErr;
          }
        }
      }
      throw await this.#persistentOrNot(dialect, shape, last, method, path);
    }
  }

  /**
   * A 5xx (but 503, which asks to wait) that this exact request got identically often enough, for
   * long enough, while a probe of the tenant is answered, is persistent: retrying will not cure it.
   */
  async #persistentOrNot(
    dialect: TenantDialect,
    shape: string,
    err: ScimHttpError,
    method: ScimMethod,
    path: string,
  ): Promise<ScimHttpError> {
    if (err.status < 500 || err.status === 503) return err;
    if (!dialect.noteFailure(shape, `${err.status} ${err.scimType ?? ''} ${err.detail ?? ''}`)) return err;
    const collection = `/${path.replace(/^\/+/, '').split(/[/?]/)[0]}`;
    if (method === 'GET' && path === collection) return err; // the probe would be this very request
    try {
      await this.#scim('GET', collection, {
        query: { startIndex: 1, ...(dialect.allows('count', 'GET') ? { count: 1 } : {}) },
      });
    } catch {
      return err; // the tenant answers nothing: an outage, retried as such
    }
    return err.persistentAfter(dialect.failuresOf(shape));
  }

  #scim<T>(method: ScimMethod, path: string, opts: ScimRequestOptions): Promise<ScimResponse<T>> {
    return this.#send(
      method,
      (apiBase) => withQuery(new URL(`${this.#scimBase(apiBase)}/${path.replace(/^\/+/, '')}`), opts.query),
      opts,
    );
  }

  /** `path` is relative to the tenant's API base, not its SCIM base, e.g. `/api/v2/webhooks`. */
  api<T = unknown>(method: ScimMethod, path: string, opts: ScimRequestOptions = {}): Promise<ScimResponse<T>> {
    return this.#send(
      method,
      (apiBase) => withQuery(new URL(`${apiBase.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`), opts.query),
      opts,
    );
  }

  /**
   * For URLs the server handed out (e.g. an async bulk `Location`), absolute or relative to the
   * SCIM base. Refuses any other origin than the tenant's, so the token never goes elsewhere.
   */
  async requestUrl<T = unknown>(
    method: ScimMethod,
    url: string,
    opts: ScimRequestOptions = {},
  ): Promise<ScimResponse<T>> {
    return this.#send(
      method,
      (apiBase) => {
        const scimBase = this.#scimBase(apiBase);
        const target = new URL(url, `${scimBase}/`);
        const tenantOrigin = new URL(scimBase).origin;
        if (target.origin !== tenantOrigin) throw new ScimForeignUrlError(target.origin, tenantOrigin);
        return withQuery(target, opts.query);
      },
      opts,
    );
  }

  get<T = unknown>(path: string, opts?: ScimBodylessOptions): Promise<ScimResponse<T>> {
    return this.request<T>('GET', path, opts);
  }

  post<T = unknown>(path: string, body: unknown, opts?: ScimBodylessOptions): Promise<ScimResponse<T>> {
    return this.request<T>('POST', path, { ...opts, body });
  }

  put<T = unknown>(path: string, body: unknown, opts?: ScimBodylessOptions): Promise<ScimResponse<T>> {
    return this.request<T>('PUT', path, { ...opts, body });
  }

  patch<T = unknown>(path: string, body: unknown, opts?: ScimBodylessOptions): Promise<ScimResponse<T>> {
    return this.request<T>('PATCH', path, { ...opts, body });
  }

  delete<T = unknown>(path: string, opts?: ScimBodylessOptions): Promise<ScimResponse<T>> {
    return this.request<T>('DELETE', path, opts);
  }

  async #send<T>(method: ScimMethod, target: Target, opts: ScimRequestOptions): Promise<ScimResponse<T>> {
    // With a configured API base, a refused URL fails before any token is fetched.
    if (this.#tenant.baseUrl !== undefined) target(this.#tenant.baseUrl);
    let access = await this.#tokens.access(this.#tenant);
    let url = target(access.apiBase);
    let exchange = await this.#exchange(method, url, opts, access.token);
    if (exchange.response.status === 401 && !opts.expect?.includes(401)) {
      // Revoked or rotated early: one fresh token, one more try; a second 401 is final.
      this.#tokens.invalidate(this.#tenant, access.token);
      access = await this.#tokens.access(this.#tenant);
      url = target(access.apiBase);
      exchange = await this.#exchange(method, url, opts, access.token);
    }

    const { response } = exchange;
    const { status, headers } = response;
    const expected = opts.expect ? opts.expect.includes(status) : status >= 200 && status < 300;
    if (!expected) {
      const body = parseBody(
        redactSecrets(exchange.text, [access.token, ...authSecrets(this.#tenant.auth)]),
        headers.get('content-type'),
      );
      throw ScimHttpError.fromResponse(method, url.pathname, status, headers, body);
    }
    return {
      status,
      etag: headers.get('etag') ?? undefined,
      location: headers.get('location') ?? undefined,
      retryAfterMs: parseRetryAfter(headers.get('retry-after')),
      headers: Object.fromEntries([...headers].filter(([name]) => !HIDDEN_HEADERS.has(name))),
      body: parseBody(exchange.text, headers.get('content-type')) as T,
      durationMs: exchange.durationMs,
      bodyBytes: exchange.bodyBytes,
    };
  }

  /** Tells the observer; its failure never becomes the request's. */
  #observe(observed: ObservedResponse): void {
    try {
      this.#onResponse?.(observed);
    } catch {
      // an observer's fault is not the provider's
    }
  }

  #scimBase(apiBase: string): string {
    return scimBaseUrl({ baseUrl: apiBase, scimPath: this.#tenant.scimPath });
  }

  /** One HTTP round trip, body included (the timeout covers both). */
  async #exchange(method: ScimMethod, url: URL, opts: ScimRequestOptions, token: string): Promise<Exchange> {
    const headers = new Headers({ accept: `${SCIM_JSON}, application/json` });
    if (opts.body !== undefined) headers.set('content-type', SCIM_JSON);
    for (const [name, value] of Object.entries(opts.headers ?? {})) headers.set(name, value);
    if (opts.ifMatch !== undefined) headers.set('if-match', opts.ifMatch);
    headers.set('authorization', `Bearer ${token}`);

    const send = async (): Promise<Exchange> => {
      const started = performance.now();
      const response = await this.#fetch(url, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        redirect: 'manual', // the token never follows a redirect
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      const bytes = Buffer.from(await response.arrayBuffer());
      const askedToWait = response.status === 429 || response.status === 503;
      const retryAfterMs = askedToWait ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
      // The tenant asked everyone to wait: every request of this process waits with us.
      if (retryAfterMs !== undefined) this.#gate?.pauseUntil(Date.now() + retryAfterMs);
      this.#observe({ method, status: response.status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
      return {
        response,
        text: bytes.toString('utf8'),
        bodyBytes: bytes.byteLength,
        durationMs: Math.round(performance.now() - started),
      };
    };
    try {
      return await (this.#gate ? this.#gate.run(send) : send());
    } catch (err) {
      this.#observe({ method });
      throw new ScimNetworkError(method, url.pathname, describeFetchFailure(err, this.#timeoutMs));
    }
  }
}

/** Adds query parameters, percent-encoded (`%20`, not `+`, so SCIM filters survive any server). */
function withQuery(url: URL, query: ScimRequestOptions['query']): URL {
  const pairs = Object.entries(query ?? {})
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`);
  if (pairs.length > 0) url.search = [url.search.slice(1), ...pairs].filter(Boolean).join('&');
  return url;
}
