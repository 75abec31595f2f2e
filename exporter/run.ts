import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Logger } from '../internal/log.js';
import { parseListen, type Config } from '../config/schema.js';
import { buildCollectors, type ScheduledCollector } from './collectors/index.js';
import { Exposition } from './exposition.js';
import { Scheduler } from './scheduler.js';
import { createApp } from './server.js';
import { listenHttp } from '../internal/listen.js';
import { closeGracefully } from '../internal/shutdown.js';
import type { Server as HttpsServer } from 'node:https';
import { loadTls, watchTls } from './tls.js';
import {
  BASE_FILE_DESCRIPTORS,
  DEFAULT_CONNECTION_LIMITS,
  fitConnections,
  guardConnections,
  openFileLimit,
  type ConnectionGuard,
} from '../internal/connections.js';

export interface ExporterHandle {
  /** The address actually bound (port 0 in config picks a free one). */
  address: { host: string; port: number };
  scheduler: Scheduler;
  exposition: Exposition;
  /** The process and Node.js metrics, rendered when a scrape finds them old. */
  processMetrics: ProcessMetrics;
  /** The connection cap's counters. */
  connections: ConnectionGuard;
  /** Graceful stop: no new connections, in-flight scrapes finish, collectors closed. */
  close(): Promise<void>;
}

export interface ExporterOptions {
  config: Config;
  log: Logger;
  version: string;
  /** Overrides config.exporter.listen (the CLI's --listen). */
  listen?: string;
  /** Replaces the collectors built from config (tests). */
  collectors?: ScheduledCollector[];
  /** The process's open-file limit; read from /proc/self/limits when not given (tests). */
  fileLimit?: number;
}

/**
 * Descriptors the collectors may hold at once beside Node's own: the Docker socket (events
 * stream and requests), one connection per stream server and dependency, a followed file or
 * log stream and its watcher per log source, a folder listing per backup check.
 */
export function collectorFileReserve(config: Config): number {
  const c = config.collectors;
  return (
    BASE_FILE_DESCRIPTORS +
    8 +
    2 * (c.streams.servers.length + c.dependencies.targets.length + c.logs.sources.length) +
    c.backups.checks.length
  );
}

/**
 * How often the event-loop-delay histogram samples, in ms. Each sample is a wake-up of the
 * process: at prom-client's default of 10 ms that alone cost ~5 ms of CPU per second on an
 * idle exporter, and still ~2 ms/s at 100 ms (bench/RESULTS.md, "where the idle CPU went");
 * one a second costs ~0.3 ms/s. It catches a stall that holds the loop when a sample is due,
 * and nodejs_eventloop_lag_seconds is measured at each render.
 */
export const EVENT_LOOP_RESOLUTION_MS = 1000;

/** prom-client's event-loop-delay gauges, and which histogram figure each one serves. */
const EVENT_LOOP_FIGURES = [
  ['min', 'minimum'],
  ['max', 'maximum'],
  ['mean', 'mean'],
  ['stddev', 'standard deviation'],
  ['p50', '50th percentile'],
  ['p90', '90th percentile'],
  ['p99', '99th percentile'],
] as const;

/**
 * The nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds gauges, from a histogram
 * sampled every EVENT_LOOP_RESOLUTION_MS. Node records each sample as the whole time between
 * two wake-ups, the sampling period included: prom-client serves that as it is, which at one
 * sample a second would read 1 s of lag on an idle process. These serve the lag itself, how
 * late each sample came beyond its period, over the time since the previous render.
 */
function registerEventLoopDelay(registry: Registry): void {
  const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  histogram.enable();
  const period = EVENT_LOOP_RESOLUTION_MS / 1000;
  const lag = (ns: number) => (Number.isFinite(ns) && ns > 0 ? Math.max(0, ns / 1e9 - period) : 0);
  const value = (figure: (typeof EVENT_LOOP_FIGURES)[number][0]): number => {
    switch (figure) {
      case 'stddev':
        return Number.isFinite(histogram.stddev) ? histogram.stddev / 1e9 : 0;
      case 'p50':
        return lag(histogram.percentile(50));
      case 'p90':
        return lag(histogram.percentile(90));
      case 'p99':
        return lag(histogram.percentile(99));
      default:
        return lag(histogram[figure]);
    }
  };
  for (const [figure, words] of EVENT_LOOP_FIGURES)
    new Gauge({
      name: `nodejs_eventloop_lag_${figure}_seconds`,
      help: `The ${words} of the event loop's lag beyond its sampling period, in seconds, since the previous measurement.`,
      registers: [registry],
      collect() {
        this.set(histogram.count > 0 ? value(figure) : 0);
        // The last gauge read starts the next measurement window.
        if (figure === 'p99') histogram.reset();
      },
    });
}

/** prom-client's process and Node.js metrics, plus watchpost_exporter_build_info. */
export function createProcessRegistry(version: string): Registry {
  const registry = new Registry();
  // prom-client's own event-loop histogram serves the figures with the sampling period in them
  // (registerEventLoopDelay): its gauges are replaced, and its timer wakes once a minute only.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 60_000 });
  for (const [figure] of EVENT_LOOP_FIGURES)
    registry.removeSingleMetric(`nodejs_eventloop_lag_${figure}_seconds`);
  registerEventLoopDelay(registry);
  // These three are gauges named like counters, which `promtool check metrics` rejects;
  // nodejs_active_handles{type}, nodejs_active_requests and nodejs_active_resources{type}
  // carry the same numbers under valid names.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ]) {
    registry.removeSingleMetric(name);
  }
  new Gauge({
    name: 'watchpost_exporter_build_info',
    help: 'Always 1; labels carry the version of watchpost and of Node.js that run this exporter.',
    labelNames: ['version', 'nodejs'],
    registers: [registry],
  }).set({ version, nodejs: process.version }, 1);
  return registry;
}

