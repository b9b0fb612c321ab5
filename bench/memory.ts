// The scale half of the provision benchmark: the provisionUsers workflow at several source sizes,
// each with a fresh worker process, through Bulk and per resource; at each size the worker's peak
// resident memory (VmHWM), the largest event payload and the largest history (events of one run)
// of the run and its batches. The planner streams the source, every chunk activity reads only its
// own chunk's users, and the plan is read a page at a time, so all three should stay nearly flat
// as the source grows. Goals: no payload over 512 kB, no history over 10 240 events, the peak RSS
// of the largest run at most 1.2× that of the smallest.

export interface MemoryRun {
  users: number;
  seconds: number;
  peakRssMb: number;
  history: { largest: number; where: string; largestPayload: number; payloadWhere: string };
}

export const GOALS = { payloadBytes: 512 * 1024, historyEvents: 10_240, rssRatio: 1.2 };

/** Runs the workflow at each size (smallest first) and prints the figures and their ratios to the smallest. */
export async function printMemoryFigures(
  label: string,
  sizes: number[],
  run: (users: number) => Promise<MemoryRun>,
): Promise<MemoryRun[]> {
  const runs: MemoryRun[] = [];
  for (const users of [...sizes].sort((a, b) => a - b)) runs.push(await run(users));
  const heap = /--max-old-space-size=(\d+)/.exec(process.env.NODE_OPTIONS ?? '')?.[1];
  const growing = process.env.CXONE_SCIM_HEAP_GROWING_PERCENT?.trim() || '50';
  console.log(
    `\n${label}: provisionUsers from a CSV file, a fresh worker process per size; worker peak RSS (VmHWM), ` +
      `heap growth ${growing === '0' ? "V8's own" : `≤ ${growing} % over live data`}${heap ? `, old space ≤ ${heap} MB` : ''}; ` +
      'largest event payload and largest history among every run of the workflow and its batches',
  );
  console.log(`${'users'.padStart(9)}  users/s  peak RSS  largest payload  largest history`);
  for (const r of runs)
    console.log(
      `${String(r.users).padStart(9)}  ${(r.users / r.seconds).toFixed(0).padStart(7)}  ${r.peakRssMb.toFixed(0).padStart(5)} MB  ` +
        `${(r.history.largestPayload / 1024).toFixed(1).padStart(11)} kB  ${String(r.history.largest).padStart(8)} events`,
    );
  const [first, last] = [runs[0], runs[runs.length - 1]];
  for (const r of runs)
    console.log(`  ${r.users}: largest payload in ${r.history.payloadWhere}; largest history ${r.history.where}`);
  if (runs.length > 1) {
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    console.log(
      `ratio ${last.users} / ${first.users} users: peak RSS ${ratio(last.peakRssMb, first.peakRssMb)} (goal ≤ ${GOALS.rssRatio.toFixed(2)}), ` +
        `largest payload ${ratio(last.history.largestPayload, first.history.largestPayload)}, ` +
        `largest history ${ratio(last.history.largest, first.history.largest)}`,
    );
  }
  const payload = Math.max(...runs.map((r) => r.history.largestPayload));
  const events = Math.max(...runs.map((r) => r.history.largest));
  console.log(
    `goals: no payload over ${GOALS.payloadBytes / 1024} kB: ${payload <= GOALS.payloadBytes ? 'met' : 'MISSED'} (${(payload / 1024).toFixed(1)} kB); ` +
      `no history over ${GOALS.historyEvents} events: ${events <= GOALS.historyEvents ? 'met' : 'MISSED'} (${events}); ` +
      `RSS ratio ≤ ${GOALS.rssRatio}: ${runs.length < 2 ? 'n/a' : last.peakRssMb / first.peakRssMb <= GOALS.rssRatio ? 'met' : 'MISSED'}`,
  );
  return runs;
}
