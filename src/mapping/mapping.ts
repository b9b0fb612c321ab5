// Attribute mapping: turns a source record (a CSV row, a JSON object) into a SCIM User.
// Pure and deterministic, so the planning activity and the chunk activities map a record the
// same way, and a workflow can check a mapping before any activity runs.
//
// A mapping file:
//   {
//     "attributes": {
//       "userName":                  { "source": "email", "transform": ["trim", "lowercase"] },
//       "name.givenName":            "first_name",
//       "name.familyName":           "last_name",
//       "displayName":               { "source": ["first_name", "last_name"], "join": " " },
//       "emails[type eq \"work\"].value":   "email",
//       "emails[type eq \"work\"].primary": { "constant": true },
//       "active":                    { "source": "enabled", "transform": "boolean", "default": true },
//       "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "dept"
//     }
//   }
// Keys are SCIM attribute paths (the target); a string value names the source column or JSON
// field (dotted paths reach into JSON objects). `attributes` may also be an array of rules with
// a `target` member. `schemas` is computed: the core User URN plus every extension used.
import * as t from 'io-ts';
import { decode, formatIssues } from '../core/decode';
import { isRefusedKey, refusedKeyMessage } from '../core/json';
import { checkDatesSettings, type DatesSettings } from '../scim/dated-actions';
import { URN } from '../scim/urns';
import { parseTargetPath, readPath, setPath, type TargetPath } from '../scim/attribute-path';
import type { AttributeWrites } from '../scim/patch';
import {
  type CompiledExpression,
  compileExpression,
  type EvaluationContext,
  type EvaluationResult,
  evaluate,
  evaluateAsync,
  readField,
  seededRandom,
  uniqueCandidates,
} from './expression';

export const TRANSFORMS = ['trim', 'lowercase', 'uppercase', 'boolean', 'integer', 'number'] as const;
export type Transform = (typeof TRANSFORMS)[number];

const Scalar = t.union([t.string, t.number, t.boolean]);
const TransformCodec = t.keyof(Object.fromEntries(TRANSFORMS.map((name) => [name, null])) as Record<Transform, null>);

const RuleBody = t.partial({
  /** Source column(s) or JSON field path(s); several are joined with `join`. */
  source: t.union([t.string, t.array(t.string)]),
  /** A fixed value instead of a source. */
  constant: Scalar,
  /** Microsoft Entra's expression syntax, e.g. `Join(" ", [first_name], [last_name])` (docs/mappings.md). */
  expression: t.string,
  /** Separator when `source` lists several columns (default one space). Empty parts are skipped. */
  join: t.string,
  transform: t.union([TransformCodec, t.array(TransformCodec)]),
  /** Used when the source is empty. */
  default: Scalar,
  /** `create`: written when the user is created, never in an update (default `always`). */
  apply: t.keyof({ always: null, create: null }),
  /** Used when the source is empty and the user is created; an update leaves the attribute as it is. */
  defaultOnCreate: Scalar,
  /** An empty source clears the attribute at the provider (a `remove`); by default it is left as it is. */
  flowNull: t.boolean,
  /**
   * The manager (`urn:…:enterprise:2.0:User:manager`): the attribute of the mapped users whose value
   * the source gives to name the manager (docs/mappings.md "Manager references").
   */
  referenceBy: t.string,
});

export const MappingRule = t.intersection([t.type({ target: t.string }), RuleBody], 'MappingRule');
export type MappingRule = t.TypeOf<typeof MappingRule>;

export const AttributeMapping = t.intersection(
  [
    t.type({ attributes: t.union([t.array(MappingRule), t.record(t.string, t.union([t.string, RuleBody]))]) }),
    t.partial({
      schemas: t.array(t.string),
      /** Pairs [mapped user's attribute, provider's attribute] tried in turn to find a user's match (docs/mappings.md "Matching"). */
      matchOn: t.array(t.tuple([t.string, t.string])),
      /** Future-dated joiners and leavers (docs/workflows.md): the source columns of the dates and the zone, and the policy. */
      dates: t.partial({
        start: t.string,
        lastDay: t.string,
        timeZone: t.string,
        defaultTimeZone: t.string,
        leadTime: t.string,
      }),
    }),
  ],
  'AttributeMapping',
);
export type AttributeMapping = t.TypeOf<typeof AttributeMapping>;

