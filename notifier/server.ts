import express, { type NextFunction, type Request, type Response } from 'express';
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

/**
 * The webhook server Alertmanager posts to. Every request is answered, never crashes the
 * process: 401 without the right token, 413 above the size limit, 400 with the reason for
 * a body that is not a v4 payload, 503 when the outbox is full, 200 once it is on disk.
 */
export function createNotifierApp(opts: NotifierServerOptions): express.Express {
  // An empty token would equal the empty token of a request without a header.
  if (!opts.bearerToken || opts.bearerToken.reveal().trim() === '')
    throw new Error('the notifier needs a non-empty bearer token');
  const expected = opts.bearerToken;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const auth = (req: Request, res: Response, next: NextFunction) => {
    const result = checkBearer(req.get('authorization'), expected);
    if (result !== 'ok') {
      opts.metrics.rejected.inc({ reason: 'unauthorized' });
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer realm="watchpost-notifier"')
        .json({
          error:
            result === 'invalid' ? 'invalid bearer token' : 'missing bearer token (Authorization: Bearer …)',
        });
      return;
    }
    next();
  };
  const body = express.raw({ type: () => true, limit: opts.maxBodyBytes });
  const handle = (fn: (raw: Buffer) => Answer) => (req: Request, res: Response) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let answer: Answer;
    try {
      answer = fn(raw);
    } catch (err) {
      answer = { status: 500, body: { error: `internal error: ${(err as Error).message}` } };
    }
    res.status(answer.status).json(answer.body);
  };

  app.post('/alerts', auth, body, handle(opts.onAlerts));
  app.post('/heartbeat', auth, body, handle(opts.onHeartbeat));

  app.get('/metrics', async (_req, res) => {
    try {
      const text = await opts.registry.metrics();
      res.set('Content-Type', EXPOSITION_CONTENT_TYPE).set('Cache-Control', 'no-store').send(text);
    } catch (err) {
      res
        .status(500)
        .type('text/plain')
        .send(`metrics failed: ${(err as Error).message}\n`);
    }
  });
  app.get('/-/healthy', (_req, res) => {
    res.type('text/plain').send('watchpost notifier is healthy.\n');
  });
  app.get('/-/ready', (_req, res) => {
    if (opts.ready()) res.type('text/plain').send('watchpost notifier is ready.\n');
    else res.status(503).type('text/plain').send('not ready\n');
  });
  app.use((_req, res) => {
    res
      .status(404)
      .json({ error: 'not found: POST /alerts, POST /heartbeat, GET /metrics, /-/healthy, /-/ready' });
  });
  // Errors from the body parser (too large, aborted, bad encoding) and anything else: a 4xx/5xx with the reason.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number; statusCode?: number; message?: string };
    if (e.type === 'entity.too.large') {
      opts.metrics.rejected.inc({ reason: 'too_large' });
      res.status(413).json({ error: `request body larger than ${opts.maxBodyBytes} bytes` });
      return;
    }
    const status = e.status ?? e.statusCode ?? 500;
    if (status >= 400 && status < 500) opts.metrics.rejected.inc({ reason: 'invalid' });
    if (res.headersSent) return;
    res.status(status).json({ error: e.message ?? 'error' });
  });
  return app;
}
