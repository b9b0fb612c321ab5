import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { PROVIDER_CALL } from './activity-options';
import { ReportRecorder } from './report';
import { withSummary } from './ui-metadata';

const { discoverServiceProviderConfig } = proxyActivities<Activities>(PROVIDER_CALL);

export interface DiscoverServiceProviderInput {
  tenant: string;
}

export interface DiscoverServiceProviderResult {
  httpStatus: number;
  etag?: string;
  payloadSha256?: string;
  /** The provider's document; when it publishes none, the one assumed from configuration and defaults. */
  serviceProviderConfig: Record<string, unknown>;
  /** false: the provider publishes no ServiceProviderConfig (absent from results before this field: published). */
  published?: boolean;
  /** Each capability with where it came from (discovered, configured, default, learnt). */
  capabilities?: Record<string, { value: unknown; from: string }>;
}

/**
 * The thinnest job: one discovery GET of {scim}/ServiceProviderConfig through an activity (a
 * provider that publishes none is not an error: the result says so and gives the assumed capabilities).
 *
 *   workflow ──discoverServiceProviderConfig──▶ activity ──GET /ServiceProviderConfig──▶ provider
 */
export async function discoverServiceProvider(
  input: DiscoverServiceProviderInput,
): Promise<DiscoverServiceProviderResult> {
  const report = new ReportRecorder<DiscoverServiceProviderInput, DiscoverServiceProviderResult>(input.tenant, input);
  return report.complete(async () => {
    const discovered = await report.step(
      'discover ServiceProviderConfig',
      () => discoverServiceProviderConfig.executeWithOptions(withSummary('GET /ServiceProviderConfig'), [input.tenant]),
      (d) => ({ httpStatus: d.httpStatus, etagAfter: d.etag, payloadSha256: d.payloadSha256 }),
    );
    return {
      httpStatus: discovered.httpStatus,
      etag: discovered.etag,
      payloadSha256: discovered.payloadSha256,
      serviceProviderConfig: discovered.document ?? discovered.body,
      ...(discovered.published !== undefined ? { published: discovered.published } : {}),
      ...(discovered.capabilities ? { capabilities: discovered.capabilities } : {}),
    };
  });
}
