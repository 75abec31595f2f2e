import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { DEFAULT_MAX_BODY_BYTES, FetchFailure, httpGet } from './http-get.js';
import { parseOffLoop } from './parse-off-loop.js';
import type { ServerStat, StreamStat } from './stream-stat.js';

/**
 * Source adapter for nginx-rtmp's statistics page (`rtmp_stat all;`): one HTTP GET and a
 * pure parser of its XML, tested on pages captured from the real module (fixtures/).
 *
 * The page shows only the worker that answered it: with `worker_processes` above 1 the
 * numbers are one worker's share. Its <pid> says which worker answered, so the streams
 * collector can tell (and merge what several workers showed).
 */

/** Elements that repeat; the parser otherwise turns a single one into an object. */
const REPEATED = new Set(['server', 'application', 'stream', 'client']);

const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  processEntities: true,
  isArray: (name) => REPEATED.has(name),
});

type Node = Record<string, unknown>;

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function list(v: unknown): Node[] {
  return Array.isArray(v) ? v.filter(isNode) : [];
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number') return String(v);
  return undefined;
}

function count(v: unknown, what: string): number {
  const t = text(v);
  if (t === undefined || !/^\d+$/.test(t))
    throw new Error(`expected a number in <${what}>, got ${JSON.stringify(v)}`);
  return Number(t);
}

function optionalCount(v: unknown, what: string): number | undefined {
  return v === undefined ? undefined : count(v, what);
}

/**
 * Parses the XML of nginx-rtmp's stat page. Throws an Error saying what is wrong when
 * the text is not such a page (an HTML error page, a truncated answer), so a wrong URL
 * is reported, not exported as "no streams".
 */
export function parseRtmpStat(xml: string): ServerStat {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new Error(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  }
  const doc: unknown = parser.parse(xml);
  const rtmp = isNode(doc) ? doc.rtmp : undefined;
  if (!isNode(rtmp)) throw new Error('not an nginx-rtmp stat page: no <rtmp> root element');
  const streams: StreamStat[] = [];
  const apps: string[] = [];
  for (const server of list(rtmp.server)) {
    for (const application of list(server.application)) {
      const app = text(application.name);
      if (app === undefined) throw new Error('an <application> without a <name>');
      const live = application.live;
      if (!isNode(live)) continue;
      if (!apps.includes(app)) apps.push(app);
      for (const s of list(live.stream)) {
        const stream = text(s.name);
        if (stream === undefined) throw new Error(`a <stream> without a <name> in application "${app}"`);
        const publishing = 'publishing' in s;
        const clients = list(s.client);
        // <client> elements are listed with `rtmp_stat all`; without them, nclients
        // counts the publisher too.
        const readers =
          clients.length > 0
            ? clients.filter((c) => !('publishing' in c)).length
            : Math.max(0, (optionalCount(s.nclients, 'nclients') ?? 0) - (publishing ? 1 : 0));
        const ms = optionalCount(s.time, 'time');
        streams.push({
          app,
          stream,
          publishing,
          readers,
          bytesIn: count(s.bytes_in, 'bytes_in'),
          bytesOut: count(s.bytes_out, 'bytes_out'),
          uptimeSeconds: ms === undefined ? undefined : ms / 1000,
        });
      }
    }
  }
  const pid = optionalCount(rtmp.pid, 'pid');
  return {
    uptimeSeconds: optionalCount(rtmp.uptime, 'uptime'),
    ...(pid !== undefined ? { pid } : {}),
    apps,
    streams,
  };
}

export interface FetchOptions {
  signal: AbortSignal;
  /** The value of an Authorization header, when the page is behind basic auth. */
  authorization?: string;
  /** The most bytes of the page read (collectors.streams.max_body_size). */
  maxBytes?: number;
}

/**
 * GETs the stat page and parses it. Rejects with a FetchFailure saying what failed and
 * why (auth, status, too_large, invalid), or with the socket error.
 */
export async function fetchRtmpStat(url: string, opts: FetchOptions): Promise<ServerStat> {
  const res = await httpGet(url, {
    signal: opts.signal,
    maxBytes: opts.maxBytes ?? DEFAULT_MAX_BODY_BYTES,
    headers: opts.authorization ? { authorization: opts.authorization } : {},
  });
  if (res.status === 401 || res.status === 403) {
    throw new FetchFailure('auth', `authentication failed (HTTP ${res.status})`);
  }
  if (res.status < 200 || res.status > 299)
    throw new FetchFailure('status', `HTTP ${res.status} ${res.statusText}`.trim());
  try {
    return await parseOffLoop('nginx-rtmp', res.body, opts.signal, parseRtmpStat);
  } catch (err) {
    if (opts.signal.aborted) throw err;
    throw new FetchFailure('invalid', (err as Error).message);
  }
}
