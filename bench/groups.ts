// Benchmark: a group of N members (default 10 000) built from scratch by syncGroups, then changed
// by 1 % (N/200 members removed, N/200 added). For each run: seconds, the requests the provider
// saw by kind (listing, group writes, verification reads), and the worker's peak RSS (the worker
// runs in its own process). Goal: listing pages + slices + one verification read per group.
//
// Usage: npm run bench:groups -- --members 10000 [--slice 1000] [--page-size 1000]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { startSandbox, type RequestLogEntry } from 'cxone-sandbox';
import { startTemporal } from '../src/temporal/server';
import { withBenchWorker } from './worker-process';
import { syncGroups, type SyncGroupsResult } from '../src/workflows';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';

function kinds(log: readonly RequestLogEntry[]): string {
  const counts = new Map<string, number>();
  for (const r of log) {
    if (!r.path.includes('/scim/')) continue;
    const what =
      r.method === 'GET'
        ? /\/Groups\/[^/]+$/.test(r.path)
          ? 'GET group members (verify)'
          : `GET ${r.path.replace(/.*\//, '/')} (list)`
        : `${r.method} ${r.path.includes('/Groups') ? '/Groups' : r.path}`;
    counts.set(what, (counts.get(what) ?? 0) + 1);
  }
  return [...counts.entries()].map(([k, n]) => `${n} × ${k}`).join(', ');
}

async function main(): Promise<void> {
  const options = new Command()
    .option('--members <n>', 'members of the group', (v) => Number(v), 10_000)
    .option('--slice <n>', 'members per PATCH', (v) => Number(v), 1000)
    .option('--page-size <n>', 'resources per listing page', (v) => Number(v), 1000)
    .parse()
    .opts<{ members: number; slice: number; pageSize: number }>();
  const n = options.members;
  const change = Math.max(1, Math.round(n / 200));
  const temporal = await startTemporal({});
  const sandbox = await startSandbox({ port: 0, requestLogLimit: 100_000 });
  sandbox.setSwitches({});
  const userNames = Array.from({ length: n + change }, (_, i) => `member.${String(i).padStart(6, '0')}@bench.example`);
  for (const userName of userNames)
    sandbox.adminCreateUser({
      schemas: [CORE],
      userName,
      name: { givenName: 'B', familyName: 'M' },
      emails: [{ value: userName, type: 'work', primary: true }],
    });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'groups-bench-'));
  const taskQueue = `groups-bench-${process.pid}`;
  try {
    await withBenchWorker(
      { temporal, sandbox, taskQueue, tenantId: 'bench', env: { CXONE_SCIM_DATA_DIR: dir } },
      async (worker) => {
        const client = temporal.testEnv.client;
        const runOnce = async (label: string, members: string[]) => {
          const file = path.join(dir, `${label}.json`);
          fs.writeFileSync(file, JSON.stringify([{ displayName: 'Bench group', members }]));
          sandbox.requestLog.length = 0;
          const started = performance.now();
          const workflowId = `groups-bench-${label}-${Date.now()}`;
          const result: SyncGroupsResult = await client.workflow.execute(syncGroups, {
            taskQueue,
            workflowId,
            args: [
              {
                tenant: 'bench',
                groupsFile: { path: file },
                memberSliceSize: options.slice,
                pageSize: options.pageSize,
                deletionThreshold: { maxShare: 1, maxCount: n },
              },
            ],
          });
          const seconds = (performance.now() - started) / 1000;
          const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events?.length ?? 0;
          if (result.failed > 0 || result.outcome !== 'succeeded')
            throw new Error(`${label}: ${result.outcome}, ${JSON.stringify(result.failures)}`);
          const scimRequests = sandbox.requestLog.filter((r) => r.path.includes('/scim/')).length;
          console.log(
            `${label}: ${seconds.toFixed(2)} s, +${result.applied.membersAdded} −${result.applied.membersRemoved} members, ${scimRequests} SCIM requests (${kinds(sandbox.requestLog)}), history ${events} events, membership view ${result.plan?.membershipView}`,
          );
        };
        console.log(
          `syncGroups bench: one group of ${n} members, slices of ${options.slice}, listing pages of ${options.pageSize}, ${userNames.length} provider users`,
        );
        await runOnce('from-scratch', userNames.slice(0, n));
        await runOnce('changed-1%', userNames.slice(change, n + change));
        console.log(`peak worker RSS: ${worker.peakRssMb().toFixed(0)} MB`);
      },
    );
  } finally {
    await sandbox.close();
    await temporal.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
