// The keys __proto__, constructor and prototype in every untrusted input the table covers: source
// JSON and NDJSON records, CSV headers, mappings, tenant files (and webhook bodies, in
// webhook-cases.ts). JSON.parse makes a "__proto__" member an ordinary own property; before
// src/core/json.ts, validation copied it into a prototype and never saw it, and the record was
// sent. Such a record is now invalid (named, never sent, the others go on); a file around it fails.
import { CORE, csv, HEADER, MAPPING, ndjson, provisionCsv, provisionFile, row, user, type Case } from './cases';

export const REFUSED_KEYS = ['__proto__', 'constructor', 'prototype'] as const;
export type RefusedKey = (typeof REFUSED_KEYS)[number];

/**
 * `value` as JSON text with `key: inner` added as its last member. Written as text: an object
 * literal `{ __proto__: … }` would set the prototype, and JSON.stringify would leave it out.
 */
export function withMember(value: object, key: string, inner: unknown): string {
  const text = JSON.stringify(value);
  const empty = text === '{}';
  return `${text.slice(0, -1)}${empty ? '' : ','}${JSON.stringify(key)}:${JSON.stringify(inner)}}`;
}

/** The text of a valid user whose `name` has the member `key`: the key one level down. */
const nestedIn = (p: string, i: number, key: string) => {
  const { name, ...rest } = user(p, i);
  return `${JSON.stringify(rest).slice(0, -1)},"name":${withMember(name, key, { x: 1 })}}`;
};

/** Says which key, where, and why. */
const refused = (path: string, key: RefusedKey) =>
  `${path.replace(/[.[\]$()]/g, '\\$&')}: "${key}" is refused as a name \\(__proto__, constructor and prototype are JavaScript object internals`;

/** How a target path `name.<key>` is refused: a SCIM path never starts a name with "_", so name.__proto__ is not even one. */
const notAName = (key: RefusedKey) =>
  key === '__proto__' ? 'not a SCIM attribute path' : `"${key}" is refused as a name`;

const sourceCases = (key: RefusedKey): Case[] => [
  {
    name: `NDJSON: a record with a top-level "${key}" member is invalid, never sent; the others go on`,
    files: (p) => ({ 'u.ndjson': ndjson(user(p, 1), withMember(user(p, 2), key, { favouriteColour: 'red' }), user(p, 3)) }),
    args: provisionFile('u.ndjson'),
    exit: 2,
    says: new RegExp(`record 2 \\(line 2\\): ${refused(`$.${key}`, key)}`),
    provisioned: 2,
  },
  {
    name: `NDJSON: "${key}" inside name is found too`,
    files: (p) => ({ 'u.ndjson': ndjson(nestedIn(p, 1, key), user(p, 2)) }),
    args: provisionFile('u.ndjson'),
    exit: 2,
    says: new RegExp(`record 1 \\(line 1\\): ${refused(`$.name.${key}`, key)}`),
    provisioned: 1,
  },
  {
    name: `JSON: a record with a "${key}" member is invalid; the others go on`,
    files: (p) => ({ 'u.json': `[${JSON.stringify(user(p, 1))},${withMember(user(p, 2), key, {})},${JSON.stringify(user(p, 3))}]` }),
    args: provisionFile('u.json'),
    exit: 2,
    says: new RegExp(`record 2: ${refused(`$.${key}`, key)}`),
    provisioned: 2,
  },
  {
    name: `JSON: "${key}" in the document around the records fails the file, naming the path`,
    files: (p) => ({ 'u.json': withMember({ Resources: [user(p, 1)] }, key, { x: 1 }) }),
    args: provisionFile('u.json'),
    exit: 1,
    says: new RegExp(`cannot read .*u\\.json as json: ${refused(`$.${key}`, key)}`),
    provisioned: 0,
  },
  {
    name: `JSON with a mapping: a "${key}" member the mapping does not read still makes the record invalid`,
    files: (p) => ({
      'u.json': `[${withMember({ email: `${p}.u1@example.com`, first: 'A', last: 'B', dept: 'Ops' }, key, 'x')},${JSON.stringify({ email: `${p}.u2@example.com`, first: 'C', last: 'D', dept: 'Ops' })}]`,
    }),
    args: (f) => ['provision', f('u.json'), '--mapping', f('mapping.json')],
    exit: 2,
    says: new RegExp(`record 1: ${refused(`$.${key}`, key)}`),
    provisioned: 1,
  },
  {
    name: `CSV: a header column named "${key}" fails the file before anything is sent`,
    files: (p) => ({ 'users.csv': `${HEADER},${key}\n${row(p, 1)},x\n` }),
    args: provisionCsv(),
    exit: 1,
    says: new RegExp(`cannot read .*users\\.csv as csv: line 1: column 5 of the header: "${key}" is refused as a name`),
    provisioned: 0,
  },
  {
    name: `CSV without a mapping: a header column "name.${key}" is not a SCIM path it will write`,
    files: (p) => ({ 'users.csv': `userName,name.${key}\n${p}.u1@example.com,x\n` }),
    args: provisionFile('users.csv'),
    exit: 1,
    says: new RegExp(`the CSV header is not a list of SCIM paths: name\\.${key}: ${notAName(key)}`),
    provisioned: 0,
  },
  {
    name: `mapping: a "${key}" key in the attributes names the file and the path`,
    files: (p) => ({ 'users.csv': csv(row(p, 1)), 'm.json': `{"attributes":${withMember(MAPPING.attributes, key, 'email')}}` }),
    args: (f) => ['provision', f('users.csv'), '--mapping', f('m.json')],
    exit: 1,
    // With the lead's diff to src/cli/context.ts, readJsonFile refuses the key before the mapping is compiled.
    says: new RegExp(`--mapping .*m\\.json: (the attribute mapping is invalid: )?${refused(`$.attributes.${key}`, key)}`),
    provisioned: 0,
  },
  {
    name: `mapping: "${key}" inside a rule, and at the top`,
    files: (p) => ({
      'users.csv': csv(row(p, 1)),
      'm.json': withMember({ attributes: JSON.parse(`{"userName":${withMember({ source: 'email' }, key, {})}}`) }, key, 1),
    }),
    args: (f) => ['provision', f('users.csv'), '--mapping', f('m.json')],
    exit: 1,
    says: new RegExp(`${refused(`$.attributes.userName.${key}`, key)}[^\\n]*; ${refused(`$.${key}`, key)}`),
    provisioned: 0,
  },
  {
    name: `mapping: a target or a source path through "${key}" (name.${key}, ${key}.x) is refused`,
    files: (p) => ({ 'users.csv': csv(row(p, 1)), 'm.json': { attributes: { ...MAPPING.attributes, [`name.${key}`]: 'first', title: `${key}.x` } } }),
    args: (f) => ['provision', f('users.csv'), '--mapping', f('m.json')],
    exit: 1,
    says: new RegExp(`name\\.${key}: ${notAName(key)}[^\\n]*; title: "${key}" is refused as a name`),
    provisioned: 0,
  },
];

