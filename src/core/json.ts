// The one way to read JSON that comes from outside the process: source files, mapping and tenant
// files, webhook bodies, stored plans, provider answers.
//
// JSON.parse turns a "__proto__" member into an ordinary own property. Code that later copies
// objects key by key (`target[key] = value`, Object.assign, io-ts's intersection merge) sets the
// copy's prototype instead, so the member vanishes from every check that lists keys while the
// original object still carries it to the provider. "constructor" and "prototype" are found on
// every object by `in`, `obj[key] ??= …` and friends. None of the three names a SCIM attribute,
// a mapping rule or a setting, so they are refused wherever they appear, each named by JSON path.

/** One problem in a document, e.g. `{ path: '$.emails[0].value', message: 'expected string, got number 42' }`. */
export interface DecodeIssue {
  path: string;
  message: string;
}

/** `$.a: message; $.b[0]: message`, for error messages. */
export function formatIssues(issues: readonly DecodeIssue[]): string {
  return issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
}

/** Keys refused at any depth of untrusted JSON. */
export const REFUSED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export function isRefusedKey(key: string): boolean {
  return REFUSED_KEYS.has(key);
}

/** Why a refused key is refused, for messages. */
export function refusedKeyMessage(key: string): string {
  return `${JSON.stringify(key)} is refused as a name (__proto__, constructor and prototype are JavaScript object internals, not data: no SCIM attribute, column, mapping rule or setting may be called so)`;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** One step of a JSON path: `.name`, or `["odd key"]` when the key is not an identifier. */
export function propertySegment(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * Every own key (Object.keys, so a parsed "__proto__" member too) named __proto__, constructor or
 * prototype, at any depth of `value`, with its JSON path from `root` (`''`: attribute paths
 * such as `name.__proto__`, as SCIM validation names them). Empty for clean input.
 */
export function refusedKeyIssues(value: unknown, root = '$'): DecodeIssue[] {
  const issues: DecodeIssue[] = [];
  const seen = new Set<object>();
  const walk = (node: unknown, path: string) => {
    if (typeof node !== 'object' || node === null || seen.has(node)) return;
    seen.add(node);
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, `${path}[${i}]`));
      return;
    }
    for (const key of Object.keys(node)) {
      const at = path === '' ? key : path + propertySegment(key);
      if (isRefusedKey(key)) issues.push({ path: at, message: refusedKeyMessage(key) });
      else walk((node as Record<string, unknown>)[key], at);
    }
  };
  walk(value, root);
  return issues;
}

/** Untrusted JSON that cannot be used: not JSON (with where it stops being JSON), or holding refused keys. */
export class JsonInputError extends Error {
  constructor(
    message: string,
    /** One per problem; a syntax error is one issue at `$`. */
    readonly issues: DecodeIssue[],
    /** Set for a syntax error: where (1-based) and JSON.parse's own words. */
    readonly syntax?: { line: number; column: number; reason: string },
  ) {
    super(message);
    this.name = 'JsonInputError';
  }
}

/**
 * JSON.parse, with a syntax error's position given as line and column (what an editor shows):
 * `not valid JSON at line 4, column 3: Expected double-quoted property name …`.
 */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message);
    const offset = at ? Number(at[1]) : text.length;
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    const where = at ? `at line ${line}, column ${column}` : 'at the end (it stops too soon)';
    throw new JsonInputError(
      `not valid JSON ${where}: ${message}`,
      [{ path: '$', message: `not valid JSON ${where}` }],
      {
        line,
        column,
        reason: message,
      },
    );
  }
}

/** Throws a JsonInputError naming every refused key of `value` (by JSON path); returns `value` otherwise. */
export function refuseUnsafeKeys<T>(value: T, root = '$'): T {
  const issues = refusedKeyIssues(value, root);
  if (issues.length > 0) throw new JsonInputError(formatIssues(issues), issues);
  return value;
}

/** Parses a whole untrusted document: throws a JsonInputError when it is not JSON or holds a refused key anywhere. */
export function parseUntrustedJson(text: string): unknown {
  return refuseUnsafeKeys(parseJson(text));
}
