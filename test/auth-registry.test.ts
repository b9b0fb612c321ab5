import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  authFromEnv,
  authFromFile,
  fileMember,
  missingFileFields,
  TenantFileAuthFields,
} from '../src/config/tenant-auth';
import { decode } from '../src/core/decode';
import { TenantTokenProvider } from '../src/http';
import { AUTH_STRATEGIES, AUTH_TYPES, authSecrets, describeAuth, type TenantAuth } from '../src/http/auth/config';
import type { AuthSettingSpec, AuthStrategyDefinition } from '../src/http/auth/strategy';

// The auth strategy registry (src/http/auth/config.ts): every strategy file is listed, and each
// strategy's declared settings carry its configuration through the environment, a tenants file and
// its codec unchanged. A new strategy file is checked here without a line of this test changing.

const ROOT = path.join(__dirname, '..', '..');
const AUTH_DIR = path.join(ROOT, 'src', 'http', 'auth');
const BASE_URL = 'https://api.example.test';

function isDefinition(value: unknown): value is AuthStrategyDefinition {
  const v = value as Partial<AuthStrategyDefinition> | undefined;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.type === 'string' &&
    typeof v.create === 'function' &&
    typeof v.settings === 'object' &&
    typeof v.codec?.decode === 'function'
  );
}

const settingsOf = (d: AuthStrategyDefinition) => Object.entries(d.settings) as [string, AuthSettingSpec][];

/** A configuration of the strategy with a distinct value for every setting. */
function sample(definition: AuthStrategyDefinition): TenantAuth {
  const auth: Record<string, unknown> = { type: definition.type };
  for (const [name, spec] of settingsOf(definition)) {
    switch (spec.kind) {
      case 'text':
        auth[name] = `https://${name.toLowerCase()}.example.test/${definition.type}`;
        break;
      case 'variable':
        auth[name] = `${definition.type}-${name}-value-0123456789`;
        break;
      case 'scopes':
        auth[name] = ['scim:read', 'scim:write'];
        break;
      case 'choice':
        // Not the default, so that a setting the reader ignored would show.
        auth[name] = spec.options.find((o) => o !== spec.default) ?? spec.default;
        break;
    }
  }
  return auth as unknown as TenantAuth;
}

const withoutSources = ({ sources: _sources, ...auth }: TenantAuth) => auth;

