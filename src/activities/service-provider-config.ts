import { ApplicationFailure } from '@temporalio/activity';
import { describeFetchFailure, ScimHttpError, ScimNetworkError } from '../http';
import { FailureType } from '../core/failures';
import { sendSignedDelivery, type DeliveryAnswer } from '../http/webhook-delivery';
import type { ActivityDeps } from './deps';
import { asActivity, scimClientFor } from './deps';
import type { HttpOutcome } from './discovery';
import { payloadSha256 } from './hash';

/** The `scim.config.updated` event POSTed to a tenant's notification URL. */
export interface ConfigUpdatedEvent {
  event: 'scim.config.updated';
  tenant: string;
  workflowId: string;
  payloadSha256: string;
  changedPaths: string[];
}

const NOTIFY_TIMEOUT_MS = 10_000;

export function createServiceProviderConfigActivities(deps: ActivityDeps) {
  return {
    /** Atomic PUT {scim}/ServiceProviderConfig guarded by If-Match (412 when it changed meanwhile). */
    async replaceServiceProviderConfig(
      tenantId: string,
      config: Record<string, unknown>,
      ifMatch?: string,
    ): Promise<HttpOutcome> {
      return asActivity(async () => {
        const response = await scimClientFor(deps, tenantId).put('/ServiceProviderConfig', config, { ifMatch });
        return {
          httpStatus: response.status,
          etag: response.etag,
          payloadSha256: payloadSha256(config),
          durationMs: response.durationMs,
        };
      });
    },

    /** POSTs the event, signed like CXone's webhooks with the tenant's webhook secret. */
    async notifyConfigUpdated(tenantId: string, url: string, event: ConfigUpdatedEvent): Promise<HttpOutcome> {
      const secret = deps.tenants.get(tenantId).webhookSecret;
      if (!secret) {
        throw ApplicationFailure.nonRetryable(
          `tenant ${tenantId} has no webhook secret to sign the notification with`,
          FailureType.NoWebhookSecret,
        );
      }
      return asActivity(async () => {
        const path = new URL(url).pathname;
        let answer: DeliveryAnswer;
        try {
          answer = await sendSignedDelivery({
            url,
            secret,
            body: { ...event, occurredAt: new Date().toISOString() },
            timeoutMs: NOTIFY_TIMEOUT_MS,
          });
        } catch (err) {
          throw new ScimNetworkError('POST', path, describeFetchFailure(err, NOTIFY_TIMEOUT_MS));
        }
        if (answer.status < 200 || answer.status >= 300) {
          throw ScimHttpError.fromResponse('POST', path, answer.status, answer.headers, answer.body);
        }
        return {
          httpStatus: answer.status,
          payloadSha256: payloadSha256(event),
          durationMs: Math.round(answer.latencyMs),
        };
      });
    },
  };
}
