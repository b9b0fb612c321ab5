import { OAuthError } from '../errors';
import type { AuthTenant, IssuedToken } from './endpoint';
import { defineAuthStrategy, setting, settingName, type AuthConfigOf, type AuthStrategy } from './strategy';

const settings = {
  token: setting.variable('CXONE_BEARER_TOKEN', { secret: true, purpose: 'the static bearer token' }),
};

/** A static bearer token, never refreshed. */
export type BearerAuth = AuthConfigOf<'bearer', typeof settings>;

/** A static token from the environment: used as is, never refreshed. */
class BearerStrategy implements AuthStrategy<BearerAuth> {
  finalRejection(tenant: AuthTenant, auth: BearerAuth): OAuthError {
    return staticTokenRejected(tenant, auth);
  }

  cacheKey(): unknown[] {
    return [];
  }

  async requestToken(_tenant: AuthTenant, auth: BearerAuth): Promise<IssuedToken> {
    return { value: auth.token, requestedAt: 0 };
  }
}

export const bearer = defineAuthStrategy({
  type: 'bearer',
  needsBaseUrl: true,
  settings,
  describe: () => 'bearer (static token)',
  create: () => new BearerStrategy(),
});

/** What a 401 means under a static token: fatal, and the variable to change. */
export function staticTokenRejected(tenant: AuthTenant, auth: BearerAuth): OAuthError {
  return new OAuthError(tenant.tenantId, 'static bearer token', {
    status: 401,
    reason: 'the provider rejected the static token (HTTP 401); a static token is never refreshed',
    fix: `set a valid token in ${settingName(auth, 'token')} and restart the worker`,
  });
}
