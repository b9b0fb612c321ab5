// Benchmark: syncGroups on one group, at a small size and at a large one (default 1 000 and
// 100 000 members), each with a fresh sandbox and a fresh worker process. Per size: the group built
// from scratch, then changed by 1 % (N/200 members removed, N/200 added), then a run that finds
// nothing to do, each run in a fresh worker process. For each run: seconds, members compared per second (source members + current
// members), the /Users and /Groups requests the provider saw against listing pages + changes
// (+ one verification read per group and phase), history length and the worker's peak RSS (VmHWM);
// the ratio of the large size's peak to the small one's, over all runs and per run.
//
// Usage: node dist/bench/groups.js --members 100000 [--small 1000] [--slice 1000] [--page-size 1000]
//        [--membership-view auto|userGroups|groupMembers]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { startSandbox, type RequestLogEntry, type Sandbox } from 'cxone-sandbox';
import type { temporal } from '@temporalio/proto';
import { startTemporal, type TemporalEnvironment } from '../src/temporal/server';
import { withBenchWorker } from './worker-process';
import { syncGroups, type SyncGroupsInput, type SyncGroupsResult } from '../src/workflows';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';

interface Options {
  members: number;
  small: number;
  slice: number;
  pageSize: number;
  membershipView: NonNullable<SyncGroupsInput['membershipView']>;
  fromScratchSlice?: number;
}

/** Seconds an activity of the run took, scheduled to completed (summed over its calls). */
function activitySeconds(history: readonly temporal.api.history.v1.IHistoryEvent[], type: string): number {
  const at = (e: temporal.api.history.v1.IHistoryEvent) =>
    Number(e.eventTime?.seconds ?? 0) + (e.eventTime?.nanos ?? 0) / 1e9;
  const scheduled = new Map<string, number>();
  for (const e of history)
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === type) scheduled.set(String(e.eventId), at(e));
  let seconds = 0;
  for (const e of history) {
    const done = e.activityTaskCompletedEventAttributes;
    const from = done ? scheduled.get(String(done.scheduledEventId)) : undefined;
    if (from !== undefined) seconds += at(e) - from;
  }
  return seconds;
}

/** Requests to /Users and /Groups by kind (discovery and tokens left out). */
function requestKinds(log: readonly RequestLogEntry[]): {
  listing: number;
  writes: number;
  reads: number;
  text: string;
} {
  const counts = new Map<string, number>();
  let listing = 0;
  let writes = 0;
  let reads = 0;
  for (const r of log) {
    if (!/\/scim\/.*\/(Users|Groups)(\/|$)/.test(r.path)) continue;
    const one = /\/Groups\/[^/]+$/.test(r.path);
    let what: string;
    if (r.method === 'GET' && one) {
      what = 'GET /Groups/{id}';
      reads++;
    } else if (r.method === 'GET') {
      what = `GET ${r.path.replace(/.*\//, '/')}${/filter=/.test(r.query) ? ' (filter)' : ''}`;
      listing++;
    } else {
      what = `${r.method} /Groups${one ? '/{id}' : ''}`;
      writes++;
    }
    counts.set(what, (counts.get(what) ?? 0) + 1);
  }
  return { listing, writes, reads, text: [...counts.entries()].map(([k, n]) => `${n} × ${k}`).join(', ') };
}

/** Write requests a group's change takes: the POST carries the first slice of members, PATCHes the rest. */
function expectedWrites(result: SyncGroupsResult, slice: number, created: boolean): number {
  const added = result.applied.membersAdded;
  const removed = result.applied.membersRemoved;
  const addPatches = created ? 1 + Math.ceil(Math.max(0, added - slice) / slice) : Math.ceil(added / slice);
  return addPatches + Math.ceil(removed / slice);
}

interface SizeFigures {
  members: number;
  /** Worker peak RSS (MB) per run, each run in a fresh worker. */
  peaks: Record<RunLabel, number>;
  driftMembersPerSecond: number;
}

const RUNS = ['from-scratch', 'changed-1%', 'in-sync'] as const;
type RunLabel = (typeof RUNS)[number];

