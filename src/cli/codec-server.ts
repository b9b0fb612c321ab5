import type { Command } from 'commander';
import {
  DEFAULT_CODEC_BODY_LIMIT_BYTES,
  DEFAULT_CODEC_PORT,
  DEFAULT_UI_ORIGIN,
  parseOrigin,
  startCodecServer,
  type CodecServerLogger,
} from '../temporal/codec-server';
import { AesGcmPayloadCodec } from '../temporal/encryption-codec';

interface CodecServerCliOptions {
  port: number;
  host: string;
  uiOrigin: string;
  bodyLimit: number;
  verbose?: boolean;
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
        'with the key from CXONE_SCIM_PAYLOAD_KEY. CORS only for --ui-origin; when CXONE_SCIM_CODEC_TOKEN is set, requests need ' +
        '`Authorization: Bearer <token>` (temporal … --codec-auth "Bearer <token>").',
    )
    .option('--port <port>', 'port to listen on', int('--port'), DEFAULT_CODEC_PORT)
    .option('--host <host>', 'address to bind', '127.0.0.1')
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
  if (!env.CXONE_SCIM_PAYLOAD_KEY) {
    throw new Error(
      'CXONE_SCIM_PAYLOAD_KEY is not set: the codec server needs the key the worker encrypts payloads with.',
    );
  }
  const codec = AesGcmPayloadCodec.fromBase64(env.CXONE_SCIM_PAYLOAD_KEY);
  const uiOrigin = parseOrigin(options.uiOrigin);
  const server = await startCodecServer({
    codec,
    uiOrigin,
    bearerToken: env.CXONE_SCIM_CODEC_TOKEN || undefined,
    bodyLimitBytes: options.bodyLimit,
    port: options.port,
    host: options.host,
    log: consoleLogger(options.verbose ?? false),
  });
  console.log(`[codec] listening on ${server.url} (POST /decode, /encode, /{namespace}/decode)`);
  console.log(
    `[codec] CORS origin ${uiOrigin}; bearer token ${env.CXONE_SCIM_CODEC_TOKEN ? 'required' : 'not required'}`,
  );
  if (!env.CXONE_SCIM_CODEC_TOKEN && !['127.0.0.1', '::1', 'localhost'].includes(options.host)) {
    console.warn(
      '[codec] listening beyond loopback without CXONE_SCIM_CODEC_TOKEN: anyone who reaches this port can decrypt payloads',
    );
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
}
