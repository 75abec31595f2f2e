import { z } from 'zod';
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
 * Newer fields win when present; ready/readyTime/bytesReceived/bytesSent are the
 * deprecated names that older servers send alone. Unknown fields are ignored.
 */

const timestamp = z.string().nullable().optional();

const pathSchema = z.object({
  name: z.string(),
  ready: z.boolean().optional(),
  readyTime: timestamp,
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
    const publishing = p.online ?? p.ready ?? false;
    const since = p.onlineTime ?? p.readyTime;
    const sinceMs = since ? Date.parse(since) : NaN;
    return {
      app: '',
      stream: p.name,
      publishing,
      readers: p.readers?.length ?? 0,
      bytesIn: p.inboundBytes ?? p.bytesReceived ?? 0,
      bytesOut: p.outboundBytes ?? p.bytesSent ?? 0,
      uptimeSeconds: publishing && !Number.isNaN(sinceMs) ? Math.max(0, (now - sinceMs) / 1000) : undefined,
      framesInError: p.inboundFramesInError,
    };
  });
  return { pageCount: r.data.pageCount, streams };
}

export interface MediamtxOptions {
  signal: AbortSignal;
  /** The value of an Authorization header (HTTP basic auth of a user with the `api` permission). */
  authorization?: string;
  /** Paths asked for per request (MediaMTX's default is 100). */
  itemsPerPage?: number;
  /** Stop after this many pages: a server cannot keep the collector paging forever. */
  maxPages?: number;
}

/** GETs every page of {base}/v3/paths/list. Rejects with a message that says what failed. */
export async function fetchMediamtxPaths(base: string, opts: MediamtxOptions): Promise<ServerStat> {
  const itemsPerPage = opts.itemsPerPage ?? 100;
  const maxPages = opts.maxPages ?? 100;
  const streams: StreamStat[] = [];
  for (let page = 0; page < maxPages; page++) {
    const url = new URL('v3/paths/list', base.endsWith('/') ? base : `${base}/`);
    url.searchParams.set('page', String(page));
    url.searchParams.set('itemsPerPage', String(itemsPerPage));
    const res = await fetch(url, {
      signal: opts.signal,
      headers: opts.authorization ? { authorization: opts.authorization } : {},
      redirect: 'error',
    });
    const body = await res.text();
    if (res.status === 401 || res.status === 403) {
      throw new Error(
        `authentication failed (HTTP ${res.status}): check username and password_file, and that the user has the "api" permission`,
      );
    }
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText} from ${url.pathname}`.trim());
    const parsed = parsePathList(body);
    streams.push(...parsed.streams);
    if (page + 1 >= parsed.pageCount) break;
  }
  return { streams };
}
