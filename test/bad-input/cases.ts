// The shape of a bad-input case, and the helpers that write their inputs.

/** One row of the table: what is run, how it must end, and what it must say. */
export interface Case {
  name: string;
  /** Input files by name, given the row's userName prefix `p` (every user of the row is `p.…@example.com`). */
  files?: (p: string) => Record<string, string | Buffer | object>;
  /** `cxone-scim` arguments; `f(name)` is the path of one of the row's files (`mapping.json` always exists). */
  args: (f: (name: string) => string) => string[];
  /** The CLI's environment, when the row needs one (default: the sandbox as the default tenant). */
  env?: (f: (name: string) => string) => NodeJS.ProcessEnv;
  /** The exit code (0 done, 1 error, 2 partial, 3 drift). */
  exit: 0 | 1 | 2 | 3;
  /** Must appear in what the command printed: it names the field or the line, and the reason. */
  says: RegExp;
  /** Users of the row's prefix that must exist afterwards: the valid records of the same input. */
  provisioned?: number;
  /** Where `provisioned` is counted: the CXone sandbox (default) or the independent SCIM server. */
  server?: 'sandbox' | 'scim2';
}

/** The mapping every source row uses unless it brings its own. */
export const MAPPING = {
  attributes: {
    userName: { source: 'email', transform: ['trim', 'lowercase'] },
    'name.givenName': 'first',
    'name.familyName': 'last',
    displayName: { source: ['first', 'last'], join: ' ' },
    'emails[type eq "work"].value': { source: 'email', transform: ['trim', 'lowercase'] },
    'emails[type eq "work"].primary': { constant: true },
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department': 'dept',
  },
};

export const HEADER = 'email,first,last,dept';

/** A valid CSV row for MAPPING. */
export const row = (p: string, i: number, dept = 'Sales') => `${p}.u${i}@example.com,Given${i},Family${i},${dept}`;

/** A CSV file: the header, then `lines` (line 1 is the header, so lines[0] is line 2). */
export const csv = (...lines: string[]) => [HEADER, ...lines].join('\n') + '\n';

export const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** A valid SCIM User for inline JSON / NDJSON sources. */
export const user = (p: string, i: number, extra: Record<string, unknown> = {}) => ({
  schemas: [CORE],
  userName: `${p}.u${i}@example.com`,
  name: { givenName: `Given${i}`, familyName: `Family${i}` },
  emails: [{ value: `${p}.u${i}@example.com`, type: 'work', primary: true }],
  active: true,
  ...extra,
});

export const ndjson = (...records: unknown[]) => records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

/** `provision <file> --mapping mapping.json` for a CSV named users.csv. */
export const provisionCsv = (...extra: string[]) => (f: (name: string) => string) => ['provision', f('users.csv'), '--mapping', f('mapping.json'), ...extra];
export const provisionFile = (name: string, ...extra: string[]) => (f: (name: string) => string) => ['provision', f(name), ...extra];
