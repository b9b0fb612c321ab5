// The CXone webhook receiver: verify → validate → signal-with-start userLifecycle → acknowledge.
//
//   POST /webhooks/cxone/:tenant   (POST /webhooks/cxone: the default tenant)
//     404 unknown tenant · 500 tenant without a webhook secret
//     401 signature missing, malformed, stale (|now − timestamp| > tolerance) or wrong
//     413 body over the limit · 400 not JSON / a field missing or wrong (named by JSON path)
//     422 unknown eventType
//     503 Temporal unreachable or slow (+ Retry-After): the sender retries
//     202 only after Temporal accepted the signal
//   GET /healthz   liveness and counters · GET /readyz   200 when Temporal answers, else 503
//
// Nothing is signalled unless the signature is good and the event is valid. A replayed delivery
// (same body, same signature) inside the tolerance window is signalled again and acknowledged:
// the workflow ignores its eventId, so it changes nothing. Outside the window it is a 401.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AddressInfo } from 'node:net';
import { isGrpcServiceError } from '@temporalio/client';
import type { TenantRegistry } from '../config/tenants';
import { formatIssues } from '../scim/decode';
import {
  lifecycleEventSignal,
  userLifecycleWorkflowId,
  type IdpTarget,
  type userLifecycle,
  type UserLifecycleInput,
} from '../workflows/user-lifecycle';
import { LIFECYCLE_EVENT_TYPES, parseLifecycleEvent, type LifecycleEvent } from '../scim/lifecycle-events';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '../http/webhook-signature';
import type { TemporalClientSource } from './temporal-client';

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
export const DEFAULT_TOLERANCE_SECONDS = 300;
export const DEFAULT_TEMPORAL_TIMEOUT_MS = 3000;
/** Sent with 503: how soon the sender may try again. */
const RETRY_AFTER_SECONDS = 2;

export interface ReceiverLogger {
  info(message: string, attrs?: Record<string, unknown>): void;
  warn(message: string, attrs?: Record<string, unknown>): void;
  error(message: string, attrs?: Record<string, unknown>): void;
}

export const silentLogger: ReceiverLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export const consoleLogger = (verbose = false): ReceiverLogger => ({
  info: (m, a) => verbose && console.log(`[webhook] ${m}${a ? ` ${JSON.stringify(a)}` : ''}`),
  warn: (m, a) => console.warn(`[webhook] ${m}${a ? ` ${JSON.stringify(a)}` : ''}`),
  error: (m, a) => console.error(`[webhook] ${m}${a ? ` ${JSON.stringify(a)}` : ''}`),
});

export interface WebhookReceiverOptions {
  /** Tenants with their webhook secrets (worker-side configuration). */
  tenants: TenantRegistry;
  temporal: TemporalClientSource;
  /** The task queue the userLifecycle workflows run on. */
  taskQueue: string;
  /** The tenant of `POST /webhooks/cxone` (no tenant in the path). */
  defaultTenant?: string;
  /** Where each tenant's users are synced (passed to a workflow when the signal starts it). Default none. */
  idp?: IdpTarget | ((tenant: string) => IdpTarget);
  /** Passed to started workflows; tests force continue-as-new with it. */
  maxEventsPerRun?: number;
  toleranceSeconds?: number;
  bodyLimitBytes?: number;
  /** How long a signal may take before the receiver gives up and answers 503. */
  temporalTimeoutMs?: number;
  log?: ReceiverLogger;
  /** Epoch ms; tests move the clock. */
  now?: () => number;
}

export interface ReceiverMetrics {
  /** Requests answered, by status code. */
  responses: Record<string, number>;
  /** Signals Temporal accepted. */
  signalsAccepted: number;
  /** Signal attempts that failed (answered 503/500). */
  signalsFailed: number;
}

type Answer = { status: number; body: Record<string, unknown>; headers?: Record<string, string> };

