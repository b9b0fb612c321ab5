// Untrusted JSON: src/core/json.ts, and the places that read untrusted objects through it (decode,
// validateUser, the attribute mapping, source records). The finding it answers: a source record
// with a "__proto__" member passed validation (which refuses favouriteColour) and was sent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as t from 'io-ts';
import { enterpriseUserSchema, userSchema } from 'cxone-sandbox';
import { mapRecord } from '../src/activities/sources/user-source';
import { decode } from '../src/core/decode';
import { JsonInputError, parseJson, parseUntrustedJson, refusedKeyIssues } from '../src/core/json';
import { applyMapping, compileMapping } from '../src/mapping/mapping';
import { optionalAttributes } from '../src/scim/primitives';
import { userSchemaModel, validateUser } from '../src/scim/user-validation';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const WHY =
  /^"(__proto__|constructor|prototype)" is refused as a name \(__proto__, constructor and prototype are JavaScript object internals, not data/;

const model = (() => {
  const types = {
    Resources: [
      {
        id: 'User',
        name: 'User',
        endpoint: '/Users',
        schema: CORE,
        schemaExtensions: [{ schema: ENTERPRISE, required: false }],
      },
    ],
  };
  const built = userSchemaModel(types, { Resources: [userSchema, enterpriseUserSchema] });
  assert.ok(built.ok);
  return built.model;
})();

const USER = `"schemas":["${CORE}"],"userName":"ada@example.com"`;

describe('parseJson', () => {
  it('names the line and column where a document stops being JSON', () => {
    const text = '{\n  "attributes": {\n    "userName": "email",\n  }\n}\n';
    assert.throws(
      () => parseJson(text),
      (err: unknown) => {
        assert.ok(err instanceof JsonInputError);
        assert.deepEqual(err.syntax && { line: err.syntax.line, column: err.syntax.column }, { line: 4, column: 3 });
        assert.match(err.message, /^not valid JSON at line 4, column 3: /);
        assert.deepEqual(err.issues, [{ path: '$', message: 'not valid JSON at line 4, column 3' }]);
        return true;
      },
    );
    assert.throws(() => parseJson('[1,'), /^JsonInputError: not valid JSON at the end \(it stops too soon\)/);
  });

  it('leaves a "__proto__" member an own property (which is why it must be looked for)', () => {
    const value = parseJson(`{${USER},"__proto__":{"favouriteColour":"red"}}`) as Record<string, unknown>;
    assert.ok(Object.hasOwn(value, '__proto__'));
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.keys(value), ['schemas', 'userName', '__proto__']);
  });
});

describe('refusedKeyIssues', () => {
  it('finds __proto__, constructor and prototype at any depth, in arrays too, each by JSON path', () => {
    const value = parseJson(
      '{"a":{"__proto__":{"x":1}},"list":[{"ok":1},{"constructor":2}],"prototype":[],"odd key":{"__proto__":null}}',
    );
    assert.deepEqual(
      refusedKeyIssues(value).map((issue) => issue.path),
      ['$.a.__proto__', '$.list[1].constructor', '$.prototype', '$["odd key"].__proto__'],
    );
    for (const issue of refusedKeyIssues(value)) assert.match(issue.message, WHY);
  });

  it('is empty for clean input, and for the words as values or inside longer keys', () => {
    assert.deepEqual(
      refusedKeyIssues(parseJson('{"a":"__proto__","b":["constructor"],"proto":1,"my_prototype":2,"Constructor":3}')),
      [],
    );
    assert.deepEqual(refusedKeyIssues('text'), []);
    assert.deepEqual(refusedKeyIssues(null), []);
  });

  it('names paths as SCIM validation does with an empty root', () => {
    assert.deepEqual(
      refusedKeyIssues(parseJson('{"__proto__":1,"name":{"constructor":2}}'), '').map((issue) => issue.path),
      ['__proto__', 'name.constructor'],
    );
  });
});

describe('parseUntrustedJson', () => {
  it('refuses a document holding a refused key anywhere, naming every one', () => {
    assert.throws(
      () => parseUntrustedJson('{"tenants":[{"id":"a","__proto__":{}}],"prototype":1}'),
      (err: unknown) => {
        assert.ok(err instanceof JsonInputError);
        assert.equal(err.syntax, undefined);
        assert.deepEqual(
          err.issues.map((issue) => issue.path),
          ['$.tenants[0].__proto__', '$.prototype'],
        );
        assert.match(
          err.message,
          /^\$\.tenants\[0\]\.__proto__: "__proto__" is refused as a name .*; \$\.prototype: "prototype" is refused/,
        );
        return true;
      },
    );
  });

  it('returns clean documents as JSON.parse does', () => {
    assert.deepEqual(parseUntrustedJson('{"a":[1,{"b":null}]}'), { a: [1, { b: null }] });
  });
});

