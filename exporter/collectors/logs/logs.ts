import { performance } from 'node:perf_hooks';
import type { Config } from '../../../config/schema.js';
import type { Logger } from '../../../internal/log.js';
import { deadline } from '../../../internal/timeout.js';
import { Snapshot, type Collector, type CollectorDeps } from '../../collector.js';
import { ContainerLogFollower } from '../../sources/docker-logs.js';
import { DockerSource } from '../../sources/docker.js';
import { FileFollower } from '../../sources/file-follower.js';
import { CODE_CLASSES, matcherFor } from '../../sources/log-formats.js';
import { SourceCounts } from './log-counts.js';
import * as m from './metrics.js';
import { FAMILIES } from './metrics.js';

/**
 * Log-derived metrics: authentication attempts by result, failures by client, HTTP
 * answers by status class, from files (followed like `tail -F`) and container logs.
 *
 * Reading and matching happen continuously in the background (followers in
 * exporter/sources/), into plain counters held here; a run of the collector only
 * publishes them. Client addresses are outside input, so the clients of each source
 * are kept in an LRU of at most `max_clients`: a flood of random addresses evicts the
 * least recently seen ones (counted) instead of growing the series count.
 *
 * When a source has caught up with a burst of new lines, the collector asks the runner
 * for a run at once (setRefresh), so /metrics shows a burst of failures within moments
 * rather than after up to one interval; such runs are at most one per REFRESH_GAP_MS, or
 * one per REFRESH_BYTES read, so a busy log adds few runs to those of the interval.
 */

export { SourceCounts } from './log-counts.js';

type LogsConfig = Config['collectors']['logs'];
type SourceConfig = LogsConfig['sources'][number];

interface Follower {
  /** Starts following; a file follower's promise settles once the file is positioned. */
  start(): void | Promise<void>;
  close(): Promise<void>;
}

interface Source {
  config: SourceConfig;
  counts: SourceCounts;
  follower: Follower;
}

/** The least time between two runs asked for because a source caught up with new lines... */
export const REFRESH_GAP_MS = 1000;
/**
 * ...unless this many bytes were read since the last run asked for: a run costs far less
 * than reading a MiB of log (about 7 ms of CPU), so a burst is shown as soon as it is read
 * and a busy log still adds at most one run per MiB.
 */
export const REFRESH_BYTES = 1024 * 1024;

export interface LogsCollectorOptions {
  /** Replaces the Docker adapter (tests). */
  docker?: DockerSource;
  /** Milliseconds between checks of each followed file (default 250). */
  pollMs?: number;
  /** The least time between two runs asked for (default REFRESH_GAP_MS; tests). */
  refreshGapMs?: number;
}

export class LogsCollector implements Collector {
  readonly name = 'logs';
  readonly families = FAMILIES;
  /** It asks for runs at most once per REFRESH_GAP_MS or REFRESH_BYTES: no need to wait for more. */
  readonly refreshCoalesceMs = 0;

  private readonly log: Logger;
  private readonly sources: Source[] = [];
  private started = false;
  private docker: DockerSource | undefined;
  private requestRefresh: (() => void) | undefined;
  /** performance.now() of the last refresh asked for, and the one waiting for the gap to pass. */
  private lastRefreshAt = -Infinity;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Bytes the sources read since the last refresh asked for. */
  private bytesSinceRefresh = 0;
  private readonly refreshGapMs: number;
  private readonly timeoutMs: number;

