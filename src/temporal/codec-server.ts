// The remote codec server: decrypts (and encrypts) payloads for the Temporal Web UI and the
// Temporal CLI (`--codec-endpoint`), so people can read histories that are encrypted at rest
// without the key ever leaving this process. Temporal's remote codec protocol:
//
//   POST …/decode   POST …/encode   (only the last path segment counts, so `/{namespace}/decode`
//                                    and a proxy prefix work; the UI also sends X-Namespace)
//     body and answer: Payloads as protobuf JSON, {"payloads":[{"metadata":{k: base64}, "data": base64}]}
//     400 not JSON / a field missing or not base64 (named by JSON path) · 413 body over the limit
//     401 bearer token required and missing or wrong · 403 Origin other than the UI's
//     422 a payload this key cannot decrypt (another key, or tampered)
//   OPTIONS …   CORS preflight, answered only for the configured UI origin (no token needed:
//               browsers never send credentials on a preflight)
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP, type AddressInfo } from 'node:net';
import * as t from 'io-ts';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { decode, formatIssues } from '../core/decode';

export const DEFAULT_CODEC_PORT = 8081;
export const DEFAULT_UI_ORIGIN = 'http://localhost:8233';
/** Temporal's own payload limit is 2 MB; the UI and CLI send a few payloads per request. */
export const DEFAULT_CODEC_BODY_LIMIT_BYTES = 8 * 1024 * 1024;
const ALLOWED_HEADERS = 'Authorization, Content-Type, X-Namespace';
const PREFLIGHT_MAX_AGE_SECONDS = 600;

// Standard or URL-safe alphabet, padding optional: what protobuf JSON parsers accept for bytes.
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const Base64 = t.refinement(t.string, (s) => BASE64.test(s) && s.length % 4 !== 1, 'base64 string');
const JsonPayload = t.partial({
  metadata: t.union([t.record(t.string, Base64), t.null]),
  data: t.union([Base64, t.null]),
});
const JsonPayloads = t.type({ payloads: t.array(JsonPayload) });
type JsonPayload = t.TypeOf<typeof JsonPayload>;

function fromJson(payload: JsonPayload): Payload {
  const metadata = Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  );
  return { metadata, data: Buffer.from(payload.data ?? '', 'base64') };
}

function toJson(payload: Payload): { metadata: Record<string, string>; data?: string } {
  const metadata = Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  );
  // proto3 JSON leaves empty bytes out.
  return payload.data?.length ? { metadata, data: Buffer.from(payload.data).toString('base64') } : { metadata };
}

export interface CodecServerLogger {
  info(message: string, attrs?: Record<string, unknown>): void;
  warn(message: string, attrs?: Record<string, unknown>): void;
}

export const silentCodecLogger: CodecServerLogger = { info: () => undefined, warn: () => undefined };

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** The one browser origin allowed to call (the Temporal UI), e.g. http://localhost:8233. */
  uiOrigin?: string;
  /** When set, every POST needs `Authorization: Bearer <token>`. */
  bearerToken?: string;
  bodyLimitBytes?: number;
  log?: CodecServerLogger;
}

/** `http://localhost:8233/` → `http://localhost:8233`; anything with a path, query or no scheme is refused. */
export function parseOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`--ui-origin must be an origin like http://localhost:8233, got ${JSON.stringify(value)}`);
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.pathname !== '/' || url.search || url.hash || url.username) {
    throw new Error(
      `--ui-origin must be an origin (scheme://host[:port], nothing after it), got ${JSON.stringify(value)}`,
    );
  }
  return url.origin;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Builds the server (not listening yet). */
