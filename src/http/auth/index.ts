import { AUTH_STRATEGIES, type TenantAuth } from './config';
import { OAuthError } from '../errors';
import type { AuthHttp, AuthTenant } from './endpoint';
import type { AuthStrategy } from './strategy';
import { TokenCache } from './token-cache';

export * from './config';
export type { AuthStrategy, AuthStrategyDefinition } from './strategy';
export { tenantIdFromIdToken } from './cxone-discovery';
export { legacyTokenUrl, LEGACY_TOKEN_PATH } from './cxone-access-key-legacy';

/** The tenant a token is for: what its strategy needs and how it authenticates (a TenantConnection has both). */
export interface TokenTenant extends AuthTenant {
  auth: TenantAuth;
}

/** What every SCIM and webhook call needs: a bearer token and where the tenant's API lives. */
export interface TenantAccess {
  token: string;
  /** Configured, or discovered by the auth strategy. */
  apiBase: string;
  /** Epoch ms; undefined for a token that never expires. */
  expiresAt?: number;
}

/** The one token-provider interface behind every SCIM and webhook call. */
export interface TokenProvider {
  /** Cached until shortly before expiry; concurrent callers share one request. */
  access(tenant: TokenTenant): Promise<TenantAccess>;
  /**
   * After a 401: forgets the rejected token (if still cached) so that the next `access` gets a new
   * one. Throws for a strategy that cannot refresh (a static token): that 401 is final.
   */
  invalidate(tenant: TokenTenant, rejectedToken: string): void;
}

export interface TokenProviderOptions {
  fetch?: typeof fetch;
  /** Clock in ms since the epoch; tests move it to reach expiry. */
  now?: () => number;
}

/** The token provider for every strategy a tenant may choose. Holds no secret of its own. */
export class TenantTokenProvider implements TokenProvider {
  readonly #cache: TokenCache;
  readonly #strategies: ReadonlyMap<string, AuthStrategy>;

  constructor(options: TokenProviderOptions = {}) {
    const http: AuthHttp = { fetch: options.fetch ?? fetch, now: options.now ?? Date.now };
    this.#cache = new TokenCache(http.now);
    this.#strategies = new Map(AUTH_STRATEGIES.map((d) => [d.type, d.create(http) as AuthStrategy]));
  }

  async access(tenant: TokenTenant): Promise<TenantAccess> {
    const strategy = this.#strategy(tenant.auth);
    const cached = await this.#cache.get(this.#key(tenant), () => strategy.requestToken(tenant, tenant.auth));
    const apiBase = tenant.baseUrl ?? cached.apiBase;
    if (!apiBase) {
      // Configuration checks make baseUrl required for every strategy that cannot discover it.
      throw new OAuthError(tenant.tenantId, 'configuration', {
        reason: 'no API base URL',
        fix: 'set baseUrl for the tenant',
      });
    }
    return { token: cached.value, apiBase, expiresAt: cached.expiresAt };
  }

  invalidate(tenant: TokenTenant, rejectedToken: string): void {
    const strategy = this.#strategy(tenant.auth);
    if (strategy.finalRejection) throw strategy.finalRejection(tenant, tenant.auth);
    this.#cache.invalidate(this.#key(tenant), rejectedToken);
  }

  #strategy(auth: TenantAuth): AuthStrategy {
    const strategy = this.#strategies.get(auth.type);
    if (!strategy) throw new Error(`unknown auth strategy "${auth.type}"`);
    return strategy;
  }

  #key(tenant: TokenTenant): string {
    return JSON.stringify([
      tenant.tenantId,
      tenant.auth.type,
      tenant.baseUrl,
      ...this.#strategy(tenant.auth).cacheKey(tenant.auth),
    ]);
  }
}
