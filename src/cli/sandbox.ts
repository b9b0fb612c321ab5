// The CXone sandbox is a test double and dev tool in its own workspace package (cxone-sandbox).
// The product loads it only when a command needs it (`dev`, `sandbox`), so the worker image, which
// installs production dependencies only, runs without it.
import type { Command } from 'commander';

type SandboxModule = typeof import('cxone-sandbox');

const NOT_INSTALLED =
  'the CXone sandbox (package cxone-sandbox) is not installed: it ships with a development checkout ' +
  '(`npm install` in the repository), not with production installs';

export function loadSandbox(): SandboxModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('cxone-sandbox') as SandboxModule;
  } catch (err) {
    if (
      (err as { code?: unknown }).code === 'MODULE_NOT_FOUND' &&
      String((err as Error).message).includes("'cxone-sandbox'")
    ) {
      throw new Error(NOT_INSTALLED);
    }
    throw err;
  }
}

/** `cxone-scim sandbox`: the sandbox's own command when the package is there, else one that says how to get it. */
export function registerSandboxCommand(program: Command): void {
  let sandbox: SandboxModule | undefined;
  try {
    sandbox = loadSandbox();
  } catch {
    sandbox = undefined;
  }
  if (sandbox) {
    sandbox.registerSandboxCommand(program);
    return;
  }
  program
    .command('sandbox')
    .description('Run the local CXone sandbox (needs the cxone-sandbox package of a development checkout).')
    .allowUnknownOption()
    .action(() => {
      throw new Error(NOT_INSTALLED);
    });
}
