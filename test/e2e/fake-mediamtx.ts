import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for MediaMTX's control API (MediaMTX cannot be installed here), answering
 * GET /v3/paths/list as MediaMTX does. Implemented from MediaMTX's own definitions,
 * internal/defs/api_path.go and apidocs/openapi.yaml, as of v1.17:
 *   - PathList: { itemCount: int, pageCount: int, items: Path[] };
 *   - Path: name, confName, ready (deprecated), readyTime (RFC 3339 | null, deprecated),
 *     available, availableTime, online, onlineTime, source ({type, id} | null),
 *     tracks (codec names, deprecated), tracks2 ([{codec, codecProps}]),
 *     readers ([{type, id}]), inboundBytes, outboundBytes, inboundFramesInError,
 *     bytesReceived / bytesSent (deprecated copies of inboundBytes / outboundBytes);
 *   - query `page` (from 0, default 0) and `itemsPerPage` (default 100); items sorted
 *     by name; pageCount = ceil(itemCount / itemsPerPage), 0 when there are no paths;
 *     a page past the end is empty; a non-numeric or zero itemsPerPage is a 400;
 *   - 401 with `WWW-Authenticate: Basic realm="mediamtx"` and {"error": ...} when the
 *     basic-auth credentials are missing or wrong; 404 for other routes.
 * `legacy: true` answers as before v1.15 (ready/readyTime/bytesReceived/bytesSent only).
 */

export interface FakePath {
  name: string;
  /** A publisher is online. */
  ready: boolean;
  readyTime?: string;
  readers?: number;
  bytesIn?: number;
  bytesOut?: number;
  framesInError?: number;
}

export interface FakeMediamtxOptions {
  user?: string;
  pass?: string;
  legacy?: boolean;
}

export class FakeMediamtx {
  paths: FakePath[] = [];
  /** Every request's path and query, for assertions on paging. */
  readonly requests: string[] = [];
  private server?: Server;
  port = 0;

  constructor(private readonly opts: FakeMediamtxOptions = {}) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests.push(req.url ?? '');
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      if (this.opts.user !== undefined) {
        const expected = `Basic ${Buffer.from(`${this.opts.user}:${this.opts.pass ?? ''}`).toString('base64')}`;
        if (req.headers.authorization !== expected) {
          send(
            401,
            { status: 'error', error: 'authentication error' },
            { 'www-authenticate': 'Basic realm="mediamtx"' },
          );
          return;
        }
      }
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method !== 'GET' || url.pathname !== '/v3/paths/list') {
        send(404, { status: 'error', error: 'not found' });
        return;
      }
      const page = Number(url.searchParams.get('page') ?? '0');
      const perPage = Number(url.searchParams.get('itemsPerPage') ?? '100');
      if (!Number.isInteger(page) || page < 0 || !Number.isInteger(perPage) || perPage <= 0) {
        send(400, { status: 'error', error: 'invalid pagination' });
        return;
      }
      const all = [...this.paths].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const pageCount = Math.ceil(all.length / perPage);
      const items = all.slice(page * perPage, (page + 1) * perPage).map((p) => this.item(p));
      send(200, { itemCount: all.length, pageCount, items });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  private item(p: FakePath): Record<string, unknown> {
    const time = p.ready ? (p.readyTime ?? new Date().toISOString()) : null;
    const source = p.ready ? { type: 'rtmpConn', id: `conn-${p.name}` } : null;
    const readers = Array.from({ length: p.readers ?? 0 }, (_, i) => ({ type: 'rtspSession', id: `r${i}` }));
    const bytesIn = p.bytesIn ?? 0;
    const bytesOut = p.bytesOut ?? 0;
    const legacy = {
      name: p.name,
      confName: 'all_others',
      source,
      ready: p.ready,
      readyTime: time,
      tracks: p.ready ? ['H264', 'MPEG-4 Audio'] : [],
      bytesReceived: bytesIn,
      bytesSent: bytesOut,
      readers,
    };
    if (this.opts.legacy) return legacy;
    return {
      ...legacy,
      available: p.ready,
      availableTime: time,
      online: p.ready,
      onlineTime: time,
      tracks2: p.ready ? [{ codec: 'H264', codecProps: { width: 320, height: 240 } }] : [],
      inboundBytes: bytesIn,
      outboundBytes: bytesOut,
      inboundFramesInError: p.framesInError ?? 0,
    };
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
