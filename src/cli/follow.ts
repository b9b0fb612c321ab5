// Following a workflow from the CLI until it ends, through Temporal outages: the workflow keeps
// running on the server and its workers while the CLI's connection is down, so losing the
// connection is a reason to wait and reconnect, never a failed run.
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { reportQuery, type WorkflowReport } from '../workflows/report';
import { isTemporalUnreachable } from './exit-codes';

export interface FollowOptions {
  /** Called with what the workflow's progress query answers (when `progress` is given), every `pollMs`. */
  onProgress?: (progress: unknown) => void;
  progress?: () => Promise<unknown>;
  pollMs?: number;
  /** Told when Temporal became unreachable and when it is back. */
  onOutage?: (state: { down: boolean; sinceMs: number; error?: unknown }) => void;
  /** Give up after Temporal has been unreachable this long (default 24 h). */
  maxOutageMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `call` until Temporal answers it (retrying while it is unreachable, with backoff up to 10 s). */
export async function throughOutages<T>(call: () => Promise<T>, options: FollowOptions): Promise<T> {
  let downSince: number | undefined;
  let delay = 250;
  for (;;) {
    try {
      const value = await call();
      if (downSince !== undefined) options.onOutage?.({ down: false, sinceMs: Date.now() - downSince });
      return value;
    } catch (err) {
      if (!isTemporalUnreachable(err)) throw err;
      downSince ??= Date.now();
      const sinceMs = Date.now() - downSince;
      if (sinceMs > (options.maxOutageMs ?? 24 * 3600_000)) throw err;
      options.onOutage?.({ down: true, sinceMs, error: err });
      await sleep(delay);
      delay = Math.min(delay * 2, 10_000);
    }
  }
}

/** Waits for the run to end; `ok` is false when it failed. The report query's answer is returned either way. */
export async function followRun<R extends WorkflowReport>(
  handle: WorkflowHandle,
  options: FollowOptions = {},
): Promise<{ ok: boolean; report: R; failure?: unknown }> {
  let finished = false;
  const outcome = throughOutages(() => handle.result(), options).then(
    () => ({ ok: true as const }),
    (err: unknown) => {
      if (err instanceof WorkflowFailedError) return { ok: false as const, failure: err };
      throw err;
    },
  );
  void outcome.finally(() => (finished = true)).catch(() => undefined);
  const follow = async () => {
    while (!finished) {
      try {
        const progress = await options.progress?.();
        if (!finished && progress !== undefined) options.onProgress?.(progress);
      } catch {
        // not answerable yet (first workflow task pending) or Temporal unreachable: the result wait reports outages
      }
      await Promise.race([outcome.catch(() => undefined), sleep(options.pollMs ?? 500)]);
    }
  };
  const [ended] = await Promise.all([outcome, options.progress ? follow() : Promise.resolve()]);
  if (options.progress) {
    const last = await throughOutages(options.progress, options);
    options.onProgress?.(last);
  }
  const report = (await throughOutages(() => handle.query(reportQuery), options)) as R;
  return { ...ended, report };
}
