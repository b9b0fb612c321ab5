import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  OAuthError,
  TenantTokenProvider,
  SCIM_ERROR_SCHEMA,
  ScimClient,
  ScimForeignUrlError,
  ScimHttpError,
  ScimNetworkError,
  TenantDialect,
  type TenantConnection,
  type TokenProvider,
} from '../src/http';
import { startScriptedServer } from './helpers/http';
import { toActivityFailure } from '../src/activities/provider/failure-mapping';
import type { ClientCredentialsAuth } from '../src/http/auth';

const CLIENT_SECRET = 'cl1ent-SECRET-value';
const TOKEN_PREFIX = 'tok-SECRET-';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
type Reply = { status: number; headers?: Record<string, string>; body?: unknown } | 'hang';
type Route = (req: Seen) => Reply;

/** Scripted per test: the token endpoint and SCIM routes answer from these. */
let tokenRoute: Route;
let scimRoute: Route;
let tokenRequests: Seen[];
let scimRequests: Seen[];
let tokensIssued = 0;
let expiresIn = 3600;

function issueToken(): Reply {
  tokensIssued += 1;
  return {
    status: 200,
    body: { access_token: `${TOKEN_PREFIX}${tokensIssued}`, token_type: 'Bearer', expires_in: expiresIn },
  };
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const seen: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
    };
    const isToken = seen.url.startsWith('/oauth/token');
    (isToken ? tokenRequests : scimRequests).push(seen);
    const reply = (isToken ? tokenRoute : scimRoute)(seen);
    if (reply === 'hang') return; // the client's timeout ends it
    const headers = { 'content-type': isToken ? 'application/json' : 'application/scim+json', ...reply.headers };
    res.writeHead(reply.status, headers);
    res.end(
      reply.body === undefined ? undefined : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body),
    );
  });
});

let baseUrl: string;
let deadPort: number;

type AuthOverrides = Partial<Omit<ClientCredentialsAuth, 'type'>>;

function tenant(overrides: Partial<Omit<TenantConnection, 'auth'>> & { auth?: AuthOverrides } = {}): TenantConnection {
  const { auth, ...rest } = overrides;
  return {
    tenantId: 'acme',
    baseUrl: `${baseUrl}/`,
    scimPath: '/scim/v2/',
    auth: {
      type: 'client-credentials',
      tokenUrl: `${baseUrl}/oauth/token`,
      clientId: 'client 1',
      clientSecret: CLIENT_SECRET,
      scopes: ['scim:write', 'cxone.webhook.manage'],
      clientAuthMethod: 'client_secret_basic',
      ...auth,
    },
    ...rest,
  };
}

function client(options: { tenant?: TenantConnection; tokens?: TokenProvider; timeoutMs?: number } = {}): ScimClient {
  return new ScimClient({
    tenant: options.tenant ?? tenant(),
    tokens: options.tokens ?? new TenantTokenProvider(),
    timeoutMs: options.timeoutMs,
  });
}

/** The awaited promise must reject; returns the error. */
async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    assertNoSecrets(err);
    return err;
  }
  assert.fail('expected a rejection');
}

/** Neither the client secret nor any token may show up in anything an error exposes. */
function assertNoSecrets(err: unknown): void {
  const failure = toActivityFailure(err);
  const views = [
    (err as Error).message,
    String((err as Error).stack),
    JSON.stringify(err),
    inspect(err, { depth: 5 }),
    failure.message,
    JSON.stringify(failure.details),
    inspect(failure, { depth: 5 }),
  ];
  for (const view of views) {
    assert.ok(!view.includes(CLIENT_SECRET), `client secret leaked: ${view}`);
    assert.ok(!view.includes(TOKEN_PREFIX), `token leaked: ${view}`);
  }
}

const ok: Route = () => ({ status: 200, body: { ok: true } });

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A port that was just free: nothing listens there.
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  deadPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  tokenRoute = issueToken;
  scimRoute = ok;
  tokenRequests = [];
  scimRequests = [];
  tokensIssued = 0;
  expiresIn = 3600;
});

