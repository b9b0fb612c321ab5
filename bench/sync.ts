// Benchmark: reconcile N source users against a CXone sandbox that holds the same users with 1 %
// drift (a third changed, a third leavers, a third joiners), with the syncUsers workflow: a dry run,
// then the real run, then a run that finds nothing to do. The worker runs in its own process.
// Prints records compared per second, the CPU seconds each process used, the HTTP requests made
// against listing pages + changes, the worker's peak RSS, and the largest history length.
//
// Usage: npm run bench:sync -- --users 10000,1000000 [--page-size 500] [--slice-size 200] [--profile dir]
// With several sizes, each runs in turn with its own server, sandbox and worker, and the bench ends
// with each size's worker peak beside its ratio to the first size's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { startTemporal } from '../src/temporal/server';
import { measureCpu } from './measure';
import { withBenchWorker } from './worker-process';
import { syncUsers, type SyncUsersInput, type SyncUsersResult } from '../src/workflows';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const MAPPING = {
  attributes: {
    userName: 'email',
    externalId: 'employee_id',
    'name.givenName': 'first_name',
    'name.familyName': 'last_name',
    'emails[type eq "work"].value': 'email',
    'emails[type eq "work"].primary': { constant: true },
    [`${ENTERPRISE}:department`]: 'department',
  },
};

interface Options {
  users: number[];
  pageSize: number;
  sliceSize: number;
  /** Write the worker's CPU profile into this folder. */
  profile?: string;
}

/** Which users drift: every 100th is changed, leaves or joins, in turn. */
const drift = (i: number) => (i % 100 === 0 ? (['changed', 'leaver', 'joiner'] as const)[(i / 100) % 3] : undefined);
const email = (i: number) => `sync.user${i}@corp.example`;

/** The provider as it is: every user but the joiners, the changed ones in their old department. */
function seed(sandbox: Sandbox, users: number): void {
  for (let i = 0; i < users; i++) {
    if (drift(i) === 'joiner') continue;
    sandbox.adminCreateUser({
      schemas: [CORE, ENTERPRISE],
      userName: email(i),
      externalId: `E${i}`,
      name: { givenName: 'Sync', familyName: `User ${i}` },
      emails: [{ value: email(i), type: 'work', primary: true }],
      active: true,
      [ENTERPRISE]: { department: `Dept ${i % 20}` },
    });
  }
}

/** The HR export: every user but the leavers, the changed ones in a new department. */
function writeSource(file: string, users: number): void {
  const lines = ['employee_id,email,first_name,last_name,department'];
  for (let i = 0; i < users; i++) {
    if (drift(i) === 'leaver') continue;
    lines.push(`E${i},${email(i)},Sync,User ${i},Dept ${drift(i) === 'changed' ? 'Moved' : i % 20}`);
  }
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
}

