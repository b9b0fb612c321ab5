import { canonicalJson } from './canonical';
import { ServiceProviderConfig } from './codecs';
import { decode, type DecodeIssue } from '../core/decode';
import { isRefusedKey, refusedKeyMessage } from '../core/json';
import { isScimUrn, URN } from './urns';

/**
 * Validation of a desired ServiceProviderConfig (RFC 7643 §5) before anything is sent to a
 * provider. Pure and deterministic: it runs inside the configureServiceProvider workflow.
 */

export interface GatewayLimits {
  /** Largest bulk.maxOperations the gateway accepts (CXone: 5000). */
  maxBulkOperations: number;
  /** Largest filter.maxResults the gateway accepts (CXone: 1000). */
  maxFilterResults: number;
}

export const CXONE_GATEWAY_LIMITS: GatewayLimits = { maxBulkOperations: 5000, maxFilterResults: 1000 };

/**
 * Tutorial-style names seen in the wild, mapped explicitly to their RFC 7643 attribute. Anything
 * else that is not RFC 7643 is rejected rather than guessed at.
 */
const TUTORIAL_NAMES: Record<string, string> = {
  bulkConfig: 'bulk',
  filterConfig: 'filter',
  patchConfig: 'patch',
  sortConfig: 'sort',
  etagConfig: 'etag',
  changePasswordConfig: 'changePassword',
};

/** Read-only or server-assigned members: never part of the desired value. */
const SERVER_MANAGED = ['meta', 'id'];

/** RFC 7643 §5: every attribute of a ServiceProviderConfig, and the members of its complex ones. */
const RFC_ATTRIBUTES: Record<string, readonly string[] | null> = {
  schemas: null,
  documentationUri: null,
  patch: ['supported'],
  bulk: ['supported', 'maxOperations', 'maxPayloadSize'],
  filter: ['supported', 'maxResults'],
  changePassword: ['supported'],
  sort: ['supported'],
  etag: ['supported'],
  authenticationSchemes: ['type', 'name', 'description', 'specUri', 'documentationUri', 'primary'],
};

/** RFC 3986 absolute URI (scheme ":" hier-part); http(s) ones must name a host. */
export function isAbsoluteUri(value: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"{}|\\^`]+$/.test(value)) return false;
  return !/^https?:/i.test(value) || /^https?:\/\/[^/?#\s]+/i.test(value);
}

export interface SpcValidation {
  ok: boolean;
  issues: DecodeIssue[];
  /** The desired config in RFC 7643 names, server-managed members removed. */
  normalized: Record<string, unknown>;
  /** Which input names were mapped to RFC names, e.g. "bulkConfig → bulk". */
  mapped: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function validateServiceProviderConfig(
  input: unknown,
  limits: GatewayLimits = CXONE_GATEWAY_LIMITS,
): SpcValidation {
  const issues: DecodeIssue[] = [];
  const mapped: string[] = [];
  if (!isRecord(input)) {
    return {
      ok: false,
      issues: [{ path: '$', message: 'expected a ServiceProviderConfig JSON object' }],
      normalized: {},
      mapped,
    };
  }

  // Top-level ones are reported here (decode below sees only `normalized`, and finds deeper ones); never copied.
  for (const name of Object.keys(input))
    if (isRefusedKey(name)) issues.push({ path: `$.${name}`, message: refusedKeyMessage(name) });
  const normalized: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input)) {
    if (SERVER_MANAGED.includes(name) || isRefusedKey(name)) continue;
    // Attribute names are case-insensitive (RFC 7643 §2.1): "Etag" is "etag", under its RFC spelling.
    const spelled = Object.keys(RFC_ATTRIBUTES).find(
      (known) => known !== name && known.toLowerCase() === name.toLowerCase(),
    );
    const rfcName = (Object.hasOwn(TUTORIAL_NAMES, name) ? TUTORIAL_NAMES[name] : undefined) ?? spelled;
    if (rfcName === undefined) {
      normalized[name] = value;
    } else if (rfcName in input) {
      issues.push({ path: `$.${name}`, message: `duplicates "${rfcName}": give only the RFC 7643 name "${rfcName}"` });
    } else {
      normalized[rfcName] = value;
      mapped.push(`${name} → ${rfcName}`);
    }
  }
  if ('schemasSupported' in normalized) {
    issues.push({
      path: '$.schemasSupported',
      message:
        'not an RFC 7643 attribute: a provider lists its schemas at /Schemas; list extension schema URNs in "schemas"',
    });
  }

  checkNames(issues, normalized);
  checkUris(issues, normalized);

  const decoded = decode(ServiceProviderConfig, normalized);
  if (!decoded.ok) issues.push(...decoded.errors);

  const schemas = normalized.schemas;
  if (Array.isArray(schemas)) {
    if (!schemas.includes(URN.ServiceProviderConfig)) {
      issues.push({ path: '$.schemas', message: `must contain exactly "${URN.ServiceProviderConfig}"` });
    }
    schemas.forEach((urn, i) => {
      if (typeof urn === 'string' && !isScimUrn(urn)) {
        issues.push({ path: `$.schemas[${i}]`, message: `"${urn}" is not a well-formed SCIM schema URN` });
      }
    });
  }

  // Each scheme's type, name and description are checked by the codec (non-empty strings).
  if (Array.isArray(normalized.authenticationSchemes) && normalized.authenticationSchemes.length === 0) {
    issues.push({ path: '$.authenticationSchemes', message: 'at least one authentication scheme is required' });
  }

  checkLimit(issues, normalized.bulk, '$.bulk.maxOperations', 'maxOperations', limits.maxBulkOperations);
  checkLimit(issues, normalized.bulk, '$.bulk.maxPayloadSize', 'maxPayloadSize', Number.MAX_SAFE_INTEGER);
  checkLimit(issues, normalized.filter, '$.filter.maxResults', 'maxResults', limits.maxFilterResults);

  const unique = dedupe(issues);
  return { ok: unique.length === 0, issues: unique, normalized, mapped };
}

