// Where the webhook bench runs the receiver. By default in the bench's own process, next to the
// senders: like the raw baseline's Temporal client, which runs there too, the receiver then gets
// one Node process's CPU on the shared cores, and a delivery crosses no extra process boundary
// that CXone's (remote) senders would not add. With --receiver-process it is `cxone-scim
// webhook-server` in a process of its own, as deployed; on a 2-core machine that run also pays
// for waking a third process on every delivery and answer, so its ratios are lower.
// Either way it is the production receiver: its own lazy Temporal connection (the native one, one
// channel; the baseline's client has one channel too, gRPC-JS unless --baseline-native), signature
// check, decoding, request ids, slots, 202 after Temporal accepted.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { TenantRegistry } from '../src/config/tenants';
import { temporalSettingsFromEnv } from '../src/temporal/connection';
import { consoleLogger, startWebhookReceiver } from '../src/webhooks/receiver';
import { LazyTemporalClient } from '../src/webhooks/temporal-client';

const MAIN = path.resolve(__dirname, '..', 'src', 'cli', 'main.js');

export interface CliProcess {
  child: ChildProcess;
  /** The last output chunks, shown when a run fails. */
  output: string[];
}

export function spawnCli(args: string[], env: NodeJS.ProcessEnv, nodeFlags: string[] = []): CliProcess {
  const child = spawn(process.execPath, [...nodeFlags, MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => output.push(chunk.toString()) > 200 && output.shift();
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output };
}

export async function stopCli({ child }: CliProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export interface ReceiverUnderTest {
  /** POST URL of the bench tenant. */
  url: string;
  placement: 'in the bench process' | 'own process';
  log(): string;
  stop(): Promise<void>;
}

/** Starts the receiver for `tenant`, configured from `env` (CXONE_*, TEMPORAL_*) as the command would be. */
export async function startReceiverUnderTest(options: {
  env: NodeJS.ProcessEnv;
  tenant: string;
  ownProcess: boolean;
  profileDir?: string;
  /** Workflows the receiver starts sync to this tenant's SCIM endpoint (default: no IdP). */
  idpTenant?: string;
}): Promise<ReceiverUnderTest> {
  const { env, tenant } = options;
  if (!options.ownProcess) {
    const settings = temporalSettingsFromEnv(env);
    const temporal = new LazyTemporalClient(settings);
    const running = await startWebhookReceiver({
      tenants: TenantRegistry.fromEnv(env),
      temporal,
      taskQueue: settings.taskQueue,
      defaultTenant: tenant,
      ...(options.idpTenant ? { idp: { type: 'scim' as const, tenant: options.idpTenant } } : {}),
      log: consoleLogger(),
    });
    return {
      url: running.callbackUrl(tenant),
      placement: 'in the bench process',
      log: () => '',
      stop: async () => {
        await running.close();
        await temporal.close();
      },
    };
  }
  const receiver = spawnCli(
    ['webhook-server', '--port', '0', ...(options.idpTenant ? ['--idp-tenant', options.idpTenant] : [])],
    env,
    options.profileDir ? ['--cpu-prof', '--cpu-prof-dir', options.profileDir] : [],
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the receiver did not start:\n${receiver.output.join('')}`)),
      30_000,
    );
    const pattern = new RegExp(`POST (http://\\S+/webhooks/cxone/${tenant})`);
    receiver.child.stdout?.on('data', (chunk: Buffer) => {
      const match = pattern.exec(chunk.toString());
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  }).catch(async (err: unknown) => {
    await stopCli(receiver);
    throw err;
  });
  return { url, placement: 'own process', log: () => receiver.output.join(''), stop: () => stopCli(receiver) };
}
