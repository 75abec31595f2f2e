import { setMaxListeners } from 'node:events';
import type { Config } from '../../../config/schema.js';
import type { Logger } from '../../../internal/log.js';
import { timeoutSignal } from '../../../internal/timeout.js';
import { ChangeLog, errorMessage, Snapshot, type Collector, type CollectorDeps } from '../../collector.js';

/** The one key of the Docker outage's ChangeLog. */
const DOCKER = 'docker';
import {
  cgroupVersion,
  locateContainerCgroup,
  readCgroupFiles,
  type CgroupFiles,
  type CgroupStats,
} from '../../sources/cgroup.js';
import {
  CONTAINER_STATES,
  DockerSource,
  EventWatcher,
  HEALTH_STATUSES,
  type ContainerInfo,
  type DockerEvent,
} from '../../sources/docker.js';
import type { Labels } from '../../metric-families.js';
import * as m from './metrics.js';
import { FAMILIES } from './metrics.js';

/**
 * Container state, health, restarts, exit codes, CPU and memory of every container (in
 * all states, unlike cAdvisor), plus the containers the user expects.
 *
 * Docker is asked as little as possible (https://docs.docker.com/reference/api/engine/):
 * - state is kept in memory and updated from the events stream: a run inspects only the
 *   containers that had an event since the last run; a full list + inspect happens at
 *   start, every `resync_interval`, and after the events stream reconnects (events may
 *   have been missed), or on every run while the stream is down;
 * - CPU and memory come from the cgroup files (`stats: cgroup`) or from the stats API
 *   polled in the background (`stats: api`), never from a scrape.
 */

type ContainersConfig = Config['collectors']['containers'];
type Expected = ContainersConfig['expected'][number];

/** Actions exported by name in watchpost_container_events_total; any other is "other". */
export const EVENT_ACTIONS = [
  'create',
  'start',
  'restart',
  'stop',
  'kill',
  'die',
  'oom',
  'pause',
  'unpause',
  'destroy',
  'rename',
  'update',
  'health_status',
  'exec_create',
  'exec_start',
  'exec_die',
  'attach',
  'detach',
  'resize',
  'commit',
  'copy',
  'export',
  'top',
  'archive-path',
  'extract-to-dir',
] as const;
const KNOWN_ACTIONS = new Set<string>(EVENT_ACTIONS);

/**
 * Actions after which what inspect returns may have changed. Exec, attach, resize...
 * (a healthcheck runs an exec every interval) change nothing the collector keeps.
 */
const STATE_ACTIONS = new Set([
  'create',
  'start',
  'restart',
  'stop',
  'kill',
  'die',
  'oom',
  'pause',
  'unpause',
  'rename',
  'update',
  'health_status',
]);

/** Inspect and stats calls in flight at once. */
const CONCURRENCY = 16;

type ContainerLabels = Labels<(typeof m.running.labelNames)[number]>;
type ExpectedLabels = Labels<(typeof m.expected.labelNames)[number]>;

export interface ContainersCollectorOptions {
  /** Replaces the Docker adapter (tests count its calls). */
  source?: DockerSource;
}

/** Whether a container matches an expected entry: every field the entry sets is equal. */
export function matchesExpected(c: ContainerInfo, e: Expected): boolean {
  return (
    (e.name === undefined || e.name === c.name) &&
    (e.compose_project === undefined || e.compose_project === c.composeProject) &&
    (e.compose_service === undefined || e.compose_service === c.composeService)
  );
}

/** Runs `fn` on every item, at most `limit` at a time. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Why Docker could not be reached, as exported in watchpost_docker_down_reason. */
export const DOCKER_DOWN_REASONS = [
  'no_socket',
  'permission_denied',
  'refused',
  'timeout',
  'api_error',
  'other',
] as const;
export type DockerDownReason = (typeof DOCKER_DOWN_REASONS)[number];