  constructor({ config, log }: CollectorDeps, opts: LogsCollectorOptions = {}) {
    this.log = log.child({ collector: this.name });
    this.refreshGapMs = opts.refreshGapMs ?? REFRESH_GAP_MS;
    const settings = config.collectors.logs;
    this.timeoutMs = settings.timeout;
    const dockerEndpoint = config.collectors.containers.endpoint;
    for (const config of settings.sources) {
      const counts = new SourceCounts(matcherFor(config), settings.max_clients);
      const events = counts.events((err) =>
        this.log.warn('log source read failed', { source: config.name, error: err.message }),
      );
      events.caughtUp = (bytes) => this.caughtUp(bytes);
      let follower: Follower;
      if (config.file !== undefined) {
        follower = new FileFollower(config.file, events, {
          maxLineBytes: settings.max_line_bytes,
          pollMs: opts.pollMs,
          symlinkOutsideFolder: config.symlink_outside_folder,
        });
      } else {
        // Container sources use the Docker endpoint of collectors.containers.
        this.docker ??= opts.docker ?? new DockerSource(dockerEndpoint);
        follower = new ContainerLogFollower(
          this.docker,
          {
            name: config.container,
            composeService: config.compose_service,
            composeProject: config.compose_project,
          },
          events,
          { maxLineBytes: settings.max_line_bytes },
        );
      }
      this.sources.push({ config, counts, follower });
    }
  }

  /** The runner's hook: a source that caught up with new lines asks for a run without waiting for the interval. */
  setRefresh(request: () => void): void {
    this.requestRefresh = request;
  }

  /**
   * A source read new lines up to the end of what there is: ask for a run, at most one per
   * REFRESH_GAP_MS, or at once when REFRESH_BYTES were read since the last one.
   */
  private caughtUp(bytes: number): void {
    if (this.requestRefresh === undefined) return;
    this.bytesSinceRefresh += bytes;
    const wait =
      this.bytesSinceRefresh >= REFRESH_BYTES
        ? 0
        : this.lastRefreshAt + this.refreshGapMs - performance.now();
    if (wait <= 0) {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = undefined;
      this.refresh();
      return;
    }
    if (this.refreshTimer !== undefined) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.refresh();
    }, wait);
    this.refreshTimer.unref();
  }

  private refresh(): void {
    this.lastRefreshAt = performance.now();
    this.bytesSinceRefresh = 0;
    this.requestRefresh?.();
  }

  /** For tests and the status page: the running totals of a source. */
  counts(source: string): SourceCounts | undefined {
    return this.sources.find((s) => s.config.name === source)?.counts;
  }

  async collect(signal?: AbortSignal): Promise<Snapshot> {
    if (!this.started) {
      this.started = true;
      // The first run (and so /-/ready) waits until each file is open and positioned: a
      // file found with content is followed from its end, so lines written between a
      // "ready" and a later first open would be taken for old ones and never counted. A
      // file whose first check hangs (a dead network mount) is waited for at most half
      // the collector's timeout, then followed when it answers.
      const firsts = this.sources.map((s) => s.follower.start());
      await deadline(Promise.all(firsts), this.timeoutMs / 2, signal);
    }
    return this.snapshot();
  }

  /** The running totals of every source, as counters (the follower's totals never go down). */
  private snapshot(): Snapshot {
    const snap = new Snapshot();
    for (const { config, counts: c } of this.sources) {
      const source = config.name;
      snap.add(m.authAttempts, { source, result: 'failure' }, c.authFailure);
      snap.add(m.authAttempts, { source, result: 'success' }, c.authSuccess);
      if (config.format === 'nginx') {
        for (const cc of CODE_CLASSES) snap.add(m.httpResponses, { source, code_class: cc }, c.http[cc]);
      }
      // An evicted client is no longer in `clients`, so its series goes with it.
      for (const [client, count] of c.clients()) snap.add(m.failuresByClient, { source, client }, count);
      snap.add(m.clientsEvicted, { source }, c.evictions);
      snap.add(m.lines, { source }, c.lines);
      snap.add(m.bytes, { source }, c.bytes);
      snap.add(m.truncated, { source }, c.truncated);
      snap.add(m.readErrors, { source }, c.readErrors);
      snap.add(m.parseErrors, { source }, c.parseErrors);
      snap.add(m.up, { source }, c.up ? 1 : 0);
    }
    return snap;
  }

  async close(): Promise<void> {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    this.requestRefresh = undefined;
    await Promise.all(this.sources.map((s) => s.follower.close()));
  }
}
