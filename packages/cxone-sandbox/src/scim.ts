// The SCIM 2.0 endpoints under /scim/v2 (RFC 7644 §3–4), as many as the profile offers: anything
// it leaves out (cxone: ServiceProviderConfig, ResourceTypes, Groups, Bulk, /.search) answers 404.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bulkResponse, type BulkJob, type BulkJobs, parseBulkRequest, processBulk } from './bulk';
import { badRequest, notFound, ScimHttpError } from './errors';
import { etagOf, notModified } from './etag';
import { project, splitAttributeList } from './query';
import type { ListQuery, Resources } from './resources';
import type { Profile } from './profile';
import {
  BULK_RESPONSE_SCHEMA,
  LIST_RESPONSE_SCHEMA,
  RESOURCE_TYPE_SCHEMA,
  type ResourceKind,
  SCHEMA_SCHEMA,
  type SchemaDefinition,
} from './schemas';
import type { ServiceProviderConfig } from './spc';
import type { Switches } from './switches';
import type { Attrs } from './validate';

export interface ScimDeps {
  resources: Resources;
  spc: ServiceProviderConfig;
  jobs: BulkJobs;
  switches: Switches;
  scimBaseUrl: () => string;
  profile: Profile;
}

type Query = Record<string, unknown>;

declare module 'fastify' {
  interface FastifyRequest {
    /** Size of the raw request body, for bulk.maxPayloadSize. */
    rawBodyBytes: number;
  }
}

