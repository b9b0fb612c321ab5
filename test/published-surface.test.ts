// The product against a SCIM server that offers only what NICE publishes for CXone: no
// /ServiceProviderConfig, no /ResourceTypes (404), no DELETE, plus the request shapes an
// independent server refused in issue 22 — 400 to a listing with `attributes=`, 500 to a PATCH
// with `?attributes=id`, 405 to PATCH. The server is python scim2-server (pinned, independent),
// behind a loopback proxy written here that hides and refuses those; everything else is forwarded.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { runCli } from '../src/cli/program';
import { checkTenant } from '../src/cli/tenants';
import type { TenantConfig } from '../src/config/tenants';
import type { TemporalEnvironment } from '../src/temporal/server';
import { discoverServiceProvider, provisionUsers, syncGroups, syncUsers } from '../src/workflows';
import { Capture, cliContext } from './helpers/cli';
import { startScim2Server, type Scim2Server } from './helpers/scim2-server';
import { startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
type Attrs = Record<string, unknown>;

/** What the proxy refuses, switchable per test. */
interface Rules {
  /** 404 to /ServiceProviderConfig and /ResourceTypes (as NICE publishes neither). */
  hideDiscovery: boolean;
  /** 400 to a GET of a collection (a listing) that carries `attributes=`. */
  refuseListingAttributes: boolean;
  /** 500 to a PATCH carrying `?attributes=id` (the same PATCH without it works). */
  failPatchWithAttributes: boolean;
  /** 405 to every PATCH. */
  refusePatch: boolean;
  /** 500 to every PATCH of these resource ids, whatever its shape (no plainer shape helps). */
  failPatchOf: Set<string>;
}

interface Proxy {
  url: string;
  rules: Rules;
  /** `METHOD path?query → status`, every request. */
  log: string[];
  close(): Promise<void>;
}

const scimError = (status: number, detail: string) =>
  JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status), detail });

