import type { z } from 'zod';
import type { Config } from '../config/schema.js';
import type { SchemaContext } from '../config/fields.js';
import type { Logger } from '../internal/log.js';
import type { MetricFamily, Snapshot } from './metric-families.js';

export { gauge, Snapshot, type MetricFamily } from './metric-families.js';
export { ChangeLog } from '../internal/change-log.js';

/**
 * A collector's `source` setting as it runs here: `auto` is the Linux fast path (`linux`: /proc
 * or /sys) on Linux and systeminformation elsewhere; any other value is kept.
 */
export function sourceOnThisSystem<L extends string>(
  source: 'auto' | L | 'systeminformation',
  linux: L,
): L | 'systeminformation' {
  if (source !== 'auto') return source;
  return process.platform === 'linux' ? linux : 'systeminformation';
}

/**
 * One collector, as node_exporter's `Collector`: it gathers what it watches and hands it
 * back as a Snapshot of its metric families. It never holds metric objects and never
 * writes the exposition: the runner (exporter/scheduler.ts) renders the snapshot of a run
 * that succeeded in time, withdraws the collector's values when a run fails, and owns
 * watchpost_collector_success / _duration_seconds / _last_success_timestamp_seconds.
 *
 * Gathering (slow, async, may time out) returns data; it does not touch shared state
 * that the exposition reads, so a run that times out and finishes late changes nothing
 * anyone sees: the runner drops its snapshot.
 */
export interface Collector {
  /** The name used in config (`collectors.<name>`) and in the `collector` label. */
  readonly name: string;
  /** Every family the collector can report, in output order; each is rendered (HELP and TYPE) even when empty. */
  readonly families: readonly MetricFamily[];
  /**
   * Gather data and return it as a snapshot. Must honour `signal` (aborted on timeout or
   * shutdown) where it can. Throwing (or rejecting) marks the run failed and withdraws
   * the collector's values; the scrape is never affected. A failure of one item (one
   * mount, one server) belongs in the snapshot, as that item's `*_up` 0 with a reason.
   */
  collect(signal: AbortSignal): Promise<Snapshot>;
  /**
   * Optional. The runner hands over `request`; a collector whose source pushes changes
   * (Docker's events stream) calls it when one arrives, and the runner runs the
   * collector again soon, so /metrics is as fresh as the event rather than the interval.
   * Calls are coalesced: many events in a burst make one or two runs, never overlapping.
   */
  setRefresh?(request: () => void): void;
  /**
   * Optional. How long the runner waits for more refresh requests before the run
   * (default REFRESH_COALESCE_MS); 0 for a collector that already bounds how often it asks.
   */
  readonly refreshCoalesceMs?: number;
  /** Optional. Warnings for the status page about what the last run saw (e.g. partial statistics). */
  notes?(): string[];
  /** Optional. The answer of GET /health/deep, from what the last run saw; it must never wait on the network. */
  health?(): HealthReport;
  /** Release timers, sockets and file handles. Optional. */
  close?(): Promise<void> | void;
}

/** What GET /health/deep answers: 200 when what the collector checks is up, 503 otherwise. */
export interface HealthReport {
  status: 200 | 503;
  body: object;
}

/** What `create` gets: the whole validated config (a collector reads its own section) and a logger. */
export interface CollectorDeps {
  config: Config;
  log: Logger;
}

/** A setting that passes the schema but cannot work on this host. */
export interface HostProblem {
  path: string[];
  message: string;
}

/**
 * What a collector's folder exports (exporter/collectors/<name>/index.ts), collected by
 * the registry (exporter/collectors/registry.ts) as node_exporter's `registerCollector`.
 *
 * The descriptor module imports only its config schema and its metric families, so that
 * reading the config or the metric reference loads no collector: `create` imports the
 * collector (and its heavy dependencies, fast-xml-parser for one) when it is enabled.
 */
export interface CollectorDescriptor<N extends string = string, S extends z.ZodType = z.ZodType> {
  readonly name: N;
  /** Its section of watchpost.yml (`collectors.<name>`), with defaults for every key. */
  configSchema(ctx: SchemaContext): S;
  /** Every family its collectors report (the metric reference and its drift test read these). */
  readonly families: readonly MetricFamily[];
  create(deps: CollectorDeps): Promise<Collector>;
  /** For `enabled: auto`: why it cannot run on this host, or undefined when it can. */
  unavailable?(config: Config): string | undefined;
  /** True when it has nothing to watch until configured: it is then not started at all. */
  idle?(config: Config): boolean;
  /** Settings that pass the schema but would leave something unwatched on this host. */
  hostProblems?(config: Config): HostProblem[];
}

/** Shared by collectors whose per-item failures are labelled per item. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
