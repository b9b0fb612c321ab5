// SCIM attribute paths as a mapping writes them and a PATCH names them: `name.givenName`,
// `emails[type eq "work"].value`, `urn:…:enterprise:2.0:User:manager.value`. Pure: the mapping sets
// them, the update diff (patch.ts) drops or clears them.
import { URN } from './urns';

/** `urn:…:User:manager.value`, `emails[type eq "work"].value`, `name.givenName`, `active`. */
export interface TargetPath {
  extension?: string;
  attribute: string;
  filter?: { attribute: string; value: string };
  sub?: string;
}

/** RFC 7643 §4.1 multi-valued User attributes: `emails.value` means the first element. */
const MULTI_VALUED = new Set([
  'emails',
  'phonenumbers',
  'ims',
  'photos',
  'addresses',
  'entitlements',
  'roles',
  'x509certificates',
]);

const PATH = /^([A-Za-z$][\w$-]*)(?:\[\s*([A-Za-z$][\w$-]*)\s+eq\s+"([^"]*)"\s*\])?(?:\.([A-Za-z$][\w$-]*))?$/;

export function parseTargetPath(target: string): TargetPath | undefined {
  let rest = target.trim();
  let extension: string | undefined;
  if (rest.toLowerCase().startsWith('urn:')) {
    // The attribute part follows the last ':' outside a filter (URNs contain '.' as in "2.0").
    const bracket = rest.indexOf('[');
    const colon = rest.lastIndexOf(':', bracket === -1 ? rest.length : bracket);
    extension = rest.slice(0, colon);
    rest = rest.slice(colon + 1);
    if (extension.toLowerCase() === URN.User.toLowerCase()) extension = undefined; // fully qualified core attribute
  }
  const match = PATH.exec(rest);
  if (!match) return undefined;
  const [, attribute, filterAttribute, filterValue, sub] = match;
  return {
    ...(extension ? { extension } : {}),
    attribute,
    ...(filterAttribute ? { filter: { attribute: filterAttribute, value: filterValue } } : {}),
    ...(sub ? { sub } : {}),
  };
}

/** The object or array at `key`, created when the user has none of its own (`??=` would find inherited members such as toString). */
function child<T extends object>(parent: Record<string, unknown>, key: string, empty: () => T): T {
  if (!Object.hasOwn(parent, key)) parent[key] = empty();
  return parent[key] as T;
}

/**
 * The value at a target path in a User (the provider's, say): setPath's reading counterpart.
 * Attribute names match in any case (RFC 7643 §2.1); undefined when there is none.
 */
export function readPath(user: Record<string, unknown>, path: TargetPath): unknown {
  const member = (from: unknown, name: string): unknown => {
    if (typeof from !== 'object' || from === null || Array.isArray(from)) return undefined;
    const key = Object.keys(from).find((k) => k.toLowerCase() === name.toLowerCase());
    return key === undefined ? undefined : (from as Record<string, unknown>)[key];
  };
  const value = member(path.extension ? member(user, path.extension) : user, path.attribute);
  if (!writesListElement(path)) return path.sub === undefined ? value : member(value, path.sub);
  if (!Array.isArray(value)) return undefined;
  const { filter } = path;
  const element = filter
    ? value.find((e) => String(member(e, filter.attribute) ?? '').toLowerCase() === filter.value.toLowerCase())
    : value[0];
  return member(element, path.sub ?? 'value');
}

/** Whether the mapping writes the target as an element of a list: `emails.value`, `x[type eq "work"].value`. */
export function writesListElement(path: TargetPath): boolean {
  return path.filter !== undefined || (path.extension === undefined && MULTI_VALUED.has(path.attribute.toLowerCase()));
}

export function setPath(user: Record<string, unknown>, path: TargetPath, value: unknown): void {
  const container = path.extension ? child<Record<string, unknown>>(user, path.extension, () => ({})) : user;
  const multi = writesListElement(path);
  if (!multi) {
    if (path.sub === undefined) container[path.attribute] = value;
    else child<Record<string, unknown>>(container, path.attribute, () => ({}))[path.sub] = value;
    return;
  }
  const list = child<Array<Record<string, unknown>>>(container, path.attribute, () => []);
  let element = path.filter ? list.find((e) => e[path.filter!.attribute] === path.filter!.value) : list[0];
  if (!element) {
    element = path.filter ? { [path.filter.attribute]: path.filter.value } : {};
    list.push(element);
  }
  element[path.sub ?? 'value'] = value;
}

/**
 * The user without the value at `path` (a copy; the user is not changed): an emptied complex
 * attribute, extension or list element (one left with only its filter's member) goes too.
 */
export function withoutPath(user: Record<string, unknown>, path: TargetPath): Record<string, unknown> {
  const copy = structuredClone(user);
  const own = (from: Record<string, unknown>, name: string) =>
    Object.keys(from).find((k) => k.toLowerCase() === name.toLowerCase());
  const extensionKey = path.extension ? own(copy, path.extension) : undefined;
  if (path.extension && extensionKey === undefined) return user;
  const container = extensionKey ? (copy[extensionKey] as Record<string, unknown>) : copy;
  const key = own(container, path.attribute);
  if (key === undefined) return user;
  if (writesListElement(path)) {
    const list = container[key];
    if (!Array.isArray(list)) return user;
    const { filter } = path;
    const at = filter
      ? list.findIndex((e) => {
          const k = typeof e === 'object' && e !== null ? own(e, filter.attribute) : undefined;
          return k !== undefined && String(e[k]).toLowerCase() === filter.value.toLowerCase();
        })
      : 0;
    const element = list[at] as Record<string, unknown> | undefined;
    if (!element) return user;
    const sub = own(element, path.sub ?? 'value');
    if (sub !== undefined) delete element[sub];
    const left = Object.keys(element).filter((k) => k.toLowerCase() !== filter?.attribute.toLowerCase());
    if (left.length === 0) list.splice(at, 1);
    if (list.length === 0) delete container[key];
  } else if (path.sub === undefined) delete container[key];
  else {
    const complex = container[key];
    if (typeof complex === 'object' && complex !== null && !Array.isArray(complex)) {
      const sub = own(complex as Record<string, unknown>, path.sub);
      if (sub !== undefined) delete (complex as Record<string, unknown>)[sub];
      if (Object.keys(complex).length === 0) delete container[key];
    }
  }
  if (extensionKey && Object.keys(container).length === 0) delete copy[extensionKey];
  return copy;
}
