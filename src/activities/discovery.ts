// Discovery of a tenant's provider: /ServiceProviderConfig, /ResourceTypes, /Schemas. None of them
// is required (NICE publishes only /Schemas for CXone): a document answered with 404, 405 or 501,
// or with a body that is not SCIM, is "not published", and the product works from the tenant's
// configured `capabilities` / `endpoints` and safe defaults instead (src/scim/capabilities.ts).
// Each result keeps the shape workflows know (`body` is what to work from) and says where it came from.
import { ScimHttpError, type ScimClient } from '../http';
import {
  capabilityModel,
  discoveredCapabilities,
  effectiveResourceTypes,
  effectiveServiceProviderConfig,
  endpointModel,
  isResourceList,
  isServiceProviderConfig,
  userExtensionsIn,
  type CapabilityModel,
  type EndpointModel,
} from '../scim/capabilities';
import { defaultSchemasBody } from '../scim/default-schemas';
import { configuredCapabilities } from '../config/tenants';
import type { ActivityDeps } from './deps';
import { asActivity, dialectFor, scimClientFor } from './deps';
import { payloadSha256 } from './hash';

/** What a workflow learns about one HTTP exchange: enough for a report step, nothing secret. */
export interface HttpOutcome {
  httpStatus: number;
  etag?: string;
  payloadSha256?: string;
  durationMs: number;
}

export interface Discovered<T> extends HttpOutcome {
  /** What to work from: the provider's document with configured and learnt facts applied, or, when it publishes none, the assumed one. */
  body: T;
  /** false: the provider publishes no such document (absent from results recorded before this field: published). */
  published?: boolean;
  /** Why the document counts as not published, e.g. `HTTP 404`. */
  absence?: string;
  /** ServiceProviderConfig: the provider's own document, as published (what `configure` compares). */
  document?: T;
  /** ServiceProviderConfig: every capability with where it came from. */
  capabilities?: CapabilityModel;
  /** ResourceTypes: the User and Group endpoints with where they came from. */
  endpoints?: EndpointModel;
}

/** The answers that mean "no such document here" (RFC 7644 §4 makes them optional in practice). */
const NOT_PUBLISHED = new Set([404, 405, 501]);

type Fetched =
  | { published: true; status: number; etag?: string; body: unknown; durationMs: number }
  | { published: false; status: number; absence: string; durationMs: number };

/** GET one discovery document; an answer that says it is not there is a result, not an error. */
export async function fetchDocument(
  client: ScimClient,
  path: string,
  isScim: (body: unknown) => boolean,
): Promise<Fetched> {
  const started = Date.now();
  try {
    const response = await client.get<unknown>(path);
    if (!isScim(response.body)) {
      return {
        published: false,
        status: response.status,
        absence: `HTTP ${response.status} with a body that is not a SCIM ${path.slice(1)} document`,
        durationMs: response.durationMs,
      };
    }
    return {
      published: true,
      status: response.status,
      etag: response.etag,
      body: response.body,
      durationMs: response.durationMs,
    };
  } catch (err) {
    if (err instanceof ScimHttpError && NOT_PUBLISHED.has(err.status))
      return { published: false, status: err.status, absence: `HTTP ${err.status}`, durationMs: Date.now() - started };
    throw err;
  }
}

/** The tenant's capabilities: published ServiceProviderConfig (if any), configuration, what this worker learnt. */
export function capabilitiesOf(deps: ActivityDeps, tenantId: string, published: unknown | undefined): CapabilityModel {
  return capabilityModel({
    discovered: published === undefined ? undefined : discoveredCapabilities(published),
    configured: configuredCapabilities(deps.tenants.get(tenantId)),
    learnt: dialectFor(deps, tenantId).learnt(),
  });
}

export function createDiscoveryActivities(deps: ActivityDeps) {
  const outcome = (fetched: Fetched, hashed: unknown) => ({
    httpStatus: fetched.status,
    ...(fetched.published && fetched.etag ? { etag: fetched.etag } : {}),
    payloadSha256: payloadSha256(hashed),
    durationMs: fetched.durationMs,
    published: fetched.published,
    ...(fetched.published ? {} : { absence: fetched.absence }),
  });

  return {
    /** Discovery GET {scim}/ServiceProviderConfig: the current value and its ETag, or the capabilities assumed without one. */
    discoverServiceProviderConfig: (tenantId: string): Promise<Discovered<Record<string, unknown>>> =>
      asActivity(async () => {
        const fetched = await fetchDocument(
          scimClientFor(deps, tenantId),
          '/ServiceProviderConfig',
          isServiceProviderConfig,
        );
        const document = fetched.published ? (fetched.body as Record<string, unknown>) : undefined;
        const capabilities = capabilitiesOf(deps, tenantId, document);
        const body = effectiveServiceProviderConfig(capabilities, document);
        return { ...outcome(fetched, document ?? body), body, ...(document ? { document } : {}), capabilities };
      }),

    /** Discovery GET {scim}/ResourceTypes, or a User (and Group) type at the configured or usual endpoints. */
    discoverResourceTypes: (tenantId: string): Promise<Discovered<Record<string, unknown>>> =>
      asActivity(async () => {
        const client = scimClientFor(deps, tenantId);
        const fetched = await fetchDocument(client, '/ResourceTypes', isResourceList);
        const published = fetched.published ? fetched.body : undefined;
        const endpoints = endpointModel(published, deps.tenants.get(tenantId).endpoints);
        // Without /ResourceTypes, the User's extensions are the ones /Schemas describes.
        const extensions =
          published === undefined ? userExtensionsIn(await schemasBody(client).then((s) => s.body)) : [];
        const body = effectiveResourceTypes(endpoints, published, extensions);
        return { ...outcome(fetched, published ?? body), body, endpoints };
      }),

    /** Discovery GET {scim}/Schemas, or the RFC 7643 User and enterprise extension schemas. */
    discoverSchemas: (tenantId: string): Promise<Discovered<Record<string, unknown>>> =>
      asActivity(async () => {
        const { fetched, body } = await schemasBody(scimClientFor(deps, tenantId));
        return { ...outcome(fetched, body), body };
      }),
  };
}

async function schemasBody(client: ScimClient): Promise<{ fetched: Fetched; body: Record<string, unknown> }> {
  const fetched = await fetchDocument(client, '/Schemas', isResourceList);
  // A bare array (as some providers answer) is kept as it is: the schema model reads both.
  const body = fetched.published ? (fetched.body as Record<string, unknown>) : defaultSchemasBody();
  return { fetched, body };
}
