#!/usr/bin/env node
import { exitQuietlyOnBrokenPipe, processContext } from './context';
import { runCli } from './program';

exitQuietlyOnBrokenPipe();

// Exit codes: 0 done, 1 error, 2 partial, 3 drift found (src/cli/exit-codes.ts, docs/workflows.md);
// 141 when the reader of the output went away (see exitQuietlyOnBrokenPipe).
void runCli(process.argv.slice(2), processContext()).then((code) => {
  process.exitCode = code;
});