/** A mapping in its one normalized form. */
export interface CompiledMapping {
  rules: Array<MappingRule & { path: TargetPath; compiled?: CompiledExpression; reference?: ManagerRule }>;
  schemas?: string[];
  /** Checked: each member an attribute path. */
  matchOn?: Array<[string, string]>;
  /** Checked (the default zone canonical); absent: the source carries no dates. */
  dates?: DatesSettings;
}

/**
 * A manager reference rule, checked: the source's value is a key of the manager's own record, the
 * value the mapping gives that record at `by` (a path of the mapped user), found at the provider's
 * `providerAttribute` (the matchOn pair's provider side, else the same path).
 */
export interface ManagerRule {
  by: string;
  providerAttribute: string;
}

/** A record's manager as the source names it, to resolve to the provider's id where records are planned. */
export interface ManagerReference {
  /** The manager's key (the source's value). */
  key: string;
  by: string;
  providerAttribute: string;
  /** The rule's target (`urn:…:User:manager` or `…:manager.value`). */
  target: string;
}

/** SelectUniqueValue's candidates for one target, to be chosen where records are planned (MappingContext.deferUnique). */
export interface UniqueChoice {
  target: string;
  candidates: string[];
}

/** The enterprise extension's `manager`, or its `manager.value`. */
export function isManagerTarget(path: TargetPath): boolean {
  return (
    path.extension?.toLowerCase() === URN.EnterpriseUser.toLowerCase() &&
    path.attribute.toLowerCase() === 'manager' &&
    path.filter === undefined &&
    (path.sub === undefined || path.sub.toLowerCase() === 'value')
  );
}

/**
 * What Now(), Guid() and RandomString() see: the plan's instant, and a seed naming the record (e.g.
 * `${planId}/${line}`), so the planner and every retried chunk activity map a record to the same value.
 */
export interface MappingContext {
  now: number;
  seed: string;
  /**
   * SelectUniqueValue's check of a candidate against the target attribute (`mapping test`, `mapping
   * eval`); without it a SelectUniqueValue rule fails. A promise needs explainMapping.
   */
  isUniqueIn?: (target: string, value: string) => boolean | Promise<boolean>;
  /**
   * Without isUniqueIn: a SelectUniqueValue rule gives its candidates (MapResult `choices`) for the
   * caller to choose from, instead of failing (the provisioning planner, which asks the provider).
   */
  deferUnique?: boolean;
}

/** What one rule gives for one record. */
export type RuleOutcome =
  | {
      kind: 'value';
      value: string | number | boolean;
      redact?: boolean;
      /** The rule's `defaultOnCreate`: written only when the user is created. */
      onCreate?: true;
    }
  /** The source (or the expression's value) is empty and the rule has no default: the attribute is left unset. */
  | { kind: 'unset' }
  /** IgnoreFlowIfNullOrEmpty met null or "": the attribute is left out (no default). */
  | { kind: 'skipped' }
  | { kind: 'problem'; problem: string };

/** A rule's outcome while a record is mapped: also what is left to the caller to choose or resolve. */
type Outcome =
  | RuleOutcome
  /** SelectUniqueValue's candidates, in order, to be chosen by the caller (MappingContext.deferUnique). */
  | { kind: 'choice'; candidates: string[] }
  /** A manager's key, to be resolved to the provider's id by the caller. */
  | { kind: 'reference'; key: string };

export { parseTargetPath, readPath, writesListElement, type TargetPath } from '../scim/attribute-path';

export type CompileResult = { ok: true; mapping: CompiledMapping } | { ok: false; problems: string[] };

