// Evaluates a compiled expression against one source record. Pure: the instant Now() returns and
// the random numbers Guid()/RandomString() draw come from the caller, so the planner evaluates a
// record once and every retry sends what was planned.
import { DateProblem, type DateValue, makeDate, parseDate } from './datetime';
import {
  type Arg,
  type CallContext,
  FUNCTIONS,
  type FunctionSpec,
  IGNORE_FLOW,
  IgnoreFlow,
  isNullOrEmpty,
} from './functions';
import type { ComparisonOperator } from './lexer';
import type { Node } from './parser';
import {
  columnValue,
  describe,
  EvaluationError,
  isDate,
  numberLiteral,
  type Output,
  toBoolean,
  toOutput,
  toText,
  type Value,
} from './values';

/** A parsed, checked expression: plain data, safe to pass to activities and workflows. */
export interface CompiledExpression {
  /** The mapping entry (target attribute) it belongs to, for messages. */
  entry: string;
  text: string;
  root: Node;
  /** Source columns it reads, in order of first use. */
  columns: string[];
  /** Uses Now, Guid or RandomString: evaluate it where records are planned, and keep the value. */
  volatile: boolean;
  /** Is a SelectUniqueValue: needs `isUnique` in the context. */
  selectsUnique: boolean;
  /** Uses Redact: its value and its errors' details stay out of logs. */
  redacts: boolean;
}

export interface EvaluationContext {
  /** The fixed instant Now() returns (ms since the epoch, a Date, or an ISO string). */
  now: number | Date | string;
  /** Uniform in [0, 1); required by Guid() and RandomString(). Use `seededRandom` for values a retry reproduces. */
  random?: () => number;
  /** SelectUniqueValue's check against the target: is this candidate free? */
  isUnique?: (value: string) => boolean | Promise<boolean>;
}

export type EvaluationResult =
  /** `ignore`: IgnoreFlowIfNullOrEmpty met null or "" — leave the attribute out. `redact`: keep the value out of logs. */
  { ok: true; value: Output; ignore: boolean; redact: boolean } | { ok: false; problem: string };

function instant(now: EvaluationContext['now']): DateValue {
  const ms = typeof now === 'number' ? now : typeof now === 'string' ? Date.parse(now) : now.getTime();
  if (!Number.isFinite(ms)) throw new EvaluationError(`the evaluation context's now is not an instant: ${String(now)}`);
  return makeDate(ms, 'utc');
}

function noRandom(): number {
  throw new EvaluationError('Guid() and RandomString() need a random generator in the evaluation context');
}

// ---------------------------------------------------------------------------------------------
// Comparisons (IIF conditions, CBool)

function numeric(value: Value): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^\s*[-+]?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

/**
 * `=` and `<>` compare case-sensitively; `<`, `>`, … compare numbers when both sides are numbers
 * (a column's "10" counts), DateTimes by instant, otherwise strings ordinally. An absent attribute
 * compares as "" (Microsoft documents `[country]=""` as unreliable in Entra; here it is simply true).
 */
function compare(operator: ComparisonOperator, left: Value, right: Value): boolean {
  if (Array.isArray(left) || Array.isArray(right))
    throw new EvaluationError(`cannot compare ${describe(Array.isArray(left) ? left : right)} with ${operator}`);
  let order: number;
  const [ln, rn] = [numeric(left), numeric(right)];
  if (isDate(left) || isDate(right)) {
    const toMs = (v: Value): number | undefined =>
      isDate(v) ? v.epochMs : typeof v === 'string' ? parseDate(v).epochMs : undefined;
    const [a, b] = [toMs(left), toMs(right)];
    if (a === undefined || b === undefined)
      throw new EvaluationError(`cannot compare ${describe(left)} with ${describe(right)}`);
    order = Math.sign(a - b);
  } else if (typeof left === 'boolean' || typeof right === 'boolean') {
    const [a, b] = [toBoolean(left, 'a comparison'), toBoolean(right, 'a comparison')];
    order = a === b ? 0 : a ? 1 : -1;
  } else if (ln !== undefined && rn !== undefined && (typeof left !== 'string' || typeof right !== 'string')) {
    order = Math.sign(ln - rn);
  } else {
    const [a, b] = [toText(left, 'a comparison') ?? '', toText(right, 'a comparison') ?? ''];
    if (operator === '=' || operator === '<>') order = a === b ? 0 : 1;
    else if (ln !== undefined && rn !== undefined) order = Math.sign(ln - rn);
    else order = a < b ? -1 : a > b ? 1 : 0;
  }
  switch (operator) {
    case '=':
      return order === 0;
    case '<>':
      return order !== 0;
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
  }
}

