// What the webhook and lifecycle benches measure the same way: CPU seconds by process, medians,
// latency figures for printing.
import fs from 'node:fs';
import path from 'node:path';
import { latencyStats } from '../src/core/tally';

/** CPU seconds (user + system) of a process and of the ones it started, from /proc (Linux); undefined elsewhere. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime, stime, cutime, cstime (fields 14-17 of proc(5); here 0-based after the name)
    return fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0) / 100;
  } catch {
    return undefined;
  }
}

/** This process's children by name: the Temporal dev server, the worker, the receiver. */
export function childPids(): Map<string, number> {
  const found = new Map<string, number>();
  if (!fs.existsSync('/proc')) return found;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.split(') ')[1].split(' ')[1]) !== process.pid) continue;
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const name = cmd.includes('webhook-server')
        ? 'receiver'
        : cmd.some((arg) => arg === 'worker' || /worker\.js$/.test(arg))
          ? 'worker'
          : /temporal/.test(cmd[0])
            ? 'temporal server'
            : path.basename(cmd[0]);
      found.set(name, Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** CPU seconds used by this process and each child, over one phase. */
export async function measureCpu<T>(
  phase: () => Promise<T>,
): Promise<{ result: T; cpuSeconds: Record<string, number> }> {
  const pids = childPids();
  const before = new Map([...pids].map(([name, pid]) => [name, cpuSeconds(pid) ?? 0]));
  const self = process.cpuUsage();
  const result = await phase();
  const used = process.cpuUsage(self);
  const seconds: Record<string, number> = { bench: (used.user + used.system) / 1e6 };
  for (const [name, pid] of pids) seconds[name] = (cpuSeconds(pid) ?? 0) - (before.get(name) ?? 0);
  return { result, cpuSeconds: seconds };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return Number((sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2).toFixed(2));
}

/** Latency figures to a tenth of a millisecond, for printing. */
export function roundedStats(latencies: number[]): { p50: number; p95: number; p99: number; max: number } {
  const { p50, p95, p99, max } = latencyStats(latencies);
  const tenth = (ms: number) => Number(ms.toFixed(1));
  return { p50: tenth(p50), p95: tenth(p95), p99: tenth(p99), max: tenth(max) };
}
