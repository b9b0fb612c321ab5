import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { sandboxTenant } from '../src/cli/dev';
import { TenantRegistry, type TenantConfig } from '../src/config/tenants';
import { SandboxClient, startSandbox, type Sandbox } from 'cxone-sandbox';
import type { TemporalEnvironment } from '../src/temporal/server';
import { silentLogger, startWebhookReceiver, type RunningReceiver } from '../src/webhooks/receiver';
import { sendRaw, sendSignedDelivery } from '../src/http/webhook-delivery';
import { SIGNATURE_HEADER, signPayload, TIMESTAMP_HEADER } from '../src/http/webhook-signature';
import { fixedClient, LazyTemporalClient } from '../src/webhooks/temporal-client';
import { registerWebhooks } from '../src/workflows/register-webhooks';
import { reportQuery } from '../src/workflows/report';
import { stateQuery, userLifecycleWorkflowId } from '../src/workflows/user-lifecycle/workflow';
import { startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';

// End to end: the CXone sandbox's real, signed webhook deliveries → the receiver → Temporal
// (signal-with-start userLifecycle) → the worker → a second sandbox standing in for the IdP.

const CXONE_SECRET = 'cxone-webhook-secret-e2e';
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';

async function waitFor<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
}

/**
 * A TCP proxy in front of Temporal: `down()` refuses and cuts every connection, `up()` accepts again;
 * `stall()` keeps the connections open but forwards nothing (a Temporal that does not answer), `flow()` ends that.
 */
