import { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { connectionOptions, dataConverter, type TemporalSettings } from '../temporal/connection';
import { clientWithRequestIds, requestIdClientOptions } from './request-ids';

/** Where the receiver gets its Temporal client. */
export interface TemporalClientSource {
  /** Rejects when no client is available (the receiver answers 503). */
  get(): Promise<Client>;
  close(): Promise<void>;
}

/**
 * An already connected client (tests, the dev demo); closing it is its owner's business. The
 * receiver uses a copy on the same connection whose signal-with-start takes the event's request id
 * (see request-ids.ts).
 */
export function fixedClient(client: Client): TemporalClientSource {
  const tagged = clientWithRequestIds(client);
  return { get: async () => tagged, close: async () => undefined };
}

/**
 * A client on Temporal's native (Rust) connection, the one workers use: per signal-with-start it
 * costs about half the CPU of the gRPC-JS connection, which on a busy receiver was half of all
 * its CPU. It connects on the first call, not at start, so the receiver starts, and answers 503,
 * while Temporal is down; a failed connect is tried again by the next call, and once connected
 * the channel reconnects by itself after an outage. Address, TLS / API key and data converter are
 * the project's, as for every other client.
 */
export class LazyTemporalClient implements TemporalClientSource {
  #connecting: Promise<{ client: Client; connection: NativeConnection }> | undefined;
  #closed = false;

  constructor(private readonly settings: TemporalSettings) {}

  async get(): Promise<Client> {
    if (this.#closed) throw new Error('the Temporal client is closed');
    this.#connecting ??= this.#connect().catch((err: unknown) => {
      this.#connecting = undefined; // the next call tries again
      throw err;
    });
    return (await this.#connecting).client;
  }

  async #connect(): Promise<{ client: Client; connection: NativeConnection }> {
    // Events are about 1 KB: gzip (the native connection's default) costs CPU on both ends and saves nothing.
    // Loaded here, not at the top: the native module is only needed once a delivery comes in.
    const { NativeConnection } = await import('@temporalio/worker');
    const connection = await NativeConnection.connect({
      ...connectionOptions(this.settings),
      grpcCompression: { codec: 'none' },
    });
    if (this.#closed) {
      await connection.close();
      throw new Error('the Temporal client is closed');
    }
    const client = new Client({
      ...requestIdClientOptions(connection),
      namespace: this.settings.namespace,
      dataConverter: dataConverter(this.settings),
    });
    return { client, connection };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const connected = await this.#connecting?.catch(() => undefined);
    await connected?.connection.close();
  }
}
