// The S3-compatible object store of the source tests: Versity's S3 gateway (versitygw), installed
// pinned into .tools/object-store by `npm run setup:test`. Started on a free loopback port over a
// temporary directory, with a random access key and secret (it checks SigV4 signatures, so wrong
// credentials are refused as by AWS), and stopped by its PID in `stop()`.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

export const OBJECT_STORE_BIN = path.resolve(__dirname, '..', '..', '..', '.tools', 'object-store', 'versitygw');

export interface ObjectStore {
  /** e.g. http://127.0.0.1:40123 */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The environment a worker needs to read from it (endpoint, path style, region, credentials). */
  env: Record<string, string>;
  createBucket(bucket: string): Promise<void>;
  put(bucket: string, key: string, body: string | Buffer): Promise<void>;
  remove(bucket: string, key: string): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

export async function startObjectStore(): Promise<ObjectStore> {
  if (!fs.existsSync(OBJECT_STORE_BIN))
    throw new Error(`${OBJECT_STORE_BIN} is missing: run \`npm run setup:test\` (bash scripts/setup-object-store.sh)`);
  const accessKeyId = `AK${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(20).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'object-store-'));
  // The port is chosen here; another process may take it first, so a failed start is retried.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      OBJECT_STORE_BIN,
      ['--access', accessKeyId, '--secret', secretAccessKey, '--port', `127.0.0.1:${port}`, 'posix', dir],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let ready = false;
    for (let waited = 0; waited < 20_000 && child.exitCode === null && !ready; waited += 100) {
      ready = await accepts(port);
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    let client: S3Client | undefined;
    const stop = async () => {
      client?.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    };
    if (!ready) {
      await stop();
      if (attempt >= 3) throw new Error(`the object store did not start: ${output.trim()}`);
      continue;
    }
    const endpoint = `http://127.0.0.1:${port}`;
    client = new S3Client({
      endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId, secretAccessKey },
    });
    const s3 = client;
    return {
      endpoint,
      accessKeyId,
      secretAccessKey,
      env: {
        CXONE_SCIM_S3_ENDPOINT: endpoint,
        CXONE_SCIM_S3_FORCE_PATH_STYLE: 'true',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
      },
      createBucket: async (bucket) => void (await s3.send(new CreateBucketCommand({ Bucket: bucket }))),
      put: async (bucket, key, body) =>
        void (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))),
      remove: async (bucket, key) => void (await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))),
      stop,
    };
  }
}