/** The three runs at one size; returns the worker's peak RSS in MB. */
async function benchSize(options: Omit<Options, 'users'> & { users: number }): Promise<number> {
  let peakMb = 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sync-bench-'));
  const file = path.join(dir, 'hr.csv');
  const temporal = await startTemporal({});
  const sandbox = await startSandbox({ port: 0, requestLogLimit: 10 * options.users + 1000 });
  let seedStarted = performance.now();
  seed(sandbox, options.users);
  writeSource(file, options.users);
  console.log(
    `seeded ${sandbox.countUsers()} provider users and a ${fs.readFileSync(file, 'utf8').trim().split('\n').length - 1}-row export in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`,
  );
  const taskQueue = `sync-bench-${process.pid}`;
  try {
    await withBenchWorker(
      {
        temporal,
        sandbox,
        taskQueue,
        tenantId: 'bench',
        env: { CXONE_SCIM_DATA_DIR: dir },
        profileDir: options.profile,
      },
      async (worker) => {
        const client = temporal.testEnv.client;
        const input: SyncUsersInput = {
          tenant: 'bench',
          source: { path: file, format: 'csv', mapping: MAPPING },
          // The bench seeds the provider itself: its leavers are leavers, no adoption needed.
          orphans: 'leavers',
          // Its 1 % drift removes a third of a percent of the users: no approval asked (above 150 000 users
          // the default threshold of 500 removals would wait for one).
          deletionThreshold: { maxCount: Math.max(500, options.users), maxShare: 0.2 },
          pageSize: options.pageSize,
          sliceSize: options.sliceSize,
        };
        let largestHistory = 0;
        const run = async (name: string, extra: Partial<SyncUsersInput>) => {
          sandbox.clearRequestLog();
          seedStarted = performance.now();
          const workflowId = `sync-bench-${name}-${Date.now()}`;
          const { result, cpuSeconds } = await measureCpu(
            (): Promise<SyncUsersResult> =>
              client.workflow.execute(syncUsers, { taskQueue, workflowId, args: [{ ...input, ...extra }] }),
          );
          const seconds = (performance.now() - seedStarted) / 1000;
          const history = (await client.workflow.getHandle(workflowId).fetchHistory()).events?.length ?? 0;
          largestHistory = Math.max(largestHistory, history);
          const scimRequests = sandbox.requestLog.filter((r) => r.path.includes('/Users')).length;
          const c = result.plan.counts;
          const changes = c.create + c.update + c.reactivate + c.deactivate + c.delete;
          const applied = Object.values(result.applied).reduce((n, k) => n + k, 0);
          const compared = result.plan.records + result.plan.providerUsers;
          console.log(
            `${name.padEnd(8)} ${result.outcome.padEnd(9)} ${seconds.toFixed(1).padStart(6)} s · ${Math.round(compared / seconds)} records compared/s ` +
              `(${result.plan.records} source + ${result.plan.providerUsers} provider) · plan: ${c.create} create, ${c.update} update, ${c.deactivate} deactivate, ` +
              `${c.unchanged} unchanged · applied ${applied} · /Users requests ${scimRequests} vs pages + changes ${result.plan.pages} + ${result.outcome === 'dry-run' ? 0 : changes} ` +
              `(workflow counted ${result.requests}) · history ${history} events`,
          );
          // On a shared machine wall time says little alone: CPU by process (the sandbox runs in the bench's).
          const cpu = (name: string) => (cpuSeconds[name] ?? 0).toFixed(1);
          console.log(
            `         CPU s: worker ${cpu('worker')} (${Math.round(compared / (cpuSeconds.worker || 1))} records compared per worker CPU s), ` +
              `bench + sandbox ${cpu('bench')}, temporal server ${cpu('temporal server')}`,
          );
          return result;
        };
        await run('dry-run', { dryRun: true });
        const real = await run('real', {});
        if (real.outcome !== 'succeeded' || real.failed > 0)
          throw new Error(`the real run ended ${real.outcome} with ${real.failed} failures`);
        const again = await run('in-sync', {});
        const leftover = Object.values(again.applied).reduce((n, k) => n + k, 0);
        if (leftover !== 0) throw new Error(`the run after the real one still changed ${leftover} users`);
        peakMb = worker.peakRssMb();
        console.log(
          `worker peak RSS ${peakMb.toFixed(0)} MB · largest history ${largestHistory} events · users ${options.users}, page size ${options.pageSize}, slice size ${options.sliceSize}`,
        );
      },
    );
  } finally {
    await sandbox.close();
    await temporal.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return peakMb;
}

async function main(options: Options): Promise<void> {
  const peaks: Array<[users: number, mb: number]> = [];
  for (const users of options.users) peaks.push([users, await benchSize({ ...options, users })]);
  if (peaks.length < 2) return;
  const [, first] = peaks[0];
  console.log(
    `worker peak RSS by size: ${peaks.map(([users, mb]) => `${users} users ${mb.toFixed(0)} MB (${(mb / first).toFixed(2)})`).join(' · ')}`,
  );
}

const program = new Command()
  .option('--users <n,…>', 'source users (several sizes: comma-separated)', (v) => v.split(',').map(Number), [100_000])
  .option('--page-size <n>', 'users per listing page (capped by the provider)', (v) => Number(v), 500)
  .option('--slice-size <n>', 'changes per activity', (v) => Number(v), 200)
  .option('--profile <dir>', "write the worker's CPU profile (.cpuprofile) into this folder")
  .parse();
main(program.opts<Options>()).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
