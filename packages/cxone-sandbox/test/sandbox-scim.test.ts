// Black-box tests of the sandbox's OAuth and SCIM endpoints, over HTTP on loopback.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../src';
import { SandboxClient } from '../src/test-client';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

const user = (userName: string, extra: Record<string, unknown> = {}) => ({ schemas: [USER], userName, ...extra });

describe('sandbox: OAuth and SCIM', () => {
  let sandbox: Sandbox;
  let client: SandboxClient;

  before(async () => {
    sandbox = await startSandbox({ port: 0, filterMaxResults: 50 });
    client = new SandboxClient(sandbox);
  });
  after(async () => {
    await sandbox.close();
  });

  async function createUser(userName: string, extra: Record<string, unknown> = {}) {
    const res = await client.scim('POST', '/Users', { body: user(userName, extra) });
    assert.equal(res.status, 201, res.text);
    return res.body as { id: string; meta: { version: string; location: string } } & Record<string, unknown>;
  }

  describe('token endpoint', () => {
    it('issues a bearer token to a client authenticated with HTTP Basic', async () => {
      const basic = Buffer.from(`${sandbox.clientId}:${sandbox.clientSecret}`).toString('base64');
      const res = await client.request('POST', sandbox.tokenUrl, {
        rawBody: 'grant_type=client_credentials&scope=scim%3Awrite',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
        token: null,
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.token_type, 'Bearer');
      assert.equal(res.body.expires_in, 3600);
      assert.equal(res.body.scope, 'scim:write');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const users = await client.scim('GET', '/Users', { token: res.body.access_token });
      assert.equal(users.status, 200);
    });

    it('grants every allowed scope when none is asked for (form-field client auth)', async () => {
      const token = await client.newToken();
      const res = await client.root('GET', '/api/v2/webhooks', { token });
      assert.equal(res.status, 200);
    });

    it('refuses a wrong secret (401 invalid_client), another grant type and a scope the client may not have', async () => {
      const post = (body: string) =>
        client.request('POST', sandbox.tokenUrl, {
          rawBody: body,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          token: null,
        });
      const wrong = await post('grant_type=client_credentials&client_id=sandbox-client&client_secret=nope');
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error, 'invalid_client');
      const grant = await post('grant_type=authorization_code&client_id=sandbox-client&client_secret=sandbox-secret');
      assert.equal(grant.status, 400);
      assert.equal(grant.body.error, 'unsupported_grant_type');
      const scope = await post(
        'grant_type=client_credentials&client_id=sandbox-client&client_secret=sandbox-secret&scope=admin',
      );
      assert.equal(scope.status, 400);
      assert.equal(scope.body.error, 'invalid_scope');
    });

    it('answers 401 without, with an unknown and with an expired token', async () => {
      const none = await client.scim('GET', '/Users', { token: null });
      assert.equal(none.status, 401);
      assert.deepEqual(none.body.schemas, [ERROR]);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
      const unknown = await client.scim('GET', '/Users', { token: 'made-up' });
      assert.equal(unknown.status, 401);
      assert.match(unknown.headers.get('www-authenticate') ?? '', /invalid_token/);

      const token = await client.newToken();
      assert.equal((await client.scim('GET', '/Users', { token })).status, 200);
      sandbox.expireTokens();
      const expired = await client.scim('GET', '/Users', { token });
      assert.equal(expired.status, 401);
      assert.match(expired.body.detail, /expired/);
      client.forgetToken();
    });

    it('expires tokens after tokenTtlSeconds', async () => {
      const shortLived = await startSandbox({ port: 0, tokenTtlSeconds: 1 });
      try {
        const c = new SandboxClient(shortLived);
        const token = await c.newToken();
        assert.equal((await c.scim('GET', '/Users', { token })).status, 200);
        await new Promise((resolve) => setTimeout(resolve, 1100));
        assert.equal((await c.scim('GET', '/Users', { token })).status, 401);
      } finally {
        await shortLived.close();
      }
    });

    it('answers 403 naming the missing scope', async () => {
      const scimOnly = await client.newToken('scim:write');
      const res = await client.root('GET', '/api/v2/webhooks', { token: scimOnly });
      assert.equal(res.status, 403);
      assert.equal(res.body.status, '403');
      assert.match(res.body.detail, /cxone\.webhook\.manage/);
      assert.match(res.headers.get('www-authenticate') ?? '', /insufficient_scope/);
      const webhookOnly = await client.newToken('cxone.webhook.manage');
      const scim = await client.scim('GET', '/Users', { token: webhookOnly });
      assert.equal(scim.status, 403);
      assert.match(scim.body.detail, /scim:write/);
    });
  });

  describe('discovery', () => {
    it('serves ServiceProviderConfig with an ETag and meta.version', async () => {
      const res = await client.scim('GET', '/ServiceProviderConfig');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/scim\+json/);
      assert.equal(res.headers.get('etag'), res.body.meta.version);
      assert.deepEqual(res.body.schemas, ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig']);
      assert.deepEqual(res.body.bulk, { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 });
      assert.deepEqual(res.body.filter, { supported: true, maxResults: 50 });
      assert.equal(res.body.etag.supported, true);
      assert.equal(res.body.authenticationSchemes[0].type, 'oauthbearertoken');
      const again = await client.scim('GET', '/ServiceProviderConfig', {
        headers: { 'if-none-match': res.body.meta.version },
      });
      assert.equal(again.status, 304);
    });

    it('PUT with the current ETag changes the config; a stale ETag gets 412; invalid configs get 400', async () => {
      const current = await client.scim('GET', '/ServiceProviderConfig');
      const etag = current.headers.get('etag') as string;
      const desired = { ...current.body, filter: { supported: true, maxResults: 40 } };
      const put = await client.scim('PUT', '/ServiceProviderConfig', { body: desired, headers: { 'if-match': etag } });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body.filter.maxResults, 40);
      assert.notEqual(put.headers.get('etag'), etag);

      const stale = await client.scim('PUT', '/ServiceProviderConfig', {
        body: { ...desired, filter: { supported: true, maxResults: 30 } },
        headers: { 'if-match': etag },
      });
      assert.equal(stale.status, 412);
      assert.equal((await client.scim('GET', '/ServiceProviderConfig')).body.filter.maxResults, 40);

      const { meta: _meta, ...withoutMeta } = desired;
      const invalid = await client.scim('PUT', '/ServiceProviderConfig', {
        body: { ...withoutMeta, schemas: ['urn:wrong'], bulkConfig: {}, filter: { supported: true, maxResults: 0 } },
      });
      assert.equal(invalid.status, 400);
      assert.equal(invalid.body.scimType, 'invalidValue');
      for (const path of ['$.schemas', '$.bulkConfig', '$.filter.maxResults'])
        assert.ok(invalid.body.detail.includes(path), path);

      // Restore the limit the paging tests below rely on.
      const restore = await client.scim('PUT', '/ServiceProviderConfig', {
        body: { ...withoutMeta, filter: { supported: true, maxResults: 50 } },
      });
      assert.equal(restore.status, 200);
    });

    it('lists real RFC 7643 schema documents for User, Enterprise User and Group', async () => {
      const res = await client.scim('GET', '/Schemas');
      assert.equal(res.status, 200);
      const ids = res.body.Resources.map((s: { id: string }) => s.id);
      assert.deepEqual(ids.sort(), [USER, GROUP, ENTERPRISE].sort());
      const userSchema = res.body.Resources.find((s: { id: string }) => s.id === USER);
      const attr = (name: string) => userSchema.attributes.find((a: { name: string }) => a.name === name);
      assert.deepEqual(
        { ...attr('userName'), description: undefined },
        {
          name: 'userName',
          type: 'string',
          multiValued: false,
          description: undefined,
          required: true,
          caseExact: false,
          mutability: 'readWrite',
          returned: 'default',
          uniqueness: 'server',
          canonicalValues: [],
        },
      );
      assert.equal(attr('groups').mutability, 'readOnly');
      assert.equal(attr('password').returned, 'never');
      const emails = attr('emails');
      assert.equal(emails.multiValued, true);
      assert.deepEqual(emails.subAttributes.find((a: { name: string }) => a.name === 'type').canonicalValues, [
        'work',
        'home',
        'other',
      ]);
      const one = await client.scim('GET', `/Schemas/${ENTERPRISE}`);
      assert.equal(one.status, 200);
      assert.ok(one.body.attributes.some((a: { name: string }) => a.name === 'department'));
      assert.equal((await client.scim('GET', '/Schemas/urn:nope')).status, 404);
    });

    it('lists ResourceTypes User (with the enterprise extension) and Group', async () => {
      const res = await client.scim('GET', '/ResourceTypes');
      assert.equal(res.body.totalResults, 2);
      const userType = (await client.scim('GET', '/ResourceTypes/User')).body;
      assert.equal(userType.endpoint, '/Users');
      assert.equal(userType.schema, USER);
      assert.deepEqual(userType.schemaExtensions, [{ schema: ENTERPRISE, required: false }]);
      assert.equal((await client.scim('GET', '/ResourceTypes/Group')).body.endpoint, '/Groups');
    });
  });

  describe('Users', () => {
    it('creates (201 + Location + ETag), reads, and refuses a duplicate userName case-insensitively (409)', async () => {
      const res = await client.scim('POST', '/Users', {
        body: user('Create.Me@example.com', {
          name: { givenName: 'Create', familyName: 'Me' },
          password: 'p4ss',
          groups: [{ value: 'x' }],
        }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers.get('location'), `${sandbox.scimBaseUrl}/Users/${res.body.id}`);
      assert.equal(res.headers.get('etag'), 'W/"1"');
      assert.equal(res.body.meta.resourceType, 'User');
      assert.equal(res.body.meta.location, res.headers.get('location'));
      assert.ok(res.body.meta.created && res.body.meta.lastModified);
      assert.equal(res.body.password, undefined, 'password is never returned');
      assert.equal(res.body.groups, undefined, 'groups is read-only: ignored on input');

      const got = await client.scim('GET', `/Users/${res.body.id}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.userName, 'Create.Me@example.com');

      const dup = await client.scim('POST', '/Users', { body: user('create.me@EXAMPLE.com') });
      assert.equal(dup.status, 409);
      assert.deepEqual(dup.body.schemas, [ERROR]);
      assert.equal(dup.body.status, '409');
      assert.equal(dup.body.scimType, 'uniqueness');
      assert.equal((await client.scim('GET', '/Users/does-not-exist')).status, 404);
    });

    it('validates against the schema: required, types, multi-valued, unknown attributes, schemas', async () => {
      const missing = await client.scim('POST', '/Users', { body: { schemas: [USER], displayName: 'x' } });
      assert.equal(missing.status, 400);
      assert.match(missing.body.detail, /userName.*required/);
      const wrong = await client.scim('POST', '/Users', {
        body: user('types', { active: 'yes', emails: { value: 'a@b' }, favouriteColour: 'red' }),
      });
      assert.equal(wrong.status, 400);
      assert.equal(wrong.body.scimType, 'invalidValue');
      for (const part of ['active', 'emails', 'favouriteColour']) assert.match(wrong.body.detail, new RegExp(part));
      const twoPrimaries = await client.scim('POST', '/Users', {
        body: user('primaries', {
          emails: [
            { value: 'a@b', primary: true },
            { value: 'c@d', primary: true },
          ],
        }),
      });
      assert.equal(twoPrimaries.status, 400);
      const noSchemas = await client.scim('POST', '/Users', { body: { userName: 'no-schemas' } });
      assert.equal(noSchemas.status, 400);
      assert.equal(noSchemas.body.scimType, 'invalidSyntax');
    });

    it('replaces with PUT, honouring If-Match (412 when stale)', async () => {
      const created = await createUser('put.me', { title: 'Agent', displayName: 'Put Me' });
      const put = await client.scim('PUT', `/Users/${created.id}`, {
        body: user('put.me', { displayName: 'Put Me Again' }),
        headers: { 'if-match': created.meta.version },
      });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body.displayName, 'Put Me Again');
      assert.equal(put.body.title, undefined, 'PUT replaces: attributes not sent are cleared');
      assert.equal(put.headers.get('etag'), 'W/"2"');
      const stale = await client.scim('PUT', `/Users/${created.id}`, {
        body: user('put.me'),
        headers: { 'if-match': created.meta.version },
      });
      assert.equal(stale.status, 412);
      assert.deepEqual(stale.body.schemas, [ERROR]);
      const other = await createUser('put.other');
      const clash = await client.scim('PUT', `/Users/${other.id}`, { body: user('PUT.ME') });
      assert.equal(clash.status, 409);
    });

    it('PATCHes (add, replace with value filter, remove, extension paths)', async () => {
      const created = await createUser('patch.me', {
        emails: [{ value: 'old@example.com', type: 'work', primary: true }],
      });
      const res = await client.scim('PATCH', `/Users/${created.id}`, {
        body: {
          schemas: [PATCH_OP],
          Operations: [
            { op: 'replace', path: 'emails[type eq "work"].value', value: 'new@example.com' },
            { op: 'add', path: 'name.givenName', value: 'Pat' },
            { op: 'add', value: { title: 'Supervisor', nickName: 'P' } },
            { op: 'add', path: `${ENTERPRISE}:department`, value: 'Support' },
            { op: 'remove', path: 'nickName' },
            { op: 'replace', path: 'active', value: false },
          ],
        },
        headers: { 'if-match': created.meta.version },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.emails[0].value, 'new@example.com');
      assert.equal(res.body.name.givenName, 'Pat');
      assert.equal(res.body.title, 'Supervisor');
      assert.equal(res.body.nickName, undefined);
      assert.equal(res.body.active, false);
      assert.deepEqual(res.body[ENTERPRISE], { department: 'Support' });
      assert.deepEqual(res.body.schemas, [USER, ENTERPRISE]);
      assert.equal(res.headers.get('etag'), 'W/"2"');

      const stale = await client.scim('PATCH', `/Users/${created.id}`, {
        body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] },
        headers: { 'if-match': created.meta.version },
      });
      assert.equal(stale.status, 412);
    });

    it('PATCH is atomic: one failing operation leaves the user untouched', async () => {
      const created = await createUser('atomic', { title: 'Before' });
      const attempts = [
        // a later operation violates the schema
        [
          { op: 'replace', path: 'title', value: 'After' },
          { op: 'replace', path: 'active', value: 'not-a-boolean' },
        ],
        // a value filter that matches nothing (noTarget)
        [
          { op: 'replace', path: 'title', value: 'After' },
          { op: 'replace', path: 'emails[type eq "home"].value', value: 'x@y' },
        ],
        // a read-only attribute
        [
          { op: 'replace', path: 'title', value: 'After' },
          { op: 'add', path: 'groups', value: [{ value: 'g' }] },
        ],
        // an attribute the schema does not have
        [
          { op: 'replace', path: 'title', value: 'After' },
          { op: 'add', path: 'shoeSize', value: 42 },
        ],
        // a uniqueness clash
        [
          { op: 'replace', path: 'title', value: 'After' },
          { op: 'replace', path: 'userName', value: 'PATCH.ME' },
        ],
      ];
      const expected = [
        [400, 'invalidValue'],
        [400, 'noTarget'],
        [400, 'mutability'],
        [400, 'invalidPath'],
        [409, 'uniqueness'],
      ];
      for (const [i, Operations] of attempts.entries()) {
        const res = await client.scim('PATCH', `/Users/${created.id}`, { body: { schemas: [PATCH_OP], Operations } });
        assert.deepEqual([res.status, res.body.scimType], expected[i], `attempt ${i}: ${res.text}`);
      }
      const after = await client.scim('GET', `/Users/${created.id}`);
      assert.equal(after.body.title, 'Before');
      assert.equal(after.body.meta.version, created.meta.version, 'no version bump');

      const badBody = await client.scim('PATCH', `/Users/${created.id}`, { body: { Operations: [] } });
      assert.equal(badBody.status, 400);
      assert.equal(badBody.body.scimType, 'invalidSyntax');
    });

    it('DELETE honours If-Match and removes the user', async () => {
      const created = await createUser('delete.me');
      const stale = await client.scim('DELETE', `/Users/${created.id}`, { headers: { 'if-match': 'W/"99"' } });
      assert.equal(stale.status, 412);
      const del = await client.scim('DELETE', `/Users/${created.id}`, {
        headers: { 'if-match': created.meta.version },
      });
      assert.equal(del.status, 204);
      assert.equal((await client.scim('GET', `/Users/${created.id}`)).status, 404);
      assert.equal((await client.scim('DELETE', `/Users/${created.id}`)).status, 404);
    });
  });

  describe('Users: filters, paging and attributes', () => {
    const ids: Record<string, string> = {};
    before(async () => {
      const people = [
        ['f.alice', 'ext-1', 'alice@corp.example', true, 'Alice Adams'],
        ['f.bob', 'ext-2', 'bob@corp.example', false, 'Bob Brown'],
        ['f.carol', 'ext-3', 'carol@home.example', true, 'Carol Clark'],
        ['f.dave', undefined, 'dave@corp.example', true, 'Dave Doe'],
      ] as const;
      for (const [userName, externalId, email, active, displayName] of people) {
        const created = await createUser(userName, {
          ...(externalId ? { externalId } : {}),
          emails: [{ value: email, type: 'work', primary: true }],
          active,
          displayName,
          [ENTERPRISE]: { department: userName === 'f.dave' ? 'Sales' : 'Support' },
        });
        ids[userName] = created.id;
      }
    });

    async function filterNames(filter: string): Promise<string[]> {
      const res = await client.scim('GET', `/Users?filter=${encodeURIComponent(filter)}`);
      assert.equal(res.status, 200, `${filter}: ${res.text}`);
      return res.body.Resources.map((u: { userName: string }) => u.userName)
        .filter((n: string) => n.startsWith('f.'))
        .sort();
    }

    it('supports eq, ne, co, sw, ew, pr, gt, and, or, not and value filters', async () => {
      assert.deepEqual(await filterNames('userName eq "F.ALICE"'), ['f.alice'], 'userName is caseExact=false');
      assert.deepEqual(await filterNames('externalId eq "ext-2"'), ['f.bob']);
      assert.deepEqual(await filterNames('externalId eq "EXT-2"'), [], 'externalId is caseExact=true');
      assert.deepEqual(await filterNames('userName sw "f." and active eq false'), ['f.bob']);
      assert.deepEqual(await filterNames('userName sw "f." and active ne false'), ['f.alice', 'f.carol', 'f.dave']);
      assert.deepEqual(await filterNames('emails.value co "@corp."'), ['f.alice', 'f.bob', 'f.dave']);
      assert.deepEqual(await filterNames('emails[type eq "work" and value ew "home.example"]'), ['f.carol']);
      assert.deepEqual(await filterNames('userName sw "f." and not (externalId pr)'), ['f.dave']);
      assert.deepEqual(await filterNames('displayName eq "bob brown" or displayName sw "carol"'), ['f.bob', 'f.carol']);
      assert.deepEqual(await filterNames(`${ENTERPRISE}:department eq "Sales"`), ['f.dave']);
      assert.deepEqual(await filterNames(`${USER}:userName eq "f.carol"`), ['f.carol']);
      assert.deepEqual(await filterNames('userName sw "f." and meta.created gt "2000-01-01T00:00:00Z"'), [
        'f.alice',
        'f.bob',
        'f.carol',
        'f.dave',
      ]);
      const id = ids['f.bob'];
      assert.deepEqual(await filterNames(`id eq "${id}"`), ['f.bob']);
    });

    it('rejects a malformed filter with 400 invalidFilter', async () => {
      const res = await client.scim('GET', `/Users?filter=${encodeURIComponent('userName eq')}`);
      assert.equal(res.status, 400);
      assert.equal(res.body.scimType, 'invalidFilter');
    });

    it('pages with startIndex and count, capped by filter.maxResults', async () => {
      const filter = encodeURIComponent('userName sw "f."');
      const page = await client.scim('GET', `/Users?filter=${filter}&startIndex=2&count=2`);
      assert.equal(page.body.totalResults, 4);
      assert.equal(page.body.startIndex, 2);
      assert.equal(page.body.itemsPerPage, 2);
      assert.deepEqual(
        page.body.Resources.map((u: { userName: string }) => u.userName),
        ['f.bob', 'f.carol'],
      );
      const last = await client.scim('GET', `/Users?filter=${filter}&startIndex=4&count=10`);
      assert.equal(last.body.itemsPerPage, 1);
      const zero = await client.scim('GET', `/Users?filter=${filter}&count=0`);
      assert.deepEqual([zero.body.totalResults, zero.body.itemsPerPage, zero.body.Resources.length], [4, 0, 0]);

      for (let i = 0; sandbox.countUsers() < 60; i++) await createUser(`pad.${i}`);
      const capped = await client.scim('GET', '/Users?count=500');
      assert.equal(capped.body.itemsPerPage, 50, 'count is capped by filter.maxResults');
      assert.ok(capped.body.totalResults >= 60);
      const bad = await client.scim('GET', '/Users?count=abc');
      assert.equal(bad.status, 400);
    });

    it('returns only the requested attributes, or all but the excluded ones', async () => {
      const id = ids['f.alice'];
      const only = await client.scim('GET', `/Users/${id}?attributes=userName,emails.value,${ENTERPRISE}:department`);
      assert.deepEqual(only.body, {
        schemas: [USER, ENTERPRISE],
        id,
        userName: 'f.alice',
        emails: [{ value: 'alice@corp.example' }],
        [ENTERPRISE]: { department: 'Support' },
      });
      const without = await client.scim('GET', `/Users/${id}?excludedAttributes=emails,meta,${ENTERPRISE},id`);
      assert.equal(without.body.emails, undefined);
      assert.equal(without.body.meta, undefined);
      assert.equal(without.body[ENTERPRISE], undefined);
      assert.equal(without.body.id, id, 'id is returned always');
      assert.equal(without.body.displayName, 'Alice Adams');
      const list = await client.scim(
        'GET',
        `/Users?filter=${encodeURIComponent('userName eq "f.alice"')}&attributes=displayName`,
      );
      assert.deepEqual(list.body.Resources, [{ schemas: [USER, ENTERPRISE], id, displayName: 'Alice Adams' }]);
      const search = await client.scim('POST', '/Users/.search', {
        body: {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
          filter: 'userName eq "f.bob"',
          attributes: ['userName'],
        },
      });
      assert.deepEqual(search.body.Resources, [{ schemas: [USER, ENTERPRISE], id: ids['f.bob'], userName: 'f.bob' }]);
    });
  });

  describe('Groups', () => {
    let alice: { id: string; meta: { version: string } };
    let bob: { id: string; meta: { version: string } };
    beforeEach(async () => {
      alice = await createUser(`g.alice.${Date.now()}`, { displayName: 'Alice' });
      bob = await createUser(`g.bob.${Date.now()}`);
    });

    it("manages members, and a user's groups attribute follows (read-only)", async () => {
      const created = await client.scim('POST', '/Groups', {
        body: { schemas: [GROUP], displayName: 'Agents', members: [{ value: alice.id }] },
      });
      assert.equal(created.status, 201, created.text);
      const group = created.body;
      assert.deepEqual(group.members, [
        { value: alice.id, $ref: `${sandbox.scimBaseUrl}/Users/${alice.id}`, type: 'User', display: 'Alice' },
      ]);
      assert.equal(created.headers.get('location'), `${sandbox.scimBaseUrl}/Groups/${group.id}`);

      const withGroups = await client.scim('GET', `/Users/${alice.id}`);
      assert.deepEqual(withGroups.body.groups, [
        { value: group.id, $ref: `${sandbox.scimBaseUrl}/Groups/${group.id}`, display: 'Agents', type: 'direct' },
      ]);
      assert.equal(withGroups.body.meta.version, alice.meta.version, 'membership lives on the Group');
      const byGroup = await client.scim('GET', `/Users?filter=${encodeURIComponent(`groups.value eq "${group.id}"`)}`);
      assert.deepEqual(
        byGroup.body.Resources.map((u: { id: string }) => u.id),
        [alice.id],
      );

      const patched = await client.scim('PATCH', `/Groups/${group.id}`, {
        body: {
          schemas: [PATCH_OP],
          Operations: [
            { op: 'add', path: 'members', value: [{ value: bob.id }] },
            { op: 'remove', path: `members[value eq "${alice.id}"]` },
          ],
        },
        headers: { 'if-match': group.meta.version },
      });
      assert.equal(patched.status, 200, patched.text);
      assert.deepEqual(
        patched.body.members.map((m: { value: string }) => m.value),
        [bob.id],
      );
      assert.equal((await client.scim('GET', `/Users/${alice.id}`)).body.groups, undefined);

      const unknownMember = await client.scim('PATCH', `/Groups/${group.id}`, {
        body: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: 'nobody' }] }] },
      });
      assert.equal(unknownMember.status, 400);
      assert.equal(unknownMember.body.scimType, 'invalidValue');

      const put = await client.scim('PUT', `/Groups/${group.id}`, {
        body: { schemas: [GROUP], displayName: 'Agents 2', members: [] },
      });
      assert.equal(put.status, 200);
      assert.equal(put.body.members, undefined);
      const list = await client.scim('GET', `/Groups?filter=${encodeURIComponent('displayName eq "agents 2"')}`);
      assert.equal(list.body.totalResults, 1);

      assert.equal((await client.scim('DELETE', `/Groups/${group.id}`)).status, 204);
      assert.equal((await client.scim('GET', `/Groups/${group.id}`)).status, 404);
    });

    it('drops a deleted user from its groups', async () => {
      const group = (
        await client.scim('POST', '/Groups', {
          body: { schemas: [GROUP], displayName: 'Leavers', members: [{ value: alice.id }, { value: bob.id }] },
        })
      ).body;
      assert.equal((await client.scim('DELETE', `/Users/${alice.id}`)).status, 204);
      const after = await client.scim('GET', `/Groups/${group.id}`);
      assert.deepEqual(
        after.body.members.map((m: { value: string }) => m.value),
        [bob.id],
      );
      assert.notEqual(after.body.meta.version, group.meta.version);
    });

    it('requires displayName', async () => {
      const res = await client.scim('POST', '/Groups', { body: { schemas: [GROUP] } });
      assert.equal(res.status, 400);
    });
  });

  it('answers unknown endpoints with a SCIM 404 and malformed JSON with 400 invalidSyntax', async () => {
    const missing = await client.scim('GET', '/Nothing');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body.schemas, [ERROR]);
    const malformed = await client.scim('POST', '/Users', { rawBody: '{"schemas": [' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.scimType, 'invalidSyntax');
  });
});
