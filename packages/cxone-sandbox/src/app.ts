// Assembles the HTTP server: body parsing, switches, auth, routes, errors, request log.
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { type AdminDeps, registerAdminRoutes } from './admin';
import type { Tokens } from './auth';
import { registerTokenEndpoints, type TokenEndpointOptions } from './token-endpoints';
import { badRequest, errorBody, ScimHttpError } from './errors';
import { recordRequests, type RequestLogEntry } from './requestLog';
import { registerScimRoutes, type ScimDeps } from './scim';
import type { SwitchBoard } from './switches';
import type { Store } from './store';
import type { CxoneTenant } from './tenant';
import { isTenantApi, registerTenantRoutes } from './tenant-routes';
import { registerWebhookRoutes } from './webhooks';

export const SCIM_PATH = '/scim/v2';
export const WEBHOOKS_PATH = '/api/v2';
const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

export interface AppDeps {
  scim: Omit<ScimDeps, 'switches'>;
  admin: Omit<AdminDeps, 'switchBoard' | 'requestLog' | 'tokens'>;
  store: Store;
  tokens: Tokens;
  tokenEndpoints: Omit<TokenEndpointOptions, 'tokens'>;
  switchBoard: SwitchBoard;
  requestLog: RequestLogEntry[];
  requestLogLimit: number;
  scimScope: string;
  webhookScope: string;
  allowRemoteWebhooks: boolean;
  /** The cxone profile's tenant: its roles, teams and skills APIs. */
  tenant?: CxoneTenant;
}

/** Only the CXone API is subject to switches: not the token endpoint, not /admin. */
const isScimOrWebhooks = (url: string) => url.startsWith(`${SCIM_PATH}/`) || url.startsWith(`${WEBHOOKS_PATH}/`);

function toScimError(err: FastifyError | ScimHttpError): ScimHttpError {
  if (err instanceof ScimHttpError) return err;
  const status = err.statusCode ?? 500;
  if (status === 400) return badRequest('invalidSyntax', err.message);
  if (status < 500) return new ScimHttpError(status, err.message);
  return new ScimHttpError(500, `Internal server error: ${err.message}`);
}

export function buildApp(deps: AppDeps): FastifyInstance {
  // Bodies over bulk.maxPayloadSize must reach the bulk handler so that it can answer its own 413.
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024, routerOptions: { ignoreTrailingSlash: true } });

  app.decorateRequest('rawBodyBytes', 0);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    ['application/json', 'application/scim+json'],
    { parseAs: 'string' },
    (request, body, done) => {
      const text = body as string;
      request.rawBodyBytes = Buffer.byteLength(text);
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch (err) {
        done(badRequest('invalidSyntax', `Malformed JSON: ${(err as Error).message}`), undefined);
      }
    },
  );
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  recordRequests(app, deps.requestLog, deps.requestLogLimit);

  const switchable = (url: string) => isScimOrWebhooks(url) || (deps.tenant !== undefined && isTenantApi(url));
  app.addHook('onRequest', async (request, reply) => {
    if (!switchable(request.url)) return;
    const verdict = await deps.switchBoard.judge();
    if (!verdict) return;
    if (verdict.retryAfterSeconds !== undefined) reply.header('retry-after', String(verdict.retryAfterSeconds));
    return reply.code(verdict.status).send(errorBody(verdict.status, verdict.detail));
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url.startsWith(SCIM_PATH) && payload !== undefined && payload !== null && payload !== '') {
      reply.header('content-type', SCIM_CONTENT_TYPE);
    }
    return payload;
  });

  app.setErrorHandler<FastifyError | ScimHttpError>(async (err, _request, reply) => {
    const e = toScimError(err);
    return reply.code(e.status).headers(e.headers).send(e.body());
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send(errorBody(404, `No endpoint ${request.method} ${request.url.split('?')[0]}`)),
  );

  registerTokenEndpoints(app, { ...deps.tokenEndpoints, tokens: deps.tokens });

  app.register(
    async (scim) => {
      scim.addHook('onRequest', deps.tokens.requireScope(deps.scimScope));
      registerScimRoutes(scim, { ...deps.scim, switches: deps.switchBoard.switches });
    },
    { prefix: SCIM_PATH },
  );

  app.register(
    async (api) => {
      api.addHook('onRequest', deps.tokens.requireScope(deps.webhookScope));
      registerWebhookRoutes(api, deps.store, deps.allowRemoteWebhooks);
    },
    { prefix: WEBHOOKS_PATH },
  );

  const { tenant } = deps;
  if (tenant) {
    // Same API base and bearer token as SCIM.
    app.register(async (api) => {
      api.addHook('onRequest', deps.tokens.requireScope(deps.scimScope));
      registerTenantRoutes(api, tenant);
    });
  }

  app.register(
    async (admin) => {
      registerAdminRoutes(admin, {
        ...deps.admin,
        switchBoard: deps.switchBoard,
        requestLog: deps.requestLog,
        tokens: deps.tokens,
        tenant,
      });
    },
    { prefix: '/admin' },
  );

  return app;
}
