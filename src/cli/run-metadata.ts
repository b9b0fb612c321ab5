// The static summary and details of the runs this CLI starts (src/workflows/ui-metadata.ts builds
// them): a local source file's version is the SHA-256 of its bytes as the CLI reads them at the
// start; the run names the version it planned from in its current details.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { startMetadata, type StartMetadata } from '../workflows/ui-metadata';

/** `sha256 3f2a9c1e04b7` of a local file the CLI can read; undefined for a URL or a path only the worker sees. */
export function localFileVersion(location: string): string | undefined {
  try {
    if (!fs.statSync(location).isFile()) return undefined;
    return `sha256 ${createHash('sha256').update(fs.readFileSync(location)).digest('hex').slice(0, 12)}`;
  } catch {
    return undefined;
  }
}

/** Metadata for `client.workflow.start(…)` of `job` by the command `startedBy` (e.g. `cxone-scim sync`). */
export function cliStartMetadata(
  job: string,
  input: { tenant: string; source?: { path: string } },
  startedBy: string,
): StartMetadata {
  const sourceVersion = input.source ? localFileVersion(input.source.path) : undefined;
  return startMetadata(job, input, { startedBy, ...(sourceVersion ? { sourceVersion } : {}) });
}
