// CXone's own APIs beside SCIM (cxone profile), same API base and bearer token:
//   GET    /user-management/v1/roles                    { roles: [{ id, name, status }] }
//   GET    /authentication/v1/login-authenticators      { loginAuthenticators: [{ id, name, authenticationType }] }
//   POST   /user-management/v4/teams/search             { filter: { name? }, skip?, top? } → { totalRecords, teams }
//   GET    /user-management/v3/teams/{teamId}           { team } (404 if unknown)
//   GET    /skills?skip=&top=                           { totalRecords, skills: [{ skillId, skillName, isActive }] }
//   GET    /skills/{skillId}/agents?skip=&top=          { totalRecords, agents: [{ agentId, proficiency, isActive }] }
//   POST   /skills/{skillId}/agents                     { agents: [...] } → { agentResults } (per agent)
//   DELETE /skills/{skillId}/agents/{agentId}           204 (404 if the agent has no such skill)
import type { FastifyInstance } from 'fastify';
import { pageOf, type CxoneTenant } from './tenant';

/** Whether a request URL is one of these APIs (which go through the same switches as SCIM). */
export function isTenantApi(url: string): boolean {
  const path = url.split('?', 1)[0];
  return (
    path.startsWith('/user-management/') ||
    path === '/authentication/v1/login-authenticators' ||
    path === '/skills' ||
    path.startsWith('/skills/')
  );
}

type Paging = { Querystring: { skip?: string; top?: string } };

export function registerTenantRoutes(app: FastifyInstance, tenant: CxoneTenant): void {
  app.get('/user-management/v1/roles', async () => ({ roles: tenant.roles }));

  app.get('/authentication/v1/login-authenticators', async () => ({
    loginAuthenticators: tenant.loginAuthenticators,
  }));

  app.post('/user-management/v4/teams/search', async (request) => tenant.searchTeams(request.body));

  app.get<{ Params: { teamId: string } }>('/user-management/v3/teams/:teamId', async (request) => ({
    team: tenant.team(request.params.teamId),
  }));

  app.get<Paging>('/skills', async (request) => ({
    totalRecords: tenant.skills.length,
    skills: pageOf([...tenant.skills], request.query),
  }));

  app.get<Paging & { Params: { skillId: string } }>('/skills/:skillId/agents', async (request) => {
    const agents = tenant.skillAgents(request.params.skillId);
    return { totalRecords: agents.length, agents: pageOf(agents, request.query) };
  });

  app.post<{ Params: { skillId: string } }>('/skills/:skillId/agents', async (request) =>
    tenant.assignSkill(request.params.skillId, request.body),
  );

  app.delete<{ Params: { skillId: string; agentId: string } }>(
    '/skills/:skillId/agents/:agentId',
    async (request, reply) => {
      tenant.unassignSkill(request.params.skillId, request.params.agentId);
      return reply.code(204).send();
    },
  );
}
