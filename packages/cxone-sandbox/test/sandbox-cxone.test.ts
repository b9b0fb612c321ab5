// Black-box tests of the cxone profile: exactly the surface NICE publishes (SCIM Users and Schemas
// with the NICE extension and Pending employees; roles, login authenticators, teams and skills
// APIs), and that the full profile still offers every RFC feature and none of the CXone APIs.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PENDING_RENAME_DETAIL, startSandbox, type Sandbox } from '../src';
import { type ClientResponse, SandboxClient } from '../src/test-client';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const NICE = 'urn:ietf:params:scim:schemas:extension:nice:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

const employee = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER],
  userName,
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  emails: [{ value: userName, type: 'work', primary: true }],
  ...extra,
});
const patchOp = (...operations: Record<string, unknown>[]) => ({ schemas: [PATCH_OP], Operations: operations });

function assertScimError(res: ClientResponse, status: number, scimType?: string): void {
  assert.equal(res.status, status, res.text);
  assert.deepEqual(res.body.schemas, [ERROR]);
  assert.equal(res.body.status, String(status));
  if (scimType) assert.equal(res.body.scimType, scimType);
}

const byName = <T extends { id: string; name: string }>(items: T[], name: string) => {
  const found = items.find((i) => i.name === name);
  assert.ok(found, `no ${name} in ${JSON.stringify(items)}`);
  return found;
};