/** Checks a mapping document (from a file or a workflow input) and normalizes it. */
export function compileMapping(document: unknown, columns?: readonly string[]): CompileResult {
  const decoded = decode(AttributeMapping, document);
  if (!decoded.ok) return { ok: false, problems: [formatIssues(decoded.errors)] };
  const { attributes, schemas, dates, matchOn } = decoded.value;
  const rules: MappingRule[] = Array.isArray(attributes)
    ? attributes
    : Object.entries(attributes).map(([target, body]) =>
        typeof body === 'string' ? { target, source: body } : { target, ...body },
      );
  const problems: string[] = [];
  const compiled: CompiledMapping['rules'] = [];
  const referenceOf = (rule: MappingRule, path: TargetPath) =>
    managerRule(rule, path, rules, matchOn, (problem) => problems.push(`${rule.target}: ${problem}`));
  for (const rule of rules) {
    const path = parseTargetPath(rule.target);
    const refused = path ? refusedNameIn(rule, path) : undefined;
    if (refused !== undefined) problems.push(`${rule.target}: ${refusedKeyMessage(refused)}`);
    else if (!path)
      problems.push(
        `${rule.target}: not a SCIM attribute path this mapping understands (e.g. name.givenName, emails[type eq "work"].value, urn:…:User:department)`,
      );
    else {
      const given = (['source', 'constant', 'expression'] as const).filter((member) => rule[member] !== undefined);
      if (given.length === 0) problems.push(`${rule.target}: needs a "source", a "constant" or an "expression"`);
      else if (given.length > 1) problems.push(`${rule.target}: has both ${given.map((g) => `"${g}"`).join(' and ')}`);
      else if (rule.default !== undefined && rule.defaultOnCreate !== undefined)
        problems.push(`${rule.target}: has both "default" and "defaultOnCreate" (one value for an empty source)`);
      else if (rule.apply === 'create' && rule.flowNull)
        problems.push(`${rule.target}: "apply": "create" never writes an update, so "flowNull" cannot clear it`);
      else {
        const reference = referenceOf(rule, path);
        const referring = reference ? { reference } : {};
        if (rule.expression === undefined) compiled.push({ ...rule, path, ...referring });
        else {
          const result = compileExpression(rule.expression, { entry: rule.target, ...(columns ? { columns } : {}) });
          if (result.ok) compiled.push({ ...rule, path, compiled: result.expression, ...referring });
          else problems.push(...result.errors.map((error) => error.message));
        }
      }
    }
  }
  if (matchOn !== undefined && matchOn.length === 0)
    problems.push('matchOn: give at least one [attribute, provider attribute] pair');
  for (const [i, pair] of (matchOn ?? []).entries())
    for (const member of pair)
      if (!parseTargetPath(member)) problems.push(`matchOn[${i}]: ${JSON.stringify(member)} is not an attribute path`);
  let checkedDates: DatesSettings | undefined;
  if (dates !== undefined) {
    const checked = checkDatesSettings(dates);
    if (checked.ok) {
      const { leadDays: _days, ...settings } = checked.value;
      checkedDates = settings;
    } else problems.push(...checked.problems);
  }
  return problems.length > 0
    ? { ok: false, problems }
    : {
        ok: true,
        mapping: {
          rules: compiled,
          ...(schemas ? { schemas } : {}),
          ...(matchOn ? { matchOn } : {}),
          ...(checkedDates ? { dates: checkedDates } : {}),
        },
      };
}

/**
 * The manager reference a rule makes, if any: a rule for `urn:…:User:manager` itself, or one with
 * `referenceBy` (which only the manager's rules may have). Its key attribute is `referenceBy`, else
 * the first matchOn pair's, else externalId when the mapping maps it, else userName.
 */
function managerRule(
  rule: MappingRule,
  path: TargetPath,
  rules: readonly MappingRule[],
  matchOn: ReadonlyArray<readonly [string, string]> | undefined,
  problem: (text: string) => void,
): ManagerRule | undefined {
  if (!isManagerTarget(path)) {
    if (rule.referenceBy !== undefined)
      problem('"referenceBy" is for the manager (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager)');
    return undefined;
  }
  if (path.sub !== undefined && rule.referenceBy === undefined) return undefined; // manager.value: the provider's id itself
  if (rule.constant !== undefined) {
    problem('a manager reference takes a "source" or an "expression" naming the manager, not a "constant"');
    return undefined;
  }
  const mapsExternalId = rules.some((r) => r.target.trim() === 'externalId');
  const by = rule.referenceBy ?? matchOn?.[0]?.[0] ?? (mapsExternalId ? 'externalId' : 'userName');
  const byPath = parseTargetPath(by);
  if (!byPath || isManagerTarget(byPath)) {
    problem(`"referenceBy": ${JSON.stringify(by)} is not an attribute of the mapped users to find the manager by`);
    return undefined;
  }
  if (!rules.some((r) => r.target.trim() === by.trim()))
    problem(`"referenceBy": the mapping does not map ${by}, so no record of the run has a key to be found by`);
  const pair = matchOn?.find(([ours]) => ours.trim() === by.trim());
  return { by, providerAttribute: pair ? pair[1] : by };
}

/** A name in the rule's target or source fields that is refused as a key (see core/json.ts), if any. */
function refusedNameIn(rule: MappingRule, path: TargetPath): string | undefined {
  const sources = rule.source === undefined ? [] : Array.isArray(rule.source) ? rule.source : [rule.source];
  const names = [path.attribute, path.sub, path.filter?.attribute, ...sources.flatMap((field) => field.split('.'))];
  return names.find((name): name is string => name !== undefined && isRefusedKey(name));
}

