import { ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { canonicalJson } from '../scim/canonical';
import { formatIssues } from '../core/decode';
import { FailureType } from '../core/failures';
import {
  diffServiceProviderConfig,
  gatewayLimitsOf,
  validateServiceProviderConfig,
  type ConfigDifference,
  type GatewayLimits,
} from '../scim/spc-validation';
import { configureWorkflowId } from '../temporal/constants';
import { PROVIDER_CALL } from './activity-options';
import { failureTypeOf, httpStatusOf, messageOf } from './failures';
import { ReportRecorder } from './report';
import { withSummary } from './ui-metadata';

const { discoverServiceProviderConfig, replaceServiceProviderConfig, notifyConfigUpdated } =
  proxyActivities<Activities>(PROVIDER_CALL);

export interface ConfigureServiceProviderInput {
  tenant: string;
  /** The desired ServiceProviderConfig (RFC 7643 §5 names; a few tutorial names are mapped). */
  desired: unknown;
  /** `apply` (default) writes when something differs; `verify` only reports the drift. */
  mode?: 'apply' | 'verify';
  /** POST a signed `scim.config.updated` event here after a change. */
  notifyUrl?: string;
  /** Gateway limits; defaults are CXone's (bulk 5000 operations, filter 1000 results). */
  limits?: Partial<GatewayLimits>;
  /** How often a 412 (changed by someone else meanwhile) re-reads and retries; default 3. */
  maxPreconditionRetries?: number;
}

export interface ConfigureServiceProviderResult {
  mode: 'apply' | 'verify';
  /** True when the provider reports the desired value (after the change, in apply mode). */
  inSync: boolean;
  /** apply: whether a PUT was made. */
  changed: boolean;
  /** What differed before the run (the drift, in verify mode). */
  differences: ConfigDifference[];
  etagBefore?: string;
  etagAfter?: string;
  payloadSha256: string;
  mappedNames: string[];
  notified: boolean;
  /**
   * false: the provider publishes no ServiceProviderConfig (404, 405 or 501 to the GET, or a body
   * that is not one), as NICE's published CXone surface: nothing to compare, nothing written.
   */
  published?: boolean;
  /** Why it counts as not published, e.g. `HTTP 404`. */
  absence?: string;
}

/**
 * Job 1: keep a tenant's ServiceProviderConfig at the desired value.
 *
 *   validate (in workflow, no I/O) ─▶ GET /ServiceProviderConfig (value + ETag) ─▶ diff
 *     ├─ no difference ─────────────────────────────────────────────────▶ done (no PUT)
 *     ├─ verify mode ───────────────────────────────────────────────────▶ report drift
 *     └─ PUT If-Match ─▶ GET (verify the provider reports the desired value) ─▶ notify
 *          └─ 412: someone changed it meanwhile ─▶ re-read, diff, retry (bounded)
 */
export async function configureServiceProvider(
  input: ConfigureServiceProviderInput,
): Promise<ConfigureServiceProviderResult> {
  const mode = input.mode ?? 'apply';
  const report = new ReportRecorder<ConfigureServiceProviderInput, ConfigureServiceProviderResult>(input.tenant, input);
  return report.complete(
    () => run(input, mode, report),
    (r) => (r.published === false ? 'not-published' : r.inSync ? 'succeeded' : 'drift'),
  );
}

async function run(
  input: ConfigureServiceProviderInput,
  mode: 'apply' | 'verify',
  report: ReportRecorder<ConfigureServiceProviderInput, ConfigureServiceProviderResult>,
): Promise<ConfigureServiceProviderResult> {
  const expectedId = configureWorkflowId(input.tenant);
  if (workflowInfo().workflowId !== expectedId) {
    // One workflow id per tenant is what makes "never two PUTs at once" hold: Temporal refuses
    // a second running execution with the same id.
    throw ApplicationFailure.nonRetryable(
      `configureServiceProvider must run with workflow id "${expectedId}" so that two runs for tenant ` +
        `${input.tenant} can never overlap (got "${workflowInfo().workflowId}")`,
      FailureType.WrongWorkflowId,
    );
  }

  const limits = gatewayLimitsOf(input.limits);
  if (!limits.ok) {
    report.skip('validate desired ServiceProviderConfig', limits.problem);
    throw ApplicationFailure.nonRetryable(`${limits.problem}; nothing was sent`, FailureType.InvalidConfigureInput);
  }
  const validation = validateServiceProviderConfig(input.desired, limits.limits);
  if (!validation.ok) {
    report.skip('validate desired ServiceProviderConfig', formatIssues(validation.issues));
    throw ApplicationFailure.nonRetryable(
      `desired ServiceProviderConfig is invalid (${validation.issues.length} problem(s)); nothing was sent:\n` +
        formatIssues(validation.issues),
      FailureType.InvalidServiceProviderConfig,
      { issues: validation.issues },
    );
  }
  const desired = validation.normalized;
  const base = { mode, mappedNames: validation.mapped, notified: false } as const;

  const maxRetries = input.maxPreconditionRetries ?? 3;
  let firstDifferences: ConfigDifference[] | undefined;
  let firstEtag: string | undefined;
  for (let attempt = 0; ; attempt++) {
    const current = await report.step(
      'discovery GET ServiceProviderConfig',
      () => discoverServiceProviderConfig.executeWithOptions(withSummary('GET /ServiceProviderConfig'), [input.tenant]),
      (d) => ({ httpStatus: d.httpStatus, etagBefore: d.etag, etagAfter: d.etag, payloadSha256: d.payloadSha256 }),
    );
    if (current.published === false) {
      // Without a published document there is no value to compare, no ETag to guard a PUT, and no
      // read-back to verify one: its own outcome (and CLI exit code), not a drift or a failure.
      report.skip(
        'PUT ServiceProviderConfig',
        `the provider publishes no ServiceProviderConfig (${current.absence ?? 'not published'}); nothing compared, nothing written`,
      );
      return {
        ...base,
        inSync: false,
        changed: false,
        differences: [],
        payloadSha256: '',
        published: false,
        ...(current.absence ? { absence: current.absence } : {}),
      };
    }
    // The provider's own document (results recorded before `document` existed carry it as `body`).
    const differences = diffServiceProviderConfig(desired, current.document ?? current.body);
    firstDifferences ??= differences;
    firstEtag ??= current.etag;
    const payloadSha256 = current.payloadSha256 ?? '';

    if (differences.length === 0) {
      report.skip('PUT ServiceProviderConfig', 'provider already reports the desired value');
      return {
        ...base,
        inSync: true,
        changed: attempt > 0,
        differences: firstDifferences,
        etagBefore: firstEtag,
        etagAfter: current.etag,
        payloadSha256,
      };
    }
    if (mode === 'verify') {
      report.skip(
        'PUT ServiceProviderConfig',
        `verify mode: ${differences.length} difference(s) reported, nothing written`,
      );
      return {
        ...base,
        inSync: false,
        changed: false,
        differences,
        etagBefore: current.etag,
        etagAfter: current.etag,
        payloadSha256,
      };
    }

    const put = await putIfUnchanged(input.tenant, desired, current.etag, differences.length, report);
    if (put === 'precondition-failed') {
      if (attempt >= maxRetries) {
        throw ApplicationFailure.nonRetryable(
          `ServiceProviderConfig kept changing under us: ${attempt + 1} PUTs were refused with 412 Precondition Failed ` +
            `(someone else is writing it); giving up after ${maxRetries} re-reads`,
          FailureType.ConcurrentModification,
        );
      }
      continue; // someone else changed it since our GET: re-read and decide again
    }
    const verified = await report.step(
      'discovery GET ServiceProviderConfig (verify)',
      () => discoverServiceProviderConfig.executeWithOptions(withSummary('GET /ServiceProviderConfig'), [input.tenant]),
      (d) => ({ httpStatus: d.httpStatus, etagBefore: put.etag, etagAfter: d.etag, payloadSha256: d.payloadSha256 }),
    );
    const remaining = diffServiceProviderConfig(desired, verified.document ?? verified.body);
    if (remaining.length > 0) {
      throw ApplicationFailure.nonRetryable(
        `provider accepted the PUT but does not report the desired value: ${canonicalJson(remaining)}`,
        FailureType.ServiceProviderConfigMismatch,
        { differences: remaining },
      );
    }
    let notified = false;
    if (input.notifyUrl) {
      notified = await notify(
        input,
        report,
        put.payloadSha256 ?? '',
        firstDifferences.map((d) => d.path),
      );
    } else {
      report.skip('notify scim.config.updated', 'no notifyUrl given');
    }
    return {
      ...base,
      inSync: true,
      changed: true,
      notified,
      differences: firstDifferences,
      etagBefore: firstEtag,
      etagAfter: verified.etag,
      payloadSha256: put.payloadSha256 ?? '',
    };
  }
}

/**
 * RFC 7644 §4 makes /ServiceProviderConfig GET-only, and servers say so in different ways: 405 or
 * 501 (method not supported), 404 (no PUT route), 403 (not permitted for anyone).
 */
const READ_ONLY_ANSWERS = new Set<string>([FailureType.ReadOnly, FailureType.NotFound, FailureType.Forbidden]);

/** The If-Match PUT; a 412 is an answer ("changed meanwhile"), a 403/404/405/501 a read-only provider. */
async function putIfUnchanged(
  tenant: string,
  desired: Record<string, unknown>,
  etag: string | undefined,
  differences: number,
  report: ReportRecorder<ConfigureServiceProviderInput, ConfigureServiceProviderResult>,
) {
  try {
    return await report.step(
      'PUT ServiceProviderConfig (If-Match)',
      () =>
        replaceServiceProviderConfig.executeWithOptions(
          withSummary(`PUT /ServiceProviderConfig (If-Match ${etag ?? 'none'}, ${differences} differences)`),
          [tenant, desired, etag],
        ),
      (r) => ({ httpStatus: r.httpStatus, etagBefore: etag, etagAfter: r.etag, payloadSha256: r.payloadSha256 }),
    );
  } catch (err) {
    const type = failureTypeOf(err);
    if (type === FailureType.PreconditionFailed) return 'precondition-failed' as const;
    if (type !== undefined && READ_ONLY_ANSWERS.has(type)) {
      const status = httpStatusOf(err);
      const permission =
        status === 403
          ? " (if this provider does accept a PUT, the API user lacks the permission: see the provider's answer)"
          : '';
      throw ApplicationFailure.nonRetryable(
        `read-only provider: it refused the PUT to /ServiceProviderConfig (HTTP ${status ?? '?'}: ${messageOf(err)}), as RFC 7644 §4 allows${permission}; ` +
          `${differences} difference(s) remain; use verify mode (configure --verify) to compare desired and actual without writing`,
        FailureType.ReadOnlyProvider,
        { httpStatus: status },
      );
    }
    throw err;
  }
}

async function notify(
  input: ConfigureServiceProviderInput,
  report: ReportRecorder<ConfigureServiceProviderInput, ConfigureServiceProviderResult>,
  payloadSha256: string,
  changedPaths: string[],
): Promise<boolean> {
  await report.step(
    'notify scim.config.updated',
    () =>
      notifyConfigUpdated.executeWithOptions(
        withSummary(`POST scim.config.updated (${changedPaths.length} changed paths)`),
        [
          input.tenant,
          input.notifyUrl as string,
          {
            event: 'scim.config.updated',
            tenant: input.tenant,
            workflowId: workflowInfo().workflowId,
            payloadSha256,
            changedPaths,
          },
        ],
      ),
    (r) => ({ httpStatus: r.httpStatus, payloadSha256 }),
  );
  return true;
}