describe('decode refuses the keys whatever the codec says', () => {
  it('an io-ts intersection would turn a parsed __proto__ member into the prototype of its copy', () => {
    // What decode guards against: a member that decodes to another value (null → unassigned) makes
    // io-ts merge a copy, key by key with assignment, and "__proto__" becomes the copy's prototype.
    const codec = t.intersection([t.type({ a: t.string }), optionalAttributes({ b: t.string })]);
    const parsed = parseJson('{"a":"x","b":null,"__proto__":{"polluted":true}}');
    const merged = codec.decode(parsed);
    assert.ok(merged._tag === 'Right');
    assert.equal(Object.hasOwn(merged.right, '__proto__'), false);
    assert.deepEqual(Object.getPrototypeOf(merged.right), { polluted: true });
    assert.deepEqual(decode(codec, parsed), {
      ok: false,
      errors: [{ path: '$.__proto__', message: refusedKeyIssues(parsed)[0].message }],
    });
  });

  it('reports refused keys first, then what the codec found', () => {
    const result = decode(t.type({ a: t.string, rest: t.unknown }), parseJson('{"a":1,"rest":{"constructor":{}}}'));
    assert.equal(result.ok, false);
    assert.deepEqual(result.ok ? [] : result.errors.map((issue) => issue.path), ['$.rest.constructor', '$.a']);
  });

  it('a clean value decodes as before', () => {
    assert.deepEqual(decode(t.type({ a: t.string }), { a: 'x' }), { ok: true, value: { a: 'x' } });
  });
});

describe('validateUser looks at every own key', () => {
  it('refuses a top-level "__proto__" member, as it refuses favouriteColour (the finding)', () => {
    const proto = validateUser(model, parseJson(`{${USER},"__proto__":{"favouriteColour":"red"}}`));
    assert.equal(proto.length, 1, proto.join('\n'));
    assert.match(proto[0], /^__proto__: "__proto__" is refused as a name/);
    assert.deepEqual(validateUser(model, parseJson(`{${USER},"favouriteColour":"red"}`)), [
      'favouriteColour: is not an attribute of the schema',
    ]);
  });

  it('refuses constructor and prototype, top-level, nested and in an extension, once each', () => {
    const reasons = validateUser(
      model,
      parseJson(
        `{"schemas":["${CORE}","${ENTERPRISE}"],"userName":"ada@example.com","constructor":{},"name":{"givenName":"A","prototype":"x"},"${ENTERPRISE}":{"department":"Ops","__proto__":{}}}`,
      ),
    );
    assert.deepEqual(
      reasons.map((reason) => reason.slice(0, reason.indexOf(': '))),
      ['constructor', 'name.prototype', `${ENTERPRISE}.__proto__`],
    );
  });

  it('still accepts a clean user', () => {
    assert.deepEqual(validateUser(model, parseJson(`{${USER},"name":{"givenName":"A"}}`)), []);
  });
});

describe('source records and the attribute mapping', () => {
  it('a source record with a refused key is an invalid record, with or without a mapping', () => {
    const record = parseJson('{"email":"ada@example.com","__proto__":{"x":1}}');
    const compiled = compileMapping({ attributes: { userName: 'email' } });
    assert.ok(compiled.ok);
    const expected = { problems: [`$.__proto__: ${refusedKeyIssues(record)[0].message}`] };
    assert.deepEqual(mapRecord(record, compiled.mapping), expected);
    assert.deepEqual(mapRecord(record, undefined), expected);
  });

  it('a mapping document, target or source through a refused name does not compile', () => {
    const inDocument = compileMapping(parseJson('{"attributes":{"userName":"email","constructor":"x"}}'));
    assert.equal(inDocument.ok, false);
    assert.match(
      inDocument.ok ? '' : inDocument.problems.join('\n'),
      /^\$\.attributes\.constructor: "constructor" is refused/,
    );
    const paths = compileMapping({
      attributes: { userName: 'email', 'constructor.name': 'first', title: 'profile.__proto__.x' },
    });
    assert.deepEqual(paths.ok ? [] : paths.problems.map((problem) => problem.slice(0, problem.indexOf(': '))), [
      'constructor.name',
      'title',
    ]);
  });

  it('a mapping reads and writes only own members (never toString, valueOf or hasOwnProperty of Object.prototype)', () => {
    const compiled = compileMapping({
      attributes: { userName: 'email', displayName: 'toString', nickName: 'name.valueOf', 'toString.x': 'email' },
    });
    assert.ok(compiled.ok, compiled.ok ? '' : compiled.problems.join('; '));
    const mapped = applyMapping(compiled.mapping, { email: 'ada@example.com', name: { given: 'A' } });
    assert.ok(mapped.ok);
    assert.deepEqual(mapped.user, {
      schemas: [CORE],
      userName: 'ada@example.com',
      toString: { x: 'ada@example.com' },
    });
    assert.equal(
      (Object.prototype.toString as unknown as { x?: unknown }).x,
      undefined,
      'Object.prototype.toString untouched',
    );
  });
});