/** An attribute RFC 7643 does not define would only be refused by the provider, after the run started. */
function checkNames(issues: DecodeIssue[], config: Record<string, unknown>): void {
  const listed = new Set((Array.isArray(config.schemas) ? config.schemas : []).map((s) => String(s).toLowerCase()));
  for (const [name, value] of Object.entries(config)) {
    if (name === 'schemasSupported') continue; // has its own message
    if (!(name in RFC_ATTRIBUTES)) {
      if (name.toLowerCase().startsWith('urn:') && listed.has(name.toLowerCase())) continue; // an extension listed in schemas
      issues.push({
        path: `$.${name}`,
        message: `not an RFC 7643 ServiceProviderConfig attribute (${Object.keys(RFC_ATTRIBUTES).join(', ')})`,
      });
      continue;
    }
    const members = RFC_ATTRIBUTES[name];
    if (!members) continue;
    const items =
      name === 'authenticationSchemes'
        ? Array.isArray(value)
          ? value.map((v, i) => [v, `$.${name}[${i}]`] as const)
          : []
        : [[value, `$.${name}`] as const];
    for (const [item, path] of items) {
      if (!isRecord(item)) continue;
      for (const member of Object.keys(item)) {
        if (!members.includes(member))
          issues.push({
            path: `${path}.${member}`,
            message: `not an attribute of "${name}" (RFC 7643 §5: ${members.join(', ')})`,
          });
      }
    }
  }
}

function checkUris(issues: DecodeIssue[], config: Record<string, unknown>): void {
  const check = (value: unknown, path: string) => {
    if (typeof value === 'string' && !isAbsoluteUri(value))
      issues.push({ path, message: `"${value}" is not an absolute URI (e.g. https://example.com/help)` });
  };
  check(config.documentationUri, '$.documentationUri');
  if (Array.isArray(config.authenticationSchemes)) {
    config.authenticationSchemes.forEach((scheme, i) => {
      if (!isRecord(scheme)) return;
      check(scheme.specUri, `$.authenticationSchemes[${i}].specUri`);
      check(scheme.documentationUri, `$.authenticationSchemes[${i}].documentationUri`);
    });
  }
}

/** Checks the gateway limits a run was given (they come from input or the command line). */
export function gatewayLimitsOf(
  input: Partial<GatewayLimits> | undefined,
): { ok: true; limits: GatewayLimits } | { ok: false; problem: string } {
  const limits = { ...CXONE_GATEWAY_LIMITS };
  for (const key of Object.keys(CXONE_GATEWAY_LIMITS) as Array<keyof GatewayLimits>) {
    const value = input?.[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1)
      return { ok: false, problem: `limits.${key} must be a positive integer, got ${String(value)}` };
    limits[key] = value;
  }
  return { ok: true, limits };
}

function checkLimit(issues: DecodeIssue[], parent: unknown, path: string, member: string, max: number): void {
  if (!isRecord(parent) || typeof parent[member] !== 'number') return;
  const value = parent[member] as number;
  // A provider without the feature publishes 0 (RFC 7643 §5 still requires the member).
  if (value === 0 && parent.supported === false) return;
  if (!Number.isInteger(value) || value < 1) {
    issues.push({ path, message: `must be a positive integer, got ${value}` });
  } else if (value > max) {
    issues.push({ path, message: `${value} exceeds the gateway limit of ${max}` });
  }
}

function dedupe(issues: DecodeIssue[]): DecodeIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** One attribute whose desired value differs from what the provider reports. */
export interface ConfigDifference {
  path: string;
  desired: unknown;
  actual: unknown;
}

/**
 * The canonical diff of desired against actual: every leaf the desired config sets that the
 * provider reports differently. Arrays (schemas, authenticationSchemes) compare as wholes;
 * attributes the desired config leaves out, and server-managed ones, are not compared.
 */
export function diffServiceProviderConfig(desired: Record<string, unknown>, actual: unknown): ConfigDifference[] {
  const differences: ConfigDifference[] = [];
  const walk = (want: unknown, have: unknown, path: string) => {
    if (isRecord(want)) {
      for (const [key, value] of Object.entries(want)) {
        if (path === '$' && SERVER_MANAGED.includes(key)) continue;
        walk(value, isRecord(have) ? have[key] : undefined, `${path}.${key}`);
      }
      return;
    }
    if (canonicalJson(want) !== canonicalJson(have)) differences.push({ path, desired: want, actual: have ?? null });
  };
  walk(desired, actual, '$');
  return differences;
}
