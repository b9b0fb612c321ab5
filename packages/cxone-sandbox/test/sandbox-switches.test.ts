// Black-box tests of the sandbox's switches (429, 5xx, latency, read-only SPC), its request log,
// the admin endpoints, persistence across a restart, and the `sandbox` CLI command.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../src';
import { parseRateLimit } from '../src/command';
import { SandboxClient } from '../src/test-client';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

describe('sandbox: switches', () => {
  let sandbox: Sandbox;
  let client: SandboxClient;

  before(async () => {
    sandbox = await startSandbox({ port: 0 });
    client = new SandboxClient(sandbox);
    await client.token();
  });
  after(async () => {
    await sandbox.close();
  });
  beforeEach(() => {
    sandbox.setSwitches({
      rateLimit: null,
      failNext: 0,
      failRate: 0,
      failStatus: 503,
      latencyMs: 0,
      readOnlySpc: false,
      retryAfterSeconds: 1,
      filterMode: 'rfc',
      groupPatchNoop: false,
      hideGroups: false,
    });
    sandbox.clearRequestLog();
  });

  const statuses = async (n: number, path = '/Users?count=1') => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await client.scim('GET', path)).status);
    return out;
  };

  it('rate limits every Nth request with 429 + Retry-After and a SCIM error body', async () => {
    sandbox.setSwitches({ rateLimit: { mode: 'everyNth', n: 3 }, retryAfterSeconds: 7 });
    const res = [
      await client.scim('GET', '/Users'),
      await client.scim('GET', '/Users'),
      await client.scim('GET', '/Users'),
    ];
    assert.deepEqual(
      res.map((r) => r.status),
      [200, 200, 429],
    );
    assert.equal(res[2].headers.get('retry-after'), '7');
    assert.deepEqual(res[2].body.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
    assert.equal(res[2].body.status, '429');
    assert.match(res[2].headers.get('content-type') ?? '', /^application\/scim\+json/);
    assert.deepEqual(await statuses(3), [200, 200, 429]);
  });

  it('filterMode: userName eq ignores case (rfc), compares exactly (caseExact), or is ignored', async () => {
    const created = await client.scim('POST', '/Users', {
      body: {
        schemas: [USER],
        userName: 'Filter.Mode@Example.com',
        name: { givenName: 'F', familyName: 'M' },
        emails: [{ value: 'f@example.com', primary: true }],
      },
    });
    assert.equal(created.status, 201);
    await client.scim('POST', '/Users', {
      body: {
        schemas: [USER],
        userName: 'other.filter@example.com',
        name: { givenName: 'O', familyName: 'F' },
        emails: [{ value: 'o@example.com', primary: true }],
      },
    });
    const found = async () => {
      const res = await client.scim(
        'GET',
        `/Users?filter=${encodeURIComponent('userName eq "filter.mode@example.com"')}`,
      );
      return (res.body.Resources as Array<{ userName: string }>).map((r) => r.userName).sort();
    };
    assert.deepEqual(await found(), ['Filter.Mode@Example.com']);
    sandbox.setSwitches({ filterMode: 'caseExact' });
    assert.deepEqual(await found(), []);
    sandbox.setSwitches({ filterMode: 'ignored' });
    const all = await found();
    assert.ok(all.includes('other.filter@example.com') && all.includes('Filter.Mode@Example.com'));
    assert.throws(
      () => sandbox.setSwitches({ filterMode: 'loose' as never }),
      /filterMode must be rfc, caseExact, ignored or eqOnly/,
    );
  });

  it('lookups by userName or externalId (alone or joined by or) find the same users as the filter says; eqOnly refuses or', async () => {
    const make = async (userName: string, externalId?: string) => {
      const res = await client.scim('POST', '/Users', {
        body: {
          schemas: [USER],
          userName,
          ...(externalId ? { externalId } : {}),
          name: { givenName: 'I', familyName: 'X' },
          emails: [{ value: userName, primary: true }],
        },
      });
      assert.equal(res.status, 201, res.text);
      return res.body.id as string;
    };
    const ann = await make('Index.Ann@Example.com', 'IX-1');
    const bob = await make('index.bob@example.com', 'ix-1');
    const cid = await make('index.cid@example.com', 'IX-2');
    const ids = async (filter: string) => {
      const res = await client.scim('GET', `/Users?filter=${encodeURIComponent(filter)}`);
      return {
        status: res.status,
        ids: ((res.body.Resources ?? []) as Array<{ id: string }>).map((r) => r.id).sort(),
        scimType: res.body.scimType,
      };
    };
    // externalId is caseExact (RFC 7643 §3.1): the index finds both spellings, the filter keeps one.
    assert.deepEqual((await ids('externalId eq "IX-1"')).ids, [ann]);
    assert.deepEqual((await ids('userName eq "index.cid@example.com" or externalId eq "ix-1"')).ids, [bob, cid].sort());
    assert.deepEqual((await ids('userName eq "INDEX.ANN@example.com" or externalId eq "IX-1"')).ids, [ann]);
    assert.deepEqual((await ids('userName eq "nobody@example.com" or externalId eq "none"')).ids, []);
    // A renamed user and a changed externalId are found under the new values only.
    await client.scim('PATCH', `/Users/${cid}`, {
      body: {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'replace', path: 'externalId', value: 'IX-3' }],
      },
    });
    assert.deepEqual([(await ids('externalId eq "IX-2"')).ids, (await ids('externalId eq "IX-3"')).ids], [[], [cid]]);
    await client.scim('DELETE', `/Users/${bob}`);
    assert.deepEqual((await ids('externalId eq "ix-1"')).ids, []);

    sandbox.setSwitches({ filterMode: 'eqOnly' });
    assert.deepEqual((await ids('externalId eq "IX-1"')).ids, [ann]);
    const refused = await ids('userName eq "index.ann@example.com" or externalId eq "IX-1"');
    assert.deepEqual([refused.status, refused.scimType], [400, 'invalidFilter']);
  });

  it('rate limits the first N requests, and counting restarts when the switch is set again', async () => {
    sandbox.setSwitches({ rateLimit: { mode: 'firstN', n: 2 } });
    assert.deepEqual(await statuses(4), [429, 429, 200, 200]);
    sandbox.setSwitches({ rateLimit: { mode: 'firstN', n: 1 } });
    assert.deepEqual(await statuses(2), [429, 200]);
  });

  it('rate limits with a token bucket', async () => {
    sandbox.setSwitches({ rateLimit: { mode: 'tokenBucket', capacity: 2, refillPerSecond: 0.5 } });
    const [a, b, c] = [
      await client.scim('GET', '/Users'),
      await client.scim('GET', '/Users'),
      await client.scim('GET', '/Users'),
    ];
    assert.deepEqual([a.status, b.status, c.status], [200, 200, 429]);
    assert.equal(c.headers.get('retry-after'), '2', 'one token takes 2 s at 0.5/s');
  });

  it('fails the next N requests (503 with Retry-After, or 500), sparing the token endpoint', async () => {
    sandbox.setSwitches({ failNext: 2 });
    const token = await client.newToken(); // not counted
    const first = await client.scim('GET', '/Users', { token });
    assert.equal(first.status, 503);
    assert.equal(first.headers.get('retry-after'), '1');
    assert.deepEqual(await statuses(2), [503, 200]);
    assert.equal(sandbox.switches.failNext, 0);

    sandbox.switches.failNext = 1; // the switches object is live
    sandbox.switches.failStatus = 500;
    const five = await client.root('GET', '/api/v2/webhooks');
    assert.equal(five.status, 500);
    assert.equal(five.headers.get('retry-after'), null);
    assert.deepEqual(await statuses(1), [200]);
  });

  it('fails a given share of requests, reproducibly for a seed', async () => {
    const run = async (seed: number) => {
      const other = await startSandbox({ port: 0, failRate: 0.3, seed });
      try {
        const c = new SandboxClient(other);
        const out: number[] = [];
        for (let i = 0; i < 40; i++) out.push((await c.scim('GET', '/Users')).status);
        return out;
      } finally {
        await other.close();
      }
    };
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    assert.deepEqual(a, b, 'same seed, same faults');
    assert.notDeepEqual(a, c);
    const failures = a.filter((s) => s === 503).length;
    assert.ok(failures >= 4 && failures <= 20, `${failures} of 40 failed at rate 0.3`);
    assert.ok(a.every((s) => s === 200 || s === 503));
  });

  it('adds latency', async () => {
    sandbox.setSwitches({ latencyMs: 150 });
    const started = Date.now();
    assert.equal((await client.scim('GET', '/Users')).status, 200);
    assert.ok(Date.now() - started >= 145);
    assert.ok(sandbox.requestLog[0].durationMs >= 145, `logged ${sandbox.requestLog[0].durationMs} ms`);
  });

  it('makes /ServiceProviderConfig read-only (405 + Allow: GET)', async () => {
    sandbox.setSwitches({ readOnlySpc: true });
    const spc = await client.scim('GET', '/ServiceProviderConfig');
    assert.equal(spc.status, 200);
    const put = await client.scim('PUT', '/ServiceProviderConfig', { body: spc.body });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET');
    assert.equal(put.body.status, '405');
  });

  it('answers 200 to filtered member removals and ignores them with groupPatchNoop; hides Group with hideGroups', async () => {
    const user = (await client.scim('POST', '/Users', { body: { schemas: [USER], userName: 'noop@example.com' } }))
      .body;
    const other = (await client.scim('POST', '/Users', { body: { schemas: [USER], userName: 'noop2@example.com' } }))
      .body;
    const group = (
      await client.scim('POST', '/Groups', {
        body: { schemas: [GROUP], displayName: 'Noop', members: [{ value: user.id }] },
      })
    ).body;
    const patch = (ops: unknown[]) =>
      client.scim('PATCH', `/Groups/${group.id}`, {
        body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: ops },
      });
    const memberIds = async () =>
      ((await client.scim('GET', `/Groups/${group.id}`)).body.members ?? [])
        .map((m: { value: string }) => m.value)
        .sort();
    sandbox.setSwitches({ groupPatchNoop: true });
    const removed = await patch([{ op: 'remove', path: `members[value eq "${user.id}"]` }]);
    assert.equal(removed.status, 200);
    assert.deepEqual(await memberIds(), [user.id], 'the removal was not applied');
    const mixed = await patch([
      { op: 'remove', path: `members[value eq "${user.id}"]` },
      { op: 'add', path: 'members', value: [{ value: other.id }] },
    ]);
    assert.equal(mixed.status, 200);
    assert.deepEqual(await memberIds(), [user.id, other.id].sort(), 'other operations still apply');
    sandbox.setSwitches({ groupPatchNoop: false });
    assert.equal((await patch([{ op: 'remove', path: `members[value eq "${user.id}"]` }])).status, 200);
    assert.deepEqual(await memberIds(), [other.id]);

    sandbox.setSwitches({ hideGroups: true });
    const names = (await client.scim('GET', '/ResourceTypes')).body.Resources.map((t: { name: string }) => t.name);
    assert.deepEqual(names, ['User']);
  });

  it('keeps a request log without credentials', async () => {
    const token = await client.token();
    await client.scim('GET', '/Users?filter=userName%20eq%20%22x%22');
    await client.scim('GET', '/Users/missing');
    await client.root('GET', '/admin/switches', { token: null });
    assert.deepEqual(
      sandbox.requestLog.map((r) => [r.method, r.path, r.query, r.status]),
      [
        ['GET', '/scim/v2/Users', 'filter=userName%20eq%20%22x%22', 200],
        ['GET', '/scim/v2/Users/missing', '', 404],
      ],
    );
    for (const entry of sandbox.requestLog) {
      assert.deepEqual(Object.keys(entry).sort(), ['at', 'durationMs', 'method', 'path', 'query', 'status']);
      assert.ok(!Number.isNaN(Date.parse(entry.at)));
      assert.equal(typeof entry.durationMs, 'number');
    }
    assert.ok(!JSON.stringify(sandbox.requestLog).includes(token));
    const viaHttp = await client.root('GET', '/admin/requests', { token: null });
    assert.equal(viaHttp.body.requests.length, 2);
    assert.equal((await client.root('DELETE', '/admin/requests', { token: null })).status, 204);
    assert.equal(sandbox.requestLog.length, 0);
  });

  it('sets switches through /admin (no token), validating them', async () => {
    const set = await client.root('PATCH', '/admin/switches', { body: { failNext: 1, failStatus: 500 }, token: null });
    assert.equal(set.status, 200);
    assert.equal(set.body.failNext, 1);
    assert.equal((await client.scim('GET', '/Users')).status, 500);
    const bad = await client.root('PATCH', '/admin/switches', { body: { failRate: 2, bogus: true }, token: null });
    assert.equal(bad.status, 400);
    assert.match(bad.body.detail, /failRate/);
    assert.match(bad.body.detail, /bogus/);
    assert.throws(() => sandbox.setSwitches({ rateLimit: { mode: 'everyNth', n: 0 } }), /rateLimit/);
    const expire = await client.root('POST', '/admin/tokens/expire', { token: null });
    assert.equal(expire.status, 204);
    assert.equal((await client.scim('GET', '/Users')).status, 401);
    client.forgetToken();
  });

  it('takes switches as start options', async () => {
    const other = await startSandbox({ port: 0, failNext: 1, failStatus: 500, readOnlySpc: true });
    try {
      assert.deepEqual(
        {
          failNext: other.switches.failNext,
          failStatus: other.switches.failStatus,
          readOnlySpc: other.switches.readOnlySpc,
        },
        { failNext: 1, failStatus: 500, readOnlySpc: true },
      );
      assert.equal((await new SandboxClient(other).scim('GET', '/Users')).status, 500);
    } finally {
      await other.close();
    }
  });
});

