// The per-resource half of the provision benchmark: a sandbox without Bulk and with 20 ms latency
// per request, and a direct HTTP client making the calls the per-resource path makes for a new
// user (a lookup by userName, one by externalId when the record has one, then a POST) at a given
// concurrency, without Temporal.
import { SandboxClient, startSandbox, type Sandbox } from 'cxone-sandbox';
import { loadFileSource } from '../src/activities/user-source';
import { sandboxTenant } from '../src/cli/dev';
import { ScimClient, TenantTokenProvider } from '../src/http';
import { filterString } from '../src/scim/filter';

/** A fresh sandbox whose ServiceProviderConfig says bulk.supported false, answering after 20 ms. */
export async function perResourceSandbox(): Promise<Sandbox> {
  const sandbox = await startSandbox({ port: 0, requestLogLimit: 1000 });
  const admin = new SandboxClient(sandbox);
  const spc = await admin.scim('GET', '/ServiceProviderConfig');
  const { meta: _meta, ...doc } = spc.body as Record<string, unknown>;
  const put = await admin.scim('PUT', '/ServiceProviderConfig', {
    body: { ...doc, bulk: { ...(doc.bulk as object), supported: false } },
    headers: { 'if-match': spc.headers.get('etag') ?? '' },
  });
  if (put.status !== 200) throw new Error(`could not switch Bulk off: ${put.status} ${put.text}`);
  sandbox.setSwitches({ latencyMs: 20 });
  return sandbox;
}

export async function viaDirectPerResource(file: string, mapping: unknown, users: number, concurrency: number) {
  const sandbox = await perResourceSandbox();
  try {
    const { records } = await loadFileSource({ path: file, mapping });
    const client = new ScimClient({ tenant: sandboxTenant(sandbox, 'bench'), tokens: new TenantTokenProvider() });
    let next = 0;
    let requests = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < records.length) {
          const record = records[next++];
          if (!('user' in record)) throw new Error('invalid benchmark record');
          const lookups = [`userName eq ${filterString(String(record.user.userName))}`];
          if (typeof record.user.externalId === 'string') lookups.push(`externalId eq ${filterString(record.user.externalId)}`);
          for (const filter of lookups) {
            const found = await client.get<{ Resources?: unknown[] }>('/Users', { query: { filter } });
            if ((found.body.Resources ?? []).length > 0) throw new Error('the sandbox was not empty');
          }
          await client.post('/Users', record.user, { expect: [200, 201] });
          requests += lookups.length + 1;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    if (sandbox.countUsers() !== users) throw new Error(`direct per resource: sandbox has ${sandbox.countUsers()} of ${users}`);
    return { way: 'direct HTTP per resource (same calls, no Temporal)', users, seconds, requests };
  } finally {
    await sandbox.close();
  }
}
