import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { TenantRegistry } from '../src/config/tenants';

function tenantFile(content: unknown): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tenants-')), 'tenants.json');
  fs.writeFileSync(file, JSON.stringify(content));
  return file;
}

describe('tenant configuration', () => {
  it('reads the default tenant from CXONE_* and more tenants from a file whose secrets live in env', () => {
    const file = tenantFile({
      tenants: [
        { id: 'acme', baseUrl: 'https://acme.example', tokenUrl: 'https://auth.example/token', clientId: 'acme-client', clientSecretEnv: 'ACME_SECRET', webhookSecretEnv: 'ACME_HOOK', scopes: ['cxone.scim.user.manage'] },
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
    assert.equal(fallback.tokenUrl, 'https://default.example/oauth/token');
    assert.equal(fallback.scimPath, '/scim/v2');
    assert.deepEqual(fallback.scopes, ['scim:write', 'cxone.webhook.manage']);
    const acme = registry.get('acme');
    assert.equal(acme.clientSecret, 'acme-secret-value');
    assert.equal(acme.webhookSecret, 'acme-hook-value');
    assert.ok(!fs.readFileSync(file, 'utf8').includes('acme-secret-value'), 'the file names the secret, never holds it');
    assert.throws(() => registry.get('nope'), /unknown tenant "nope": this worker is configured for default, acme/);
  });

  it('names the missing secret variable and every invalid field of the file', () => {
    const file = tenantFile({ tenants: [{ id: 'acme', baseUrl: 'https://acme.example', tokenUrl: 'x', clientId: 'c', clientSecretEnv: 'ACME_SECRET' }] });
    assert.throws(() => TenantRegistry.fromEnv({ CXONE_TENANTS_FILE: file }), /tenant acme: environment variable ACME_SECRET is not set/);
    const bad = tenantFile({ tenants: [{ id: 'acme', baseUrl: 42, tokenUrl: 'x', clientId: 'c' }] });
    assert.throws(() => TenantRegistry.fromEnv({ CXONE_TENANTS_FILE: bad }), (err: Error) => {
      assert.match(err.message, /\$\.tenants\[0\]\.baseUrl/);
      assert.match(err.message, /\$\.tenants\[0\]\.clientSecretEnv/);
      return true;
    });
  });
});
