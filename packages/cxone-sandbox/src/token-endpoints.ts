// How clients get tokens, as NICE CXone documents it and as other SCIM providers do:
//   GET  /.well-known/openid-configuration            issuer discovery (token_endpoint)
//   GET  /.well-known/cxone-configuration?tenantId=…  the tenant's api_endpoint and area
//   POST /auth/token (and /oauth/token)                OAuth 2.0 password grant with the access key as
//                                                      username/password and the client by HTTP Basic
//                                                      (or in the form); client_credentials where the
//                                                      profile offers it
//   POST /authentication/v1/token/access-key           the older JSON access-key flow
import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { REALM, sameSecret, type Tokens } from './auth';

/** Broken discovery answers, for tests of a client's error messages. */
export type DiscoveryFault = 'no-api-endpoint' | 'no-tenant-id-claim';

export interface TokenEndpointOptions {
  tokens: Tokens;
  /** The sandbox's own URL: issuer and API endpoint. */
  url: () => string;
  /** CXone tenant id carried in id_tokens and answered by cxone-configuration. */
  tenantId: string;
  clientCredentialsGrant: boolean;
  discoveryFault?: DiscoveryFault;
}

export const TOKEN_PATH = '/auth/token';
export const LEGACY_TOKEN_PATH = '/authentication/v1/token/access-key';

class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

export function registerTokenEndpoints(app: FastifyInstance, options: TokenEndpointOptions): void {
  const { tokens } = options;
  const credentials = tokens.options;
  const idTokenKey = randomBytes(32);

  app.get('/.well-known/openid-configuration', async () => ({
    issuer: options.url(),
    token_endpoint: `${options.url()}${TOKEN_PATH}`,
    grant_types_supported: ['password', ...(options.clientCredentialsGrant ? ['client_credentials'] : [])],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    id_token_signing_alg_values_supported: ['HS256'],
    claims_supported: ['sub', 'iss', 'aud', 'tenantId'],
  }));

  app.get<{ Querystring: { tenantId?: string } }>('/.well-known/cxone-configuration', async (request, reply) => {
    const asked = request.query.tenantId;
    if (!asked) return reply.code(400).send({ error: 'invalid_request', error_description: 'tenantId is required' });
    if (asked !== options.tenantId)
      return reply.code(404).send({ error: 'not_found', error_description: `Unknown tenant ${asked}` });
    return options.discoveryFault === 'no-api-endpoint'
      ? { area: 'na1' }
      : { api_endpoint: options.url(), area: 'na1' };
  });

  const oauth =
    (handler: (request: FastifyRequest, reply: FastifyReply) => unknown) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        const body = handler(request, reply);
        reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
        return body;
      } catch (err) {
        if (!(err instanceof OAuthError)) throw err;
        if (err.status === 401) reply.header('www-authenticate', `Basic realm="${REALM}"`);
        return reply.code(err.status).send({ error: err.error, error_description: err.description });
      }
    };

  const grant = (request: FastifyRequest) => {
    const form = (request.body ?? {}) as Record<string, unknown>;
    const field = (name: string) => (typeof form[name] === 'string' ? (form[name] as string) : undefined);
    const grantType = field('grant_type');
    if (!grantType) throw new OAuthError(400, 'invalid_request', 'grant_type is required');
    const offered = ['password', ...(options.clientCredentialsGrant ? ['client_credentials'] : [])];
    if (!offered.includes(grantType)) {
      throw new OAuthError(
        400,
        'unsupported_grant_type',
        `grant_type ${grantType} is not supported; use ${offered.join(' or ')}`,
      );
    }
    const [clientId, clientSecret] = clientCredentials(request.headers.authorization) ?? [
      field('client_id'),
      field('client_secret'),
    ];
    const known =
      sameSecret(clientId ?? '', credentials.clientId) && sameSecret(clientSecret ?? '', credentials.clientSecret);
    if (!clientId || !known) throw new OAuthError(401, 'invalid_client', 'Unknown client or wrong client secret');
    if (grantType === 'password') {
      const keyKnown =
        sameSecret(field('username') ?? '', credentials.accessKeyId) &&
        sameSecret(field('password') ?? '', credentials.accessKeySecret);
      if (!keyKnown) throw new OAuthError(400, 'invalid_grant', 'Unknown access key or wrong access key secret');
    }

    const requested = field('scope')?.split(' ').filter(Boolean);
    const scopes = requested && requested.length > 0 ? requested : credentials.scopes;
    const refused = scopes.filter((s) => !credentials.scopes.includes(s));
    if (refused.length > 0)
      throw new OAuthError(400, 'invalid_scope', `Scope not allowed for this client: ${refused.join(' ')}`);

    const { accessToken, expiresIn } = tokens.issue(scopes);
    const response: Record<string, unknown> = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: expiresIn,
      scope: scopes.join(' '),
    };
    if (grantType === 'password') response.id_token = idToken(idTokenKey, options, clientId, expiresIn);
    return response;
  };

  app.post(TOKEN_PATH, oauth(grant));
  app.post('/oauth/token', oauth(grant));

  app.post(
    LEGACY_TOKEN_PATH,
    oauth((request) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const id = typeof body.accessKeyId === 'string' ? body.accessKeyId : '';
      const secret = typeof body.accessKeySecret === 'string' ? body.accessKeySecret : '';
      if (!id || !secret)
        throw new OAuthError(400, 'invalid_request', 'accessKeyId and accessKeySecret are required (JSON body)');
      if (!sameSecret(id, credentials.accessKeyId) || !sameSecret(secret, credentials.accessKeySecret)) {
        throw new OAuthError(401, 'invalid_access_key', 'Unknown access key or wrong access key secret');
      }
      const { accessToken, expiresIn } = tokens.issue(credentials.scopes);
      return { access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn };
    }),
  );
}

/** An HS256 id_token whose claims carry the CXone `tenantId` (unless the discovery fault drops it). */
function idToken(key: Buffer, options: TokenEndpointOptions, clientId: string, expiresIn: number): string {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: options.url(),
    sub: 'sandbox-api-user',
    aud: clientId,
    iat: now,
    exp: now + expiresIn,
  };
  if (options.discoveryFault !== 'no-tenant-id-claim') claims.tenantId = options.tenantId;
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const signed = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${signed}.${createHmac('sha256', key).update(signed).digest('base64url')}`;
}

/** RFC 6749 §2.3.1: HTTP Basic with form-urlencoded id and secret. */
function clientCredentials(authorization: string | undefined): [string, string] | undefined {
  const match = /^Basic\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const formUnescape = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  return [formUnescape(decoded.slice(0, colon)), formUnescape(decoded.slice(colon + 1))];
}
