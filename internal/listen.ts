import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { SecureContextOptions } from 'node:tls';

/**
 * Starts `app` listening, resolving once it listens; a failure says which address and
 * why in words an operator acts on ("already in use", "permission denied"). Used by
 * the exporter and the notifier alike. With `tls`, it serves HTTPS with that certificate
 * and key (the server's setSecureContext swaps them later).
 */
export function listenHttp(
  app: RequestListener,
  host: string,
  port: number,
  tls?: SecureContextOptions,
): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const s: Server = tls ? createHttpsServer(tls, app) : createServer(app);
    s.listen(port, host);
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
