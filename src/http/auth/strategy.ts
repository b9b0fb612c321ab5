import type { TenantConnection } from '../tenant';
import type { TenantAuth } from './config';
import type { IssuedToken } from './endpoint';

/** One way of getting a token; the provider caches what it returns. */
export interface AuthStrategy<A extends TenantAuth = TenantAuth> {
  /** Only for a strategy that cannot refresh (a static token): the final error a 401 becomes. */
  finalRejection?(tenant: TenantConnection, auth: A): Error;
  /** Every non-secret setting that changes the token (the provider adds the tenant id). */
  cacheKey(auth: A): unknown[];
  requestToken(tenant: TenantConnection, auth: A): Promise<IssuedToken>;
}
