// Every authentication strategy against the sandbox over loopback HTTP: token reuse, refresh
// shortly before expiry, one refresh on 401, a wrong key refused once with a message that names
// the tenant, the setting and the fix, and broken discovery.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { sandboxTenant } from '../src/cli/dev';
import { toActivityFailure } from '../src/activities/provider/failure-mapping';
import { OAuthError, ScimClient, TenantTokenProvider, type AuthType, type TenantConnection } from '../src/http';
import { legacyTokenUrl, tenantIdFromIdToken } from '../src/http/auth';

const TOKEN_PATHS = ['/auth/token', '/oauth/token', '/authentication/v1/token/access-key'];
const REFRESHABLE: AuthType[] = ['cxone-access-key', 'cxone-access-key-legacy', 'client-credentials'];

let sandbox: Sandbox;
let cxone: Sandbox;
let deadPort: number;

before(async () => {
  sandbox = await startSandbox({ port: 0, tenantId: 'tenant-full', staticToken: 'static-SECRET-token' });
  cxone = await startSandbox({
    port: 0,
    tenantId: 'tenant-cxone',
    profile: 'cxone',
    accessKeySecret: 'key-SECRET-value',
  });
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  deadPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});
after(async () => {
  await Promise.all([sandbox.close(), cxone.close()]);
});
beforeEach(() => {
  sandbox.clearRequestLog();
  cxone.clearRequestLog();
});

const tokenRequests = (s: Sandbox) => s.requestLog.filter((e) => TOKEN_PATHS.includes(e.path));
const discoveryRequests = (s: Sandbox) => s.requestLog.filter((e) => e.path.startsWith('/.well-known/'));
const scimRequests = (s: Sandbox) => s.requestLog.filter((e) => e.path.startsWith('/scim/'));

async function failureOf(promise: Promise<unknown>): Promise<OAuthError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof OAuthError, String(err));
    return err;
  }
  assert.fail('expected a rejection');
}

for (const type of REFRESHABLE) {
  describe(`auth ${type}`, () => {
    const tenant = () => sandboxTenant(sandbox, `t-${type}`, type);

    it('reuses one token for many calls', async () => {
      const client = new ScimClient({ tenant: tenant(), tokens: new TenantTokenProvider() });
      for (let i = 0; i < 3; i++) assert.equal((await client.get('/Users')).status, 200);
      assert.equal(tokenRequests(sandbox).length, 1);
      assert.equal(scimRequests(sandbox).length, 3);
    });

    it('refreshes shortly before expiry', async () => {
      let now = Date.now();
      const tokens = new TenantTokenProvider({ now: () => now });
      const first = await tokens.access(tenant());
      assert.ok(first.expiresAt !== undefined && first.expiresAt > now);
      now = (first.expiresAt as number) - 61_000; // sandbox tokens live an hour: refreshed 60 s early
      assert.equal((await tokens.access(tenant())).token, first.token);
      now += 2_000;
      assert.notEqual((await tokens.access(tenant())).token, first.token);
      assert.equal(tokenRequests(sandbox).length, 2);
    });

    it('a 401 refreshes the token once and retries', async () => {
      const client = new ScimClient({ tenant: tenant(), tokens: new TenantTokenProvider() });
      await client.get('/Users');
      sandbox.expireTokens();
      assert.equal((await client.get('/Users')).status, 200);
      assert.equal(tokenRequests(sandbox).length, 2);
      assert.deepEqual(
        scimRequests(sandbox).map((e) => e.status),
        [200, 401, 200],
      );
    });
  });
}