class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly clients = new Set<net.Socket>();
  private stalled = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  stall(): void {
    this.stalled = true;
    for (const c of this.clients) c.pause();
  }

  flow(): void {
    this.stalled = false;
    for (const c of this.clients) c.resume();
  }

  async up(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      this.clients.add(client);
      client.on('close', () => this.clients.delete(client));
      client.pipe(upstream).pipe(client);
      if (this.stalled) client.pause();
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('webhooks end to end (sandbox → receiver → Temporal → IdP)', () => {
  let temporal: TemporalEnvironment;
  let cxone: Sandbox;
  let idp: Sandbox;
  let worker: TestWorker;
  let client: Client;
  let receiver: RunningReceiver;
  let cxoneTenant: TenantConfig;
  let clockSkewMs = 0;

  before(async () => {
    [cxone, idp, temporal] = await Promise.all([
      startSandbox({
        port: 0,
        webhookSecret: CXONE_SECRET,
        deliveryRetry: { attempts: 8, initialDelayMs: 300, timeoutMs: 5000 },
      }),
      startSandbox({ port: 0, tenantId: 'idp-tenant' }),
      startTestTemporal(),
    ]);
    cxoneTenant = { ...sandboxTenant(cxone, 'cxone'), webhookSecret: CXONE_SECRET };
    const idpTenant = sandboxTenant(idp, 'idp');
    worker = await startTestWorker(temporal, [cxoneTenant, idpTenant]);
    client = temporal.testEnv.client;
    receiver = await startWebhookReceiver({
      tenants: new TenantRegistry([cxoneTenant, idpTenant]),
      temporal: fixedClient(client),
      taskQueue: worker.settings.taskQueue,
      defaultTenant: 'cxone',
      idp: { type: 'scim', tenant: 'idp' },
      log: silentLogger,
      now: () => Date.now() + clockSkewMs,
    });
  });

  after(async () => {
    await receiver?.close();
    await worker?.stop();
    await temporal?.stop();
    await Promise.all([cxone?.close(), idp?.close()]);
  });

  const lifecycle = (userId: string, tenant = 'cxone') =>
    client.workflow.getHandle(userLifecycleWorkflowId(tenant, userId));
  const stateOf = (userId: string, tenant = 'cxone') => lifecycle(userId, tenant).query(stateQuery);
  const idpUser = (cxoneId: string) => idp.listUsers().find((u) => u.externalId === cxoneId);
  const deliveriesOf = (sandbox: Sandbox, userEventIds: Set<string>) =>
    sandbox.deliveryLog.filter((d) => userEventIds.has(d.eventId));

  it('registerWebhooks creates the missing subscriptions (201) and a re-run changes nothing', async () => {
    const url = receiver.callbackUrl('cxone');
    const first = await client.workflow.execute(registerWebhooks, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `register-${randomUUID()}`,
      args: [{ tenant: 'cxone', url }],
    });
    assert.equal(first.changed, true);
    assert.deepEqual(first.created?.events, ['USER_CREATED', 'USER_UPDATED', 'USER_DEACTIVATED']);
    assert.equal(first.created?.url, url);
    assert.ok(cxone.requestLog.some((r) => r.method === 'POST' && r.path === '/api/v2/webhooks' && r.status === 201));

    cxone.clearRequestLog();
    const handle = await client.workflow.start(registerWebhooks, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `register-${randomUUID()}`,
      args: [{ tenant: 'cxone', url }],
    });
    const second = await handle.result();
    assert.equal(second.changed, false);
    assert.equal(second.created, undefined);
    assert.deepEqual(
      second.existing.map((s) => s.id),
      [first.created?.id],
    );
    assert.deepEqual(second.alreadyCovered, ['USER_CREATED', 'USER_UPDATED', 'USER_DEACTIVATED']);
    assert.deepEqual(
      cxone.requestLog.filter((r) => r.path.startsWith('/api/v2/webhooks')).map((r) => `${r.method} ${r.status}`),
      ['GET 200'],
    );
    const report = await handle.query(reportQuery);
    assert.deepEqual(
      report.steps.map((s) => s.outcome),
      ['succeeded', 'skipped'],
    );

    const bad = await client.workflow.start(registerWebhooks, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `register-${randomUUID()}`,
      args: [{ tenant: 'cxone', url: 'not a url', events: ['USER_EXPLODED'] }],
    });
    await assert.rejects(
      bad.result(),
      (err: unknown) =>
        err instanceof WorkflowFailedError &&
        /url: not an absolute URL.*USER_EXPLODED/.test(String(err.cause?.message)),
    );
  });

  it("delivers the sandbox's real events for create, update and deactivate to the workflow and the IdP", async () => {
    const userName = `grace-${randomUUID().slice(0, 8)}@example.com`;
    const created = cxone.adminCreateUser({
      userName,
      displayName: 'Grace',
      emails: [{ value: userName, type: 'work', primary: true }],
      active: true,
    });
    const userId = String(created.id);
    let state = await waitFor(
      () => stateOf(userId),
      (s) => s.counts.applied === 1,
      'USER_CREATED applied',
    );
    assert.equal(state.status, 'active');
    assert.equal(state.idpSync, 'in-sync');
    assert.equal(idpUser(userId)?.userName, userName);
    assert.equal(idpUser(userId)?.id, state.idpUserId);

    cxone.adminUpdateUser(userId, { displayName: 'Grace Hopper', title: 'Rear Admiral' });
    state = await waitFor(
      () => stateOf(userId),
      (s) => s.counts.applied === 2,
      'USER_UPDATED applied',
    );
    assert.equal(idpUser(userId)?.displayName, 'Grace Hopper');
    assert.equal(idpUser(userId)?.title, 'Rear Admiral');

    cxone.adminDeactivateUser(userId);
    state = await waitFor(
      () => stateOf(userId),
      (s) => s.counts.applied === 3,
      'USER_DEACTIVATED applied',
    );
    assert.equal(state.status, 'inactive');
    assert.equal(idpUser(userId)?.active, false);
    assert.deepEqual(
      state.recent.map((r) => r.eventType),
      ['USER_CREATED', 'USER_UPDATED', 'USER_DEACTIVATED'],
    );
    assert.deepEqual(
      state.recent.map((r) => r.idpOperation),
      ['created', 'patched', 'deactivated'],
    );

    await cxone.deliveriesIdle();
    const deliveries = deliveriesOf(cxone, new Set(state.recent.map((r) => r.eventId)));
    assert.deepEqual(
      deliveries.map((d) => d.status),
      [202, 202, 202],
      'each delivered once, acknowledged with 202',
    );
  });

  it('rejects forged, stale and malformed requests and unknown event types, signalling nothing', async () => {
    const url = receiver.callbackUrl('cxone');
    const accepted = receiver.metrics.signalsAccepted;
    const ids: string[] = [];
    const body = (over: Record<string, unknown> = {}) => {
      const userId = `never-${randomUUID()}`;
      ids.push(userId);
      return {
        eventId: randomUUID(),
        eventType: 'USER_CREATED',
        userId,
        timestamp: new Date().toISOString(),
        tenantId: 'sandbox-tenant',
        user: { schemas: [USER_SCHEMA], id: userId, userName: `${userId}@example.com` },
        ...over,
      };
    };

    const rejected = () => ({ ...receiver.metrics.rejected.cxone });
    const before = rejected();
    const forged = await sendSignedDelivery({ url, secret: 'not-the-secret', body: body() });
    assert.equal(forged.status, 401);
    assert.equal(forged.body?.error, 'invalid signature');

    const unsigned = await sendSignedDelivery({ url, secret: CXONE_SECRET, body: body(), signature: null });
    const garbled = await sendSignedDelivery({ url, secret: CXONE_SECRET, body: body(), signature: 'sha256=xyz' });
    const stale = await sendSignedDelivery({
      url,
      secret: CXONE_SECRET,
      body: body(),
      timestamp: Math.floor(Date.now() / 1000) - 301,
    });
    // Signed body A, sent body B.
    const original = JSON.stringify(body());
    const ts = Math.floor(Date.now() / 1000);
    const tampered = await sendRaw(url, original.replace('USER_CREATED', 'USER_UPDATED'), {
      'content-type': 'application/json',
      [TIMESTAMP_HEADER]: String(ts),
      [SIGNATURE_HEADER]: signPayload({ secret: CXONE_SECRET, timestamp: ts, rawBody: original }),
    });
    // One answer for every signature problem (the reason goes to the log and the metrics only)…
    for (const answer of [unsigned, garbled, stale, tampered]) {
      assert.equal(answer.status, 401);
      assert.deepEqual(answer.body, forged.body);
    }
    const after = rejected();
    const grew = (reason: keyof typeof after) => (after[reason] ?? 0) - (before[reason] ?? 0);
    assert.deepEqual(
      [grew('signature-mismatch'), grew('signature-missing'), grew('signature-malformed'), grew('signature-stale')],
      [2, 1, 1, 1],
    );
    // …and an unknown tenant gets exactly that answer too, so tenant ids cannot be discovered.
    const unknownTenant = await sendSignedDelivery({
      url: receiver.callbackUrl('nobody'),
      secret: CXONE_SECRET,
      body: body(),
    });
    assert.equal(unknownTenant.status, 401);
    assert.deepEqual(unknownTenant.body, forged.body);
    assert.equal(receiver.metrics.rejected['(unknown)']?.['unknown-tenant'], 1);
    assert.equal(receiver.metrics.rejected.nobody, undefined, 'a stranger-chosen id is never a metrics label');

    const notJson = await sendSignedDelivery({ url, secret: CXONE_SECRET, rawBody: '{"eventId": ' });
    assert.equal(notJson.status, 400);
    assert.match(String(notJson.body?.detail), /not valid JSON/);

    const { userId: _dropped, ...withoutUserId } = body();
    const missing = await sendSignedDelivery({ url, secret: CXONE_SECRET, body: withoutUserId });
    assert.equal(missing.status, 400);
    assert.match(String(missing.body?.detail), /\$\.userId: required attribute is missing/);

    const badTime = await sendSignedDelivery({ url, secret: CXONE_SECRET, body: body({ timestamp: 'yesterday' }) });
    assert.equal(badTime.status, 400);
    assert.match(String(badTime.body?.detail), /\$\.timestamp: expected RFC 3339 date-time string/);

    const noUser = await sendSignedDelivery({ url, secret: CXONE_SECRET, body: body({ user: undefined }) });
    assert.equal(noUser.status, 400);
    assert.match(String(noUser.body?.detail), /\$\.user: required for USER_CREATED/);

    const unknownType = await sendSignedDelivery({
      url,
      secret: CXONE_SECRET,
      body: body({ eventType: 'USER_PROMOTED' }),
    });
    assert.equal(unknownType.status, 422);
    assert.equal(unknownType.body?.eventType, 'USER_PROMOTED');

    const huge = await sendSignedDelivery({
      url,
      secret: CXONE_SECRET,
      body: body({ padding: 'x'.repeat(2 * 1024 * 1024) }),
    });
    assert.equal(huge.status, 413);
    assert.equal(receiver.metrics.rejected.cxone?.['body-too-large'], 1);

    const metrics = await (await fetch(`${receiver.url}/metrics`)).text();
    assert.match(metrics, /^cxone_webhook_rejected_total\{tenant="cxone",reason="signature-mismatch"\} \d+$/m);
    assert.match(metrics, /^cxone_webhook_rejected_total\{tenant="\(unknown\)",reason="unknown-tenant"\} 1$/m);

    assert.equal(receiver.metrics.signalsAccepted, accepted, 'no signal was sent');
    for (const userId of ids) {
      await assert.rejects(lifecycle(userId).describe(), WorkflowNotFoundError, `no workflow for ${userId}`);
    }
  });

  it('acknowledges a delivery replayed 10× inside the window without a trace in history; outside it, 401', async () => {
    const userId = `replay-${randomUUID()}`;
    const event = {
      eventId: randomUUID(),
      eventType: 'USER_CREATED',
      userId,
      timestamp: new Date().toISOString(),
      user: { schemas: [USER_SCHEMA], id: userId, userName: `${userId}@example.com`, active: true },
    };
    const url = receiver.callbackUrl(); // the default tenant's route
    const first = await sendSignedDelivery({ url, secret: CXONE_SECRET, body: event });
    assert.equal(first.status, 202);
    assert.equal(first.body?.workflowId, userLifecycleWorkflowId('cxone', userId));
    await waitFor(
      () => stateOf(userId),
      (s) => s.counts.applied === 1 && s.pending === 0,
      'first delivery applied',
    );
    const idpRequests = idp.requestLog.length;
    const historyBefore = (await lifecycle(userId).fetchHistory()).events?.length;

    for (let i = 0; i < 10; i++) {
      const replay = await sendRaw(url, first.sent.rawBody, first.sent.headers);
      assert.equal(replay.status, 202, `replay ${i} acknowledged`);
    }
    assert.equal(
      (await lifecycle(userId).fetchHistory()).events?.length,
      historyBefore,
      'the replays added nothing to history',
    );
    const state = await stateOf(userId);
    assert.equal(state.counts.received, 1);
    assert.equal(state.counts.applied, 1);
    assert.equal(idp.requestLog.length, idpRequests, 'the IdP saw nothing of the replays');
    assert.equal(idp.listUsers().filter((u) => u.externalId === userId).length, 1);

    clockSkewMs = 301_000;
    try {
      const late = await sendRaw(url, first.sent.rawBody, first.sent.headers);
      assert.equal(late.status, 401);
    } finally {
      clockSkewMs = 0;
    }
    assert.equal(
      (await lifecycle(userId).fetchHistory()).events?.length,
      historyBefore,
      'the stale replay never reached Temporal',
    );
  });

  it("answers 503 while Temporal is unreachable, and the sandbox's later retry succeeds", async () => {
    const [host, port] = temporal.address.split(':');
    const proxy = new TcpProxy({ host: host === 'localhost' ? '127.0.0.1' : host, port: Number(port) });
    await proxy.up();
    const cxone2 = await startSandbox({
      port: 0,
      webhookSecret: CXONE_SECRET,
      deliveryRetry: { attempts: 10, initialDelayMs: 250, timeoutMs: 10_000 },
    });
    const tenant2 = { ...sandboxTenant(cxone2, 'cxone2'), webhookSecret: CXONE_SECRET };
    const temporal2 = new LazyTemporalClient({
      address: `127.0.0.1:${proxy.port}`,
      namespace: temporal.namespace,
      taskQueue: worker.settings.taskQueue,
    });
    const receiver2 = await startWebhookReceiver({
      tenants: new TenantRegistry([tenant2]),
      temporal: temporal2,
      taskQueue: worker.settings.taskQueue,
      temporalTimeoutMs: 1500,
      log: silentLogger,
    });
    try {
      // Subscribe directly (this worker does not know cxone2); the first delivery goes through.
      const subscribe = await fetch(cxone2.webhooksUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await new SandboxClient(cxone2).newToken()}`,
        },
        body: JSON.stringify({
          url: receiver2.callbackUrl('cxone2'),
          events: ['USER_CREATED', 'USER_UPDATED', 'USER_DEACTIVATED'],
        }),
      });
      assert.equal(subscribe.status, 201);
      const warm = cxone2.adminCreateUser({ userName: `warm-${randomUUID()}@example.com` });
      await waitFor(
        () => stateOf(String(warm.id), 'cxone2'),
        (s) => s.counts.applied === 1,
        'warm-up event applied',
      );
      assert.equal((await fetch(`${receiver2.url}/readyz`)).status, 200);

      await proxy.down();
      const created = cxone2.adminCreateUser({ userName: `outage-${randomUUID()}@example.com` });
      const userId = String(created.id);
      await waitFor(
        async () => cxone2.deliveryLog.filter((d) => d.status === 503).length,
        (n) => n >= 2,
        'two 503 answers',
      );
      assert.equal((await fetch(`${receiver2.url}/readyz`)).status, 503);
      await assert.rejects(
        lifecycle(userId, 'cxone2').describe(),
        WorkflowNotFoundError,
        'nothing signalled while Temporal is down',
      );

      await proxy.up();
      const state = await waitFor(
        () => stateOf(userId, 'cxone2'),
        (s) => s.counts.applied === 1,
        'retried delivery applied',
        45_000,
      );
      assert.equal(state.status, 'active');
      await cxone2.deliveriesIdle();
      const attempts = cxone2.deliveryLog.filter(
        (d) => d.eventType === 'USER_CREATED' && d.eventId === state.lastApplied?.eventId,
      );
      assert.ok(attempts.length >= 3, `retried (${attempts.length} attempts)`);
      assert.ok(
        attempts.slice(0, -1).every((a) => a.status === 503),
        `earlier attempts got 503: ${attempts.map((a) => a.status ?? a.error).join(', ')}`,
      );
      assert.equal(attempts[attempts.length - 1].status, 202, 'the last attempt was acknowledged');
      assert.equal(state.counts.received, 1);
    } finally {
      await receiver2.close();
      await temporal2.close();
      await cxone2.close();
      await proxy.down();
    }
  });

  it('answers 503 within the timeout while Temporal does not answer, and 202 once it does', async () => {
    const [host, port] = temporal.address.split(':');
    const proxy = new TcpProxy({ host: host === 'localhost' ? '127.0.0.1' : host, port: Number(port) });
    await proxy.up();
    const slow = new LazyTemporalClient({
      address: `127.0.0.1:${proxy.port}`,
      namespace: temporal.namespace,
      taskQueue: worker.settings.taskQueue,
    });
    const timeoutMs = 800;
    const receiver4 = await startWebhookReceiver({
      tenants: new TenantRegistry([cxoneTenant]),
      temporal: slow,
      taskQueue: worker.settings.taskQueue,
      temporalTimeoutMs: timeoutMs,
      log: silentLogger,
    });
    const url = receiver4.callbackUrl('cxone');
    const deliver = (userId: string, eventId: string) =>
      sendSignedDelivery({
        url,
        secret: CXONE_SECRET,
        body: { eventId, eventType: 'USER_DEACTIVATED', userId, timestamp: new Date().toISOString() },
      });
    try {
      const warm = await deliver(`warm-${randomUUID()}`, randomUUID());
      assert.equal(warm.status, 202, 'connected through the proxy');

      proxy.stall();
      const userId = `stalled-${randomUUID()}`;
      const eventId = randomUUID();
      const started = Date.now();
      const answer = await deliver(userId, eventId);
      const tookMs = Date.now() - started;
      assert.equal(answer.status, 503);
      assert.equal(answer.headers.get('retry-after'), '2');
      assert.ok(tookMs >= timeoutMs && tookMs < timeoutMs + 1500, `answered after ${tookMs} ms`);
      assert.equal((await fetch(`${receiver4.url}/readyz`)).status, 503);
      await assert.rejects(lifecycle(userId).describe(), WorkflowNotFoundError, 'nothing recorded while stalled');

      proxy.flow();
      // The stalled call may now reach Temporal too: the retry has the same request id, so the
      // event is recorded once either way.
      const retried = await waitFor(
        () => deliver(userId, eventId),
        (r) => r.status === 202,
        'the retry acknowledged',
      );
      assert.equal(retried.status, 202);
      const state = await waitFor(
        () => stateOf(userId),
        (s) => s.counts.received >= 1 && s.pending === 0,
        'the event applied',
      );
      assert.equal(state.counts.received, 1, 'recorded once');
      assert.equal((await fetch(`${receiver4.url}/readyz`)).status, 200);
    } finally {
      await receiver4.close();
      await slow.close();
      await proxy.down();
    }
  });

  it("answers 500 with Temporal's reason when it refuses the signal (not 503: retrying cannot help)", async () => {
    const refusals: Array<{ namespace: string; taskQueue: string; reason: RegExp }> = [
      { namespace: `no-such-namespace-${randomUUID().slice(0, 8)}`, taskQueue: 'q', reason: /no-such-namespace/ },
      // INVALID_ARGUMENT from the server, as the native connection reports it (code, empty details)
      { namespace: temporal.namespace, taskQueue: 'q'.repeat(2000), reason: /taskQueue length exceeds limit/ },
    ];
    for (const { namespace, taskQueue, reason } of refusals) {
      const refusing = new LazyTemporalClient({ address: temporal.address, namespace, taskQueue });
      const logged: Array<Record<string, unknown> | undefined> = [];
      const receiver5 = await startWebhookReceiver({
        tenants: new TenantRegistry([cxoneTenant]),
        temporal: refusing,
        taskQueue,
        log: { ...silentLogger, error: (_message, attrs) => logged.push(attrs) },
      });
      try {
        const answer = await sendSignedDelivery({
          url: receiver5.callbackUrl('cxone'),
          secret: CXONE_SECRET,
          body: {
            eventId: randomUUID(),
            eventType: 'USER_DEACTIVATED',
            userId: 'x',
            timestamp: new Date().toISOString(),
          },
        });
        assert.equal(answer.status, 500, namespace);
        assert.equal(logged.length, 1);
        assert.equal(logged[0]?.reason, 'temporal-error');
        assert.match(String(logged[0]?.detail), /^Temporal refused the signal: /);
        assert.match(String(logged[0]?.detail), reason);
      } finally {
        await receiver5.close();
        await refusing.close();
      }
    }
  });

  it('answers 503 (and /readyz 503, /healthz 200) when Temporal was never reachable', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const unreachable = new LazyTemporalClient({
      address: `127.0.0.1:${closedPort}`,
      namespace: 'default',
      taskQueue: 'x',
    });
    const receiver3 = await startWebhookReceiver({
      tenants: new TenantRegistry([cxoneTenant]),
      temporal: unreachable,
      taskQueue: 'x',
      temporalTimeoutMs: 1000,
      log: silentLogger,
    });
    try {
      const userId = `down-${randomUUID()}`;
      const answer = await sendSignedDelivery({
        url: receiver3.callbackUrl('cxone'),
        secret: CXONE_SECRET,
        body: { eventId: randomUUID(), eventType: 'USER_DEACTIVATED', userId, timestamp: new Date().toISOString() },
      });
      assert.equal(answer.status, 503);
      assert.equal(answer.headers.get('retry-after'), '2');
      assert.equal((await fetch(`${receiver3.url}/readyz`)).status, 503);
      const health = await fetch(`${receiver3.url}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(((await health.json()) as { signalsFailed: number }).signalsFailed, 1);
    } finally {
      await receiver3.close();
      await unreachable.close();
    }
  });
});
