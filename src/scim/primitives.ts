// Small codec building blocks for the SCIM model. Their names are what a decode issue reports as
// "expected …", so they are written for people ("non-empty string"), not for the compiler.
import * as t from 'io-ts';
import { isRight } from 'fp-ts/lib/Either';

/**
 * The values of `codec` that also satisfy `predicate`. Unlike `t.brand`, the decoded type stays
 * plain (`string`, `number`), so callers can build values without casts.
 */
export function refine<C extends t.Mixed>(
  codec: C,
  name: string,
  predicate: (value: t.TypeOf<C>) => boolean,
): t.Type<t.TypeOf<C>, t.OutputOf<C>, unknown> {
  return new t.Type<t.TypeOf<C>, t.OutputOf<C>, unknown>(
    name,
    (u): u is t.TypeOf<C> => codec.is(u) && predicate(u),
    (u, context) => {
      const result = codec.validate(u, context);
      return isRight(result) && !predicate(result.right) ? t.failure(u, context) : result;
    },
    (value) => codec.encode(value),
  );
}

/** A string with at least one non-whitespace character. */
export const NonEmptyString = refine(t.string, 'non-empty string', (s) => s.trim() !== '');

/** A count or size: an integer ≥ 0. */
export const NonNegativeInteger = refine(t.number, 'non-negative integer', (n) => Number.isInteger(n) && n >= 0);

/** An array with at least one element. */
export function nonEmptyArray<C extends t.Mixed>(item: C) {
  return refine(t.array(item), 'non-empty array', (items) => items.length > 0);
}

/**
 * One of `values`, matched in any letter case and decoded to the spelling given here
 * (e.g. Azure AD's PATCH op "Replace" decodes to "replace").
 */
export function caseInsensitiveEnum<V extends string>(values: readonly [V, ...V[]]): t.Type<V, V, unknown> {
  const canonical = new Map<string, V>(values.map((v) => [v.toLowerCase(), v]));
  const listed = values.map((v) => JSON.stringify(v)).join(', ');
  return new t.Type<V, V, unknown>(
    `one of ${listed} (case-insensitive)`,
    (u): u is V => typeof u === 'string' && (values as readonly string[]).includes(u),
    (u, context) => {
      const value = typeof u === 'string' ? canonical.get(u.toLowerCase()) : undefined;
      return value === undefined ? t.failure(u, context) : t.success(value);
    },
    t.identity,
  );
}

/**
 * The optional attributes of an RFC 7643 resource. RFC 7643 §2.5 makes an attribute set to null
 * equivalent to an unassigned one, so null decodes to `undefined` instead of failing.
 */
export function optionalAttributes<P extends t.Props>(props: P): t.PartialC<P> {
  const lenient: t.Props = {};
  for (const [key, codec] of Object.entries(props)) lenient[key] = nullAsUnassigned(codec);
  // The wrapped codecs decode to the same types, except that null becomes undefined, which an
  // optional attribute allows anyway: the PartialC<P> type stays exact.
  return t.partial(lenient) as unknown as t.PartialC<P>;
}

function nullAsUnassigned<C extends t.Mixed>(
  codec: C,
): t.Type<t.TypeOf<C> | undefined, t.OutputOf<C> | undefined, unknown> {
  return new t.Type<t.TypeOf<C> | undefined, t.OutputOf<C> | undefined, unknown>(
    codec.name,
    (u): u is t.TypeOf<C> | undefined => u === undefined || codec.is(u),
    // The inner codec validates in this codec's place in the context, so that decode issues
    // describe what the inner codec expects and this wrapper stays invisible.
    (u, context) =>
      u === null || u === undefined
        ? t.success(undefined)
        : codec.validate(u, [...context.slice(0, -1), { ...context[context.length - 1], type: codec }]),
    (value) => (value === undefined ? undefined : codec.encode(value)),
  );
}
