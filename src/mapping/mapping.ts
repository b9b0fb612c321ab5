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
import { parseTargetPath, setPath, type TargetPath } from '../scim/attribute-path';
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
  rules: Array<MappingRule & { path: TargetPath; compiled?: CompiledExpression }>;
  schemas?: string[];
  /** Checked: each member an attribute path. */
  matchOn?: Array<[string, string]>;
  /** Checked (the default zone canonical); absent: the source carries no dates. */
  dates?: DatesSettings;
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
      else if (rule.expression === undefined) compiled.push({ ...rule, path });
      else {
        const result = compileExpression(rule.expression, { entry: rule.target, ...(columns ? { columns } : {}) });
        if (result.ok) compiled.push({ ...rule, path, compiled: result.expression });
        else problems.push(...result.errors.map((error) => error.message));
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
  | { ok: true; user: Record<string, unknown>; writes?: AttributeWrites }
  | { ok: false; problems: string[] };

/** Applies a compiled mapping to one source record. Problems name the target and the source. */
export function applyMapping(
  mapping: CompiledMapping,
  record: Record<string, unknown>,
  context?: MappingContext,
): MapResult {
  const mapped: Mapped = { user: {}, problems: [], writes: {} };
  for (const rule of mapping.rules) place(mapped, rule, ruleOutcome(rule, record, context));
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
    const outcome =
      rule.compiled && evaluation && !('kind' in evaluation)
        ? expressionOutcome(rule, await evaluateAsync(rule.compiled, record, evaluation))
        : ruleOutcome(rule, record, context);
    outcomes.push({ target: rule.target, outcome });
    place(mapped, rule, outcome);
  }
  return { outcomes, result: finish(mapping, mapped) };
}

type CompiledRule = CompiledMapping['rules'][number];

/** What one rule gives for a record (SelectUniqueValue's check, if any, must answer synchronously). */
export function ruleOutcome(
  rule: CompiledRule,
  record: Record<string, unknown>,
  context?: MappingContext,
): RuleOutcome {
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
}

function place(mapped: Mapped, rule: CompiledRule, outcome: RuleOutcome): void {
  if (outcome.kind === 'value') {
    setPath(mapped.user, rule.path, outcome.value);
    if (rule.apply === 'create' || outcome.onCreate) (mapped.writes.createOnly ??= []).push(rule.target);
    // An empty source with flowNull still clears on update what a create got from defaultOnCreate.
    if (outcome.onCreate && rule.flowNull) (mapped.writes.clear ??= []).push(rule.target);
  } else if (outcome.kind === 'unset' && rule.flowNull) (mapped.writes.clear ??= []).push(rule.target);
  else if (outcome.kind === 'problem') mapped.problems.push(outcome.problem);
}

function finish(mapping: CompiledMapping, { user, problems, writes }: Mapped): MapResult {
  if (problems.length > 0) return { ok: false, problems };
  const modes = writes.createOnly || writes.clear ? { writes } : {};
  return { ok: true, user: { schemas: mapping.schemas ?? schemasOf(user), ...user }, ...modes };
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
