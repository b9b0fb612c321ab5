// `cxone-scim mapping test|eval|check`: inspection tools for a mapping, run in the CLI process (no
// workflow). `test` maps one record of a source and, with a tenant, shows the provider's current
// values and the write that would follow; `eval` prints one expression's value; `check` holds a
// mapping against a tenant's /Schemas. With a tenant they only read, through the worker's own
// HTTP client and discovery code: nothing is ever written to the provider.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { createDiscoveryActivities } from '../activities/discovery';
import { createActivityDeps, dialectFor, scimClientFor } from '../activities/deps';
import { patchAllowed } from '../activities/provider/patch-or-put';
import { lookupUser } from '../activities/provider/user-lookup';
import { readSourceItems, type SourceItem } from '../activities/sources/user-source';
import { DEFAULT_TENANT_ID, TenantRegistry } from '../config/tenants';
import { parseUntrustedJson } from '../core/json';
import { compileExpression, evaluateAsync, seededRandom } from '../mapping/expression';
import {
  applyMapping,
  type CompiledMapping,
  compileMapping,
  explainMapping,
  type MappingContext,
  parseTargetPath,
  readPath,
  type RuleOutcome,
} from '../mapping/mapping';
import { checkMappingAgainstSchema } from '../mapping/schema-check';
import type { ScimClient, ScimResponse } from '../http';
import { filterString } from '../scim/filter';
import { mergedForPut, patchRequest, userPatchOperations } from '../scim/patch';
import { matchBy, resourcesOf } from '../scim/user-match';
import { type UserSchemaModel, userNameOf, userSchemaModel, validateUser } from '../scim/user-validation';
import { type CliContext, integerOption, readJsonFile } from './context';
import { ExitCode, UsageError } from './exit-codes';

/** The seed Guid() and RandomString() draw from when none is given: the same values on every run. */
const DEFAULT_SEED = 'cxone-scim mapping';

function instantOption(value: string): number {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new InvalidArgumentError('must be an ISO 8601 instant, e.g. 2025-01-31T09:00:00Z.');
  return ms;
}

