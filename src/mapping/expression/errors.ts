// The one shape of every problem found before a record is evaluated: which mapping entry, where
// in its expression (1-based character position, line and column), what was expected there.

export interface ExpressionError {
  /** The mapping entry (its target attribute) the expression belongs to. */
  entry: string;
  /** 1-based character offset in the expression text. */
  position: number;
  expected: string;
  found?: string;
}

export interface LocatedExpressionError extends ExpressionError {
  line: number;
  column: number;
  /** `userName: expression error at character 12 (line 1, column 12): expected …, found …` */
  message: string;
}

export function locate(text: string, error: ExpressionError): LocatedExpressionError {
  const before = text.slice(0, error.position - 1);
  const line = before.split('\n').length;
  const column = error.position - before.lastIndexOf('\n') - 1;
  const where =
    line === 1 ? `character ${error.position}` : `character ${error.position} (line ${line}, column ${column})`;
  const found = error.found === undefined ? '' : `, found ${error.found}`;
  return {
    ...error,
    line,
    column,
    message: `${error.entry}: expression error at ${where}: expected ${error.expected}${found}`,
  };
}
