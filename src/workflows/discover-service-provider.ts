import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { PROVIDER_CALL } from './activity-options';
import { ReportRecorder } from './report';

const { discoverServiceProviderConfig } = proxyActivities<Activities>(PROVIDER_CALL);

export interface DiscoverServiceProviderInput {
  tenant: string;
}

export interface DiscoverServiceProviderResult {
  httpStatus: number;
  etag?: string;
  payloadSha256?: string;
  serviceProviderConfig: Record<string, unknown>;
}

/**
 * The thinnest job: one discovery GET of {scim}/ServiceProviderConfig through an activity.
 *
 *   workflow ──discoverServiceProviderConfig──▶ activity ──GET /ServiceProviderConfig──▶ provider
 */
export async function discoverServiceProvider(
  input: DiscoverServiceProviderInput,
): Promise<DiscoverServiceProviderResult> {
  const report = new ReportRecorder<DiscoverServiceProviderInput, DiscoverServiceProviderResult>(input.tenant, input);
  try {
    const discovered = await report.step(
      'discover ServiceProviderConfig',
      () => discoverServiceProviderConfig(input.tenant),
      (d) => ({ httpStatus: d.httpStatus, etagAfter: d.etag, payloadSha256: d.payloadSha256 }),
    );
    const result = {
      httpStatus: discovered.httpStatus,
      etag: discovered.etag,
      payloadSha256: discovered.payloadSha256,
      serviceProviderConfig: discovered.body,
    };
    report.succeed(result);
    return result;
  } catch (err) {
    report.fail(err);
    throw err;
  }
}
