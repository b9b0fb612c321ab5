// Syntax tree of an Entra expression. The tree is plain data (JSON-serializable), so a compiled
// expression can travel in a workflow input or an activity result like the mapping it came from.
//
//   expression := operand [ comparison-operator operand ]
//   operand    := Name "(" [ argument { "," argument } ] ")" | "[" column "]" | "string" | number
//               | vbBinaryCompare | vbTextCompare
//   argument   := expression | (nothing: an omitted optional argument, as in `Switch([a], , "1", "x")`)
import type { ExpressionError } from './errors';
import { type ComparisonOperator, describeToken, lex, type Token } from './lexer';

export type Node =
  | { type: 'string'; value: string; position: number }
  | { type: 'number'; text: string; position: number }
  | { type: 'column'; name: string; position: number }
  | { type: 'constant'; name: CompareConstant; position: number }
  | { type: 'call'; name: string; args: Argument[]; position: number }
  | { type: 'compare'; operator: ComparisonOperator; left: Node; right: Node; position: number };

/** An argument slot; `missing` is an omitted optional argument (`Replace([mail], "x", , , "", , )`). */
export type Argument = Node | { type: 'missing'; position: number };

/** InStr's compareType: VBA's constants, written bare. */
export const COMPARE_CONSTANTS = { vbbinarycompare: 'vbBinaryCompare', vbtextcompare: 'vbTextCompare' } as const;
export type CompareConstant = (typeof COMPARE_CONSTANTS)[keyof typeof COMPARE_CONSTANTS];

/** Error positions are 1-based. */
export type ParseResult = { ok: true; root: Node } | { ok: false; error: Omit<ExpressionError, 'entry'> };

class SyntaxProblem {
  constructor(readonly error: Omit<ExpressionError, 'entry'>) {}
}

export function parse(text: string): ParseResult {
  const lexed = lex(text);
  if (!lexed.ok) return lexed;
  const tokens = lexed.tokens;
  let index = 0;
  const peek = (): Token => tokens[index];
  const fail = (token: Token, expected: string): never => {
    throw new SyntaxProblem({ position: token.position + 1, expected, found: describeToken(token) });
  };
  const isPunct = (token: Token, text: '(' | ')' | ','): boolean => token.kind === 'punct' && token.text === text;

  const expression = (): Node => {
    const left = operand();
    const next = peek();
    if (next.kind !== 'operator') return left;
    index++;
    const right = operand();
    return { type: 'compare', operator: next.text, left, right, position: next.position };
  };

  const operand = (): Node => {
    const token = tokens[index++];
    switch (token.kind) {
      case 'string':
        return { type: 'string', value: token.value, position: token.position };
      case 'number':
        return { type: 'number', text: token.text, position: token.position };
      case 'column':
        return { type: 'column', name: token.name, position: token.position };
      case 'name': {
        const constant = COMPARE_CONSTANTS[token.text.toLowerCase() as keyof typeof COMPARE_CONSTANTS];
        if (!isPunct(peek(), '(')) {
          if (constant) return { type: 'constant', name: constant, position: token.position };
          return fail(
            peek(),
            `( after the function name ${token.text} (a column is written [${token.text}], a string "${token.text}")`,
          );
        }
        index++; // (
        const args: Argument[] = [];
        if (isPunct(peek(), ')')) index++;
        else
          for (;;) {
            const next = peek();
            args.push(
              isPunct(next, ',') || isPunct(next, ')') ? { type: 'missing', position: next.position } : expression(),
            );
            const after = tokens[index++];
            if (isPunct(after, ')')) break;
            if (!isPunct(after, ',')) {
              index--;
              fail(after, `, or ) in the arguments of ${token.text}(…) (started at character ${token.position + 1})`);
            }
          }
        return { type: 'call', name: token.text, args, position: token.position };
      }
      default:
        index--;
        return fail(token, 'a function call, a [column], a "string" or a number');
    }
  };

  try {
    const root = expression();
    if (peek().kind !== 'end')
      fail(
        peek(),
        peek().kind === 'operator'
          ? 'one comparison only (IIF takes no AND/OR: nest IIF instead)'
          : 'the end of the expression',
      );
    return { ok: true, root };
  } catch (problem) {
    if (problem instanceof SyntaxProblem) return { ok: false, error: problem.error };
    throw problem;
  }
}