describe('OAuth client credentials', () => {
  it('fetches one token with Basic auth and reuses it across requests', async () => {
    const scim = client();
    await scim.get('/Users');
    await scim.get('/Groups');
    await scim.get('/Schemas');
    assert.equal(tokenRequests.length, 1);
    const [tokenRequest] = tokenRequests;
    assert.equal(tokenRequest.method, 'POST');
    assert.equal(tokenRequest.headers['content-type'], 'application/x-www-form-urlencoded');
    const basic = Buffer.from(String(tokenRequest.headers.authorization).replace(/^Basic /, ''), 'base64').toString();
    assert.equal(basic, `client+1:${CLIENT_SECRET}`); // form-urlencoded per RFC 6749 §2.3.1
    assert.deepEqual(Object.fromEntries(new URLSearchParams(tokenRequest.body)), {
      grant_type: 'client_credentials',
      scope: 'scim:write cxone.webhook.manage',
    });
    assert.deepEqual(
      scimRequests.map((r) => r.headers.authorization),
      Array(3).fill(`Bearer ${TOKEN_PREFIX}1`),
    );
  });

  it('refreshes shortly before expiry (10% of a short lifetime)', async () => {
    let now = 1_000_000;
    const tokens = new TenantTokenProvider({ now: () => now });
    expiresIn = 100; // refresh margin min(60 s, 10 s) = 10 s
    assert.equal((await tokens.access(tenant())).token, `${TOKEN_PREFIX}1`);
    now += 89_000;
    assert.equal((await tokens.access(tenant())).token, `${TOKEN_PREFIX}1`);
    now += 2_000;
    assert.equal((await tokens.access(tenant())).token, `${TOKEN_PREFIX}2`);
    assert.equal(tokenRequests.length, 2);
  });

  it('refreshes 60 s before expiry for long-lived tokens', async () => {
    let now = 0;
    const tokens = new TenantTokenProvider({ now: () => now });
    (await tokens.access(tenant())).token;
    now = 3_539_000;
    (await tokens.access(tenant())).token;
    now = 3_541_000;
    (await tokens.access(tenant())).token;
    assert.equal(tokenRequests.length, 2);
  });

  it('caches per tenant, client and scopes', async () => {
    const tokens = new TenantTokenProvider();
    (await tokens.access(tenant())).token;
    (await tokens.access(tenant({ auth: { scopes: ['scim:write'] } }))).token;
    (await tokens.access(tenant({ auth: { clientId: 'other' } }))).token;
    (await tokens.access(tenant({ tenantId: 'globex' }))).token;
    (await tokens.access(tenant())).token;
    assert.equal(tokenRequests.length, 4);
  });

  it('concurrent callers share one token request', async () => {
    const scim = client();
    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => scim.get(`/Users/${i}`)));
    assert.equal(responses.length, 8);
    assert.equal(tokenRequests.length, 1);
    assert.equal(scimRequests.length, 8);
  });

  it('a token endpoint error is a typed OAuthError without the secret', async () => {
    tokenRoute = () => ({
      status: 401,
      body: { error: 'invalid_client', error_description: `client secret ${CLIENT_SECRET} is wrong` },
    });
    const err = await failureOf(client().get('/Users'));
    assert.ok(err instanceof OAuthError);
    assert.equal(err.status, 401);
    assert.equal(err.error, 'invalid_client');
    assert.equal(err.errorDescription, 'client secret [REDACTED] is wrong');
    assert.deepEqual([toActivityFailure(err).type, toActivityFailure(err).nonRetryable], ['OAuthFailed', true]);
    assert.equal(scimRequests.length, 0);
  });

  it('a token endpoint outage is retryable; a later call tries again', async () => {
    tokenRoute = () => ({ status: 503, headers: { 'retry-after': '4' }, body: 'down' });
    const scim = client();
    const err = await failureOf(scim.get('/Users'));
    assert.ok(err instanceof OAuthError);
    const failure = toActivityFailure(err);
    assert.deepEqual([failure.type, failure.nonRetryable, failure.nextRetryDelay], ['OAuthUnavailable', false, 4000]);
    tokenRoute = issueToken;
    assert.equal((await scim.get('/Users')).status, 200);
  });

  it('a token response without access_token is refused', async () => {
    tokenRoute = () => ({ status: 200, body: { token_type: 'Bearer' } });
    const err = await failureOf(client().get('/Users'));
    assert.ok(err instanceof OAuthError);
    assert.equal(toActivityFailure(err).type, 'OAuthFailed');
  });

  it('an unreachable token endpoint is retryable', async () => {
    const err = await failureOf(
      client({ tenant: tenant({ auth: { tokenUrl: `http://127.0.0.1:${deadPort}/oauth/token` } }) }).get('/Users'),
    );
    assert.ok(err instanceof OAuthError);
    assert.equal(err.status, undefined);
    assert.match(err.message, /ECONNREFUSED/);
    assert.deepEqual([toActivityFailure(err).type, toActivityFailure(err).nonRetryable], ['OAuthUnavailable', false]);
  });
});