describe('a wrong key is refused once, naming tenant, setting and fix', () => {
  const cases: Array<{
    type: AuthType;
    wrong: (t: TenantConnection) => TenantConnection;
    status: number;
    names: RegExp;
  }> = [
    {
      type: 'cxone-access-key',
      wrong: (t) => ({
        ...t,
        auth: {
          ...t.auth,
          accessKeySecret: 'wrong-key-value',
          sources: { accessKeySecret: 'CXONE_ACCESS_KEY_SECRET' },
        } as TenantConnection['auth'],
      }),
      status: 400,
      names: /accessKeySecret \(CXONE_ACCESS_KEY_SECRET\)/,
    },
    {
      type: 'cxone-access-key',
      wrong: (t) => ({
        ...t,
        auth: {
          ...t.auth,
          clientSecret: 'wrong-client-value',
          sources: { clientSecret: 'CXONE_CLIENT_SECRET' },
        } as TenantConnection['auth'],
      }),
      status: 401,
      names: /clientSecret \(CXONE_CLIENT_SECRET\)/,
    },
    {
      type: 'cxone-access-key-legacy',
      wrong: (t) => ({
        ...t,
        auth: {
          ...t.auth,
          accessKeySecret: 'wrong-key-value',
          sources: { accessKeySecret: 'accessKeySecretEnv ACME_KEY' },
        } as TenantConnection['auth'],
      }),
      status: 401,
      names: /accessKeySecret \(accessKeySecretEnv ACME_KEY\)/,
    },
    {
      type: 'client-credentials',
      wrong: (t) => ({ ...t, auth: { ...t.auth, clientSecret: 'wrong-client-value' } as TenantConnection['auth'] }),
      status: 401,
      names: /clientSecret/,
    },
  ];
  for (const { type, wrong, status, names } of cases) {
    it(`${type}: HTTP ${status}`, async () => {
      const tenant = wrong(sandboxTenant(sandbox, 'acme', type));
      const err = await failureOf(new ScimClient({ tenant, tokens: new TenantTokenProvider() }).get('/Users'));
      assert.equal(err.status, status);
      assert.match(err.message, /tenant acme/);
      assert.match(err.message, names);
      assert.match(err.message, /Fix: /);
      assert.ok(!/wrong-(key|client)-value/.test(err.message), err.message);
      assert.deepEqual([toActivityFailure(err).type, toActivityFailure(err).nonRetryable], ['OAuthFailed', true]);
      assert.equal(tokenRequests(sandbox).length, 1, 'not retried');
      assert.equal(scimRequests(sandbox).length, 0);
    });
  }
});

describe('cxone-access-key discovery', () => {
  it('discovers the token endpoint and the API base once, and the SCIM calls go there', async () => {
    const tenant = sandboxTenant(cxone, 'cx');
    assert.equal(tenant.baseUrl, undefined, 'no base URL configured');
    const tokens = new TenantTokenProvider();
    const client = new ScimClient({ tenant, tokens });
    assert.equal((await client.get('/Schemas')).status, 200);
    const access = await tokens.access(tenant);
    assert.equal(access.apiBase, cxone.url);
    cxone.expireTokens();
    assert.equal((await client.get('/Users')).status, 200);
    assert.deepEqual(
      discoveryRequests(cxone).map((e) => `${e.path}?${e.query}`),
      ['/.well-known/openid-configuration?', '/.well-known/cxone-configuration?tenantId=tenant-cxone'],
    );
    assert.equal(tokenRequests(cxone).length, 2);
  });

  it('an unreachable issuer is retryable and names the issuer setting', async () => {
    const tenant = sandboxTenant(cxone, 'cx');
    const unreachable = {
      ...tenant,
      auth: { ...tenant.auth, issuer: `http://127.0.0.1:${deadPort}`, sources: { issuer: 'CXONE_ISSUER' } },
    } as TenantConnection;
    const err = await failureOf(
      new ScimClient({ tenant: unreachable, tokens: new TenantTokenProvider() }).get('/Users'),
    );
    assert.equal(err.status, undefined);
    assert.match(err.message, /ECONNREFUSED/);
    assert.match(err.message, /issuer \(CXONE_ISSUER\)/);
    assert.equal(toActivityFailure(err).nonRetryable, false);
  });

  for (const fault of ['no-api-endpoint', 'no-tenant-id-claim'] as const) {
    it(`${fault}: a clear, final error that says to set the base URL`, async () => {
      const broken = await startSandbox({ port: 0, profile: 'cxone', discoveryFault: fault });
      try {
        const tenant = sandboxTenant(broken, 'cx');
        const sources = { baseUrl: 'CXONE_BASE_URL' };
        const err = await failureOf(
          new ScimClient({
            tenant: { ...tenant, auth: { ...tenant.auth, sources } },
            tokens: new TenantTokenProvider(),
          }).get('/Users'),
        );
        assert.match(
          err.message,
          fault === 'no-api-endpoint' ? /no api_endpoint/ : /no id_token with a tenantId claim/,
        );
        assert.match(err.message, /Fix: set baseUrl \(CXONE_BASE_URL\)/);
        assert.equal(toActivityFailure(err).nonRetryable, true);
        // With the base URL configured, discovery of the API base is not needed at all.
        const configured = new ScimClient({
          tenant: { ...tenant, baseUrl: broken.url },
          tokens: new TenantTokenProvider(),
        });
        assert.equal((await configured.get('/Users')).status, 200);
      } finally {
        await broken.close();
      }
    });
  }
});

