import { Command, CommanderError } from 'commander';
import { registerWebhookServerCommand } from './webhook-server';
import { temporalSettingsFromEnv } from '../temporal/connection';
import { registerAdoptCommand } from './adopt';
import { registerAuditCommand } from './audit';
import { registerCodecServerCommand } from './codec-server';
import { registerConfigureCommand } from './configure';
import { integerOption, type CliContext } from './context';
import { describeError, ExitCode } from './exit-codes';
import { registerMappingCommand } from './mapping';
import { registerProvisionCommand } from './provision';
import { registerPendingCommand } from './pending';
import { registerReportCommand } from './report';
import { registerSandboxCommand } from './sandbox';
import { registerScheduleCommand } from './schedule';
import { registerSyncCommand } from './sync';
import { registerSyncAssignmentsCommand } from './sync-assignments';
import { registerSyncGroupsCommand } from './sync-groups';
import { registerTenantsCommand } from './tenants';
import { registerUndoCommand } from './undo';
import { registerWatchCommand } from './watch';

/** The `cxone-scim` command line, writing where `context` says. */
export function buildProgram(context: CliContext): Command {
  const program = new Command()
    .name('cxone-scim')
    .description('Durable SCIM 2.0 provisioning for NICE CXone, orchestrated by Temporal.')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => context.stdout.write(s), writeErr: (s) => context.stderr.write(s) });

  program
    .command('worker')
    .description(
      'Run the Temporal worker (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE; tenants from CXONE_* or CXONE_TENANTS_FILE).',
    )
    .action(async () => {
      // Loaded on use: the worker and the demo pull in the Temporal worker's native code.
      const { runWorker } = await import('../worker');
      await runWorker(temporalSettingsFromEnv(context.env));
    });

  program
    .command('dev')
    .description(
      'The end-to-end demo: embedded Temporal dev server (or TEMPORAL_ADDRESS), CXone and IdP sandboxes, the worker and the ' +
        'webhook receiver; configures the provider, registers webhooks, provisions users, lets lifecycle events flow, prints the report.',
    )
    .option('--users <n>', 'users to generate and provision', integerOption(0), 1000)
    .option('--db-file <path>', 'persist the embedded Temporal server to this SQLite file')
    .option('--ui-port <port>', 'Temporal UI port of the embedded server (0: no UI)', integerOption(0), 8233)
    .option('--keep-running', 'stay up after the demo until Ctrl-C')
    .option(
      '--profile <name>',
      'CXone sandbox profile: full (every optional feature) or cxone (what NICE publishes: access keys with discovery; SCIM Users and Schemas only, no ServiceProviderConfig, Bulk, ETags, Groups or DELETE; Pending employees; roles, teams and skills APIs)',
      'full',
    )
    .action(
      async (options: { users: number; dbFile?: string; uiPort: number; keepRunning?: boolean; profile: string }) => {
        if (options.profile !== 'full' && options.profile !== 'cxone')
          throw new Error(`--profile must be full or cxone, got "${options.profile}"`);
        const { runDev } = await import('./dev');
        await runDev({ ...options, profile: options.profile });
      },
    );

  registerSandboxCommand(program);
  registerWebhookServerCommand(program);
  registerConfigureCommand(program, context);
  registerProvisionCommand(program, context);
  registerWatchCommand(program, context);
  registerSyncCommand(program, context);
  registerScheduleCommand(program, context);
  registerReportCommand(program);
  registerAuditCommand(program);
  registerCodecServerCommand(program);
  registerTenantsCommand(program, context);
  registerSyncGroupsCommand(program, context);
  registerSyncAssignmentsCommand(program, context);
  registerAdoptCommand(program, context);
  registerPendingCommand(program, context);
  registerMappingCommand(program, context);
  registerUndoCommand(program, context);
  // Subcommands report their own usage errors the same way.
  const quietly = (command: Command): void => {
    command
      .exitOverride()
      .configureOutput({ writeOut: (s) => context.stdout.write(s), writeErr: (s) => context.stderr.write(s) });
    command.commands.forEach(quietly);
  };
  program.commands.forEach(quietly);
  return program;
}

/** Runs the command line `args` (without node and the script) and returns the exit code (see ExitCode). */
export async function runCli(args: string[], context: CliContext): Promise<number> {
  const program = buildProgram(context);
  try {
    await program.parseAsync(args, { from: 'user' });
    return context.exitCode;
  } catch (err) {
    // Commander has printed its own message (usage errors, --help).
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.Done : ExitCode.Error;
    context.stderr.write(`cxone-scim: ${describeError(err)}\n`);
    return ExitCode.Error;
  }
}
