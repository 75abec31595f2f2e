import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Bounds what connections can cost the exporter. A flood of idle connections (20,600 in
 * one test) used to hold one file descriptor each until the process hit its limit: scrapes
 * were reset and the host and disk collectors failed with EMFILE.
 *
 * - At most `maxConnections` sockets are kept open. When one more arrives, the connection
 *   idle the longest (no request in progress) is closed to make room, so a new scrape
 *   always gets in while a flood only ever displaces itself; when every kept connection is
 *   busy, the new one is closed instead.
 * - Every socket is closed after `idleMs` without a byte either way (a connection that never
 *   sends a request, or a keep-alive connection left open), and a request must arrive whole
 *   within `headersTimeoutMs` (Node's slowloris guard, the `headersTimeout` of node:http).
 */
export interface ConnectionLimits {
  maxConnections: number;
  idleMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 256,
  // Above Prometheus's longest usual scrape interval (1m) plus keepAliveTimeout's margin.
  idleMs: 70_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
};

export interface ConnectionGuard {
  /** Sockets open now. */
  open(): number;
  /** Connections closed to stay within maxConnections since the start. */
  evicted(): number;
}

export function guardConnections(server: Server, limits: ConnectionLimits): ConnectionGuard {
  // Insertion order is age order: the first idle one found is the longest idle.
  const sockets = new Map<Socket, { busy: number }>();
  let evicted = 0;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.timeout = limits.idleMs;
  server.on('connection', (socket: Socket) => {
    const state = { busy: 0 };
    sockets.set(socket, state);
    socket.once('close', () => sockets.delete(socket));
    if (sockets.size <= limits.maxConnections) return;
    for (const [other, s] of sockets) {
      if (other === socket || s.busy > 0) continue;
      sockets.delete(other);
      other.destroy();
      evicted++;
      return;
    }
    // Every other connection is serving a request: this one waits for none.
    sockets.delete(socket);
    socket.destroy();
    evicted++;
  });
  server.on('request', (req, res) => {
    const state = sockets.get(req.socket);
    if (!state) return;
    state.busy++;
    // Moved to the end: the most recently used connection is the last to be evicted.
    sockets.delete(req.socket);
    sockets.set(req.socket, state);
    res.once('close', () => {
      state.busy--;
    });
  });
  return { open: () => sockets.size, evicted: () => evicted };
}
