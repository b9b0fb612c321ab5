// Microsoft Entra's attribute-mapping expression language, parsed and evaluated here (no eval, no
// Function): `{ "expression": "Join(\" \", [first_name], [last_name])" }` in a mapping gives the
// value Entra's provisioning would give for the same column values. compileExpression parses and
// checks once per run (syntax, function names, argument counts, columns, literal formats and
// patterns); evaluate runs the result per record.
import { type ExpressionError, type LocatedExpressionError, locate } from './errors';
import { type CompiledExpression, evaluate, evaluateAsync, uniqueCandidates } from './evaluate';
import { FUNCTIONS, LEFT_OUT } from './functions';
import { type Argument, type Node, parse } from './parser';

export type { CompiledExpression, EvaluationContext, EvaluationResult } from './evaluate';
export type { ExpressionError, LocatedExpressionError } from './errors';
export type { Output } from './values';
export { readField } from './values';
export { evaluate, evaluateAsync, uniqueCandidates };
export { seededRandom } from './random';
export { FUNCTIONS, LEFT_OUT } from './functions';

export interface CompileOptions {
  /** The mapping entry (target attribute), named in every error. */
  entry: string;
  /** The source's columns (a CSV header); when given, every [column] must be one of them. */
  columns?: readonly string[];
}

export type CompileExpressionResult =
  | { ok: true; expression: CompiledExpression }
  | { ok: false; errors: LocatedExpressionError[] };

/** Functions whose argument may be left empty (`Switch([a], , "1", "x")`), by position. */
function mayOmit(name: string, index: number): boolean {
  switch (name) {
    case 'FormatDateTime':
      return index === 1;
    case 'InStr':
      return index >= 2;
    case 'Replace':
      return index >= 1;
    case 'Switch':
      return index === 1 || (index >= 3 && index % 2 === 1);
    case 'PCase':
    case 'ToLower':
    case 'ToUpper':
      return index === 1;
    case 'RandomString':
      return index === 5;
    default:
      return false;
  }
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** ` (did you mean X?)` for a name within a small edit of a known one, else "". */
export function suggestion(name: string, known: Iterable<string>): string {
  let best: string | undefined;
  let distance = name.length <= 4 ? 2 : 3; // a suggestion within 1 edit of a short name, 2 of a longer one
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < distance) [best, distance] = [candidate, d];
  }
  return best ? ` (did you mean ${best}?)` : '';
}

function countText(min: number, max: number): string {
  if (min === max) return `${min} argument${min === 1 ? '' : 's'}`;
  return max === Number.POSITIVE_INFINITY ? `at least ${min} arguments` : `${min} to ${max} arguments`;
}

export function compileExpression(text: string, options: CompileOptions): CompileExpressionResult {
  const { entry } = options;
  const parsed = parse(text);
  if (!parsed.ok) return { ok: false, errors: [locate(text, { entry, ...parsed.error })] };
  const errors: ExpressionError[] = [];
  const columns: string[] = [];
  let volatile = false;
  let redacts = false;
  const fail = (position: number, expected: string, found?: string) =>
    errors.push({ entry, position: position + 1, expected, ...(found === undefined ? {} : { found }) });
  const columnSet = options.columns ? new Set(options.columns) : undefined;

  const visit = (node: Argument, topLevel: boolean): void => {
    switch (node.type) {
      case 'column':
        if (!columns.includes(node.name)) columns.push(node.name);
        if (columnSet && !columnSet.has(node.name))
          fail(node.position, `a column of the source${suggestion(node.name, columnSet)}`, `[${node.name}]`);
        return;
      case 'compare':
        visit(node.left, false);
        visit(node.right, false);
        return;
      case 'call': {
        const spec = FUNCTIONS.get(node.name.toLowerCase());
        if (!spec) {
          const leftOut = Object.keys(LEFT_OUT).find((name) => name.toLowerCase() === node.name.toLowerCase());
          if (leftOut)
            fail(
              node.position,
              `a function available outside Entra: ${leftOut} is left out because ${LEFT_OUT[leftOut]}`,
              node.name,
            );
          else
            fail(
              node.position,
              `a known function${suggestion(
                node.name,
                [...FUNCTIONS.values()].map((f) => f.name),
              )}`,
              node.name,
            );
          for (const arg of node.args) visit(arg, false);
          return;
        }
        if (spec.volatile) volatile = true;
        if (spec.name === 'Redact') redacts = true;
        if (spec.topLevelOnly && !topLevel)
          fail(node.position, `${spec.name} only as the whole expression (Entra does not allow it nested)`, spec.name);
        const n = node.args.length;
        if (n < spec.min || n > spec.max) {
          fail(
            node.position,
            `${countText(spec.min, spec.max)} for ${spec.signature}`,
            `${n} argument${n === 1 ? '' : 's'}`,
          );
        } else {
          node.args.forEach((arg, index) => {
            if (arg.type === 'missing' && !mayOmit(spec.name, index))
              fail(arg.position, `argument ${index + 1} of ${spec.signature} (it cannot be left empty)`);
          });
          spec.check?.(node.args, (index, expected) =>
            fail(node.args[index]?.position ?? node.position, `${expected} (argument ${index + 1} of ${spec.name})`),
          );
        }
        for (const arg of node.args) visit(arg, false);
        return;
      }
      default:
        return;
    }
  };
  visit(parsed.root, true);
  if (errors.length > 0) {
    // Report in the order they appear in the text.
    errors.sort((a, b) => a.position - b.position);
    return { ok: false, errors: errors.map((error) => locate(text, error)) };
  }
  const root: Node = parsed.root;
  const selectsUnique = root.type === 'call' && root.name.toLowerCase() === 'selectuniquevalue';
  return { ok: true, expression: { entry, text, root, columns, volatile, selectsUnique, redacts } };
}
