// The options `sync` and `schedule create` share, and the syncUsers input they make.
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { looksLikeUrl, parseSourceLocation, SourceLocationError } from '../activities/sources/source-url';
import type { SourceFormat } from '../activities/sources/user-source';
import { DEFAULT_TENANT_ID } from '../config/tenants';
import { compileMapping } from '../mapping/mapping';
import type { SyncUsersInput } from '../workflows';
import { DURATION_EXAMPLES, durationMs } from '../workflows/input-checks';
import { integerOption, readJsonFile, type CliContext } from './context';
import { UsageError } from './exit-codes';

export interface SyncOptions {
  mapping?: string;
  tenant: string;
  format?: SourceFormat;
  dryRun?: boolean;
  planOut?: string;
  matchKey?: 'userName' | 'externalId';
  scopeSuffix?: string[];
  scopeHasExternalId?: boolean;
  scopeExternalIdPrefix?: string;
  protect?: string[];
  deprovision?: 'deactivate' | 'delete';
  orphans?: 'auto' | 'leavers' | 'out-of-scope';
  maxDeletions?: number;
  maxDeletionShare?: number;
  approvalTimeout?: string;
  user?: string;
  sliceSize?: number;
  pageSize?: number;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Commander parser of a share option (0..1). */
export function shareOption(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1))
    throw new InvalidArgumentError('must be a share between 0 and 1, e.g. 0.2.');
  return n;
}

/** Commander parser of a duration option (`24 hours`, `90 minutes`, `1 day`): kept as given, refused unless > 0 ms. */
export function durationOption(value: string): string {
  if (durationMs(value) === undefined)
    throw new InvalidArgumentError(`must be a duration such as ${DURATION_EXAMPLES}.`);
  return value;
}

/** Adds the reconciliation options to `command`. */
export function addSyncOptions(command: Command, context: CliContext): Command {
  return command
    .option('--mapping <file>', 'attribute mapping JSON (target SCIM path → source column, constants, transforms)')
    .option('--tenant <id>', 'tenant id', context.env.CXONE_TENANT_ID || DEFAULT_TENANT_ID)
    .addOption(
      new Option('--format <format>', 'source format (default: from the extension)').choices(['csv', 'json', 'ndjson']),
    )
    .option('--dry-run', 'compute and print the plan; change nothing')
    .option('--plan-out <file>', "also write the whole plan (.csv, else JSON) to this path on the worker's file system")
    .addOption(
      new Option('--match-key <key>', 'how source and provider users are matched').choices(['userName', 'externalId']),
    )
    .option('--scope-suffix <suffix>', 'manage only provider users whose userName ends with this (repeatable)', collect)
    .option('--scope-has-external-id', 'manage only provider users that carry an externalId')
    .option('--scope-external-id-prefix <prefix>', 'manage only provider users whose externalId starts with this')
    .option('--protect <userName>', 'never touch this account (repeatable)', collect)
    .addOption(
      new Option('--deprovision <how>', 'users gone from the source are deactivated (default) or deleted').choices([
        'deactivate',
        'delete',
      ]),
    )
    .addOption(
      new Option(
        '--orphans <how>',
        'provider users in no source record: auto (leavers once the tenant was adopted, else out of scope), leavers, out-of-scope',
      ).choices(['auto', 'leavers', 'out-of-scope']),
    )
    .option('--max-deletions <n>', 'removals above this wait for approval (default 500)', integerOption(0))
    .option(
      '--max-deletion-share <share>',
      'removals above this share of the managed users wait for approval (default 0.2)',
      shareOption,
    )
    .option(
      '--approval-timeout <duration>',
      "how long to wait for an approval, e.g. '24 hours' (default)",
      durationOption,
    )
    .option('--user <userName>', 'sync only this source user (provision on demand) and print each step')
    .option('--slice-size <n>', 'changes per activity (default 200)', integerOption())
    .option('--page-size <n>', 'users per page when listing the provider (default 500)', integerOption());
}

/** The attribute mapping in the `--mapping` file, checked here so a bad one fails before any run starts. */
export function mappingOption(file: string | undefined): unknown {
  if (!file) return undefined;
  const mapping = readJsonFile(file, '--mapping');
  const compiled = compileMapping(mapping);
  if (!compiled.ok)
    throw new UsageError(`--mapping ${file}: the attribute mapping is invalid: ${compiled.problems.join('; ')}`);
  return mapping;
}

/**
 * Where the worker reads the users: a path made absolute (the worker resolves it, not the CLI's
 * directory); a URL (s3://, https://, file://) checked here, so a bad one fails before a run starts,
 * and passed as it is.
 */
function sourceArgument(file: string): string {
  if (!looksLikeUrl(file)) return path.resolve(file);
  try {
    parseSourceLocation(file);
  } catch (err) {
    if (err instanceof SourceLocationError) throw new UsageError(err.message);
    throw err;
  }
  return file;
}

/** A job's users file as its input's `source` names it: the location, the format, and the `--mapping`, checked. */
export function usersFileSource(file: string, options: { format?: SourceFormat; mapping?: string }) {
  const mapping = mappingOption(options.mapping);
  return {
    path: sourceArgument(file),
    ...(options.format ? { format: options.format } : {}),
    ...(mapping !== undefined ? { mapping } : {}),
  };
}

/** The syncUsers input for a users file (or URL) the worker reads. */
export function syncInputFrom(file: string, options: SyncOptions): SyncUsersInput {
  const scope = {
    ...(options.scopeSuffix?.length ? { userNameSuffixes: options.scopeSuffix } : {}),
    ...(options.scopeHasExternalId ? { hasExternalId: true } : {}),
    ...(options.scopeExternalIdPrefix ? { externalIdPrefix: options.scopeExternalIdPrefix } : {}),
  };
  const threshold = {
    ...(options.maxDeletions !== undefined ? { maxCount: options.maxDeletions } : {}),
    ...(options.maxDeletionShare !== undefined ? { maxShare: options.maxDeletionShare } : {}),
  };
  return {
    tenant: options.tenant,
    source: usersFileSource(file, options),
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.planOut ? { planOut: { path: path.resolve(options.planOut) } } : {}),
    ...(options.matchKey ? { matchKey: options.matchKey } : {}),
    ...(Object.keys(scope).length > 0 ? { scope } : {}),
    ...(options.protect?.length ? { protectedAccounts: options.protect } : {}),
    ...(options.deprovision ? { deprovision: options.deprovision } : {}),
    ...(options.orphans ? { orphans: options.orphans } : {}),
    ...(Object.keys(threshold).length > 0 ? { deletionThreshold: threshold } : {}),
    ...(options.approvalTimeout ? { approvalTimeout: options.approvalTimeout } : {}),
    ...(options.user ? { user: options.user } : {}),
    ...(options.sliceSize !== undefined ? { sliceSize: options.sliceSize } : {}),
    ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
  };
}
