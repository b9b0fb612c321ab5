// Finding the provider's user for a source record, verified (src/scim/user-match.ts): by filter
// when the provider supports it, else (or when a filter found nothing but the provider says the
// user exists) by a paged scan of the User endpoint. A record with an externalId is looked up in
// one request, `userName eq "x" or externalId eq "y"`, unless the provider refuses `or` (a 400 or
// 501, remembered per tenant for the worker's life in its TenantDialect): then by userName, then by externalId.
// A mapping's matchOn replaces those two keys: its pairs are tried in turn (lookupByAttribute), the
// first that finds a user deciding. lookupByAttribute also serves SelectUniqueValue's candidates and
// manager references: any attribute path, one `eq` filter, the answer verified here.
import { ScimHttpError, type ScimClient, type ScimResponse, type TenantDialect } from '../../http';
import { parseTargetPath, readPath, writesListElement, type TargetPath } from '../../scim/attribute-path';
import { filterString } from '../../scim/filter';
import { resourcesOf, verifiedMatch, type MatchKeys, type MatchResult } from '../../scim/user-match';

/** Page size of a scan (the provider may return fewer: filter.maxResults). */
const SCAN_PAGE = 100;
/** A provider that never returns an empty page must not keep a scan going forever. */
const SCAN_MAX_PAGES = 10_000;

export interface LookupOptions {
  endpoint: string;
  /** ServiceProviderConfig filter.supported. */
  filter: boolean;
  /** Scan when the filter found nothing (after a 409 says the user exists). */
  scanOnMiss?: boolean;
  /** Wraps every request (e.g. retries until the run's deadline, or records it). */
  call: (request: () => Promise<ScimResponse>) => Promise<Pick<ScimResponse, 'body'>>;
  /** What is known of the tenant's filter support (`or`); without it, one lookup per key. */
  dialect?: TenantDialect;
  /**
   * The record's matchOn pairs, [provider attribute, the record's value], tried in turn instead of
   * userName and externalId (docs/mappings.md "Matching").
   */
  matchOn?: ReadonlyArray<readonly [string, string]>;
}

/** A filter the provider does not understand: RFC 7644 says 400 invalidFilter; some answer 400 without scimType, or 501. */
const refusedFilter = (err: unknown) => err instanceof ScimHttpError && (err.status === 400 || err.status === 501);

async function byFilter(client: ScimClient, keys: MatchKeys, options: LookupOptions): Promise<MatchResult> {
  const ask = (expression: string) =>
    options
      .call(() => client.get(options.endpoint, { query: { filter: expression } }))
      .then((r) => resourcesOf(r.body));
  const { dialect } = options;
  let refused = false;
  if (keys.externalId !== undefined && dialect?.or) {
    try {
      // Both keys at once: a user matching either is a candidate, two different ones are ambiguous.
      return verifiedMatch(
        keys,
        await ask(`userName eq ${filterString(keys.userName)} or externalId eq ${filterString(keys.externalId)}`),
      );
    } catch (err) {
      if (!refusedFilter(err)) throw err;
      refused = true;
    }
  }
  const candidates = await ask(`userName eq ${filterString(keys.userName)}`);
  // Refused with `or` but answered without it: the provider does not take `or` (rather than this record's value).
  if (refused && dialect) dialect.or = false;
  const byName = verifiedMatch(keys, candidates);
  if (byName.kind !== 'none' || keys.externalId === undefined) return byName;
  return verifiedMatch(keys, await ask(`externalId eq ${filterString(keys.externalId)}`));
}

/** Every page from startIndex 1 until an empty one; `match` verifies (and deduplicates by id) the candidates. */
export async function scanFor(
  client: ScimClient,
  match: (candidates: readonly unknown[]) => MatchResult,
  options: Pick<LookupOptions, 'endpoint' | 'call'>,
): Promise<MatchResult> {
  const candidates: unknown[] = [];
  let startIndex = 1;
  for (let page = 0; page < SCAN_MAX_PAGES; page++) {
    const response = await options.call(() =>
      client.get(options.endpoint, { query: { startIndex, count: SCAN_PAGE } }),
    );
    const resources = resourcesOf(response.body);
    if (resources.length === 0) break;
    const verified = match(resources);
    if (verified.kind === 'one') candidates.push(verified.resource);
    if (verified.kind === 'ambiguous') return verified;
    startIndex += resources.length;
    const total = (response.body as { totalResults?: unknown } | undefined)?.totalResults;
    if (typeof total === 'number' && startIndex > total) break;
  }
  return match(candidates);
}

