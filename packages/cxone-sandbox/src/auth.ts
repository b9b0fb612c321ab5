// OAuth 2.0 client credentials (RFC 6749 §4.4) and bearer-token checks (RFC 6750).
// Tokens are opaque random strings kept in memory; a restart invalidates them, as a real
// authorization server's key rotation would.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ScimHttpError } from './errors';

export interface AuthOptions {
  clientId: string;
  clientSecret: string;
  /** Scopes the client may be granted; all of them when the token request names none. */
  scopes: string[];
  tokenTtlSeconds: number;
}

interface IssuedToken {
  scopes: string[];
  expiresAt: number;
}

const REALM = 'cxone-sandbox';

/** Constant-time string comparison (hashing first makes the lengths equal). */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

export class Tokens {
  private readonly issued = new Map<string, IssuedToken>();

  constructor(private readonly options: AuthOptions) {}

  /** Makes every issued token expired (tests use this to exercise the 401 → refresh path). */
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

  /** POST /oauth/token */
  register(app: FastifyInstance): void {
    app.post('/oauth/token', async (request, reply) => {
      try {
        return this.grant(request, reply);
      } catch (err) {
        if (!(err instanceof OAuthError)) throw err;
        if (err.status === 401) reply.header('www-authenticate', `Basic realm="${REALM}"`);
        return reply.code(err.status).send({ error: err.error, error_description: err.description });
      }
    });
  }

  private grant(request: FastifyRequest, reply: FastifyReply) {
    const form = (request.body ?? {}) as Record<string, unknown>;
    const field = (name: string) => (typeof form[name] === 'string' ? (form[name] as string) : undefined);
    const grantType = field('grant_type');
    if (!grantType) throw new OAuthError(400, 'invalid_request', 'grant_type is required');
    if (grantType !== 'client_credentials') {
      throw new OAuthError(400, 'unsupported_grant_type', `grant_type ${grantType} is not supported; use client_credentials`);
    }
    const [clientId, clientSecret] = clientCredentials(request.headers.authorization) ?? [field('client_id'), field('client_secret')];
    const known = sameSecret(clientId ?? '', this.options.clientId) && sameSecret(clientSecret ?? '', this.options.clientSecret);
    if (!clientId || !known) throw new OAuthError(401, 'invalid_client', 'Unknown client or wrong client secret');

    const requested = field('scope')?.split(' ').filter(Boolean);
    const scopes = requested && requested.length > 0 ? requested : this.options.scopes;
    const refused = scopes.filter((s) => !this.options.scopes.includes(s));
    if (refused.length > 0) throw new OAuthError(400, 'invalid_scope', `Scope not allowed for this client: ${refused.join(' ')}`);

    this.sweep();
    const accessToken = randomBytes(32).toString('base64url');
    this.issued.set(accessToken, { scopes, expiresAt: Date.now() + this.options.tokenTtlSeconds * 1000 });
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return { access_token: accessToken, token_type: 'Bearer', expires_in: this.options.tokenTtlSeconds, scope: scopes.join(' ') };
  }

  private sweep(): void {
    const now = Date.now();
    for (const [token, issued] of this.issued) if (issued.expiresAt <= now) this.issued.delete(token);
  }
}

/** RFC 6749 §2.3.1: HTTP Basic with form-urlencoded id and secret. */
function clientCredentials(authorization: string | undefined): [string, string] | undefined {
  const match = /^Basic\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const unescape = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  return [unescape(decoded.slice(0, colon)), unescape(decoded.slice(colon + 1))];
}
