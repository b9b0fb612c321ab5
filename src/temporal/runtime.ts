import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';
import { HISTOGRAM_BUCKETS } from './business-metrics';

/**
 * Installs the Temporal runtime for a long-running process (worker, receiver): structured logs
 * (`CXONE_SCIM_LOG_FORMAT=json` writes one JSON object per line) at `CXONE_SCIM_LOG_LEVEL`, and
 * a Prometheus /metrics endpoint from the runtime at `CXONE_SCIM_METRICS_ADDRESS` (host:port): the
 * runtime's own metrics and the project's (`cxone_scim_…`, business-metrics.ts).
 * Must run before the first connection is made.
 */
export function installRuntime(env: NodeJS.ProcessEnv = process.env, defaultLevel: LogLevel = 'INFO'): void {
  const level = (env.CXONE_SCIM_LOG_LEVEL?.toUpperCase() ?? defaultLevel) as LogLevel;
  const logger =
    env.CXONE_SCIM_LOG_FORMAT === 'json' ? new DefaultLogger(level, writeJsonLine) : new DefaultLogger(level);
  Runtime.install({
    logger,
    telemetryOptions: env.CXONE_SCIM_METRICS_ADDRESS
      ? {
          metrics: {
            prometheus: { bindAddress: env.CXONE_SCIM_METRICS_ADDRESS, histogramBucketOverrides: HISTOGRAM_BUCKETS },
          },
        }
      : undefined,
  });
}

function writeJsonLine(entry: LogEntry): void {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  process.stdout.write(`${JSON.stringify({ time, level: entry.level, message: entry.message, ...entry.meta })}\n`);
}
