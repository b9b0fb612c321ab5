// The built binary's output piped to a reader that stops early (`cxone-scim … | head`): the CLI
// stops quietly with 141, as git does (killed by SIGPIPE, as a shell reports it), never with
// Node's "Unhandled 'error' event … write EPIPE" stack trace.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BROKEN_PIPE_EXIT_CODE } from '../src/cli/context';

const CLI = path.resolve(__dirname, '../src/cli/main.js');

function assertNoStackTrace(stderr: string): void {
  assert.doesNotMatch(stderr, /EPIPE|Unhandled 'error' event|^\s+at /m, `stderr:\n${stderr}`);
}

describe('cxone-scim with its output piped to a reader that stops early', () => {
  it('exits 141 without a stack trace when the reader closed before the first write', async () => {
    // The read end is closed before node has even started, so the first write of the help fails with EPIPE.
    const child = spawn(process.execPath, [CLI, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (c, s) => resolve([c, s])),
    );
    assertNoStackTrace(stderr);
    assert.equal(stderr, '');
    assert.deepEqual({ code, signal }, { code: BROKEN_PIPE_EXIT_CODE, signal: null });
  });

  it('exits 141 without a stack trace when `| head -c 100` stops reading a long output', async () => {
    // ~100 KB of output, more than a pipe holds: head takes the first 100 bytes and exits while the CLI still writes.
    const long = 'a'.repeat(100_000);
    const script = `set -o pipefail; "$0" "$1" mapping eval --expression '[x]' --columns "$2" | head -c 100`;
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'bash',
        ['-c', script, process.execPath, CLI, JSON.stringify({ x: long })],
        { maxBuffer: 1 << 20 },
        (err, stdout, stderr) => {
          resolve({ code: err ? Number((err as { code?: unknown }).code) : 0, stdout, stderr });
        },
      );
    });
    assertNoStackTrace(result.stderr);
    assert.equal(result.stdout, `"${long.slice(0, 99)}`, 'head printed the start of the value');
    // pipefail: the pipeline's status is the CLI's, head itself exits 0.
    assert.equal(result.code, BROKEN_PIPE_EXIT_CODE);
  });
});