/**
 * The process and Node.js metrics' part of the exposition, refreshed when a scrape finds it
 * older than `maxAgeMs`, never while nobody scrapes: rendering them on a timer was the
 * largest part of an idle exporter's CPU (reading /proc/self, heap statistics, the
 * event-loop histogram, and the garbage all that leaves). At Prometheus's cadence each
 * scrape gets values measured for it; back-to-back scrapes share one render per `maxAgeMs`.
 * Concurrent scrapes wait for the same render. The event-loop-delay figures cover the time
 * since the previous render (prom-client resets the histogram at each).
 */
export class ProcessMetrics {
  readonly #registry: Registry;
  readonly #exposition: Exposition;
  readonly #maxAgeMs: number;
  readonly #log: Logger;
  #renderedAt = -Infinity;
  #rendering: Promise<void> | undefined;
  /** Renders so far (tests). */
  renders = 0;

  constructor(opts: { registry: Registry; exposition: Exposition; maxAgeMs: number; log: Logger }) {
    this.#registry = opts.registry;
    this.#exposition = opts.exposition;
    this.#maxAgeMs = opts.maxAgeMs;
    this.#log = opts.log;
    this.#exposition.set('process', '');
  }

  /** Re-renders the part if it is older than maxAgeMs; resolves when it is current. Never rejects. */
  refresh(): Promise<void> {
    if (this.#rendering) return this.#rendering;
    if (performance.now() - this.#renderedAt < this.#maxAgeMs) return Promise.resolve();
    this.#rendering = this.#render().finally(() => (this.#rendering = undefined));
    return this.#rendering;
  }

  async #render(): Promise<void> {
    try {
      const text = await this.#registry.metrics();
      this.#exposition.set('process', text);
      this.renders++;
    } catch (err) {
      // The previous values stay: they are process figures, and the next scrape retries.
      this.#log.warn('process metrics failed', { err });
    }
    this.#renderedAt = performance.now();
  }
}

/**
 * Starts the exporter: collectors in the background, the HTTP server in front of the
 * pre-rendered exposition. Resolves once the server listens.
 */
export async function startExporter(opts: ExporterOptions): Promise<ExporterHandle> {
  const { config, log } = opts;
  const exposition = new Exposition();

  // The process and Node.js metrics are rendered for the scrapes that read them (see
  // ProcessMetrics); the first render happens now, so the first scrape does not wait.
  const processMetrics = new ProcessMetrics({
    registry: createProcessRegistry(opts.version),
    exposition,
    maxAgeMs: config.exporter.process_metrics_interval,
    log,
  });
  await processMetrics.refresh();

  const collectors = opts.collectors ?? (await buildCollectors({ config, log }));
  const scheduler = new Scheduler(collectors, { log, exposition });
  // GET /health/deep answers from the collector that checks what the application
  // depends on (the dependencies collector), whichever it is.
  const deepHealth = collectors.flatMap(({ collector: c }) => (c.health ? [c.health.bind(c)] : []))[0];
  const app = createApp({
    exposition,
    scheduler,
    version: opts.version,
    beforeScrape: () => processMetrics.refresh(),
    bearerToken: config.exporter.bearer_token_file,
    ...(deepHealth ? { deepHealth } : {}),
  });

  const { host, port } = parseListen(opts.listen ?? config.exporter.listen);
  const tlsConfig = config.exporter.tls;
  const tlsFiles = tlsConfig ? { certFile: tlsConfig.cert_file, keyFile: tlsConfig.key_file } : undefined;
  const server = await listenHttp(app, host, port, tlsFiles && loadTls(tlsFiles).options).catch(
    async (err: unknown) => {
      await scheduler.stop();
      throw err;
    },
  );
  // Prometheus keeps its scrape connections open; time out idle ones well above a scrape interval.
  server.keepAliveTimeout = 65_000;
  // Each kept connection holds a descriptor: the cap must leave the collectors theirs, or a
  // flood makes the host and disk collectors fail with EMFILE.
  const budget = fitConnections({
    configured: config.exporter.max_connections,
    reserve: collectorFileReserve(config),
    limit: opts.fileLimit ?? openFileLimit(),
    key: 'exporter.max_connections',
  });
  if (budget.warning) log.warn(budget.warning);
  const connections = guardConnections(server, {
    ...DEFAULT_CONNECTION_LIMITS,
    maxConnections: budget.maxConnections,
  });
  const tls =
    tlsConfig && tlsFiles && watchTls(server as HttpsServer, tlsFiles, tlsConfig.reload_interval, log);
  scheduler.start();
  const bound = server.address() as AddressInfo;
  const address = { host: bound.address, port: bound.port };
  log.info('exporter listening', {
    address: `${host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`,
    collectors: collectors.map((c) => c.collector.name).join(','),
    metrics_auth: config.exporter.bearer_token_file ? 'bearer' : 'none',
    scheme: tls ? 'https' : 'http',
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      tls?.stop();
      await Promise.all([closeGracefully(server), scheduler.stop()]);
      log.info('exporter stopped');
    })());

  return { address, scheduler, exposition, processMetrics, connections, close };
}
