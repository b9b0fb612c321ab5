// Bad configuration files, read-only and lenient providers, unknown tenants and bad arguments.
import { csv, provisionCsv, row, type Case } from './cases';

/** The sandbox's ServiceProviderConfig as it starts (server-managed `meta` left out). */
export const SPC = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
  patch: { supported: true },
  bulk: { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 },
  filter: { supported: true, maxResults: 1000 },
  changePassword: { supported: false },
  sort: { supported: false },
  etag: { supported: true },
  authenticationSchemes: [
    {
      type: 'oauthbearertoken',
      name: 'OAuth Bearer Token',
      description: 'OAuth 2.0 client credentials or password grant (access key); send the access token as a Bearer token.',
      specUri: 'https://www.rfc-editor.org/info/rfc6750',
      primary: true,
    },
  ],
};
const scheme = SPC.authenticationSchemes[0];

const configure = (desired: unknown, ...extra: string[]): Pick<Case, 'files' | 'args'> => ({
  files: () => ({ 'spc.json': desired as object }),
  args: (f) => ['configure', f('spc.json'), ...extra],
});

const invalid = (name: string, desired: unknown, says: RegExp, ...extra: string[]): Case => ({ name: `config: ${name}`, ...configure(desired, ...extra), exit: 1, says });

export const CONFIG_CASES: Case[] = [
  invalid('an attribute RFC 7643 does not define', { ...SPC, colour: 'red' }, /\$\.colour: not an RFC 7643 ServiceProviderConfig attribute/),
  invalid('a member bulk does not have', { ...SPC, bulk: { ...SPC.bulk, maxOps: 3 } }, /\$\.bulk\.maxOps: not an attribute of "bulk"/),
  invalid('a member an authentication scheme does not have', { ...SPC, authenticationSchemes: [{ ...scheme, kind: 'x' }] }, /\$\.authenticationSchemes\[0\]\.kind: not an attribute of "authenticationSchemes"/),
  invalid('documentationUri that is not a URI', { ...SPC, documentationUri: 'see the wiki' }, /\$\.documentationUri: "see the wiki" is not an absolute URI/),
  invalid('an http URI without a host', { ...SPC, documentationUri: 'https:/docs' }, /\$\.documentationUri: "https:\/docs" is not an absolute URI/),
  invalid('specUri that is not a URI', { ...SPC, authenticationSchemes: [{ ...scheme, specUri: 'rfc6750' }] }, /\$\.authenticationSchemes\[0\]\.specUri: "rfc6750" is not an absolute URI/),
  invalid('the wrong schema URN', { ...SPC, schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'] }, /\$\.schemas: must contain exactly "urn:ietf:params:scim:schemas:core:2\.0:ServiceProviderConfig"/),
  invalid('a malformed URN in schemas', { ...SPC, schemas: [...SPC.schemas, 'not a urn'] }, /\$\.schemas\[1\]: "not a urn" is not a well-formed SCIM schema URN/),
  invalid('no authentication scheme', { ...SPC, authenticationSchemes: [] }, /\$\.authenticationSchemes: at least one authentication scheme is required/),
  invalid('an authentication scheme without a name', { ...SPC, authenticationSchemes: [{ type: 'oauthbearertoken', description: 'x' }] }, /\$\.authenticationSchemes\[0\]\.name: required attribute is missing/),
  invalid('bulk.maxOperations past the gateway limit', { ...SPC, bulk: { ...SPC.bulk, maxOperations: 9000 } }, /\$\.bulk\.maxOperations: 9000 exceeds the gateway limit of 5000/),
  invalid('filter.maxResults past the gateway limit', { ...SPC, filter: { supported: true, maxResults: 2000 } }, /\$\.filter\.maxResults: 2000 exceeds the gateway limit of 1000/),
  invalid('a lower gateway limit given on the command line', { ...SPC, filter: { supported: true, maxResults: 200 } }, /\$\.filter\.maxResults: 200 exceeds the gateway limit of 100/, '--max-filter-results', '100'),
  invalid('bulk.maxOperations 0 while bulk is supported', { ...SPC, bulk: { ...SPC.bulk, maxOperations: 0 } }, /\$\.bulk\.maxOperations: must be a positive integer, got 0/),
  invalid('bulk.maxOperations negative', { ...SPC, bulk: { ...SPC.bulk, maxOperations: -5 } }, /\$\.bulk\.maxOperations: expected non-negative integer, got number -5/),
  invalid('bulk.maxOperations as a string', { ...SPC, bulk: { ...SPC.bulk, maxOperations: '1000' } }, /\$\.bulk\.maxOperations: expected non-negative integer, got string "1000"/),
  invalid('a required attribute missing', (({ patch: _p, ...rest }) => rest)(SPC), /\$\.patch: required attribute is missing/),
  invalid('a tutorial name next to the RFC name', { ...SPC, bulkConfig: SPC.bulk }, /\$\.bulkConfig: duplicates "bulk"/),
  invalid('schemasSupported', { ...SPC, schemasSupported: ['x'] }, /\$\.schemasSupported: not an RFC 7643 attribute/),
  invalid('a JSON array instead of an object', [SPC], /\$: expected a ServiceProviderConfig JSON object/),
  {
    name: 'config: not JSON (line and column named)',
    files: () => ({ 'spc.json': '{\n  "schemas": [],\n  "patch": {supported: true}\n}\n' }),
    args: (f) => ['configure', f('spc.json')],
    exit: 1,
    says: /desired ServiceProviderConfig: .*spc\.json is not valid JSON at line 3, column 13/,
  },
  {
    name: 'config: the file does not exist',
    args: (f) => ['configure', f('nope.json')],
    exit: 1,
    says: /desired ServiceProviderConfig: cannot read .*nope\.json: ENOENT/,
  },
  {
    name: 'config: a 9 MB file is refused before anything starts',
    ...configure({ ...SPC, documentationUri: `https://example.com/${'x'.repeat(9 * 1024 * 1024)}` }),
    exit: 1,
    says: /desired ServiceProviderConfig: .*spc\.json is 9\.0 MB, more than the 1 MB/,
  },
  { name: 'config: verify, in sync', ...configure(SPC, '--verify'), exit: 0, says: /configure-service-provider-sandbox \(tenant sandbox\): succeeded/ },
  { name: 'config: verify, names in another case (RFC 7643 §2.1)', ...configure((({ etag, ...rest }) => ({ ...rest, ETag: etag }))(SPC), '--verify'), exit: 0, says: /succeeded/ },
  { name: 'config: verify finds drift: exit 3, the attribute named', ...configure({ ...SPC, filter: { supported: true, maxResults: 200 } }, '--verify'), exit: 3, says: /drift: \$\.filter\.maxResults: desired 200, provider has 1000/ },
  {
    name: 'config: bulk.supported false with maxOperations 0 (how servers without Bulk publish it) is valid',
    ...configure({ ...SPC, bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 } }, '--verify'),
    exit: 3,
    says: /drift: \$\.bulk\.supported: desired false, provider has true/,
  },
  {
    name: 'config: a higher gateway limit given on the command line',
    ...configure({ ...SPC, bulk: { ...SPC.bulk, maxOperations: 9000 } }, '--verify', '--max-bulk-operations', '10000'),
    exit: 3,
    says: /drift: \$\.bulk\.maxOperations: desired 9000, provider has 1000/,
  },
  ...(['403', '404', '405', '501'] as const).map(
    (status): Case => ({
      name: `read-only provider: a PUT answered ${status} says so, with the verify-mode advice`,
      ...configure({ ...SPC, filter: { supported: true, maxResults: 321 } }, '--tenant', `ro${status}`),
      exit: 1,
      says: new RegExp(`read-only provider: it refused the PUT to /ServiceProviderConfig \\(HTTP ${status}[\\s\\S]*use verify mode \\(configure --verify\\)`),
    }),
  ),
  {
    name: 'read-only provider: verify mode reports the drift and writes nothing',
    ...configure({ ...SPC, filter: { supported: true, maxResults: 321 } }, '--tenant', 'ro404', '--verify'),
    exit: 3,
    says: /drift: \$\.filter\.maxResults: desired 321, provider has 1000/,
  },
];

export const PROVIDER_CASES: Case[] = [
  {
    name: 'independent server (scim2-server): its 405 to the PUT is a read-only provider',
    ...configure({ ...SPC, sort: { supported: false } }, '--tenant', 'scim2'),
    exit: 1,
    says: /read-only provider: it refused the PUT to \/ServiceProviderConfig \(HTTP 405[\s\S]*configure --verify/,
  },
  {
    name: 'independent server (scim2-server): verify reports each difference',
    ...configure({ ...SPC, sort: { supported: false } }, '--tenant', 'scim2', '--verify'),
    exit: 3,
    says: /drift: \$\.sort\.supported: desired false, provider has true/,
  },
  {
    name: 'independent server (scim2-server): bad rows are named, the valid ones provisioned',
    files: (p) => ({ 'users.csv': csv(row(p, 1), `${p}.u2@example.com,"Given2,Family2,Sales`, row(p, 3), `${p}.u4@example.com,Giv\u0000en4,Family4,Sales`, row(p, 5)) }),
    args: provisionCsv('--tenant', 'scim2'),
    exit: 2,
    says: /line 3: a quoted field opens here and is never closed[\s\S]*\(line 5\)[^\n]*name\.givenName: contains a NUL character/,
    provisioned: 3,
    server: 'scim2',
  },
  {
    name: 'discovery: types in another case and ResourceTypes without schemas are read as the RFC intends',
    files: (p) => ({ 'users.csv': csv(row(p, 1), row(p, 2), row(p, 3)) }),
    args: provisionCsv('--tenant', 'lenient'),
    exit: 0,
    says: /3 created/,
    provisioned: 3,
  },
  {
    name: 'discovery: an attribute it cannot read is dropped with a warning naming it; the run goes on',
    files: (p) => ({ 'users.csv': csv(row(p, 1), row(p, 2)) }),
    args: provisionCsv('--tenant', 'dropping'),
    exit: 0,
    says: /discover Schemas [^\n]*1 warning\(s\): \/Schemas "urn:ietf:params:scim:schemas:core:2\.0:User"\.attributes\[\d+\] "nickName" dropped: \$\.type: expected one of/,
    provisioned: 2,
  },
  {
    name: 'tenant: provisioning an unknown tenant fails at once, naming it',
    files: (p) => ({ 'users.csv': csv(row(p, 1)) }),
    args: provisionCsv('--tenant', 'nope'),
    exit: 1,
    says: /unknown tenant "nope": this worker is configured for sandbox, ro403/,
    provisioned: 0,
  },
  {
    name: 'tenant: configuring an unknown tenant fails at once, naming it',
    ...configure(SPC, '--tenant', 'acme-typo'),
    exit: 1,
    says: /unknown tenant "acme-typo"/,
  },
];

const usage = (name: string, args: string[], says: RegExp): Case => ({ name: `arguments: ${name}`, args: () => args, exit: 1, says });

export const ARGUMENT_CASES: Case[] = [
  usage('provision --output xml', ['provision', 'u.csv', '--output', 'xml'], /option '--output <format>' argument 'xml' is invalid\. Allowed choices are text, json/),
  usage('provision --format xml', ['provision', 'u.csv', '--format', 'xml'], /option '--format <format>' argument 'xml' is invalid\. Allowed choices are csv, json, ndjson/),
  usage('provision --max-in-flight 0', ['provision', 'u.csv', '--max-in-flight', '0'], /option '--max-in-flight <n>' argument '0' is invalid\. must be a whole number ≥ 1/),
  usage('provision --max-operations abc', ['provision', 'u.csv', '--max-operations', 'abc'], /option '--max-operations <n>' argument 'abc' is invalid/),
  usage('provision --max-user-name-length 2.5', ['provision', 'u.csv', '--max-user-name-length', '2.5'], /option '--max-user-name-length <n>' argument '2\.5' is invalid/),
  usage('provision --max-value-length -1', ['provision', 'u.csv', '--max-value-length', '-1'], /option '--max-value-length <n>' argument '-1' is invalid/),
  usage('provision with an unknown option', ['provision', 'u.csv', '--frobnicate'], /unknown option '--frobnicate'/),
  usage('provision without a file', ['provision'], /missing required argument 'file'/),
  usage('an unknown command', ['provison', 'u.csv'], /unknown command 'provison'/),
  usage('configure --format yaml', ['configure', 'spc.json', '--format', 'yaml'], /option '--format <format>' argument 'yaml' is invalid/),
  usage('configure --max-bulk-operations 0', ['configure', 'spc.json', '--max-bulk-operations', '0'], /option '--max-bulk-operations <n>' argument '0' is invalid/),
  usage('configure --notify-url that is not a URL', ['configure', 'spc.json', '--notify-url', 'hooks.example.com'], /option '--notify-url <url>' argument 'hooks\.example\.com' is invalid\. must be an absolute http\(s\) URL/),
  usage('configure --notify-url with another scheme', ['configure', 'spc.json', '--notify-url', 'ftp://hooks.example.com/x'], /argument 'ftp:\/\/hooks\.example\.com\/x' is invalid/),
  usage('configure without a file', ['configure', '--verify'], /missing required argument 'file'/),
  usage('watch --output xml', ['watch', 'some-id', '--output', 'xml'], /option '--output <format>' argument 'xml' is invalid/),
  usage('watch a workflow that does not exist', ['watch', 'no-such-workflow-42'], /watch: no workflow with id "no-such-workflow-42"/),
];
