// Black-box tests of webhook subscriptions and signed lifecycle deliveries (to a real node:http
// receiver on loopback), plus the signature helpers the webhook receiver relies on.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../src';
import { SandboxClient } from '../src/test-client';
import { createHmac, timingSafeEqual } from 'node:crypto';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ALL_EVENTS = ['USER_CREATED', 'USER_UPDATED', 'USER_DEACTIVATED'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Received {
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  at: number;
}

/** A webhook subscriber: records what it gets and answers with the queued statuses (then 200). */
async function startReceiver() {
  const received: Received[] = [];
  const statuses: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, rawBody, body: JSON.parse(rawBody), at: Date.now() });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return {
    url,
    received,
    statuses,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** Checks a delivery's signature independently of the sandbox's signer: HMAC-SHA256 over "timestamp.rawBody". */
function signatureValid(secret: string, timestamp: string, signature: string, rawBody: string | Buffer): boolean {
  const expected = Buffer.from(
    `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`,
  );
  const given = Buffer.from(signature ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('sandbox: webhooks', () => {
  let sandbox: Sandbox;
  let client: SandboxClient;
  let all: Receiver;
  let deactivations: Receiver;

  before(async () => {
    sandbox = await startSandbox({
      port: 0,
      deliveryRetry: { attempts: 3, initialDelayMs: 40 },
      tenantId: 'tenant-42',
    });
    client = new SandboxClient(sandbox);
    all = await startReceiver();
    deactivations = await startReceiver();
  });
  after(async () => {
    await sandbox.close();
    await all.close();
    await deactivations.close();
  });

  describe('subscriptions', () => {
    it('creates (201), lists, reads and deletes (204) subscriptions', async () => {
      const created = await client.root('POST', '/api/v2/webhooks', {
        body: { url: all.url, events: ['USER_CREATED'], description: 'temporary' },
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(created.status, 201, created.text);
      assert.match(created.headers.get('content-type') ?? '', /^application\/json/);
      const { id, createdAt, ...rest } = created.body;
      assert.match(id, UUID);
      assert.ok(!Number.isNaN(Date.parse(createdAt)));
      assert.deepEqual(rest, { url: all.url, events: ['USER_CREATED'], description: 'temporary' });

      const list = await client.root('GET', '/api/v2/webhooks');
      assert.deepEqual(list.body, { webhooks: [created.body] });
      assert.deepEqual((await client.root('GET', `/api/v2/webhooks/${id}`)).body, created.body);
      assert.equal((await client.root('DELETE', `/api/v2/webhooks/${id}`)).status, 204);
      assert.equal((await client.root('DELETE', `/api/v2/webhooks/${id}`)).status, 404);
      assert.deepEqual((await client.root('GET', '/api/v2/webhooks')).body, { webhooks: [] });
    });

    it('refuses unknown event types, bad or non-loopback URLs (400)', async () => {
      for (const body of [
        { url: all.url, events: ['USER_EXPLODED'] },
        { url: all.url, events: [] },
        { url: 'not a url', events: ['USER_CREATED'] },
        { url: 'http://192.0.2.1/hooks', events: ['USER_CREATED'] },
        { url: 'ftp://127.0.0.1/hooks', events: ['USER_CREATED'] },
      ]) {
        const res = await client.root('POST', '/api/v2/webhooks', { body });
        assert.equal(res.status, 400, JSON.stringify(body));
      }
    });
  });

  describe('deliveries', () => {
    before(async () => {
      for (const [url, events] of [
        [all.url, ALL_EVENTS],
        [deactivations.url, ['USER_DEACTIVATED']],
      ] as const) {
        const res = await client.root('POST', '/api/v2/webhooks', { body: { url, events } });
        assert.equal(res.status, 201);
      }
    });
    beforeEach(async () => {
      await sandbox.deliveriesIdle();
      all.received.length = 0;
      deactivations.received.length = 0;
      all.statuses.length = 0;
    });

    const types = (r: Receiver) => r.received.map((d) => d.body.eventType);

    it('delivers signed USER_CREATED / USER_UPDATED / USER_DEACTIVATED events for SCIM changes', async () => {
      const created = await client.scim('POST', '/Users', {
        body: { schemas: [USER], userName: 'hook.me', active: true },
      });
      assert.equal(created.status, 201);
      const id = created.body.id;
      await client.scim('PATCH', `/Users/${id}`, {
        body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Agent' }] },
      });
      await client.scim('PUT', `/Users/${id}`, {
        body: { schemas: [USER], userName: 'hook.me', title: 'Agent', active: false },
      });
      // An unchanged PUT changes nothing, so it notifies nobody.
      await client.scim('PUT', `/Users/${id}`, {
        body: { schemas: [USER], userName: 'hook.me', title: 'Agent', active: false },
      });
      await sandbox.deliveriesIdle();

      assert.deepEqual(types(all), ALL_EVENTS);
      assert.deepEqual(types(deactivations), ['USER_DEACTIVATED']);
      for (const delivery of [...all.received, ...deactivations.received]) {
        const { headers, rawBody, body } = delivery;
        assert.equal(headers['content-type'], 'application/json');
        assert.ok(
          signatureValid(
            sandbox.webhookSecret,
            headers['x-cxone-timestamp'] as string,
            headers['x-cxone-signature'] as string,
            rawBody,
          ),
        );
        assert.equal(headers['x-cxone-event-id'], body.eventId);
        assert.match(body.eventId, UUID);
        assert.equal(body.userId, id);
        assert.equal(body.tenantId, 'tenant-42');
        assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
        assert.equal(body.user.id, id);
        assert.equal(body.user.userName, 'hook.me');
        assert.equal(body.user.meta.resourceType, 'User');
      }
      assert.equal(all.received[2].body.user.active, false);
      assert.equal(all.received[1].body.user.title, 'Agent');
      assert.equal(
        signatureValid(
          'not-the-secret',
          all.received[0].headers['x-cxone-timestamp'] as string,
          all.received[0].headers['x-cxone-signature'] as string,
          all.received[0].rawBody,
        ),
        false,
      );
      const eventIds = new Set(all.received.map((d) => d.body.eventId));
      assert.equal(eventIds.size, 3, 'every event has its own id');

      // Deleting a user is, for CXone subscribers, a deactivation.
      await client.scim('DELETE', `/Users/${id}`);
      await sandbox.deliveriesIdle();
      assert.deepEqual(types(deactivations), ['USER_DEACTIVATED', 'USER_DEACTIVATED']);
    });

    it('delivers events for users created through Bulk', async () => {
      const res = await client.scim('POST', '/Bulk', {
        body: {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
          Operations: [
            { method: 'POST', path: '/Users', bulkId: 'a', data: { schemas: [USER], userName: 'bulk.hook.a' } },
            { method: 'POST', path: '/Users', bulkId: 'b', data: { schemas: [USER], userName: 'bulk.hook.b' } },
          ],
        },
      });
      assert.equal(res.status, 200);
      await sandbox.deliveriesIdle();
      assert.deepEqual(all.received.map((d) => `${d.body.eventType} ${d.body.user.userName}`).sort(), [
        'USER_CREATED bulk.hook.a',
        'USER_CREATED bulk.hook.b',
      ]);
    });

    it('delivers events for changes made in the (simulated) CXone console', async () => {
      const created = sandbox.adminCreateUser({ userName: 'console.user', displayName: 'Console User' });
      sandbox.adminUpdateUser(created.id as string, { displayName: 'Renamed' });
      sandbox.adminDeactivateUser(created.id as string);
      const viaHttp = await client.root('POST', '/admin/users', { body: { userName: 'console.http' }, token: null });
      assert.equal(viaHttp.status, 201, viaHttp.text);
      const patched = await client.root('PATCH', `/admin/users/${viaHttp.body.id}`, {
        body: { title: 'Lead' },
        token: null,
      });
      assert.equal(patched.body.title, 'Lead');
      const deactivated = await client.root('POST', `/admin/users/${viaHttp.body.id}/deactivate`, { token: null });
      assert.equal(deactivated.body.active, false);
      await sandbox.deliveriesIdle();

      assert.deepEqual(
        all.received.map((d) => `${d.body.eventType} ${d.body.user.userName}`),
        [
          'USER_CREATED console.user',
          'USER_UPDATED console.user',
          'USER_DEACTIVATED console.user',
          'USER_CREATED console.http',
          'USER_UPDATED console.http',
          'USER_DEACTIVATED console.http',
        ],
      );
      assert.equal(all.received[1].body.user.displayName, 'Renamed');
      assert.equal(deactivations.received.length, 2);
      assert.equal(sandbox.getUser(created.id as string)?.active, false);
    });

    it('retries a failed delivery with exponential backoff, keeping the eventId and re-signing', async () => {
      all.statuses.push(500, 503);
      const user = sandbox.adminCreateUser({ userName: 'retry.me' });
      await sandbox.deliveriesIdle();
      assert.equal(all.received.length, 3);
      const [first, second, third] = all.received;
      assert.equal(new Set(all.received.map((d) => d.body.eventId)).size, 1, 'same event each time');
      assert.equal(third.body.userId, user.id);
      assert.ok(second.at - first.at >= 35, `first retry after ${second.at - first.at} ms (initial delay 40)`);
      assert.ok(third.at - second.at >= 75, `second retry after ${third.at - second.at} ms (doubled)`);
      for (const d of all.received) {
        const ts = d.headers['x-cxone-timestamp'] as string;
        assert.ok(
          signatureValid(sandbox.webhookSecret, String(ts), d.headers['x-cxone-signature'] as string, d.rawBody),
        );
      }
      const log = sandbox.deliveryLog.filter((r) => r.eventId === first.body.eventId);
      assert.deepEqual(
        log.map((r) => [r.attempt, r.status, r.ok]),
        [
          [1, 500, false],
          [2, 503, false],
          [3, 200, true],
        ],
      );
      const viaAdmin = await client.root('GET', '/admin/deliveries', { token: null });
      assert.ok(viaAdmin.body.deliveries.some((r: { eventId: string }) => r.eventId === first.body.eventId));
    });

    it('gives up after the configured number of attempts, and retries network errors too', async () => {
      all.statuses.push(500, 500, 500, 500);
      const gone = await startReceiver();
      await gone.close(); // nothing listens on its port any more
      const sub = await client.root('POST', '/api/v2/webhooks', { body: { url: gone.url, events: ['USER_CREATED'] } });
      sandbox.adminCreateUser({ userName: 'never.delivered' });
      await sandbox.deliveriesIdle();
      assert.equal(all.received.length, 3, 'three attempts, then no more');
      const toGone = sandbox.deliveryLog.filter((r) => r.subscriptionId === sub.body.id);
      assert.deepEqual(
        toGone.map((r) => [r.attempt, r.ok, r.status]),
        [
          [1, false, undefined],
          [2, false, undefined],
          [3, false, undefined],
        ],
      );
      assert.ok(toGone.every((r) => r.error));
      await client.root('DELETE', `/api/v2/webhooks/${sub.body.id}`);
      all.statuses.length = 0;
    });
  });
});

describe('sandbox: webhook signature schemes', () => {
  it('signs with the nexus preset when configured: X-Nexus-Signature-256 over "timestamp.body", X-Nexus-Timestamp, X-Nexus-Delivery-Id', async () => {
    const sandbox = await startSandbox({ port: 0, webhookSecret: 'nexus-secret', webhookSignature: 'nexus' });
    const receiver = await startReceiver();
    try {
      const client = new SandboxClient(sandbox);
      const created = await client.root('POST', '/api/v2/webhooks', {
        body: { url: receiver.url, events: ALL_EVENTS },
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(created.status, 201, created.text);
      sandbox.adminCreateUser({ userName: 'nexus@example.com' });
      await sandbox.deliveriesIdle();
      const [delivery] = receiver.received;
      assert.equal(delivery.headers['x-cxone-signature'], undefined);
      assert.ok(
        signatureValid(
          'nexus-secret',
          delivery.headers['x-nexus-timestamp'] as string,
          delivery.headers['x-nexus-signature-256'] as string,
          delivery.rawBody,
        ),
      );
      assert.equal(delivery.headers['x-nexus-delivery-id'], delivery.body.eventId);
    } finally {
      await sandbox.close();
      await receiver.close();
    }
  });

  it('refuses an unknown preset', async () => {
    await assert.rejects(startSandbox({ port: 0, webhookSignature: 'github' as never }), /unknown preset "github"/);
  });
});

describe('sandbox: webhooks on the cxone profile', () => {
  it('manages subscriptions and delivers signed events for employees, activation included', async () => {
    const sandbox = await startSandbox({
      port: 0,
      profile: 'cxone',
      deliveryRetry: { attempts: 2, initialDelayMs: 20 },
    });
    const receiver = await startReceiver();
    try {
      const client = new SandboxClient(sandbox);
      const created = await client.root('POST', '/api/v2/webhooks', {
        body: { url: receiver.url, events: ALL_EVENTS },
      });
      assert.equal(created.status, 201, created.text);
      assert.deepEqual((await client.root('GET', '/api/v2/webhooks')).body, { webhooks: [created.body] });
      const ada = await client.scim('POST', '/Users', {
        body: {
          schemas: [USER],
          userName: 'hook@example.com',
          name: { givenName: 'Ada', familyName: 'Lovelace' },
          emails: [{ value: 'hook@example.com' }],
        },
      });
      assert.equal(ada.status, 201, ada.text);
      await client.activateUser(ada.body.id);
      await client.scim('PATCH', `/Users/${ada.body.id}`, {
        body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] },
      });
      await sandbox.deliveriesIdle();
      const nice = 'urn:ietf:params:scim:schemas:extension:nice:2.0:User';
      assert.deepEqual(
        receiver.received.map((d) => [d.body.eventType, d.body.user[nice].status]),
        [
          ['USER_CREATED', 'Pending'],
          ['USER_UPDATED', 'Active'],
          ['USER_DEACTIVATED', 'Active'],
        ],
      );
      for (const d of receiver.received) {
        assert.equal(d.body.userId, ada.body.id);
        assert.ok(
          signatureValid(
            sandbox.webhookSecret,
            d.headers['x-cxone-timestamp'] as string,
            d.headers['x-cxone-signature'] as string,
            d.rawBody,
          ),
        );
      }
      assert.equal((await client.root('DELETE', `/api/v2/webhooks/${created.body.id}`)).status, 204);
    } finally {
      await sandbox.close();
      await receiver.close();
    }
  });
});