/** The bounded reason for a failed Docker call (the error's cause carries the socket's errno). */
export function dockerDownReason(err: unknown): DockerDownReason {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const x = e as Error & { code?: unknown; statusCode?: unknown };
    if (x.name === 'AbortError' || x.name === 'TimeoutError' || x.code === 'ETIMEDOUT') return 'timeout';
    if (x.code === 'ENOENT') return 'no_socket';
    if (x.code === 'EACCES' || x.code === 'EPERM') return 'permission_denied';
    if (x.code === 'ECONNREFUSED' || x.code === 'ECONNRESET' || x.code === 'EPIPE') return 'refused';
    if (typeof x.statusCode === 'number' && x.statusCode >= 400) return 'api_error';
  }
  return 'other';
}

export class ContainersCollector implements Collector {
  readonly name = 'containers';
  readonly families = FAMILIES;
  readonly source: DockerSource;

  private readonly log: Logger;
  private readonly settings: ContainersConfig;
  private readonly sysfs: string;
  private readonly watcher: EventWatcher;

  /** Every container Docker has, by id, as last inspected. */
  private readonly containers = new Map<string, ContainerInfo>();
  /** Containers with an event since they were last inspected. */
  private readonly dirty = new Set<string>();
  /** Whether the events stream is connected (undefined before the first attempt ends). */
  private eventsUp: boolean | undefined;
  /** True until a full list + inspect has run since the events stream (re)connected. */
  private needResync = true;
  private lastResync = 0;
  private readonly eventCounts = new Map<string, number>();
  /** `oom` events per container id since the exporter started (Docker clears OOMKilled on restart). */
  private readonly oomCounts = new Map<string, number>();
  /** Called when an event changed what /metrics should say (the scheduler runs the collector soon). */
  private requestRefresh: (() => void) | undefined;
  private cgroup: 1 | 2 | undefined;
  /** Where each running container's cgroup files are, found once. */
  private readonly cgroupFiles = new Map<string, CgroupFiles>();

  /** stats: api: the last answers of the background poller, by id. */
  private readonly apiStats = new Map<string, CgroupStats>();
  private apiTimer: NodeJS.Timeout | undefined;
  private apiPolling: Promise<void> | undefined;
  private closed = false;
  /** Docker's outage, logged once per change of its error and its end once; its message is the status page's note. */
  private readonly down: ChangeLog<DockerDownReason>;

  constructor({ config, log }: CollectorDeps, opts: ContainersCollectorOptions = {}) {
    this.settings = config.collectors.containers;
    this.sysfs = config.paths.sysfs;
    this.log = log.child({ collector: this.name });
    this.down = new ChangeLog<DockerDownReason>(
      (_, error, reason) => this.log.warn('Docker unreachable', { reason, error }),
      () => this.log.info('Docker reachable again', { endpoint: this.settings.endpoint }),
    );
    this.source = opts.source ?? new DockerSource(this.settings.endpoint);
    this.watcher = new EventWatcher(
      this.source,
      {
        onEvent: (ev) => this.onEvent(ev),
        onConnect: () => {
          this.log.info('Docker events stream connected', { endpoint: this.settings.endpoint });
          this.eventsUp = true;
          this.needResync = true;
        },
        onDisconnect: (err) => {
          // Said once when the stream is lost (or cannot be had at start); the attempts to
          // get it back, every 30 s at most while dockerd is down, only at debug.
          if (this.eventsUp !== false)
            this.log.warn('Docker events stream lost; reconnecting', { error: err.message });
          else this.log.debug('Docker events stream: reconnect failed', { error: err.message });
          this.eventsUp = false;
          this.needResync = true;
          // Dockerd went away: say so now, not at the next interval.
          this.requestRefresh?.();
        },
      },
      30_000,
      this.settings.label_filter,
    );
  }

  /** For the status page: why Docker cannot be reached, while it cannot (the run itself succeeds). */
  notes(): string[] {
    const down = this.down.message(DOCKER);
    return down === undefined ? [] : [`Docker unreachable: ${down}`];
  }

