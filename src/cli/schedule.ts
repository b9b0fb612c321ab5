// `cxone-scim schedule …`: a Temporal Schedule that runs syncUsers on a cron or an interval, with
// overlap policy Skip (a run still going when the next is due is not doubled) and a catch-up window.
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
} from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { Command } from 'commander';
import { syncScheduleId } from '../temporal/constants';
import { syncUsers } from '../workflows';
import { startMetadata } from '../workflows/ui-metadata';
import { withTemporal, type CliContext } from './context';
import { ExitCode, UsageError } from './exit-codes';
import { addSyncOptions, durationOption, syncInputFrom, type SyncOptions } from './sync-options';
import { followSync, reportSyncEnd } from './sync';
import { syncProgressPrinter } from './sync-print';

interface CreateOptions extends SyncOptions {
  cron?: string;
  every?: string;
  catchupWindow: string;
  scheduleId?: string;
  paused?: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Creates the schedule; returns its id. */
export async function createSyncSchedule(
  client: Client,
  taskQueue: string,
  file: string,
  options: CreateOptions,
): Promise<string> {
  if ((options.cron === undefined) === (options.every === undefined))
    throw new UsageError('schedule create: give either --cron or --every');
  const input = syncInputFrom(file, options);
  const scheduleId = options.scheduleId ?? syncScheduleId(input.tenant);
  try {
    await client.schedule.create({
      scheduleId,
      spec:
        options.cron !== undefined
          ? { cronExpressions: [options.cron] }
          : { intervals: [{ every: options.every as Duration }] },
      action: {
        type: 'startWorkflow',
        workflowType: syncUsers,
        args: [input],
        taskQueue,
        workflowId: scheduleId,
        // Each run reads the file anew: the version it planned is in its current details.
        ...startMetadata('syncUsers', input, {
          startedBy: `schedule ${scheduleId} (${options.cron !== undefined ? `cron ${options.cron}` : `every ${options.every}`})`,
          sourceVersion: 'read at each run',
        }),
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: options.catchupWindow as Duration },
      state: {
        paused: options.paused === true,
        note: `cxone-scim schedule create (${options.cron !== undefined ? `cron ${options.cron}` : `every ${options.every}`})`,
      },
    });
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning)
      throw new UsageError(
        `schedule ${scheduleId} exists already (cxone-scim schedule delete ${scheduleId}, or --schedule-id)`,
      );
    throw err;
  }
  return scheduleId;
}