async function startProxy(upstream: string, scimPath: string, rules: Partial<Rules> = {}): Promise<Proxy> {
  const state: Rules = {
    hideDiscovery: true,
    refuseListingAttributes: false,
    failPatchWithAttributes: false,
    refusePatch: false,
    failPatchOf: new Set(),
    ...rules,
  };
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://proxy');
      // Below the SCIM base: ['Users', id?]
      const segments = url.pathname.startsWith(`${scimPath}/`)
        ? url.pathname.slice(scimPath.length).split('/').filter(Boolean)
        : [];
      const answer = (status: number, detail: string) => {
        log.push(`${req.method} ${url.pathname}${url.search} → ${status}`);
        res.writeHead(status, { 'content-type': 'application/scim+json' });
        res.end(scimError(status, detail));
      };
      if (state.hideDiscovery && ['ServiceProviderConfig', 'ResourceTypes'].includes(segments[0] ?? ''))
        return answer(404, 'Not Found');
      if (req.method === 'DELETE') return answer(405, 'employees are deactivated, never deleted');
      if (
        state.refuseListingAttributes &&
        req.method === 'GET' &&
        segments.length === 1 &&
        url.searchParams.has('attributes')
      )
        return answer(400, 'Invalid attributes parameter');
      if (req.method === 'PATCH') {
        if (state.refusePatch) return answer(405, 'Method Not Allowed');
        if (state.failPatchWithAttributes && url.searchParams.get('attributes') === 'id')
          return answer(500, 'Internal Server Error');
        if (state.failPatchOf.has(segments[1] ?? '')) return answer(500, 'Internal Server Error');
      }
      const headers: Record<string, string> = {};
      for (const name of ['authorization', 'content-type', 'accept', 'if-match'])
        if (typeof req.headers[name] === 'string') headers[name] = req.headers[name] as string;
      const forwarded = await fetch(`${upstream}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      });
      const body = Buffer.from(await forwarded.arrayBuffer());
      log.push(`${req.method} ${url.pathname}${url.search} → ${forwarded.status}`);
      const out: Record<string, string> = {};
      for (const name of ['content-type', 'etag', 'location']) {
        const value = forwarded.headers.get(name);
        if (value) out[name] = value;
      }
      res.writeHead(forwarded.status, out);
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    rules: state,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const person = (userName: string, extra: Attrs = {}): Attrs => ({
  schemas: [CORE],
  userName,
  name: { givenName: 'Pub', familyName: userName.split('@')[0] },
  emails: [{ value: userName, type: 'work', primary: true }],
  active: true,
  ...extra,
});

describe('a provider with only the surface NICE publishes (no ServiceProviderConfig, no ResourceTypes, no DELETE)', () => {
  let temporal: TemporalEnvironment;
  let server: Scim2Server;
  let cxone: Proxy;
  let noPatch: Proxy;
  let groupsProxy: Proxy;
  let sandbox: Sandbox;
  let sandboxProxy: Proxy;
  let worker: TestWorker;
  let dir: string;
  let seq = 0;

  const tenant = (tenantId: string, proxy: Proxy, extra: Partial<TenantConfig> = {}): TenantConfig => ({
    tenantId,
    baseUrl: proxy.url,
    scimPath: server.scimPath,
    auth: { type: 'bearer', token: server.bearerToken },
    ...extra,
  });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'published-surface-'));
    server = await startScim2Server();
    cxone = await startProxy(server.origin, server.scimPath, {
      refuseListingAttributes: true,
      failPatchWithAttributes: true,
    });
    noPatch = await startProxy(server.origin, server.scimPath, { refusePatch: true });
    // Listings with `attributes=` taken here, so that the PATCH's own refusal is what is learnt.
    groupsProxy = await startProxy(server.origin, server.scimPath, { failPatchWithAttributes: true });
    // The sandbox's cxone profile (access keys, Users and Schemas, no Bulk, no ETag, no DELETE) with
    // its ServiceProviderConfig and ResourceTypes hidden, as NICE publishes neither.
    sandbox = await startSandbox({ port: 0, profile: 'cxone' });
    sandboxProxy = await startProxy(sandbox.url, '/scim/v2');
    temporal = await startTestTemporal();
    worker = await startTestWorker(temporal, [
      // A short span, so that the test of a persistent failure takes seconds, not the default 30 s.
      tenant('cxone', cxone),
      tenant('no-patch', noPatch),
      tenant('cxone-groups', groupsProxy, { identicalFailures: { attempts: 3, spanMs: 1000 } }),
      tenant('sandbox-cx', sandboxProxy, sandboxAuth()),
    ]);
  });

  after(async () => {
    await worker?.stop();
    await temporal?.stop();
    await cxone?.close();
    await noPatch?.close();
    await groupsProxy?.close();
    await sandboxProxy?.close();
    await sandbox?.close();
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The legacy access-key flow straight to the sandbox; SCIM through the proxy; no groups on this tenant. */
  const sandboxAuth = (): Partial<TenantConfig> => ({
    scimPath: '/scim/v2',
    auth: {
      type: 'cxone-access-key-legacy',
      authUrl: sandbox.authUrl,
      accessKeyId: sandbox.accessKeyId,
      accessKeySecret: sandbox.accessKeySecret,
    },
    endpoints: { groups: null },
  });

  const start = <
    W extends typeof provisionUsers | typeof syncUsers | typeof syncGroups | typeof discoverServiceProvider,
  >(
    workflow: W,
    input: Parameters<W>[0],
  ) =>
    temporal.testEnv.client.workflow.start(workflow, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `published-${++seq}-${Date.now()}`,
      args: [input] as Parameters<W>,
    });

  async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await runCli(
      args,
      cliContext(temporal.testEnv.client, worker.settings.taskQueue, { stdout, stderr }, env),
    );
    return { code, output: `${stdout.text}\n${stderr.text}` };
  }

  /** The users the server holds (its own view, not through the proxy). */
  async function serverUsers(): Promise<Attrs[]> {
    const response = await fetch(`${server.origin}${server.scimPath}/Users?count=1000`, {
      headers: { authorization: `Bearer ${server.bearerToken}` },
    });
    return ((await response.json()) as { Resources?: Attrs[] }).Resources ?? [];
  }

  const bearerEnv = (proxy: Proxy, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    CXONE_TENANT_ID: 'cxone',
    CXONE_AUTH: 'bearer',
    CXONE_BASE_URL: proxy.url,
    CXONE_SCIM_PATH: server.scimPath,
    CXONE_BEARER_TOKEN: server.bearerToken,
    ...extra,
  });

  it('`tenants check` exits 0 and prints every capability with where it came from', async () => {
    const { code, output } = await cli(
      ['tenants', 'check'],
      bearerEnv(cxone, { CXONE_SCIM_CAPABILITIES: '{"maxResults": 200}' }),
    );
    assert.equal(code, 0, output);
    assert.match(output, /tenant cxone: OK/);
    assert.match(
      output,
      /documents {5}ServiceProviderConfig not published \(HTTP 404\); ResourceTypes not published \(HTTP 404\); Schemas published/,
    );
    assert.match(output, /endpoints {5}users \/Users \(default\), groups \/Groups \(default\)/);
    assert.match(output, /capability {4}bulk {16}no {9}default/);
    assert.match(output, /capability {4}patch {15}yes {8}default; a refused PATCH/);
    assert.match(output, /capability {4}maxResults {10}200 {8}configured/);
    // The listing with `attributes=` was refused and answered without it: learnt by the check.
    assert.match(output, /capability {4}attributes {10}no {9}learnt/);
    assert.match(output, /capability {4}filterOr {12}yes {8}default/);
    assert.match(output, /refused {7}attributes: GET \/Users with attributes= answered HTTP 400/);
    assert.ok(!output.includes(server.bearerToken), 'the bearer token is printed');
  });

  it('discovery without documents: defaults, with provenance, and the User model from /Schemas', async () => {
    const result = await (await start(discoverServiceProvider, { tenant: 'cxone' })).result();
    assert.equal(result.httpStatus, 404);
    assert.equal(result.published, false);
    assert.equal((result.serviceProviderConfig.bulk as { supported: boolean }).supported, false);
    assert.deepEqual(result.capabilities?.patch, { value: true, from: 'default' });
    assert.deepEqual(result.capabilities?.etag, { value: false, from: 'default' });
  });

  const fifty = Array.from({ length: 50 }, (_, i) => person(`pub${String(i).padStart(2, '0')}@published.example`));

  it('`provision` of 50 users succeeds; a re-run creates none', async () => {
    const file = path.join(dir, 'fifty.json');
    fs.writeFileSync(file, JSON.stringify(fifty));
    const first = await cli(['provision', file, '--tenant', 'cxone'], bearerEnv(cxone));
    assert.equal(first.code, 0, first.output);
    assert.match(first.output, /discover ServiceProviderConfig.*404/);
    const held = (await serverUsers()).filter((u) => String(u.userName).endsWith('@published.example'));
    assert.equal(held.length, 50);

    const again = await (await start(provisionUsers, { tenant: 'cxone', users: fifty })).result();
    assert.equal(again.mode, 'per-resource');
    assert.deepEqual([again.totals.created, again.totals.unchanged, again.totals.failed], [0, 50, 0]);
    assert.equal((await serverUsers()).filter((u) => String(u.userName).endsWith('@published.example')).length, 50);
  });

  it('`sync` deactivates a leaver although the listing with `attributes=` is refused (learnt, repeated without it)', async () => {
    const before = cxone.log.length;
    const leaver = 'pub49@published.example';
    const result = await (
      await start(syncUsers, {
        tenant: 'cxone',
        users: fifty.filter((u) => u.userName !== leaver),
        scope: { userNameSuffixes: ['@published.example'] },
        orphans: 'leavers',
      })
    ).result();
    assert.equal(result.outcome, 'succeeded', JSON.stringify(result.failures));
    assert.equal(result.applied.deactivate, 1);
    assert.equal(result.applied.create, 0);
    const gone = (await serverUsers()).find((u) => u.userName === leaver);
    assert.equal(gone?.active, false);
    const requests = cxone.log.slice(before);
    // The worker learnt it in this run or an earlier one; either way no listing with attributes= succeeded.
    assert.ok(!requests.some((r) => /^GET \/v2\/Users\?.*attributes=.* → 200$/.test(r)), requests.join('\n'));
    assert.ok(
      requests.some((r) => /^GET \/v2\/Users\?startIndex=1&count=\d+ → 200$/.test(r)),
      requests.join('\n'),
    );
    assert.ok(!requests.some((r) => r.startsWith('DELETE')), 'a leaver is deactivated, never deleted');
  });

  it('`sync-groups`: the member PATCH answered 500 with `?attributes=id` is sent without it; a PATCH failing identically fails its group fast', async () => {
    const users = (await serverUsers()).filter((u) => String(u.userName).endsWith('@published.example'));
    const byName = new Map(users.map((u) => [String(u.userName), String(u.id)]));
    const createGroup = async (displayName: string) => {
      const created = await fetch(`${server.origin}${server.scimPath}/Groups`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.bearerToken}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName }),
      });
      return String(((await created.json()) as { id: string }).id);
    };
    // Both exist already, so members are added with PATCH. Every PATCH of `pub-broken` fails with the
    // same 500 whatever its shape: no plainer shape helps, and the tenant answers everything else.
    const agents = await createGroup('pub-agents');
    const broken = await createGroup('pub-broken');
    groupsProxy.rules.failPatchOf.add(broken);
    const startedAt = Date.now();
    const result = await (
      await start(syncGroups, {
        tenant: 'cxone-groups',
        groups: [
          { displayName: 'pub-agents', members: ['pub00@published.example', 'pub01@published.example'] },
          { displayName: 'pub-broken', members: ['pub02@published.example'] },
        ],
        scope: { displayNamePrefix: 'pub-' },
      })
    ).result();
    const requests = groupsProxy.log;
    assert.equal(result.failed, 1, JSON.stringify(result));
    assert.equal(result.applied.membersAdded, 2, JSON.stringify(result));
    assert.equal(result.failures[0]?.group, 'pub-broken');
    assert.equal(result.failures[0]?.status, 500);
    assert.match(result.failures[0]?.detail ?? '', /the same answer 3 times in a row/);
    assert.ok(Date.now() - startedAt < 60_000, 'failed fast, not retried until the deadline');

    const group = await fetch(`${server.origin}${server.scimPath}/Groups/${agents}`, {
      headers: { authorization: `Bearer ${server.bearerToken}` },
    });
    const members = ((await group.json()) as { members?: Array<{ value: string }> }).members ?? [];
    assert.deepEqual(
      members.map((m) => m.value).sort(),
      [byName.get('pub00@published.example'), byName.get('pub01@published.example')].sort(),
    );
    // `pub-agents`: the PATCH with ?attributes=id got its 500 once, then the same PATCH without it worked.
    const patches = requests.filter((r) => r.startsWith(`PATCH /v2/Groups/${agents}`));
    assert.equal(patches.length, 2, requests.join('\n'));
    assert.equal(patches[0], `PATCH /v2/Groups/${agents}?attributes=id → 500`);
    assert.match(patches[1], new RegExp(`^PATCH /v2/Groups/${agents} → 20[04]$`));
    // Before giving the failing group up, the tenant was probed: it answers.
    assert.ok(requests.includes('GET /v2/Groups?startIndex=1&count=1 → 200'), requests.join('\n'));
  });

  it('a PATCH refused with 405 switches the tenant to GET + PUT (learnt once)', async () => {
    const users = Array.from({ length: 4 }, (_, i) => person(`np${i}@nopatch.example`, { title: 'Agent' }));
    const first = await (await start(provisionUsers, { tenant: 'no-patch', users })).result();
    assert.equal(first.totals.created, 4, JSON.stringify(first.failures));
    const before = noPatch.log.length;
    const changed = users.map((u) => ({ ...u, title: 'Supervisor' }));
    const second = await (await start(provisionUsers, { tenant: 'no-patch', users: changed })).result();
    assert.deepEqual([second.totals.updated, second.totals.failed], [4, 0], JSON.stringify(second.failures));
    const requests = noPatch.log.slice(before);
    // Records written at once may each meet the 405 before it is learnt; each is then PUT.
    const refused = requests.filter((r) => /^PATCH \S+ → 405$/.test(r)).length;
    assert.ok(refused >= 1 && refused <= 4, requests.join('\n'));
    assert.equal(requests.filter((r) => /^PUT \/v2\/Users\/\S+ → 200$/.test(r)).length, 4, requests.join('\n'));
    const titles = () =>
      serverUsers().then((all) =>
        all.filter((u) => String(u.userName).endsWith('@nopatch.example')).map((u) => u.title),
      );
    assert.deepEqual(await titles(), ['Supervisor', 'Supervisor', 'Supervisor', 'Supervisor']);

    // Learnt: the next run goes straight to GET + PUT, no PATCH at all.
    const third = noPatch.log.length;
    const again = await (
      await start(provisionUsers, { tenant: 'no-patch', users: users.map((u) => ({ ...u, title: 'Lead' })) })
    ).result();
    assert.deepEqual([again.totals.updated, again.totals.failed], [4, 0], JSON.stringify(again.failures));
    const later = noPatch.log.slice(third);
    assert.equal(later.filter((r) => r.startsWith('PATCH')).length, 0, later.join('\n'));
    assert.deepEqual(await titles(), ['Lead', 'Lead', 'Lead', 'Lead']);

    // A later run of the same worker knows it from the start: discovery reports patch as learnt.
    const discovered = await (await start(discoverServiceProvider, { tenant: 'no-patch' })).result();
    assert.deepEqual(discovered.capabilities?.patch, { value: false, from: 'learnt' });
  });

  it('the sandbox `cxone` profile behind the proxy (no ServiceProviderConfig, no ResourceTypes): check, provision, re-run, leaver, no groups', async () => {
    const check = await checkTenant(tenant('sandbox-cx', sandboxProxy, sandboxAuth()));
    assert.equal(check.ok, true, check.error);
    assert.equal(check.documents?.ServiceProviderConfig.published, false);
    assert.equal(check.documents?.Schemas.published, true);
    assert.deepEqual(check.endpoints?.groups, { value: null, from: 'configured' });
    assert.deepEqual(check.model?.bulk, { value: false, from: 'default' });

    const staff = Array.from({ length: 20 }, (_, i) => person(`sbx${String(i).padStart(2, '0')}@sandbox.example`));
    const first = await (await start(provisionUsers, { tenant: 'sandbox-cx', users: staff })).result();
    assert.deepEqual([first.mode, first.totals.created, first.totals.failed], ['per-resource', 20, 0]);
    const again = await (await start(provisionUsers, { tenant: 'sandbox-cx', users: staff })).result();
    assert.deepEqual([again.totals.created, again.totals.unchanged], [0, 20], JSON.stringify(again.failures));
    const held = () => sandbox.listUsers().filter((u) => String(u.userName).endsWith('@sandbox.example'));
    assert.equal(held().length, 20);

    const leaver = 'sbx19@sandbox.example';
    const sync = await (
      await start(syncUsers, {
        tenant: 'sandbox-cx',
        users: staff.filter((u) => u.userName !== leaver),
        scope: { userNameSuffixes: ['@sandbox.example'] },
        orphans: 'leavers',
      })
    ).result();
    assert.equal(sync.applied.deactivate, 1, JSON.stringify(sync.failures));
    assert.equal(held().find((u) => u.userName === leaver)?.active, false);
    assert.equal(held().length, 20, 'deactivated, not deleted');

    // `endpoints.groups: null`: the tenant has no groups; sync-groups says so instead of failing.
    const groups = await (
      await start(syncGroups, { tenant: 'sandbox-cx', groups: [{ displayName: 'sbx-team', members: [] }] })
    ).result();
    assert.equal(groups.outcome, 'unsupported');
    assert.ok(!sandboxProxy.log.some((r) => r.includes('/Groups')), sandboxProxy.log.join('\n'));
  });

  it('`configure --verify` on a provider without ServiceProviderConfig: its own outcome and exit code 4', async () => {
    const desired = path.join(dir, 'spc.json');
    fs.writeFileSync(
      desired,
      JSON.stringify({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
        patch: { supported: true },
        bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
        filter: { supported: true, maxResults: 100 },
        changePassword: { supported: false },
        sort: { supported: false },
        etag: { supported: false },
        authenticationSchemes: [{ type: 'oauthbearertoken', name: 'Bearer', description: 'bearer token' }],
      }),
    );
    const { code, output } = await cli(['configure', desired, '--verify', '--tenant', 'cxone'], bearerEnv(cxone));
    assert.equal(code, 4, output);
    assert.match(output, /the provider publishes no ServiceProviderConfig \(HTTP 404\)/);
    assert.ok(!/drift:/.test(output), output);
  });
});
