// What an auth strategy is: one file per strategy (bearer.ts, client-credentials.ts, ...) exports an
// AuthStrategyDefinition built with `defineAuthStrategy`, and config.ts lists them. A definition
// holds everything about the strategy: its settings (where each comes from: the CXONE_* variable
// of the default tenant, the tenants-file member, whether it is a secret), the io-ts codec of its
// configuration derived from them, and the code that gets a token. The shared reader
// (src/config/tenant-auth.ts) reads any strategy from its settings; nothing else knows one.
import * as t from 'io-ts';
import type { AuthHttp, AuthTenant, IssuedToken } from './endpoint';

/** One way of getting a token; the provider caches what it returns. */
export interface AuthStrategy<A extends AuthConfig = AuthConfig> {
  /** Only for a strategy that cannot refresh (a static token): the final error a 401 becomes. */
  finalRejection?(tenant: AuthTenant, auth: A): Error;
  /** Every non-secret setting that changes the token (the provider adds the tenant id). */
  cacheKey(auth: A): unknown[];
  requestToken(tenant: AuthTenant, auth: A): Promise<IssuedToken>;
}

/**
 * Where each setting was configured, e.g. `{ clientSecret: 'CXONE_CLIENT_SECRET' }` or
 * `{ clientSecret: 'clientSecretEnv ACME_SECRET' }`, so that a failure names what to fix.
 */
export const AuthSources = t.record(t.string, t.string);

/** What every strategy's configuration has. Secrets are held in memory only, never in a workflow. */
export interface AuthConfig {
  type: string;
  sources?: t.TypeOf<typeof AuthSources>;
}

/** What a default (when a setting is not given) may depend on. */
export interface SettingContext {
  baseUrl?: string;
}

/**
 * A setting given as is: a CXONE_* variable for the default tenant, a member of the same name in a
 * tenants file. `required` means a tenants file must have it and, unless `envDefault` supplies it,
 * so must the environment; `purpose` says what to set the variable to.
 */
export interface TextSetting {
  kind: 'text';
  codec: t.Decoder<unknown, string>;
  env: string;
  required: boolean;
  purpose?: string;
  /** When neither the variable nor the member is set (e.g. the default issuer). */
  default?: string;
  /** The default tenant only: a default from other settings (e.g. the token URL from the base URL). */
  envDefault?: (context: SettingContext) => string;
}

/**
 * A setting always read from an environment variable: CXONE_* for the default tenant; for a
 * tenants-file entry, the variable its member `<setting>Env` names (a tenants file never holds a
 * secret). Always required. `secret` ones are scrubbed from anything a server echoes back.
 */
export interface VariableSetting {
  kind: 'variable';
  codec: t.Decoder<unknown, string>;
  env: string;
  secret: boolean;
  purpose: string;
}

/** OAuth scopes: a space- or comma-separated variable, an array in a tenants file; default none. */
export interface ScopesSetting {
  kind: 'scopes';
  codec: t.Decoder<unknown, string[]>;
  env: string;
}

/** One of a few words, with a default. */
export interface ChoiceSetting<C extends string = string> {
  kind: 'choice';
  codec: t.Decoder<unknown, C>;
  env: string;
  options: readonly C[];
  default: C;
}

export type AuthSettingSpec = TextSetting | VariableSetting | ScopesSetting | ChoiceSetting;

/** Setting builders for a definition's `settings`. */
export const setting = {
  text(env: string, options: Omit<TextSetting, 'kind' | 'codec' | 'env'>): TextSetting {
    return { kind: 'text', codec: t.string, env, ...options };
  },
  variable(env: string, options: Omit<VariableSetting, 'kind' | 'codec' | 'env'>): VariableSetting {
    return { kind: 'variable', codec: t.string, env, ...options };
  },
  scopes(env: string): ScopesSetting {
    return { kind: 'scopes', codec: t.array(t.string), env };
  },
  choice<C extends string>(env: string, options: readonly [C, ...C[]], fallback: C): ChoiceSetting<C> {
    const codec = t.keyof(Object.fromEntries(options.map((o) => [o, null])) as Record<C, null>) as t.Decoder<
      unknown,
      C
    >;
    return { kind: 'choice', codec, env, options, default: fallback };
  },
};

type Settings = Record<string, AuthSettingSpec>;

/** The configuration of a strategy: `type`, one member per setting, `sources`. */
export type AuthConfigOf<T extends string, S extends Settings> = { type: T } & {
  -readonly [K in Exclude<keyof S, 'type' | 'sources'>]: S[K]['codec'] extends t.Decoder<unknown, infer V> ? V : never;
} & { sources?: Record<string, string> };

export interface AuthStrategyDefinition<A extends AuthConfig = AuthConfig> {
  /** The value of CXONE_AUTH and of a tenants-file entry's `auth`. */
  type: A['type'];
  /** Whether the tenant's API base must be configured (`baseUrl`, CXONE_BASE_URL); false when it is discovered. */
  needsBaseUrl: boolean;
  /** In the order errors name them. */
  settings: Settings;
  /** Decodes (and checks) a configuration of this strategy. */
  codec: t.Type<A, A, unknown>;
  /** What `tenants check` prints: the strategy and its non-secret settings. */
  describe(auth: A): string;
  create(http: AuthHttp): AuthStrategy<A>;
}

/**
 * A strategy definition, its configuration codec derived from its settings. A strategy file
 * declares its settings first, types its configuration `AuthConfigOf<'its-type', typeof settings>`
 * and then defines itself.
 */
export function defineAuthStrategy<T extends string, S extends Settings>(definition: {
  type: T;
  needsBaseUrl: boolean;
  settings: S;
  describe(auth: AuthConfigOf<T, S>): string;
  create(http: AuthHttp): AuthStrategy<AuthConfigOf<T, S>>;
}): AuthStrategyDefinition<AuthConfigOf<T, S>> & { settings: S } {
  // Every setting's codec is a full io-ts type (the `setting` builders make them); specs only promise decoding.
  const members = Object.fromEntries(
    Object.entries(definition.settings).map(([name, spec]) => [name, spec.codec as unknown as t.Mixed]),
  );
  const codec = t.intersection(
    [t.type({ type: t.literal(definition.type), ...members }), t.partial({ sources: AuthSources })],
    definition.type,
  ) as unknown as t.Type<AuthConfigOf<T, S>, AuthConfigOf<T, S>, unknown>;
  return { ...definition, codec } as AuthStrategyDefinition<AuthConfigOf<T, S>> & { settings: S };
}

/** Values of the settings marked secret, for scrubbing server answers that echo one. */
export function secretsOf(definition: AuthStrategyDefinition, auth: AuthConfig): string[] {
  return Object.entries(definition.settings)
    .filter(([, spec]) => spec.kind === 'variable' && spec.secret)
    .map(([name]) => (auth as unknown as Record<string, unknown>)[name])
    .filter((value): value is string => typeof value === 'string' && value !== '');
}

/** The setting's name and where it came from, e.g. `clientSecret (CXONE_CLIENT_SECRET)`. */
export function settingName<A extends AuthConfig>(
  auth: A,
  name: Exclude<keyof A, 'type' | 'sources'> | 'baseUrl',
): string {
  const key = String(name);
  const source = auth.sources?.[key];
  return source ? `${key} (${source})` : key;
}