export function buildCodecServer(options: CodecServerOptions): FastifyInstance {
  const uiOrigin = parseOrigin(options.uiOrigin ?? DEFAULT_UI_ORIGIN);
  const log = options.log ?? silentCodecLogger;
  // Compared as digests so that neither the length nor a prefix of the token leaks through timing.
  const expectedAuth = options.bearerToken ? sha256(`Bearer ${options.bearerToken}`) : undefined;
  const app = Fastify({ bodyLimit: options.bodyLimitBytes ?? DEFAULT_CODEC_BODY_LIMIT_BYTES, logger: false });

  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin === uiOrigin) {
      void reply.headers({
        'access-control-allow-origin': uiOrigin,
        'access-control-allow-credentials': 'true',
        vary: 'Origin',
      });
    } else if (origin !== undefined) {
      // A browser page elsewhere must not use this server to decrypt (or encrypt) for it.
      return refuse(request, reply, 403, 'origin not allowed', `only ${uiOrigin} may call this codec server`);
    }
    if (request.method === 'OPTIONS') {
      return reply
        .status(204)
        .headers({
          'access-control-allow-methods': 'POST, OPTIONS',
          'access-control-allow-headers': ALLOWED_HEADERS,
          'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS),
        })
        .send();
    }
    if (expectedAuth) {
      const given = request.headers.authorization;
      if (!given || !timingSafeEqual(sha256(given), expectedAuth)) {
        void reply.header('www-authenticate', 'Bearer');
        return refuse(
          request,
          reply,
          401,
          'unauthorized',
          given ? 'wrong bearer token' : 'send Authorization: Bearer <token>',
        );
      }
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return refuse(
        request,
        reply,
        413,
        'body too large',
        `the body exceeds the limit of ${app.initialConfig.bodyLimit} bytes`,
      );
    }
    if (status === 500) return refuse(request, reply, 500, 'internal error', err.message);
    const detail =
      err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError
        ? `the body is not valid JSON: ${err.message}`
        : err.message;
    return refuse(request, reply, status, 'bad request', detail);
  });

  async function transcode(direction: 'encode' | 'decode', request: FastifyRequest, reply: FastifyReply) {
    const parsed = decode(JsonPayloads, request.body);
    if (!parsed.ok) return refuse(request, reply, 400, 'bad request', formatIssues(parsed.errors));
    const input = parsed.value.payloads.map(fromJson);
    const output: Payload[] = [];
    // One payload at a time, so that a failure names the payload.
    for (const [index, payload] of input.entries()) {
      try {
        output.push(...(await options.codec[direction]([payload])));
      } catch (err) {
        return refuse(request, reply, 422, `cannot ${direction}`, `$.payloads[${index}]: ${(err as Error).message}`);
      }
    }
    log.info(direction, { path: request.url, namespace: request.headers['x-namespace'], payloads: output.length });
    return reply.status(200).send({ payloads: output.map(toJson) });
  }

  app.post('/*', async (request, reply) => {
    const last = request.url.split('?')[0].split('/').pop();
    if (last === 'decode' || last === 'encode') return transcode(last, request, reply);
    return refuse(request, reply, 404, 'not found', 'POST …/decode or …/encode');
  });
  app.options('/*', async (_request, reply) => reply.status(204).send());

  function refuse(request: FastifyRequest, reply: FastifyReply, status: number, error: string, detail: string) {
    log.warn('request refused', { method: request.method, path: request.url, status, error, detail });
    return reply.status(status).send({ error, detail });
  }

  return app;
}

export interface RunningCodecServer {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) and localhost: reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./.test(bare);
  return false;
}

/**
 * Builds and starts the server (loopback by default; port 0 picks a free port). Beyond loopback it
 * needs a bearer token: anyone who reaches the port could otherwise decrypt every payload. Only
 * `allowUnauthenticated` (something in front limits who reaches the port, e.g. a container whose
 * port is published on the host's loopback only) lifts that.
 */
export async function startCodecServer(
  options: CodecServerOptions & { port?: number; host?: string; allowUnauthenticated?: boolean },
): Promise<RunningCodecServer> {
  const host = options.host ?? '127.0.0.1';
  if (!options.bearerToken && !options.allowUnauthenticated && !isLoopbackHost(host)) {
    throw new Error(
      `the codec server will not listen on ${host} without a bearer token: anyone who reaches the port could decrypt ` +
        'every payload. Set CXONE_SCIM_CODEC_TOKEN, or listen on 127.0.0.1 (the default), or pass ' +
        '--allow-unauthenticated when something in front of it limits who reaches the port',
    );
  }
  const app = buildCodecServer(options);
  await app.listen({ port: options.port ?? 0, host });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, app, close: () => app.close() };
}