describe('auth bearer', () => {
  it('uses the static token as is, and a 401 is final with the variable to fix', async () => {
    const tenant = sandboxTenant(sandbox, 'static', 'bearer');
    const client = new ScimClient({ tenant, tokens: new TenantTokenProvider() });
    assert.equal((await client.get('/Users')).status, 200);
    assert.equal(tokenRequests(sandbox).length, 0);
    const rejected = {
      ...tenant,
      auth: { type: 'bearer', token: 'revoked-token-value', sources: { token: 'CXONE_BEARER_TOKEN' } },
    } as TenantConnection;
    const err = await failureOf(new ScimClient({ tenant: rejected, tokens: new TenantTokenProvider() }).get('/Users'));
    assert.match(err.message, /tenant static.*never refreshed.*Fix: set a valid token in token \(CXONE_BEARER_TOKEN\)/);
    assert.ok(!err.message.includes('revoked-token-value'));
    assert.equal(toActivityFailure(err).nonRetryable, true);
    assert.deepEqual(
      scimRequests(sandbox).map((e) => e.status),
      [200, 401],
      'the rejected token was sent once',
    );
  });
});

describe('client-credentials client_secret_post', () => {
  it('sends the client in the form and gets a token', async () => {
    const tenant = sandboxTenant(sandbox, 'post');
    const post = { ...tenant, auth: { ...tenant.auth, clientAuthMethod: 'client_secret_post' } } as TenantConnection;
    const seen: string[] = [];
    const recording: typeof fetch = async (input, init) => {
      seen.push(
        `${String((init?.headers as Record<string, string>)?.authorization ?? 'no authorization')} ${String(init?.body)}`,
      );
      return fetch(input, init);
    };
    const tokens = new TenantTokenProvider({ fetch: recording });
    assert.equal((await new ScimClient({ tenant: post, tokens }).get('/Users')).status, 200);
    assert.match(seen[0], /^no authorization .*client_id=sandbox-client&client_secret=sandbox-secret/);
  });
});

describe('secrets', () => {
  it('never appear in the provider, the client or the access it hands out, whatever the strategy', async () => {
    const tokens = new TenantTokenProvider();
    for (const type of [...REFRESHABLE, 'bearer'] as AuthType[]) {
      const client = new ScimClient({ tenant: sandboxTenant(sandbox, `s-${type}`, type), tokens });
      await client.get('/Users');
      for (const view of [JSON.stringify(tokens), inspect(tokens), JSON.stringify(client), inspect(client)]) {
        for (const secret of [sandbox.clientSecret, sandbox.accessKeySecret, sandbox.staticToken as string]) {
          assert.ok(!view.includes(secret), `${type}: ${view}`);
        }
      }
    }
  });
});

describe('pieces', () => {
  it('tenantIdFromIdToken decodes the claim and refuses anything that is not a JWT with one', () => {
    const jwt = (claims: unknown) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
    assert.equal(tenantIdFromIdToken(jwt({ tenantId: '11e7-abc', sub: 'x' })), '11e7-abc');
    for (const bad of [
      undefined,
      42,
      '',
      'not-a-jwt',
      'a.%%%.c',
      jwt({ tenant_id: 'x' }),
      jwt({ tenantId: '' }),
      jwt({ tenantId: 7 }),
    ]) {
      assert.equal(tenantIdFromIdToken(bad), undefined, String(bad));
    }
  });

  it('legacyTokenUrl appends the access-key path once', () => {
    assert.equal(
      legacyTokenUrl('https://na1.nice-incontact.com/'),
      'https://na1.nice-incontact.com/authentication/v1/token/access-key',
    );
    assert.equal(
      legacyTokenUrl('https://na1.nice-incontact.com/authentication/v1/token/access-key'),
      'https://na1.nice-incontact.com/authentication/v1/token/access-key',
    );
  });
});
