import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from './constants';
import { AesGcmPayloadCodec } from './encryption-codec';

/**
 * The one place where Temporal clients and workers are built, so that every process of the
 * project (CLI, worker, webhook receiver, tests) shares the same data converter.
 */
export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  /** Base64 AES-256 key: when set, every payload is encrypted at rest in Temporal. */
  payloadKey?: string;
}

export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env, address?: string): TemporalSettings {
  return {
    address: address ?? env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? DEFAULT_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    payloadKey: env.CXONE_SCIM_PAYLOAD_KEY || undefined,
  };
}

export function dataConverter(settings: Pick<TemporalSettings, 'payloadKey'>): DataConverter {
  return settings.payloadKey ? { payloadCodecs: [AesGcmPayloadCodec.fromBase64(settings.payloadKey)] } : {};
}

export async function connectClient(settings: TemporalSettings): Promise<Client> {
  const connection = await Connection.connect({ address: settings.address });
  return new Client({ connection, namespace: settings.namespace, dataConverter: dataConverter(settings) });
}

export type WorkerCreateOptions = Omit<WorkerOptions, 'connection' | 'namespace' | 'taskQueue' | 'dataConverter'> & {
  /** Owned by the caller, who closes it after the worker stops. */
  connection: NativeConnection;
};

export async function createWorker(settings: TemporalSettings, options: WorkerCreateOptions): Promise<Worker> {
  return Worker.create({
    ...options,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    dataConverter: dataConverter(settings),
  });
}