describe('401 handling', () => {
  it('refreshes the token once and retries', async () => {
    scimRoute = (req) =>
      req.headers.authorization === `Bearer ${TOKEN_PREFIX}1` ? { status: 401 } : { status: 200, body: { id: 'u1' } };
    const response = await client().get<{ id: string }>('/Users/u1');
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { id: 'u1' });
    assert.equal(tokenRequests.length, 2);
    assert.deepEqual(
      scimRequests.map((r) => r.headers.authorization),
      [`Bearer ${TOKEN_PREFIX}1`, `Bearer ${TOKEN_PREFIX}2`],
    );
  });

  it('replays the request body on the retry', async () => {
    scimRoute = (req) =>
      req.headers.authorization === `Bearer ${TOKEN_PREFIX}1`
        ? { status: 401 }
        : { status: 201, body: JSON.parse(req.body) };
    const response = await client().post('/Users', { userName: 'ada' });
    assert.deepEqual(response.body, { userName: 'ada' });
    assert.deepEqual(
      scimRequests.map((r) => r.body),
      ['{"userName":"ada"}', '{"userName":"ada"}'],
    );
  });

  it('a second 401 is final: ScimUnauthorized', async () => {
    scimRoute = () => ({ status: 401, body: { schemas: [SCIM_ERROR_SCHEMA], status: '401', detail: 'token expired' } });
    const err = await failureOf(client().get('/Users'));
    assert.ok(err instanceof ScimHttpError);
    assert.equal(err.status, 401);
    const failure = toActivityFailure(err);
    assert.deepEqual([failure.type, failure.nonRetryable], ['ScimUnauthorized', true]);
    assert.equal(tokenRequests.length, 2);
    assert.equal(scimRequests.length, 2);
  });

  it('a burst of 401s on one stale token causes one refresh', async () => {
    scimRoute = (req) => (req.headers.authorization === `Bearer ${TOKEN_PREFIX}1` ? { status: 401 } : { status: 200 });
    const scim = client();
    await Promise.all(Array.from({ length: 6 }, () => scim.get('/Users')));
    assert.equal(tokenRequests.length, 2);
  });

  it('401 listed in expect is returned, not retried', async () => {
    scimRoute = () => ({ status: 401 });
    const response = await client().get('/Users', { expect: [401] });
    assert.equal(response.status, 401);
    assert.equal(tokenRequests.length, 1);
  });
});

