import { performance } from 'node:perf_hooks';
import type { Logger } from '../internal/log.js';
import { ChangeLog, errorMessage, type Collector } from './collector.js';
import type { ScheduledCollector } from './collectors/index.js';
import type { Exposition } from './exposition.js';
import { gauge, renderFamilies, Snapshot } from './metric-families.js';
import { TimeoutError, withTimeout } from '../internal/timeout.js';

const success = gauge(
  'watchpost_collector_success',
  'Whether the last run of the collector succeeded (1) or failed or timed out (0).',
  ['collector'],
);
const duration = gauge(
  'watchpost_collector_duration_seconds',
  'How long the last run of the collector took, in seconds.',
  ['collector'],
);
const lastSuccess = gauge(
  'watchpost_collector_last_success_timestamp_seconds',
  'Unix time of the last successful run of the collector; 0 if it never succeeded.',
  ['collector'],
);
/** The runner's own families, for every collector. */
export const SCHEDULER_FAMILIES = [success, duration, lastSuccess];

/** What the status page and /-/ready know of one collector. */
export interface CollectorStatus {
  name: string;
  intervalMs: number;
  timeoutMs: number;
  /** undefined before the first run has finished. */
  success?: boolean;
  lastRunAt?: Date;
  lastDurationMs?: number;
  lastSuccessAt?: Date;
  lastError?: string;
  runs: number;
  failures: number;
  /** Warnings from the collector about its last run (Collector.notes). */
  notes?: string[];
}

interface Entry {
  collector: Collector;
  status: CollectorStatus;
  timer?: NodeJS.Timeout;
  /** The collect() call under way, if any; a call that outlives its timeout stays here until it settles. */
  inFlight?: Promise<unknown>;
  abort?: AbortController;
  /** The #run under way (interval or refresh), so the two never overlap. */
  running?: Promise<void>;
  /** A refresh was requested while a run was under way: run again once it ends. */
  rerun?: boolean;
  refreshTimer?: NodeJS.Timeout;
}

/**
 * Refresh requests arriving within this window are served by one run: a `docker compose
 * up` sends dozens of events in a few milliseconds.
 */
export const REFRESH_COALESCE_MS = 50;

export interface SchedulerOptions {
  log: Logger;
  exposition: Exposition;
}

/**
 * Runs every collector in the background, each on its own interval with its own
 * timeout, and keeps the exposition current. The scheduler, not the collectors, owns
 * the success/duration/last-success metrics (node_exporter's runner does the same), so
 * every collector reports them the same way and none can forget.
 *
 * A run that throws, rejects or times out marks its collector failed and removes its
 * part from the exposition: values that are no longer being refreshed are not served as
 * if they were current. The other collectors and the scrape are unaffected.
 */
export class Scheduler {
  readonly #entries = new Map<string, Entry>();
  readonly #log: Logger;
  /** A failing collector is logged at its first failure and each change of reason, and its recovery once. */
  readonly #failures: ChangeLog;
  readonly #exposition: Exposition;
  #stopped = false;

