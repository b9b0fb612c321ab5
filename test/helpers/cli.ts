// Running `cxone-scim` in-process (runCli) against a test's Temporal server and worker, with its
// output captured.
import { Writable } from 'node:stream';
import type { Client } from '@temporalio/client';
import type { CliContext } from '../../src/cli/context';

/** A stream that keeps what is written to it. */
export class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** A CLI context whose Temporal connection is the test's client and worker task queue; the default tenant is `sandbox`. */
export function cliContext(
  client: Client,
  taskQueue: string,
  streams: { stdout?: Writable; stderr?: Writable } = {},
  env: NodeJS.ProcessEnv = { CXONE_TENANT_ID: 'sandbox' },
): CliContext {
  return {
    stdout: streams.stdout ?? new Capture(),
    stderr: streams.stderr ?? new Capture(),
    env,
    temporal: async () => ({ client, taskQueue, release: async () => undefined }),
    exitCode: 0,
  };
}
