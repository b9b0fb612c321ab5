// The per-resource half of the provision benchmark: a sandbox without Bulk and with 20 ms latency
// per request (optionally rate limited), and a direct HTTP client making the calls the
// per-resource path makes for a new user — one lookup `userName eq "x" or externalId eq "y"`, then
// a POST — at a given concurrency, without Temporal. The direct client runs in a process of its
// own, as the worker does, so that neither shares an event loop with the sandbox.
import { fork } from 'node:child_process';
import { SandboxClient, startSandbox, type RateLimit, type Sandbox } from 'cxone-sandbox';
import { loadFileSource } from '../src/activities/sources/user-source';
import { sandboxTenant } from '../src/cli/dev';
import type { TenantConfig } from '../src/config/tenants';
import { ScimClient, TenantTokenProvider } from '../src/http';
import { filterString } from '../src/scim/filter';

/** Enough entries to count every request of a 10 000-user run. */
const REQUEST_LOG_LIMIT = 200_000;

/** A fresh sandbox whose ServiceProviderConfig says bulk.supported false, answering after 20 ms. */
export async function perResourceSandbox(rateLimit: RateLimit | null = null): Promise<Sandbox> {
  const sandbox = await startSandbox({ port: 0, requestLogLimit: REQUEST_LOG_LIMIT });
  const admin = new SandboxClient(sandbox);
  const spc = await admin.scim('GET', '/ServiceProviderConfig');
  const { meta: _meta, ...doc } = spc.body as Record<string, unknown>;
  const put = await admin.scim('PUT', '/ServiceProviderConfig', {
    body: { ...doc, bulk: { ...(doc.bulk as object), supported: false } },
    headers: { 'if-match': spc.headers.get('etag') ?? '' },
  });
  if (put.status !== 200) throw new Error(`could not switch Bulk off: ${put.status} ${put.text}`);
  sandbox.setSwitches({ latencyMs: 20, rateLimit });
  sandbox.clearRequestLog();
  return sandbox;
}

/** SCIM requests the sandbox answered (token requests left out), by outcome. */
export function scimRequests(sandbox: Sandbox): { total: number; throttled: number } {
  const scim = sandbox.requestLog.filter((r) => r.path.startsWith('/scim/'));
  return { total: scim.length, throttled: scim.filter((r) => r.status === 429).length };
}

interface DirectJob {
  tenant: TenantConfig;
  file: string;
  mapping: unknown;
  concurrency: number;
}

/** The direct client's run, timed inside its process from reading the file to the last POST. */
async function directRun(job: DirectJob): Promise<{ seconds: number; users: number }> {
  const client = new ScimClient({ tenant: job.tenant, tokens: new TenantTokenProvider() });
  await client.get('/ServiceProviderConfig'); // token and connection, as the workflow's discovery
  const started = performance.now();
  const { records } = await loadFileSource({ path: job.file, mapping: job.mapping });
  let next = 0;
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (next < records.length) {
        const record = records[next++];
        if (!('user' in record)) throw new Error('invalid benchmark record');
        const { userName, externalId } = record.user as { userName: string; externalId?: string };
        const filter = `userName eq ${filterString(userName)}${typeof externalId === 'string' ? ` or externalId eq ${filterString(externalId)}` : ''}`;
        const found = await client.get<{ Resources?: unknown[] }>('/Users', { query: { filter } });
        if ((found.body.Resources ?? []).length > 0) throw new Error('the sandbox was not empty');
        await client.post('/Users', record.user, { expect: [200, 201] });
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, users: records.length };
}

export async function viaDirectPerResource(file: string, mapping: unknown, users: number, concurrency: number) {
  const sandbox = await perResourceSandbox();
  try {
    const job: DirectJob = { tenant: sandboxTenant(sandbox, 'bench'), file, mapping, concurrency };
    const child = fork(__filename, ['direct'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const answer = new Promise<{ seconds: number; users: number } | { error: string }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { seconds: number; users: number }));
      child.once('exit', (code) => reject(new Error(`direct client exited with ${code}`)));
    });
    child.send(job);
    const result = await answer;
    if ('error' in result) throw new Error(`direct per resource: ${result.error}`);
    if (sandbox.countUsers() !== users)
      throw new Error(`direct per resource: sandbox has ${sandbox.countUsers()} of ${users}`);
    return {
      way: 'direct HTTP per resource (same calls, no Temporal)',
      users,
      seconds: result.seconds,
      requests: scimRequests(sandbox).total,
    };
  } finally {
    await sandbox.close();
  }
}

if (require.main === module && process.argv[2] === 'direct') {
  process.once('message', (job) => {
    directRun(job as DirectJob).then(
      (result) => process.send?.(result, undefined, {}, () => process.exit(0)),
      (err: unknown) =>
        process.send?.({ error: String(err instanceof Error ? err.stack : err) }, undefined, {}, () => process.exit(1)),
    );
  });
}
