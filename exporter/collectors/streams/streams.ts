import type { Config } from '../../../config/schema.js';
import type { Logger } from '../../../internal/log.js';
import { timeoutSignal, TimeoutError } from '../../../internal/timeout.js';
import { ChangeLog, errorMessage, Snapshot, type Collector, type CollectorDeps } from '../../collector.js';
import { fetchMediamtxPaths } from '../../sources/mediamtx.js';
import { fetchRtmpStat } from '../../sources/nginx-rtmp.js';
import { FetchFailure, type FetchFailureReason } from '../../sources/http-get.js';
import { stopParseWorker } from '../../sources/parse-off-loop.js';
import { classifyError } from '../../sources/probes.js';
import type { ServerStat, StreamStat } from '../../sources/stream-stat.js';
import * as m from './metrics.js';
import { FAMILIES } from './metrics.js';

/**
 * Streams of nginx-rtmp and MediaMTX servers, in one family set for both kinds so that
 * one alert rule covers both. A server whose stat page or API does not answer is
 * visible as watchpost_stream_server_up 0 (the nginx-rtmp exporters this follows go
 * silent instead), and never fails the other servers or the collector.
 */

type StreamServer = Config['collectors']['streams']['servers'][number];

/** Stream names are chosen by publishers: at most this many stream series per server. */
export const MAX_STREAM_SERIES = 500;

export interface ServerResult {
  server: StreamServer;
  durationSeconds: number;
  stat?: ServerStat;
  error?: string;
  /** Why the fetch failed, from a fixed set (FETCH_FAILURE_REASONS). */
  reason?: FetchFailureReason;
  /** nginx-rtmp: distinct worker processes (<pid>) seen within WORKER_WINDOW_MS. */
  workersSeen?: number;
}

/** The bounded reason of a failed fetch: known where it failed, else from the socket error. */
export function failureReason(err: unknown, timedOut: boolean): FetchFailureReason {
  if (timedOut) return 'timeout';
  if (err instanceof FetchFailure) return err.reason;
  const cause = err instanceof Error && err.message === 'fetch failed' ? err.cause : err;
  if ((cause as NodeJS.ErrnoException | undefined)?.code) {
    const r = classifyError(cause);
    return r === 'body' ? 'invalid' : r;
  }
  return 'invalid';
}

/**
 * nginx-rtmp with several workers: how long what one worker's stat page showed is kept
 * and merged with the others'. A stream that stops on a worker no fetch reaches again
 * reads as publishing for at most this long.
 */
export const WORKER_WINDOW_MS = 5 * 60_000;
/** Stat pages fetched at once from a multi-worker server, each on its own connection, to reach every worker. */
const MAX_PARALLEL_STAT_FETCHES = 8;

/**
 * One view of a multi-worker nginx-rtmp from the last page of each worker: a stream
 * publishes when a worker shows its publisher (each stream lives on the worker its
 * publisher connected to); readers are added up, bytes and uptime come from the worker
 * that has the publisher.
 */
export function mergeWorkerStats(stats: readonly ServerStat[]): ServerStat {
  const byKey = new Map<string, StreamStat>();
  const apps: string[] = [];
  let uptimeSeconds: number | undefined;
  for (const stat of stats) {
    for (const app of stat.apps ?? []) if (!apps.includes(app)) apps.push(app);
    if (stat.uptimeSeconds !== undefined) uptimeSeconds = Math.max(uptimeSeconds ?? 0, stat.uptimeSeconds);
    for (const s of stat.streams) {
      const k = streamKey(s.app, s.stream);
      const prev = byKey.get(k);
      if (!prev) {
        byKey.set(k, { ...s });
        continue;
      }
      const readers = prev.readers + s.readers;
      byKey.set(k, s.publishing && !prev.publishing ? { ...s, readers } : { ...prev, readers });
    }
  }
  return { ...(uptimeSeconds !== undefined ? { uptimeSeconds } : {}), apps, streams: [...byKey.values()] };
}

export interface StreamsCollectorOptions {
  /** Replaces the per-kind fetchers, for tests. */
  fetchers?: Partial<Record<StreamServer['kind'], Fetcher>>;
  maxStreamSeries?: number;
  /** Clock in ms (tests of the worker window). */
  now?: () => number;
}

type Fetcher = (
  url: string,
  opts: { signal: AbortSignal; authorization?: string; maxBytes: number },
) => Promise<ServerStat>;

const FETCHERS: Record<StreamServer['kind'], Fetcher> = {
  'nginx-rtmp': fetchRtmpStat,
  mediamtx: fetchMediamtxPaths,
};

/**
 * The streams to export for one server, at most `cap`: expected streams first, then
 * publishing ones, then by name, so a flood of names cannot push out the ones alerts
 * are about. Returns the kept streams and how many were dropped.
 */
