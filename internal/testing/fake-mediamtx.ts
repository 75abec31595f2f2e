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
 *   - what the fields say, as internal/core/path.go fills them: `online` is "a source is
 *     attached" (a configured pull source always is, reachable or not), `available` /
 *     `ready` "media is flowing"; a time is null while its flag is false, and
 *     `onlineTime` of a pull source that never delivered media is Go's zero time
 *     "0001-01-01T00:00:00Z"; tracks and byte counts are empty/0 while not available;
 *   - readers of MediaMTX's own components (HLS muxer, forwarding, push targets) are
 *     listed with type "hidden" and an empty id;
 *   - authentication as internal/api's middleware: no credentials → 401 at once with
 *     `WWW-Authenticate: Basic realm="mediamtx"`; wrong credentials → a pause of
 *     auth.PauseAfterError (2 s, against brute force), then 401 without that header;
 *     both with {"status":"error","error":"authentication error"}; 404 for other routes.
 * `legacy: true` answers as before v1.15 (ready/readyTime/bytesReceived/bytesSent only).
 */

export interface FakePath {
  name: string;
  /** Media is flowing (a publisher, or a pull source that answers). */
  ready: boolean;
  readyTime?: string;
  /** A configured pull source (e.g. "rtsp://camera/stream"): attached (online) even while down. */
  pullSource?: string;
  readers?: number;
  /** Readers that are MediaMTX's own components (type "hidden"). */
  hiddenReaders?: number;
  bytesIn?: number;
  bytesOut?: number;
  framesInError?: number;
}

export interface FakeMediamtxOptions {
  user?: string;
  pass?: string;
  legacy?: boolean;
  /** The pause before answering wrong credentials (MediaMTX: auth.PauseAfterError, 2 s). */
  authErrorPauseMs?: number;
}

/** Go's zero time.Time as encoding/json writes it. */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

export class FakeMediamtx {
  paths: FakePath[] = [];
  /** Every request's path and query, for assertions on paging. */
  readonly requests: string[] = [];
  private server?: Server;
  private readonly pauses = new Set<NodeJS.Timeout>();
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
        const error = { status: 'error', error: 'authentication error' };
        if (req.headers.authorization === undefined) {
          send(401, error, { 'www-authenticate': 'Basic realm="mediamtx"' });
          return;
        }
        if (req.headers.authorization !== expected) {
          // "wait some seconds to delay brute force attacks"
          const timer = setTimeout(() => {
            this.pauses.delete(timer);
            if (!res.destroyed) send(401, error);
          }, this.opts.authErrorPauseMs ?? 2000);
          this.pauses.add(timer);
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
    const now = new Date().toISOString();
    const available = p.ready;
    const online = p.ready || p.pullSource !== undefined;
    const time = available ? (p.readyTime ?? now) : null;
    const onlineTime = available ? time : online ? GO_ZERO_TIME : null;
    const source = !online
      ? null
      : p.pullSource !== undefined
        ? { type: `${new URL(p.pullSource).protocol.replace(':', '')}Source`, id: '' }
        : { type: 'rtmpConn', id: `conn-${p.name}` };
    const readers = [
      ...Array.from({ length: p.readers ?? 0 }, (_, i) => ({ type: 'rtspSession', id: `r${i}` })),
      ...Array.from({ length: p.hiddenReaders ?? 0 }, () => ({ type: 'hidden', id: '' })),
    ];
    const bytesIn = available ? (p.bytesIn ?? 0) : 0;
    const bytesOut = available ? (p.bytesOut ?? 0) : 0;
    const legacy = {
      name: p.name,
      confName: p.pullSource !== undefined ? p.name : 'all_others',
      source,
      ready: available,
      readyTime: time,
      tracks: available ? ['H264', 'MPEG-4 Audio'] : [],
      bytesReceived: bytesIn,
      bytesSent: bytesOut,
      readers,
    };
    if (this.opts.legacy) return legacy;
    return {
      ...legacy,
      available,
      availableTime: time,
      online,
      onlineTime,
      tracks2: available ? [{ codec: 'H264', codecProps: { width: 320, height: 240 } }] : [],
      inboundBytes: bytesIn,
      outboundBytes: bytesOut,
      inboundFramesInError: available ? (p.framesInError ?? 0) : 0,
    };
  }

  async stop(): Promise<void> {
    for (const t of this.pauses) clearTimeout(t);
    this.pauses.clear();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
