// The receiver's counters: JSON on /healthz, Prometheus text on /metrics.

/** Why a delivery was not recorded. */
export type RejectReason =
  | 'unknown-tenant'
  | 'no-secret'
  | 'signature-missing'
  | 'signature-malformed'
  | 'signature-stale'
  | 'signature-mismatch'
  | 'body-too-large'
  | 'malformed-event'
  | 'unknown-event-type'
  | 'temporal-unavailable'
  | 'temporal-error';

/** Deliveries for tenants that are not configured are counted under this label (ids sent by strangers are not labels). */
export const UNKNOWN_TENANT_LABEL = '(unknown)';

export interface ReceiverMetrics {
  /** Requests answered, by status code. */
  responses: Record<string, number>;
  /** Signals Temporal accepted (a replay Temporal dropped as already recorded included). */
  signalsAccepted: number;
  /** Deliveries Temporal did not record (answered 503/500). */
  signalsFailed: number;
  /** Rejected deliveries per tenant and reason. */
  rejected: Record<string, Partial<Record<RejectReason, number>>>;
  /** Deliveries being handed to Temporal right now, and waiting for a slot. */
  inFlight: number;
  waiting: number;
}

export function newMetrics(): ReceiverMetrics {
  return { responses: {}, signalsAccepted: 0, signalsFailed: 0, rejected: {}, inFlight: 0, waiting: 0 };
}

export function countRejection(metrics: ReceiverMetrics, tenant: string, reason: RejectReason): void {
  const perTenant = (metrics.rejected[tenant] ??= {});
  perTenant[reason] = (perTenant[reason] ?? 0) + 1;
}

const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Prometheus text exposition format 0.0.4. */
export function prometheusText(metrics: ReceiverMetrics): string {
  const lines: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[string, number]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  family(
    'cxone_webhook_responses_total',
    'counter',
    'Requests answered, by HTTP status.',
    Object.entries(metrics.responses).map(([status, n]) => [`{status="${label(status)}"}`, n]),
  );
  family('cxone_webhook_signals_accepted_total', 'counter', 'Signals Temporal accepted.', [
    ['', metrics.signalsAccepted],
  ]);
  family('cxone_webhook_signals_failed_total', 'counter', 'Deliveries Temporal did not record (503/500).', [
    ['', metrics.signalsFailed],
  ]);
  family(
    'cxone_webhook_rejected_total',
    'counter',
    'Deliveries not recorded, by tenant and reason.',
    Object.entries(metrics.rejected).flatMap(([tenant, reasons]) =>
      Object.entries(reasons).map(
        ([reason, n]) => [`{tenant="${label(tenant)}",reason="${reason}"}`, n ?? 0] as [string, number],
      ),
    ),
  );
  family('cxone_webhook_in_flight', 'gauge', 'Deliveries being handed to Temporal.', [['', metrics.inFlight]]);
  family('cxone_webhook_waiting', 'gauge', 'Deliveries waiting for a slot to Temporal.', [['', metrics.waiting]]);
  return `${lines.join('\n')}\n`;
}
