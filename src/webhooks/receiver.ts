// The CXone webhook receiver: verify → validate → hand to userLifecycle → acknowledge.
//
//   POST /webhooks/cxone/:tenant   (POST /webhooks/cxone: the default tenant)
//     401 signature missing, malformed, stale (|now − timestamp| > tolerance) or wrong — and,
//         with the very same body, an unknown tenant or one without a secret (no enumeration)
//     413 body over the limit (checked while reading, before anything is parsed)
//     400 not JSON / a field missing or wrong / a key __proto__, constructor or prototype anywhere
//         (each named by JSON path) · 422 unknown eventType
//     503 Temporal unreachable, overloaded or slow, or too many deliveries waiting (+ Retry-After)
//     500 Temporal refused the signal (e.g. unknown namespace): a misconfiguration, logged with its reason
//     202 once Temporal recorded the event; a replay into the same run is answered 202 too and
//         writes nothing (Temporal drops a signal whose request id, derived from the event, it has)
//   GET /healthz   liveness and counters · GET /readyz   200 when Temporal answers, else 503
//   GET /metrics   the counters in Prometheus text, rejected deliveries per tenant and reason
//
// Each tenant has its own signature scheme (header names, signed content, encoding, tolerance)
// and may have a second secret while it rotates: see signature.ts.
// Back-pressure: at most `maxInFlight` deliveries talk to Temporal at once; the others wait
// (their senders simply wait for the answer) and only after `maxWaitMs` get a 503.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { TenantConfig, TenantRegistry } from '../config/tenants';
import { formatIssues } from '../core/decode';
import { JsonInputError, parseUntrustedJson } from '../core/json';
import type { IdpTarget, UserLifecycleInput } from '../workflows/user-lifecycle/workflow';
import { TemporalDelivery, within, type DeliveryOutcome } from './deliver';
import { LIFECYCLE_EVENT_TYPES, parseLifecycleEvent } from '../scim/lifecycle-events';
import {
  countRejection,
  newMetrics,
  prometheusText,
  UNKNOWN_TENANT_LABEL,
  type ReceiverMetrics,
  type RejectReason,
} from './metrics';
import {
  DEFAULT_SCHEME,
  parseSignatureScheme,
  verifyWithScheme,
  type SignatureScheme,
} from '../http/webhook-signature';
import { Slots } from './slots';
import type { TemporalClientSource } from './temporal-client';

export type { ReceiverMetrics } from './metrics';
export { DEFAULT_TOLERANCE_SECONDS } from '../http/webhook-signature';
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
export const DEFAULT_TEMPORAL_TIMEOUT_MS = 3000;
// Calls beyond what Temporal works on at once only queue inside it, where each one's deadline runs
// out (a 503), rather than in the slots, where a delivery may wait up to maxWaitMs. 32 saturate a
// dev server (bench:webhooks' bare client does at that concurrency); a larger cluster, or one far
// away, may take more (--max-in-flight).
export const DEFAULT_MAX_IN_FLIGHT = 32;
export const DEFAULT_MAX_WAIT_MS = 30_000;
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
  /** Tenants with their webhook secrets and signature schemes (worker-side configuration). */
  tenants: TenantRegistry;
  temporal: TemporalClientSource;
  /** The task queue the userLifecycle workflows run on. */
  taskQueue: string;
  /** The tenant of `POST /webhooks/cxone` (no tenant in the path). */
  defaultTenant?: string;
  /** Where each tenant's users are synced (passed to a workflow when the event starts it). Default none. */
  idp?: IdpTarget | ((tenant: string) => IdpTarget);
  /** Passed to started workflows; tests force continue-as-new with it. */
  maxEventsPerRun?: number;
  /** Tolerance for tenants whose signature setting names none (default: the preset's, 300 s). */
  toleranceSeconds?: number;
  bodyLimitBytes?: number;
  /** How long Temporal may take to record an event before the receiver answers 503. */
  temporalTimeoutMs?: number;
  /** Deliveries handed to Temporal at once; more wait for a slot. */
  maxInFlight?: number;
  /** How long a delivery may wait for a slot before it is answered 503. */
  maxWaitMs?: number;
  log?: ReceiverLogger;
  /** Epoch ms; tests move the clock. */
  now?: () => number;
}

type Answer = {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
  reason?: RejectReason;
  cause?: string;
};

interface TenantVerifier {
  scheme: SignatureScheme;
  secrets: string[];
}

const INVALID_SIGNATURE: Answer = {
  status: 401,
  body: {
    error: 'invalid signature',
    detail:
      'the signature or timestamp header is missing, malformed, outside the tolerance window, or does not match the body',
  },
};
const RETRY_LATER = { 'retry-after': String(RETRY_AFTER_SECONDS) };

