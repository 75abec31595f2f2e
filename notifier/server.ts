import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { brotliDecompress, gunzip, inflate, type InputType, type ZlibOptions } from 'node:zlib';
import { checkBearer } from '../internal/bearer.js';
import type { Registry } from 'prom-client';
import type { Secret } from '../internal/secret.js';
import type { NotifierMetrics } from './metrics.js';

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** What a handler answers: a status and a JSON body. */
export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export interface NotifierServerOptions {
  /** Required on POST /alerts and /heartbeat as `Authorization: Bearer <token>`; never empty. */
  bearerToken: Secret;
  maxBodyBytes: number;
  metrics: NotifierMetrics;
  registry: Registry;
  /** A raw body that passed auth and the size limit; the handler validates it. Must not throw. */
  onAlerts(raw: Buffer): Answer;
  onHeartbeat(raw: Buffer): Answer;
  ready(): boolean;
}

type Decoder = (buf: InputType, opts: ZlibOptions, cb: (err: Error | null, out: Buffer) => void) => void;

/** The request encodings read (Alertmanager sends none); any other is 415. */
const DECODERS: Record<string, Decoder> = {
  gzip: gunzip,
  'x-gzip': gunzip,
  deflate: inflate,
  br: brotliDecompress as Decoder,
};

/** A request refused while its body was read: a 4xx and the reason. */
class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const NOT_FOUND = 'not found: POST /alerts, POST /heartbeat, GET /metrics, /-/healthy, /-/ready';

/**
 * The webhook server Alertmanager posts to, on node:http alone: the acknowledgement path is
 * read the body (bounded), validate, append and fdatasync, answer, with no framework in
 * between. Every request is answered, never crashes the process: 401 without the right
 * token, 413 above the size limit, 415 for an encoding it cannot read, 400 with the reason
 * for a body that is not a v4 payload, 503 when the outbox is full, 200 once it is on disk.
 */
export function createNotifierApp(opts: NotifierServerOptions): RequestListener {
  // An empty token would equal the empty token of a request without a header.
  if (!opts.bearerToken || opts.bearerToken.reveal().trim() === '')
    throw new Error('the notifier needs a non-empty bearer token');
  const expected = opts.bearerToken;
  const max = opts.maxBodyBytes;

  /**
   * Answers 401 and returns false unless the request carries the token; a refused webhook
   * is counted in rejected_total (a refused scrape is Prometheus's own `up`).
   */
  const authorized = (req: IncomingMessage, res: ServerResponse, webhook: boolean): boolean => {
    const result = checkBearer(req.headers.authorization, expected);
    if (result === 'ok') return true;
    if (webhook) opts.metrics.rejected.inc({ reason: 'unauthorized' });
    res.setHeader('WWW-Authenticate', 'Bearer realm="watchpost-notifier"');
    refuse(req, res, 401, {
      error: result === 'invalid' ? 'invalid bearer token' : 'missing bearer token (Authorization: Bearer …)',
    });
    return false;
  };

  const post = (req: IncomingMessage, res: ServerResponse, fn: (raw: Buffer) => Answer) => {
    if (!authorized(req, res, true)) return;
    readBody(req, max, (err, raw) => {
      if (err) {
        if (err.status === 413) opts.metrics.rejected.inc({ reason: 'too_large' });
        else opts.metrics.rejected.inc({ reason: 'invalid' });
        refuse(req, res, err.status, { error: err.message });
        return;
      }
      let answer: Answer;
      try {
        answer = fn(raw!);
      } catch (e) {
        answer = { status: 500, body: { error: `internal error: ${(e as Error).message}` } };
      }
      json(res, answer.status, answer.body);
    });
  };

  return (req, res) => {
    try {
      const method = req.method ?? '';
      const path = pathOf(req.url ?? '/');
      const get = method === 'GET' || method === 'HEAD';
      if (method === 'POST' && path === '/alerts') return post(req, res, opts.onAlerts);
      if (method === 'POST' && path === '/heartbeat') return post(req, res, opts.onHeartbeat);
      if (get && path === '/metrics') {
        // Behind the same token: Prometheus sends it (provisioning/prometheus/prometheus.yml).
        if (!authorized(req, res, false)) return;
        opts.registry.metrics().then(
          (body) =>
            text(res, 200, body, { 'Content-Type': EXPOSITION_CONTENT_TYPE, 'Cache-Control': 'no-store' }),
          (err: Error) => text(res, 500, `metrics failed: ${err.message}\n`),
        );
        return;
      }
      if (get && path === '/-/healthy') return text(res, 200, 'watchpost notifier is healthy.\n');
      if (get && path === '/-/ready')
        return opts.ready()
          ? text(res, 200, 'watchpost notifier is ready.\n')
          : text(res, 503, 'not ready\n');
      refuse(req, res, 404, { error: NOT_FOUND });
    } catch (err) {
      if (!res.headersSent) json(res, 500, { error: `internal error: ${(err as Error).message}` });
      else res.destroy();
    }
  };
}

/** The path without its query, without a trailing slash, lower case (as the routes were matched before). */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  let path = q === -1 ? url : url.slice(0, q);
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return path.toLowerCase();
}

function json(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  if (res.headersSent) return;
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': data.length });
  res.end(data);
}

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const data = Buffer.from(body);
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    ...headers,
    'Content-Length': data.length,
  });
  res.end(data);
}

/**
 * Answers a request whose body was not (or not all) read, and closes its connection: the rest
 * of the body is not worth reading, and must not be taken for the next request.
 */
function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: Record<string, unknown>,
): void {
  if (!req.complete) res.setHeader('Connection', 'close');
  json(res, status, body);
}

/**
 * Reads the request body, at most `max` bytes (decoded, when it is compressed), into one
 * Buffer; a larger one is refused with 413 as soon as it passes the limit (or at once, by its
 * Content-Length). Calls `done` once, or never when the client goes away first.
 */
function readBody(
  req: IncomingMessage,
  max: number,
  done: (err: BodyError | undefined, body?: Buffer) => void,
): void {
  let finished = false;
  const finish = (err: BodyError | undefined, body?: Buffer) => {
    if (finished) return;
    finished = true;
    done(err, body);
  };
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const decoder = encoding === 'identity' ? undefined : DECODERS[encoding];
  if (encoding !== 'identity' && !decoder) {
    req.resume();
    return finish(new BodyError(415, `unsupported content encoding "${encoding}"`));
  }
  const tooLarge = () => new BodyError(413, `request body larger than ${max} bytes`);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) {
    req.resume();
    return finish(tooLarge());
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    if (finished) return;
    size += chunk.length;
    if (size > max) return finish(tooLarge());
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (finished) return;
    const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    if (!decoder) return finish(undefined, raw);
    decoder(raw, { maxOutputLength: max }, (err, out) => {
      if (!err) return finish(undefined, out);
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return finish(tooLarge());
      finish(new BodyError(400, `invalid ${encoding} body: ${err.message}`));
    });
  });
  // An aborted request has nobody to answer; its socket is gone.
  req.on('error', () => {
    finished = true;
  });
}