// ---------------------------------------------------------------------------------------------

// Per-record work kept small (bench/mapping.ts): a call's function is found once per node and kept
// on it, hidden (not enumerable: the node stays plain data to compare and serialize), and a number
// literal is read once per written form.
const SPEC = Symbol('spec');
type CallNode = Extract<Node, { type: 'call' }> & { [SPEC]?: FunctionSpec };
function specOf(node: CallNode): FunctionSpec {
  let spec = node[SPEC];
  if (!spec) {
    spec = FUNCTIONS.get(node.name.toLowerCase())!; // compileExpression refused unknown names
    if (Object.isExtensible(node)) Object.defineProperty(node, SPEC, { value: spec, enumerable: false });
  }
  return spec;
}

const LITERALS = new Map<string, number | bigint>();
function literal(text: string): number | bigint {
  let value = LITERALS.get(text);
  if (value === undefined) {
    value = numberLiteral(text);
    if (LITERALS.size < 10_000) LITERALS.set(text, value);
  }
  return value;
}

function evaluateNode(node: Node, record: Record<string, unknown>, context: CallContext): Value {
  switch (node.type) {
    case 'string':
      return node.value;
    case 'number':
      return literal(node.text);
    case 'constant':
      return node.name;
    case 'column':
      return columnValue(record, node.name);
    case 'compare':
      return compare(
        node.operator,
        evaluateNode(node.left, record, context),
        evaluateNode(node.right, record, context),
      );
    case 'call': {
      const spec = specOf(node);
      const args: Arg[] = [];
      for (const arg of node.args) args.push(arg.type === 'missing' ? MISSING : new LazyArg(arg, record, context));
      return spec.evaluate(args, context);
    }
  }
}

const MISSING: Arg = { present: false, value: () => null };

/** An argument evaluated when (and only once if) the function reads it. */
class LazyArg implements Arg {
  readonly present = true;
  #done = false;
  #value: Value = null;
  constructor(
    private readonly node: Node,
    private readonly record: Record<string, unknown>,
    private readonly context: CallContext,
  ) {}
  value(): Value {
    if (!this.#done) {
      this.#value = evaluateNode(this.node, this.record, this.context);
      this.#done = true;
    }
    return this.#value;
  }
}

function failure(compiled: CompiledExpression, problem: unknown): EvaluationResult {
  if (!(problem instanceof EvaluationError || problem instanceof DateProblem)) throw problem;
  // A Redact expression's messages could quote the value it hides.
  const detail = compiled.redacts ? 'the expression failed (details withheld: it uses Redact)' : problem.message;
  return { ok: false, problem: `${compiled.entry}: ${detail}` };
}

function candidates(compiled: CompiledExpression, record: Record<string, unknown>, context: CallContext): string[] {
  const root = compiled.root as Extract<Node, { type: 'call' }>;
  return root.args.flatMap((arg) => {
    if (arg.type === 'missing') return [];
    const value = toText(evaluateNode(arg, record, context), 'a SelectUniqueValue rule');
    return value === null || value === '' ? [] : [value];
  });
}