/** Builds the receiver (not listening yet): fastify with a raw-body parser, so the HMAC covers the exact bytes. */
export function buildWebhookReceiver(options: WebhookReceiverOptions): { app: FastifyInstance; metrics: ReceiverMetrics } {
  const log = options.log ?? consoleLogger();
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const temporalTimeoutMs = options.temporalTimeoutMs ?? DEFAULT_TEMPORAL_TIMEOUT_MS;
  const now = options.now ?? Date.now;
  const idpFor = (tenant: string): IdpTarget =>
    typeof options.idp === 'function' ? options.idp(tenant) : (options.idp ?? { type: 'none' });
  const metrics: ReceiverMetrics = { responses: {}, signalsAccepted: 0, signalsFailed: 0 };

  const app = Fastify({ bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES, logger: false });
  // Every body stays the raw Buffer: the signature is over the bytes as sent, not over a re-serialization.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.addHook('onSend', async (_request, reply, payload) => {
    const key = String(reply.statusCode);
    metrics.responses[key] = (metrics.responses[key] ?? 0) + 1;
    return payload;
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    const tooLarge = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
    (status >= 500 ? log.error : log.warn)('request refused', { url: request.url, status, error: err.message });
    void reply.status(status).send({
      error: tooLarge ? 'body too large' : status >= 500 ? 'internal error' : 'bad request',
      detail: tooLarge ? `the body exceeds the limit of ${app.initialConfig.bodyLimit} bytes` : err.message,
    });
  });

  async function signal(tenant: string, event: LifecycleEvent): Promise<Answer> {
    const workflowId = userLifecycleWorkflowId(tenant, event.userId);
    const input: UserLifecycleInput = {
      tenant,
      userId: event.userId,
      idp: idpFor(tenant),
      ...(options.maxEventsPerRun !== undefined ? { maxEventsPerRun: options.maxEventsPerRun } : {}),
    };
    const deadline = Date.now() + temporalTimeoutMs;
    try {
      const client = await options.temporal.get();
      const handle = await client.withDeadline(deadline, () =>
        client.workflow.signalWithStart<typeof userLifecycle, [LifecycleEvent]>('userLifecycle', {
          workflowId,
          taskQueue: options.taskQueue,
          args: [input],
          signal: lifecycleEventSignal,
          signalArgs: [event],
        }),
      );
      metrics.signalsAccepted++;
      log.info('event accepted', { tenant, eventId: event.eventId, eventType: event.eventType, workflowId });
      return { status: 202, body: { status: 'accepted', eventId: event.eventId, workflowId, runId: handle.signaledRunId } };
    } catch (err) {
      metrics.signalsFailed++;
      const unavailable = isTemporalUnavailable(err);
      log.error('Temporal did not accept the signal', { tenant, eventId: event.eventId, workflowId, error: (err as Error)?.message });
      return unavailable
        ? {
            status: 503,
            body: { error: 'temporal unavailable', detail: 'the event was not recorded; retry later' },
            headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
          }
        : { status: 500, body: { error: 'signal failed', detail: 'the event was not recorded; retry later' } };
    }
  }

  async function receive(tenantId: string, request: FastifyRequest): Promise<Answer> {
    let secret: string | undefined;
    try {
      secret = options.tenants.get(tenantId).webhookSecret;
    } catch {
      return { status: 404, body: { error: 'unknown tenant', detail: `no tenant ${JSON.stringify(tenantId)} is configured` } };
    }
    if (!secret) {
      log.error('tenant has no webhook secret: cannot verify deliveries', { tenant: tenantId });
      return { status: 500, body: { error: 'tenant not configured for webhooks', detail: `tenant ${tenantId} has no webhook secret` } };
    }

    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const verdict = verifySignature({
      secret,
      timestamp: header(request, TIMESTAMP_HEADER),
      signature: header(request, SIGNATURE_HEADER),
      rawBody,
      toleranceSeconds: tolerance,
      now: now(),
    });
    if (!verdict.ok) {
      return { status: 401, body: { error: 'invalid signature', reason: verdict.reason, detail: SIGNATURE_PROBLEMS[verdict.reason] } };
    }

    let json: unknown;
    try {
      json = JSON.parse(rawBody.toString('utf8'));
    } catch {
      return { status: 400, body: { error: 'malformed event', detail: 'the body is not valid JSON', issues: [{ path: '$', message: 'not valid JSON' }] } };
    }
    const parsed = parseLifecycleEvent(json);
    if (!parsed.ok && parsed.kind === 'unknown-type') {
      return {
        status: 422,
        body: { error: 'unknown event type', eventType: parsed.eventType, known: LIFECYCLE_EVENT_TYPES, detail: formatIssues(parsed.issues), issues: parsed.issues },
      };
    }
    if (!parsed.ok) {
      return { status: 400, body: { error: 'malformed event', detail: formatIssues(parsed.issues), issues: parsed.issues } };
    }
    const headerEventId = header(request, EVENT_ID_HEADER);
    if (headerEventId !== undefined && headerEventId !== parsed.event.eventId) {
      const detail = `header ${EVENT_ID_HEADER} (${JSON.stringify(headerEventId)}) differs from $.eventId (${JSON.stringify(parsed.event.eventId)})`;
      return { status: 400, body: { error: 'malformed event', detail, issues: [{ path: '$.eventId', message: detail }] } };
    }
    return signal(tenantId, parsed.event);
  }

  async function route(tenantId: string | undefined, request: FastifyRequest, reply: FastifyReply) {
    const started = performance.now();
    const answer: Answer = tenantId
      ? await receive(tenantId, request)
      : { status: 404, body: { error: 'no default tenant', detail: 'use POST /webhooks/cxone/{tenant}' } };
    if (answer.status >= 400 && answer.status < 500) {
      log.warn('delivery rejected', {
        tenant: tenantId,
        status: answer.status,
        error: answer.body.error,
        detail: answer.body.detail ?? answer.body.reason,
        eventId: header(request, EVENT_ID_HEADER),
      });
    }
    return reply
      .status(answer.status)
      .headers({ ...answer.headers, 'x-receiver-ms': (performance.now() - started).toFixed(1) })
      .send(answer.body);
  }

  app.post<{ Params: { tenant: string } }>('/webhooks/cxone/:tenant', (request, reply) => route(request.params.tenant, request, reply));
  app.post('/webhooks/cxone', (request, reply) => route(options.defaultTenant, request, reply));

  app.get('/healthz', async () => ({ status: 'ok', taskQueue: options.taskQueue, ...metrics }));
  app.get('/readyz', async (_request, reply) => {
    try {
      const client = await options.temporal.get();
      await client.withDeadline(Date.now() + temporalTimeoutMs, () => client.connection.workflowService.getSystemInfo({}));
      return { status: 'ready', temporal: 'reachable' };
    } catch (err) {
      return reply.status(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({ status: 'not ready', temporal: 'unreachable', detail: (err as Error)?.message });
    }
  });

  return { app, metrics };
}