  /** The scheduler's hook: Docker events re-render the exposition without waiting for the interval. */
  setRefresh(request: () => void): void {
    this.requestRefresh = request;
  }

  private onEvent(ev: DockerEvent): void {
    const action = KNOWN_ACTIONS.has(ev.action) ? ev.action : 'other';
    this.eventCounts.set(action, (this.eventCounts.get(action) ?? 0) + 1);
    if (ev.action === 'oom') this.oomCounts.set(ev.id, (this.oomCounts.get(ev.id) ?? 0) + 1);
    if (ev.action === 'destroy') {
      this.dirty.delete(ev.id);
      this.containers.delete(ev.id);
      this.apiStats.delete(ev.id);
      this.oomCounts.delete(ev.id);
      this.requestRefresh?.();
    } else if (STATE_ACTIONS.has(ev.action)) {
      this.dirty.add(ev.id);
      this.requestRefresh?.();
    }
  }

  async collect(signal: AbortSignal): Promise<Snapshot> {
    signal.throwIfAborted();
    if (this.closed) throw new Error('collector closed');
    // Up to CONCURRENCY * 2 requests listen on the signal at once (Node warns past 10).
    setMaxListeners(CONCURRENCY * 4, signal);
    this.watcher.start();
    const now = Date.now();
    const streaming = this.watcher.state === 'connected';
    // Docker gets less than the collector's timeout, so a daemon that stops answering is
    // reported as down (watchpost_docker_up 0) instead of the whole run timing out and
    // withdrawing what is expected.
    const deadline = timeoutSignal(Math.max(1, Math.floor(this.settings.timeout * 0.8)), signal);
    const dockerSignal = deadline.signal;
    setMaxListeners(CONCURRENCY * 4, dockerSignal);
    try {
      if (!streaming || this.needResync || now - this.lastResync >= this.settings.resync_interval) {
        await this.resync(dockerSignal, streaming);
      } else if (this.dirty.size > 0) {
        await this.refreshDirty(dockerSignal);
      }
    } catch (err) {
      // Aborted by the scheduler (timeout, shutdown): that is the run failing, not Docker.
      signal.throwIfAborted();
      const reason = deadline.timedOut ? 'timeout' : dockerDownReason(err);
      this.needResync = true;
      const message = deadline.timedOut
        ? `Docker API at ${this.settings.endpoint} did not answer within ${Math.floor(this.settings.timeout * 0.8)} ms`
        : errorMessage(err);
      this.down.fail(DOCKER, message, reason);
      return this.snapshotDown(reason);
    } finally {
      deadline.clear();
    }
    this.down.ok(DOCKER);
    signal.throwIfAborted();

    const list = [...this.containers.values()];
    const stats = await this.readStats(list, signal);
    signal.throwIfAborted();
    return this.snapshot(list, stats);
  }

  /** List + inspect everything. Events arriving meanwhile mark containers dirty again. */
  private async resync(signal: AbortSignal, streaming: boolean): Promise<void> {
    const started = Date.now();
    // Cleared first: an event during the resync sets it again only through `dirty`.
    this.needResync = false;
    try {
      const ids = await this.source.listIds(signal, this.settings.label_filter);
      this.dirty.clear();
      const infos = await mapLimit(ids, CONCURRENCY, (id) => this.source.inspect(id, signal));
      const seen = new Set<string>();
      for (const info of infos) {
        if (!info) continue;
        seen.add(info.id);
        this.containers.set(info.id, info);
      }
      for (const id of this.containers.keys()) if (!seen.has(id)) this.containers.delete(id);
      for (const id of this.apiStats.keys()) if (!seen.has(id)) this.apiStats.delete(id);
      this.lastResync = started;
    } catch (err) {
      this.needResync = true;
      throw err;
    }
    if (!streaming) {
      // The stream is down: the next run resyncs again; say why once per run.
      this.needResync = true;
      if (this.watcher.lastError) this.log.debug('events stream down', { error: this.watcher.lastError });
    }
  }

