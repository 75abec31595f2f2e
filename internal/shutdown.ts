import type { Server } from 'node:http';

/**
 * Stops an HTTP server gracefully: no new connections, idle keep-alive connections closed at
 * once, requests in progress allowed to finish, and whatever is still open after `graceMs`
 * closed. Resolves once the server is closed.
 */
export async function closeGracefully(server: Server, graceMs = 5000): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const force = setTimeout(() => server.closeAllConnections(), graceMs);
  force.unref();
  try {
    await closed;
  } finally {
    clearTimeout(force);
  }
}