describe('SCIM requests and responses', () => {
  it('round-trips content types, ETag and If-Match', async () => {
    let version = 1;
    scimRoute = (req): Reply => {
      if (req.method === 'GET') {
        return {
          status: 200,
          headers: { etag: `W/"${version}"` },
          body: { schemas: ['x'], patch: { supported: false } },
        };
      }
      assert.equal(req.headers['content-type'], 'application/scim+json');
      if (req.headers['if-match'] !== `W/"${version}"`)
        return { status: 412, body: { status: '412', detail: 'stale' } };
      version += 1;
      return {
        status: 200,
        headers: { 'content-type': 'application/json; charset=utf-8', etag: `W/"${version}"`, 'set-cookie': 'sid=abc' },
        body: JSON.parse(req.body),
      };
    };
    const scim = client();
    const current = await scim.get<{ patch: { supported: boolean } }>('/ServiceProviderConfig');
    assert.equal(current.etag, 'W/"1"');
    assert.equal(current.headers['content-type'], 'application/scim+json');
    assert.equal(scimRequests[0].headers.accept, 'application/scim+json, application/json');
    assert.equal(scimRequests[0].headers['content-type'], undefined);

    const desired = { ...current.body, patch: { supported: true } };
    const updated = await scim.put('/ServiceProviderConfig', desired, { ifMatch: current.etag });
    assert.equal(updated.status, 200);
    assert.equal(updated.etag, 'W/"2"');
    assert.deepEqual(updated.body, desired);
    assert.equal(updated.bodyBytes, Buffer.byteLength(JSON.stringify(desired)));
    assert.ok(updated.durationMs >= 0);
    assert.equal(updated.headers['set-cookie'], undefined);
    assert.ok(Object.keys(updated.headers).every((name) => name === name.toLowerCase()));

    const stale = await failureOf(scim.put('/ServiceProviderConfig', desired, { ifMatch: 'W/"1"' }));
    assert.deepEqual(
      [toActivityFailure(stale).type, toActivityFailure(stale).nonRetryable],
      ['ScimPreconditionFailed', true],
    );
  });

  it('builds URLs from the SCIM base with %20-encoded query parameters', async () => {
    await client().get('/Users', { query: { filter: 'userName eq "ada lovelace"', startIndex: 1, count: undefined } });
    assert.equal(scimRequests[0].url, '/scim/v2/Users?filter=userName%20eq%20%22ada%20lovelace%22&startIndex=1');
  });

  it('lets callers add headers but never replace the token', async () => {
    await client().post(
      '/Users',
      {},
      { headers: { 'Content-Type': 'application/json', Authorization: 'Bearer nope', 'X-Request-Id': 'r1' } },
    );
    const [req] = scimRequests;
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.headers['x-request-id'], 'r1');
    assert.equal(req.headers.authorization, `Bearer ${TOKEN_PREFIX}1`);
  });

  it('204 and empty bodies come back undefined', async () => {
    scimRoute = () => ({ status: 204 });
    const response = await client().delete('/Users/u1');
    assert.deepEqual([response.status, response.body, response.bodyBytes], [204, undefined, 0]);
  });

  it('exposes Location and Retry-After of a 202 async bulk answer', async () => {
    scimRoute = () => ({
      status: 202,
      headers: { location: `${baseUrl}/scim/v2/Bulk/job-1`, 'retry-after': '3' },
      body: { id: 'job-1' },
    });
    const response = await client().post('/Bulk', { Operations: [] });
    assert.equal(response.location, `${baseUrl}/scim/v2/Bulk/job-1`);
    assert.equal(response.retryAfterMs, 3000);
  });

  it('expect turns a chosen non-2xx into a result', async () => {
    scimRoute = () => ({ status: 404, body: { status: '404', detail: 'no such user' } });
    const response = await client().get('/Users/x', { expect: [200, 404] });
    assert.equal(response.status, 404);
  });

  it('does not follow redirects with the token', async () => {
    scimRoute = () => ({ status: 302, headers: { location: 'http://localhost:1/steal' } });
    const err = await failureOf(client().get('/Users'));
    assert.ok(err instanceof ScimHttpError);
    assert.deepEqual(
      [err.status, toActivityFailure(err).type, toActivityFailure(err).nonRetryable],
      [302, 'ScimUnexpectedStatus', true],
    );
  });
});

describe('requestUrl', () => {
  it('follows server-given URLs on the tenant origin, absolute or relative', async () => {
    const scim = client();
    await scim.requestUrl('GET', `${baseUrl}/scim/v2/Bulk/job-1?wait=1`);
    await scim.requestUrl('GET', 'Bulk/job-2');
    await scim.requestUrl('GET', '/api/v2/webhooks');
    assert.deepEqual(
      scimRequests.map((r) => r.url),
      ['/scim/v2/Bulk/job-1?wait=1', '/scim/v2/Bulk/job-2', '/api/v2/webhooks'],
    );
  });

  it('refuses another origin before fetching a token', async () => {
    const port = new URL(baseUrl).port;
    for (const url of [
      `http://localhost:${port}/scim/v2/Bulk/1`,
      `https://127.0.0.1:${port}/x`,
      'https://evil.example/Bulk/1',
    ]) {
      const err = await failureOf(client().requestUrl('GET', url));
      assert.ok(err instanceof ScimForeignUrlError);
      assert.deepEqual([toActivityFailure(err).type, toActivityFailure(err).nonRetryable], ['ScimForeignUrl', true]);
    }
    assert.equal(tokenRequests.length + scimRequests.length, 0);
  });
});

