import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import fs from 'node:fs';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
// The worker package (native code) is loaded only by processes that run a worker: the CLI starts faster without it.
import type { NativeConnection, Worker, WorkerOptions } from '@temporalio/worker';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from './constants';
import { AesGcmPayloadCodec, OLD_PAYLOAD_KEYS_ENV, PAYLOAD_KEY_ENV, parseOldPayloadKeys } from './encryption-codec';

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
  /** Base64 keys used before a rotation: they decrypt the payloads they wrote, never encrypt. */
  payloadKeysOld?: string[];
  /** Temporal Cloud API key (TEMPORAL_API_KEY); implies TLS. */
  apiKey?: string;
  /** mTLS client certificate and key, PEM file paths (TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY). */
  tlsCertPath?: string;
  tlsKeyPath?: string;
  /** Worker Versioning: the worker deployment and build this worker belongs to (TEMPORAL_DEPLOYMENT_NAME, TEMPORAL_BUILD_ID). */
  deployment?: WorkerDeploymentSettings;
}

export type VersioningBehaviorName = 'PINNED' | 'AUTO_UPGRADE';

export interface WorkerDeploymentSettings {
  name: string;
  buildId: string;
  /**
   * Default PINNED: a workflow stays on the build that started it, so a rollout of changed
   * workflow code never replays a running history on new code; old workers drain it.
   */
  defaultBehavior: VersioningBehaviorName;
}

/** Both variables or neither: half a deployment version is a mistake worth stopping for. */
export function deploymentSettingsFromEnv(env: NodeJS.ProcessEnv): WorkerDeploymentSettings | undefined {
  const name = env.TEMPORAL_DEPLOYMENT_NAME || undefined;
  const buildId = env.TEMPORAL_BUILD_ID || undefined;
  if (!name && !buildId) return undefined;
  if (!name || !buildId)
    throw new Error('Worker Versioning needs both TEMPORAL_DEPLOYMENT_NAME and TEMPORAL_BUILD_ID (or neither)');
  const behavior = (env.TEMPORAL_VERSIONING_BEHAVIOR || 'PINNED').toUpperCase();
  if (behavior !== 'PINNED' && behavior !== 'AUTO_UPGRADE') {
    throw new Error(
      `TEMPORAL_VERSIONING_BEHAVIOR is "${env.TEMPORAL_VERSIONING_BEHAVIOR}": use PINNED or AUTO_UPGRADE`,
    );
  }
  return { name, buildId, defaultBehavior: behavior };
}

export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env, address?: string): TemporalSettings {
  return {
    address: address ?? env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? DEFAULT_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    ...payloadKeysFromEnv(env),
    apiKey: env.TEMPORAL_API_KEY || undefined,
    tlsCertPath: env.TEMPORAL_TLS_CERT || undefined,
    tlsKeyPath: env.TEMPORAL_TLS_KEY || undefined,
    deployment: deploymentSettingsFromEnv(env),
  };
}

/** Address, TLS and API key for both kinds of connection (client and worker). */
export function connectionOptions(settings: TemporalSettings): {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
} {
  const options: { address: string; tls?: TLSConfig | boolean; apiKey?: string } = { address: settings.address };
  if (settings.tlsCertPath && settings.tlsKeyPath) {
    options.tls = {
      clientCertPair: { crt: fs.readFileSync(settings.tlsCertPath), key: fs.readFileSync(settings.tlsKeyPath) },
    };
  } else if (settings.tlsCertPath || settings.tlsKeyPath) {
    throw new Error('mTLS needs both TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY');
  }
  if (settings.apiKey) {
    options.apiKey = settings.apiKey;
    options.tls ??= true;
  }
  return options;
}

/** CXONE_SCIM_PAYLOAD_KEY (current) and CXONE_SCIM_PAYLOAD_KEYS_OLD (comma-separated, decrypt only). */
export function payloadKeysFromEnv(env: NodeJS.ProcessEnv): Pick<TemporalSettings, 'payloadKey' | 'payloadKeysOld'> {
  const payloadKey = env[PAYLOAD_KEY_ENV]?.trim() || undefined;
  const payloadKeysOld = parseOldPayloadKeys(env[OLD_PAYLOAD_KEYS_ENV]);
  if (!payloadKey && payloadKeysOld.length > 0) {
    throw new Error(
      `${OLD_PAYLOAD_KEYS_ENV} is set but ${PAYLOAD_KEY_ENV} is not: old keys only decrypt, the current key encrypts`,
    );
  }
  return payloadKey ? { payloadKey, ...(payloadKeysOld.length ? { payloadKeysOld } : {}) } : {};
}

/** The payload codec of these settings, when they have a key. */
export function payloadCodec(
  settings: Pick<TemporalSettings, 'payloadKey' | 'payloadKeysOld'>,
): AesGcmPayloadCodec | undefined {
  return settings.payloadKey
    ? AesGcmPayloadCodec.fromBase64(settings.payloadKey, settings.payloadKeysOld ?? [])
    : undefined;
}

export function dataConverter(settings: Pick<TemporalSettings, 'payloadKey' | 'payloadKeysOld'>): DataConverter {
  const codec = payloadCodec(settings);
  return codec ? { payloadCodecs: [codec] } : {};
}

export async function connectClient(settings: TemporalSettings): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(settings));
  return new Client({ connection, namespace: settings.namespace, dataConverter: dataConverter(settings) });
}

export async function connectWorker(settings: TemporalSettings): Promise<NativeConnection> {
  const { NativeConnection } = await import('@temporalio/worker');
  return NativeConnection.connect(connectionOptions(settings));
}

export type WorkerCreateOptions = Omit<WorkerOptions, 'connection' | 'namespace' | 'taskQueue' | 'dataConverter'> & {
  /** Owned by the caller, who closes it after the worker stops. */
  connection: NativeConnection;
};

export function workerDeploymentOptions(
  deployment: WorkerDeploymentSettings,
): NonNullable<WorkerOptions['workerDeploymentOptions']> {
  return {
    version: { deploymentName: deployment.name, buildId: deployment.buildId },
    useWorkerVersioning: true,
    defaultVersioningBehavior: deployment.defaultBehavior,
  };
}

export async function createWorker(settings: TemporalSettings, options: WorkerCreateOptions): Promise<Worker> {
  const { Worker } = await import('@temporalio/worker');
  return Worker.create({
    ...options,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    dataConverter: dataConverter(settings),
    ...(settings.deployment ? { workerDeploymentOptions: workerDeploymentOptions(settings.deployment) } : {}),
  });
}
