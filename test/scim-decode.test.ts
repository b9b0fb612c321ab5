// How `decode` turns io-ts errors into issues: paths, messages, de-duplication.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as t from 'io-ts';
import { decode, formatIssues } from '../src/core/decode';
import { NonEmptyString, optionalAttributes } from '../src/scim/primitives';

function issuesOf(codec: t.Decoder<unknown, unknown>, value: unknown) {
  const result = decode(codec, value);
  assert.equal(result.ok, false, 'expected the value to be rejected');
  return result.ok ? [] : result.errors;
}

describe('decode', () => {
  it('returns the decoded value on success', () => {
    assert.deepEqual(decode(t.type({ a: t.number }), { a: 1 }), { ok: true, value: { a: 1 } });
  });

  describe('paths', () => {
    it('leave out the member indexes io-ts adds for intersections', () => {
      const Item = t.intersection([t.type({ id: t.string }), t.partial({ tags: t.array(t.string) })]);
      const Outer = t.intersection([t.type({ items: t.array(Item) }), t.partial({ note: t.string })]);
      assert.deepEqual(issuesOf(Outer, { items: [{ id: 'a' }, { id: 'b', tags: ['x', 3] }], note: 1 }), [
        { path: '$.items[1].tags[1]', message: 'expected string, got number 3' },
        { path: '$.note', message: 'expected string, got number 1' },
      ]);
    });

    it('leave out the member indexes of nested intersections and of unions', () => {
      const Inner = t.intersection([
        t.type({ a: t.string }),
        t.intersection([t.type({ b: t.string }), t.partial({ c: t.string })]),
      ]);
      const Either = t.union([Inner, t.type({ z: t.string })]);
      const paths = issuesOf(t.type({ x: Either }), { x: { a: 'a', b: 2 } }).map((issue) => issue.path);
      assert.deepEqual(paths, ['$.x.b', '$.x.z']);
    });

    it('leave out the member indexes inside recursive codecs', () => {
      interface Node {
        label: string;
        children?: Node[];
      }
      const Node: t.Type<Node> = t.recursion('Node', () =>
        t.intersection([t.type({ label: t.string }), t.partial({ children: t.array(Node) })]),
      );
      assert.deepEqual(issuesOf(Node, { label: 'root', children: [{ label: 'a' }, { label: 'b', children: [{}] }] }), [
        { path: '$.children[1].children[0].label', message: 'required attribute is missing' },
      ]);
    });

    it('use bracket notation for keys that are not identifiers', () => {
      const Codec = t.type({ 'urn:x:y': t.type({ 'two words': t.string, $ref: t.string }) });
      assert.deepEqual(
        issuesOf(Codec, { 'urn:x:y': { 'two words': 1, $ref: 2 } }).map((issue) => issue.path),
        ['$["urn:x:y"]["two words"]', '$["urn:x:y"].$ref'],
      );
    });

    it('name the root $', () => {
      assert.deepEqual(issuesOf(t.string, 5), [{ path: '$', message: 'expected string, got number 5' }]);
    });

    it('see through optionalAttributes', () => {
      const Codec = optionalAttributes({ name: optionalAttributes({ givenName: NonEmptyString }) });
      assert.deepEqual(issuesOf(Codec, { name: { givenName: '' } }), [
        { path: '$.name.givenName', message: 'expected non-empty string, got empty string' },
      ]);
    });
  });

  describe('messages', () => {
    it('report one issue per path: a union is described once, as a whole', () => {
      assert.deepEqual(issuesOf(t.type({ status: t.union([t.string, t.number]) }), { status: true }), [
        { path: '$.status', message: 'expected string or number, got boolean true' },
      ]);
    });

    it('describe an intersection of objects as an object', () => {
      const Codec = t.type({ name: t.intersection([t.type({ a: t.string }), t.partial({ b: t.string })]) });
      assert.deepEqual(issuesOf(Codec, { name: 7 }), [{ path: '$.name', message: 'expected object, got number 7' }]);
    });

    it('describe literals, keyof, named refinements and null', () => {
      assert.deepEqual(issuesOf(t.literal('on'), 'off'), [{ path: '$', message: 'expected "on", got string "off"' }]);
      assert.deepEqual(issuesOf(t.keyof({ a: null, b: null }), 'c'), [
        { path: '$', message: 'expected one of "a", "b", got string "c"' },
      ]);
      assert.deepEqual(issuesOf(t.Int, 1.5), [{ path: '$', message: 'expected Int, got number 1.5' }]);
      assert.deepEqual(issuesOf(t.type({ a: t.null }), { a: 0 }), [
        { path: '$.a', message: 'expected null, got number 0' },
      ]);
    });

    it('say "required attribute is missing" for an absent key', () => {
      assert.deepEqual(issuesOf(t.type({ a: t.string }), {}), [
        { path: '$.a', message: 'required attribute is missing' },
      ]);
    });

    it('shorten long strings', () => {
      const long = 'x'.repeat(100);
      assert.deepEqual(issuesOf(t.number, long), [
        { path: '$', message: `expected number, got string "${'x'.repeat(39)}…"` },
      ]);
    });

    it('never show a password value', () => {
      assert.deepEqual(issuesOf(t.partial({ password: t.string }), { password: 12345678 }), [
        { path: '$.password', message: 'expected string, got number (value hidden)' },
      ]);
    });

    it('use the message a codec gives, when it gives one', () => {
      const Even = new t.Type<number>(
        'Even',
        (u): u is number => typeof u === 'number' && u % 2 === 0,
        (u, c) => (typeof u === 'number' && u % 2 === 0 ? t.success(u) : t.failure(u, c, 'must be an even number')),
        t.identity,
      );
      assert.deepEqual(issuesOf(t.type({ n: Even }), { n: 3 }), [{ path: '$.n', message: 'must be an even number' }]);
    });
  });
});

describe('formatIssues', () => {
  it('joins issues as "path: message"', () => {
    const text = formatIssues([
      { path: '$.userName', message: 'required attribute is missing' },
      { path: '$.emails[0].value', message: 'expected string, got number 42' },
    ]);
    assert.equal(text, '$.userName: required attribute is missing; $.emails[0].value: expected string, got number 42');
  });

  it('is empty for no issues', () => {
    assert.equal(formatIssues([]), '');
  });
});
