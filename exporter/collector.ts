import type { Registry } from 'prom-client';

/**
 * What a collector hands back from one run: a synchronous function that writes the
 * data it gathered into its registry's metrics.
 *
 * Gathering (slow, async, may time out) is kept apart from writing metrics (fast,
 * synchronous), so that a run that times out and finishes late can never touch the
 * metrics: the scheduler drops a late result instead of applying it. Each half is
 * testable alone (the same split as OpenTelemetry's host-metrics).
 */
export type ApplyResult = () => void;

/**
 * One collector: one file under exporter/collectors/, registered by name in
 * exporter/collectors/index.ts.
 *
 * A collector owns a private prom-client Registry with its metric families. It never
 * reports its own success or duration: the scheduler owns
 * watchpost_collector_success / _duration_seconds / _last_success_timestamp_seconds,
 * as node_exporter's runner does.
 */
export interface Collector {
  /** The name used in config (`collectors.<name>`) and in the `collector` label. */
  readonly name: string;
  /** The collector's own metric families; rendered after every successful run. */
  readonly registry: Registry;
  /**
   * Gather data. Must honour `signal` (aborted on timeout or shutdown) where it can,
   * and must not write metrics: it returns the function that does.
   * Throwing (or rejecting) marks the run failed; the scrape is never affected.
   */
  collect(signal: AbortSignal): Promise<ApplyResult>;
  /**
   * Optional. The scheduler hands over `request`; a collector whose source pushes changes
   * (Docker's events stream) calls it when one arrives, and the scheduler runs the
   * collector again soon, so /metrics is as fresh as the event rather than the interval.
   * Calls are coalesced: many events in a burst make one or two runs, never overlapping.
   */
  setRefresh?(request: () => void): void;
  /** Optional. Warnings for the status page about what the last run saw (e.g. partial statistics). */
  notes?(): string[];
  /** Release timers, sockets and file handles. Optional. */
  close?(): Promise<void> | void;
}

/** Shared by collectors whose per-item failures are labelled per item. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
