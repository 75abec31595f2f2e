import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../internal/log.js';
import { parseListen } from '../config/schema.js';

/**
 * `watchpost docker-proxy`: a read-only front for the Docker socket. Anything that can
 * connect to the socket can create a privileged container (root on the host), and a
 * read-only bind mount of the socket does not change that. This proxy forwards only the GET
 * endpoints the containers and logs collectors call, so the exporter can be given
 * `tcp://watchpost-docker-proxy:2375` instead of the socket (docs/deploy.md).
 */

const ID = '[A-Za-z0-9][A-Za-z0-9_.-]*';
const VERSION = '(?:/v\\d+\\.\\d+)?';
/** Paths (without the query) the collectors use: ping, version, list, inspect, stats, logs, events. */
export const ALLOWED_PATHS: RegExp[] = [
  new RegExp(`^${VERSION}/_ping$`),
  new RegExp(`^${VERSION}/version$`),
  new RegExp(`^${VERSION}/containers/json$`),
  new RegExp(`^${VERSION}/containers/${ID}/json$`),
  new RegExp(`^${VERSION}/containers/${ID}/stats$`),
  new RegExp(`^${VERSION}/containers/${ID}/logs$`),
  new RegExp(`^${VERSION}/events$`),
];

/** Whether a request may pass: GET or HEAD of an allowed path, with no `.`/`..` segment. */
export function allowed(method: string | undefined, url: string | undefined): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const path = (url ?? '').split('?')[0] ?? '';
  if (path.split('/').some((seg) => seg === '.' || seg === '..')) return false;
  return ALLOWED_PATHS.some((re) => re.test(path));
}

export interface DockerProxyHandle {
  address: AddressInfo;
  close(): Promise<void>;
}

export async function startDockerProxy(opts: {
  listen: string;
  socketPath: string;
  log: Logger;
}): Promise<DockerProxyHandle> {
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (!allowed(req.method, req.url)) {
      opts.log.warn('docker-proxy refused a request', {
        method: req.method,
        path: (req.url ?? '').split('?')[0],
      });
      res.writeHead(403, { 'content-type': 'application/json' }).end(
        `${JSON.stringify({
          message: `watchpost docker-proxy: ${req.method} ${(req.url ?? '').split('?')[0]} is not allowed (read-only proxy: GET of /_ping, /version, /containers/json, /containers/{id}/json|stats|logs and /events only)`,
        })}\n`,
      );
      return;
    }
    const upstream = request(
      {
        socketPath: opts.socketPath,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: 'docker' },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) {
        res
          .writeHead(502, { 'content-type': 'application/json' })
          .end(
            `${JSON.stringify({ message: `watchpost docker-proxy: Docker socket ${opts.socketPath}: ${err.message}` })}\n`,
          );
      } else res.destroy();
    });
    // A client that goes away (an events stream being closed) closes its upstream request too.
    res.on('close', () => upstream.destroy());
    upstream.end();
  });
  const { host, port } = parseListen(opts.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  opts.log.info('docker-proxy listening', {
    address: `${address.address}:${address.port}`,
    socket: opts.socketPath,
  });
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
