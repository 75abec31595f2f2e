import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseListen } from '../config/schema.js';
import { checkBearer } from '../internal/bearer.js';
import { listenHttp } from '../internal/listen.js';
import type { Logger } from '../internal/log.js';
import { Secret, readSecretFile } from '../internal/secret.js';
import { loadTls, watchTls, type TlsFiles } from './tls.js';

/**
 * `watchpost write-proxy`: the door of a central Prometheus's remote-write receiver
 * (docs/scaling.md, "Sites pushing"). Prometheus's `--web.enable-remote-write-receiver` has no
 * authentication of its own, and Prometheus's web config offers only basic auth for its whole
 * API. This proxy serves HTTPS, lets through only `POST /api/v1/write` carrying the push token
 * (`Authorization: Bearer`, compared in constant time) and forwards it to the Prometheus on the
 * internal network; every other path and method is refused, so the query API and the admin
 * endpoints stay unreachable from the sites.
 */

/** A remote-write request is snappy-compressed protobuf of a few MiB at most (Prometheus sends ≤ 2000 samples per request by default). */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;
export const WRITE_PATH = '/api/v1/write';

export interface WriteProxyOptions {
  listen: string;
  /** The Prometheus (or other remote-write receiver) base URL, e.g. http://watchpost-prometheus:9090. */
  upstream: string;
  /** The push token's file; the token is read once, at start. */
  tokenFile: string;
  /** Served over HTTPS with these, re-read when they change; plain HTTP without. */
  tls?: TlsFiles;
  tlsReloadMs?: number;
  /** A group given secrets on purpose (WATCHPOST_SECRETS_GID): no warning for files it reads. */
  secretsGroup?: number;
  log: Logger;
}

export interface WriteProxyHandle {
  address: AddressInfo;
  /** Requests forwarded, refused for the token, refused for the path. */
  counts(): { forwarded: number; unauthorized: number; refused: number };
  close(): Promise<void>;
}

export async function startWriteProxy(opts: WriteProxyOptions): Promise<WriteProxyHandle> {
  const read = readSecretFile(opts.tokenFile, { sharedGroup: opts.secretsGroup });
  if (read.value.trim() === '') throw new Error(`push token file "${opts.tokenFile}" is empty`);
  if (read.warning) opts.log.warn('unsafe config', { warning: read.warning });
  const token = new Secret(read.value.trim());
  let upstream: URL;
  try {
    upstream = new URL(WRITE_PATH, opts.upstream.replace(/\/+$/, '') + '/');
  } catch {
    throw new Error(`upstream "${opts.upstream}" is not a URL`);
  }
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:')
    throw new Error(`upstream "${opts.upstream}" is not an http or https URL`);
  const send = upstream.protocol === 'https:' ? httpsRequest : request;
  const counts = { forwarded: 0, unauthorized: 0, refused: 0 };

  const reply = (res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(`${text}\n`);

  const app = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/-/healthy' && (req.method === 'GET' || req.method === 'HEAD')) {
      reply(res, 200, 'OK');
      return;
    }
    if (path !== WRITE_PATH || req.method !== 'POST') {
      counts.refused++;
      reply(res, 404, `watchpost write-proxy: only POST ${WRITE_PATH} is served`);
      return;
    }
    const auth = checkBearer(req.headers.authorization, token);
    if (auth !== 'ok') {
      counts.unauthorized++;
      // The address says which agent has the wrong token; the token itself is never logged.
      opts.log.warn('write-proxy refused a push', {
        reason: auth === 'missing' ? 'no bearer token' : 'wrong bearer token',
        client: req.socket.remoteAddress,
      });
      reply(res, 401, 'watchpost write-proxy: unauthorized', { 'www-authenticate': 'Bearer' });
      return;
    }
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > MAX_BODY_BYTES) {
      counts.refused++;
      reply(res, 413, `watchpost write-proxy: body over ${MAX_BODY_BYTES} bytes`);
      return;
    }
    const headers: Record<string, string> = {};
    for (const h of [
      'content-type',
      'content-encoding',
      'content-length',
      'user-agent',
      'x-prometheus-remote-write-version',
    ]) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const up = send(upstream, { method: 'POST', headers }, (answer) => {
      counts.forwarded++;
      res.writeHead(answer.statusCode ?? 502, {
        'content-type': answer.headers['content-type'] ?? 'text/plain',
      });
      answer.pipe(res);
    });
    up.on('error', (err) => {
      opts.log.warn('write-proxy cannot reach its upstream', {
        upstream: upstream.origin,
        reason: err.message,
      });
      // 503: the agent keeps the samples in its WAL and retries (a 4xx would make it drop them).
      if (!res.headersSent) reply(res, 503, 'watchpost write-proxy: upstream unavailable');
      else res.destroy();
    });
    let seen = 0;
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > MAX_BODY_BYTES) {
        up.destroy();
        if (!res.headersSent) reply(res, 413, `watchpost write-proxy: body over ${MAX_BODY_BYTES} bytes`);
        req.destroy();
      }
    });
    req.pipe(up);
  };

  const { host, port } = parseListen(opts.listen);
  let server: Server | HttpsServer;
  let tlsWatch: { stop(): void } | undefined;
  if (opts.tls) {
    const files: TlsFiles = {
      ...opts.tls,
      ...(opts.secretsGroup !== undefined ? { sharedGroup: opts.secretsGroup } : {}),
    };
    const loaded = loadTls(files);
    if (loaded.warning) opts.log.warn('unsafe config', { warning: loaded.warning });
    server = await listenHttp(app, host, port, loaded.options);
    tlsWatch = watchTls(server as HttpsServer, files, opts.tlsReloadMs ?? 30_000, opts.log);
  } else {
    server = await listenHttp(app, host, port);
  }
  const address = server.address() as AddressInfo;
  opts.log.info('write-proxy listening', {
    address: `${address.address}:${address.port}`,
    tls: opts.tls ? 'on' : 'off',
    upstream: upstream.origin,
  });
  return {
    address,
    counts: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        tlsWatch?.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