describe('sandbox: cxone profile', () => {
  let sandbox: Sandbox;
  let client: SandboxClient;
  let roles: { id: string; name: string; status: string }[];

  async function create(userName: string, extra: Record<string, unknown> = {}) {
    const res = await client.scim('POST', '/Users', { body: employee(userName, extra) });
    assert.equal(res.status, 201, res.text);
    return res.body;
  }

  before(async () => {
    sandbox = await startSandbox({ port: 0, profile: 'cxone' });
    client = new SandboxClient(sandbox);
    roles = (await client.root('GET', '/user-management/v1/roles')).body.roles;
  });
  after(async () => {
    await sandbox.close();
  });

  describe('SCIM surface', () => {
    it('answers 404 with a SCIM error to everything but Users and Schemas, and 405 to DELETE /Users/{id}', async () => {
      const ada = await create('surface@example.com');
      for (const [method, p] of [
        ['GET', '/ServiceProviderConfig'],
        ['PUT', '/ServiceProviderConfig'],
        ['GET', '/ResourceTypes'],
        ['GET', '/ResourceTypes/User'],
        ['GET', '/Groups'],
        ['POST', '/Groups'],
        ['GET', `/Groups/${ada.id}`],
        ['POST', '/Bulk'],
        ['GET', '/Bulk/some-job'],
        ['POST', '/Users/.search'],
        ['GET', '/Me'],
      ]) {
        const res = await client.scim(method, p, method === 'GET' ? {} : { body: {} });
        assertScimError(res, 404);
        assert.match(res.headers.get('content-type') ?? '', /application\/scim\+json/, `${method} ${p}`);
      }
      const deleted = await client.scim('DELETE', `/Users/${ada.id}`);
      assertScimError(deleted, 405);
      assert.equal(deleted.headers.get('allow'), 'GET, PUT, PATCH');
      assert.equal((await client.scim('GET', `/Users/${ada.id}`)).status, 200);
    });

    it('serves GET/POST /Users and GET/PUT/PATCH /Users/{id}, without ETags', async () => {
      const ada = await create('served@example.com');
      assert.equal(ada.meta.version, undefined);
      const listed = await client.scim(
        'GET',
        `/Users?filter=${encodeURIComponent('userName eq "SERVED@example.com"')}`,
      );
      assert.equal(listed.status, 200);
      assert.deepEqual(
        listed.body.Resources.map((u: { id: string }) => u.id),
        [ada.id],
      );
      const paged = await client.scim('GET', '/Users?startIndex=1&count=1');
      assert.equal(paged.body.itemsPerPage, 1);
      const got = await client.scim('GET', `/Users/${ada.id}`);
      assert.equal(got.headers.get('etag'), null);
      const put = await client.scim('PUT', `/Users/${ada.id}`, {
        body: { ...employee('served@example.com'), id: ada.id, active: true, userType: 'Contractor' },
      });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body.userType, 'Contractor');
      const patched = await client.scim('PATCH', `/Users/${ada.id}`, {
        body: patchOp({ op: 'replace', path: 'active', value: false }),
      });
      assert.equal(patched.body.active, false);
    });

    it('/Schemas declares the core attributes CXone offers and the NICE extension', async () => {
      const list = await client.scim('GET', '/Schemas');
      assert.deepEqual(
        list.body.Resources.map((s: { id: string }) => s.id),
        [USER, NICE],
      );
      const core = (await client.scim('GET', `/Schemas/${USER}`)).body;
      const attribute = (name: string) => core.attributes.find((a: { name: string }) => a.name === name);
      assert.deepEqual(
        core.attributes.map((a: { name: string }) => a.name),
        ['userName', 'name', 'emails', 'active', 'roles', 'userType', 'phoneNumbers', 'timeZone'],
      );
      assert.deepEqual(
        attribute('name').subAttributes.map((a: { name: string; required: boolean }) => [a.name, a.required]),
        [
          ['givenName', true],
          ['familyName', true],
          ['middleName', false],
        ],
      );
      assert.equal(attribute('emails').required, true);
      assert.deepEqual(
        attribute('roles').subAttributes.map((a: { name: string; mutability: string }) => [a.name, a.mutability]),
        [
          ['value', 'readWrite'],
          ['display', 'readOnly'],
          ['primary', 'readWrite'],
        ],
      );
      const nice = await client.scim('GET', `/Schemas/${NICE}`);
      assert.equal(nice.status, 200);
      const niceAttrs = Object.fromEntries(
        nice.body.attributes.map((a: { name: string; type: string; mutability: string; subAttributes?: [] }) => [
          a.name,
          [a.type, a.mutability, a.subAttributes?.map((s: { name: string }) => s.name)],
        ]),
      );
      assert.deepEqual(niceAttrs, {
        team: ['complex', 'readWrite', ['value', 'display']],
        loginAuthenticator: ['complex', 'readWrite', ['value', 'display']],
        agentId: ['integer', 'readOnly', undefined],
        status: ['string', 'readOnly', undefined],
      });
      assertScimError(await client.scim('GET', `/Schemas/${ENTERPRISE}`), 404);
    });

    it('refuses attributes and extensions CXone does not offer', async () => {
      const displayName = await client.scim('POST', '/Users', {
        body: employee('display@example.com', { displayName: 'Ada' }),
      });
      assertScimError(displayName, 400, 'invalidValue');
      assert.match(displayName.body.detail, /displayName/);
      const enterprise = await client.scim('POST', '/Users', {
        body: { ...employee('ent@example.com', { [ENTERPRISE]: { department: 'R&D' } }), schemas: [USER, ENTERPRISE] },
      });
      assertScimError(enterprise, 400, 'invalidValue');
      const missing = await client.scim('POST', '/Users', {
        body: { schemas: [USER], userName: 'bare@example.com', name: { givenName: 'Bare' } },
      });
      assertScimError(missing, 400, 'invalidValue');
      assert.match(missing.body.detail, /name\.familyName/);
      assert.match(missing.body.detail, /emails/);
      const ada = await create('refused@example.com');
      assertScimError(
        await client.scim('PATCH', `/Users/${ada.id}`, { body: patchOp({ op: 'add', path: 'nickName', value: 'A' }) }),
        400,
        'invalidPath',
      );
    });
  });

  describe('employees', () => {
    it('are created Pending, with an integer agentId, active, and the Agent role by default', async () => {
      const first = await create('pending1@example.com');
      const second = await create('pending2@example.com', {
        active: false,
        [NICE]: { agentId: 9999, status: 'Active' }, // read-only: ignored
      });
      assert.deepEqual(first.schemas, [USER, NICE]);
      assert.equal(first[NICE].status, 'Pending');
      assert.equal(second[NICE].status, 'Pending');
      assert.ok(Number.isInteger(first[NICE].agentId));
      assert.ok(Number.isInteger(second[NICE].agentId));
      assert.notEqual(first[NICE].agentId, second[NICE].agentId);
      assert.notEqual(second[NICE].agentId, 9999);
      assert.equal(first.active, true);
      assert.equal(second.active, false);
      const agent = byName(roles, 'Agent');
      assert.deepEqual(first.roles, [{ value: agent.id, display: 'Agent', primary: true }]);
      assertScimError(
        await client.scim('PATCH', `/Users/${first.id}`, {
          body: patchOp({ op: 'replace', path: `${NICE}:agentId`, value: 1 }),
        }),
        400,
        'mutability',
      );
    });

    it('take a role, team and login authenticator by id, answered with their names; unknown ids are refused', async () => {
      const supervisor = byName(roles, 'Supervisor');
      const teams = (await client.root('POST', '/user-management/v4/teams/search', { body: { filter: {} } })).body
        .teams;
      const sales = byName(teams, 'Sales');
      const authenticators = (await client.root('GET', '/authentication/v1/login-authenticators')).body
        .loginAuthenticators;
      const okta = byName(authenticators, 'Okta SSO');
      const ada = await create('refs@example.com', {
        schemas: [USER, NICE],
        roles: [{ value: supervisor.id, display: 'ignored', primary: true }],
        [NICE]: { team: { value: sales.id }, loginAuthenticator: { value: okta.id } },
      });
      assert.deepEqual(ada.roles, [{ value: supervisor.id, display: 'Supervisor', primary: true }]);
      assert.deepEqual(ada[NICE].team, { value: sales.id, display: 'Sales' });
      assert.deepEqual(ada[NICE].loginAuthenticator, { value: okta.id, display: 'Okta SSO' });

      const support = byName(teams, 'Support');
      const moved = await client.scim('PATCH', `/Users/${ada.id}`, {
        body: patchOp({ op: 'replace', path: `${NICE}:team`, value: { value: support.id } }),
      });
      assert.equal(moved.status, 200, moved.text);
      assert.deepEqual(moved.body[NICE].team, { value: support.id, display: 'Support' });
      assert.equal(moved.body[NICE].agentId, ada[NICE].agentId);

      const unknown = await client.scim('POST', '/Users', {
        body: employee('unknown-refs@example.com', {
          schemas: [USER, NICE],
          roles: [{ value: 'no-such-role' }],
          [NICE]: { team: { value: 'no-such-team' }, loginAuthenticator: { value: 'no-such-authenticator' } },
        }),
      });
      assertScimError(unknown, 400, 'invalidValue');
      assert.match(unknown.body.detail, /role with id "no-such-role"/);
      assert.match(unknown.body.detail, /team with id "no-such-team"/);
      assert.match(unknown.body.detail, /login authenticator with id "no-such-authenticator"/);
      const badTeam = await client.scim('PATCH', `/Users/${ada.id}`, {
        body: patchOp({ op: 'replace', path: `${NICE}:team.value`, value: 'no-such-team' }),
      });
      assertScimError(badTeam, 400, 'invalidValue');
    });

    it('accept the time zone as timezone or timeZone and answer timeZone', async () => {
      const ada = await create('tz@example.com', { timezone: 'Europe/Paris' });
      assert.equal(ada.timeZone, 'Europe/Paris');
      assert.equal(ada.timezone, undefined);
      const patched = await client.scim('PATCH', `/Users/${ada.id}`, {
        body: patchOp({ op: 'replace', path: 'timezone', value: 'America/New_York' }),
      });
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.body.timeZone, 'America/New_York');
      assert.equal(patched.body.timezone, undefined);
      const valueOnly = await client.scim('PATCH', `/Users/${ada.id}`, {
        body: patchOp({ op: 'replace', value: { timezone: 'Asia/Tokyo' } }),
      });
      assert.deepEqual([valueOnly.body.timeZone, valueOnly.body.timezone], ['Asia/Tokyo', undefined]);
      const put = await client.scim('PUT', `/Users/${ada.id}`, {
        body: { ...employee('tz@example.com'), id: ada.id, active: true, timeZone: 'UTC' },
      });
      assert.deepEqual([put.body.timeZone, put.body.timezone], ['UTC', undefined]);
      const removed = await client.scim('PATCH', `/Users/${ada.id}`, {
        body: patchOp({ op: 'remove', path: 'timezone' }),
      });
      assert.equal(removed.body.timeZone, undefined);
    });

    it('keep their userName while Pending (PUT and PATCH: 400 mutability), until activated', async () => {
      const ada = await create('rename@example.com');
      const id = ada.id as string;
      const put = await client.scim('PUT', `/Users/${id}`, {
        body: { ...employee('renamed@example.com'), id, active: true },
      });
      assertScimError(put, 400, 'mutability');
      assert.equal(put.body.detail, PENDING_RENAME_DETAIL);
      assert.equal(put.body.detail, 'userName cannot be changed while the employee is Pending');
      const patch = await client.scim('PATCH', `/Users/${id}`, {
        body: patchOp({ op: 'replace', path: 'userName', value: 'renamed@example.com' }),
      });
      assertScimError(patch, 400, 'mutability');
      assert.equal(patch.body.detail, PENDING_RENAME_DETAIL);
      const caseOnly = await client.scim('PATCH', `/Users/${id}`, {
        body: patchOp({ op: 'replace', path: 'userName', value: 'RENAME@example.com' }),
      });
      assertScimError(caseOnly, 400, 'mutability');
      // Other changes go through while Pending.
      const other = await client.scim('PATCH', `/Users/${id}`, {
        body: patchOp({ op: 'replace', path: 'name.givenName', value: 'Augusta' }),
      });
      assert.equal(other.status, 200, other.text);
      assert.equal((await client.scim('GET', `/Users/${id}`)).body.userName, 'rename@example.com');

      const unauthenticated = await client.admin('POST', `/users/${id}/activate`);
      assert.equal(unauthenticated.status, 200, unauthenticated.text); // /admin takes no token
      assert.equal(unauthenticated.body[NICE].status, 'Active');
      assert.equal((await client.scim('GET', `/Users/${id}`)).body[NICE].status, 'Active');
      const renamed = await client.scim('PATCH', `/Users/${id}`, {
        body: patchOp({ op: 'replace', path: 'userName', value: 'renamed@example.com' }),
      });
      assert.equal(renamed.status, 200, renamed.text);
      assert.equal(renamed.body.userName, 'renamed@example.com');
      assert.equal(renamed.body[NICE].status, 'Active');
      assert.equal(renamed.body[NICE].agentId, ada[NICE].agentId);
      assert.equal((await client.admin('POST', '/users/no-such-user/activate')).status, 404);
      // The programmatic twin of the admin route.
      const other2 = await create('activate2@example.com');
      const activated = sandbox.adminActivateUser(other2.id) as { [NICE]: { status: string } };
      assert.equal(activated[NICE].status, 'Active');
    });

    it('are replaced by a PUT carrying id, userName, name, emails and active; a PUT without roles keeps them', async () => {
      const supervisor = byName(roles, 'Supervisor');
      const ada = await create('put@example.com', { roles: [{ value: supervisor.id, primary: true }] });
      const id = ada.id as string;
      const incomplete = await client.scim('PUT', `/Users/${id}`, { body: employee('put@example.com') });
      assertScimError(incomplete, 400, 'invalidValue');
      assert.match(incomplete.body.detail, /"id", "active"/);
      const otherId = await client.scim('PUT', `/Users/${id}`, {
        body: { ...employee('put@example.com'), id: 'someone-else', active: true },
      });
      assertScimError(otherId, 400, 'invalidValue');
      const put = await client.scim('PUT', `/Users/${id}`, {
        body: { ...employee('put@example.com'), id, active: false, name: { givenName: 'A', familyName: 'L' } },
      });
      assert.equal(put.status, 200, put.text);
      assert.deepEqual(put.body.roles, [{ value: supervisor.id, display: 'Supervisor', primary: true }]);
      assert.equal(put.body.active, false);
      assert.deepEqual(put.body[NICE], { agentId: ada[NICE].agentId, status: 'Pending' });
      const reactivated = await client.scim('PATCH', `/Users/${id}`, {
        body: patchOp({ op: 'replace', path: 'active', value: true }),
      });
      assert.equal(reactivated.body.active, true);
    });
  });

  describe('roles and login authenticators', () => {
    it('lists roles and authenticators (seeded), behind the bearer token', async () => {
      assert.deepEqual(
        roles.map((r) => [r.name, r.status]),
        [
          ['Agent', 'Active'],
          ['Supervisor', 'Active'],
          ['Administrator', 'Active'],
        ],
      );
      for (const role of roles) assert.equal(typeof role.id, 'string');
      const authenticators = await client.root('GET', '/authentication/v1/login-authenticators');
      assert.equal(authenticators.status, 200);
      assert.match(authenticators.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(
        authenticators.body.loginAuthenticators.map((a: { name: string; authenticationType: string }) => [
          a.name,
          a.authenticationType,
        ]),
        [
          ['Default', 'Password'],
          ['Okta SSO', 'SAML'],
        ],
      );
      for (const p of ['/user-management/v1/roles', '/authentication/v1/login-authenticators']) {
        assert.equal((await client.root('GET', p, { token: null })).status, 401, p);
        assert.equal((await client.root('GET', p, { token: 'not-a-token' })).status, 401, p);
      }
    });

    it('adds and removes roles and authenticators through /admin and the client helpers', async () => {
      const trainee = await client.addRole('Trainee', 'Inactive');
      const listed = (await client.root('GET', '/user-management/v1/roles')).body.roles;
      assert.deepEqual(byName(listed, 'Trainee'), { id: trainee.id, name: 'Trainee', status: 'Inactive' });
      await client.removeRole(trainee.id);
      const after = (await client.root('GET', '/user-management/v1/roles')).body.roles;
      assert.equal(
        after.find((r: { name: string }) => r.name === 'Trainee'),
        undefined,
      );
      await assert.rejects(client.removeRole(trainee.id), /expected 204, got 404/);
      const azure = await client.addLoginAuthenticator('Azure AD', 'OIDC');
      const authenticators = (await client.root('GET', '/authentication/v1/login-authenticators')).body
        .loginAuthenticators;
      assert.deepEqual(byName(authenticators, 'Azure AD'), azure);
      assert.equal((await client.admin('POST', '/roles', { status: 'Active' })).status, 400);
    });
  });

  describe('teams', () => {
    it('searches by exact name ignoring case, pages with skip/top, and reads one team', async () => {
      const search = (body: unknown) => client.root('POST', '/user-management/v4/teams/search', { body });
      const all = await search({ filter: {} });
      assert.equal(all.status, 200);
      assert.deepEqual(
        all.body.teams.map((t: { name: string; status: string }) => [t.name, t.status]),
        [
          ['Default Team', 'Active'],
          ['Sales', 'Active'],
          ['Support', 'Active'],
        ],
      );
      assert.equal(all.body.totalRecords, 3);
      const sales = await search({ filter: { name: 'SALES' }, skip: 0, top: 100 });
      assert.deepEqual(
        sales.body.teams.map((t: { name: string }) => t.name),
        ['Sales'],
      );
      assert.equal(sales.body.totalRecords, 1);
      assert.deepEqual((await search({ filter: { name: 'Sale' } })).body, { totalRecords: 0, teams: [] });
      const page = await search({ filter: {}, skip: 1, top: 1 });
      assert.deepEqual([page.body.totalRecords, page.body.teams.map((t: { name: string }) => t.name)], [3, ['Sales']]);
      assert.deepEqual((await search({})).body.totalRecords, 3);
      assertScimError(await search({ filter: { name: 7 } }), 400);
      assertScimError(await search({ filter: {}, skip: -1 }), 400);
      assertScimError(await search({ filter: 'Sales' }), 400);

      const id = sales.body.teams[0].id as string;
      const one = await client.root('GET', `/user-management/v3/teams/${id}`);
      assert.deepEqual(one.body, { team: { id, name: 'Sales', status: 'Active' } });
      assertScimError(await client.root('GET', '/user-management/v3/teams/no-such-team'), 404);
      assert.equal((await client.root('GET', `/user-management/v3/teams/${id}`, { token: null })).status, 401);
    });

    it('adds teams through /admin; a duplicate name makes the search ambiguous, as on a real tenant', async () => {
      const night = await client.addTeam('Night Shift', 'Inactive');
      const found = await client.root('POST', '/user-management/v4/teams/search', {
        body: { filter: { name: 'night shift' } },
      });
      assert.deepEqual(found.body.teams, [night]);
      const twin = await client.addTeam('Night Shift');
      const both = await client.root('POST', '/user-management/v4/teams/search', {
        body: { filter: { name: 'Night Shift' } },
      });
      assert.deepEqual(
        both.body.teams.map((t: { id: string }) => t.id),
        [night.id, twin.id],
      );
      const ada = await create('nightshift@example.com', {
        schemas: [USER, NICE],
        [NICE]: { team: { value: twin.id } },
      });
      assert.deepEqual(ada[NICE].team, { value: twin.id, display: 'Night Shift' });
      assert.deepEqual(sandbox.tenant?.teams.at(-1), twin);
    });
  });

  describe('skills', () => {
    it('lists skills with paging and adds skills through /admin', async () => {
      const all = await client.root('GET', '/skills');
      assert.deepEqual(all.body, {
        totalRecords: 3,
        skills: [
          { skillId: 101, skillName: 'Sales', isActive: true },
          { skillId: 102, skillName: 'Support', isActive: true },
          { skillId: 103, skillName: 'Billing', isActive: true },
        ],
      });
      const page = await client.root('GET', '/skills?skip=1&top=1');
      assert.deepEqual(page.body, {
        totalRecords: 3,
        skills: [{ skillId: 102, skillName: 'Support', isActive: true }],
      });
      const chat = await client.addSkill('Chat', false);
      assert.deepEqual(chat, { skillId: 104, skillName: 'Chat', isActive: false });
      assert.equal((await client.root('GET', '/skills')).body.totalRecords, 4);
      assertScimError(await client.root('GET', '/skills?top=many'), 400);
      assert.equal((await client.root('GET', '/skills', { token: null })).status, 401);
    });

    it('assigns, updates and removes agents per agent, with paging', async () => {
      const skill = (await client.addSkill('Escalations')).skillId;
      const agents: number[] = [];
      for (const n of [1, 2, 3]) agents.push((await create(`skilled${n}@example.com`))[NICE].agentId as number);
      const [a, b, c] = agents;
      const missing = Math.max(...agents) + 1000;
      const assigned = await client.root('POST', `/skills/${skill}/agents`, {
        body: {
          agents: [
            { agentId: a, isActive: true, proficiency: 5 },
            { agentId: b, proficiency: 20 },
            { agentId: missing, isActive: true, proficiency: 3 },
            { agentId: c, proficiency: 0 },
            { agentId: c, proficiency: 21 },
            { agentId: c, proficiency: 2.5 },
            { agentId: c },
            { agentId: c, proficiency: 4, isActive: 'yes' },
          ],
        },
      });
      assert.equal(assigned.status, 200, assigned.text);
      assert.deepEqual(assigned.body.agentResults, [
        { agentId: a, success: true },
        { agentId: b, success: true },
        { agentId: missing, success: false, error: `agent ${missing} does not exist` },
        { agentId: c, success: false, error: 'proficiency must be an integer from 1 to 20' },
        { agentId: c, success: false, error: 'proficiency must be an integer from 1 to 20' },
        { agentId: c, success: false, error: 'proficiency must be an integer from 1 to 20' },
        { agentId: c, success: false, error: 'proficiency (1..20) is required for a new assignment' },
        { agentId: c, success: false, error: 'isActive must be a boolean' },
      ]);
      const listed = await client.root('GET', `/skills/${skill}/agents`);
      assert.deepEqual(listed.body, {
        totalRecords: 2,
        agents: [
          { agentId: a, proficiency: 5, isActive: true },
          { agentId: b, proficiency: 20, isActive: true },
        ],
      });
      // Upsert: an update keeps what it does not send.
      const updated = await client.root('POST', `/skills/${skill}/agents`, {
        body: {
          agents: [
            { agentId: a, isActive: false },
            { agentId: c, proficiency: 1 },
          ],
        },
      });
      assert.deepEqual(updated.body.agentResults, [
        { agentId: a, success: true },
        { agentId: c, success: true },
      ]);
      const page = await client.root('GET', `/skills/${skill}/agents?skip=0&top=2`);
      assert.deepEqual(page.body, {
        totalRecords: 3,
        agents: [
          { agentId: a, proficiency: 5, isActive: false },
          { agentId: b, proficiency: 20, isActive: true },
        ],
      });
      const rest = await client.root('GET', `/skills/${skill}/agents?skip=2&top=2`);
      assert.deepEqual(rest.body.agents, [{ agentId: c, proficiency: 1, isActive: true }]);
      assert.deepEqual(sandbox.tenant?.skillAgents(skill).length, 3);

      const removed = await client.root('DELETE', `/skills/${skill}/agents/${b}`);
      assert.equal(removed.status, 204);
      assertScimError(await client.root('DELETE', `/skills/${skill}/agents/${b}`), 404);
      assertScimError(await client.root('DELETE', `/skills/999/agents/${a}`), 404);
      assert.equal((await client.root('GET', `/skills/${skill}/agents`)).body.totalRecords, 2);
    });

    it('404s an unknown skill and 400s a malformed body as a whole', async () => {
      assertScimError(await client.root('GET', '/skills/999/agents'), 404);
      assertScimError(await client.root('GET', '/skills/sales/agents'), 404);
      assertScimError(
        await client.root('POST', '/skills/999/agents', { body: { agents: [{ agentId: 1, proficiency: 1 }] } }),
        404,
      );
      for (const body of [{}, { agents: {} }, { agents: [{ proficiency: 1 }] }, { agents: [{ agentId: '1' }] }, []]) {
        assertScimError(await client.root('POST', '/skills/101/agents', { body }), 400);
      }
      assert.equal((await client.root('GET', '/skills/101/agents')).body.totalRecords, 0);
      assert.equal(
        (await client.root('POST', '/skills/101/agents', { body: { agents: [] }, token: null })).status,
        401,
      );
    });
  });

  describe('switches', () => {
    it('rate limits and fails the roles, teams and skills APIs like SCIM, never /admin or the token endpoint', async () => {
      const apis: [string, string, unknown?][] = [
        ['GET', '/user-management/v1/roles'],
        ['GET', '/authentication/v1/login-authenticators'],
        ['POST', '/user-management/v4/teams/search', { filter: {} }],
        ['GET', '/skills'],
        ['GET', '/skills/101/agents'],
      ];
      await client.token();
      try {
        sandbox.setSwitches({ rateLimit: { mode: 'firstN', n: apis.length } });
        for (const [method, p, body] of apis) {
          const limited = await client.root(method, p, { body });
          assert.equal(limited.status, 429, `${method} ${p}`);
          assert.equal(limited.headers.get('retry-after'), '1');
        }
        for (const [method, p, body] of apis) assert.equal((await client.root(method, p, { body })).status, 200);
        sandbox.setSwitches({ rateLimit: null, failNext: 2, failStatus: 500 });
        assert.equal((await client.addTeam('Unaffected')).name, 'Unaffected');
        await client.newToken();
        assert.equal((await client.root('GET', '/skills')).status, 500);
        assert.equal((await client.root('POST', '/skills/101/agents', { body: { agents: [] } })).status, 500);
        assert.equal((await client.root('GET', '/skills')).status, 200);
      } finally {
        sandbox.setSwitches({ rateLimit: null, failNext: 0, failStatus: 503 });
      }
    });
  });
});

