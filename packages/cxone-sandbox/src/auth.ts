// Bearer tokens (RFC 6750): issued by the token endpoints (token-endpoints.ts), checked on every
// API request. Issued tokens are opaque random strings kept in memory; a restart invalidates them,
// as a real authorization server's key rotation would. A static token, when configured, never expires.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ScimHttpError } from './errors';

export interface AuthOptions {
  clientId: string;
  clientSecret: string;
  /** Scopes the client may be granted; all of them when the token request names none. */
  scopes: string[];
  tokenTtlSeconds: number;
  /** The API user's access key (password grant and the legacy access-key flow). */
  accessKeyId: string;
  accessKeySecret: string;
  /** Accepted as a bearer token with every scope, never expiring; none when absent. */
  staticToken?: string;
}

interface IssuedToken {
  scopes: string[];
  expiresAt: number;
}

export const REALM = 'cxone-sandbox';

/** Constant-time string comparison (hashing first makes the lengths equal). */
export function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

export class Tokens {
  private readonly issued = new Map<string, IssuedToken>();

  constructor(readonly options: AuthOptions) {}

  /** A new opaque token with these scopes, valid for the configured lifetime. */
  issue(scopes: string[]): { accessToken: string; expiresIn: number } {
    this.sweep();
    const accessToken = randomBytes(32).toString('base64url');
    this.issued.set(accessToken, { scopes, expiresAt: Date.now() + this.options.tokenTtlSeconds * 1000 });
    return { accessToken, expiresIn: this.options.tokenTtlSeconds };
  }

  /** Makes every issued token expired (tests use this to exercise the 401 → refresh path). Static tokens stay. */
  expireAll(): void {
    for (const token of this.issued.values()) token.expiresAt = 0;
  }

  /** Throws 401 for a missing, unknown or expired token, 403 when it lacks `scope`. */
  check(authorization: string | undefined, scope: string): void {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) {
      throw new ScimHttpError(401, 'Authentication required: send an OAuth bearer token', undefined, {
        'www-authenticate': `Bearer realm="${REALM}"`,
      });
    }
    const { staticToken } = this.options;
    if (staticToken !== undefined && sameSecret(match[1], staticToken)) return;
    const token = this.issued.get(match[1]);
    if (!token || token.expiresAt <= Date.now()) {
      if (token) this.issued.delete(match[1]);
      throw new ScimHttpError(401, `The access token is ${token ? 'expired' : 'invalid'}`, undefined, {
        'www-authenticate': `Bearer realm="${REALM}", error="invalid_token", error_description="The access token is ${token ? 'expired' : 'invalid'}"`,
      });
    }
    if (!token.scopes.includes(scope)) {
      throw new ScimHttpError(403, `The access token lacks the required scope "${scope}"`, undefined, {
        'www-authenticate': `Bearer realm="${REALM}", error="insufficient_scope", scope="${scope}"`,
      });
    }
  }

  /** A fastify onRequest hook guarding a group of routes. */
  requireScope(scope: string) {
    return async (request: FastifyRequest): Promise<void> => this.check(request.headers.authorization, scope);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [token, issued] of this.issued) if (issued.expiresAt <= now) this.issued.delete(token);
  }
}
