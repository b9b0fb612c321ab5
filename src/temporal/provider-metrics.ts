import { Context } from '@temporalio/activity';
import { METRIC, statusClassOf } from './business-metrics';

/** A provider round trip as the HTTP client reports it (ObservedResponse of src/http/scim-client.ts). */
interface ProviderAnswer {
  method: string;
  status?: number;
  retryAfterMs?: number;
}

/**
 * Counts a tenant's provider answers on the activity's metric meter, labelled with the tenant and
 * the workflow type the activity runs for: responses by status class, 429s, and the waits that
 * 429 / 503 answers asked for. Undefined outside an activity (e.g. the CLI), where nothing counts.
 */
export function providerAnswerCounter(tenant: string): ((answer: ProviderAnswer) => void) | undefined {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return undefined;
  }
  const meter = context.metricMeter.withTags({ tenant, job: context.info.workflowType ?? 'none' });
  const responses = meter.createCounter(METRIC.providerResponses, '1', 'Provider HTTP responses by status class');
  const throttled = meter.createCounter(METRIC.throttled, '1', 'Provider 429 Too Many Requests responses');
  const waits = meter.createHistogram(
    METRIC.retryAfterWait,
    'float',
    's',
    'Waits a 429 or 503 response asked for with Retry-After',
  );
  return ({ method, status, retryAfterMs }) => {
    responses.add(1, { method, status_class: statusClassOf(status) });
    if (status === 429) throttled.add(1, { method });
    if (retryAfterMs !== undefined) waits.record(retryAfterMs / 1000);
  };
}
