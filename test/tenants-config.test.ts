import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { configuredCapabilities, TenantRegistry } from '../src/config/tenants';
import {
  capabilityModel,
  discoveredCapabilities,
  effectiveServiceProviderConfig,
  isServiceProviderConfig,
} from '../src/scim/capabilities';

function tenantFile(content: unknown): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tenants-')), 'tenants.json');
  fs.writeFileSync(file, JSON.stringify(content));
  return file;
}

describe('tenant configuration', () => {
  it('reads the default tenant from CXONE_* and more tenants from a file whose secrets live in env', () => {
    const file = tenantFile({
      tenants: [
        {
          id: 'acme',
          baseUrl: 'https://acme.example',
          tokenUrl: 'https://auth.example/token',
          clientId: 'acme-client',
          clientSecretEnv: 'ACME_SECRET',
          webhookSecretEnv: 'ACME_HOOK',
          scopes: ['cxone.scim.user.manage'],
        },
      ],
    });
    const registry = TenantRegistry.fromEnv({
      CXONE_BASE_URL: 'https://default.example',
      CXONE_CLIENT_ID: 'default-client',
      CXONE_CLIENT_SECRET: 'default-secret',
      CXONE_SCOPES: 'scim:write, cxone.webhook.manage',
      CXONE_TENANTS_FILE: file,
      ACME_SECRET: 'acme-secret-value',
      ACME_HOOK: 'acme-hook-value',
    });
    assert.deepEqual(registry.ids(), ['default', 'acme']);
    const fallback = registry.get('default');
    assert.equal(fallback.auth.type, 'client-credentials');
    assert.equal(
      fallback.auth.type === 'client-credentials' && fallback.auth.tokenUrl,
      'https://default.example/oauth/token',
    );
    assert.equal(fallback.scimPath, '/scim/v2');
    assert.deepEqual(fallback.auth.type === 'client-credentials' && fallback.auth.scopes, [
      'scim:write',
      'cxone.webhook.manage',
    ]);
    const acme = registry.get('acme');
    assert.equal(acme.auth.type === 'client-credentials' && acme.auth.clientSecret, 'acme-secret-value');
    assert.equal(acme.webhookSecret, 'acme-hook-value');
    assert.ok(
      !fs.readFileSync(file, 'utf8').includes('acme-secret-value'),
      'the file names the secret, never holds it',
    );
    assert.throws(() => registry.get('nope'), /unknown tenant "nope": this worker is configured for default, acme/);
  });

  it('names the missing secret variable and every invalid field of the file', () => {
    const file = tenantFile({
      tenants: [
        { id: 'acme', baseUrl: 'https://acme.example', tokenUrl: 'x', clientId: 'c', clientSecretEnv: 'ACME_SECRET' },
      ],
    });
    assert.throws(
      () => TenantRegistry.fromEnv({ CXONE_TENANTS_FILE: file }),
      /tenant acme: environment variable ACME_SECRET is not set/,
    );
    const bad = tenantFile({ tenants: [{ id: 'acme', baseUrl: 42, tokenUrl: 'x', clientId: 'c' }] });
    assert.throws(
      () => TenantRegistry.fromEnv({ CXONE_TENANTS_FILE: bad }),
      (err: Error) => {
        assert.match(err.message, /\$\.tenants\[0\]\.baseUrl/);
        assert.match(err.message, /\$\.tenants\[0\]\.clientSecretEnv/);
        return true;
      },
    );
  });

  it('reads every auth strategy from CXONE_AUTH and the tenants file', () => {
    const file = tenantFile({
      tenants: [
        {
          id: 'cx',
          auth: 'cxone-access-key',
          clientId: 'app',
          clientSecretEnv: 'CX_APP_SECRET',
          accessKeyIdEnv: 'CX_KEY_ID',
          accessKeySecretEnv: 'CX_KEY_SECRET',
        },
        {
          id: 'old',
          auth: 'cxone-access-key-legacy',
          baseUrl: 'https://api-na1.example',
          authUrl: 'https://na1.example',
          accessKeyIdEnv: 'CX_KEY_ID',
          accessKeySecretEnv: 'CX_KEY_SECRET',
        },
        { id: 'okta', auth: 'bearer', baseUrl: 'https://okta.example', scimPath: '/scim/v2', tokenEnv: 'OKTA_TOKEN' },
        {
          id: 'post',
          baseUrl: 'https://p.example',
          tokenUrl: 'https://p.example/token',
          clientId: 'c',
          clientSecretEnv: 'CX_APP_SECRET',
          clientAuthMethod: 'client_secret_post',
        },
      ],
    });
    const registry = TenantRegistry.fromEnv({
      CXONE_AUTH: 'cxone-access-key',
      CXONE_CLIENT_ID: 'app-id',
      CXONE_CLIENT_SECRET: 'app-secret',
      CXONE_ACCESS_KEY_ID: 'key-id',
      CXONE_ACCESS_KEY_SECRET: 'key-secret',
      CXONE_TENANTS_FILE: file,
      CX_APP_SECRET: 'cx-app-secret',
      CX_KEY_ID: 'cx-key-id',
      CX_KEY_SECRET: 'cx-key-secret',
      OKTA_TOKEN: 'okta-token',
    });
    const fallback = registry.get('default');
    assert.equal(fallback.baseUrl, undefined, 'discovered at run time');
    assert.deepEqual(fallback.auth, {
      type: 'cxone-access-key',
      issuer: 'https://cxone.niceincontact.com',
      clientId: 'app-id',
      clientSecret: 'app-secret',
      accessKeyId: 'key-id',
      accessKeySecret: 'key-secret',
      scopes: [],
      sources: fallback.auth.sources,
    });
    const cx = registry.get('cx').auth;
    assert.equal(cx.type === 'cxone-access-key' && cx.accessKeySecret, 'cx-key-secret');
    assert.equal(cx.sources?.accessKeySecret, 'accessKeySecretEnv CX_KEY_SECRET');
    const old = registry.get('old').auth;
    assert.deepEqual(old.type === 'cxone-access-key-legacy' && [old.authUrl, old.accessKeyId], [
      'https://na1.example',
      'cx-key-id',
    ]);
    const okta = registry.get('okta').auth;
    assert.equal(okta.type === 'bearer' && okta.token, 'okta-token');
    const post = registry.get('post').auth;
    assert.equal(post.type === 'client-credentials' && post.clientAuthMethod, 'client_secret_post');
  });

  it('names every missing variable of a strategy, with what to put there', () => {
    assert.throws(
      () => TenantRegistry.fromEnv({ CXONE_AUTH: 'cxone-access-key', CXONE_CLIENT_ID: 'app' }),
      (err: Error) => {
        assert.match(err.message, /^tenant default \(from CXONE_\* variables\)/);
        assert.match(
          err.message,
          /CXONE_CLIENT_SECRET is not set: set it to the registered application's client secret/,
        );
        assert.match(err.message, /CXONE_ACCESS_KEY_ID is not set: set it to the API user's access key id/);
        assert.match(err.message, /CXONE_ACCESS_KEY_SECRET is not set/);
        assert.doesNotMatch(err.message, /CXONE_BASE_URL/, 'discovered under cxone-access-key');
        return true;
      },
    );
    assert.throws(
      () => TenantRegistry.fromEnv({ CXONE_AUTH: 'bearer' }),
      /CXONE_BASE_URL is not set.*CXONE_BEARER_TOKEN is not set: set it to the static bearer token/,
    );
    assert.throws(
      () => TenantRegistry.fromEnv({ CXONE_AUTH: 'kerberos' }),
      /CXONE_AUTH is "kerberos": set it to one of cxone-access-key, cxone-access-key-legacy, client-credentials, bearer/,
    );
    const file = tenantFile({
      tenants: [{ id: 'okta', auth: 'bearer', baseUrl: 'https://okta.example', tokenEnv: 'OKTA_TOKEN' }],
    });
    assert.throws(
      () => TenantRegistry.fromEnv({ CXONE_TENANTS_FILE: file }),
      /tenant okta: environment variable OKTA_TOKEN is not set \(named by tokenEnv\)/,
    );
    const incomplete = tenantFile({ tenants: [{ id: 'old', auth: 'cxone-access-key-legacy', accessKeyIdEnv: 'K' }] });
    assert.throws(
      () => TenantRegistry.fromEnv({ CXONE_TENANTS_FILE: incomplete }),
      (err: Error) => {
        for (const member of ['baseUrl', 'authUrl', 'accessKeySecretEnv']) {
          assert.match(
            err.message,
            new RegExp(`\\$\\.tenants\\[0\\]\\.${member}: required when auth is cxone-access-key-legacy`),
          );
        }
        return true;
      },
    );
  });

  it('reads filterOr from the tenant file and names the member when it is not a boolean', () => {
    const entry = {
      id: 'acme',
      baseUrl: 'https://acme.example',
      tokenUrl: 'x',
      clientId: 'c',
      clientSecretEnv: 'ACME_SECRET',
    };
    const off = TenantRegistry.fromEnv({
      CXONE_TENANTS_FILE: tenantFile({ tenants: [{ ...entry, filterOr: false }] }),
      ACME_SECRET: 's',
    }).get('acme');
    assert.equal(off.filterOr, false);
    const unset = TenantRegistry.fromEnv({
      CXONE_TENANTS_FILE: tenantFile({ tenants: [entry] }),
      ACME_SECRET: 's',
    }).get('acme');
    assert.equal(unset.filterOr, undefined);
    const bad = tenantFile({ tenants: [{ ...entry, filterOr: 'no' }] });
    assert.throws(
      () => TenantRegistry.fromEnv({ CXONE_TENANTS_FILE: bad, ACME_SECRET: 's' }),
      /\$\.tenants\[0\]\.filterOr/,
    );
  });

  it('reads `capabilities` and `endpoints` (tenant file, or CXONE_SCIM_CAPABILITIES / CXONE_SCIM_ENDPOINTS), naming a wrong or unknown member', () => {
    const entry = {
      id: 'acme',
      baseUrl: 'https://acme.example',
      tokenUrl: 'x',
      clientId: 'c',
      clientSecretEnv: 'ACME_SECRET',
    };
    const fromFile = TenantRegistry.fromEnv({
      CXONE_TENANTS_FILE: tenantFile({
        tenants: [
          {
            ...entry,
            filterOr: false,
            capabilities: { patch: false, maxResults: 200, attributes: false },
            endpoints: { users: '/Agents', groups: null },
          },
        ],
      }),
      ACME_SECRET: 's',
    }).get('acme');
    assert.deepEqual(fromFile.capabilities, { patch: false, maxResults: 200, attributes: false });
    assert.deepEqual(fromFile.endpoints, { users: '/Agents', groups: null });
    assert.deepEqual(configuredCapabilities(fromFile), {
      filterOr: false,
      patch: false,
      maxResults: 200,
      attributes: false,
    });

    const bad = tenantFile({
      tenants: [
        { ...entry, capabilities: { patch: 'no', bulkk: true, maxResults: -1 }, endpoints: { users: 'Users' } },
      ],
    });
    assert.throws(
      () => TenantRegistry.fromEnv({ CXONE_TENANTS_FILE: bad, ACME_SECRET: 's' }),
      (err: Error) =>
        /\$\.tenants\[0\]\.capabilities\.patch/.test(err.message) &&
        /\$\.tenants\[0\]\.capabilities\.maxResults/.test(err.message) &&
        /\$\.tenants\[0\]\.capabilities\.bulkk: unknown member/.test(err.message) &&
        /\$\.tenants\[0\]\.endpoints\.users/.test(err.message),
    );

    const env = {
      CXONE_BASE_URL: 'https://default.example',
      CXONE_CLIENT_ID: 'default-client',
      CXONE_CLIENT_SECRET: 'default-secret',
    };
    const fromEnv = TenantRegistry.fromEnv({
      ...env,
      CXONE_SCIM_CAPABILITIES: '{"patch": false, "etag": true}',
      CXONE_SCIM_ENDPOINTS: '{"groups": null}',
    }).get('default');
    assert.deepEqual(fromEnv.capabilities, { patch: false, etag: true });
    assert.deepEqual(fromEnv.endpoints, { groups: null });
    assert.equal(TenantRegistry.fromEnv(env).get('default').capabilities, undefined);
    assert.throws(
      () => TenantRegistry.fromEnv({ ...env, CXONE_SCIM_CAPABILITIES: '{"patch": "no"}' }),
      /CXONE_SCIM_CAPABILITIES is invalid: \$\.patch/,
    );
    assert.throws(
      () => TenantRegistry.fromEnv({ ...env, CXONE_SCIM_CAPABILITIES: '{"bulk": true, "sortt": true}' }),
      /CXONE_SCIM_CAPABILITIES is invalid: \$\.sortt: unknown member/,
    );
    assert.throws(
      () => TenantRegistry.fromEnv({ ...env, CXONE_SCIM_ENDPOINTS: 'groups' }),
      /CXONE_SCIM_ENDPOINTS is not valid JSON/,
    );
  });

  it('builds one capability model: learnt beats configured beats discovered beats default', () => {
    const model = capabilityModel({
      discovered: discoveredCapabilities({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
        patch: { supported: true },
        bulk: { supported: true, maxOperations: 100, maxPayloadSize: 1000 },
        etag: { supported: true },
        filter: { supported: true, maxResults: 50 },
      }),
      configured: { etag: false, sort: true },
      learnt: { patch: 'PATCH answered 405' },
    });
    assert.deepEqual(model.patch, { value: false, from: 'learnt' });
    assert.deepEqual(model.etag, { value: false, from: 'configured' });
    assert.deepEqual(model.sort, { value: true, from: 'configured' });
    assert.deepEqual(model.bulkMaxOperations, { value: 100, from: 'discovered' });
    assert.deepEqual(model.filterOr, { value: true, from: 'default' });
    const spc = effectiveServiceProviderConfig(model) as Record<string, { supported?: boolean }>;
    assert.equal(spc.patch.supported, false);
    assert.equal(spc.bulk.supported, true);
    assert.equal(isServiceProviderConfig(spc), true);
    // Nothing published: the safe defaults.
    const none = capabilityModel({});
    assert.deepEqual(
      [none.bulk.value, none.etag.value, none.patch.value, none.filter.value],
      [false, false, true, true],
    );
    assert.equal(isServiceProviderConfig({}), false);
    assert.equal(isServiceProviderConfig('<html>Not here</html>'), false);
  });

  it('reads the per-tenant rate limit (tenant file, or CXONE_MAX_* for the default tenant), and refuses one that is not positive', () => {
    const entry = {
      id: 'acme',
      baseUrl: 'https://acme.example',
      tokenUrl: 'x',
      clientId: 'c',
      clientSecretEnv: 'ACME_SECRET',
    };
    const file = tenantFile({ tenants: [{ ...entry, maxRequestsPerSecond: 2.5, maxConcurrentRequests: 4 }] });
    const acme = TenantRegistry.fromEnv({ CXONE_TENANTS_FILE: file, ACME_SECRET: 's3cret-value' }).get('acme');
    assert.deepEqual([acme.maxRequestsPerSecond, acme.maxConcurrentRequests], [2.5, 4]);
    const bad = tenantFile({ tenants: [{ ...entry, maxConcurrentRequests: 0.5 }] });
    assert.throws(
      () => TenantRegistry.fromEnv({ CXONE_TENANTS_FILE: bad, ACME_SECRET: 's3cret-value' }),
      /tenant acme: maxConcurrentRequests must be a positive integer, got 0.5/,
    );

    const env = { CXONE_BASE_URL: 'https://default.example', CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 'secret' };
    const fromEnv = TenantRegistry.fromEnv({
      ...env,
      CXONE_MAX_REQUESTS_PER_SECOND: '12.5',
      CXONE_MAX_CONCURRENT_REQUESTS: '8',
    }).get('default');
    assert.deepEqual([fromEnv.maxRequestsPerSecond, fromEnv.maxConcurrentRequests], [12.5, 8]);
    const unlimited = TenantRegistry.fromEnv(env).get('default');
    assert.deepEqual([unlimited.maxRequestsPerSecond, unlimited.maxConcurrentRequests], [undefined, undefined]);
    assert.throws(
      () => TenantRegistry.fromEnv({ ...env, CXONE_MAX_REQUESTS_PER_SECOND: 'fast' }),
      /CXONE_MAX_REQUESTS_PER_SECOND must be a positive number, got "fast"/,
    );
    assert.throws(
      () => TenantRegistry.fromEnv({ ...env, CXONE_MAX_CONCURRENT_REQUESTS: '2.5' }),
      /CXONE_MAX_CONCURRENT_REQUESTS must be a positive integer, got "2.5"/,
    );
  });

  it('reads the webhook signature scheme and the secret being rotated out, from the file and from env', () => {
    const file = tenantFile({
      tenants: [
        {
          id: 'nexus',
          baseUrl: 'https://n.example',
          tokenUrl: 'https://n.example/t',
          clientId: 'c',
          clientSecretEnv: 'N_SECRET',
          webhookSecretEnv: 'N_HOOK',
          webhookPreviousSecretEnv: 'N_HOOK_OLD',
          webhookSignature: { preset: 'nexus', toleranceSeconds: 60 },
        },
      ],
    });
    const registry = TenantRegistry.fromEnv({
      CXONE_BASE_URL: 'https://default.example',
      CXONE_CLIENT_ID: 'id',
      CXONE_CLIENT_SECRET: 'secret',
      CXONE_WEBHOOK_SECRET: 'hook',
      CXONE_WEBHOOK_PREVIOUS_SECRET: 'hook-old',
      CXONE_WEBHOOK_SIGNATURE: 'nexus',
      CXONE_TENANTS_FILE: file,
      N_SECRET: 's',
      N_HOOK: 'n-hook',
      N_HOOK_OLD: 'n-hook-old',
    });
    const fallback = registry.get('default');
    assert.deepEqual(
      [fallback.webhookSecret, fallback.webhookPreviousSecret, fallback.webhookSignature],
      ['hook', 'hook-old', 'nexus'],
    );
    const nexus = registry.get('nexus');
    assert.deepEqual(
      [nexus.webhookSecret, nexus.webhookPreviousSecret, nexus.webhookSignature],
      ['n-hook', 'n-hook-old', { preset: 'nexus', toleranceSeconds: 60 }],
    );
    const json = TenantRegistry.fromEnv({
      CXONE_BASE_URL: 'https://d.example',
      CXONE_CLIENT_ID: 'i',
      CXONE_CLIENT_SECRET: 's',
      CXONE_WEBHOOK_SIGNATURE: '{"preset":"cxone","encoding":"base64"}',
    });
    assert.deepEqual(json.get('default').webhookSignature, { preset: 'cxone', encoding: 'base64' });
    assert.throws(
      () =>
        TenantRegistry.fromEnv({
          CXONE_BASE_URL: 'https://d.example',
          CXONE_CLIENT_ID: 'i',
          CXONE_CLIENT_SECRET: 's',
          CXONE_WEBHOOK_SIGNATURE: '{"preset":',
        }),
      /CXONE_WEBHOOK_SIGNATURE: not a preset name nor valid JSON/,
    );
  });
});