  constructor(collectors: ScheduledCollector[], opts: SchedulerOptions) {
    this.#log = opts.log;
    this.#failures = new ChangeLog(
      (collector, err) => this.#log.warn('collector failed', { collector, err }),
      (collector) => this.#log.info('collector recovered', { collector }),
      (collector, err) => this.#log.debug('collector still failing', { collector, err }),
    );
    this.#exposition = opts.exposition;
    for (const { collector, settings } of collectors) {
      if (this.#entries.has(collector.name))
        throw new Error(`collector "${collector.name}" registered twice`);
      this.#entries.set(collector.name, {
        collector,
        status: {
          name: collector.name,
          intervalMs: settings.interval,
          timeoutMs: settings.timeout,
          runs: 0,
          failures: 0,
        },
      });
      // Reserve the collector's place in the output so the order is stable.
      this.#exposition.set(`collector:${collector.name}`, '');
      const entry = this.#entries.get(collector.name)!;
      collector.setRefresh?.(() => this.#requestRefresh(entry));
    }
    this.#exposition.set('scheduler', '');
  }

  /** Starts every collector now, then on its interval. */
  start(): void {
    for (const entry of this.#entries.values()) void this.#loop(entry);
    this.#renderSelf();
  }

  /** Runs one collector once, now (tests). */
  async runOnce(name: string): Promise<CollectorStatus> {
    const entry = this.#entries.get(name);
    if (!entry) throw new Error(`no collector named "${name}"`);
    await this.#runExclusive(entry);
    return { ...entry.status };
  }

  statuses(): CollectorStatus[] {
    return [...this.#entries.values()].map((e) => {
      const notes = e.collector.notes?.() ?? [];
      return notes.length > 0 ? { ...e.status, notes } : { ...e.status };
    });
  }

  /** True once every collector has finished its first run, successful or not. */
  ready(): boolean {
    return [...this.#entries.values()].every((e) => e.status.runs > 0);
  }

  pending(): string[] {
    return [...this.#entries.values()].filter((e) => e.status.runs === 0).map((e) => e.collector.name);
  }

  /** Stops the timers, aborts runs under way and closes every collector. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const entry of this.#entries.values()) {
      clearTimeout(entry.timer);
      clearTimeout(entry.refreshTimer);
      entry.abort?.abort(new Error('exporter is shutting down'));
    }
    await Promise.allSettled(
      [...this.#entries.values()].map(async (e) => {
        await e.collector.close?.();
      }),
    );
  }

  async #loop(entry: Entry): Promise<void> {
    if (this.#stopped) return;
    const startedAt = performance.now();
    await this.#runExclusive(entry);
    if (this.#stopped) return;
    // Keep the cadence: the next run is due one interval after this one started.
    const wait = Math.max(0, entry.status.intervalMs - (performance.now() - startedAt));
    entry.timer = setTimeout(() => void this.#loop(entry), wait);
    entry.timer.unref?.();
  }

  /** A refresh the collector asked for: one run soon, merged with others and never overlapping. */
  #requestRefresh(entry: Entry): void {
    if (this.#stopped || entry.refreshTimer) return;
    if (entry.running) {
      entry.rerun = true;
      return;
    }
    entry.refreshTimer = setTimeout(() => {
      entry.refreshTimer = undefined;
      void this.#runExclusive(entry);
    }, entry.collector.refreshCoalesceMs ?? REFRESH_COALESCE_MS);
    entry.refreshTimer.unref?.();
  }

  /** Runs the collector once, after the run under way if there is one. */
  async #runExclusive(entry: Entry): Promise<void> {
    while (entry.running) await entry.running;
    if (this.#stopped) return;
    const run = this.#run(entry).finally(() => {
      entry.running = undefined;
      if (entry.rerun) {
        entry.rerun = false;
        this.#requestRefresh(entry);
      }
    });
    entry.running = run;
    await run;
  }

  async #run(entry: Entry): Promise<void> {
    const { collector, status } = entry;
    const started = performance.now();
    if (entry.inFlight) {
      // The previous run ignored its abort and is still going (a hung NFS statfs, a
      // wedged socket). Starting another would pile calls onto the same stuck resource.
      this.#finish(
        entry,
        started,
        new Error(`previous run has not finished after it timed out; skipping this run`),
      );
      return;
    }
    const abort = new AbortController();
    entry.abort = abort;
    const work = Promise.resolve().then(() => collector.collect(abort.signal));
    entry.inFlight = work;
    void work.then(
      () => (entry.inFlight = undefined),
      () => (entry.inFlight = undefined),
    );
    try {
      const snapshot = await withTimeout(work, status.timeoutMs, () =>
        abort.abort(new TimeoutError(status.timeoutMs)),
      );
      if (this.#stopped) return;
      const text = renderFamilies(collector.families, snapshot);
      snapshot.accept();
      this.#exposition.set(`collector:${collector.name}`, text);
      this.#finish(entry, started);
    } catch (err) {
      if (this.#stopped) return;
      this.#exposition.set(`collector:${collector.name}`, '');
      this.#finish(entry, started, err);
    }
  }

  #finish(entry: Entry, started: number, err?: unknown): void {
    const { status, collector } = entry;
    const durationMs = performance.now() - started;
    const now = new Date();
    status.runs++;
    status.lastRunAt = now;
    status.lastDurationMs = durationMs;
    if (err === undefined) {
      status.success = true;
      status.lastSuccessAt = now;
      status.lastError = undefined;
      this.#failures.ok(collector.name);
    } else {
      status.success = false;
      status.failures++;
      status.lastError = errorMessage(err);
      // The first failure and each change of reason, not every run of a long outage.
      this.#failures.fail(collector.name, status.lastError);
    }
    this.#renderSelf();
  }

  /** The runner's own families: success, duration and last success of every collector. */
  #renderSelf(): void {
    const snap = new Snapshot();
    const entries = [...this.#entries.values()];
    for (const { status } of entries) {
      if (status.success !== undefined) snap.add(success, { collector: status.name }, status.success ? 1 : 0);
    }
    for (const { status } of entries) {
      if (status.lastDurationMs !== undefined)
        snap.add(duration, { collector: status.name }, status.lastDurationMs / 1000);
    }
    for (const { status } of entries) {
      snap.add(lastSuccess, { collector: status.name }, (status.lastSuccessAt?.getTime() ?? 0) / 1000);
    }
    this.#exposition.set('scheduler', renderFamilies(SCHEDULER_FAMILIES, snap));
  }
}
