import { ApplicationFailure, Context } from '@temporalio/activity';
import { FailureType } from '../core/failures';
import type { ActivityDeps } from './deps';
import { asActivity, scimClientFor } from './deps';
import { payloadSha256 } from './hash';

/** A CXone webhook subscription as `/api/v2/webhooks` returns it. */
export interface WebhookSubscription {
  id: string;
  url: string;
  events: string[];
  description?: string;
  createdAt?: string;
}

export interface WebhookListOutcome {
  httpStatus: number;
  durationMs: number;
  subscriptions: WebhookSubscription[];
}

export interface WebhookCreateOutcome {
  httpStatus: number;
  durationMs: number;
  payloadSha256: string;
  subscription: WebhookSubscription;
}

export interface NewWebhookSubscription {
  url: string;
  events: string[];
  description?: string;
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

/** Under the tenant's API base (configured or discovered), not its SCIM base. */
const WEBHOOKS_PATH = '/api/v2/webhooks';

function toSubscription(raw: unknown): WebhookSubscription | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.id !== 'string' || typeof r.url !== 'string' || !Array.isArray(r.events)) return undefined;
  return {
    id: r.id,
    url: r.url,
    events: r.events.filter((e): e is string => typeof e === 'string'),
    ...(typeof r.description === 'string' ? { description: r.description } : {}),
    ...(typeof r.createdAt === 'string' ? { createdAt: r.createdAt } : {}),
  };
}

export function createWebhookActivities(deps: ActivityDeps) {
  const list = async (tenantId: string): Promise<WebhookListOutcome> => {
    const response = await scimClientFor(deps, tenantId).api<unknown>('GET', WEBHOOKS_PATH, { headers: JSON_HEADERS });
    const body = response.body as { webhooks?: unknown } | unknown[] | undefined;
    const raw = Array.isArray(body) ? body : Array.isArray(body?.webhooks) ? body.webhooks : [];
    return {
      httpStatus: response.status,
      durationMs: response.durationMs,
      subscriptions: raw.map(toSubscription).filter((s): s is WebhookSubscription => s !== undefined),
    };
  };
  return {
    /** GET /api/v2/webhooks: the tenant's webhook subscriptions (scope cxone.webhook.manage). */
    async listWebhookSubscriptions(tenantId: string): Promise<WebhookListOutcome> {
      return asActivity(() => list(tenantId));
    },

    /** POST /api/v2/webhooks; anything but 201 Created is a failure. */
    async createWebhookSubscription(
      tenantId: string,
      subscription: NewWebhookSubscription,
    ): Promise<WebhookCreateOutcome> {
      return asActivity(async () => {
        if (Context.current().info.attempt > 1) {
          // An earlier attempt may have created it before its answer was lost: keep that one.
          const listed = await list(tenantId);
          const wanted = [...subscription.events].sort().join(',');
          const existing = listed.subscriptions.find(
            (s) => s.url === subscription.url && [...s.events].sort().join(',') === wanted,
          );
          if (existing)
            return {
              httpStatus: listed.httpStatus,
              durationMs: listed.durationMs,
              payloadSha256: payloadSha256(subscription),
              subscription: existing,
            };
        }
        const response = await scimClientFor(deps, tenantId).api<unknown>('POST', WEBHOOKS_PATH, {
          headers: JSON_HEADERS,
          body: subscription,
          expect: [201],
        });
        const created = toSubscription(response.body);
        if (!created) {
          // Not retried: the subscription may well exist now, and a retry would create a second one.
          throw ApplicationFailure.nonRetryable(
            'POST /api/v2/webhooks answered 201 without a subscription (id, url, events) in its body',
            FailureType.WebhookUnexpectedResponse,
          );
        }
        return {
          httpStatus: response.status,
          durationMs: response.durationMs,
          payloadSha256: payloadSha256(subscription),
          subscription: created,
        };
      });
    },
  };
}
