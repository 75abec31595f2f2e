import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { checkBearer } from '../internal/bearer.js';
import type { Secret } from '../internal/secret.js';
import type { HealthReport } from './collector.js';
import type { Exposition } from './exposition.js';
import type { Scheduler } from './scheduler.js';
import { renderStatusPage } from './status-page.js';

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface ServerOptions {
  exposition: Exposition;
  scheduler: Scheduler;
  version: string;
  /**
   * When set, GET /metrics and GET /health/deep require `Authorization: Bearer <token>`, and
   * GET / shows collector errors only with it.
   */
  bearerToken?: Secret;
  /**
   * The last dependency check results for GET /health/deep; it must answer from memory,
   * never probe. Without it (no dependencies configured) /health/deep answers 200, empty.
   */
  deepHealth?: () => HealthReport;
  /**
   * Brings parts of the exposition that are rendered on demand up to date (the process
   * metrics) before a scrape is answered. In-process work only, never I/O to another system;
   * it must not reject.
   */
  beforeScrape?: () => Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Sends a complete answer; a HEAD request gets the same headers without the body. */
function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  body: string | Buffer,
): void {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { ...headers, 'Content-Length': buf.length });
  res.end(req.method === 'HEAD' ? undefined : buf);
}

const TEXT = 'text/plain; charset=utf-8';

/**
 * The exporter's HTTP handler, on node:http: five GET routes need no framework (express
 * alone added ~15 MiB to the exporter's memory; docs/architecture.md, "Footprint"). Paths
 * match as express matched them by default: without the query string, case-insensitive,
 * with or without one trailing slash; HEAD is answered wherever GET is.
 */
export function createApp(opts: ServerOptions): Handler {
  /** True when no token is set, or the request carries it. */
  const authorized = (req: IncomingMessage): boolean =>
    !opts.bearerToken || checkBearer(req.headers.authorization, opts.bearerToken) === 'ok';
  const deny = (req: IncomingMessage, res: ServerResponse) =>
    send(
      req,
      res,
      401,
      { 'WWW-Authenticate': 'Bearer realm="watchpost"', 'Content-Type': TEXT },
      'unauthorized\n',
    );

  const routes = new Map<string, Handler>();

  routes.set('/metrics', (req, res) => {
    if (!authorized(req)) {
      deny(req, res);
      return;
    }
    // The scrape only sends the Buffer that the collectors' last runs produced, after the
    // process metrics are brought up to date if they are older than their interval.
    const answer = () => {
      const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
      const body = gzip ? opts.exposition.gzip() : opts.exposition.plain();
      send(
        req,
        res,
        200,
        {
          'Content-Type': EXPOSITION_CONTENT_TYPE,
          'Cache-Control': 'no-store',
          ...(gzip ? { 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' } : {}),
        },
        body,
      );
    };
    if (!opts.beforeScrape) {
      answer();
      return;
    }
    opts
      .beforeScrape()
      .then(answer)
      .catch(() => {
        if (!res.headersSent) send(req, res, 500, { 'Content-Type': TEXT }, 'internal error\n');
        else res.destroy();
      });
  });

  // The status page stays open, but when a token is set its error texts (which name hosts,
  // addresses and paths) are shown only to a request that carries the token.
  routes.set('/', (req, res) => {
    send(
      req,
      res,
      200,
      { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' },
      renderStatusPage(opts.scheduler.statuses(), opts.version, new Date(), {
        showErrors: authorized(req),
      }),
    );
  });

  routes.set('/-/healthy', (req, res) => {
    send(req, res, 200, { 'Content-Type': TEXT }, 'watchpost exporter is healthy.\n');
  });

  routes.set('/-/ready', (req, res) => {
    if (opts.scheduler.ready()) {
      send(req, res, 200, { 'Content-Type': TEXT }, 'watchpost exporter is ready.\n');
    } else {
      send(
        req,
        res,
        503,
        { 'Content-Type': TEXT },
        `not ready: waiting for the first run of ${opts.scheduler.pending().join(', ')}\n`,
      );
    }
  });

  // Lists dependency names, addresses and failure messages: behind the token, like /metrics.
  routes.set('/health/deep', (req, res) => {
    if (!authorized(req)) {
      deny(req, res);
      return;
    }
    const { status, body } = opts.deepHealth?.() ?? {
      status: 200,
      body: { status: 'up', checkedAt: null, message: 'no dependencies are checked', dependencies: [] },
    };
    send(
      req,
      res,
      status,
      { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' },
      JSON.stringify(body),
    );
  });

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    let path = (q === -1 ? url : url.slice(0, q)).toLowerCase();
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    const route = req.method === 'GET' || req.method === 'HEAD' ? routes.get(path) : undefined;
    try {
      if (route) route(req, res);
      else send(req, res, 404, { 'Content-Type': TEXT }, 'not found; see / for what this exporter serves\n');
    } catch {
      // Never the error's text: it may name paths or addresses.
      if (!res.headersSent) send(req, res, 500, { 'Content-Type': TEXT }, 'internal error\n');
      else res.destroy();
    }
  };
}
