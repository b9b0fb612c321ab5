// Matching a source record to the provider's users without ever touching the wrong one. Servers
// differ: some compare `eq` case-sensitively, some ignore `filter` and return every user, so a
// lookup's answer is only a list of candidates; what counts is the candidates verified here.
// Pure and deterministic.

export interface MatchKeys {
  userName: string;
  /** When the source gives one (e.g. through the mapping). */
  externalId?: string;
}

export type MatchResult =
  | { kind: 'none' }
  | { kind: 'one'; resource: Record<string, unknown> & { id: string } }
  /** More than one distinct user fits the record: an error for the record, never a guess. */
  | { kind: 'ambiguous'; ids: string[] };

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** userName is caseExact=false in RFC 7643 §4.1.1: equal ignoring case. */
export function sameUserName(a: unknown, b: string): boolean {
  const s = str(a);
  return s !== undefined && s.toLowerCase() === b.toLowerCase();
}

/**
 * The candidates that really are this record: same userName (ignoring case) or, when the record
 * has an externalId, the same externalId (caseExact). Deduplicated by `id`.
 */
export function verifiedMatch(keys: MatchKeys, candidates: readonly unknown[]): MatchResult {
  return distinct(
    candidates,
    (r) =>
      sameUserName(r.userName, keys.userName) ||
      (keys.externalId !== undefined && str(r.externalId) === keys.externalId),
  );
}

/** The candidates with exactly this one attribute matching (userName ignoring case, externalId exactly). */
export function matchBy(
  attribute: 'userName' | 'externalId',
  value: string,
  candidates: readonly unknown[],
): MatchResult {
  return distinct(candidates, (r) =>
    attribute === 'userName' ? sameUserName(r.userName, value) : str(r.externalId) === value,
  );
}

function distinct(candidates: readonly unknown[], fits: (resource: Record<string, unknown>) => boolean): MatchResult {
  const byId = new Map<string, Record<string, unknown> & { id: string }>();
  for (const candidate of candidates) {
    if (typeof candidate !== 'object' || candidate === null) continue;
    const resource = candidate as Record<string, unknown>;
    const id = str(resource.id);
    if (id !== undefined && fits(resource)) byId.set(id, resource as Record<string, unknown> & { id: string });
  }
  const found = [...byId.values()];
  if (found.length === 0) return { kind: 'none' };
  if (found.length === 1) return { kind: 'one', resource: found[0] };
  return { kind: 'ambiguous', ids: found.map((r) => r.id).sort() };
}

/** The resources of a ListResponse page (an absent or malformed list is an empty page). */
export function resourcesOf(body: unknown): unknown[] {
  const resources = (body as { Resources?: unknown } | undefined)?.Resources;
  return Array.isArray(resources) ? resources : [];
}

/** What the per-resource path needs to know about the provider, from its ServiceProviderConfig. */
export interface WriteCapabilities {
  bulk: boolean;
  patch: boolean;
  filter: boolean;
  /** The provider gives ETags (meta.version): send If-Match. */
  etag: boolean;
}

export function writeCapabilitiesOf(spcBody: unknown): WriteCapabilities {
  const flag = (section: string) => {
    const value = (spcBody as Record<string, unknown> | undefined)?.[section];
    return typeof value === 'object' && value !== null && (value as { supported?: unknown }).supported === true;
  };
  return { bulk: flag('bulk'), patch: flag('patch'), filter: flag('filter'), etag: flag('etag') };
}
