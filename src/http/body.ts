/** A response body as the caller sees it: undefined when empty, parsed when JSON, else the raw text. */
export function parseBody(text: string, contentType: string | null): unknown {
  if (!text) return undefined;
  // application/json, application/scim+json, …; a missing content type is given the benefit of the doubt.
  if (contentType && !/[/+]json\b/i.test(contentType)) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