/** Builds the receiver (not listening yet): fastify with a raw-body parser, so the HMAC covers the exact bytes. */
export function buildWebhookReceiver(options: WebhookReceiverOptions): {
  app: FastifyInstance;
  metrics: ReceiverMetrics;
} {
  const log = options.log ?? consoleLogger();
  const temporalTimeoutMs = options.temporalTimeoutMs ?? DEFAULT_TEMPORAL_TIMEOUT_MS;
  const now = options.now ?? Date.now;
  const idpFor = (tenant: string): IdpTarget =>
    typeof options.idp === 'function' ? options.idp(tenant) : (options.idp ?? { type: 'none' });
  const metrics = newMetrics();
  const slots = new Slots(
    options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
    options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
    metrics,
  );
  const delivery = new TemporalDelivery({
    temporal: options.temporal,
    taskQueue: options.taskQueue,
    timeoutMs: temporalTimeoutMs,
  });

  // Unknown tenants are verified against a random secret, so that they cost and answer the same.
  const decoy: TenantVerifier = {
    scheme: withTolerance(DEFAULT_SCHEME, undefined, options.toleranceSeconds),
    secrets: [randomBytes(32).toString('hex')],
  };
  const verifiers = new Map<string, TenantVerifier | undefined>();
  const verifierOf = (tenantId: string): TenantVerifier | undefined => {
    if (!verifiers.has(tenantId)) {
      let tenant: TenantConfig | undefined;
      try {
        tenant = options.tenants.get(tenantId);
      } catch {
        return undefined; // not cached: strangers do not fill the map
      }
      verifiers.set(tenantId, compileVerifier(tenant, options.toleranceSeconds));
    }
    return verifiers.get(tenantId);
  };
  // A bad signature setting stops the receiver at start, not at the first delivery.
  for (const id of options.tenants.ids()) verifierOf(id);

  const app = Fastify({ bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES, logger: false });
  // Every body stays the raw Buffer: the signature is over the bytes as sent, not over a re-serialization.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  // A callback hook, not an async one: no promise per response on the hot path.
  app.addHook('onSend', (_request, reply, payload, done) => {
    const key = String(reply.statusCode);
    metrics.responses[key] = (metrics.responses[key] ?? 0) + 1;
    done(null, payload);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    const tooLarge = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
    if (tooLarge) countRejection(metrics, tenantLabel(tenantOfUrl(request)), 'body-too-large');
    (status >= 500 ? log.error : log.warn)('request refused', { url: request.url, status, error: err.message });
    void reply.status(status).send({
      error: tooLarge ? 'body too large' : status >= 500 ? 'internal error' : 'bad request',
      detail: tooLarge ? `the body exceeds the limit of ${app.initialConfig.bodyLimit} bytes` : err.message,
    });
  });

  const tenantOfUrl = (request: FastifyRequest) =>
    (request.params as { tenant?: string } | undefined)?.tenant ?? options.defaultTenant;
  const tenantLabel = (tenantId: string | undefined) =>
    tenantId !== undefined && verifierOf(tenantId) !== undefined ? tenantId : UNKNOWN_TENANT_LABEL;

  async function record(
    tenant: string,
    input: UserLifecycleInput,
    event: Parameters<TemporalDelivery['deliver']>[1],
  ): Promise<Answer> {
    const slot = await slots.acquire();
    if (!slot) {
      return {
        status: 503,
        body: { error: 'busy', detail: 'the event was not recorded; retry later' },
        headers: RETRY_LATER,
        reason: 'temporal-unavailable',
        cause: `receiver saturated: ${metrics.waiting} deliveries waited over ${slots.maxWaitMs} ms for one of ${slots.size} slots to Temporal`,
      };
    }
    let outcome: DeliveryOutcome;
    try {
      outcome = await delivery.deliver(input, event);
    } finally {
      slot.release();
    }
    switch (outcome.kind) {
      case 'accepted':
        metrics.signalsAccepted++;
        log.info('event recorded', {
          tenant,
          eventId: event.eventId,
          eventType: event.eventType,
          workflowId: outcome.workflowId,
        });
        return {
          status: 202,
          body: { status: 'accepted', eventId: event.eventId, workflowId: outcome.workflowId, runId: outcome.runId },
        };
      case 'unavailable':
        metrics.signalsFailed++;
        return {
          status: 503,
          body: { error: 'temporal unavailable', detail: 'the event was not recorded; retry later' },
          headers: RETRY_LATER,
          reason: 'temporal-unavailable',
          cause: outcome.cause,
        };
      case 'failed':
        metrics.signalsFailed++;
        return {
          status: 500,
          body: { error: 'not recorded', detail: 'the event was not recorded; retry later' },
          reason: 'temporal-error',
          cause: outcome.cause,
        };
    }
  }

  async function receive(tenantId: string | undefined, request: FastifyRequest): Promise<Answer> {
    const verifier = tenantId === undefined ? undefined : verifierOf(tenantId);
    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const { scheme, secrets } = verifier?.secrets.length ? verifier : decoy;
    const verdict = verifyWithScheme({ scheme, secrets, header: (name) => header(request, name), rawBody, now: now() });
    if (!verifier) return { ...INVALID_SIGNATURE, reason: 'unknown-tenant' };
    if (verifier.secrets.length === 0)
      return { ...INVALID_SIGNATURE, reason: 'no-secret', cause: `tenant ${tenantId} has no webhook secret` };
    if (!verdict.ok) return { ...INVALID_SIGNATURE, reason: `signature-${verdict.reason}` };
    const tenant = tenantId as string;

    let json: unknown;
    try {
      json = parseUntrustedJson(rawBody.toString('utf8'));
    } catch (err) {
      if (!(err instanceof JsonInputError)) throw err;
      return {
        status: 400,
        body: {
          error: 'malformed event',
          detail: err.syntax ? `the body is ${err.message}` : err.message,
          issues: err.issues,
        },
        reason: 'malformed-event',
      };
    }
    const parsed = parseLifecycleEvent(json);
    if (!parsed.ok && parsed.kind === 'unknown-type') {
      return {
        status: 422,
        body: {
          error: 'unknown event type',
          eventType: parsed.eventType,
          known: LIFECYCLE_EVENT_TYPES,
          detail: formatIssues(parsed.issues),
          issues: parsed.issues,
        },
        reason: 'unknown-event-type',
      };
    }
    if (!parsed.ok)
      return {
        status: 400,
        body: { error: 'malformed event', detail: formatIssues(parsed.issues), issues: parsed.issues },
        reason: 'malformed-event',
      };
    const idHeader = verifier.scheme.deliveryIdHeader;
    const headerEventId = idHeader ? header(request, idHeader) : undefined;
    if (headerEventId !== undefined && headerEventId !== parsed.event.eventId) {
      const detail = `header ${idHeader} (${JSON.stringify(headerEventId)}) differs from $.eventId (${JSON.stringify(parsed.event.eventId)})`;
      return {
        status: 400,
        body: { error: 'malformed event', detail, issues: [{ path: '$.eventId', message: detail }] },
        reason: 'malformed-event',
      };
    }
    const input: UserLifecycleInput = {
      tenant,
      userId: parsed.event.userId,
      idp: idpFor(tenant),
      ...(options.maxEventsPerRun !== undefined ? { maxEventsPerRun: options.maxEventsPerRun } : {}),
    };
    return record(tenant, input, parsed.event);
  }

  async function route(tenantId: string | undefined, request: FastifyRequest, reply: FastifyReply) {
    const started = performance.now();
    const answer = await receive(tenantId, request);
    if (answer.reason) {
      const tenant = tenantLabel(tenantId);
      countRejection(metrics, tenant, answer.reason);
      const attrs = {
        tenant: tenantId,
        status: answer.status,
        reason: answer.reason,
        detail: answer.cause ?? answer.body.detail,
      };
      if (answer.status === 503) log.error(`answered 503: ${answer.cause}`, attrs);
      else (answer.status >= 500 || answer.reason === 'no-secret' ? log.error : log.warn)('delivery rejected', attrs);
    }
    return reply
      .status(answer.status)
      .headers({ ...answer.headers, 'x-receiver-ms': (performance.now() - started).toFixed(1) })
      .send(answer.body);
  }

  app.post<{ Params: { tenant: string } }>('/webhooks/cxone/:tenant', (request, reply) =>
    route(request.params.tenant, request, reply),
  );
  app.post('/webhooks/cxone', (request, reply) => route(options.defaultTenant, request, reply));

  app.get('/healthz', async () => ({ status: 'ok', taskQueue: options.taskQueue, ...metrics }));
  app.get('/metrics', async (_request, reply) => reply.type('text/plain; version=0.0.4').send(prometheusText(metrics)));
  app.get('/readyz', async (_request, reply) => {
    try {
      // Not client.withDeadline: its AsyncLocalStorage, once used, slows every promise of the process.
      await within(
        temporalTimeoutMs,
        options.temporal.get().then((client) => client.connection.workflowService.getSystemInfo({})),
      );
      return { status: 'ready', temporal: 'reachable' };
    } catch (err) {
      return reply
        .status(503)
        .headers(RETRY_LATER)
        .send({ status: 'not ready', temporal: 'unreachable', detail: (err as Error)?.message });
    }
  });

  return { app, metrics };
}

function compileVerifier(tenant: TenantConfig, defaultTolerance: number | undefined): TenantVerifier {
  const setting = tenant.webhookSignature;
  const scheme = parseSignatureScheme(setting, `tenant ${tenant.tenantId}: webhookSignature`);
  const explicitTolerance = typeof setting === 'object' && setting.toleranceSeconds !== undefined;
  return {
    scheme: explicitTolerance ? scheme : withTolerance(scheme, undefined, defaultTolerance),
    secrets: [tenant.webhookSecret, tenant.webhookPreviousSecret].filter((s): s is string => Boolean(s)),
  };
}

function withTolerance(
  scheme: SignatureScheme,
  explicit: number | undefined,
  fallback: number | undefined,
): SignatureScheme {
  const toleranceSeconds = explicit ?? fallback;
  return toleranceSeconds === undefined ? scheme : { ...scheme, toleranceSeconds };
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
export async function startWebhookReceiver(
  options: WebhookReceiverOptions & { port?: number; host?: string },
): Promise<RunningReceiver> {
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

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
