// /ServiceProviderConfig (RFC 7643 §5). The stored document is the source of truth for the limits
// the sandbox enforces (bulk.maxOperations, bulk.maxPayloadSize, filter.maxResults), so a PUT that
// changes them changes the sandbox's behaviour, as it would on CXone.
import { badRequest } from './errors';
import { checkIfMatch } from './etag';
import { SPC_SCHEMA } from './schemas';
import type { Profile } from './profile';
import type { Store, StoredResource } from './store';
import type { Attrs } from './validate';

export interface SpcLimits {
  bulkMaxOperations: number;
  bulkMaxPayloadSize: number;
  filterMaxResults: number;
}

const RFC_ATTRIBUTES = new Set([
  'schemas',
  'documentationUri',
  'patch',
  'bulk',
  'filter',
  'changePassword',
  'sort',
  'etag',
  'authenticationSchemes',
  'meta',
]);

/** What the profile offers: Bulk, ETags, and which grant its authentication scheme describes. */
export type SpcFeatures = Pick<Profile, 'bulk' | 'etags' | 'clientCredentials'>;

export function defaultSpc(
  limits: SpcLimits,
  features: SpcFeatures = { bulk: true, etags: true, clientCredentials: true },
): Attrs {
  return {
    schemas: [SPC_SCHEMA],
    patch: { supported: true },
    bulk: {
      supported: features.bulk,
      maxOperations: limits.bulkMaxOperations,
      maxPayloadSize: limits.bulkMaxPayloadSize,
    },
    filter: { supported: true, maxResults: limits.filterMaxResults },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: features.etags },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: features.clientCredentials
          ? 'OAuth 2.0 client credentials or password grant (access key); send the access token as a Bearer token.'
          : 'OAuth 2.0 password grant with an access key and a registered application; send the access token as a Bearer token.',
        specUri: 'https://www.rfc-editor.org/info/rfc6750',
        primary: true,
      },
    ],
  };
}

const isObject = (v: unknown): v is Attrs => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every problem at once, each named by its JSON path. */
function validateSpc(body: unknown): Attrs {
  if (!isObject(body)) throw badRequest('invalidSyntax', 'The request body must be a JSON object');
  const problems: string[] = [];
  if (!Array.isArray(body.schemas) || !body.schemas.includes(SPC_SCHEMA))
    problems.push(`$.schemas must contain ${SPC_SCHEMA}`);
  for (const key of Object.keys(body)) {
    if (!RFC_ATTRIBUTES.has(key)) problems.push(`$.${key} is not a ServiceProviderConfig attribute (RFC 7643 §5)`);
  }
  const flag = (section: string) => {
    const value = body[section];
    if (!isObject(value) || typeof value.supported !== 'boolean')
      problems.push(`$.${section}.supported must be a boolean`);
  };
  const positive = (section: string, name: string) => {
    const value = (body[section] as Attrs | undefined)?.[name];
    if (!Number.isInteger(value) || (value as number) < 1)
      problems.push(`$.${section}.${name} must be a positive integer`);
  };
  ['patch', 'bulk', 'filter', 'changePassword', 'sort', 'etag'].forEach(flag);
  positive('bulk', 'maxOperations');
  positive('bulk', 'maxPayloadSize');
  positive('filter', 'maxResults');
  const schemes = body.authenticationSchemes;
  if (!Array.isArray(schemes)) problems.push('$.authenticationSchemes must be an array');
  else {
    schemes.forEach((s, i) => {
      if (!isObject(s) || typeof s.type !== 'string' || typeof s.name !== 'string') {
        problems.push(`$.authenticationSchemes[${i}] must have string "type" and "name"`);
      }
    });
  }
  if (problems.length > 0) throw badRequest('invalidValue', problems.join('; '));
  const { meta: _ignored, ...doc } = body;
  return doc;
}

export class ServiceProviderConfig {
  constructor(
    private readonly store: Store,
    defaults: SpcLimits,
    features?: SpcFeatures,
  ) {
    if (!store.spc) {
      const now = new Date().toISOString();
      store.spc = {
        id: 'ServiceProviderConfig',
        attrs: defaultSpc(defaults, features),
        created: now,
        lastModified: now,
        version: 1,
      };
      store.changed();
    }
  }

  get current(): StoredResource {
    return this.store.spc as StoredResource;
  }

  replace(body: unknown, ifMatch: string | undefined): StoredResource {
    checkIfMatch(ifMatch, this.current.version);
    const attrs = validateSpc(body);
    const previous = this.current;
    if (JSON.stringify(attrs) === JSON.stringify(previous.attrs)) return previous;
    this.store.spc = { ...previous, attrs, lastModified: new Date().toISOString(), version: previous.version + 1 };
    this.store.changed();
    return this.store.spc;
  }

  limits(): SpcLimits {
    const { bulk, filter } = this.current.attrs as { bulk: Attrs; filter: Attrs };
    return {
      bulkMaxOperations: bulk.maxOperations as number,
      bulkMaxPayloadSize: bulk.maxPayloadSize as number,
      filterMaxResults: filter.maxResults as number,
    };
  }
}