/** The verified match for `keys` (or the options' matchOn pairs): none, one, or ambiguous (an error for the record). */
export async function lookupUser(client: ScimClient, keys: MatchKeys, options: LookupOptions): Promise<MatchResult> {
  if (options.matchOn && options.matchOn.length > 0) {
    for (const [attribute, value] of options.matchOn) {
      const found = await lookupByAttribute(client, attribute, value, options);
      if (found.kind !== 'none') return found;
    }
    return { kind: 'none' };
  }
  if (options.filter) {
    const found = await byFilter(client, keys, options);
    if (found.kind !== 'none' || !options.scanOnMiss) return found;
  }
  return scanFor(client, (candidates) => verifiedMatch(keys, candidates), options);
}

/** How an attribute path is compared: userName ignoring case (RFC 7643 §4.1.1), the others exactly unless `ignoreCase`. */
function sameValue(attribute: TargetPath, found: unknown, value: string, ignoreCase: boolean): boolean {
  if (typeof found !== 'string' && typeof found !== 'number') return false;
  const text = String(found);
  return ignoreCase || (!attribute.extension && attribute.attribute.toLowerCase() === 'username')
    ? text.toLowerCase() === value.toLowerCase()
    : text === value;
}

/** The attribute as a filter names it: `emails.value` for `emails[type eq "work"].value` (the answer is verified by the full path). */
function filterAttribute(path: TargetPath): string {
  const name = writesListElement(path)
    ? `${path.attribute}.${path.sub ?? 'value'}`
    : path.sub
      ? `${path.attribute}.${path.sub}`
      : path.attribute;
  return path.extension ? `${path.extension}:${name}` : name;
}

/** The candidates whose value at `path` is `value`, deduplicated by id. */
function verifiedBy(path: TargetPath, value: string, ignoreCase: boolean, candidates: readonly unknown[]): MatchResult {
  const byId = new Map<string, Record<string, unknown> & { id: string }>();
  for (const candidate of candidates) {
    if (typeof candidate !== 'object' || candidate === null) continue;
    const resource = candidate as Record<string, unknown>;
    if (typeof resource.id === 'string' && sameValue(path, readPath(resource, path), value, ignoreCase))
      byId.set(resource.id, resource as Record<string, unknown> & { id: string });
  }
  const found = [...byId.values()];
  if (found.length === 0) return { kind: 'none' };
  if (found.length === 1) return { kind: 'one', resource: found[0] };
  return { kind: 'ambiguous', ids: found.map((r) => r.id).sort() };
}

/**
 * The provider's users whose `attribute` (a mapping's target path: `externalId`,
 * `emails[type eq "work"].value`, `urn:…:User:employeeNumber`) is `value`: one `eq` filter, its
 * answer verified (never trusted: some providers ignore filters or compare differently), or a
 * scan when the provider has no filter, refuses this one (400, 501), or (`scanOnMiss`) finds nothing.
 */
export async function lookupByAttribute(
  client: ScimClient,
  attribute: string,
  value: string,
  options: Pick<LookupOptions, 'endpoint' | 'call' | 'filter' | 'scanOnMiss'> & { ignoreCase?: boolean },
): Promise<MatchResult> {
  const path = parseTargetPath(attribute);
  if (!path) throw new Error(`lookupByAttribute: ${JSON.stringify(attribute)} is not an attribute path`);
  const verify = (candidates: readonly unknown[]) => verifiedBy(path, value, options.ignoreCase === true, candidates);
  if (options.filter) {
    try {
      const response = await options.call(() =>
        client.get(options.endpoint, { query: { filter: `${filterAttribute(path)} eq ${filterString(value)}` } }),
      );
      const found = verify(resourcesOf(response.body));
      if (found.kind !== 'none' || !options.scanOnMiss) return found;
    } catch (err) {
      if (!refusedFilter(err)) throw err;
    }
  }
  return scanFor(client, verify, options);
}
