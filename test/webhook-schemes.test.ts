// Per-tenant signature schemes (presets, custom templates, secret rotation), delivered for real by
// the sandbox; and acknowledgement without a running worker.
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { SandboxClient, startSandbox, type Sandbox } from 'cxone-sandbox';
import { sandboxTenant } from '../src/cli/dev';
import { TenantRegistry, type TenantConfig } from '../src/config/tenants';
import type { TemporalEnvironment } from '../src/temporal/server';
import { silentLogger, startWebhookReceiver, type RunningReceiver } from '../src/webhooks/receiver';
import { sendSignedDelivery } from '../src/http/webhook-delivery';
import {
  parseSignatureScheme,
  signedHeaders,
  SIGNATURE_PRESETS,
  verifyWithScheme,
} from '../src/http/webhook-signature';
import { fixedClient } from '../src/webhooks/temporal-client';
import { stateQuery, userLifecycleWorkflowId } from '../src/workflows/user-lifecycle/workflow';
import { startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';

describe('webhook signature schemes', () => {
  const rawBody = '{"eventId":"e1"}';
  const now = 1_700_000_000_000;
  const ts = now / 1000;
  const headersOf = (h: Record<string, string>) => (name: string) => h[name];

  it('signs the nexus preset as X-Nexus-Signature-256 = sha256=<hex HMAC over "{timestamp}.{body}">', () => {
    const scheme = parseSignatureScheme('nexus');
    const headers = signedHeaders(scheme, 'k', rawBody, ts, 'e1');
    assert.deepEqual(headers, {
      'x-nexus-timestamp': String(ts),
      'x-nexus-signature-256': `sha256=${createHmac('sha256', 'k').update(`${ts}.${rawBody}`).digest('hex')}`,
      'x-nexus-delivery-id': 'e1',
    });
    assert.deepEqual(verifyWithScheme({ scheme, secrets: ['k'], header: headersOf(headers), rawBody, now }), {
      ok: true,
      secretIndex: 0,
    });
    // The cxone preset's headers say nothing to a nexus tenant.
    const cxone = signedHeaders(SIGNATURE_PRESETS.cxone, 'k', rawBody, ts);
    assert.deepEqual(verifyWithScheme({ scheme, secrets: ['k'], header: headersOf(cxone), rawBody, now }), {
      ok: false,
      reason: 'missing',
    });
  });

  it('takes a custom template, prefix, base64 and tolerance; accepts the previous secret during a rotation', () => {
    const scheme = parseSignatureScheme({
      signatureHeader: 'X-Sig',
      timestampHeader: 'X-Time',
      deliveryIdHeader: null,
      prefix: 'v1,',
      content: 'v1:{timestamp}:{body}',
      encoding: 'base64',
      toleranceSeconds: 60,
    });
    assert.equal(scheme.signatureHeader, 'x-sig');
    assert.equal(scheme.deliveryIdHeader, undefined);
    const headers = signedHeaders(scheme, 'old', rawBody, ts);
    assert.equal(headers['x-sig'], `v1,${createHmac('sha256', 'old').update(`v1:${ts}:${rawBody}`).digest('base64')}`);
    const verify = (secrets: string[], at = now) =>
      verifyWithScheme({ scheme, secrets, header: headersOf(headers), rawBody, now: at });
    assert.deepEqual(verify(['new', 'old']), { ok: true, secretIndex: 1 });
    assert.deepEqual(verify(['new']), { ok: false, reason: 'mismatch' });
    assert.deepEqual(verify(['new', 'old'], now + 61_000), { ok: false, reason: 'stale' });
    assert.deepEqual(
      verifyWithScheme({
        scheme,
        secrets: ['old'],
        header: headersOf({ ...headers, 'x-sig': 'sha256=abc' }),
        rawBody,
        now,
      }),
      { ok: false, reason: 'malformed' },
    );
  });

  it('names the tenant, the field and the reason of a bad setting', () => {
    assert.throws(
      () => parseSignatureScheme('github', 'tenant t: webhookSignature'),
      /tenant t: webhookSignature is invalid.*\n.*preset/,
    );
    assert.throws(() => parseSignatureScheme({ content: '{timestamp}' }), /content.*\{body\}/);
    assert.throws(() => parseSignatureScheme({ encoding: 'hex', toleranceSeconds: -1 }), /toleranceSeconds/);
    assert.throws(() => parseSignatureScheme({ signatureHeader: 'bad header' }), /signatureHeader/);
    assert.throws(() => parseSignatureScheme({ signatureHeaders: 'x' }), /unknown member\(s\) signatureHeaders/);
  });
});

describe('webhook receiver per tenant (sandbox → receiver → Temporal)', () => {
  let temporal: TemporalEnvironment;
  let nexus: Sandbox;
  let worker: TestWorker;
  let client: Client;
  let receiver: RunningReceiver;
  let tenant: TenantConfig;

  before(async () => {
    [nexus, temporal] = await Promise.all([
      startSandbox({ port: 0, webhookSecret: 'new-secret', webhookSignature: 'nexus' }),
      startTestTemporal(),
    ]);
    // The tenant rotates: the sandbox already signs with the new secret, the old one still counts.
    tenant = {
      ...sandboxTenant(nexus, 'nexus-tenant'),
      webhookSecret: 'new-secret',
      webhookPreviousSecret: 'old-secret',
      webhookSignature: 'nexus',
    };
    worker = await startTestWorker(temporal, [tenant]);
    client = temporal.testEnv.client;
    receiver = await startWebhookReceiver({
      tenants: new TenantRegistry([tenant]),
      temporal: fixedClient(client),
      taskQueue: worker.settings.taskQueue,
      log: silentLogger,
    });
  });

  after(async () => {
    await receiver?.close();
    await worker?.stop();
    await temporal?.stop();
    await nexus?.close();
  });

  const stateOf = (tenantId: string, userId: string) =>
    client.workflow.getHandle(userLifecycleWorkflowId(tenantId, userId)).query(stateQuery);
  async function waitFor<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const value = await read().catch(() => undefined);
      if (value !== undefined && ok(value)) return value;
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it("verifies the sandbox's nexus-signed deliveries, and the previous secret during the rotation", async () => {
    const subscribe = await fetch(nexus.webhooksUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await new SandboxClient(nexus).newToken()}`,
      },
      body: JSON.stringify({ url: receiver.callbackUrl('nexus-tenant'), events: ['USER_CREATED'] }),
    });
    assert.equal(subscribe.status, 201);
    const created = nexus.adminCreateUser({ userName: `nexus-${randomUUID()}@example.com` });
    const state = await waitFor(
      () => stateOf('nexus-tenant', String(created.id)),
      (s) => s.counts.applied === 1,
      'nexus delivery applied',
    );
    assert.equal(state.status, 'active');
    await nexus.deliveriesIdle();
    assert.deepEqual(
      nexus.deliveryLog.map((d) => d.status),
      [202],
    );

    const userId = `rotated-${randomUUID()}`;
    const event = { eventId: randomUUID(), eventType: 'USER_DEACTIVATED', userId, timestamp: new Date().toISOString() };
    const scheme = parseSignatureScheme('nexus');
    const url = receiver.callbackUrl('nexus-tenant');
    assert.equal((await sendSignedDelivery({ url, secret: 'old-secret', scheme, body: event })).status, 202);
    assert.equal(
      (await sendSignedDelivery({ url, secret: 'older-secret', scheme, body: { ...event, eventId: randomUUID() } }))
        .status,
      401,
    );
    assert.equal(
      (await sendSignedDelivery({ url, secret: 'new-secret', body: { ...event, eventId: randomUUID() } })).status,
      401,
      'cxone headers for a nexus tenant',
    );
  });

  it('refuses to start with a tenant whose signature setting is invalid, naming tenant and field', async () => {
    const broken = { ...tenant, tenantId: 'broken', webhookSignature: { preset: 'nexus', encoding: 'base32' } };
    await assert.rejects(
      startWebhookReceiver({
        tenants: new TenantRegistry([tenant, broken]),
        temporal: fixedClient(client),
        taskQueue: 'x',
        log: silentLogger,
      }),
      /tenant broken: webhookSignature is invalid[\s\S]*encoding/,
    );
  });

  it('acknowledges while no worker runs: Temporal holds the signal until one does', async () => {
    const idle = await startWebhookReceiver({
      tenants: new TenantRegistry([tenant]),
      temporal: fixedClient(client),
      taskQueue: `no-worker-${randomUUID()}`,
      log: silentLogger,
    });
    try {
      const userId = `no-worker-${randomUUID()}`;
      const event = {
        eventId: randomUUID(),
        eventType: 'USER_DEACTIVATED',
        userId,
        timestamp: new Date().toISOString(),
      };
      const send = () =>
        sendSignedDelivery({
          url: idle.callbackUrl('nexus-tenant'),
          secret: 'new-secret',
          scheme: parseSignatureScheme('nexus'),
          body: event,
        });
      assert.equal((await send()).status, 202);
      assert.equal((await send()).status, 202, 'a replay');
      const history = await client.workflow.getHandle(userLifecycleWorkflowId('nexus-tenant', userId)).fetchHistory();
      const signals = history.events?.filter((e) => e.workflowExecutionSignaledEventAttributes) ?? [];
      assert.equal(signals.length, 1, 'recorded once');
      assert.equal(signals[0].workflowExecutionSignaledEventAttributes?.signalName, 'lifecycleEvent');
    } finally {
      await idle.close();
    }
  });
});