/**
 * The mapping used for a CSV file given without one: every column header is a SCIM path
 * (`userName`, `name.givenName`, `emails[type eq "work"].value`, …); `active` and `…primary`
 * columns are read as booleans.
 */
export function identityMapping(columns: readonly string[]): CompileResult {
  const attributes = columns
    .filter((column) => column.trim() !== '' && column.trim().toLowerCase() !== 'schemas')
    .map((column) => {
      const last = column.trim().split(/[.:]/).pop()?.toLowerCase();
      return {
        target: column.trim(),
        source: column,
        ...(last === 'active' || last === 'primary' ? { transform: 'boolean' as const } : {}),
      };
    });
  return compileMapping({ attributes });
}

export type MapResult =
  | {
      ok: true;
      user: Record<string, unknown>;
      writes?: AttributeWrites;
      /** SelectUniqueValue rules left to the caller to choose (MappingContext.deferUnique). */
      choices?: UniqueChoice[];
      /** The manager, named by its key: the caller resolves it to the provider's id. */
      manager?: ManagerReference;
    }
  | { ok: false; problems: string[] };

/** Applies a compiled mapping to one source record. Problems name the target and the source. */
export function applyMapping(
  mapping: CompiledMapping,
  record: Record<string, unknown>,
  context?: MappingContext,
): MapResult {
  const mapped: Mapped = { user: {}, problems: [], writes: {} };
  for (const rule of mapping.rules) place(mapped, rule, mappedOutcome(rule, record, context));
  return finish(mapping, mapped);
}

/**
 * applyMapping, rule by rule (`cxone-scim mapping test`): what each target gets, and the user.
 * SelectUniqueValue may ask the target asynchronously (context.isUnique).
 */
export async function explainMapping(
  mapping: CompiledMapping,
  record: Record<string, unknown>,
  context: MappingContext,
): Promise<{ outcomes: Array<{ target: string; outcome: RuleOutcome }>; result: MapResult }> {
  const mapped: Mapped = { user: {}, problems: [], writes: {} };
  const outcomes: Array<{ target: string; outcome: RuleOutcome }> = [];
  for (const rule of mapping.rules) {
    const evaluation = rule.compiled ? expressionContext(rule, context) : undefined;
    const outcome: Outcome =
      rule.compiled && evaluation && !('kind' in evaluation)
        ? expressionOutcome(rule, await evaluateAsync(rule.compiled, record, evaluation))
        : mappedOutcome(rule, record, context);
    // A manager is shown by the key the source names it by (a plan resolves it to the provider's id).
    const shown: RuleOutcome =
      outcome.kind === 'reference'
        ? { kind: 'value', value: outcome.key }
        : outcome.kind === 'choice'
          ? { kind: 'problem', problem: `${rule.target}: SelectUniqueValue needs a uniqueness check` }
          : outcome;
    outcomes.push({ target: rule.target, outcome: shown });
    place(mapped, rule, outcome);
  }
  return { outcomes, result: finish(mapping, mapped) };
}

type CompiledRule = CompiledMapping['rules'][number];

function mappedOutcome(rule: CompiledRule, record: Record<string, unknown>, context?: MappingContext): Outcome {
  const outcome = valueOutcome(rule, record, context);
  return rule.reference && outcome.kind === 'value' ? { kind: 'reference', key: String(outcome.value) } : outcome;
}

function valueOutcome(rule: CompiledRule, record: Record<string, unknown>, context?: MappingContext): Outcome {
  if (rule.compiled?.selectsUnique && context?.deferUnique && !context.isUniqueIn)
    return choiceOutcome(rule, record, context);
  if (!rule.compiled)
    return settle(
      rule,
      rule.constant !== undefined
        ? rule.constant
        : readSource(record, rule.source as string | string[], rule.join ?? ' '),
    );
  const evaluation = expressionContext(rule, context);
  return 'kind' in evaluation ? evaluation : expressionOutcome(rule, evaluate(rule.compiled, record, evaluation));
}

const NO_CONTEXT: EvaluationContext = { now: 0 };