/**
 * Tenant files. These rows pass with the tree as it is (readTenantFile decodes with core/decode,
 * which refuses the keys) and with the lead's diff to src/config/tenants.ts that reads the file
 * with parseUntrustedJson (same message; a syntax error then names line and column).
 */
const tenantFileCases = (key: RefusedKey): Case[] => {
  const entry = { id: 'acme', baseUrl: 'https://acme.example.com', auth: 'bearer', tokenEnv: 'ACME_TOKEN' };
  return [
    {
      name: `tenant file [tenants.ts diff]: a "${key}" member in a tenant fails to load, naming the file and the path`,
      files: () => ({ 'tenants.json': `{"tenants":[${withMember(entry, key, { x: 1 })}]}` }),
      env: (f) => ({ CXONE_TENANTS_FILE: f('tenants.json'), ACME_TOKEN: 't' }),
      args: () => ['tenants', 'check'],
      exit: 1,
      says: new RegExp(`tenant file .*tenants\\.json is invalid:\\n${refused(`$.tenants[0].${key}`, key)}`),
    },
    {
      name: `tenant file [tenants.ts diff]: "${key}" at the top and in webhookSignature`,
      files: () => ({ 'tenants.json': withMember({ tenants: [{ ...entry, webhookSignature: JSON.parse(withMember({ preset: 'cxone' }, key, {})) }] }, key, []) }),
      env: (f) => ({ CXONE_TENANTS_FILE: f('tenants.json'), ACME_TOKEN: 't' }),
      args: () => ['tenants', 'check'],
      exit: 1,
      says: new RegExp(`${refused(`$.tenants[0].webhookSignature.${key}`, key)}[\\s\\S]*${refused(`$.${key}`, key)}|${refused(`$.${key}`, key)}[\\s\\S]*${refused(`$.tenants[0].webhookSignature.${key}`, key)}`),
    },
  ];
};

export const REFUSED_KEY_CASES: Case[] = REFUSED_KEYS.flatMap((key) => [...sourceCases(key), ...tenantFileCases(key)]);

/** A valid record still goes through with a member that merely contains such a word. */
export const LOOKALIKE_CASE: Case = {
  name: 'NDJSON: the words as values (displayName "constructor", title "__proto__") are fine',
  files: (p) => ({ 'u.ndjson': ndjson(user(p, 1, { displayName: 'constructor', schemas: [CORE] }), user(p, 2, { title: '__proto__' })) }),
  args: provisionFile('u.ndjson'),
  exit: 0,
  says: /2 created/,
  provisioned: 2,
};
