import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils';

// The recorded workflow histories under test/histories/: written by `npm run record:histories`
// (test/histories/record.ts), replayed by test/replay.test.ts.
//
// One file per workflow run: `{ "workflowId": …, "history": { "events": [ … ] } }`, the history in
// Temporal's proto3 JSON (what `temporal workflow show --output json` prints), one event a line so
// that a diff shows which events changed. The workflow id is kept because workflows read it
// (configureServiceProvider and userLifecycle check it, provisionUsers names its batches after it):
// replayed under another id they would take another path.

export type { History };

/** Source tree, not dist: this module runs compiled from dist/test/helpers. */
export const HISTORIES_DIR = path.resolve(__dirname, '..', '..', '..', 'test', 'histories');

export const PINNED = 'pinned';

export interface RecordedHistory {
  /** File name, e.g. `provisionUsers-async.json` or `pinned/userLifecycle-before-x.json`. */
  file: string;
  workflowId: string;
  workflowType: string;
  history: History;
}

export function workflowTypeOf(history: History): string {
  const name = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
  if (!name)
    throw new Error('not a workflow history: the first event is not WorkflowExecutionStarted with a workflow type');
  return name;
}

export function formatHistoryFile(workflowId: string, history: History): string {
  const { events } = JSON.parse(historyToJSON(history)) as { events: unknown[] };
  const lines = events.map((e) => `  ${JSON.stringify(e)}`).join(',\n');
  return `{"workflowId": ${JSON.stringify(workflowId)}, "history": {"events": [\n${lines}\n]}}\n`;
}

export function parseHistoryFile(file: string, text: string): RecordedHistory {
  let parsed: { workflowId?: unknown; history?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (err) {
    throw new Error(`${file}: not JSON (${(err as Error).message})`);
  }
  if (typeof parsed.workflowId !== 'string' || parsed.workflowId === '')
    throw new Error(`${file}: "workflowId" must be a non-empty string`);
  if (typeof parsed.history !== 'object' || parsed.history === null)
    throw new Error(`${file}: "history" must be an object with "events"`);
  const history = historyFromJSON(parsed.history);
  return { file, workflowId: parsed.workflowId, workflowType: workflowTypeOf(history), history };
}

/**
 * Every `*.json` in the directory and in its `pinned/` folder (files are named `pinned/…`), sorted.
 * `npm run record:histories` replaces the former and never touches the latter: histories kept
 * on purpose, e.g. of runs made before a `patched()` change, which must go on replaying.
 */
export function readHistoryFiles(dir = HISTORIES_DIR): RecordedHistory[] {
  return [dir, path.join(dir, PINNED)].flatMap((d) => {
    if (!fs.existsSync(d)) return [];
    const prefix = d === dir ? '' : `${PINNED}/`;
    return fs
      .readdirSync(d)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => parseHistoryFile(`${prefix}${f}`, fs.readFileSync(path.join(d, f), 'utf8')));
  });
}

/**
 * A history as searchable text, payload bytes decoded as UTF-8 (to look for secrets). The SDK's
 * history is a protobufjs message whose toJSON turns bytes into base64 before any replacer sees
 * them: each payload's `data` is decoded from base64 here.
 */
export function historyAsText(history: unknown): string {
  const text = JSON.stringify(history, (_key, value) =>
    value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value,
  );
  return text.replace(/"data":"([A-Za-z0-9+/]+={0,2})"/g, (_all, b64: string) =>
    JSON.stringify(Buffer.from(b64, 'base64').toString('utf8')),
  );
}
