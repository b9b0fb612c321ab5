// What a CLI command needs from its surroundings: where to write, the environment, and a Temporal
// client. The binary uses the process's; tests run commands in-process with their own.
import fs from 'node:fs';
import type { Client } from '@temporalio/client';
import { InvalidArgumentError } from 'commander';
import { JsonInputError, parseUntrustedJson } from '../core/json';
import { connectClient, temporalSettingsFromEnv } from '../temporal/connection';
import { UsageError } from './exit-codes';

export interface CliContext {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** A Temporal client for one command, its task queue, and how to let it go. */
  temporal(): Promise<{ client: Client; taskQueue: string; release(): Promise<void> }>;
  /** Set by the command that ran (see ExitCode). */
  exitCode: number;
}

export function processContext(): CliContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    async temporal() {
      const settings = temporalSettingsFromEnv(process.env);
      let client: Client;
      try {
        client = await connectClient(settings);
      } catch (err) {
        throw new Error(
          `cannot reach Temporal at ${settings.address} (TEMPORAL_ADDRESS), namespace ${settings.namespace}`,
          { cause: err },
        );
      }
      return { client, taskQueue: settings.taskQueue, release: () => client.connection.close() };
    },
    exitCode: 0,
  };
}

/** How a shell reports a process killed by SIGPIPE (128 + 13), as git's and coreutils' are. */
export const BROKEN_PIPE_EXIT_CODE = 141;

/**
 * When whoever reads the binary's output goes away (`cxone-scim … | head`), stop at once and
 * quietly, as git does. Node ignores SIGPIPE, so the next write fails with EPIPE instead, and that
 * unhandled stream error would print a stack trace. Any other stream error still does.
 */
export function exitQuietlyOnBrokenPipe(streams: NodeJS.WritableStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(BROKEN_PIPE_EXIT_CODE);
      throw err;
    });
  }
}

/** Runs `body` with a Temporal client from the context, released afterwards. */
export async function withTemporal<T>(
  context: CliContext,
  body: (client: Client, taskQueue: string) => Promise<T>,
): Promise<T> {
  const { client, taskQueue, release } = await context.temporal();
  try {
    return await body(client, taskQueue);
  } finally {
    await release();
  }
}

/** Reads a JSON file given on the command line; a mistake names the option, the file and the line. */
export function readJsonFile(file: string, what: string, maxBytes = Infinity): unknown {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    if (size > maxBytes) {
      throw new UsageError(
        `${what}: ${file} is ${(size / 1048576).toFixed(1)} MB, more than the ${(maxBytes / 1048576).toFixed(0)} MB such a file can sensibly be (is it the right file?)`,
      );
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(
      `${what}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  try {
    return parseUntrustedJson(text);
  } catch (err) {
    // "--mapping: m.json is not valid JSON at line 4, column 3: …", or
    // "--mapping m.json: $.attributes.__proto__: "__proto__" is refused as a name …"
    if (err instanceof JsonInputError && err.syntax) throw new UsageError(`${what}: ${file} is ${err.message}`);
    throw new UsageError(`${what} ${file}: ${(err as Error).message}`);
  }
}

/** Parses a whole number ≥ `min` for an option (commander names the option and the value when it is not). */
export function integerOption(min = 1) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`must be a whole number ≥ ${min}.`);
    return n;
  };
}

/** An absolute http(s) URL for an option. */
export function urlOption(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('must be an absolute http(s) URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError('must be an absolute http(s) URL.');
  return value;
}