describe('SCIM errors', () => {
  it('parses an RFC 7644 409 uniqueness error', async () => {
    scimRoute = () => ({
      status: 409,
      body: {
        schemas: [SCIM_ERROR_SCHEMA],
        status: '409',
        scimType: 'uniqueness',
        detail: 'userName "ada" already exists',
      },
    });
    const err = await failureOf(client().post('/Users', { userName: 'ada' }));
    assert.ok(err instanceof ScimHttpError);
    assert.deepEqual([err.status, err.scimType, err.detail], [409, 'uniqueness', 'userName "ada" already exists']);
    const failure = toActivityFailure(err);
    assert.deepEqual([failure.type, failure.nonRetryable], ['ScimConflict', true]);
    assert.deepEqual(failure.details, [
      {
        status: 409,
        scimType: 'uniqueness',
        detail: 'userName "ada" already exists',
        method: 'POST',
        path: '/scim/v2/Users',
      },
    ]);
  });

  it('403 names the missing scope', async () => {
    scimRoute = () => ({
      status: 403,
      body: { schemas: [SCIM_ERROR_SCHEMA], status: '403', detail: 'Missing required scope: scim:write' },
    });
    const err = await failureOf(client().put('/ServiceProviderConfig', {}));
    assert.ok(err instanceof ScimHttpError);
    assert.equal(err.missingPermission, 'scim:write');
    const failure = toActivityFailure(err);
    assert.deepEqual([failure.type, failure.nonRetryable], ['ScimForbidden', true]);
    assert.match(failure.message, /HTTP 403.*missing permission: scim:write/);
  });

  it('429 with Retry-After: 2 → retryable after 2 s, not retried by the client', async () => {
    scimRoute = () => ({ status: 429, headers: { 'retry-after': '2' }, body: { status: '429', detail: 'slow down' } });
    const err = await failureOf(client().get('/Users'));
    const failure = toActivityFailure(err);
    assert.deepEqual([failure.type, failure.nonRetryable, failure.nextRetryDelay], ['ScimThrottled', false, 2000]);
    assert.equal(scimRequests.length, 1);
  });

  it('503 with an HTTP-date Retry-After → retryable after that date', async () => {
    const retryAt = new Date(Date.now() + 5_000).toUTCString(); // whole seconds
    scimRoute = () => ({ status: 503, headers: { 'retry-after': retryAt } });
    const failure = toActivityFailure(await failureOf(client().get('/Users')));
    assert.deepEqual([failure.type, failure.nonRetryable], ['ScimUnavailable', false]);
    const delay = Number(failure.nextRetryDelay);
    assert.ok(delay > 3_000 && delay <= 5_000, `delay ${delay}`);
  });

  it('500 → retryable with default backoff', async () => {
    scimRoute = () => ({ status: 500, headers: { 'content-type': 'text/html' }, body: '<h1>oops</h1>' });
    const failure = toActivityFailure(await failureOf(client().get('/Users')));
    assert.deepEqual(
      [failure.type, failure.nonRetryable, failure.nextRetryDelay ?? undefined],
      ['ScimServerError', false, undefined],
    );
  });

  for (const [status, type] of [
    [400, 'ScimBadRequest'],
    [404, 'ScimNotFound'],
    [409, 'ScimConflict'],
    [412, 'ScimPreconditionFailed'],
  ] as const) {
    it(`${status} → non-retryable ${type}`, async () => {
      scimRoute = () => ({ status, body: { schemas: [SCIM_ERROR_SCHEMA], status: String(status), detail: 'nope' } });
      const failure = toActivityFailure(await failureOf(client().patch('/Users/u1', { Operations: [] })));
      assert.deepEqual([failure.type, failure.nonRetryable], [type, true]);
      assert.equal(scimRequests.length, 1);
    });
  }

  it('scrubs a token the server echoes back', async () => {
    scimRoute = (req) => ({
      status: 400,
      body: { status: '400', scimType: 'invalidValue', detail: `bad header ${req.headers.authorization}` },
    });
    const err = await failureOf(client().get('/Users'));
    assert.ok(err instanceof ScimHttpError);
    assert.equal(err.detail, 'bad header Bearer [REDACTED]');
  });

  it('a timeout is a retryable ScimNetworkError', async () => {
    scimRoute = () => 'hang';
    const err = await failureOf(client({ timeoutMs: 100 }).get('/Users'));
    assert.ok(err instanceof ScimNetworkError);
    assert.equal(err.timedOut, true);
    assert.match(err.message, /GET \/scim\/v2\/Users failed: timed out after 100 ms/);
    assert.deepEqual([toActivityFailure(err).type, toActivityFailure(err).nonRetryable], ['ScimNetworkError', false]);
  });

  it('the tenant requestTimeoutMs applies when the client sets none', async () => {
    const tokens = new TenantTokenProvider();
    await tokens.access(tenant()); // the token comes first, so that only the SCIM call can time out
    scimRoute = () => 'hang';
    const err = await failureOf(client({ tenant: tenant({ requestTimeoutMs: 50 }), tokens }).get('/Users'));
    assert.ok(err instanceof ScimNetworkError && err.timedOut);
  });

  it('connection refused is a retryable ScimNetworkError', async () => {
    const scim = client({ tenant: tenant({ baseUrl: `http://127.0.0.1:${deadPort}` }) });
    const err = await failureOf(scim.get('/Users'));
    assert.ok(err instanceof ScimNetworkError);
    assert.deepEqual([err.timedOut, err.code], [false, 'ECONNREFUSED']);
    assert.deepEqual([toActivityFailure(err).type, toActivityFailure(err).nonRetryable], ['ScimNetworkError', false]);
  });
});