function describeSchedule(d: ScheduleDescription): string {
  const action = d.action as { workflowType?: string; args?: unknown[]; taskQueue?: string };
  const lines = [
    `schedule ${d.scheduleId}: ${d.state.paused ? 'paused' : 'active'}${d.state.note ? ` (${d.state.note})` : ''}`,
    `  spec: ${JSON.stringify({ intervals: d.spec.intervals, calendars: d.spec.calendars })}`,
    `  action: start ${action.workflowType ?? '?'} on task queue ${action.taskQueue ?? '?'}, input ${JSON.stringify(action.args?.[0] ?? null)}`,
    `  policies: overlap ${d.policies.overlap}, catch-up window ${d.policies.catchupWindow} ms`,
    `  runs: ${d.info.numActionsTaken} taken, ${d.info.numActionsSkippedOverlap} skipped (overlap), ${d.info.numActionsMissedCatchupWindow} missed (catch-up window), ${d.info.runningActions.length} running`,
    ...d.info.recentActions.map((a) => `    ${a.takenAt.toISOString()}  ${a.action.workflow.workflowId}`),
    `  next: ${
      d.info.nextActionTimes
        .slice(0, 3)
        .map((t) => t.toISOString())
        .join(', ') || 'none'
    }`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Triggers a run now and returns its workflow id (undefined when Skip left it out because a run is going). */
export async function triggerSyncSchedule(
  client: Client,
  scheduleId: string,
  timeoutMs = 30_000,
): Promise<string | undefined> {
  const handle = client.schedule.getHandle(scheduleId);
  let before = await handle.describe();
  // The scheduler learns that a run ended a moment after it did; until then Skip would drop the trigger.
  const deadline = Date.now() + timeoutMs;
  while (before.info.runningActions.length > 0 && Date.now() < deadline && (await allClosed(client, before))) {
    await sleep(200);
    before = await handle.describe();
  }
  // A scheduled run's workflow id ends with its start time in whole seconds: a second run within
  // the same second would reuse the id, and the server drops it.
  const last = before.info.recentActions.at(-1)?.takenAt;
  if (last && last.getTime() + 1100 > Date.now()) await sleep(last.getTime() + 1100 - Date.now());
  const seen = new Set(before.info.recentActions.map((a) => a.action.workflow.workflowId));
  await handle.trigger();
  while (Date.now() < deadline) {
    const now = await handle.describe();
    const started = now.info.recentActions.find((a) => !seen.has(a.action.workflow.workflowId));
    if (started) return started.action.workflow.workflowId;
    if (now.info.numActionsSkippedOverlap > before.info.numActionsSkippedOverlap) return undefined;
    await sleep(200);
  }
  throw new Error(`schedule ${scheduleId}: the triggered run did not start within ${timeoutMs / 1000} s`);
}

async function allClosed(client: Client, schedule: ScheduleDescription): Promise<boolean> {
  for (const run of schedule.info.runningActions) {
    const { status } = await client.workflow.getHandle(run.workflow.workflowId).describe();
    if (status.name === 'RUNNING') return false;
  }
  return true;
}

async function onSchedule(
  context: CliContext,
  scheduleId: string,
  body: (client: Client, taskQueue: string) => Promise<void>,
): Promise<void> {
  await withTemporal(context, async (client, taskQueue) => {
    try {
      await body(client, taskQueue);
    } catch (err) {
      if (err instanceof ScheduleNotFoundError)
        throw new UsageError(`no schedule with id "${scheduleId}" in this namespace`);
      throw err;
    }
  });
}

export function registerScheduleCommand(program: Command, context: CliContext): void {
  const schedule = program
    .command('schedule')
    .description('Manage Temporal Schedules that run syncUsers (overlap policy Skip).');
  const create = schedule
    .command('create')
    .description('Create a schedule running syncUsers over a users file (read by the worker) on a cron or an interval.')
    .argument('<file>', 'users file; the worker reads it at every run')
    .option('--cron <expression>', "cron expression (UTC), e.g. '0 2 * * *'")
    .option('--every <duration>', "interval, e.g. '1h' or '30 minutes'", durationOption)
    .option(
      '--catchup-window <duration>',
      'how late a missed run may still start (after an outage)',
      durationOption,
      '10 minutes',
    )
    .option('--schedule-id <id>', 'schedule id (default: sync-<tenant>)')
    .option('--paused', 'create it paused');
  addSyncOptions(create, context).action((file: string, options: CreateOptions) =>
    withTemporal(context, async (client, taskQueue) => {
      const id = await createSyncSchedule(client, taskQueue, file, options);
      context.stdout.write(`created schedule ${id}\n`);
    }),
  );

  schedule
    .command('list')
    .description('List schedules.')
    .action(() =>
      withTemporal(context, async (client) => {
        for await (const s of client.schedule.list()) {
          const type = s.action?.workflowType ?? '?';
          context.stdout.write(
            `${s.scheduleId}\t${type}\t${s.state.paused ? 'paused' : 'active'}\tnext ${s.info.nextActionTimes[0]?.toISOString() ?? '-'}\n`,
          );
        }
      }),
    );

  schedule
    .command('describe')
    .description('Spec, stored input, policies, recent and next runs of a schedule.')
    .argument('<scheduleId>')
    .action((id: string) =>
      onSchedule(
        context,
        id,
        async (client) => void context.stdout.write(describeSchedule(await client.schedule.getHandle(id).describe())),
      ),
    );

  for (const [name, verb] of [
    ['pause', 'paused'],
    ['unpause', 'unpaused'],
  ] as const) {
    schedule
      .command(name)
      .description(`${name === 'pause' ? 'Pause' : 'Resume'} a schedule.`)
      .argument('<scheduleId>')
      .option('--note <text>', 'why (kept on the schedule)')
      .action((id: string, options: { note?: string }) =>
        onSchedule(context, id, async (client) => {
          const handle = client.schedule.getHandle(id);
          await (name === 'pause' ? handle.pause(options.note) : handle.unpause(options.note));
          context.stdout.write(`${verb} schedule ${id}\n`);
        }),
      );
  }

  schedule
    .command('trigger')
    .description('Start a run now (skipped if one is running); --wait follows it and prints its plan and outcome.')
    .argument('<scheduleId>')
    .option('--wait', 'follow the triggered run; exit code as for `cxone-scim sync`')
    .action((id: string, options: { wait?: boolean }) =>
      onSchedule(context, id, async (client) => {
        const workflowId = await triggerSyncSchedule(client, id);
        if (!workflowId) {
          context.stdout.write(`schedule ${id}: a run is still going, so this one was skipped (overlap policy Skip)\n`);
          return;
        }
        context.stdout.write(`triggered ${workflowId}\n`);
        if (!options.wait) return;
        const bar = syncProgressPrinter(context.stderr);
        const end = await followSync(client.workflow.getHandle(workflowId), {
          onProgress: (p) => bar.update(p),
          onOutage: (s) => bar.outage(s),
        });
        bar.end();
        reportSyncEnd(workflowId, end, context);
      }),
    );

  schedule
    .command('delete')
    .description('Delete a schedule (runs it started are left alone).')
    .argument('<scheduleId>')
    .action((id: string) =>
      onSchedule(context, id, async (client) => {
        await client.schedule.getHandle(id).delete();
        context.stdout.write(`deleted schedule ${id}\n`);
        context.exitCode = ExitCode.Done;
      }),
    );
}
