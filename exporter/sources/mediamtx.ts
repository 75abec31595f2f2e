import { z } from 'zod';
import { DEFAULT_MAX_BODY_BYTES, FetchFailure, httpGet } from './http-get.js';
import { parseOffLoop } from './parse-off-loop.js';
import type { ServerStat, StreamStat } from './stream-stat.js';

/**
 * Source adapter for MediaMTX's control API, version 3 (`api: yes`, port 9997 by
 * default): GET /v3/paths/list, page by page, and a pure parser of each page.
 *
 * The fields read are those of `APIPath` / `APIPathList` in MediaMTX's
 * internal/defs/api_path.go (and apidocs/openapi.yaml):
 *   PathList { itemCount, pageCount, items: Path[] }
 *   Path { name, confName, source: {type, id} | null, ready, readyTime (RFC 3339 | null),
 *          tracks, readers: [{type, id}], bytesReceived, bytesSent,
 *          inboundBytes, outboundBytes, inboundFramesInError,            (v1.15 and later)
 *          available, availableTime, online, onlineTime }                (v1.17 and later)
 *
 * What they mean comes from internal/core/path.go, which fills them:
 * - `online` is `source != nil`: a source is attached. A path with a configured pull
 *   source (`source: rtsp://camera/...`) has one from the start, whether the camera
 *   answers or not; a publisher path has one while a publisher is connected.
 * - `available` (and the deprecated `ready`, its copy) is `stream != nil`: media is
 *   flowing. With `alwaysAvailable`, the stream exists (an offline placeholder) with no
 *   source at all.
 * - `onlineTime` is set when media starts (or, with alwaysAvailable, when the source
 *   connects); for a pull source that never delivered media it is Go's zero time,
 *   "0001-01-01T00:00:00Z", which means "never", not a time.
 * - readers of type `hidden` (and `keepalive`) are MediaMTX's own: the HLS muxer,
 *   forwarding and push targets, delay hubs, snapshots. They are not clients.
 * So a stream is publishing when media is flowing from an attached source:
 * `available && online` (`ready` alone on servers older than v1.17). A dead camera
 * behind a pull source is `online: true, available: false`: not publishing.
 * Newer byte fields win when present; unknown fields are ignored.
 */

const timestamp = z.string().nullable().optional();

const pathSchema = z.object({
  name: z.string(),
  ready: z.boolean().optional(),
  readyTime: timestamp,
  available: z.boolean().optional(),
  availableTime: timestamp,
  online: z.boolean().optional(),
  onlineTime: timestamp,
  readers: z.array(z.unknown()).nullable().optional(),
  bytesReceived: z.number().nonnegative().optional(),
  bytesSent: z.number().nonnegative().optional(),
  inboundBytes: z.number().nonnegative().optional(),
  outboundBytes: z.number().nonnegative().optional(),
  inboundFramesInError: z.number().nonnegative().optional(),
});

const pageSchema = z.object({
  itemCount: z.number().int().nonnegative().optional(),
  pageCount: z.number().int().nonnegative(),
  items: z.array(pathSchema).nullable(),
});

/** Reader types that are MediaMTX's own components, not clients (internal/defs/api_path.go). */
const INTERNAL_READERS = new Set(['hidden', 'keepalive']);

/** A time MediaMTX reports, in ms; undefined for null, garbage and Go's zero time ("0001-01-01T00:00:00Z"). */
export function mediamtxTime(t: string | null | undefined): number | undefined {
  if (!t || t.startsWith('0001-01-01')) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

function clientReaders(readers: readonly unknown[] | null | undefined): number {
  let n = 0;
  for (const r of readers ?? []) {
    const type = r !== null && typeof r === 'object' ? (r as { type?: unknown }).type : undefined;
    if (typeof type === 'string' && INTERNAL_READERS.has(type)) continue;
    n++;
  }
  return n;
}

export interface PathPage {
  pageCount: number;
  streams: StreamStat[];
}

/**
 * Parses one page of /v3/paths/list. `now` (ms) gives the streams' uptime from the
 * time they came online. Throws an Error saying what is wrong when the body is not
 * such a page.
 */
export function parsePathList(body: string, now = Date.now()): PathPage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new Error(`not JSON: ${JSON.stringify(body.slice(0, 80))}`);
  }
  const r = pageSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`not a MediaMTX path list: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const streams = (r.data.items ?? []).map((p): StreamStat => {
    const publishing = p.available !== undefined ? p.available && (p.online ?? true) : (p.ready ?? false);
    // Since media started: onlineTime (with alwaysAvailable, when the source connected),
    // else availableTime / readyTime; a zero time is no time.
    const sinceMs = mediamtxTime(p.onlineTime) ?? mediamtxTime(p.availableTime) ?? mediamtxTime(p.readyTime);
    return {
      app: '',
      stream: p.name,
      publishing,
      readers: clientReaders(p.readers),
      bytesIn: p.inboundBytes ?? p.bytesReceived ?? 0,
      bytesOut: p.outboundBytes ?? p.bytesSent ?? 0,
      uptimeSeconds: publishing && sinceMs !== undefined ? Math.max(0, (now - sinceMs) / 1000) : undefined,
      framesInError: p.inboundFramesInError,
    };
  });
  return { pageCount: r.data.pageCount, streams };
}

export interface MediamtxOptions {
  signal: AbortSignal;
  /** The value of an Authorization header (HTTP basic auth of a user with the `api` permission). */
  authorization?: string;
  /** The most bytes read, all pages together (collectors.streams.max_body_size). */
  maxBytes?: number;
  /** Paths asked for per request (MediaMTX's default is 100). */
  itemsPerPage?: number;
  /** Stop after this many pages: a server cannot keep the collector paging forever. */
  maxPages?: number;
}

/**
 * GETs every page of {base}/v3/paths/list. Rejects with a FetchFailure saying what failed
 * and why (auth, status, too_large, invalid), or with the socket error.
 */
export async function fetchMediamtxPaths(base: string, opts: MediamtxOptions): Promise<ServerStat> {
  const itemsPerPage = opts.itemsPerPage ?? 100;
  const maxPages = opts.maxPages ?? 100;
  const streams: StreamStat[] = [];
  let budget = opts.maxBytes ?? DEFAULT_MAX_BODY_BYTES;
  for (let page = 0; page < maxPages; page++) {
    const url = new URL('v3/paths/list', base.endsWith('/') ? base : `${base}/`);
    url.searchParams.set('page', String(page));
    url.searchParams.set('itemsPerPage', String(itemsPerPage));
    const res = await httpGet(url, {
      signal: opts.signal,
      maxBytes: budget,
      headers: opts.authorization ? { authorization: opts.authorization } : {},
    });
    budget -= Buffer.byteLength(res.body);
    if (res.status === 401 || res.status === 403) {
      throw new FetchFailure(
        'auth',
        `authentication failed (HTTP ${res.status}): check username and password_file, and that the user has the "api" permission`,
      );
    }
    if (res.status < 200 || res.status > 299)
      throw new FetchFailure('status', `HTTP ${res.status} ${res.statusText} from ${url.pathname}`.trim());
    let parsed: PathPage;
    try {
      parsed = await parseOffLoop('mediamtx', res.body, opts.signal, (body) => parsePathList(body));
    } catch (err) {
      if (opts.signal.aborted) throw err;
      throw new FetchFailure('invalid', (err as Error).message);
    }
    streams.push(...parsed.streams);
    if (page + 1 >= parsed.pageCount) break;
  }
  return { streams };
}
