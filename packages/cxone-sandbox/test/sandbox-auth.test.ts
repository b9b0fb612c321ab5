// Black-box tests of the sandbox's CXone authentication flows (the cxone profile's surface: sandbox-cxone.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../src';
import { SandboxClient } from '../src/test-client';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as Record<string, unknown>;

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function passwordGrant(
  sandbox: Sandbox,
  username: string,
  password: string,
  client = basic(sandbox.clientId, sandbox.clientSecret),
) {
  return json(`${sandbox.issuer}/auth/token`, {
    method: 'POST',
    headers: { ...FORM, authorization: client },
    body: new URLSearchParams({ grant_type: 'password', username, password }).toString(),
  });
}

describe('sandbox: CXone authentication', () => {
  let sandbox: Sandbox;
  let client: SandboxClient;

  before(async () => {
    sandbox = await startSandbox({ port: 0, tenantId: 'tenant-42', staticToken: 'static-token-value' });
    client = new SandboxClient(sandbox);
  });
  after(async () => {
    await sandbox.close();
  });

  it('discovers the token endpoint and the tenant API endpoint', async () => {
    const openid = await json(`${sandbox.issuer}/.well-known/openid-configuration`);
    assert.equal(openid.body.token_endpoint, `${sandbox.url}/auth/token`);
    assert.equal(openid.body.issuer, sandbox.issuer);
    const cxone = await json(`${sandbox.issuer}/.well-known/cxone-configuration?tenantId=tenant-42`);
    assert.deepEqual(cxone.body, { api_endpoint: sandbox.url, area: 'na1' });
    assert.equal((await json(`${sandbox.issuer}/.well-known/cxone-configuration?tenantId=other`)).status, 404);
    assert.equal((await json(`${sandbox.issuer}/.well-known/cxone-configuration`)).status, 400);
  });

  it('password grant: access key as username/password, client by Basic; id_token carries tenantId', async () => {
    const granted = await passwordGrant(sandbox, sandbox.accessKeyId, sandbox.accessKeySecret);
    assert.equal(granted.status, 200);
    assert.equal(claimsOf(granted.body.id_token as string).tenantId, 'tenant-42');
    const users = await client.scim('GET', '/Users', { token: granted.body.access_token as string });
    assert.equal(users.status, 200);
    const wrongKey = await passwordGrant(sandbox, sandbox.accessKeyId, 'nope');
    assert.deepEqual([wrongKey.status, wrongKey.body.error], [400, 'invalid_grant']);
    const wrongClient = await passwordGrant(
      sandbox,
      sandbox.accessKeyId,
      sandbox.accessKeySecret,
      basic(sandbox.clientId, 'nope'),
    );
    assert.deepEqual([wrongClient.status, wrongClient.body.error], [401, 'invalid_client']);
  });

  it('legacy access-key flow: JSON in, bearer token out; a wrong key is 401', async () => {
    const post = (accessKeySecret: string) =>
      json(sandbox.legacyTokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ accessKeyId: sandbox.accessKeyId, accessKeySecret }),
      });
    const granted = await post(sandbox.accessKeySecret);
    assert.equal(granted.status, 200);
    assert.equal((await client.scim('GET', '/Users', { token: granted.body.access_token as string })).status, 200);
    assert.equal((await post('nope')).status, 401);
  });

  it('a static token is accepted and outlives expireTokens', async () => {
    sandbox.expireTokens();
    assert.equal((await client.scim('GET', '/Users', { token: 'static-token-value' })).status, 200);
    assert.equal((await client.scim('GET', '/Users', { token: 'static-token-wrong' })).status, 401);
  });

  it('discovery faults: no api_endpoint, no tenantId claim', async () => {
    const noEndpoint = await startSandbox({ port: 0, discoveryFault: 'no-api-endpoint' });
    const noClaim = await startSandbox({ port: 0, discoveryFault: 'no-tenant-id-claim' });
    try {
      const cxone = await json(`${noEndpoint.issuer}/.well-known/cxone-configuration?tenantId=${noEndpoint.tenantId}`);
      assert.equal(cxone.body.api_endpoint, undefined);
      const granted = await passwordGrant(noClaim, noClaim.accessKeyId, noClaim.accessKeySecret);
      assert.equal(claimsOf(granted.body.id_token as string).tenantId, undefined);
    } finally {
      await Promise.all([noEndpoint.close(), noClaim.close()]);
    }
  });
});

describe('sandbox: --profile cxone authentication', () => {
  let sandbox: Sandbox;

  before(async () => {
    sandbox = await startSandbox({ port: 0, profile: 'cxone' });
  });
  after(async () => {
    await sandbox.close();
  });

  it('offers the password grant, not client credentials', async () => {
    const refused = await json(sandbox.tokenUrl, {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: sandbox.clientId,
        client_secret: sandbox.clientSecret,
      }).toString(),
    });
    assert.deepEqual([refused.status, refused.body.error], [400, 'unsupported_grant_type']);
    const granted = await passwordGrant(sandbox, sandbox.accessKeyId, sandbox.accessKeySecret);
    assert.equal(granted.status, 200);
    const users = await json(`${sandbox.scimBaseUrl}/Users`, {
      headers: { authorization: `Bearer ${granted.body.access_token}` },
    });
    assert.equal(users.status, 200);
  });

  it('discovers the API endpoint as on the full profile', async () => {
    const discovered = await json(`${sandbox.issuer}/.well-known/cxone-configuration?tenantId=${sandbox.tenantId}`);
    assert.deepEqual(discovered.body, { api_endpoint: sandbox.url, area: 'na1' });
  });
});
