// /admin: a local test tool, deliberately without authentication (the sandbox listens on
// loopback). It flips switches, reads the request and delivery logs, and simulates changes an
// administrator makes in the CXone console (which then raise webhook events like SCIM changes do).
// On the cxone profile it also activates Pending employees and adds roles, teams, skills and
// login authenticators to the tenant.
import type { FastifyInstance } from 'fastify';
import { badRequest, notFound } from './errors';
import type { Deliveries } from './delivery';
import type { Resources } from './resources';
import { PATCH_OP_SCHEMA, USER_SCHEMA } from './schemas';
import type { SwitchBoard } from './switches';
import type { RequestLogEntry } from './requestLog';
import type { Tokens } from './auth';
import type { CxoneTenant } from './tenant';
import type { Attrs } from './validate';

/** Console-simulated user changes, shared by the admin routes and the programmatic API. */
export class ConsoleActions {
  constructor(
    private readonly resources: Resources,
    private readonly tenant?: CxoneTenant,
  ) {}

  createUser(user: Attrs): Attrs {
    return this.resources.create('User', { schemas: [USER_SCHEMA], ...user });
  }

  /** `changes` is either a PatchOp request or a partial user whose top-level attributes replace the user's. */
  updateUser(id: string, changes: Attrs): Attrs {
    const isPatchOp = Array.isArray(changes.schemas) && changes.schemas.includes(PATCH_OP_SCHEMA);
    return isPatchOp ? this.resources.patch('User', id, changes) : this.resources.merge(id, changes);
  }

  deactivateUser(id: string): Attrs {
    return this.resources.merge(id, { active: false });
  }

  /** A Pending CXone employee becomes Active (cxone profile). */
  activateUser(id: string): Attrs {
    const tenant = this.tenant;
    if (!tenant) throw notFound('Employees are activated on the cxone profile only');
    return this.resources.rewrite(id, (user) => tenant.activated(user));
  }
}

export interface AdminDeps {
  actions: ConsoleActions;
  switchBoard: SwitchBoard;
  requestLog: RequestLogEntry[];
  deliveries: Deliveries;
  tokens: Tokens;
  tenant?: CxoneTenant;
}

const asObject = (body: unknown): Attrs => {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest('invalidSyntax', 'Expected a JSON object');
  return body as Attrs;
};

export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.get('/switches', async () => deps.switchBoard.switches);

  const setSwitches = async (request: { body: unknown }) => {
    try {
      return deps.switchBoard.set(asObject(request.body));
    } catch (err) {
      throw badRequest('invalidValue', (err as Error).message);
    }
  };
  app.patch('/switches', setSwitches);
  app.put('/switches', setSwitches);

  app.get('/requests', async () => ({ requests: deps.requestLog }));
  app.delete('/requests', async (_request, reply) => {
    deps.requestLog.length = 0;
    return reply.code(204).send();
  });

  app.get('/deliveries', async () => ({ deliveries: deps.deliveries.log }));

  app.post('/tokens/expire', async (_request, reply) => {
    deps.tokens.expireAll();
    return reply.code(204).send();
  });

  app.post('/users', async (request, reply) => reply.code(201).send(deps.actions.createUser(asObject(request.body))));

  app.patch<{ Params: { id: string } }>('/users/:id', async (request) =>
    deps.actions.updateUser(request.params.id, asObject(request.body)),
  );

  app.post<{ Params: { id: string } }>('/users/:id/deactivate', async (request) =>
    deps.actions.deactivateUser(request.params.id),
  );

  const { tenant } = deps;
  if (!tenant) return;

  app.post<{ Params: { id: string } }>('/users/:id/activate', async (request) =>
    deps.actions.activateUser(request.params.id),
  );
  app.post('/roles', async (request, reply) =>
    reply.code(201).send(tenant.addRole(asObject(request.body) as { name: string })),
  );
  app.delete<{ Params: { id: string } }>('/roles/:id', async (request, reply) => {
    tenant.removeRole(request.params.id);
    return reply.code(204).send();
  });
  app.post('/login-authenticators', async (request, reply) =>
    reply
      .code(201)
      .send(tenant.addLoginAuthenticator(asObject(request.body) as { name: string; authenticationType: string })),
  );
  app.post('/teams', async (request, reply) =>
    reply.code(201).send(tenant.addTeam(asObject(request.body) as { name: string })),
  );
  app.post('/skills', async (request, reply) =>
    reply.code(201).send(tenant.addSkill(asObject(request.body) as { skillName: string })),
  );
}
