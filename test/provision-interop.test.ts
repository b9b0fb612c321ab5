// provisionUsers without Bulk against an independent SCIM server (python scim2-server), so that
// what passes against the bundled sandbox is shown to pass against another implementation too.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TenantConfig } from '../src/config/tenants';
import { lookupUser } from '../src/activities/provider/user-lookup';
import { ScimClient, TenantDialect, TenantTokenProvider, type ScimResponse } from '../src/http';
import type { TemporalEnvironment } from '../src/temporal/server';
import { provisionUsers, type ProvisionUsersInput } from '../src/workflows';
import { startScim2Server, type Scim2Server } from './helpers/scim2-server';
import { startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';

/** RFC 7643 §5, announced by the server: everything but Bulk. */
const NO_BULK_SPC = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
  patch: { supported: true },
  bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
  filter: { supported: true, maxResults: 1000 },
  changePassword: { supported: false },
  sort: { supported: false },
  etag: { supported: true },
  authenticationSchemes: [{ type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'Bearer token' }],
};

describe('provisionUsers per resource against an independent SCIM server (scim2-server, Bulk off)', () => {
  let temporal: TemporalEnvironment;
  let server: Scim2Server;
  let worker: TestWorker;

  const users = Array.from({ length: 12 }, (_, i) => ({
    schemas: [CORE],
    userName: `interop.user${i}@example.com`,
    externalId: `IO-${i}`,
    name: { givenName: 'Inter', familyName: `Op ${i}` },
    displayName: `Inter Op ${i}`,
    emails: [{ value: `interop.user${i}@example.com`, type: 'work', primary: true }],
    active: true,
  }));

  // The server takes a static bearer token: the `bearer` auth strategy.
  const tenant = (): TenantConfig => ({
    tenantId: 'interop',
    baseUrl: server.origin,
    scimPath: server.scimPath,
    auth: { type: 'bearer', token: server.bearerToken },
  });

  async function provision(input: Omit<ProvisionUsersInput, 'tenant'>, name: string) {
    const handle = await temporal.testEnv.client.workflow.start(provisionUsers, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `${name}-${Date.now()}`,
      args: [{ tenant: 'interop', recordsPerSlice: 5, ...input }],
    });
    return handle.result();
  }

  before(async () => {
    server = await startScim2Server({ serviceProviderConfig: NO_BULK_SPC });
    temporal = await startTestTemporal();
    worker = await startTestWorker(temporal, [tenant()]);
  });
  after(async () => {
    await worker?.stop();
    await temporal?.stop();
    await server?.stop();
  });

  it('creates every user once, finds them unchanged on a re-run, and updates only a drifted one', async () => {
    const first = await provision({ users }, 'interop-first');
    assert.equal(first.mode, 'per-resource');
    assert.deepEqual([first.totals.created, first.totals.failed], [12, 0], JSON.stringify(first.failures));

    const client = new ScimClient({ tenant: tenant(), tokens: new TenantTokenProvider() });
    const listed = await client.get<{ totalResults: number; Resources?: Array<Record<string, unknown>> }>('/Users', {
      query: { count: 100 },
    });
    assert.equal(listed.body.totalResults, 12);

    const drifted = listed.body.Resources?.find((u) => u.userName === 'interop.user4@example.com');
    assert.ok(drifted);
    await client.patch(`/Users/${String(drifted.id)}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'displayName', value: 'Drifted' }],
    });

    const second = await provision({ users }, 'interop-second');
    assert.deepEqual(
      [second.totals.created, second.totals.updated, second.totals.unchanged, second.totals.failed],
      [0, 1, 11, 0],
      JSON.stringify(second.failures),
    );
    const after = await client.get<Record<string, unknown>>(`/Users/${String(drifted.id)}`);
    assert.equal(after.body.displayName, 'Inter Op 4');
    assert.equal(
      (await client.get<{ totalResults: number }>('/Users', { query: { count: 100 } })).body.totalResults,
      12,
    );
  });

  it('finds a user renamed at the source by its externalId (one `userName eq … or externalId eq …` lookup) and renames it, no duplicate', async () => {
    const renamed = users.map((u, i) =>
      i === 7
        ? {
            ...u,
            userName: 'interop.renamed7@example.com',
            emails: [{ value: 'interop.renamed7@example.com', type: 'work', primary: true }],
          }
        : u,
    );
    const result = await provision({ users: renamed }, 'interop-renamed');
    assert.deepEqual(
      [result.totals.created, result.totals.updated, result.totals.unchanged, result.totals.failed],
      [0, 1, 11, 0],
      JSON.stringify(result.failures),
    );
    const client = new ScimClient({ tenant: tenant(), tokens: new TenantTokenProvider() });
    const listed = await client.get<{ totalResults: number; Resources?: Array<Record<string, unknown>> }>('/Users', {
      query: { count: 100 },
    });
    assert.equal(listed.body.totalResults, 12);
    const io7 = listed.body.Resources?.filter((u) => u.externalId === 'IO-7') ?? [];
    assert.deepEqual(
      io7.map((u) => u.userName),
      ['interop.renamed7@example.com'],
    );

    // The lookup itself: this server takes `or`, so one request finds the user by either key.
    const requests: string[] = [];
    const counting = new ScimClient({
      tenant: tenant(),
      tokens: new TenantTokenProvider(),
      fetch: (url, init) => (requests.push(`${init?.method} ${String(url)}`), fetch(url, init)),
    });
    const dialect = new TenantDialect();
    const call = (request: () => Promise<ScimResponse>) => request();
    const byExternalId = await lookupUser(
      counting,
      { userName: 'nobody@example.com', externalId: 'IO-3' },
      { endpoint: '/Users', filter: true, dialect, call },
    );
    assert.equal(byExternalId.kind === 'one' && byExternalId.resource.userName, 'interop.user3@example.com');
    const both = await lookupUser(
      counting,
      { userName: 'INTEROP.USER2@example.com', externalId: 'IO-3' },
      { endpoint: '/Users', filter: true, dialect, call },
    );
    assert.equal(both.kind, 'ambiguous', 'two different users match the record: an error, never a guess');
    assert.equal(dialect.or, true);
    assert.equal(requests.filter((r) => r.startsWith('GET ') && r.includes('/Users?')).length, 2, requests.join('\n'));
  });
});
