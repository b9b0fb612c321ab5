// /admin: a local test tool, deliberately without authentication (the sandbox listens on
// loopback). It flips switches, reads the request and delivery logs, and simulates changes an
// administrator makes in the CXone console (which then raise webhook events like SCIM changes do).
import type { FastifyInstance } from 'fastify';
import { badRequest } from './errors';
import type { Deliveries } from './delivery';
import type { Resources } from './resources';
import { PATCH_OP_SCHEMA, USER_SCHEMA } from './schemas';
import type { SwitchBoard } from './switches';
import type { RequestLogEntry } from './requestLog';
import type { Tokens } from './auth';
import type { Attrs } from './validate';

/** Console-simulated user changes, shared by the admin routes and the programmatic API. */
export class ConsoleActions {
  constructor(private readonly resources: Resources) {}

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
}

export interface AdminDeps {
  actions: ConsoleActions;
  switchBoard: SwitchBoard;
  requestLog: RequestLogEntry[];
  deliveries: Deliveries;
  tokens: Tokens;
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
}