/** A SelectUniqueValue rule's candidates, each after the rule's transforms, for the caller to choose from. */
function choiceOutcome(rule: CompiledRule, record: Record<string, unknown>, context: MappingContext): Outcome {
  const compiled = rule.compiled!;
  const evaluation: EvaluationContext = { now: context.now };
  if (compiled.volatile) evaluation.random = seededRandom(`${context.seed}\u0000${rule.target}`);
  const found = uniqueCandidates(compiled, record, evaluation);
  if (!found.ok) return { kind: 'problem', problem: found.problem };
  if (found.ignore) return { kind: 'skipped' };
  const candidates: string[] = [];
  for (const candidate of found.candidates) {
    const settled = settle(rule, candidate);
    if (settled.kind === 'problem') return settled;
    if (settled.kind === 'value' && !candidates.includes(String(settled.value))) candidates.push(String(settled.value));
  }
  return candidates.length > 0
    ? { kind: 'choice', candidates }
    : {
        kind: 'problem',
        problem: `${rule.target}: SelectUniqueValue: none of its candidates has a value for this record`,
      };
}

/** The evaluation context of one expression rule, or the problem of a volatile rule mapped without a context. */
function expressionContext(rule: CompiledRule, context: MappingContext | undefined): EvaluationContext | RuleOutcome {
  const compiled = rule.compiled!;
  if (compiled.volatile && !context)
    return {
      kind: 'problem',
      problem: `${rule.target}: uses Now, Guid or RandomString, which are mapped only where records are planned`,
    };
  // `now` is read by Now(), which needs a context (above), and by FormatDateTime's parsing. Most
  // expressions need nothing else: the mapping's context serves as it is (no object per record and rule).
  const isUniqueIn = compiled.selectsUnique ? context?.isUniqueIn : undefined;
  if (!compiled.volatile && !isUniqueIn) return context ?? NO_CONTEXT;
  const evaluation: EvaluationContext = { now: context?.now ?? 0 };
  // Seeded per record and target, and only for the expressions that draw from it (hashing the seed is not free).
  if (compiled.volatile) evaluation.random = seededRandom(`${context?.seed}\u0000${rule.target}`);
  if (isUniqueIn) evaluation.isUnique = (value) => isUniqueIn(rule.target, value);
  return evaluation;
}

function expressionOutcome(rule: CompiledRule, result: EvaluationResult): RuleOutcome {
  if (!result.ok) return { kind: 'problem', problem: result.problem };
  if (result.ignore) return { kind: 'skipped' };
  if (Array.isArray(result.value))
    return {
      kind: 'problem',
      problem: `${rule.target}: the expression gives ${result.value.length} values; the attribute takes one`,
    };
  const outcome = settle(rule, result.value);
  return result.redact && outcome.kind === 'value' ? { ...outcome, redact: true } : outcome;
}

/** A rule's raw value after its default and transforms. */
function settle(rule: CompiledRule, raw: unknown): RuleOutcome {
  const onCreate = isBlank(raw) && isBlank(rule.default) && !isBlank(rule.defaultOnCreate);
  const value = !isBlank(raw) ? raw : onCreate ? rule.defaultOnCreate : rule.default;
  if (isBlank(value)) return { kind: 'unset' };
  const marked = onCreate ? { onCreate: true as const } : {};
  if (rule.transform === undefined) return { kind: 'value', value: value as string | number | boolean, ...marked };
  const transformed = applyTransforms(value as string | number | boolean, rule.transform);
  if (transformed.ok) return { kind: 'value', value: transformed.value, ...marked };
  const from = rule.compiled
    ? 'expression'
    : rule.source === undefined
      ? 'constant'
      : `source ${JSON.stringify(rule.source)}`;
  return { kind: 'problem', problem: `${rule.target}: ${transformed.problem} (${from})` };
}

/** A record being mapped: the user, its problems, and how its attributes are written to an existing user. */
interface Mapped {
  user: Record<string, unknown>;
  problems: string[];
  writes: AttributeWrites;
  choices?: UniqueChoice[];
  manager?: ManagerReference;
}

function place(mapped: Mapped, rule: CompiledRule, outcome: Outcome): void {
  if (outcome.kind === 'value') {
    setPath(mapped.user, rule.path, outcome.value);
    if (rule.apply === 'create' || outcome.onCreate) (mapped.writes.createOnly ??= []).push(rule.target);
    // An empty source with flowNull still clears on update what a create got from defaultOnCreate.
    if (outcome.onCreate && rule.flowNull) (mapped.writes.clear ??= []).push(rule.target);
  } else if (outcome.kind === 'choice' || outcome.kind === 'reference') {
    // Placed by the caller once chosen or resolved; how it is written is known now.
    if (outcome.kind === 'choice')
      (mapped.choices ??= []).push({ target: rule.target, candidates: outcome.candidates });
    else mapped.manager = { key: outcome.key, ...rule.reference!, target: rule.target };
    if (rule.apply === 'create') (mapped.writes.createOnly ??= []).push(rule.target);
  } else if (outcome.kind === 'unset' && rule.flowNull) (mapped.writes.clear ??= []).push(rule.target);
  else if (outcome.kind === 'problem') mapped.problems.push(outcome.problem);
}

