// Values an expression computes with, and the conversions between them, as Entra does them:
// booleans print as True/False, DateTimes as M/d/yyyy h:mm:ss tt (UTC), a multi-valued attribute
// is a list. An absent attribute is null.
import { type DateValue, formatDate } from './datetime';

export type Value = null | string | number | bigint | boolean | DateValue | Value[];

/** What an expression gives the mapping: DateTimes as Entra prints them, large integers as digits. */
export type Output = null | string | number | boolean | string[];

/** A problem with one record's values (the record fails, the others go on). */
export class EvaluationError extends Error {}

export function isDate(value: Value): value is DateValue {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `7`, `-10`, `1.5`, `&HF7`; integers beyond 2^53 (AD file times) stay exact as bigint. */
export function numberLiteral(text: string): number | bigint {
  if (text.includes('.')) return Number(text);
  const big = /^&h/i.test(text) ? BigInt(`0x${text.slice(2)}`) : BigInt(text);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/**
 * A source field: the record's own member of that name, else a dotted path through nested objects
 * (`manager.value`). Only own members are read, so a field named `toString` or `constructor` never
 * reaches a prototype.
 */
export function readField(record: Record<string, unknown>, field: string): unknown {
  if (Object.hasOwn(record, field)) return record[field];
  let current: unknown = record;
  for (const part of field.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = Object.hasOwn(current, part) ? (current as Record<string, unknown>)[part] : undefined;
  }
  return current;
}

export function columnValue(record: Record<string, unknown>, column: string): Value {
  return fromSource(readField(record, column), column);
}

function fromSource(raw: unknown, column: string): Value {
  if (raw === undefined || raw === null || raw === '') return null;
  if (typeof raw === 'string' || typeof raw === 'boolean') return raw;
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : null;
  if (Array.isArray(raw)) {
    const items = raw.map((item) => fromSource(item, column)).filter((item) => item !== null);
    if (items.some(Array.isArray)) throw new EvaluationError(`[${column}] is a list of lists, not an attribute value`);
    return items.length === 0 ? null : items;
  }
  throw new EvaluationError(`[${column}] is an object; name a field inside it, e.g. [${column}.value]`);
}

export function describe(value: Value): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length} values`;
  if (isDate(value)) return `the DateTime ${formatDate(value)}`;
  return JSON.stringify(typeof value === 'bigint' ? value.toString() : value);
}

/** A single value as a string (null stays null); a list is refused. */
export function toText(value: Value, what: string): string | null {
  if (value === null) return null;
  if (Array.isArray(value)) throw new EvaluationError(`${what} takes a single value, got ${describe(value)}`);
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number' || typeof value === 'bigint') return value.toString();
  return formatDate(value);
}

/** Like toText, null read as "". */
export function textOrEmpty(value: Value, what: string): string {
  return toText(value, what) ?? '';
}

/** Every value of a single or multi-valued attribute, as strings (null is no values). */
export function toList(value: Value, what: string): string[] {
  if (value === null) return [];
  return (Array.isArray(value) ? value : [value]).map((item) => textOrEmpty(item, what));
}

/** An integer argument: a number, or a string of digits (CSV cells are text). */
export function toInteger(value: Value, what: string): number {
  const n = typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n)) return n;
  if (typeof n === 'bigint') return Number(n);
  throw new EvaluationError(`${what} must be a whole number, got ${describe(value)}`);
}

export function toBigInt(value: Value, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) return BigInt(value.trim());
  if (typeof value === 'string' && /^\s*&h[0-9a-f]+\s*$/i.test(value)) return BigInt(`0x${value.trim().slice(2)}`);
  throw new EvaluationError(`${what} must be a whole number, got ${describe(value)}`);
}

/** .NET's Boolean.Parse plus VBA's numbers: "True"/"False" in any case, non-zero is true. */
export function toBoolean(value: Value, what: string): boolean | null {
  if (value === null) return null;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'bigint') return value !== 0n;
  if (typeof value === 'string') {
    const text = value.trim().toLowerCase();
    if (text === 'true') return true;
    if (text === 'false') return false;
    if (/^[-+]?\d+(\.\d+)?$/.test(text)) return Number(text) !== 0;
  }
  throw new EvaluationError(`${what} must be True or False (or a number), got ${describe(value)}`);
}

/** The mapping's view of a value. */
export function toOutput(value: Value, what: string): Output {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return value;
  if (Array.isArray(value)) return toList(value, what);
  return toText(value, what);
}
