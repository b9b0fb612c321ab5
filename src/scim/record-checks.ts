// Checks of a User's values that no SCIM schema states but every provider enforces in its own
// way (a 500, a truncated value, a user nobody can log in as): control characters such as NUL,
// absurd lengths, and email addresses that are not addresses. Pure: used with validateUser.

export interface RecordLimits {
  /** Longest userName, in characters. Default 256. */
  maxUserNameLength: number;
  /** Longest value of any other string attribute, in characters. Default 4096 (certificates and photos are long). */
  maxValueLength: number;
}

export const DEFAULT_RECORD_LIMITS: RecordLimits = { maxUserNameLength: 256, maxValueLength: 4096 };

/** The limits of an input, each checked; problems name the input member. */
export function recordLimitsOf(
  input: Partial<RecordLimits> | undefined,
): { ok: true; limits: RecordLimits } | { ok: false; problem: string } {
  const limits = { ...DEFAULT_RECORD_LIMITS };
  for (const key of Object.keys(DEFAULT_RECORD_LIMITS) as Array<keyof RecordLimits>) {
    const value = input?.[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1)
      return { ok: false, problem: `recordLimits.${key} must be a positive integer, got ${String(value)}` };
    limits[key] = value;
  }
  return { ok: true, limits };
}

/** C0 controls other than tab, line feed and carriage return, and DEL. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * A pragmatic addr-spec: one @, a local part without spaces, a domain of dot-separated labels
 * with at least one dot. Stricter than RFC 5321 allows in theory, as strict as mail systems are.
 */
const EMAIL =
  /^[^\s@"(),:;<>[\]\\]+@(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}$/;

export function isEmailAddress(value: string): boolean {
  return EMAIL.test(value) && !value.startsWith('.') && !value.split('@')[0].endsWith('.') && !value.includes('..');
}

function describeControl(value: string): string {
  const char = CONTROL.exec(value)?.[0] ?? '';
  const code = char.charCodeAt(0);
  return code === 0
    ? 'a NUL character (U+0000)'
    : `the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

const isTopLevel = (user: Record<string, unknown>, key: string) => Object.hasOwn(user, key);

/** Reasons, each starting with the attribute path, like validateUser's. Values are never echoed whole. */
export function recordContentProblems(
  user: Record<string, unknown>,
  limits: RecordLimits = DEFAULT_RECORD_LIMITS,
): string[] {
  const problems: string[] = [];
  const walk = (value: unknown, path: string) => {
    if (typeof value === 'string') {
      const isUserName = path.toLowerCase() === 'username';
      const max = isUserName ? limits.maxUserNameLength : limits.maxValueLength;
      const limit = isUserName ? 'recordLimits.maxUserNameLength' : 'recordLimits.maxValueLength';
      if (value.length > max)
        problems.push(`${path}: ${value.length} characters, more than the limit of ${max} (${limit})`);
      if (CONTROL.test(value)) problems.push(`${path}: contains ${describeControl(value)}`);
      if (/^emails\[\d+\]\.value$/i.test(path) && !isEmailAddress(value.trim())) {
        const shown = value.length > 60 ? `${value.slice(0, 59)}…` : value;
        problems.push(`${path}: ${JSON.stringify(shown.replace(CONTROL, '?'))} is not an email address`);
      }
      return;
    }
    if (Array.isArray(value)) value.forEach((item, i) => walk(item, `${path}[${i}]`));
    else if (typeof value === 'object' && value !== null) {
      // Extension attributes are named `urn:…:User:department`, as validateUser names them.
      const separator = path.toLowerCase().startsWith('urn:') && isTopLevel(user, path) ? ':' : '.';
      for (const [name, inner] of Object.entries(value)) {
        if (name.toLowerCase() === 'password') continue; // never described; the provider applies its own policy
        if (path === '' && name === 'schemas') continue; // URNs, checked by validateUser
        walk(inner, path === '' ? name : `${path}${separator}${name}`);
      }
    }
  };
  walk(user, '');
  return problems;
}