describe('sandbox: persistence', () => {
  it('keeps users, groups, ServiceProviderConfig and subscriptions across a restart', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-'));
    const dataFile = path.join(dir, 'nested', 'sandbox.json');
    try {
      const first = await startSandbox({ port: 0, dataFile });
      const c1 = new SandboxClient(first);
      const user = (
        await c1.scim('POST', '/Users', { body: { schemas: [USER], userName: 'Persist.Me', title: 'Kept' } })
      ).body;
      const group = (
        await c1.scim('POST', '/Groups', {
          body: { schemas: [GROUP], displayName: 'Kept', members: [{ value: user.id }] },
        })
      ).body;
      const patched = await c1.scim('PATCH', `/Users/${user.id}`, {
        body: {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'replace', path: 'title', value: 'Still kept' }],
        },
      });
      const spc = (await c1.scim('GET', '/ServiceProviderConfig')).body;
      const put = await c1.scim('PUT', '/ServiceProviderConfig', {
        body: { ...spc, filter: { supported: true, maxResults: 123 } },
      });
      const hook = (
        await c1.root('POST', '/api/v2/webhooks', {
          body: { url: 'http://127.0.0.1:9/hooks', events: ['USER_DEACTIVATED'] },
        })
      ).body;
      await first.close();
      assert.ok(fs.existsSync(dataFile));

      const second = await startSandbox({ port: 0, dataFile });
      try {
        const c2 = new SandboxClient(second);
        const got = await c2.scim('GET', `/Users/${user.id}`);
        assert.equal(got.status, 200);
        assert.equal(got.body.title, 'Still kept');
        assert.equal(got.headers.get('etag'), patched.headers.get('etag'));
        assert.deepEqual(
          got.body.groups.map((g: { value: string }) => g.value),
          [group.id],
        );
        assert.equal((await c2.scim('GET', `/Groups/${group.id}`)).body.displayName, 'Kept');
        const spc2 = await c2.scim('GET', '/ServiceProviderConfig');
        assert.equal(spc2.body.filter.maxResults, 123);
        assert.equal(spc2.headers.get('etag'), put.headers.get('etag'));
        assert.deepEqual((await c2.root('GET', '/api/v2/webhooks')).body.webhooks, [hook]);
        const dup = await c2.scim('POST', '/Users', { body: { schemas: [USER], userName: 'persist.me' } });
        assert.equal(dup.status, 409, 'the userName index is rebuilt');
        assert.equal(second.countUsers(), 1);
        assert.equal(second.listUsers()[0].userName, 'Persist.Me');
      } finally {
        await second.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sandbox: CLI command', () => {
  it('parses --rate-limit specs', () => {
    assert.deepEqual(parseRateLimit('every:5'), { mode: 'everyNth', n: 5 });
    assert.deepEqual(parseRateLimit('first:2'), { mode: 'firstN', n: 2 });
    assert.deepEqual(parseRateLimit('bucket:10/2.5'), { mode: 'tokenBucket', capacity: 10, refillPerSecond: 2.5 });
    assert.throws(() => parseRateLimit('every:0'));
    assert.throws(() => parseRateLimit('sometimes'));
  });

  it('starts from the command line, prints URLs and credentials, applies flags and stops on SIGTERM', async () => {
    const command = path.resolve(__dirname, '../src/command.js');
    const script = `
      const { Command } = require('commander');
      const program = new Command();
      require(${JSON.stringify(command)}).registerSandboxCommand(program);
      program.parseAsync(process.argv.slice(1), { from: 'user' });`;
    const child = spawn(
      process.execPath,
      [
        '-e',
        script,
        '--',
        'sandbox',
        '--port',
        '0',
        '--async-bulk',
        '--rate-limit',
        'every:100',
        '--latency-ms',
        '5',
        '--read-only-spc',
        '--client-secret',
        'cli-secret',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          stdout += d;
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
          if (m && stdout.includes('Ctrl-C')) resolve(m[1]);
        });
        void exited.then((code) => reject(new Error(`exited ${code}: ${stderr}`)));
      });
      assert.match(stdout, /client id\s+sandbox-client/);
      assert.match(stdout, /client secret\s+cli-secret/);
      assert.match(stdout, /\/scim\/v2/);
      const c = new SandboxClient({
        url,
        tokenUrl: `${url}/oauth/token`,
        scimBaseUrl: `${url}/scim/v2`,
        clientId: 'sandbox-client',
        clientSecret: 'cli-secret',
      });
      const switches = (await c.root('GET', '/admin/switches', { token: null })).body;
      assert.deepEqual(
        [switches.asyncBulk, switches.rateLimit, switches.latencyMs, switches.readOnlySpc],
        [true, { mode: 'everyNth', n: 100 }, 5, true],
      );
      assert.equal((await c.scim('GET', '/ServiceProviderConfig')).status, 200);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
    assert.match(stdout, /stopped/);
  });
});
