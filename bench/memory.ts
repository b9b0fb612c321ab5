// The memory half of the provision benchmark: the provisionUsers workflow at two source sizes,
// each with a fresh worker process, and the worker's peak resident memory (VmHWM) at each. The
// planner streams the source and every chunk activity reads only its own chunk's users, so the
// peak should stay nearly flat as the source grows (goal: the larger at most 1.2× the smaller).

export interface MemoryRun {
  users: number;
  seconds: number;
  peakRssMb: number;
}

/** Runs the workflow at each size (smallest first) and prints the peaks and their ratio. */
export async function printMemoryFigures(sizes: number[], run: (users: number) => Promise<MemoryRun>): Promise<void> {
  const runs: MemoryRun[] = [];
  for (const users of [...sizes].sort((a, b) => a - b)) runs.push(await run(users));
  const heap = /--max-old-space-size=(\d+)/.exec(process.env.NODE_OPTIONS ?? '')?.[1];
  const growing = process.env.CXONE_SCIM_HEAP_GROWING_PERCENT?.trim() || '50';
  console.log(
    `\nworker peak RSS (VmHWM), provisionUsers from a CSV file, a fresh worker process per size; ` +
      `heap growth ${growing === '0' ? "V8's own" : `≤ ${growing} % over live data`}${heap ? `, old space ≤ ${heap} MB` : ''}`,
  );
  console.log(`${'users'.padStart(8)}  users/s  peak RSS`);
  for (const r of runs)
    console.log(
      `${String(r.users).padStart(8)}  ${(r.users / r.seconds).toFixed(0).padStart(7)}  ${r.peakRssMb.toFixed(0).padStart(5)} MB`,
    );
  const [first, last] = [runs[0], runs[runs.length - 1]];
  if (runs.length > 1) {
    console.log(
      `ratio peak RSS ${last.users} / ${first.users} users: ${(last.peakRssMb / first.peakRssMb).toFixed(2)} (goal ≤ 1.20)`,
    );
  }
}