describe('secrets', () => {
  it('never appear in the client, the provider or a response', async () => {
    const tokens = new TenantTokenProvider();
    const scim = client({ tokens });
    scimRoute = () => ({ status: 200, headers: { etag: 'W/"1"' }, body: { id: 'u1' } });
    const response = await scim.get('/Users/u1');
    for (const view of [
      JSON.stringify(response),
      inspect(response),
      JSON.stringify(scim),
      inspect(scim),
      JSON.stringify(tokens),
      inspect(tokens),
    ]) {
      assert.ok(!view.includes(CLIENT_SECRET) && !view.includes(TOKEN_PREFIX), view);
    }
  });
});

describe('ScimClient with a TenantDialect: optional shapes learnt, identical failures told from outages', () => {
  const bearer = (url: string): TenantConnection => ({
    tenantId: 'dialect',
    baseUrl: url,
    scimPath: '/scim/v2',
    auth: { type: 'bearer', token: 'dialect-token-1' },
  });
  const error = (res: http.ServerResponse, status: number) => {
    res.writeHead(status, { 'content-type': 'application/scim+json' });
    res.end(JSON.stringify({ schemas: [SCIM_ERROR_SCHEMA], status: String(status), detail: 'no' }));
  };

  it('a refused `attributes` is repeated without it, learnt, and never sent again', async () => {
    const seen: string[] = [];
    const server = await startScriptedServer((req, _body, res) => {
      seen.push(req.url ?? '');
      if ((req.url ?? '').includes('attributes=')) return error(res, 400);
      res.writeHead(200, { 'content-type': 'application/scim+json' });
      res.end(JSON.stringify({ Resources: [], totalResults: 0 }));
    });
    try {
      const dialect = new TenantDialect();
      const client = new ScimClient({ tenant: bearer(server.url), tokens: new TenantTokenProvider(), dialect });
      await client.get('/Users', { query: { startIndex: 1, count: 10, attributes: 'userName' } });
      await client.get('/Users', { query: { startIndex: 1, count: 10, attributes: 'userName' } });
      assert.deepEqual(seen, [
        '/scim/v2/Users?startIndex=1&count=10&attributes=userName',
        '/scim/v2/Users?startIndex=1&count=10',
        '/scim/v2/Users?startIndex=1&count=10',
      ]);
      assert.deepEqual(Object.keys(dialect.learnt()), ['attributes']);
      assert.equal(dialect.allows('count'), true, 'count was not the problem');
    } finally {
      await server.close();
    }
  });

  it('identical 500s become persistent only past the rule and while the tenant answers a probe; 503 never', async () => {
    let probeAnswers = false;
    const server = await startScriptedServer((req, _body, res) => {
      if (req.method === 'GET') {
        if (!probeAnswers) return error(res, 500);
        res.writeHead(200, { 'content-type': 'application/scim+json' });
        return res.end(JSON.stringify({ Resources: [] }));
      }
      return error(res, req.url?.includes('/Groups/busy') ? 503 : 500);
    });
    try {
      const dialect = new TenantDialect({}, { attempts: 3, spanMs: 0 });
      const client = new ScimClient({ tenant: bearer(server.url), tokens: new TenantTokenProvider(), dialect });
      /** The error a request fails with (every one fails here). */
      const failure = (request: Promise<unknown>) =>
        request.then(
          () => assert.fail('expected a failure'),
          (err: ScimHttpError) => err,
        );
      const patch = () => failure(client.patch('/Groups/g1', { Operations: [] }));
      for (const _ of [1, 2]) assert.equal((await patch()).persistent, undefined, 'below the attempts');
      assert.equal((await patch()).persistent, undefined, 'the probe failed too: an outage');
      probeAnswers = true;
      const persistent = await patch();
      assert.equal(persistent.persistent, 4);
      assert.match(persistent.message, /the same answer 4 times in a row/);
      assert.equal(toActivityFailure(persistent).nonRetryable, true);
      for (const _ of [1, 2, 3, 4]) {
        const busy = await failure(client.patch('/Groups/busy', {}));
        assert.equal(busy.persistent, undefined, '503 asks to wait: never persistent');
      }
    } finally {
      await server.close();
    }
  });
});