describe('auth strategy registry', () => {
  it('lists every strategy a file in src/http/auth defines, once, and nothing else', () => {
    const found: { file: string; definition: AuthStrategyDefinition }[] = [];
    const defining: string[] = [];
    for (const file of fs.readdirSync(AUTH_DIR).filter((f) => f.endsWith('.ts'))) {
      const source = fs.readFileSync(path.join(AUTH_DIR, file), 'utf8');
      if (/=\s*defineAuthStrategy\(/.test(source)) defining.push(file);
      const compiled = path.join(__dirname, '..', 'src', 'http', 'auth', file.replace(/\.ts$/, '.js'));
      if (file === 'config.ts' || file === 'index.ts') continue; // the registry itself and its re-exports
      const exports = require(compiled) as Record<string, unknown>;
      for (const value of Object.values(exports)) if (isDefinition(value)) found.push({ file, definition: value });
    }
    assert.deepEqual(found.map((f) => f.file).sort(), defining.sort(), 'every file that defines a strategy exports it');
    assert.ok(found.length >= 4, `the four strategies at least (found ${found.map((f) => f.file)})`);
    for (const { file, definition } of found) {
      assert.ok(
        (AUTH_STRATEGIES as readonly unknown[]).includes(definition),
        `${file} defines ${definition.type}, which the registry (src/http/auth/config.ts) does not list`,
      );
    }
    assert.equal(AUTH_STRATEGIES.length, found.length, 'the registry lists nothing but strategy files');
    assert.equal(new Set(AUTH_TYPES).size, AUTH_TYPES.length, 'no type twice');
    assert.deepEqual(AUTH_TYPES, ['cxone-access-key', 'cxone-access-key-legacy', 'client-credentials', 'bearer']);
  });

  it('keeps the public CXONE_* variable names', () => {
    const names = new Set(AUTH_STRATEGIES.flatMap((d) => settingsOf(d as never).map(([, spec]) => spec.env)));
    assert.deepEqual([...names].sort(), [
      'CXONE_ACCESS_KEY_ID',
      'CXONE_ACCESS_KEY_SECRET',
      'CXONE_AUTH_URL',
      'CXONE_BEARER_TOKEN',
      'CXONE_CLIENT_AUTH_METHOD',
      'CXONE_CLIENT_ID',
      'CXONE_CLIENT_SECRET',
      'CXONE_ISSUER',
      'CXONE_SCOPES',
      'CXONE_TOKEN_URL',
    ]);
  });

  for (const definition of AUTH_STRATEGIES as unknown as AuthStrategyDefinition[]) {
    describe(definition.type, () => {
      const auth = sample(definition);
      const settings = settingsOf(definition);
      const secretNames = settings.filter(([, s]) => s.kind === 'variable' && s.secret).map(([name]) => name);
      const value = (name: string) => (auth as unknown as Record<string, unknown>)[name];

      it('round-trips its configuration through the CXONE_* variables it declares', () => {
        const env: NodeJS.ProcessEnv = { CXONE_AUTH: definition.type, CXONE_BASE_URL: BASE_URL };
        for (const [name, spec] of settings) {
          const v = value(name);
          env[spec.env] = Array.isArray(v) ? v.join(' ') : String(v);
        }
        const read = authFromEnv(env, 'tenant default');
        assert.equal(read.baseUrl, BASE_URL);
        assert.deepEqual(withoutSources(read.auth), auth);
        assert.deepEqual(
          read.auth.sources,
          Object.fromEntries([['baseUrl', 'CXONE_BASE_URL'], ...settings.map(([name, spec]) => [name, spec.env])]),
        );
      });

      it('round-trips its configuration through a tenants-file entry and the variables it names', () => {
        const entry: Record<string, unknown> = { auth: definition.type, baseUrl: BASE_URL };
        const env: NodeJS.ProcessEnv = {};
        for (const [name, spec] of settings) {
          if (spec.kind === 'variable') {
            const variable = `ACME_${name.toUpperCase()}`;
            entry[fileMember(name, spec)] = variable;
            env[variable] = String(value(name));
          } else entry[fileMember(name, spec)] = value(name);
        }
        const decoded = decode(TenantFileAuthFields, entry);
        assert.ok(decoded.ok, `the file members decode: ${JSON.stringify(!decoded.ok && decoded.errors)}`);
        assert.deepEqual(missingFileFields(entry), []);
        const read = authFromFile(entry as never, env, 'tenant acme');
        assert.deepEqual(withoutSources(read), auth);
        for (const name of secretNames) {
          assert.equal(read.sources?.[name], `${name}Env ACME_${name.toUpperCase()}`, 'names the member and variable');
        }
      });

      it('round-trips its configuration through its codec, and its codec refuses a wrong one', () => {
        const encoded = JSON.parse(JSON.stringify(definition.codec.encode(auth as never)));
        const decoded = decode(definition.codec, encoded);
        assert.ok(decoded.ok);
        assert.deepEqual(decoded.value, auth);
        const first = settings[0][0];
        const { [first]: _dropped, ...missing } = auth as unknown as Record<string, unknown>;
        assert.equal(decode(definition.codec, missing).ok, false, `${first} is required`);
        assert.equal(decode(definition.codec, { ...auth, type: 'kerberos' }).ok, false, 'another type');
      });

      it('names every missing setting of the environment and of a tenants file, with what to set', () => {
        assert.throws(
          () => authFromEnv({ CXONE_AUTH: definition.type }, 'tenant default'),
          (err: Error) => {
            for (const [, spec] of settings.filter(([, s]) => s.kind === 'variable')) {
              assert.match(err.message, new RegExp(`environment variable ${spec.env} is not set: set it to `));
            }
            if (definition.needsBaseUrl) assert.match(err.message, /CXONE_BASE_URL is not set/);
            else assert.doesNotMatch(err.message, /CXONE_BASE_URL/);
            return true;
          },
        );
        const missing = missingFileFields({ auth: definition.type }).map((m) => m.member);
        for (const [name, spec] of settings) {
          const required = spec.kind === 'variable' || (spec.kind === 'text' && spec.required);
          assert.equal(missing.includes(fileMember(name, spec)), required, `${fileMember(name, spec)} required`);
        }
        assert.equal(missing.includes('baseUrl'), definition.needsBaseUrl);
      });

      it('lists its secrets for scrubbing, and shows none of them when described or cached', () => {
        const secrets = authSecrets(auth);
        assert.deepEqual(secrets.sort(), secretNames.map(value).sort());
        assert.ok(secretNames.length > 0, 'a strategy without a secret is no auth');
        const strategy = definition.create({ fetch, now: Date.now });
        const shown = [describeAuth(auth), inspect(strategy.cacheKey(auth), { depth: 5 })].join('\n');
        for (const secret of secrets) assert.ok(!shown.includes(secret), `${definition.type} shows a secret: ${shown}`);
        assert.ok(describeAuth(auth).startsWith(definition.type));
      });
    });
  }

  it('gives the token provider a working strategy for every registered type (loopback token endpoint)', async () => {
    // One endpoint for every flow: the OpenID configuration points back at it, anything else issues a token.
    const server = http.createServer((req, res) => {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const body = req.url?.endsWith('/.well-known/openid-configuration')
        ? { issuer: base, token_endpoint: `${base}/token` }
        : { access_token: `token-for-${req.method}-${req.url?.replace(/[^a-z]/g, '')}`, expires_in: 60 };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const provider = new TenantTokenProvider();
      for (const definition of AUTH_STRATEGIES as unknown as AuthStrategyDefinition[]) {
        const auth: Record<string, unknown> = { ...sample(definition) };
        for (const [name, spec] of settingsOf(definition)) if (spec.kind === 'text') auth[name] = url;
        const tenant = { tenantId: definition.type, baseUrl: BASE_URL, scimPath: '/scim/v2', auth: auth as never };
        const access = await provider.access(tenant);
        assert.equal(access.apiBase, BASE_URL);
        assert.match(access.token, /^\S+$/, `${definition.type} got a token`);
      }
    } finally {
      server.close();
    }
  });
});
