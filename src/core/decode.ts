// Decoding with issues a person can act on: a JSON path and what was expected there.
import * as t from 'io-ts';
import { isRight } from 'fp-ts/lib/Either';
import { type DecodeIssue, propertySegment, refusedKeyIssues } from './json';

export { type DecodeIssue, formatIssues } from './json';

export type DecodeResult<A> = { ok: true; value: A } | { ok: false; errors: DecodeIssue[] };

/**
 * Decodes `value` with `codec`; on failure, reports one issue per offending JSON path. A key
 * __proto__, constructor or prototype anywhere in `value` fails the decoding whatever the codec
 * says (io-ts lists keys with `for…in` and copies them by assignment, which turns a parsed
 * "__proto__" member into a prototype): see json.ts.
 */
export function decode<A>(codec: t.Decoder<unknown, A>, value: unknown): DecodeResult<A> {
  const refused = refusedKeyIssues(value);
  const result = codec.decode(value);
  if (isRight(result)) return refused.length === 0 ? { ok: true, value: result.right } : { ok: false, errors: refused };
  return { ok: false, errors: [...refused, ...toIssues(result.left)] };
}

function toIssues(errors: t.Errors): DecodeIssue[] {
  // A union reports a failure per member at the same path; the first one says it all, because
  // the message describes the codec at that path (the union), not the member that failed.
  const byPath = new Map<string, DecodeIssue>();
  for (const error of errors) {
    const issue = toIssue(error);
    if (!byPath.has(issue.path)) byPath.set(issue.path, issue);
  }
  return [...byPath.values()];
}

function toIssue(error: t.ValidationError): DecodeIssue {
  const { path, entry } = locate(error.context);
  if (error.message !== undefined) return { path, message: error.message };
  if (error.value === undefined) return { path, message: 'required attribute is missing' };
  const found = describeFound(error.value, SECRET_ATTRIBUTES.has(entry.key.toLowerCase()));
  return { path, message: `expected ${describeExpected(entry.type)}, got ${found}` };
}

/**
 * The JSON path of a validation context, and the outermost context entry at that path (which
 * holds the codec to describe). Intersections and unions validate each member under an index
 * key ("0", "1", …) that is not in the document: those entries are skipped.
 */
function locate(context: t.Context): { path: string; entry: t.ContextEntry } {
  let path = '$';
  let entry = context[0];
  for (let i = 1; i < context.length; i++) {
    const parent = context[i - 1];
    if (validatesMembers(parent.type)) continue;
    path += Array.isArray(parent.actual) ? `[${context[i].key}]` : propertySegment(context[i].key);
    entry = context[i];
  }
  return { path, entry };
}

function validatesMembers(type: t.Decoder<unknown, unknown>): boolean {
  const codec = unwrap(type);
  return codec instanceof t.IntersectionType || codec instanceof t.UnionType;
}

/** The codec that does the work for wrappers that add no context entry of their own. */
function unwrap(type: t.Decoder<unknown, unknown>): t.Decoder<unknown, unknown> {
  let codec = type;
  while (
    codec instanceof t.RecursiveType ||
    codec instanceof t.RefinementType ||
    codec instanceof t.ExactType ||
    codec instanceof t.ReadonlyType
  ) {
    codec = codec.type;
  }
  return codec;
}

function describeExpected(type: t.Decoder<unknown, unknown>): string {
  if (type instanceof t.RefinementType) return type.name; // e.g. io-ts's "Int"
  const codec = unwrap(type);
  if (
    codec instanceof t.InterfaceType ||
    codec instanceof t.PartialType ||
    codec instanceof t.DictionaryType ||
    codec instanceof t.AnyDictionaryType
  ) {
    return 'object';
  }
  if (codec instanceof t.ArrayType || codec instanceof t.AnyArrayType) return 'array';
  if (codec instanceof t.UnionType || codec instanceof t.IntersectionType) {
    const members = [...new Set(codec.types.map((member: t.Mixed) => describeExpected(member)))];
    return members.join(codec instanceof t.UnionType ? ' or ' : ' and ');
  }
  if (codec instanceof t.KeyofType) return `one of ${Object.keys(codec.keys).map(quote).join(', ')}`;
  if (codec instanceof t.LiteralType) return JSON.stringify(codec.value);
  return codec.name;
}

/** Attributes whose values must not appear in messages (they end up in workflow history). */
const SECRET_ATTRIBUTES = new Set(['password']);

function describeFound(value: unknown, secret: boolean): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'empty array' : 'array';
  if (typeof value === 'object') return 'object';
  if (secret) return `${typeof value} (value hidden)`;
  if (value === '') return 'empty string';
  if (typeof value === 'string') return `string ${quote(value)}`;
  return `${typeof value} ${String(value)}`;
}

const MAX_QUOTED = 40;

function quote(text: string): string {
  return JSON.stringify(text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED - 1)}…` : text);
}