  /** Inspects the containers that had an event since their last inspect. */
  private async refreshDirty(signal: AbortSignal): Promise<void> {
    const ids = [...this.dirty];
    this.dirty.clear();
    try {
      await mapLimit(ids, CONCURRENCY, async (id) => {
        const info = await this.source.inspect(id, signal);
        if (info) this.containers.set(id, info);
        else this.containers.delete(id);
      });
    } catch (err) {
      // Inspect them again next run.
      for (const id of ids) this.dirty.add(id);
      throw err;
    }
  }

  private async readStats(list: ContainerInfo[], signal: AbortSignal): Promise<Map<string, CgroupStats>> {
    const out = new Map<string, CgroupStats>();
    const live = list.filter(
      (c) => c.state === 'running' || c.state === 'paused' || c.state === 'restarting',
    );
    if (this.settings.stats === 'none') return out;
    if (this.settings.stats === 'api') {
      this.scheduleApiPoll(0);
      for (const c of live) {
        const s = this.apiStats.get(c.id);
        if (s) out.set(c.id, s);
      }
      return out;
    }
    this.cgroup ??= await cgroupVersion(this.sysfs);
    const version = this.cgroup;
    // Synchronous reads (see readCgroupFiles): one pass, no promise per file.
    for (const c of live) {
      if (signal.aborted) break;
      try {
        let files = this.cgroupFiles.get(c.id);
        let s = files && readCgroupFiles(files);
        if (!s) {
          files = locateContainerCgroup(this.sysfs, version, c.id);
          if (files) this.cgroupFiles.set(c.id, files);
          else this.cgroupFiles.delete(c.id);
          s = files && readCgroupFiles(files);
        }
        if (s) out.set(c.id, s);
      } catch (err) {
        // One unreadable cgroup leaves that container without CPU/memory, not the run failed.
        this.log.debug('cannot read container cgroup', { container: c.name, error: errorMessage(err) });
      }
    }
    if (this.cgroupFiles.size > live.length) {
      const ids = new Set(live.map((c) => c.id));
      for (const id of this.cgroupFiles.keys()) if (!ids.has(id)) this.cgroupFiles.delete(id);
    }
    return out;
  }

  /**
   * stats: api. Docker's stats endpoint is slow (it samples), so it is polled in the
   * background, every `interval`, all running containers in parallel; runs read the
   * last answers.
   */
  private scheduleApiPoll(delay: number): void {
    if (this.apiTimer || this.apiPolling || this.closed) return;
    this.apiTimer = setTimeout(() => {
      this.apiTimer = undefined;
      this.apiPolling = this.pollApiStats().finally(() => {
        this.apiPolling = undefined;
        this.scheduleApiPoll(this.settings.interval);
      });
    }, delay);
    this.apiTimer.unref();
  }

  /** One poll of the stats API for every running container; exposed for the benchmark. */
  async pollApiStats(signal?: AbortSignal): Promise<void> {
    const live = [...this.containers.values()].filter((c) => c.state === 'running');
    const liveIds = new Set(live.map((c) => c.id));
    for (const id of this.apiStats.keys()) if (!liveIds.has(id)) this.apiStats.delete(id);
    await mapLimit(live, CONCURRENCY * 2, async (c) => {
      try {
        const s = await this.source.stats(c.id, signal);
        if (s) this.apiStats.set(c.id, s);
        else this.apiStats.delete(c.id);
      } catch (err) {
        this.apiStats.delete(c.id);
        this.log.debug('stats API failed', { container: c.name, error: errorMessage(err) });
      }
    });
  }

