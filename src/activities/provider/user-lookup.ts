// Finding the provider's user for a source record, verified (src/scim/user-match.ts): by filter
// when the provider supports it, else (or when a filter found nothing but the provider says the
// user exists) by a paged scan of the User endpoint. A record with an externalId is looked up in
// one request, `userName eq "x" or externalId eq "y"`, unless the provider refuses `or` (a 400 or
// 501, remembered per tenant for the worker's life in its TenantDialect): then by userName, then by externalId.
import { ScimHttpError, type ScimClient, type ScimResponse, type TenantDialect } from '../../http';
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

/** The verified match for `keys`: none, one, or ambiguous (an error for the record). */
export async function lookupUser(client: ScimClient, keys: MatchKeys, options: LookupOptions): Promise<MatchResult> {
  if (options.filter) {
    const found = await byFilter(client, keys, options);
    if (found.kind !== 'none' || !options.scanOnMiss) return found;
  }
  return scanFor(client, (candidates) => verifiedMatch(keys, candidates), options);
}
