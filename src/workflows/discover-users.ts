// The discovery every job over Users starts with: ServiceProviderConfig, ResourceTypes and Schemas,
// one after another, each a report step (any of them may be "not published": the activities then
// answer defaults), and the User schema model built from them.
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { FailureType } from '../core/failures';
import { userSchemaModel, type UserSchemaModel } from '../scim/user-validation';
import { PROVIDER_CALL } from './activity-options';
import type { ReportRecorder } from './report';
import { withSummary } from './ui-metadata';

const { discoverServiceProviderConfig, discoverResourceTypes, discoverSchemas } =
  proxyActivities<Activities>(PROVIDER_CALL);

export interface DiscoveredUsers {
  /** The provider's ServiceProviderConfig as the product works from it (with configured and learnt facts). */
  serviceProviderConfig: { patch?: { supported?: unknown }; filter?: { maxResults?: unknown } };
  model: UserSchemaModel;
  /** A listing page no larger than the provider's filter.maxResults. */
  pageSize(wanted: number): number;
}

/** Discovers the tenant's Users endpoint and schema; an unusable User schema fails the run (UnsupportedProvider). */
export async function discoverUsers(
  report: ReportRecorder<unknown, unknown>,
  tenant: string,
): Promise<DiscoveredUsers> {
  const spc = await report.step(
    'discover ServiceProviderConfig',
    () => discoverServiceProviderConfig.executeWithOptions(withSummary('GET /ServiceProviderConfig'), [tenant]),
    (d) => ({ httpStatus: d.httpStatus, payloadSha256: d.payloadSha256 }),
  );
  const types = await report.step(
    'discover ResourceTypes',
    () => discoverResourceTypes.executeWithOptions(withSummary('GET /ResourceTypes'), [tenant]),
    (d) => ({ httpStatus: d.httpStatus }),
  );
  const schemas = await report.step(
    'discover Schemas',
    () => discoverSchemas.executeWithOptions(withSummary('GET /Schemas'), [tenant]),
    (d) => ({ httpStatus: d.httpStatus }),
  );
  const built = userSchemaModel(types.body, schemas.body);
  if (!built.ok) throw ApplicationFailure.nonRetryable(built.problem, FailureType.UnsupportedProvider);
  const serviceProviderConfig = spc.body as DiscoveredUsers['serviceProviderConfig'];
  const maxResults = Number(serviceProviderConfig.filter?.maxResults);
  return {
    serviceProviderConfig,
    model: built.model,
    pageSize: (wanted) => Math.min(wanted, Number.isInteger(maxResults) && maxResults > 0 ? maxResults : Infinity),
  };
}