export interface RunningReceiver {
  url: string;
  app: FastifyInstance;
  metrics: ReceiverMetrics;
  /** The callback URL for a tenant, e.g. for registerWebhooks. */
  callbackUrl(tenant?: string): string;
  close(): Promise<void>;
}

/** Builds and starts the receiver (loopback by default; port 0 picks a free port). */
export async function startWebhookReceiver(options: WebhookReceiverOptions & { port?: number; host?: string }): Promise<RunningReceiver> {
  const { app, metrics } = buildWebhookReceiver(options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port ?? 0, host });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url,
    app,
    metrics,
    callbackUrl: (tenant) => (tenant ? `${url}/webhooks/cxone/${encodeURIComponent(tenant)}` : `${url}/webhooks/cxone`),
    close: () => app.close(),
  };
}

const SIGNATURE_PROBLEMS = {
  missing: `the ${SIGNATURE_HEADER} or ${TIMESTAMP_HEADER} header is missing`,
  malformed: `${SIGNATURE_HEADER} must be sha256=<64 hex digits> and ${TIMESTAMP_HEADER} unix seconds`,
  stale: 'the timestamp is outside the tolerance window (replayed or clock skew)',
  mismatch: 'the signature does not match the body',
} as const;

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

// gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html) that mean "not now".
const TRANSIENT_GRPC = new Set([1 /* CANCELLED */, 2 /* UNKNOWN */, 4 /* DEADLINE_EXCEEDED */, 8 /* RESOURCE_EXHAUSTED */, 14 /* UNAVAILABLE */]);

/** True for "Temporal is unreachable or overloaded"; false for errors a retry will not fix. */
export function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e)) return TRANSIENT_GRPC.has(e.code);
  }
  // Connection failures and our own timeout carry no gRPC status.
  return true;
}
