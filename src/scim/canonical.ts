/**
 * Canonical JSON: object keys sorted, no insignificant white space, `undefined` members dropped.
 * Two documents that mean the same serialize to the same string, so their SHA-256 (computed in
 * activities) and their diff (computed in workflows) are stable. Pure: safe in workflow code.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) sorted[key] = sortKeys(member);
    }
    return sorted;
  }
  return value;
}
