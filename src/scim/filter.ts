/** A SCIM filter string literal (RFC 7644 §3.4.2.2): quoted, with quotes and backslashes escaped. */
export function filterString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
