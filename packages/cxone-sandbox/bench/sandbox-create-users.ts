// Benchmark: create users in the CXone sandbox through /Bulk, synchronously and asynchronously.
// Usage: node dist/bench/sandbox-create-users.js [users=10000] [operationsPerRequest=1000]
// Each mode gets a fresh in-process sandbox (in memory, no switches, async jobs take 0 ms), so the
// figures measure the sandbox's own bulk path over loopback HTTP, not configured delays.
import { startSandbox } from '../src';
import { SandboxClient } from '../src/test-client';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

const total = Number(process.argv[2] ?? 10_000);
const perRequest = Number(process.argv[3] ?? 1000);

function bulkBody(mode: string, chunk: number) {
  const Operations = [];
  for (let i = chunk * perRequest; i < Math.min(total, (chunk + 1) * perRequest); i++) {
    Operations.push({
      method: 'POST',
      path: '/Users',
      bulkId: `${mode}-${i}`,
      data: {
        schemas: [USER],
        userName: `bench.${mode}.${i}@example.com`,
        externalId: `ext-${i}`,
        name: { givenName: 'Bench', familyName: `User ${i}` },
        displayName: `Bench User ${i}`,
        emails: [{ value: `bench.${mode}.${i}@example.com`, type: 'work', primary: true }],
        active: true,
      },
    });
  }
  return { schemas: [BULK_REQUEST], Operations };
}

const chunks = Math.ceil(total / perRequest);

function countCreated(operations: { status: string }[]): number {
  return operations.filter((o) => o.status === '201').length;
}

async function runSync(): Promise<number> {
  const sandbox = await startSandbox({ port: 0, bulkMaxOperations: perRequest });
  try {
    const client = new SandboxClient(sandbox);
    await client.token();
    const started = performance.now();
    let created = 0;
    for (let chunk = 0; chunk < chunks; chunk++) {
      const res = await client.scim('POST', '/Bulk', { body: bulkBody('sync', chunk) });
      if (res.status !== 200) throw new Error(`bulk answered ${res.status}: ${res.text}`);
      created += countCreated(res.body.Operations);
    }
    const seconds = (performance.now() - started) / 1000;
    if (created !== total || sandbox.countUsers() !== total)
      throw new Error(`created ${created}, sandbox has ${sandbox.countUsers()}`);
    return total / seconds;
  } finally {
    await sandbox.close();
  }
}

async function runAsync(): Promise<number> {
  const sandbox = await startSandbox({ port: 0, bulkMaxOperations: perRequest, asyncJobDurationMs: 0 });
  try {
    const client = new SandboxClient(sandbox);
    await client.token();
    const started = performance.now();
    const locations: string[] = [];
    for (let chunk = 0; chunk < chunks; chunk++) {
      const res = await client.scim('POST', '/Bulk', {
        body: bulkBody('async', chunk),
        headers: { prefer: 'respond-async' },
      });
      if (res.status !== 202) throw new Error(`bulk answered ${res.status}: ${res.text}`);
      locations.push(res.headers.get('location') as string);
    }
    let created = 0;
    for (const location of locations) {
      // Polls every 5 ms instead of honouring Retry-After: 1, to measure the sandbox, not the wait.
      for (;;) {
        const job = await client.request('GET', location);
        if (job.body.status === 'completed' || job.body.status === 'failed') {
          created += countCreated(job.body.Operations);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    const seconds = (performance.now() - started) / 1000;
    if (created !== total || sandbox.countUsers() !== total)
      throw new Error(`created ${created}, sandbox has ${sandbox.countUsers()}`);
    return total / seconds;
  } finally {
    await sandbox.close();
  }
}

async function main(): Promise<void> {
  console.log(
    `Creating ${total} users in ${chunks} bulk requests of up to ${perRequest} operations (node ${process.version})`,
  );
  await runSync(); // warm-up (JIT), not reported
  const sync = await runSync();
  console.log(`sync bulk  (200 + BulkResponse):   ${Math.round(sync)} users/s`);
  const async = await runAsync();
  console.log(`async bulk (202 + job, polled):    ${Math.round(async)} users/s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