export function capStreams(
  streams: readonly StreamStat[],
  expected: ReadonlySet<string>,
  cap: number,
): { kept: StreamStat[]; dropped: number } {
  const seen = new Set<string>();
  const unique = streams.filter((s) => {
    const k = streamKey(s.app, s.stream);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  if (unique.length <= cap) return { kept: unique, dropped: 0 };
  const rank = (s: StreamStat) => (expected.has(streamKey(s.app, s.stream)) ? 0 : s.publishing ? 1 : 2);
  const sorted = [...unique].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (a.app < b.app ? -1 : a.app > b.app ? 1 : 0) ||
      (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0),
  );
  return { kept: sorted.slice(0, cap), dropped: unique.length - cap };
}

function streamKey(app: string, stream: string): string {
  return `${app}\u0000${stream}`;
}

/** undici says only "fetch failed"; the reason (ECONNREFUSED, a DNS error) is its cause. */
export function describeFetchError(err: unknown): string {
  if (err instanceof Error && err.message === 'fetch failed' && err.cause instanceof Error) {
    const code = (err.cause as NodeJS.ErrnoException).code;
    return `fetch failed: ${err.cause.message}${code && !err.cause.message.includes(code) ? ` (${code})` : ''}`;
  }
  return errorMessage(err);
}

export class StreamsCollector implements Collector {
  readonly name = 'streams';
  readonly families = FAMILIES;

  private readonly log: Logger;
  private readonly servers: readonly StreamServer[];
  private readonly expected: Config['collectors']['streams']['expected'];
  private readonly expectedByServer = new Map<string, Set<string>>();
  /** Each server gets less than the collector's timeout, so one hung server is reported as down, not the whole run failed. */
  private readonly serverTimeout: number;
  private readonly fetchers: Record<StreamServer['kind'], Fetcher>;
  private readonly cap: number;
  private readonly maxBytes: number;
  /** A lasting failure of a server is logged once per change, and its recovery once. */
  private readonly failing: ChangeLog;
  /** nginx-rtmp: the last stat page of each worker (by <pid>) per server, and when it was read. */
  private readonly workers = new Map<string, Map<number, { stat: ServerStat; at: number }>>();
  /** Servers seen with several workers in the last run, for the status page. */
  private partial: { server: string; workers: number }[] = [];
  private readonly now: () => number;

  constructor(deps: CollectorDeps, opts: StreamsCollectorOptions = {}) {
    const cfg = deps.config.collectors.streams;
    this.log = deps.log.child({ collector: 'streams' });
    this.failing = new ChangeLog(
      (server, err) => this.log.warn('cannot read stream server statistics', { server, err }),
      (server) => this.log.info('stream server answers again', { server }),
    );
    this.servers = cfg.servers;
    this.expected = cfg.expected;
    for (const e of cfg.expected) {
      let set = this.expectedByServer.get(e.server);
      if (!set) this.expectedByServer.set(e.server, (set = new Set()));
      set.add(streamKey(e.app, e.stream));
    }
    this.serverTimeout = Math.max(1, Math.floor(cfg.timeout * 0.8));
    this.fetchers = { ...FETCHERS, ...opts.fetchers };
    this.cap = opts.maxStreamSeries ?? MAX_STREAM_SERIES;
    this.maxBytes = cfg.max_body_size;
    this.now = opts.now ?? Date.now;
  }

  /** For the status page: servers whose statistics are partial. */
  notes(): string[] {
    return this.partial.map(
      ({ server, workers }) =>
        `nginx-rtmp server "${server}": multi-worker nginx-rtmp: stats are partial (${workers} worker processes seen in the last 5 minutes; each stat page shows one worker, so streams are merged from the pages of each). Run nginx-rtmp with worker_processes 1.`,
    );
  }

  async collect(signal: AbortSignal): Promise<Snapshot> {
    signal.throwIfAborted();
    const results = await Promise.all(this.servers.map((s) => this.fetchServer(s, signal)));
    signal.throwIfAborted();
    return this.snapshot(results);
  }

  private async fetchServer(server: StreamServer, signal: AbortSignal): Promise<ServerResult> {
    const started = performance.now();
    const timeout = timeoutSignal(
      this.serverTimeout,
      signal,
      new TimeoutError(this.serverTimeout, `no answer within ${this.serverTimeout}ms`),
    );
    const both = timeout.signal;
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const fetchOnce = () =>
        this.fetchers[server.kind](server.url, {
          signal: both,
          authorization: authorization(server),
          maxBytes: this.maxBytes,
        });
      let stat: ServerStat;
      let workersSeen: number | undefined;
      if (server.kind === 'nginx-rtmp') {
        ({ stat, workersSeen } = await this.fetchRtmpWorkers(server.name, fetchOnce));
      } else {
        stat = await fetchOnce();
      }
      this.failing.ok(server.name);
      return {
        server,
        durationSeconds: seconds(),
        stat,
        ...(workersSeen !== undefined ? { workersSeen } : {}),
      };
    } catch (err) {
      if (signal.aborted) throw err;
      const why = timeout.timedOut ? errorMessage(timeout.signal.reason) : describeFetchError(err);
      const reason = failureReason(err, timeout.timedOut);
      const error = `${server.kind} server "${server.name}": ${why}`;
      this.failing.fail(server.name, error);
      return { server, durationSeconds: seconds(), error, reason };
    } finally {
      timeout.clear();
    }
  }

  /** Stops the thread that parses large answers. */
  async close(): Promise<void> {
    await stopParseWorker();
  }

  /**
   * nginx-rtmp: one stat page, or, once several workers have been seen, several pages at
   * once (each on its own connection, so they reach different workers), merged with the
   * last page of each worker seen within WORKER_WINDOW_MS.
   */
  private async fetchRtmpWorkers(
    name: string,
    fetchOnce: () => Promise<ServerStat>,
  ): Promise<{ stat: ServerStat; workersSeen: number }> {
    let seen = this.workers.get(name);
    if (!seen) this.workers.set(name, (seen = new Map()));
    const now = this.now();
    for (const [pid, w] of seen) if (now - w.at > WORKER_WINDOW_MS) seen.delete(pid);
    const parallel = seen.size > 1 ? Math.min(MAX_PARALLEL_STAT_FETCHES, seen.size * 2) : 1;
    const settled = await Promise.allSettled(Array.from({ length: parallel }, fetchOnce));
    const pages = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (pages.length === 0) throw (settled[0] as PromiseRejectedResult).reason;
    for (const page of pages) {
      if (page.pid === undefined) return { stat: page, workersSeen: 1 };
      seen.set(page.pid, { stat: page, at: now });
    }
    if (seen.size <= 1) return { stat: pages[0]!, workersSeen: 1 };
    return { stat: mergeWorkerStats([...seen.values()].map((w) => w.stat)), workersSeen: seen.size };
  }

  private snapshot(results: ServerResult[]): Snapshot {
    const snap = new Snapshot();
    const partial: { server: string; workers: number }[] = [];

    for (const e of this.expected)
      snap.add(m.streamExpected, { server: e.server, app: e.app, stream: e.stream }, 1);

    for (const { server, durationSeconds, stat, reason, workersSeen } of results) {
      const name = server.name;
      snap.add(m.serverUp, { server: name, kind: server.kind }, stat ? 1 : 0);
      if (!stat && reason) snap.add(m.failureReason, { server: name, reason }, 1);
      snap.add(m.fetchDuration, { server: name }, durationSeconds);
      if (server.max_streams !== undefined) snap.add(m.maxPublishing, { server: name }, server.max_streams);
      if (!stat) continue;
      if (stat.uptimeSeconds !== undefined) snap.add(m.serverUptime, { server: name }, stat.uptimeSeconds);
      if (workersSeen !== undefined) {
        snap.add(m.workersSeen, { server: name }, workersSeen);
        if (workersSeen > 1) partial.push({ server: name, workers: workersSeen });
      }

      // Every application the server lists has a count, 0 when nothing publishes in it.
      const perApp = new Map<string, number>(
        (stat.apps ?? (server.kind === 'mediamtx' ? [''] : [])).map((a) => [a, 0]),
      );
      for (const s of stat.streams) perApp.set(s.app, (perApp.get(s.app) ?? 0) + (s.publishing ? 1 : 0));
      for (const [app, n] of perApp) {
        snap.add(m.appPublishing, { server: name, app }, n);
        snap.add(m.appPublishingDeprecated, { server: name, app }, n);
      }

      const { kept, dropped } = capStreams(
        stat.streams,
        this.expectedByServer.get(name) ?? new Set(),
        this.cap,
      );
      snap.add(m.seriesDropped, { server: name }, dropped);
      for (const s of kept) {
        const labels = { server: name, app: s.app, stream: s.stream };
        snap.add(m.publishing, labels, s.publishing ? 1 : 0);
        snap.add(m.readers, labels, s.readers);
        // Counters from the absolute totals the server keeps for the stream.
        snap.add(m.bytesIn, labels, s.bytesIn);
        snap.add(m.bytesOut, labels, s.bytesOut);
        if (s.uptimeSeconds !== undefined) snap.add(m.streamUptime, labels, s.uptimeSeconds);
        if (s.framesInError !== undefined) snap.add(m.framesInError, labels, s.framesInError);
      }
    }
    return snap.onAccept(() => (this.partial = partial));
  }
}

/** HTTP basic auth from `username` and `password_file`; the password never leaves this header. */
function authorization(server: StreamServer): string | undefined {
  if (server.username === undefined && server.password_file === undefined) return undefined;
  const pass = server.password_file?.reveal() ?? '';
  return `Basic ${Buffer.from(`${server.username ?? ''}:${pass}`).toString('base64')}`;
}