describe('sandbox: cxone tenant options', () => {
  it('without an Agent role, creation without roles is refused (400 invalidValue) and a role must be sent', async () => {
    const sandbox = await startSandbox({ port: 0, profile: 'cxone', cxoneTenant: { roles: ['Supervisor'] } });
    try {
      const client = new SandboxClient(sandbox);
      const refused = await client.scim('POST', '/Users', { body: employee('norole@example.com') });
      assertScimError(refused, 400, 'invalidValue');
      assert.match(refused.body.detail, /role is required/);
      assert.equal(sandbox.countUsers(), 0);
      const [supervisor] = sandbox.tenant?.roles ?? [];
      const created = await client.scim('POST', '/Users', {
        body: employee('withrole@example.com', { roles: [{ value: supervisor.id }] }),
      });
      assert.equal(created.status, 201, created.text);
      assert.deepEqual(created.body.roles, [{ value: supervisor.id, display: 'Supervisor' }]);
      // Adding the Agent role makes it the default again; removing it takes that back.
      const agent = await client.addRole('Agent');
      const defaulted = await client.scim('POST', '/Users', { body: employee('defaulted@example.com') });
      assert.deepEqual(defaulted.body.roles, [{ value: agent.id, display: 'Agent', primary: true }]);
      await client.removeRole(agent.id);
      assertScimError(
        await client.scim('POST', '/Users', { body: employee('again@example.com') }),
        400,
        'invalidValue',
      );
    } finally {
      await sandbox.close();
    }
  });

  it('offers only the optional attributes the tenant enabled, and seeds teams and skills', async () => {
    const sandbox = await startSandbox({
      port: 0,
      profile: 'cxone',
      cxoneTenant: { userAttributes: ['timeZone'], teams: ['Blue'], skills: ['French'] },
    });
    try {
      const client = new SandboxClient(sandbox);
      const core = (await client.scim('GET', `/Schemas/${USER}`)).body;
      assert.deepEqual(
        core.attributes.map((a: { name: string }) => a.name),
        ['userName', 'name', 'emails', 'active', 'roles', 'timeZone'],
      );
      assertScimError(
        await client.scim('POST', '/Users', { body: employee('typed@example.com', { userType: 'Employee' }) }),
        400,
        'invalidValue',
      );
      assertScimError(
        await client.scim('POST', '/Users', {
          body: employee('middle@example.com', { name: { givenName: 'A', familyName: 'B', middleName: 'C' } }),
        }),
        400,
        'invalidValue',
      );
      const ada = await client.scim('POST', '/Users', { body: employee('tz-only@example.com', { timezone: 'UTC' }) });
      assert.equal(ada.status, 201, ada.text);
      assertScimError(
        await client.scim('PATCH', `/Users/${ada.body.id}`, {
          body: patchOp({ op: 'add', path: 'phoneNumbers', value: [{ value: '+1 555 0100' }] }),
        }),
        400,
        'invalidPath',
      );
      const teams = await client.root('POST', '/user-management/v4/teams/search', { body: { filter: {} } });
      assert.deepEqual(
        teams.body.teams.map((t: { name: string }) => t.name),
        ['Blue'],
      );
      assert.deepEqual((await client.root('GET', '/skills')).body.skills, [
        { skillId: 101, skillName: 'French', isActive: true },
      ]);
    } finally {
      await sandbox.close();
    }
    await assert.rejects(
      startSandbox({ port: 0, profile: 'cxone', cxoneTenant: { userAttributes: ['nickName' as 'timeZone'] } }),
      /unknown optional CXone user attribute/,
    );
  });

  it('persists the tenant (teams, skills, assignments, agent ids) in the data file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cxone-tenant-'));
    const dataFile = path.join(dir, 'sandbox.json');
    try {
      const first = await startSandbox({ port: 0, profile: 'cxone', dataFile });
      const client = new SandboxClient(first);
      const team = await client.addTeam('Persisted');
      const skill = await client.addSkill('Persisted skill');
      const ada = (await client.scim('POST', '/Users', { body: employee('persist@example.com') })).body;
      const agentId = ada[NICE].agentId as number;
      await client.root('POST', `/skills/${skill.skillId}/agents`, { body: { agents: [{ agentId, proficiency: 7 }] } });
      await first.close();

      const second = await startSandbox({ port: 0, profile: 'cxone', dataFile, cxoneTenant: { teams: ['Ignored'] } });
      try {
        const again = new SandboxClient(second);
        const found = await again.root('GET', `/user-management/v3/teams/${team.id}`);
        assert.deepEqual(found.body.team, team);
        assert.deepEqual((await again.root('GET', `/skills/${skill.skillId}/agents`)).body.agents, [
          { agentId, proficiency: 7, isActive: true },
        ]);
        const next = (await again.scim('POST', '/Users', { body: employee('persist2@example.com') })).body;
        assert.ok(next[NICE].agentId > agentId);
        assert.equal((await again.scim('GET', `/Users/${ada.id}`)).body[NICE].status, 'Pending');
      } finally {
        await second.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sandbox: the full profile is unchanged', () => {
  let sandbox: Sandbox;
  let client: SandboxClient;

  before(async () => {
    sandbox = await startSandbox({ port: 0 });
    client = new SandboxClient(sandbox);
  });
  after(async () => {
    await sandbox.close();
  });

  it('keeps ServiceProviderConfig, ResourceTypes, Groups, Bulk, /.search, ETags and DELETE', async () => {
    const spc = await client.scim('GET', '/ServiceProviderConfig');
    assert.equal(spc.status, 200);
    assert.equal(spc.body.bulk.supported, true);
    assert.equal(spc.body.etag.supported, true);
    assert.ok(spc.headers.get('etag'));
    assert.deepEqual(
      (await client.scim('GET', '/ResourceTypes')).body.Resources.map((r: { id: string }) => r.id),
      ['User', 'Group'],
    );
    assert.deepEqual(
      (await client.scim('GET', '/Schemas')).body.Resources.map((s: { id: string }) => s.id),
      [USER, ENTERPRISE, 'urn:ietf:params:scim:schemas:core:2.0:Group'],
    );
    const created = await client.scim('POST', '/Users', { body: { schemas: [USER], userName: 'full-user' } });
    assert.equal(created.status, 201, created.text);
    assert.ok(created.headers.get('etag'));
    assert.equal(created.body[NICE], undefined);
    assert.equal(created.body.roles, undefined);
    const renamed = await client.scim('PATCH', `/Users/${created.body.id}`, {
      body: patchOp({ op: 'replace', path: 'userName', value: 'full-user-renamed' }),
    });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal((await client.scim('POST', '/Users/.search', { body: { filter: 'userName pr' } })).status, 200);
    assert.equal((await client.scim('GET', '/Groups')).status, 200);
    const bulk = await client.scim('POST', '/Bulk', {
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: [] },
    });
    assert.equal(bulk.status, 200, bulk.text);
    assert.equal((await client.scim('DELETE', `/Users/${created.body.id}`)).status, 204);
    const nice = await client.scim('POST', '/Users', {
      body: { schemas: [USER, NICE], userName: 'nice-on-full', [NICE]: { team: { value: '1' } } },
    });
    assertScimError(nice, 400, 'invalidValue');
  });

  it('offers none of the CXone tenant APIs or admin routes', async () => {
    for (const [method, p] of [
      ['GET', '/user-management/v1/roles'],
      ['GET', '/authentication/v1/login-authenticators'],
      ['POST', '/user-management/v4/teams/search'],
      ['GET', '/skills'],
    ]) {
      assert.equal((await client.root(method, p, { body: method === 'POST' ? {} : undefined })).status, 404, p);
    }
    assert.equal((await client.admin('POST', '/teams', { name: 'x' })).status, 404);
    const user = await client.scim('POST', '/Users', { body: { schemas: [USER], userName: 'no-activation' } });
    assert.equal((await client.admin('POST', `/users/${user.body.id}/activate`)).status, 404);
    assert.equal(sandbox.tenant, undefined);
    assert.throws(() => sandbox.adminActivateUser(user.body.id), /cxone profile only/);
  });
});
