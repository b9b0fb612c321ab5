import type { Command } from 'commander';
import {
  DEFAULT_CODEC_BODY_LIMIT_BYTES,
  DEFAULT_CODEC_PORT,
  DEFAULT_UI_ORIGIN,
  isLoopbackHost,
  parseOrigin,
  startCodecServer,
  type CodecServerLogger,
} from '../temporal/codec-server';
import { payloadCodec, payloadKeysFromEnv } from '../temporal/connection';

interface CodecServerCliOptions {
  port: number;
  host: string;
  uiOrigin: string;
  bodyLimit: number;
  verbose?: boolean;
  allowUnauthenticated?: boolean;
}

const int = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${value}`);
  return n;
};

const consoleLogger = (verbose: boolean): CodecServerLogger => ({
  info: (m, a) => verbose && console.log(`[codec] ${m}${a ? ` ${JSON.stringify(a)}` : ''}`),
  warn: (m, a) => console.warn(`[codec] ${m}${a ? ` ${JSON.stringify(a)}` : ''}`),
});

/** `cxone-scim codec-server`. */
export function registerCodecServerCommand(program: Command): void {
  program
    .command('codec-server')
    .description(
      'Serve the payload codec to the Temporal UI and `temporal … --codec-endpoint`: POST /decode, /encode and /{namespace}/decode, ' +
        'with the key from CXONE_SCIM_PAYLOAD_KEY (encodes, decodes) and CXONE_SCIM_PAYLOAD_KEYS_OLD (comma-separated, decodes only). ' +
        'CORS only for --ui-origin; when CXONE_SCIM_CODEC_TOKEN is set, requests need ' +
        '`Authorization: Bearer <token>` (temporal … --codec-auth "Bearer <token>"); beyond loopback the token is required.',
    )
    .option('--port <port>', 'port to listen on', int('--port'), DEFAULT_CODEC_PORT)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option(
      '--allow-unauthenticated',
      'listen beyond loopback without CXONE_SCIM_CODEC_TOKEN (only when something in front limits who reaches the port)',
    )
    .option('--ui-origin <origin>', 'the Temporal UI origin allowed by CORS', DEFAULT_UI_ORIGIN)
    .option('--body-limit <bytes>', 'largest accepted body', int('--body-limit'), DEFAULT_CODEC_BODY_LIMIT_BYTES)
    .option('--verbose', 'log every request')
    .action(async (options: CodecServerCliOptions) => {
      await runCodecServer(options);
    });
}

export async function runCodecServer(
  options: CodecServerCliOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const codec = payloadCodec(payloadKeysFromEnv(env));
  if (!codec) {
    throw new Error(
      'CXONE_SCIM_PAYLOAD_KEY is not set: the codec server needs the key the worker encrypts payloads with.',
    );
  }
  const uiOrigin = parseOrigin(options.uiOrigin);
  const bearerToken = env.CXONE_SCIM_CODEC_TOKEN || undefined;
  const server = await startCodecServer({
    codec,
    uiOrigin,
    bearerToken,
    bodyLimitBytes: options.bodyLimit,
    port: options.port,
    host: options.host,
    allowUnauthenticated: options.allowUnauthenticated ?? false,
    log: consoleLogger(options.verbose ?? false),
  });
  console.log(`[codec] listening on ${server.url} (POST /decode, /encode, /{namespace}/decode)`);
  // Key ids only (a hash prefix each, as payloads carry them): never a key.
  const old = codec.oldKeyIds;
  console.log(`[codec] key id ${codec.keyId}${old.length ? `; old key ids (decode only) ${old.join(', ')}` : ''}`);
  console.log(`[codec] CORS origin ${uiOrigin}; bearer token ${bearerToken ? 'required' : 'not required'}`);
  if (!bearerToken && !isLoopbackHost(options.host)) {
    console.warn(
      '[codec] listening beyond loopback without CXONE_SCIM_CODEC_TOKEN (--allow-unauthenticated): anyone who reaches this port can decrypt payloads',
    );
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
}