function finish(mapping: CompiledMapping, { user, problems, writes, choices, manager }: Mapped): MapResult {
  if (problems.length > 0) return { ok: false, problems };
  const modes = writes.createOnly || writes.clear ? { writes } : {};
  const pending = { ...(choices ? { choices } : {}), ...(manager ? { manager } : {}) };
  return { ok: true, user: { schemas: mapping.schemas ?? schemasOf(user), ...user }, ...modes, ...pending };
}

/**
 * Places a value chosen or resolved by the caller (a SelectUniqueValue choice, a manager's id) in
 * a mapped user; `schemas` gains the extension when it is new to the user.
 */
export function placeResolved(user: Record<string, unknown>, target: string, value: unknown): void {
  const path = parseTargetPath(target);
  if (!path) return;
  const at = isManagerTarget(path) ? { ...path, sub: 'value' } : path;
  setPath(user, at, value);
  const schemas = user.schemas;
  if (
    at.extension &&
    Array.isArray(schemas) &&
    !schemas.some((s) => String(s).toLowerCase() === at.extension!.toLowerCase())
  )
    schemas.push(at.extension);
}

/**
 * The `schemas` of a User built from a source record: the core User URN, then each extension whose
 * attributes it has (RFC 7643 §3: every schema the resource uses).
 */
export function schemasOf(user: Record<string, unknown>): string[] {
  return [URN.User, ...Object.keys(user).filter((key) => key.toLowerCase().startsWith('urn:'))];
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/** The record's own member (never one inherited from Object.prototype, such as toString). */
function readSource(record: Record<string, unknown>, source: string | string[], separator: string): unknown {
  if (!Array.isArray(source)) return readField(record, source);
  const parts = source.map((field) => readField(record, field)).filter((v) => !isBlank(v));
  return parts.length === 0 ? undefined : parts.map(String).join(separator);
}

const TRUE = new Set(['true', 'yes', 'y', '1']);
const FALSE = new Set(['false', 'no', 'n', '0']);

function applyTransforms(
  value: string | number | boolean,
  transform: MappingRule['transform'],
): { ok: true; value: string | number | boolean } | { ok: false; problem: string } {
  let current = value;
  for (const step of transform === undefined ? [] : Array.isArray(transform) ? transform : [transform]) {
    const text = String(current).trim();
    switch (step) {
      case 'trim':
        current = typeof current === 'string' ? current.trim() : current;
        break;
      case 'lowercase':
        current = String(current).toLowerCase();
        break;
      case 'uppercase':
        current = String(current).toUpperCase();
        break;
      case 'boolean':
        if (typeof current === 'boolean') break;
        if (TRUE.has(text.toLowerCase())) current = true;
        else if (FALSE.has(text.toLowerCase())) current = false;
        else return { ok: false, problem: `cannot read ${JSON.stringify(text)} as a boolean` };
        break;
      case 'integer':
      case 'number': {
        const n = typeof current === 'number' ? current : text === '' ? NaN : Number(text);
        if (!Number.isFinite(n) || (step === 'integer' && !Number.isInteger(n))) {
          return {
            ok: false,
            problem: `cannot read ${JSON.stringify(text)} as ${step === 'integer' ? 'an integer' : 'a number'}`,
          };
        }
        current = n;
        break;
      }
    }
  }
  return { ok: true, value: current };
}

/**
 * A mapped user's matchOn pairs with its values: [provider attribute, value] for each pair whose
 * attribute the user has (a string or a number), in the mapping's order.
 */
export function matchValuesOf(
  matchOn: ReadonlyArray<readonly [string, string]>,
  user: Record<string, unknown>,
): Array<[string, string]> {
  return matchOn.flatMap(([ours, theirs]) => {
    const path = parseTargetPath(ours);
    const value = path ? readPath(user, path) : undefined;
    return (typeof value === 'string' && value !== '') || typeof value === 'number'
      ? [[theirs, String(value)] as [string, string]]
      : [];
  });
}