/** One evaluation's context; the instant is made when first read (most expressions never do). */
class RecordCall implements CallContext {
  #now: DateValue | undefined;
  redacted: boolean;
  readonly random: () => number;
  constructor(
    private readonly nowGiven: EvaluationContext['now'],
    random: (() => number) | undefined,
    redacts: boolean,
  ) {
    this.random = random ?? noRandom;
    this.redacted = redacts;
  }
  get now(): DateValue {
    this.#now ??= instant(this.nowGiven);
    return this.#now;
  }
}

function start(compiled: CompiledExpression, context: EvaluationContext): CallContext {
  return new RecordCall(context.now, context.random, compiled.redacts);
}

function done(compiled: CompiledExpression, value: Value, call: CallContext): EvaluationResult {
  return { ok: true, value: toOutput(value, compiled.entry), ignore: false, redact: call.redacted };
}

function ignored(compiled: CompiledExpression): EvaluationResult {
  return { ok: true, value: null, ignore: true, redact: compiled.redacts };
}

const NONE_UNIQUE = 'SelectUniqueValue: every candidate is already taken in the target';

/**
 * Evaluates for one record. SelectUniqueValue needs `isUnique`; when that returns a promise, use
 * evaluateAsync.
 */
export function evaluate(
  compiled: CompiledExpression,
  record: Record<string, unknown>,
  context: EvaluationContext,
): EvaluationResult {
  try {
    const call = start(compiled, context);
    if (!compiled.selectsUnique) {
      const root = compiled.root;
      // The usual place of IgnoreFlowIfNullOrEmpty, answered without throwing (a throw per record is slow).
      if (root.type === 'call' && specOf(root).name === IGNORE_FLOW && root.args[0]?.type !== 'missing') {
        const value = evaluateNode(root.args[0] as Node, record, call);
        return isNullOrEmpty(value) ? ignored(compiled) : done(compiled, value, call);
      }
      return done(compiled, evaluateNode(root, record, call), call);
    }
    const isUnique = context.isUnique;
    if (!isUnique) throw new EvaluationError('SelectUniqueValue needs a uniqueness check (isUnique) from the caller');
    for (const candidate of candidates(compiled, record, call)) {
      const unique = isUnique(candidate);
      if (typeof unique !== 'boolean')
        throw new EvaluationError('SelectUniqueValue: isUnique returned a promise; use evaluateAsync');
      if (unique) return done(compiled, candidate, call);
    }
    throw new EvaluationError(NONE_UNIQUE);
  } catch (problem) {
    if (problem instanceof IgnoreFlow) return ignored(compiled);
    return failure(compiled, problem);
  }
}

/**
 * SelectUniqueValue's candidates for one record, in order (empty ones left out), without choosing:
 * the planner asks the provider and the run's own records about each one and records the choice.
 */
export function uniqueCandidates(
  compiled: CompiledExpression,
  record: Record<string, unknown>,
  context: EvaluationContext,
): { ok: true; candidates: string[]; ignore?: true } | { ok: false; problem: string } {
  try {
    return { ok: true, candidates: candidates(compiled, record, start(compiled, context)) };
  } catch (problem) {
    if (problem instanceof IgnoreFlow) return { ok: true, candidates: [], ignore: true };
    const failed = failure(compiled, problem);
    return { ok: false, problem: failed.ok ? `${compiled.entry}: no candidates` : failed.problem };
  }
}

/** Like evaluate, awaiting an asynchronous isUnique (a look-up in the target) one candidate at a time. */
export async function evaluateAsync(
  compiled: CompiledExpression,
  record: Record<string, unknown>,
  context: EvaluationContext,
): Promise<EvaluationResult> {
  if (!compiled.selectsUnique || !context.isUnique) return evaluate(compiled, record, context);
  try {
    const call = start(compiled, context);
    for (const candidate of candidates(compiled, record, call))
      if (await context.isUnique(candidate)) return done(compiled, candidate, call);
    throw new EvaluationError(NONE_UNIQUE);
  } catch (problem) {
    if (problem instanceof IgnoreFlow) return ignored(compiled);
    return failure(compiled, problem);
  }
}
