import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RequestGate, ScimClient, ScimHttpError, TenantTokenProvider } from '../src/http';
import { CxoneAdmin, CxoneAdminShapeError, isMissingApi } from '../src/http/cxone-admin';
import { sendJson, startScriptedServer } from './helpers/http';

// The CXone skills / teams adapter over real HTTP on loopback: paging, per-agent results, 404 as
// "absent", path overrides, JSON content types, the tenant's bearer token, and shapes it refuses.

interface Seen {
  method: string;
  url: string;
  body: string;
  contentType?: string;
  authorization?: string;
}

describe('CxoneAdmin (skills and teams adapter)', () => {
  const seen: Seen[] = [];
  let server: Awaited<ReturnType<typeof startScriptedServer>>;
  const skills = Array.from({ length: 5 }, (_, i) => ({ skillId: 101 + i, skillName: `Skill ${i}`, isActive: true }));
  let throttled = 0;

  before(async () => {
    server = await startScriptedServer((req, body, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      seen.push({
        method: req.method ?? '',
        url: `${url.pathname}${url.search}`,
        body,
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
      });
      const skip = Number(url.searchParams.get('skip') ?? 0);
      const top = Number(url.searchParams.get('top') ?? 100);
      if (req.method === 'GET' && url.pathname === '/api/skills')
        return sendJson(res, 200, { totalRecords: skills.length, skills: skills.slice(skip, skip + top) });
      if (req.method === 'GET' && url.pathname === '/api/skills/101/agents') {
        if (throttled-- > 0) return sendJson(res, 429, { message: 'slow down' }, { 'retry-after': '0' });
        return sendJson(res, 200, {
          totalRecords: 3,
          agents: [
            { agentId: 7, proficiency: 5, isActive: true },
            { agentId: 8, proficiency: 1, isActive: true },
            { agentId: 9, proficiency: 20, isActive: false },
          ].slice(skip, skip + top),
        });
      }
      if (req.method === 'GET' && url.pathname === '/api/skills/999/agents') return sendJson(res, 404, {});
      if (req.method === 'POST' && url.pathname === '/api/skills/101/agents')
        return sendJson(res, 200, {
          agentResults: [
            { agentId: 7, success: true },
            { agentId: 9, success: false, error: 'agent 9 does not exist' },
          ],
        });
      if (req.method === 'DELETE' && url.pathname === '/api/skills/101/agents/7') {
        res.writeHead(204);
        return res.end();
      }
      if (req.method === 'DELETE' && url.pathname === '/api/skills/101/agents/8') return sendJson(res, 404, {});
      if (req.method === 'POST' && url.pathname === '/api/user-management/v4/teams/search') {
        const { skip: from = 0, top: size = 100 } = JSON.parse(body) as { skip?: number; top?: number };
        const teams = [
          { id: 't1', name: 'Sales', status: 'Active' },
          { id: 't2', name: 'sales', status: 'Active' },
          { id: 't3', name: 'Sales East', status: 'Active' },
        ];
        return sendJson(res, 200, { totalRecords: teams.length, teams: teams.slice(from, from + size) });
      }
      if (req.method === 'GET' && url.pathname === '/api/user-management/v3/teams/t1')
        return sendJson(res, 200, { team: { id: 't1', name: 'Sales', status: 'Active' } });
      if (req.method === 'GET' && url.pathname === '/api/custom/teams/t1')
        return sendJson(res, 200, { team: { id: 't1', name: 'Sales (custom path)' } });
      if (req.method === 'GET' && url.pathname === '/api/broken/skills') return sendJson(res, 200, { items: [] });
      return sendJson(res, 404, { message: 'no such route' });
    });
  });

  after(async () => {
    await server?.close();
  });

  const admin = (options: ConstructorParameters<typeof CxoneAdmin>[1] = {}) =>
    new CxoneAdmin(
      new ScimClient({
        tenant: {
          tenantId: 'adapter',
          baseUrl: `${server.url}/api`,
          scimPath: '/scim/v2',
          auth: { type: 'bearer', token: 'adapter-token' },
        },
        tokens: new TenantTokenProvider(),
        gate: new RequestGate(),
      }),
      options,
    );

  it('lists skills and a skill’s agents page by page, with the tenant’s token on the API base', async () => {
    seen.length = 0;
    let requests = 0;
    const a = admin({ pageSize: 2, onRequest: () => requests++ });
    assert.deepEqual(
      (await a.listSkills()).map((s) => s.skillId),
      [101, 102, 103, 104, 105],
    );
    assert.deepEqual(
      seen.map((s) => s.url),
      ['/api/skills?skip=0&top=2', '/api/skills?skip=2&top=2', '/api/skills?skip=4&top=2'],
    );
    assert.ok(seen.every((s) => s.authorization === 'Bearer adapter-token'));
    assert.deepEqual(
      (await a.listSkillAgents(101)).map((x) => [x.agentId, x.proficiency]),
      [
        [7, 5],
        [8, 1],
        [9, 20],
      ],
    );
    assert.equal(requests, 5);
  });

  it('a 429 reaches the caller as a retryable ScimHttpError (the run retries until its deadline)', async () => {
    throttled = 1;
    await assert.rejects(
      admin().listSkillAgents(101),
      (err: unknown) => err instanceof ScimHttpError && err.status === 429,
    );
    assert.equal((await admin().listSkillAgents(101)).length, 3);
  });

  it('upserts with a JSON body and answers one result per agent sent, an unmentioned agent failed', async () => {
    seen.length = 0;
    const results = await admin().upsertSkillAgents(101, [
      { agentId: 7, proficiency: 5 },
      { agentId: 9, proficiency: 3 },
      { agentId: 10, proficiency: 2 },
    ]);
    assert.deepEqual(results, [
      { agentId: 7, success: true },
      { agentId: 9, success: false, error: 'agent 9 does not exist' },
      { agentId: 10, success: false, error: 'the answer to POST /skills/101/agents has no result for this agent' },
    ]);
    assert.equal(seen[0].contentType, 'application/json');
    assert.deepEqual(JSON.parse(seen[0].body), {
      agents: [
        { agentId: 7, isActive: true, proficiency: 5 },
        { agentId: 9, isActive: true, proficiency: 3 },
        { agentId: 10, isActive: true, proficiency: 2 },
      ],
    });
  });

  it('removes an agent from a skill; a 404 says the agent did not hold it', async () => {
    assert.equal(await admin().removeSkillAgent(101, 7), 'removed');
    assert.equal(await admin().removeSkillAgent(101, 8), 'absent');
  });

  it('searches teams by name through every page and gets a team by id; paths can be overridden', async () => {
    seen.length = 0;
    const found = await admin({ pageSize: 2 }).searchTeams('Sales');
    assert.deepEqual(
      found.map((t) => t.id),
      ['t1', 't2', 't3'],
    );
    assert.deepEqual(
      seen.map((s) => JSON.parse(s.body)),
      [
        { filter: { name: 'Sales' }, skip: 0, top: 2 },
        { filter: { name: 'Sales' }, skip: 2, top: 2 },
      ],
    );
    assert.deepEqual(await admin().getTeam('t1'), { id: 't1', name: 'Sales', status: 'Active' });
    assert.equal(await admin().getTeam('t404'), undefined);
    assert.equal(
      (await admin({ paths: { team: '/custom/teams/{teamId}' } }).getTeam('t1'))?.name,
      'Sales (custom path)',
    );
  });

  it('a missing API is a 404/405/501 (isMissingApi); an unknown skill too, and an unexpected shape is its own error', async () => {
    const missing = await admin({ paths: { skills: '/nothing/here' } })
      .listSkills()
      .catch((e: unknown) => e);
    assert.ok(isMissingApi(missing));
    assert.ok(
      isMissingApi(
        await admin()
          .listSkillAgents(999)
          .catch((e: unknown) => e),
      ),
    );
    await assert.rejects(
      admin({ paths: { skills: '/broken/skills' } }).listSkills(),
      (err: unknown) =>
        err instanceof CxoneAdminShapeError &&
        /answer of \/broken\/skills is not the expected shape: \$\.skills/.test(err.message),
    );
  });
});
