import type { TenantConnection } from '../tenant';
import { settingName, type BearerAuth } from './config';
import type { IssuedToken } from './endpoint';
import { OAuthError } from '../errors';
import type { AuthStrategy } from './strategy';

/** A static token from the environment: used as is, never refreshed. */
export class BearerStrategy implements AuthStrategy<BearerAuth> {
  finalRejection(tenant: TenantConnection, auth: BearerAuth): OAuthError {
    return staticTokenRejected(tenant, auth);
  }

  cacheKey(): unknown[] {
    return [];
  }

  async requestToken(_tenant: TenantConnection, auth: BearerAuth): Promise<IssuedToken> {
    return { value: auth.token, requestedAt: 0 };
  }
}

/** What a 401 means under a static token: fatal, and the variable to change. */
export function staticTokenRejected(tenant: TenantConnection, auth: BearerAuth): OAuthError {
  return new OAuthError(tenant.tenantId, 'static bearer token', {
    status: 401,
    reason: 'the provider rejected the static token (HTTP 401); a static token is never refreshed',
    fix: `set a valid token in ${settingName(auth, 'token')} and restart the worker`,
  });
}
