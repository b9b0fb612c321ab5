import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { WebhookSubscription } from '../activities/webhooks';
import { FailureType } from '../core/failures';
import { LIFECYCLE_EVENT_TYPES, isLifecycleEventType } from '../scim/lifecycle-events';
import { PROVIDER_CALL } from './activity-options';
import { ReportRecorder } from './report';
import { withSummary } from './ui-metadata';

// A POST whose answer was lost may have created the subscription: the retried activity lists
// first and keeps the one it finds (src/activities/webhooks.ts), so a retry never creates two.
const { listWebhookSubscriptions, createWebhookSubscription } = proxyActivities<Activities>(PROVIDER_CALL);

export interface RegisterWebhooksInput {
  tenant: string;
  /** The receiver's public callback URL, e.g. `https://hooks.example.com/webhooks/cxone/acme`. */
  url: string;
  /** Default: USER_CREATED, USER_UPDATED, USER_DEACTIVATED. */
  events?: string[];
  description?: string;
}

export interface RegisterWebhooksResult {
  url: string;
  events: string[];
  /** Subscriptions for this URL that were already there (kept as they are). */
  existing: WebhookSubscription[];
  /** The subscription created for the events nothing covered yet, if any. */
  created?: WebhookSubscription;
  /** Events each covered by an existing subscription. */
  alreadyCovered: string[];
  changed: boolean;
}

/** The workflow id the CLI uses: one registration per tenant at a time. */
export function registerWebhooksWorkflowId(tenant: string): string {
  return `register-webhooks-${tenant}`;
}

/**
 * Job 3a: make sure the tenant's CXone webhook subscriptions cover the wanted events for one
 * callback URL. Idempotent: a re-run finds everything covered and changes nothing.
 *
 *   validate input ─▶ GET /api/v2/webhooks ─▶ which wanted events has no subscription for this URL?
 *     ├─ none missing ───────────────────────────────────────────▶ done, nothing created
 *     └─ POST /api/v2/webhooks {url, events: missing} (expect 201) ─▶ done, report the new id
 */
export async function registerWebhooks(input: RegisterWebhooksInput): Promise<RegisterWebhooksResult> {
  const report = new ReportRecorder<RegisterWebhooksInput, RegisterWebhooksResult>(input.tenant, input);
  return report.complete(
    () => run(input, report),
    (r) => (r.changed ? 'succeeded' : 'unchanged'),
  );
}

async function run(
  input: RegisterWebhooksInput,
  report: ReportRecorder<RegisterWebhooksInput, RegisterWebhooksResult>,
): Promise<RegisterWebhooksResult> {
  const { url, events } = validate(input);

  const listed = await report.step(
    'GET /api/v2/webhooks',
    () => listWebhookSubscriptions.executeWithOptions(withSummary('GET /api/v2/webhooks'), [input.tenant]),
    (r) => ({ httpStatus: r.httpStatus, detail: `${r.subscriptions.length} subscription(s)` }),
  );
  const forUrl = listed.subscriptions.filter((s) => sameUrl(s.url, url));
  const covered = new Set(forUrl.flatMap((s) => s.events));
  const alreadyCovered = events.filter((e) => covered.has(e));
  const missing = events.filter((e) => !covered.has(e));
  const base = { url, events, existing: forUrl, alreadyCovered };

  if (missing.length === 0) {
    report.skip('POST /api/v2/webhooks', `every event already has a subscription for ${url}`);
    return { ...base, changed: false };
  }
  const created = await report.step(
    'POST /api/v2/webhooks',
    () =>
      createWebhookSubscription.executeWithOptions(withSummary(`POST /api/v2/webhooks for ${missing.join(', ')}`), [
        input.tenant,
        {
          url,
          events: missing,
          description: input.description ?? 'cxone-scim-temporal user lifecycle',
        },
      ]),
    (r) => ({
      httpStatus: r.httpStatus,
      payloadSha256: r.payloadSha256,
      detail: `created ${r.subscription.id} for ${missing.join(', ')}`,
    }),
  );
  return { ...base, created: created.subscription, changed: true };
}

function validate(input: RegisterWebhooksInput): { url: string; events: string[] } {
  const problems: string[] = [];
  let url = '';
  try {
    const parsed = new URL(input.url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
      problems.push(`url: must be http(s), got ${parsed.protocol}`);
    url = parsed.toString();
  } catch {
    problems.push(`url: not an absolute URL: ${JSON.stringify(input.url)}`);
  }
  const events = [...new Set(input.events ?? LIFECYCLE_EVENT_TYPES)];
  if (events.length === 0) problems.push('events: at least one event type is needed');
  for (const e of events) {
    if (!isLifecycleEventType(e))
      problems.push(`events: unknown event type ${JSON.stringify(e)} (known: ${LIFECYCLE_EVENT_TYPES.join(', ')})`);
  }
  if (problems.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `registerWebhooks input is invalid: ${problems.join('; ')}`,
      FailureType.InvalidRegisterWebhooksInput,
      { problems },
    );
  }
  return { url, events };
}

/** URLs compare after normalisation (case of scheme/host, default port, empty path). */
function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).toString() === new URL(b).toString();
  } catch {
    return a === b;
  }
}