  /** What one run saw: every container's state, its CPU and memory, and the event counts. */
  private snapshot(containers: readonly ContainerInfo[], stats: Map<string, CgroupStats>): Snapshot {
    const snap = new Snapshot();
    const labelled = containers.map((c) => ({ c, labels: this.labelsOf(c) }));
    for (const { c, labels } of labelled) snap.add(m.running, labels, c.state === 'running' ? 1 : 0);
    for (const { c, labels } of labelled)
      for (const state of CONTAINER_STATES)
        snap.add(m.state, { ...labels, state }, c.state === state ? 1 : 0);
    for (const { c, labels } of labelled)
      for (const status of HEALTH_STATUSES)
        snap.add(m.health, { ...labels, status }, c.health === status ? 1 : 0);
    for (const { c, labels } of labelled) snap.add(m.exitCode, labels, c.exitCode);
    for (const { c, labels } of labelled) snap.add(m.oomKilled, labels, c.oomKilled ? 1 : 0);
    for (const { c, labels } of labelled) snap.add(m.restarts, labels, c.restartCount);
    for (const { c, labels } of labelled)
      if (c.startedAt !== undefined) snap.add(m.startedAt, labels, c.startedAt);
    for (const { c, labels } of labelled) {
      const s = stats.get(c.id);
      if (s?.cpuSeconds !== undefined) snap.add(m.cpuSeconds, labels, s.cpuSeconds);
    }
    for (const { c, labels } of labelled) {
      const s = stats.get(c.id);
      if (s?.memoryUsageBytes !== undefined) snap.add(m.memoryUsage, labels, s.memoryUsageBytes);
    }
    for (const { c, labels } of labelled) {
      const s = stats.get(c.id);
      if (s?.memoryLimitBytes !== undefined) snap.add(m.memoryLimit, labels, s.memoryLimitBytes);
    }
    this.addExpected(snap, containers);
    this.addEvents(snap);
    for (const { c, labels } of labelled) snap.add(m.oomEvents, labels, this.oomCounts.get(c.id) ?? 0);
    snap.add(m.dockerUp, {}, 1);
    return snap;
  }

  /**
   * Docker cannot be reached: no container can be seen, so no per-container series is
   * served as if it were current; what is expected stays, with 0 running, so an
   * ExpectedContainerNotRunning that fires keeps firing (a dead dockerd is no reason to
   * send "resolved") and DockerUnreachable says why.
   */
  private snapshotDown(reason: DockerDownReason): Snapshot {
    const snap = new Snapshot();
    this.addExpected(snap, []);
    this.addEvents(snap);
    snap.add(m.dockerUp, {}, 0);
    for (const r of DOCKER_DOWN_REASONS) snap.add(m.dockerDown, { reason: r }, r === reason ? 1 : 0);
    return snap;
  }

  private labelsOf(c: ContainerInfo): ContainerLabels {
    return {
      name: c.name,
      image: c.image,
      compose_project: c.composeProject,
      compose_service: c.composeService,
    };
  }

  private addEvents(snap: Snapshot): void {
    for (const [action, n] of this.eventCounts) snap.add(m.events, { action }, n);
  }

  private addExpected(snap: Snapshot, containers: readonly ContainerInfo[]): void {
    const counted: { labels: ExpectedLabels; running: number }[] = [];
    const seen = new Set<string>();
    for (const e of this.settings.expected) {
      const labels = {
        name: e.name ?? '',
        compose_project: e.compose_project ?? '',
        compose_service: e.compose_service ?? '',
      };
      const key = JSON.stringify(labels);
      if (seen.has(key)) continue;
      seen.add(key);
      const running = containers.filter((c) => c.state === 'running' && matchesExpected(c, e)).length;
      counted.push({ labels, running });
    }
    for (const { labels } of counted) snap.add(m.expected, labels, 1);
    for (const { labels, running } of counted) snap.add(m.expectedRunning, labels, running);
  }

  close(): void {
    this.closed = true;
    this.watcher.close();
    if (this.apiTimer) clearTimeout(this.apiTimer);
    this.apiTimer = undefined;
  }
}
