// The independent SCIM server of the interoperability tests: python `scim2-server`, installed
// pinned into .tools/scim2-server by `npm run setup`. Started on a free loopback port, with a
// static bearer token, and stopped (by its PID) in `stop()`.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SCIM2_SERVER_BIN = path.resolve(
  __dirname,
  '..',
  '..',
  '..',
  '.tools',
  'scim2-server',
  'bin',
  'scim2-server',
);

export interface Scim2Server {
  /** e.g. http://127.0.0.1:40123 */
  origin: string;
  /** The SCIM root below the origin: `/v2`. */
  scimPath: string;
  bearerToken: string;
  stop(): Promise<void>;
}

export interface Scim2ServerOptions {
  /** Replaces the announced ServiceProviderConfig (e.g. `bulk.supported: false`). */
  serviceProviderConfig?: Record<string, unknown>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startScim2Server(options: Scim2ServerOptions = {}): Promise<Scim2Server> {
  if (!fs.existsSync(SCIM2_SERVER_BIN)) throw new Error(`${SCIM2_SERVER_BIN} is missing: run \`npm run setup\``);
  const bearerToken = randomBytes(16).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scim2-server-'));
  const args = ['--hostname', '127.0.0.1', '--bearer-token', bearerToken];
  if (options.serviceProviderConfig) {
    const file = path.join(dir, 'spc.json');
    fs.writeFileSync(file, JSON.stringify(options.serviceProviderConfig));
    args.push('--service-provider-config', file);
  }
  // The port is chosen here; another process may take it first, so a failed start is retried.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(SCIM2_SERVER_BIN, [...args, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 20_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (/Serving SCIM on/.test(output)) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    };
    if (ready) return { origin: `http://127.0.0.1:${port}`, scimPath: '/v2', bearerToken, stop };
    await stop();
    if (attempt >= 3) throw new Error(`scim2-server did not start: ${output.trim()}`);
  }
}
