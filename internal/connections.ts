import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';

/**
 * Bounds what connections can cost a server (the exporter and the notifier). A flood of idle connections (20,600 in
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
  /** The cap in force. */
  max: number;
}

export function guardConnections(server: Server, limits: ConnectionLimits): ConnectionGuard {
  // Insertion order is age order: the first idle one found is the longest idle.
  const sockets = new Map<Socket, { busy: number }>();
  // Under TLS a request's socket is the TLSSocket wrapping the TCP socket counted here: both
  // have the same peer address and port, which finds one from the other.
  const byPeer = new Map<string, Socket>();
  const peer = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`;
  let evicted = 0;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.timeout = limits.idleMs;
  server.on('connection', (socket: Socket) => {
    const state = { busy: 0 };
    sockets.set(socket, state);
    const key = peer(socket);
    byPeer.set(key, socket);
    socket.once('close', () => {
      sockets.delete(socket);
      if (byPeer.get(key) === socket) byPeer.delete(key);
    });
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
    const socket = sockets.has(req.socket) ? req.socket : byPeer.get(peer(req.socket));
    const state = socket && sockets.get(socket);
    if (!socket || !state) return;
    state.busy++;
    // Moved to the end: the most recently used connection is the last to be evicted.
    sockets.delete(socket);
    sockets.set(socket, state);
    res.once('close', () => {
      state.busy--;
    });
  });
  return { open: () => sockets.size, evicted: () => evicted, max: limits.maxConnections };
}

/**
 * The soft limit on open files (RLIMIT_NOFILE) of this process, read from
 * `<procfs>/self/limits`; undefined when it cannot be read or is unlimited. Node raises the
 * soft limit to the hard one at start, so this is the limit the process really has.
 */
export function openFileLimit(procfs = '/proc'): number | undefined {
  let text: string;
  try {
    text = readFileSync(join(procfs, 'self', 'limits'), 'utf8');
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (!m || m[1] === 'unlimited') return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** Descriptors Node holds by itself (stdio, epoll, eventfds, pipes, a parse worker thread). */
export const BASE_FILE_DESCRIPTORS = 64;

/** The smallest connection cap kept even under a tiny file limit (the config's minimum). */
export const MIN_CONNECTIONS = 8;

export interface ConnectionBudget {
  /** The cap to use. */
  maxConnections: number;
  /** Set when the configured cap did not fit the file limit: what to tell the operator. */
  warning?: string;
}

/**
 * Fits the configured connection cap under the process's file limit, leaving `reserve`
 * descriptors for everything else the service opens (its collectors' files, sockets and
 * processes). Each kept connection holds one descriptor; when cap + reserve exceeds the
 * limit, a flood would take the descriptors the collectors need (EMFILE), so the cap is
 * lowered to what fits, never below MIN_CONNECTIONS.
 */
export function fitConnections(opts: {
  configured: number;
  reserve: number;
  limit: number | undefined;
  key: string;
}): ConnectionBudget {
  const { configured, reserve, limit, key } = opts;
  if (limit === undefined || configured + reserve <= limit) return { maxConnections: configured };
  const fits = limit - reserve;
  if (fits >= MIN_CONNECTIONS) {
    return {
      maxConnections: fits,
      warning:
        `${key} lowered from ${configured} to ${fits}: this process may open ${limit} files (ulimit -n) ` +
        `and keeps about ${reserve} for its own files and sockets; raise the limit (ulimit -n, ` +
        `compose ulimits.nofile) or set ${key} to at most ${fits}`,
    };
  }
  return {
    maxConnections: MIN_CONNECTIONS,
    warning:
      `${key} lowered from ${configured} to ${MIN_CONNECTIONS}, and even that may not fit: this process ` +
      `may open only ${limit} files (ulimit -n) and needs about ${reserve + MIN_CONNECTIONS}; ` +
      `raise the limit (ulimit -n, compose ulimits.nofile)`,
  };
}