/** A JSON option's value, parsed (keys such as __proto__ refused); the option is named in any error. */
function jsonOption<T>(option: string, text: string, accepts: (value: unknown) => value is T, expected: string): T {
  let value: unknown;
  try {
    value = parseUntrustedJson(text);
  } catch (err) {
    throw new UsageError(`${option}: ${(err as Error).message}`);
  }
  if (!accepts(value)) throw new UsageError(`${option}: expected ${expected}`);
  return value;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** SelectUniqueValue without a tenant: a candidate is free unless `--taken` lists it (ignoring case, as userName compares). */
function takenCheck(taken: readonly string[]): (target: string, value: string) => boolean {
  const set = new Set(taken.map((t) => t.toLowerCase()));
  return (_target, value) => !set.has(value.toLowerCase());
}

function readMapping(file: string, columns?: readonly string[]): CompiledMapping {
  const compiled = compileMapping(readJsonFile(file, '--mapping'), columns);
  if (!compiled.ok)
    throw new UsageError(`--mapping ${file}: the attribute mapping is invalid: ${compiled.problems.join('; ')}`);
  return compiled.mapping;
}

// ---------------------------------------------------------------------------------------------
// A tenant, read only

interface TenantView {
  tenantId: string;
  client: ScimClient;
  model: UserSchemaModel;
  /** ServiceProviderConfig filter.supported (or configured / assumed). */
  filter: boolean;
  /** Whether an update would be a PATCH (else GET + PUT). */
  patch: boolean;
}

/** Discovery as the worker does it (published documents, else configured and assumed ones). */
async function openTenant(context: CliContext, tenantId: string): Promise<TenantView> {
  const registry = TenantRegistry.fromEnv(context.env);
  const tenant = registry.get(tenantId);
  const deps = createActivityDeps(registry);
  const discovery = createDiscoveryActivities(deps);
  const spc = await discovery.discoverServiceProviderConfig(tenant.tenantId);
  const types = await discovery.discoverResourceTypes(tenant.tenantId);
  const schemas = await discovery.discoverSchemas(tenant.tenantId);
  const built = userSchemaModel(types.body, schemas.body);
  if (!built.ok) throw new Error(`tenant ${tenant.tenantId}: ${built.problem}`);
  for (const warning of built.warnings) context.stderr.write(`warning: ${warning}\n`);
  const capabilities = spc.capabilities;
  return {
    tenantId: tenant.tenantId,
    client: scimClientFor(deps, tenant.tenantId),
    model: built.model,
    filter: capabilities?.filter.value ?? true,
    patch: patchAllowed(capabilities?.patch.value ?? true, dialectFor(deps, tenant.tenantId)),
  };
}

/**
 * SelectUniqueValue against the provider: a candidate is taken when a user other than `self` has
 * it. The filter's answer is verified (some servers ignore `filter`).
 */
function providerCheck(tenant: TenantView, self: () => string | undefined) {
  return async (target: string, value: string): Promise<boolean> => {
    const path = parseTargetPath(target);
    if (!path) return true;
    const attribute = [path.extension, `${path.attribute}${path.sub ? `.${path.sub}` : ''}`].filter(Boolean).join(':');
    const response = await tenant.client.get(tenant.model.endpoint, {
      query: { filter: `${attribute} eq ${filterString(value)}` },
    });
    return !resourcesOf(response.body).some((candidate) => {
      if (!isObject(candidate) || candidate.id === self()) return false;
      const found = readPath(candidate, path);
      return typeof found === 'string' && found.toLowerCase() === value.toLowerCase();
    });
  };
}

// ---------------------------------------------------------------------------------------------
// mapping test

interface TestOptions {
  mapping: string;
  row?: number;
  user?: string;
  tenant?: string;
  format?: string;
  now: number;
  seed: string;
  taken?: string;
}

/** The record `--row N` (1-based, in source order) or `--user key` names, with where it is. */
async function findRecord(
  source: string,
  options: TestOptions,
  mappingFile: string,
): Promise<{ item: SourceItem & { record: unknown }; index: number; mapping: CompiledMapping }> {
  let mapping: CompiledMapping | undefined;
  const found: Array<{ item: SourceItem; index: number }> = [];
  const rawMatches: Array<{ item: SourceItem; index: number }> = [];
  const key = options.user?.toLowerCase();
  const stop = Symbol('found');
  try {
    await readSourceItems(
      { path: source, ...(options.format ? { format: options.format as 'csv' } : {}) },
      {
        header: (columns) => {
          mapping = readMapping(mappingFile, columns); // expression columns checked against the header
        },
        item: (item, index) => {
          if (options.row !== undefined) {
            if (index + 1 === options.row) {
              found.push({ item, index });
              throw stop;
            }
            return;
          }
          if (!('record' in item) || !isObject(item.record)) return;
          mapping ??= readMapping(mappingFile);
          // The mapped userName or externalId (SelectUniqueValue taking its first candidate).
          const mapped = applyMapping(mapping, item.record, {
            now: options.now,
            seed: options.seed,
            isUniqueIn: () => true,
          });
          const user = mapped.ok ? mapped.user : undefined;
          if (
            (user && userNameOf(user)?.toLowerCase() === key) ||
            (user && typeof user.externalId === 'string' && user.externalId === options.user)
          )
            found.push({ item, index });
          else if (Object.values(item.record).some((v) => typeof v === 'string' && v.toLowerCase() === key))
            rawMatches.push({ item, index });
        },
      },
    );
  } catch (err) {
    if (err !== stop) throw err;
  }
  mapping ??= readMapping(mappingFile);
  const where = (m: { item: SourceItem; index: number }) =>
    `record ${m.index + 1}${m.item.line !== undefined ? ` (line ${m.item.line})` : ''}`;
  const candidates = found.length > 0 ? found : rawMatches;
  if (candidates.length === 0)
    throw new UsageError(
      options.row !== undefined
        ? `${source} has fewer than ${options.row} records`
        : `no record of ${source} maps to userName or externalId "${options.user}", or has a field of that value`,
    );
  if (candidates.length > 1)
    throw new UsageError(`"${options.user}" matches ${candidates.map(where).join(', ')}: name one with --row`);
  const [chosen] = candidates;
  if (!('record' in chosen.item)) throw new UsageError(`${where(chosen)}: ${chosen.item.problems.join('; ')}`);
  return { item: chosen.item, index: chosen.index, mapping };
}

function describeOutcome(outcome: RuleOutcome): string {
  switch (outcome.kind) {
    case 'value':
      return outcome.redact ? '(a value, withheld: Redact)' : JSON.stringify(outcome.value);
    case 'unset':
      return '(unset: no value and no default)';
    case 'skipped':
      return '(left out: IgnoreFlowIfNullOrEmpty)';
    case 'problem':
      return `problem: ${outcome.problem}`;
  }
}

async function runTest(context: CliContext, source: string, options: TestOptions): Promise<void> {
  if ((options.row === undefined) === (options.user === undefined))
    throw new UsageError('give one of --row <n> and --user <key>');
  const out = (line = '') => context.stdout.write(`${line}\n`);
  const { item, index, mapping } = await findRecord(source, options, options.mapping);
  const tenant = options.tenant ? await openTenant(context, options.tenant) : undefined;
  let currentId: string | undefined;
  const taken = options.taken ? jsonOption('--taken', options.taken, isStrings, 'a JSON array of strings') : [];
  const mappingContext: MappingContext = {
    now: options.now,
    seed: options.seed,
    isUniqueIn: tenant ? providerCheck(tenant, () => currentId) : takenCheck(taken),
  };
  const record = item.record as Record<string, unknown>;
  // The provider's user is looked up before SelectUniqueValue runs, so that its own values count as
  // free. A userName SelectUniqueValue chooses is no key to find it by (it is chosen on create):
  // then only a mapped externalId is.
  let current: Record<string, unknown> | undefined;
  let lookup = '';
  if (tenant) {
    const first = applyMapping(mapping, record, { ...mappingContext, isUniqueIn: () => true });
    const chosen = mapping.rules.some(
      (r) => r.path.attribute.toLowerCase() === 'username' && r.compiled?.selectsUnique,
    );
    const userName = first.ok && !chosen ? userNameOf(first.user) : undefined;
    const externalId = first.ok && typeof first.user.externalId === 'string' ? first.user.externalId : undefined;
    const options = { endpoint: tenant.model.endpoint, call: (request: () => Promise<ScimResponse>) => request() };
    const match = userName
      ? await lookupUser(
          tenant.client,
          { userName, ...(externalId ? { externalId } : {}) },
          { ...options, filter: tenant.filter, scanOnMiss: true },
        )
      : externalId
        ? matchBy(
            'externalId',
            externalId,
            resourcesOf(
              (
                await tenant.client.get(options.endpoint, {
                  query: { filter: `externalId eq ${filterString(externalId)}` },
                })
              ).body,
            ),
          )
        : undefined;
    if (match?.kind === 'one') [current, currentId] = [match.resource, match.resource.id];
    const keys = [userName && `userName "${userName}"`, externalId && `externalId "${externalId}"`]
      .filter(Boolean)
      .join(' or ');
    lookup = !match
      ? chosen
        ? 'userName is chosen by SelectUniqueValue and no externalId is mapped: the record would be a new user'
        : 'no userName to look the user up by'
      : match.kind === 'one'
        ? `the provider has this user: id ${match.resource.id}`
        : match.kind === 'none'
          ? `the provider has no user with ${keys}`
          : `ambiguous: ${match.ids.length} provider users match (ids ${match.ids.join(', ')}); nothing would be written`;
  }
  const { outcomes, result } = await explainMapping(mapping, record, mappingContext);

  out(`${source}: record ${index + 1}${item.line !== undefined ? ` (line ${item.line})` : ''}`);
  out(`now ${new Date(options.now).toISOString()}, seed ${JSON.stringify(options.seed)}`);
  const width = Math.min(48, Math.max(...outcomes.map((o) => o.target.length)));
  for (const { target, outcome } of outcomes) {
    let line = `  ${target.padEnd(width)}  ${describeOutcome(outcome)}`;
    const path = parseTargetPath(target);
    if (current && path) {
      const theirs = readPath(current, path);
      line += `   provider: ${theirs === undefined ? '(none)' : JSON.stringify(theirs)}`;
    }
    out(line);
  }
  if (!result.ok) {
    out(`the record cannot be mapped: ${result.problems.join('; ')}`);
    context.exitCode = ExitCode.Error;
    return;
  }
  out('user:');
  out(JSON.stringify(result.user, null, 2));
  if (!tenant) return;
  out(`tenant ${tenant.tenantId}: ${lookup}`);
  const reasons = validateUser(tenant.model, result.user);
  if (reasons.length > 0) {
    out(`the provider's schema refuses this user (nothing would be sent): ${reasons.join('; ')}`);
    context.exitCode = ExitCode.Error;
    return;
  }
  if (lookup.startsWith('ambiguous')) {
    context.exitCode = ExitCode.Error;
    return;
  }
  if (!current) {
    out(`would send: POST ${tenant.model.endpoint}`);
    out(JSON.stringify(result.user, null, 2));
    return;
  }
  const changes = userPatchOperations(result.user, current);
  const path = `${tenant.model.endpoint}/${encodeURIComponent(String(currentId))}`;
  if (changes.length === 0) out('would send nothing: the provider already has these values');
  else if (tenant.patch) {
    out(`would send: PATCH ${path}`);
    out(JSON.stringify(patchRequest(changes), null, 2));
  } else {
    out(`would send: PUT ${path} (the provider takes no PATCH)`);
    out(JSON.stringify(mergedForPut(result.user, current), null, 2));
  }
}

// ---------------------------------------------------------------------------------------------
// mapping eval

interface EvalOptions {
  expression: string;
  columns?: string;
  taken?: string;
  now: number;
  seed: string;
}

async function runEval(context: CliContext, options: EvalOptions): Promise<void> {
  const record = options.columns
    ? jsonOption('--columns', options.columns, isObject, 'a JSON object of column values, e.g. {"givenName":"Zoë"}')
    : {};
  const taken = options.taken ? jsonOption('--taken', options.taken, isStrings, 'a JSON array of strings') : [];
  const compiled = compileExpression(options.expression, { entry: 'expression' });
  if (!compiled.ok) {
    context.stderr.write(`${compiled.errors.map((e) => e.message).join('\n')}\n`);
    context.exitCode = ExitCode.Error;
    return;
  }
  const isFree = takenCheck(taken);
  const result = await evaluateAsync(compiled.expression, record, {
    now: options.now,
    random: seededRandom(`${options.seed}\u0000expression`),
    isUnique: (value) => isFree('expression', value),
  });
  if (!result.ok) {
    context.stderr.write(`${result.problem}\n`);
    context.exitCode = ExitCode.Error;
    return;
  }
  // JSON, so that null and "" read apart; an ignored attribute is {"skip":true}.
  context.stdout.write(`${result.ignore ? JSON.stringify({ skip: true }) : JSON.stringify(result.value)}\n`);
}

// ---------------------------------------------------------------------------------------------
// mapping check

async function runCheck(context: CliContext, options: { mapping: string; tenant: string }): Promise<void> {
  const mapping = readMapping(options.mapping);
  const tenant = await openTenant(context, options.tenant);
  const problems = checkMappingAgainstSchema(mapping, tenant.model);
  const schemas = [tenant.model.schema, ...tenant.model.extensions.map((e) => e.schema)].join(', ');
  if (problems.length === 0) {
    context.stdout.write(`${options.mapping}: fits tenant ${tenant.tenantId} (${schemas})\n`);
    return;
  }
  context.stdout.write(
    `${options.mapping}: ${problems.length} problem${problems.length === 1 ? '' : 's'} against tenant ${tenant.tenantId} (${schemas}):\n`,
  );
  for (const problem of problems) context.stdout.write(`  ${problem}\n`);
  context.exitCode = ExitCode.Error;
}

export function registerMappingCommand(program: Command, context: CliContext): void {
  const mapping = program
    .command('mapping')
    .description('Try a mapping on one record, one expression, or against a tenant’s /Schemas (nothing is written).');
  const volatile = (command: Command) =>
    command
      .option('--now <instant>', 'the instant Now() returns (ISO 8601; default: the current time)', instantOption)
      .option('--seed <text>', 'the seed Guid() and RandomString() draw from', DEFAULT_SEED);

  volatile(
    mapping
      .command('test')
      .argument('<source>', 'a CSV, JSON or NDJSON file (or a URL, as provision takes it)')
      .description(
        'Map one record and print every target attribute with its value; with --tenant, also the provider’s current value and the PATCH (or POST, or PUT) that would follow. Reads only.',
      )
      .requiredOption('--mapping <file>', 'the attribute mapping (JSON)')
      .option('--row <n>', 'the n-th record of the source (1 = the first after a CSV header)', integerOption(1))
      .option('--user <key>', 'the record that maps to this userName or externalId (or has a field of this value)')
      .option('--tenant <id>', 'compare with this tenant’s user (read only)')
      .option('--format <format>', 'csv, json or ndjson (default: from the file extension)')
      .option('--taken <json>', 'without --tenant: values already taken in the target, for SelectUniqueValue'),
  ).action((source: string, options: Omit<TestOptions, 'now'> & { now?: number }) =>
    runTest(context, source, { ...options, now: options.now ?? Date.now() }),
  );

  volatile(
    mapping
      .command('eval')
      .description(
        'Print one expression’s value as JSON (null and "" apart; {"skip":true} when IgnoreFlowIfNullOrEmpty leaves the attribute out). A refused expression exits 1 with the reason.',
      )
      .requiredOption('--expression <text>', 'the expression, e.g. Join(" ", [givenName], [sn])')
      .option('--columns <json>', 'the source record, e.g. {"givenName":"Zoë"}')
      .option('--taken <json>', 'values already taken in the target, for SelectUniqueValue, e.g. ["zoe@contoso.com"]'),
  ).action((options: Omit<EvalOptions, 'now'> & { now?: number }) =>
    runEval(context, { ...options, now: options.now ?? Date.now() }),
  );

  mapping
    .command('check')
    .description(
      'Check a mapping against a tenant’s /Schemas (and /ResourceTypes): unknown attributes and extensions, wrong types, read-only or immutable targets, required attributes never mapped. Exits 1 naming every problem.',
    )
    .requiredOption('--mapping <file>', 'the attribute mapping (JSON)')
    .option('--tenant <id>', 'tenant id', context.env.CXONE_TENANT_ID || DEFAULT_TENANT_ID)
    .action((options: { mapping: string; tenant: string }) => runCheck(context, options));
}
