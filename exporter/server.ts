import express, { type Request, type Response } from 'express';
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
}

export function createApp(opts: ServerOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  /** True when no token is set, or the request carries it. */
  const authorized = (req: Request): boolean =>
    !opts.bearerToken || checkBearer(req.get('authorization'), opts.bearerToken) === 'ok';
  const deny = (res: Response) =>
    res
      .status(401)
      .set('WWW-Authenticate', 'Bearer realm="watchpost"')
      .type('text/plain')
      .send('unauthorized\n');

  app.get('/metrics', (req: Request, res: Response) => {
    if (!authorized(req)) {
      deny(res);
      return;
    }
    // The scrape only sends the Buffer that the collectors' last runs produced.
    const gzip = /\bgzip\b/.test(req.get('accept-encoding') ?? '');
    const body = gzip ? opts.exposition.gzip() : opts.exposition.plain();
    res.writeHead(200, {
      'Content-Type': EXPOSITION_CONTENT_TYPE,
      'Content-Length': body.length,
      'Cache-Control': 'no-store',
      ...(gzip ? { 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' } : {}),
    });
    res.end(body);
  });

  // The status page stays open, but when a token is set its error texts (which name hosts,
  // addresses and paths) are shown only to a request that carries the token.
  app.get('/', (req, res) => {
    res
      .type('html')
      .set('Cache-Control', 'no-store')
      .send(
        renderStatusPage(opts.scheduler.statuses(), opts.version, new Date(), {
          showErrors: authorized(req),
        }),
      );
  });

  app.get('/-/healthy', (_req, res) => {
    res.type('text/plain').send('watchpost exporter is healthy.\n');
  });

  app.get('/-/ready', (_req, res) => {
    if (opts.scheduler.ready()) {
      res.type('text/plain').send('watchpost exporter is ready.\n');
    } else {
      res
        .status(503)
        .type('text/plain')
        .send(`not ready: waiting for the first run of ${opts.scheduler.pending().join(', ')}\n`);
    }
  });

  // Lists dependency names, addresses and failure messages: behind the token, like /metrics.
  app.get('/health/deep', (req, res) => {
    if (!authorized(req)) {
      deny(res);
      return;
    }
    const { status, body } = opts.deepHealth?.() ?? {
      status: 200,
      body: { status: 'up', checkedAt: null, message: 'no dependencies are checked', dependencies: [] },
    };
    res.status(status).set('Cache-Control', 'no-store').json(body);
  });

  app.use((_req, res) => {
    res.status(404).type('text/plain').send('not found; see / for what this exporter serves\n');
  });

  return app;
}