function integerParam(query: Query, name: string, fallback: number): number {
  const raw = query[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw badRequest('invalidValue', `"${name}" must be an integer`);
  return value;
}

function listResponse(resources: Attrs[], totalResults: number, startIndex: number): Attrs {
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

export function registerScimRoutes(app: FastifyInstance, deps: ScimDeps): void {
  const { resources, spc } = deps;
  const { types, etags, kinds } = deps.profile;
  /** Without ETag support there is no version to send, and If-Match / If-None-Match are ignored (RFC 7644 §3.14). */
  const withoutVersion = (doc: Attrs): Attrs => {
    if (etags || typeof doc.meta !== 'object' || doc.meta === null) return doc;
    const { version: _version, ...meta } = doc.meta as Attrs;
    return { ...doc, meta };
  };

  // ---- discovery ----

  if (deps.profile.discovery) registerDiscoveryRoutes(app, deps, withoutVersion);

  const schemaDocument = (schema: SchemaDefinition) => ({
    schemas: [SCHEMA_SCHEMA],
    ...schema,
    meta: { resourceType: 'Schema', location: `${deps.scimBaseUrl()}/Schemas/${schema.id}` },
  });

  app.get('/Schemas', async () => {
    const docs = deps.profile.schemas.map(schemaDocument);
    return listResponse(docs, docs.length, 1);
  });

  app.get<{ Params: { id: string } }>('/Schemas/:id', async (request) => {
    const schema = deps.profile.schemas.find((s) => s.id === request.params.id);
    if (!schema) throw notFound(`Schema ${request.params.id} not found`);
    return schemaDocument(schema);
  });

  // ---- Users and Groups ----

  /** attributes / excludedAttributes from the query string (or a /.search body). */
  const shape = (kind: ResourceKind, resource: Attrs, query: Query) =>
    project(types[kind], resource, splitAttributeList(query.attributes), splitAttributeList(query.excludedAttributes));

  const sendResource = (reply: FastifyReply, kind: ResourceKind, resource: Attrs, query: Query, status = 200) => {
    const meta = resource.meta as { version: string; location: string };
    reply.code(status);
    if (etags) reply.header('etag', meta.version);
    if (status === 201) reply.header('location', meta.location);
    return reply.send(withoutVersion(shape(kind, resource, query)));
  };

  const list = (kind: ResourceKind, query: Query) => {
    const maxResults = spc.limits().filterMaxResults;
    const listQuery: ListQuery = {
      filter:
        typeof query.filter === 'string' && query.filter.trim() !== '' && deps.switches.filterMode !== 'ignored'
          ? query.filter
          : undefined,
      caseExact: deps.switches.filterMode === 'caseExact',
      eqOnly: deps.switches.filterMode === 'eqOnly',
      startIndex: Math.max(1, integerParam(query, 'startIndex', 1)),
      count: Math.min(maxResults, Math.max(0, integerParam(query, 'count', maxResults))),
    };
    const result = resources.list(kind, listQuery);
    return listResponse(
      result.resources.map((r) => withoutVersion(shape(kind, r, query))),
      result.totalResults,
      listQuery.startIndex,
    );
  };

  for (const kind of kinds) {
    const endpoint = types[kind].endpoint;
    type ById = FastifyRequest<{ Params: { id: string }; Querystring: Query }>;
    const ifMatch = (request: FastifyRequest) => (etags ? request.headers['if-match'] : undefined);

    app.get<{ Querystring: Query }>(endpoint, async (request) => list(kind, request.query));

    // RFC 7644 §3.4.3: the same query, in a POST body.
    if (deps.profile.search)
      app.post(`${endpoint}/.search`, async (request) => list(kind, (request.body ?? {}) as Query));

    app.post<{ Querystring: Query }>(endpoint, async (request, reply) =>
      sendResource(reply, kind, resources.create(kind, request.body), request.query, 201),
    );

    app.get(`${endpoint}/:id`, async (request: ById, reply) => {
      const resource = resources.get(kind, request.params.id);
      if (etags && notModified(request.headers['if-none-match'], (resource.meta as Attrs).version as string)) {
        return reply
          .code(304)
          .header('etag', (resource.meta as Attrs).version as string)
          .send();
      }
      return sendResource(reply, kind, resource, request.query);
    });

    app.put(`${endpoint}/:id`, async (request: ById, reply) =>
      sendResource(
        reply,
        kind,
        resources.replace(kind, request.params.id, request.body, ifMatch(request)),
        request.query,
      ),
    );

    app.patch(`${endpoint}/:id`, async (request: ById, reply) => {
      const body =
        kind === 'Group' && deps.switches.groupPatchNoop ? withoutFilteredMemberRemovals(request.body) : request.body;
      if (body === undefined) return sendResource(reply, kind, resources.get(kind, request.params.id), request.query);
      return sendResource(reply, kind, resources.patch(kind, request.params.id, body, ifMatch(request)), request.query);
    });

    app.delete(`${endpoint}/:id`, async (request: ById, reply) => {
      if (kind === 'User' && !deps.profile.userDelete) {
        reply.header('allow', 'GET, PUT, PATCH');
        throw new ScimHttpError(405, 'Users are not deleted here: deactivate them with active: false');
      }
      resources.remove(kind, request.params.id, ifMatch(request));
      return reply.code(204).send();
    });
  }

  if (deps.profile.bulk) registerBulkRoutes(app, deps);
}

/** The groupPatchNoop switch: filtered member removals are dropped (undefined when nothing is left to apply). */
function withoutFilteredMemberRemovals(body: unknown): unknown {
  const ops = (body as { Operations?: Array<{ op?: unknown; path?: unknown }> } | null)?.Operations;
  if (!Array.isArray(ops)) return body;
  const kept = ops.filter(
    (op) => !(String(op.op).toLowerCase() === 'remove' && /^members\[/i.test(String(op.path ?? ''))),
  );
  return kept.length === 0 ? undefined : { ...(body as object), Operations: kept };
}

function jobDocument(job: BulkJob): Attrs {
  return {
    schemas: [BULK_RESPONSE_SCHEMA],
    id: job.id,
    status: job.status,
    createdAt: job.createdAt,
    ...(job.completedAt ? { completedAt: job.completedAt } : {}),
    ...(job.results ? { Operations: job.results } : {}),
  };
}

/** /ServiceProviderConfig and /ResourceTypes (RFC 7644 §4), on profiles that offer them. */
function registerDiscoveryRoutes(app: FastifyInstance, deps: ScimDeps, withoutVersion: (doc: Attrs) => Attrs): void {
  const { spc } = deps;
  const { types, etags, kinds } = deps.profile;
  const spcDocument = () => {
    const current = spc.current;
    const meta = {
      resourceType: 'ServiceProviderConfig',
      created: current.created,
      lastModified: current.lastModified,
      location: `${deps.scimBaseUrl()}/ServiceProviderConfig`,
      version: etagOf(current.version),
    };
    return { ...current.attrs, meta };
  };

  app.get('/ServiceProviderConfig', async (request, reply) => {
    const doc = spcDocument();
    if (!etags) return withoutVersion(doc);
    reply.header('etag', doc.meta.version);
    if (notModified(request.headers['if-none-match'], doc.meta.version)) return reply.code(304).send();
    return doc;
  });

  app.put('/ServiceProviderConfig', async (request, reply) => {
    if (deps.switches.readOnlySpc) {
      reply.header('allow', 'GET');
      throw new ScimHttpError(405, 'ServiceProviderConfig is read-only (RFC 7644 §4)');
    }
    spc.replace(request.body, etags ? request.headers['if-match'] : undefined);
    const doc = spcDocument();
    if (!etags) return withoutVersion(doc);
    return reply.header('etag', doc.meta.version).send(doc);
  });

  const resourceTypeDocument = (kind: ResourceKind) => {
    const type = types[kind];
    return {
      schemas: [RESOURCE_TYPE_SCHEMA],
      id: kind,
      name: kind,
      endpoint: type.endpoint,
      description: type.description,
      schema: type.schema.id,
      schemaExtensions: type.extensions.map((e) => ({ schema: e.id, required: false })),
      meta: { resourceType: 'ResourceType', location: `${deps.scimBaseUrl()}/ResourceTypes/${kind}` },
    };
  };

  app.get('/ResourceTypes', async () => {
    const listed = kinds.filter((k) => !(k === 'Group' && deps.switches.hideGroups));
    const docs = listed.map(resourceTypeDocument);
    return listResponse(docs, docs.length, 1);
  });

  app.get<{ Params: { id: string } }>('/ResourceTypes/:id', async (request) => {
    const kind = request.params.id as ResourceKind;
    if (!kinds.includes(kind)) throw notFound(`ResourceType ${kind} not found`);
    return resourceTypeDocument(kind);
  });
}

/** /Bulk (RFC 7644 §3.7), synchronous or as an asynchronous job. */
function registerBulkRoutes(app: FastifyInstance, deps: ScimDeps): void {
  const { resources, spc, jobs } = deps;
  app.post('/Bulk', async (request, reply) => {
    const bulk = parseBulkRequest(request.body, request.rawBodyBytes, spc.limits());
    const prefersAsync = /\brespond-async\b/i.test(String(request.headers.prefer ?? ''));
    if (!deps.switches.asyncBulk && !prefersAsync) return bulkResponse(processBulk(resources, bulk).results);
    const job = jobs.submit(bulk);
    if (prefersAsync) reply.header('preference-applied', 'respond-async');
    return reply
      .code(202)
      .header('location', `${deps.scimBaseUrl()}/Bulk/${job.id}`)
      .send({ id: job.id, status: job.status });
  });

  app.get<{ Params: { id: string } }>('/Bulk/:id', async (request, reply) => {
    const job = jobs.get(request.params.id);
    if (!job) throw notFound(`Bulk job ${request.params.id} not found`);
    if (job.status === 'queued' || job.status === 'running') reply.header('retry-after', '1');
    return jobDocument(job);
  });
}
