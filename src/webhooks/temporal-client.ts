import { Client, Connection } from '@temporalio/client';
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
 * A client on a lazy connection: nothing is dialled until the first call, and gRPC reconnects
 * by itself after an outage. So the receiver starts, and answers 503, while Temporal is down,
 * and recovers without a restart. Address, TLS / API key and data converter are the project's
 * (`connectionOptions`, `dataConverter`), as for every other client.
 */
export class LazyTemporalClient implements TemporalClientSource {
  readonly #client: Client;
  #closed = false;

  constructor(settings: TemporalSettings) {
    const connection = Connection.lazy(connectionOptions(settings));
    this.#client = new Client({
      ...requestIdClientOptions(connection),
      namespace: settings.namespace,
      dataConverter: dataConverter(settings),
    });
  }

  async get(): Promise<Client> {
    if (this.#closed) throw new Error('the Temporal client is closed');
    return this.#client;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#client.connection.close();
  }
}
