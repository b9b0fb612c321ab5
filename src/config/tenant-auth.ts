import * as t from 'io-ts';
import { decode, formatIssues } from '../core/decode';
import {
  AUTH_STRATEGIES,
  AUTH_TYPES,
  authStrategy,
  DEFAULT_AUTH_TYPE,
  isAuthType,
  type AuthType,
  type TenantAuth,
} from '../http/auth/config';
import type { AuthSettingSpec, AuthStrategyDefinition } from '../http/auth/strategy';

/**
 * A tenant's authentication settings, from CXONE_* variables (the default tenant) or a tenants-file
 * entry. The file names the env variables that hold secrets; it never holds a secret itself.
 * Every problem of one tenant is reported at once, each with the setting and what to do.
 *
 * Nothing here knows a strategy: each one declares its settings (src/http/auth/strategy.ts), and
 * this reads them, for whichever strategy the registry (src/http/auth/config.ts) lists.
 */

/** The tenants-file member a setting comes from: `<setting>Env` (naming a variable) for one read from a variable. */
export function fileMember(name: string, spec: AuthSettingSpec): string {
  return spec.kind === 'variable' ? `${name}Env` : name;
}

function fileCodec(spec: AuthSettingSpec): t.Mixed {
  return spec.kind === 'variable' ? t.string : (spec.codec as unknown as t.Mixed);
}

/** Every strategy's file members; two strategies that share a member must read it the same way. */
function fileMembers(): Record<string, t.Mixed> {
  const members: Record<string, t.Mixed> = {};
  for (const definition of AUTH_STRATEGIES) {
    for (const [name, spec] of Object.entries(definition.settings as Record<string, AuthSettingSpec>)) {
      const member = fileMember(name, spec);
      const codec = fileCodec(spec);
      if (members[member] && members[member].name !== codec.name) {
        throw new Error(
          `auth strategy ${definition.type}: tenants-file member ${member} is read as another type elsewhere`,
        );
      }
      members[member] = codec;
    }
  }
  return members;
}

/** The auth members of a tenants-file entry (all optional here: which are required depends on `auth`). */
export const TenantFileAuthFields = t.partial({
  auth: t.keyof(Object.fromEntries(AUTH_TYPES.map((type) => [type, null])) as Record<AuthType, null>),
  ...fileMembers(),
});
export type TenantFileAuth = { auth?: AuthType; baseUrl?: string } & Record<string, unknown>;

/** Members of a file entry the strategy requires, `baseUrl` first where the API base is not discovered. */
function requiredFileMembers(definition: AuthStrategyDefinition): string[] {
  const settings = Object.entries(definition.settings).filter(
    ([, spec]) => spec.kind === 'variable' || (spec.kind === 'text' && spec.required),
  );
  return [...(definition.needsBaseUrl ? ['baseUrl'] : []), ...settings.map(([name, spec]) => fileMember(name, spec))];
}

/** Missing members of a raw file entry, as `{ member, why }`; checked even when other members are mistyped. */
export function missingFileFields(entry: Record<string, unknown>): { member: string; why: string }[] {
  const type = isAuthType(entry.auth) ? entry.auth : DEFAULT_AUTH_TYPE;
  return requiredFileMembers(authStrategy(type))
    .filter((member) => entry[member] === undefined)
    .map((member) => ({ member, why: `required when auth is ${type}` }));
}

/** Collects every missing variable of one tenant, then throws once. */
class EnvReader {
  readonly #missing: string[] = [];

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly what: string,
  ) {}

  /** The value of a variable that must be set; `purpose` says what to put there. */
  require(name: string, purpose: string, namedBy?: string): string {
    const value = this.env[name];
    if (!value)
      this.#missing.push(
        `environment variable ${name} is not set${namedBy ? ` (named by ${namedBy})` : ''}: set it to ${purpose}`,
      );
    return value ?? '';
  }

  done(): void {
    if (this.#missing.length > 0) throw new Error(`${this.what}: ${this.#missing.join('; ')}`);
  }
}

/** The default tenant's auth from CXONE_AUTH and the CXONE_* variables its strategy declares. */
export function authFromEnv(env: NodeJS.ProcessEnv, what: string): { auth: TenantAuth; baseUrl?: string } {
  const type = env.CXONE_AUTH || DEFAULT_AUTH_TYPE;
  if (!isAuthType(type)) {
    throw new Error(`${what}: CXONE_AUTH is "${env.CXONE_AUTH}": set it to one of ${AUTH_TYPES.join(', ')}`);
  }
  const definition = authStrategy(type);
  const read = new EnvReader(env, what);
  const baseUrl = env.CXONE_BASE_URL || undefined;
  if (!baseUrl && definition.needsBaseUrl) read.require('CXONE_BASE_URL', "the tenant's API base URL");
  const values: Record<string, unknown> = {};
  const sources: Record<string, string> = { baseUrl: 'CXONE_BASE_URL' };
  for (const [name, spec] of Object.entries(definition.settings)) {
    sources[name] = spec.env;
    const given = env[spec.env] || undefined;
    switch (spec.kind) {
      case 'text':
        if (given) values[name] = given;
        else if (spec.envDefault) values[name] = spec.envDefault({ baseUrl });
        else if (spec.default !== undefined) values[name] = spec.default;
        else values[name] = spec.required ? read.require(spec.env, spec.purpose ?? name) : '';
        break;
      case 'variable':
        values[name] = read.require(spec.env, spec.purpose);
        break;
      case 'scopes':
        values[name] = splitScopes(given);
        break;
      case 'choice': {
        const value = given ?? spec.default;
        if (!spec.options.includes(value)) {
          throw new Error(`${what}: ${spec.env} is "${value}": set it to ${spec.options.join(' or ')}`);
        }
        values[name] = value;
        break;
      }
    }
  }
  read.done();
  return { auth: checked(definition, { type, ...values, sources }, what), baseUrl };
}

/** A tenants-file entry's auth, its secrets read from the variables it names. Required members are checked before. */
export function authFromFile(entry: TenantFileAuth, env: NodeJS.ProcessEnv, what: string): TenantAuth {
  const definition = authStrategy(entry.auth ?? DEFAULT_AUTH_TYPE);
  const read = new EnvReader(env, what);
  const values: Record<string, unknown> = {};
  const sources: Record<string, string> = { baseUrl: 'baseUrl' };
  for (const [name, spec] of Object.entries(definition.settings)) {
    const member = fileMember(name, spec);
    const given = entry[member];
    if (spec.kind === 'variable') {
      const variable = given as string;
      values[name] = read.require(variable, spec.purpose, member);
      /** e.g. `accessKeySecretEnv ACME_KEY`: the member and the variable it names. */
      sources[name] = variable ? `${member} ${variable}` : member;
      continue;
    }
    sources[name] = member;
    if (given !== undefined) values[name] = given;
    else if (spec.kind === 'scopes') values[name] = [];
    else values[name] = spec.default;
  }
  read.done();
  return checked(definition, { type: definition.type, ...values, sources }, what);
}

/** The configuration as its strategy's codec reads it (a setting of the wrong type is a bug in a declaration). */
function checked(definition: AuthStrategyDefinition, raw: Record<string, unknown>, what: string): TenantAuth {
  const decoded = decode(definition.codec, raw);
  if (!decoded.ok) throw new Error(`${what}: ${definition.type} settings: ${formatIssues(decoded.errors)}`);
  return decoded.value as TenantAuth;
}

export function splitScopes(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter(Boolean);
}
