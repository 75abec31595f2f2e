import type { Server } from 'node:http';
import type { Express } from 'express';

/**
 * Starts `app` listening, resolving once it listens; a failure says which address and
 * why in words an operator acts on ("already in use", "permission denied"). Used by
 * the exporter and the notifier alike.
 */
export function listenHttp(app: Express, host: string, port: number): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host);
    s.once('listening', () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'the address is already in use'
          : err.code === 'EACCES'
            ? 'permission denied'
            : err.message;
      reject(new Error(`cannot listen on ${host}:${port}: ${why}`));
    });
  });
}
