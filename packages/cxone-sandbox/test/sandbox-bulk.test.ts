// Black-box tests of /Bulk: RFC 7644 §3.7 synchronous processing and CXone's asynchronous jobs.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../src';
import { SandboxClient } from '../src/test-client';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const bulk = (Operations: unknown[], failOnErrors?: number) => ({
  schemas: [BULK_REQUEST],
  ...(failOnErrors ? { failOnErrors } : {}),
  Operations,
});
const postUser = (bulkId: string, userName: string) => ({
  method: 'POST',
  path: '/Users',
  bulkId,
  data: { schemas: [USER], userName },
});

describe('sandbox: /Bulk', () => {
  let sandbox: Sandbox;
  let client: SandboxClient;

  before(async () => {
    sandbox = await startSandbox({ port: 0, bulkMaxOperations: 10, bulkMaxPayloadSize: 4096, asyncJobDurationMs: 100 });
    client = new SandboxClient(sandbox);
  });
  after(async () => {
    await sandbox.close();
  });
  beforeEach(() => {
    sandbox.setSwitches({ asyncBulk: false, asyncJobDurationMs: 100 });
  });

  const findUser = async (userName: string) =>
    (await client.scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`)).body.Resources[0];

  describe('synchronous (RFC 7644 §3.7)', () => {
    it('resolves bulkId references, including forward ones, and answers per operation in request order', async () => {
      const res = await client.scim('POST', '/Bulk', {
        body: bulk([
          // The group comes first but references users created later in the request.
          {
            method: 'POST',
            path: '/Groups',
            bulkId: 'g1',
            data: {
              schemas: [GROUP],
              displayName: 'Bulk team',
              members: [{ value: 'bulkId:u1' }, { value: 'bulkId:u2' }],
            },
          },
          postUser('u1', 'bulk.one'),
          postUser('u2', 'bulk.two'),
          {
            method: 'PATCH',
            path: '/Users/bulkId:u1',
            data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Lead' }] },
          },
          postUser('dup', 'BULK.ONE'),
          { method: 'DELETE', path: '/Users/bulkId:u2' },
        ]),
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.schemas, [BULK_RESPONSE]);
      const ops = res.body.Operations;
      assert.deepEqual(
        ops.map((o: { method: string; bulkId?: string; status: string }) => [o.method, o.bulkId, o.status]),
        [
          ['POST', 'g1', '201'],
          ['POST', 'u1', '201'],
          ['POST', 'u2', '201'],
          ['PATCH', undefined, '200'],
          ['POST', 'dup', '409'],
          ['DELETE', undefined, '204'],
        ],
      );
      const one = await findUser('bulk.one');
      assert.equal(ops[1].location, `${sandbox.scimBaseUrl}/Users/${one.id}`);
      assert.equal(ops[1].version, 'W/"1"');
      assert.equal(ops[3].version, 'W/"2"');
      assert.equal(one.title, 'Lead');
      assert.equal(ops[4].response.scimType, 'uniqueness');
      assert.equal(ops[4].response.status, '409');
      assert.equal(await findUser('bulk.two'), undefined, 'deleted by the last operation');

      const group = (await client.request('GET', ops[0].location)).body;
      assert.deepEqual(
        group.members.map((m: { value: string }) => m.value),
        [one.id],
        'members resolved; the deleted user dropped',
      );
    });

    it('stops after failOnErrors errors and leaves the rest unprocessed', async () => {
      const res = await client.scim('POST', '/Bulk', {
        body: bulk([postUser('a', 'foe.a'), postUser('b', 'foe.a'), postUser('c', 'foe.a'), postUser('d', 'foe.d')], 2),
      });
      assert.equal(res.status, 200);
      assert.deepEqual(
        res.body.Operations.map((o: { status: string }) => o.status),
        ['201', '409', '409'],
      );
      assert.equal(await findUser('foe.d'), undefined);
    });

    it('fails unresolvable and circular references with 409 and an operation without bulkId or with a bad path with 400', async () => {
      const res = await client.scim('POST', '/Bulk', {
        body: bulk([
          {
            method: 'PATCH',
            path: '/Users/bulkId:never',
            data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] },
          },
          {
            method: 'POST',
            path: '/Groups',
            bulkId: 'ga',
            data: { schemas: [GROUP], displayName: 'A', members: [{ value: 'bulkId:gb' }] },
          },
          {
            method: 'POST',
            path: '/Groups',
            bulkId: 'gb',
            data: { schemas: [GROUP], displayName: 'B', members: [{ value: 'bulkId:ga' }] },
          },
          { method: 'POST', path: '/Users', data: { schemas: [USER], userName: 'no.bulkid' } },
          { method: 'POST', path: '/Widgets', bulkId: 'w', data: {} },
        ]),
      });
      assert.deepEqual(
        res.body.Operations.map((o: { status: string }) => o.status),
        ['409', '409', '409', '400', '400'],
      );
      assert.equal(sandbox.countGroups(), 1, 'only the group of the first test exists');
    });

    it('answers 413 over maxOperations or maxPayloadSize, and follows a PUT of the limits', async () => {
      const eleven = Array.from({ length: 11 }, (_, i) => postUser(`x${i}`, `too.many.${i}`));
      const tooMany = await client.scim('POST', '/Bulk', { body: bulk(eleven) });
      assert.equal(tooMany.status, 413);
      assert.equal(tooMany.body.status, '413');
      assert.match(tooMany.body.detail, /maxOperations \(10\)/);

      const big = [
        { ...postUser('big', 'too.big'), data: { schemas: [USER], userName: 'too.big', title: 'x'.repeat(5000) } },
      ];
      const tooBig = await client.scim('POST', '/Bulk', { body: bulk(big) });
      assert.equal(tooBig.status, 413);
      assert.match(tooBig.body.detail, /maxPayloadSize \(4096\)/);
      assert.equal(await findUser('too.many.0'), undefined);

      const spc = (await client.scim('GET', '/ServiceProviderConfig')).body;
      const raised = await client.scim('PUT', '/ServiceProviderConfig', {
        body: { ...spc, bulk: { supported: true, maxOperations: 20, maxPayloadSize: 4096 } },
      });
      assert.equal(raised.status, 200);
      const accepted = await client.scim('POST', '/Bulk', { body: bulk(eleven) });
      assert.equal(accepted.status, 200);
      assert.equal(accepted.body.Operations.length, 11);
      await client.scim('PUT', '/ServiceProviderConfig', { body: spc });
    });

    it('rejects a request that is not a BulkRequest', async () => {
      const res = await client.scim('POST', '/Bulk', { body: { Operations: [] } });
      assert.equal(res.status, 400);
      assert.equal(res.body.scimType, 'invalidSyntax');
    });
  });

  describe('asynchronous (CXone)', () => {
    async function poll(location: string) {
      const seen: string[] = [];
      for (let i = 0; i < 100; i++) {
        const res = await client.request('GET', location);
        assert.equal(res.status, 200, res.text);
        seen.push(res.body.status);
        if (res.body.status === 'queued' || res.body.status === 'running') {
          assert.equal(res.headers.get('retry-after'), '1');
          await new Promise((resolve) => setTimeout(resolve, 20));
          continue;
        }
        assert.equal(res.headers.get('retry-after'), null);
        return { job: res.body, seen };
      }
      throw new Error('job did not finish');
    }

    it('answers 202 with a job on Prefer: respond-async, then completes with per-operation results', async () => {
      const before = sandbox.countUsers();
      const res = await client.scim('POST', '/Bulk', {
        body: bulk([postUser('a', 'async.a'), postUser('b', 'async.b'), postUser('c', 'async.a')]),
        headers: { prefer: 'respond-async' },
      });
      assert.equal(res.status, 202, res.text);
      assert.deepEqual(res.body, { id: res.body.id, status: 'queued' });
      assert.equal(res.headers.get('location'), `${sandbox.scimBaseUrl}/Bulk/${res.body.id}`);
      assert.equal(res.headers.get('preference-applied'), 'respond-async');
      assert.equal(sandbox.countUsers(), before, 'nothing applied yet');

      const { job, seen } = await poll(res.headers.get('location') as string);
      assert.ok(seen.includes('running'), `went through running: ${seen.join(' ')}`);
      assert.equal(job.status, 'completed');
      assert.deepEqual(job.schemas, [BULK_RESPONSE]);
      assert.equal(job.id, res.body.id);
      assert.deepEqual(
        job.Operations.map((o: { bulkId: string; status: string }) => `${o.bulkId}:${o.status}`),
        ['a:201', 'b:201', 'c:409'],
      );
      assert.equal(sandbox.countUsers(), before + 2);
    });

    it('is the default when configured, and a job stopped by failOnErrors ends as failed', async () => {
      sandbox.setSwitches({ asyncBulk: true, asyncJobDurationMs: 0 });
      const first = await client.scim('POST', '/Bulk', {
        body: bulk([postUser('a', 'cfg.a'), postUser('b', 'cfg.a'), postUser('c', 'cfg.c')], 1),
      });
      const second = await client.scim('POST', '/Bulk', { body: bulk([postUser('d', 'cfg.d')]) });
      assert.equal(first.status, 202);
      assert.equal(first.headers.get('preference-applied'), null);
      const failed = await poll(first.headers.get('location') as string);
      assert.equal(failed.job.status, 'failed');
      assert.deepEqual(
        failed.job.Operations.map((o: { status: string }) => o.status),
        ['201', '409'],
      );
      const done = await poll(second.headers.get('location') as string);
      assert.equal(done.job.status, 'completed');
      assert.ok(await findUser('cfg.d'));
      assert.equal(await findUser('cfg.c'), undefined);
    });

    it('checks limits before accepting a job, and 404s an unknown job', async () => {
      const eleven = Array.from({ length: 11 }, (_, i) => postUser(`x${i}`, `async.many.${i}`));
      const tooMany = await client.scim('POST', '/Bulk', { body: bulk(eleven), headers: { prefer: 'respond-async' } });
      assert.equal(tooMany.status, 413);
      assert.equal((await client.scim('GET', '/Bulk/no-such-job')).status, 404);
    });
  });
});
