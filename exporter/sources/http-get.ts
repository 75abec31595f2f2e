import http from 'node:http';
import https from 'node:https';

/**
 * One bounded HTTP GET for the sources that read a whole body (nginx-rtmp's stat page,
 * MediaMTX's API): the body may not exceed `maxBytes`, and `signal` ends the exchange at
 * any point, the body read included, by destroying the socket.
 *
 * node:http rather than fetch: Node 20's fetch with `redirect: 'error'` goes on reading a
 * body after its signal aborts, so an endless 200 answer grew the exporter to gigabytes
 * while the collector had long reported a timeout. Here every chunk is counted as it
 * arrives and the socket is destroyed at the limit; nothing is buffered past it.
 * Redirects are not followed (a 3xx is answered like any other status).
 */

/** Why a fetch failed, as the bounded `reason` label of the stream server metrics. */
export const FETCH_FAILURE_REASONS = [
  'dns',
  'connect',
  'tls',
  'timeout',
  'status',
  'auth',
  'too_large',
  'invalid',
] as const;
export type FetchFailureReason = (typeof FETCH_FAILURE_REASONS)[number];

/** A failure whose reason is known where it happens (a status, a size, a parse). */
export class FetchFailure extends Error {
  constructor(
    readonly reason: FetchFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'FetchFailure';
  }
}

/** The body limit when none is configured (collectors.streams.max_body_size's default). */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface HttpGetOptions {
  signal: AbortSignal;
  headers?: Record<string, string>;
  /** The most bytes of body read; a longer body fails with reason too_large. */
  maxBytes: number;
}

export interface HttpGetResponse {
  status: number;
  statusText: string;
  body: string;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / 1024 / 1024} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

export function httpGet(url: string | URL, opts: HttpGetOptions): Promise<HttpGetResponse> {
  return new Promise<HttpGetResponse>((resolve, reject) => {
    const target = typeof url === 'string' ? new URL(url) : url;
    const client = target.protocol === 'https:' ? https : http;
    let settled = false;
    const tooLarge = () =>
      new FetchFailure(
        'too_large',
        `response too large: the body is longer than ${formatBytes(opts.maxBytes)} (max_body_size)`,
      );
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      opts.signal.removeEventListener('abort', onAbort);
      req.destroy();
      reject(err);
    };
    const onAbort = () => fail(opts.signal.reason ?? new Error('aborted'));
    if (opts.signal.aborted) {
      reject(opts.signal.reason ?? new Error('aborted'));
      return;
    }
    const req = client.request(target, {
      method: 'GET',
      headers: { 'user-agent': 'watchpost', accept: '*/*', ...opts.headers },
      // No pooled sockets: each exchange owns its socket and destroys it at the end.
      agent: false,
    });
    opts.signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    req.once('response', (res) => {
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > opts.maxBytes) {
        fail(tooLarge());
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > opts.maxBytes) {
          chunks.length = 0;
          fail(tooLarge());
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', fail);
      res.once('end', () => {
        if (settled) return;
        settled = true;
        opts.signal.removeEventListener('abort', onAbort);
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          body: Buffer.concat(chunks, size).toString('utf8'),
        });
      });
    });
    req.end();
  });
}