async function benchSize(temporal: TemporalEnvironment, n: number, options: Options): Promise<SizeFigures> {
  const change = Math.max(1, Math.round(n / 200));
  const sandbox: Sandbox = await startSandbox({ port: 0, requestLogLimit: 100_000 });
  const userNames = Array.from({ length: n + change }, (_, i) => `member.${String(i).padStart(7, '0')}@bench.example`);
  for (const userName of userNames)
    sandbox.adminCreateUser({
      schemas: [CORE],
      userName,
      name: { givenName: 'B', familyName: 'M' },
      emails: [{ value: userName, type: 'work', primary: true }],
    });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'groups-bench-'));
  const figures: SizeFigures = { members: n, peaks: {} as Record<RunLabel, number>, driftMembersPerSecond: 0 };
  // Each run in a fresh worker process, so that its peak RSS is its own.
  const runOnce = (label: RunLabel, members: string[], created: boolean, slice = options.slice) =>
    withBenchWorker(
      {
        temporal,
        sandbox,
        taskQueue: `groups-bench-${process.pid}-${n}-${label}`,
        tenantId: 'bench',
        env: { CXONE_SCIM_DATA_DIR: dir },
      },
      async (worker) => {
        const client = temporal.testEnv.client;
        const file = path.join(dir, `${label}.json`);
        fs.writeFileSync(file, JSON.stringify([{ displayName: 'Bench group', members }]));
        sandbox.clearRequestLog();
        const started = performance.now();
        const workflowId = `groups-bench-${n}-${label}-${Date.now()}`;
        const result: SyncGroupsResult = await client.workflow.execute(syncGroups, {
          taskQueue: `groups-bench-${process.pid}-${n}-${label}`,
          workflowId,
          args: [
            {
              tenant: 'bench',
              groupsFile: { path: file },
              memberSliceSize: slice,
              pageSize: options.pageSize,
              membershipView: options.membershipView,
              deletionThreshold: { maxShare: 1, maxCount: n },
            },
          ],
        });
        const seconds = (performance.now() - started) / 1000;
        const history = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
        const planSeconds = activitySeconds(history, 'planGroupSync');
        if (result.failed > 0 || result.outcome !== 'succeeded')
          throw new Error(`${n} members, ${label}: ${result.outcome}, ${JSON.stringify(result.failures)}`);
        const seen = requestKinds(sandbox.requestLog);
        const writes = expectedWrites(result, slice, created);
        const verifies = (result.applied.membersAdded > 0 ? 1 : 0) + (result.applied.membersRemoved > 0 ? 1 : 0);
        const planned = result.plan?.requests ?? 0;
        const expected = planned + writes + verifies;
        const total = seen.listing + seen.writes + seen.reads;
        // What was compared: the members the source names and the members the group has.
        const compared = members.length + (created ? 0 : n);
        if (label === 'changed-1%') figures.driftMembersPerSecond = compared / planSeconds;
        figures.peaks[label] = worker.peakRssMb();
        console.log(
          `  ${label.padEnd(12)} ${seconds.toFixed(2).padStart(6)} s, planning ${planSeconds.toFixed(2)} s · ${Math.round(
            compared / planSeconds,
          )
            .toString()
            .padStart(7)} members compared/s · +${result.applied.membersAdded} −${result.applied.membersRemoved} · ` +
            `requests ${total} ${total === expected ? '=' : '≠'} plan ${planned} + writes ${writes} + verify reads ${verifies} ` +
            `(${seen.text}) · history ${history.length} events · worker peak ${figures.peaks[label].toFixed(0)} MB · view ${result.plan?.membershipView}`,
        );
        if (total !== expected) console.log(`  !! ${n} members, ${label}: ${total} requests, expected ${expected}`);
      },
    );
  try {
    console.log(`${n} members (${userNames.length} provider users):`);
    // Built in one POST: the sandbox's PATCH (scim-patch) takes time quadratic in the group's size,
    // which would measure the sandbox, not the worker.
    await runOnce('from-scratch', userNames.slice(0, n), true, options.fromScratchSlice ?? n);
    await runOnce('changed-1%', userNames.slice(change, n + change), false);
    await runOnce('in-sync', userNames.slice(change, n + change), false);
    return figures;
  } finally {
    await sandbox.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(options: Options): Promise<void> {
  const temporal = await startTemporal({});
  try {
    console.log(
      `syncGroups bench: one group, ${options.small} and ${options.members} members, 1 % drift, slices of ${options.slice}, listing pages of ${options.pageSize}, membership view ${options.membershipView}`,
    );
    const small = await benchSize(temporal, options.small, options);
    const large = await benchSize(temporal, options.members, options);
    const peak = (f: SizeFigures) => Math.max(...Object.values(f.peaks));
    console.log(
      `worker peak RSS ${peak(small).toFixed(0)} MB at ${small.members} members, ${peak(large).toFixed(0)} MB at ${large.members}: ratio ${(peak(large) / peak(small)).toFixed(2)} (goal ≤ 1.2; per run: ${RUNS.map((r) => `${r} ${(large.peaks[r] / small.peaks[r]).toFixed(2)}`).join(', ')}) · ` +
        `1 % change at ${large.members}: ${Math.round(large.driftMembersPerSecond)} members compared/s in planning (goal ≥ 20 000)`,
    );
  } finally {
    await temporal.stop();
  }
}

const program = new Command()
  .option('--members <n>', 'members of the large group', (v) => Number(v), 100_000)
  .option('--small <n>', 'members of the small group', (v) => Number(v), 1000)
  .option('--slice <n>', 'members per PATCH', (v) => Number(v), 1000)
  .option('--page-size <n>', 'resources per listing page', (v) => Number(v), 1000)
  .option('--membership-view <view>', 'auto, userGroups or groupMembers', 'auto')
  .option('--from-scratch-slice <n>', 'members per PATCH when building the group (default: all in the POST)', (v) =>
    Number(v),
  )
  .parse();
main(program.opts<Options>()).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
