#!/usr/bin/env node
import { processContext } from './context';
import { runCli } from './program';

// Exit codes: 0 done, 1 error, 2 partial, 3 drift found (src/cli/exit-codes.ts, docs/workflows.md).
void runCli(process.argv.slice(2), processContext()).then((code) => {
  process.exitCode = code;
});
